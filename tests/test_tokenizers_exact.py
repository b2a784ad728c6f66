"""Exactness of the real registry tokenizers.

* llama.cpp's own test vectors (``ggml-vocab-<stem>.gguf.inp/.out``): every text must give
  exactly the ids llama.cpp's tokenizer gives (no BOS/EOS: what ``encode_batch`` returns);
* OpenAI encodings against tiktoken itself: the pinned files pass tiktoken's own expected-hash
  check, and an ``Encoding`` built by ``tiktoken_ext.openai_public`` gives the same ids;
* golden ids for a few strings, checked once against well-known published values;
* ByT5 against transformers' ``ByT5Tokenizer`` (when transformers is installed);
* ``encode_aligned`` sanity for every registry tokenizer.

The assets come from the tokbench cache (``$TOKBENCH_CACHE``), which CI fills once per run.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import re
import unicodedata

import numpy as np
import pytest

from tokbench.assets import fetch
from tokbench.registry import _builtin, get_tokenizer
from tokbench.vectors import load_vectors, parse_vectors

BUILTIN = _builtin()
WITH_VECTORS = sorted(n for n, s in BUILTIN.items() if s.vectors)

# multilingual strings for encode_aligned and tiktoken comparisons: leading/double/trailing
# spaces, CJK, emoji (incl. ZWJ sequence and skin tone), Turkish dotted/dotless i,
# Devanagari with combining marks, newlines, tab, NFKC-sensitive characters.
TEXTS = [
    "Hello world",
    "  leading and  double  spaces ",
    "日本語のテキストと中文混合です。",
    "emoji 😀👍🏽 family 👨‍👩‍👧 ok",
    "İstanbul'da ılık bir gün geçirdik; İİ ıı",
    "नमस्ते दुनिया, हिन्दी पाठ",
    "line one\nline two\n\n  indented\r\nwindows",
    "Ünïcödé façade — naïve café ½ 3.14159\tend ﬁ",
]


@functools.lru_cache(maxsize=None)
def tok(name: str):
    return get_tokenizer(name)


def _first_mismatches(pairs, got, limit=5) -> str:
    bad = [(t, g, e) for (t, e), g in zip(pairs, got) if g != e]
    lines = [f"{len(pairs) - len(bad)}/{len(pairs)} vectors match; first mismatches:"]
    for t, g, e in bad[:limit]:
        lines.append(f"  text={t[:60]!r}\n    got     ={g[:16]}\n    expected={e[:16]}")
    return "\n".join(lines)


# --- llama.cpp test vectors -----------------------------------------------------------------------
def test_vector_parsing():
    inp = "a\n__ggml_vocab_test__\n\n__ggml_vocab_test__\n b\nc\n__ggml_vocab_test__\n"
    out = "64\n\n220 65 198 66\n"
    assert parse_vectors(inp, out) == [("a", [64]), ("", []), (" b\nc", [220, 65, 198, 66])]
    with pytest.raises(ValueError):
        parse_vectors(inp, "1\n2\n")


def test_vectors_load_and_have_no_bos():
    pairs = load_vectors("llama-spm")
    assert len(pairs) >= 40
    assert ("", []) in pairs
    # llama.cpp writes the SentencePiece vectors without BOS (id 1)
    assert all(ids[:1] != [1] for _, ids in pairs)
    assert any(ids for _, ids in pairs)


@pytest.mark.parametrize("name", WITH_VECTORS)
def test_llama_cpp_vectors_exact(name):
    pairs = load_vectors(BUILTIN[name].vectors)
    got = tok(name).encode_batch([t for t, _ in pairs])
    assert got == [e for _, e in pairs], f"{name} vs {BUILTIN[name].vectors!r}: " + _first_mismatches(pairs, got)


def test_gpt_neox_shares_the_mpt_vocabulary():
    """gpt-neox is checked against the `mpt` vectors: the two GGUF vocabularies are identical."""
    from tokbench.adapters.gguf import read_metadata

    neox = read_metadata(fetch("gguf-gpt-neox"), prefix="tokenizer.ggml.")
    mpt = read_metadata(fetch("gguf-mpt"), prefix="tokenizer.ggml.")
    assert BUILTIN["gpt-neox"].vectors == "mpt"
    assert neox["tokenizer.ggml.tokens"] == mpt["tokenizer.ggml.tokens"]
    assert neox["tokenizer.ggml.merges"] == mpt["tokenizer.ggml.merges"]
    assert np.array_equal(neox["tokenizer.ggml.token_type"], mpt["tokenizer.ggml.token_type"])
    # no `pre` (llama.cpp's default, the GPT-2 regex) vs "mpt" (also the GPT-2 regex)
    assert neox.get("tokenizer.ggml.pre") in (None, "default", "gpt-2")
    assert mpt["tokenizer.ggml.pre"] == "mpt"


# --- OpenAI encodings vs tiktoken -----------------------------------------------------------------
OPENAI = {  # registry name -> (tiktoken encoding, pinned asset)
    "gpt2": ("r50k_base", "gpt2-tiktoken"),
    "cl100k_base": ("cl100k_base", "cl100k-tiktoken"),
    "o200k_base": ("o200k_base", "o200k-tiktoken"),
}


def _expected_hash(encoding: str) -> tuple[str, str]:
    """(url, expected sha256) that tiktoken_ext.openai_public hard-codes for ``encoding``."""
    from tiktoken_ext import openai_public

    src = inspect.getsource(getattr(openai_public, encoding))
    url = re.search(r'"(https://[^"]+\.tiktoken)"', src).group(1)
    sha = re.search(r'expected_hash="([0-9a-f]{64})"', src).group(1)
    return url, sha


@pytest.fixture
def tiktoken_offline(monkeypatch, tmp_path):
    """Serve the pinned files to tiktoken in place of its downloads; tiktoken still verifies
    each one against its own expected hash (read_file_cached) before using it."""
    import tiktoken.load

    served = {}
    for enc, asset in OPENAI.values():
        url, _ = _expected_hash(enc)
        served[url] = fetch(asset)

    def read_file(blobpath: str) -> bytes:
        if blobpath not in served:
            raise AssertionError(f"tiktoken tried to download {blobpath}")
        return served[blobpath].read_bytes()

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # empty: every read goes to read_file
    monkeypatch.setattr(tiktoken.load, "read_file", read_file)
    return served


@pytest.mark.parametrize("name", sorted(OPENAI))
def test_pinned_file_is_tiktokens(name):
    from tokbench.assets import get_spec, sha256_file

    encoding, asset = OPENAI[name]
    _, expected = _expected_hash(encoding)
    assert get_spec(asset).sha256 == expected
    assert sha256_file(fetch(asset)) == expected


@pytest.mark.parametrize("name", sorted(OPENAI))
def test_same_ids_as_tiktoken(name, tiktoken_offline):
    import tiktoken
    from tiktoken_ext import openai_public

    encoding, _ = OPENAI[name]
    ref = tiktoken.Encoding(**getattr(openai_public, encoding)())  # hash-checked by tiktoken
    texts = TEXTS + [t for t, _ in load_vectors("gpt-2")] + ["<|endoftext|> is plain text here"]
    ours = tok(name)
    assert ours.encode_batch(texts) == [ref.encode_ordinary(t) for t in texts]
    assert ours.vocab_size == ref.n_vocab
    assert ours.special_ids == frozenset(ref._special_tokens.values())


def test_tiktoken_rejects_a_wrong_file(tiktoken_offline, tmp_path):
    """The offline fixture really goes through tiktoken's hash check."""
    from tiktoken_ext import openai_public

    url, _ = _expected_hash("cl100k_base")
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(fetch("gpt2-tiktoken").read_bytes())
    tiktoken_offline[url] = bad
    with pytest.raises(ValueError, match="[Hh]ash"):
        openai_public.cl100k_base()


GOLDEN = {  # checked against published values (tiktoken README, GPT-2 / cl100k / o200k docs)
    "gpt2": {"Hello world": [15496, 995], "hello world": [31373, 995], " tokenization": [11241, 1634]},
    "cl100k_base": {"hello world": [15339, 1917], "Hello world": [9906, 1917],
                    "tiktoken is great!": [83, 1609, 5963, 374, 2294, 0]},
    "o200k_base": {"hello world": [24912, 2375], "Hello world": [13225, 2375],
                   "tiktoken is great!": [83, 8251, 2488, 382, 2212, 0]},
    "byt5": {"hi": [107, 108], "é": [198, 172], "": []},
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_ids(name):
    texts = list(GOLDEN[name])
    assert tok(name).encode_batch(texts) == [GOLDEN[name][t] for t in texts]


# --- ByT5 vs transformers -------------------------------------------------------------------------
def test_byt5_matches_transformers():
    transformers = pytest.importorskip("transformers")
    ref = transformers.ByT5Tokenizer()
    ours = tok("byt5")
    texts = TEXTS + ["hi", "", "a\x00b"]
    assert ours.encode_batch(texts) == [ref(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert ours.vocab_size == len(ref)
    for t in TEXTS:
        assert ours.decode(ours.encode_batch([t])[0]) == t


# --- encode_aligned sanity ------------------------------------------------------------------------
# byte-unit adapters whose tokens concatenate to the exact text bytes
TILING = {"gpt2", "cl100k_base", "o200k_base", "llama3", "qwen2_5", "mistral-tekken", "byt5",
          "deepseek-v3", "gpt-neox", "starcoder", "falcon", "command-r"}  # the last: byte-level BPE
# characters a tokenizer's normaliser deletes outright (BERT uncased strips accents: Mn)
DELETED = {"bert-base-uncased": lambda ch: unicodedata.category(ch) == "Mn"}


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_encode_aligned(name):
    t = tok(name)
    al = t.encode_aligned(TEXTS)
    batch = t.encode_batch(TEXTS)
    assert al.unit in ("byte", "char")
    assert len(al.offsets) == len(TEXTS) + 1 and al.offsets[0] == 0
    assert len(al.ids) == len(al.starts) == len(al.ends) == al.offsets[-1]
    if name in TILING:
        assert al.unit == "byte"
    deleted = DELETED.get(name, lambda ch: False)
    for d, text in enumerate(TEXTS):
        a, b = int(al.offsets[d]), int(al.offsets[d + 1])
        ids = al.ids[a:b].tolist()
        assert ids == batch[d], f"doc {d}: encode_aligned ids differ from encode_batch"
        s, e = al.starts[a:b], al.ends[a:b]
        unit_text = text.encode("utf-8") if al.unit == "byte" else text
        n = len(unit_text)
        assert ((0 <= s) & (s <= e) & (e <= n)).all(), f"doc {d}: spans outside [0, {n}]: {list(zip(s, e))}"
        assert (np.diff(s) >= 0).all(), f"doc {d}: starts decrease: {s.tolist()}"
        if name in TILING:
            raw = text.encode("utf-8")
            assert b"".join(raw[x:y] for x, y in zip(s.tolist(), e.tolist())) == raw, f"doc {d}: spans do not tile"
            assert (s[1:] == e[:-1]).all() and (len(s) == 0 or (s[0] == 0 and e[-1] == n))
            for x, y, i in zip(s.tolist(), e.tolist(), ids):
                assert raw[x:y] == t.token_bytes(i), f"doc {d}: span {raw[x:y]!r} != token_bytes({i})"
        else:
            covered = np.zeros(n + 1, dtype=np.int64)
            np.add.at(covered, s, 1)
            np.add.at(covered, e, -1)
            covered = np.cumsum(covered)[:n] > 0
            if al.unit == "byte":  # map bytes to characters: a character is covered if any byte is
                char_of_byte = np.repeat(np.arange(len(text)), [len(c.encode("utf-8")) for c in text])
                char_cov = np.zeros(len(text), dtype=bool)
                np.logical_or.at(char_cov, char_of_byte, covered)
            else:
                char_cov = covered
            missing = [c for c, ok in zip(text, char_cov) if not ok and not c.isspace() and not deleted(c)]
            assert not missing, f"doc {d}: characters in no token span: {missing[:10]}"


# documents that push the span computation off its fast path: normaliser changes (NFKC
# expansions, full-width forms, ZWNJ removal, decomposed accents, collapsed whitespace),
# a growth and a shrink that cancel out in the same document (ज़ +3 bytes, ZWNJ -3 bytes),
# characters outside the vocabulary (UNK), and special-token text.
HARD_TEXTS = TEXTS + [
    "\u095e\u093f\u0932\u094d\u092e \u095b\u0930\u0942\u0930\u0940 \u0939\u0948\u200c \u0914\u0930",
    "\u095b\u200c x",
    "full\uff0cwidth\uff1b comma ﬁne ½",
    "Vie\u0302\u0323t Nam  double   spaces\n\n end ",
    "ཀ་ཁ་ག་ ᏣᎳᎩ ꦗꦮ 𓀀 unknown scripts",
    "<s> </s> <unk> <|endoftext|> <｜begin▁of▁sentence｜> [CLS]",
    " ",
    "\t\n",
]
SPAN_REFERENCE = sorted(n for n, s in BUILTIN.items() if s.backend in ("sentencepiece", "gguf")
                        or n == "deepseek-v3")


@pytest.mark.parametrize("name", SPAN_REFERENCE)
def test_encode_aligned_hard_texts(name):
    """Spans on documents that leave the fast length-table path, checked independently.

    * SentencePiece without a normaliser: the spans tile the text and each one spells its
      piece (the dummy-prefix space of the first piece excepted; a byte-fallback piece is
      its own byte);
    * SentencePiece with a normaliser (XLM-R): exactly sentencepiece's own byte offsets;
    * Hugging Face byte-level BPE: tiling and spelling as above, and each span rounded out to
      character boundaries is the backend's own character offsets.
    """
    t = tok(name)
    al = t.encode_aligned(HARD_TEXTS)
    batch = t.encode_batch(HARD_TEXTS)
    assert al.unit == "byte"
    normalizing = getattr(t, "_normalizes", False)
    if normalizing:
        ref = [r["offsets"] for r in t.sp.encode(HARD_TEXTS, return_type="offset_mapping", return_bytes=True)]
    elif not hasattr(t, "sp"):
        ref = [e.offsets for e in t.tk.encode_batch(HARD_TEXTS, add_special_tokens=False)]
    for d, text in enumerate(HARD_TEXTS):
        a, b = int(al.offsets[d]), int(al.offsets[d + 1])
        ids = al.ids[a:b].tolist()
        assert ids == batch[d]
        got = list(zip(al.starts[a:b].tolist(), al.ends[a:b].tolist()))
        if normalizing:
            assert got == [tuple(o) for o in ref[d]], f"doc {d} {text!r}"
            continue
        raw = text.encode("utf-8")
        assert b"".join(raw[s:e] for s, e in got) == raw, f"doc {d} {text!r}: spans do not tile"
        form = getattr(t, "normalize_form", None)  # registry `normalize`: tokens spell the normalised text
        if form and not unicodedata.is_normalized(form, text):
            continue  # spans map back by normalisation segment (tests/test_fidelity.py)
        for k, ((s, e), i) in enumerate(zip(got, ids)):
            if i in t.special_ids:  # special-token text matched literally (HF added tokens)
                continue
            spelled = t.token_bytes(i)
            if k == 0 and getattr(t, "_dummy_prefix", False) and spelled.startswith(b" "):
                spelled = spelled[1:]
            # SentencePiece reads a literal "▁" in the text as its whitespace symbol
            literal = spelled.replace(b" ", "\u2581".encode()) if hasattr(t, "sp") else spelled
            assert raw[s:e] in (spelled, literal), \
                f"doc {d} {text!r}: token {k} spans {raw[s:e]!r}, spells {spelled!r}"
        if not hasattr(t, "sp"):
            cb = np.zeros(len(text) + 1, dtype=np.int64)
            cb[1:] = np.cumsum([len(c.encode("utf-8")) for c in text])
            rounded = [(int(cb[np.searchsorted(cb, s, side="right") - 1]), int(cb[np.searchsorted(cb, e)]))
                       for s, e in got]
            assert rounded == [(int(cb[cs]), int(cb[ce])) for cs, ce in ref[d]], f"doc {d} {text!r}"


def test_xlm_roberta_compensating_normalisation_takes_exact_path():
    """U+095B grows by 3 bytes under NFKC and ZWNJ (removed) shrinks by 3: the lengths add
    up, so only the normalisation guard keeps the spans right."""
    t = tok("xlm-roberta")
    text = "\u095b\u200c x"
    ids = t.encode_batch([text])[0]
    assert sum(int(t._surface_len[i]) for i in ids) - 1 == len(text.encode("utf-8"))  # adds up by accident
    al = t.encode_aligned([text])
    ref = t.sp.encode(text, return_type="offset_mapping", return_bytes=True)["offsets"]
    assert list(zip(al.starts.tolist(), al.ends.tolist())) == [tuple(o) for o in ref]


def test_encode_aligned_empty_and_blank():
    for name in ("gpt2", "llama2", "deepseek-v3", "byt5"):
        al = tok(name).encode_aligned(["", "x", ""])
        assert al.offsets.tolist()[0] == 0 and al.offsets[1] == 0 and al.offsets[3] == al.offsets[2]
        assert len(al.ids) == len(al.starts) == len(al.ends)


def test_vectors_files_are_pinned():
    """The vector files are the ones llama.cpp ships (same .inp for most stems)."""
    from tokbench.assets import get_spec, sha256_file

    for stem in ("gpt-2", "llama-spm"):
        for kind in ("inp", "out"):
            assert sha256_file(fetch(f"vectors-{stem}-{kind}")) == get_spec(f"vectors-{stem}-{kind}").sha256
    assert hashlib.sha256(fetch("vectors-gpt-2-inp").read_bytes()).hexdigest() == \
        get_spec("vectors-llama-spm-inp").sha256


# --- model GGUFs: tokbench's rebuilt vocabulary against transformers' GGUF tokenizer -----------------
@pytest.mark.parametrize("name", ["smollm2", "gemma3"])
def test_model_gguf_tokenizer_matches_transformers(name):
    """The registry tokenizer of a model (read from the model's own GGUF by tokbench's metadata
    reader) encodes the UDHR text of six scripts, and the multilingual TEXTS, exactly like the
    tokenizer transformers builds from the same file. One known difference, SmolLM2 on a
    non-digit number character, is checked separately below."""
    transformers = pytest.importorskip("transformers")
    from tokbench.corpora import load_udhr

    f = fetch(BUILTIN[name].files["gguf"])
    ref = transformers.AutoTokenizer.from_pretrained(str(f.parent), gguf_file=f.name)
    texts = list(load_udhr(langs=["en", "tr", "ru", "hi", "ar", "ja"]).text)
    texts += [t for t in TEXTS if not (name == "smollm2" and "½" in t)]
    got = tok(name).encode_batch(texts)
    want = [ref.encode(t, add_special_tokens=False) for t in texts]
    assert [list(map(int, g)) for g in got] == want


def test_smollm2_isolates_every_number_character():
    """SmolLM2's own tokenizer.json pre-tokenizes with Digits(individual_digits=True) before the
    byte-level split: every \\p{N} character (here "½") is its own pre-token, as llama.cpp's
    "smollm" regex does. transformers' GGUF converter keeps " ½" together; tokbench follows the
    original. The pieces are checked against the `tokenizers` pre-tokenizer itself."""
    from tokenizers import pre_tokenizers as pt

    text = "café ½ 3.14"
    pieces = [p for p, _ in pt.Sequence([pt.Digits(individual_digits=True),
                                         pt.ByteLevel(add_prefix_space=False)]).pre_tokenize_str(text)]
    assert pieces == ["cafÃ©", "Ġ", "Â½", "Ġ", "3", ".", "1", "4"]
    t = tok("smollm2")
    surfaces = [t.tk.decode([int(i)]) for i in t.encode_batch([text])[0]]
    assert "".join(surfaces) == text
    # no token crosses a pre-token boundary: " " and "½" are separate tokens, as are the digits
    assert surfaces[surfaces.index("½") - 1] == " "
    assert surfaces[-4:] == ["3", ".", "1", "4"]
