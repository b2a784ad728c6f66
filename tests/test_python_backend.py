"""The ``python`` backend: any Python object with encode/decode as a tokenizer (``py:MODULE:ATTR``,
``backend = "python"``), with a morphology-style tokenizer from tests/fixtures/pytok: root +
suffix lexicon, one id for the allomorphs of a suffix, an uppercase marker, lossy decode."""
from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tokbench.adapters.base import char_to_byte
from tokbench.adapters.pyalign import align_pieces
from tokbench.adapters.python import PythonTokenizerError, fingerprint_strings
from tokbench.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main
from tokbench.registry import get_tokenizer, resolve
from tokbench.store import load_results

FIX = Path(__file__).resolve().parent / "fixtures" / "pytok"
MODULE = FIX / "morph_tokenizer.py"
LEXICON = FIX / "morph_lexicon.txt"


def ref(attr: str, module: Path = MODULE) -> str:
    return f"py:{module}:{attr}"


DOCS = ["Evlerde kitaplar var.", "Kızların gözleri", "İnsanlardan  haklar 1948 € yollarda"]
# written out by hand from the lexicon: root + suffixes, else one token per character
EXPECTED = [
    ["<up>", "ev", "+lAr", "+DA", " ", "kitap", "+lAr", " ", "var", "."],
    ["<up>", "kız", "+lAr", "+(n)In", " ", "g", "ö", "z", "l", "e", "r", "i"],
    ["<up>", "insan", "+lAr", "+DAn", " ", "hak", "+lAr", " ", "1", "9", "4", "8", " ", "<unk>", " ", "yol", "+lAr",
     "+DA"],
]
TOKENS = 40  # 10 + 12 + 18
# each whitespace word encoded alone: Evlerde 4, kitaplar 2, var. 2, Kızların 4, gözleri 7,
# İnsanlardan 4, haklar 2, 1948 4, € 1, yollarda 3
ISOLATED = 33


@pytest.fixture(scope="module")
def morph():
    return get_tokenizer(resolve(ref("MorphTokenizer")))


def test_segmentation_shared_ids_markers_and_lossy_decode(morph):
    for doc, want in zip(DOCS, EXPECTED):
        ids = morph.encode_batch([doc])[0]
        assert morph.obj.convert_ids_to_tokens(ids) == want
    ev, kitap = morph.encode_batch(["evler", "kitaplar"])
    assert ev[1] == kitap[1]  # "ler" and "lar": one id
    assert morph.token_bytes(ev[1]) == b"ler"  # the id decoded alone
    assert morph.decode(kitap) == "kitaplar"  # in context: vowel harmony picks "lar"
    assert morph.decode(morph.encode_batch(["ARABA  Kapı"])[0]) == "Araba Kapı"  # lossy by design
    assert morph.vocab_size == 74 and morph.unk_ids == {0} and morph.special_ids == {3}
    # several surface strings per id: the vocabulary size counts ids, not strings
    only_vocab = get_tokenizer(resolve(ref("VocabOnly")))
    assert len(only_vocab.obj.get_vocab()) == 88 and only_vocab.vocab_size == 74
    assert get_tokenizer(resolve(ref("make_morph"))).encode_batch(DOCS) == morph.encode_batch(DOCS)


def test_aligned_spans_equal_the_exact_ones():
    texts = DOCS + ["Okulların kapılarından arabalara baktı, insanlar. ", "", "  ", "Göz\tgöze\n\nKIZ"]
    aligned = get_tokenizer(resolve(ref("MorphTokenizer"))).encode_aligned(texts)
    exact = get_tokenizer(resolve(ref("MorphTokenizerWithOffsets"))).encode_aligned(texts)
    assert (aligned.unit, exact.unit) == ("byte", "char")
    assert aligned.ids.tolist() == exact.ids.tolist()
    to_byte = np.concatenate([char_to_byte(t)[exact.starts[exact.offsets[d]:exact.offsets[d + 1]]]
                              for d, t in enumerate(texts)])
    to_byte_end = np.concatenate([char_to_byte(t)[exact.ends[exact.offsets[d]:exact.offsets[d + 1]]]
                                  for d, t in enumerate(texts)])
    assert aligned.starts.tolist() == to_byte.tolist()
    assert aligned.ends.tolist() == to_byte_end.tolist()
    # the exact spans themselves, for "Evlerde kitaplar var."
    n = len(EXPECTED[0])
    assert list(zip(exact.starts[:n].tolist(), exact.ends[:n].tolist())) == [
        (0, 0), (0, 2), (2, 5), (5, 7), (7, 8), (8, 13), (13, 16), (16, 17), (17, 20), (20, 21)]


def test_align_pieces_counts_approximate_tokens():
    s, e, approx = align_pieces("Evler  lar", ["", "ev", "ler", " ", "ler"])
    assert (s.tolist(), e.tolist(), approx) == ([0, 0, 2, 5, 7], [0, 2, 5, 7, 10], 1)
    s, e, approx = align_pieces("ab€cd", ["ab", "?", "cd"])  # an UNK piece takes what lies between
    assert (s.tolist(), e.tolist(), approx) == ([0, 2, 3], [2, 3, 5], 1)
    assert align_pieces("abc", ["abc"])[2] == 0


def _rows(results: Path, tokenizer: str):
    df = load_results(results)
    return df[(df["tokenizer"] == tokenizer) & (df["lang"] == "tr")].set_index(["metric", "variant"])


def _run(tmp_path, *args) -> tuple[int, Path]:
    corpus = tmp_path / "tr.txt"
    corpus.write_text("\n".join(DOCS) + "\n", encoding="utf-8")
    results = tmp_path / "results"
    rc = main(["run", *args, "--corpus", str(corpus), "--lang", "tr", "--results-dir", str(results), "-q",
               "--no-report"])
    return rc, results


def _check_counts(rows) -> None:
    fert = json.loads(rows.loc[("fertility", "in_context"), "params"])
    assert fert["tokens"] == TOKENS and fert["words"] == 10
    assert json.loads(rows.loc[("fertility", "isolated"), "params"])["tokens"] == ISOLATED
    assert json.loads(rows.loc[("unk_rate", "micro"), "params"])["unk_tokens"] == 1
    assert json.loads(rows.loc[("vocab_utilization", "micro"), "params"])["vocab_size"] == 74
    # tokens inside words: all but the 7 space tokens and the 3 case markers (empty spans)
    assert json.loads(rows.loc[("continuation_share", "micro"), "params"])["word_tokens"] == TOKENS - 7 - 3


def test_cli_py_tokenizer_with_byt5(tmp_path, fresh_cache, capsys):
    name = ref("MorphTokenizer")
    rc, results = _run(tmp_path, "--tokenizer", name, "--tokenizer", "byt5")
    err = capsys.readouterr().err
    assert rc == EXIT_OK, err
    assert "gives no token offsets" in err and name in err  # the note on aligned spans
    rows = _rows(results, name)
    _check_counts(rows)
    rt = rows.loc[("roundtrip", "micro")]
    assert np.isnan(rt["value"]) and rt["note"].startswith("not invertible by design")
    assert json.loads(rt["params"])["ok_docs"] == 2  # the third document has a double space and €
    # the rows that read token spans carry the note; the others (counts, round trip) do not
    from tokbench.metrics import METRICS
    from tokbench.metrics.base import APPROXIMATE_SPANS

    for (metric, variant), row in rows.iterrows():
        spans = METRICS[metric].uses_spans
        assert (row["note"] == APPROXIMATE_SPANS) == spans, (metric, variant, row["note"])
    assert rows.loc[("fertility", "in_context"), "note"] == APPROXIMATE_SPANS
    byt5 = _rows(results, "byt5")
    assert byt5["note"].ne(APPROXIMATE_SPANS).all()
    assert json.loads(byt5.loc[("fertility", "in_context"), "params"])["tokens"] == sum(len(d.encode()) for d in DOCS)
    assert byt5.loc[("roundtrip", "micro"), "value"] == 1.0


def test_registry_entries(tmp_path, fresh_cache, monkeypatch):
    for f in (MODULE, LEXICON):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.syspath_prepend(str(FIX))
    reg = tmp_path / "reg.toml"
    reg.write_text('[morph]\nbackend = "python"\nobject = "morph_tokenizer.py:MorphTokenizerWithOffsets"\n\n'
                   '[morph-dotted]\nbackend = "python"\nobject = "morph_tokenizer:make_morph"\n', encoding="utf-8")
    rc, results = _run(tmp_path, "--registry", str(reg), "--tokenizer", "morph", "--tokenizer", "morph-dotted")
    assert rc == EXIT_OK
    for name in ("morph", "morph-dotted"):
        _check_counts(_rows(results, name))
    spec = resolve("morph")
    assert spec.backend == "python" and spec.object == "morph_tokenizer.py:MorphTokenizerWithOffsets"


def test_fingerprint_covers_source_data_and_distribution(tmp_path):
    for f in (MODULE, LEXICON):
        shutil.copy(f, tmp_path / f.name)
    spec = resolve(ref("MorphTokenizer", tmp_path / MODULE.name))
    strings = fingerprint_strings(spec)
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert f"source=morph_tokenizer.py={sha(MODULE)}" in strings
    assert f"data=morph_lexicon.txt={sha(LEXICON)}" in strings
    assert not [s for s in strings if s.startswith("dist=")]  # a loose file: no distribution
    before = spec.fingerprint()
    assert resolve(ref("MorphTokenizer", tmp_path / MODULE.name)).fingerprint() == before  # stable
    with open(tmp_path / LEXICON.name, "a", encoding="utf-8") as fh:
        fh.write("# a changed data file\n")
    after_data = spec.fingerprint()
    assert after_data != before
    with open(tmp_path / MODULE.name, "a", encoding="utf-8") as fh:
        fh.write("# a changed module\n")
    assert spec.fingerprint() not in (before, after_data)
    assert resolve(ref("MorphTokenizerWithOffsets")).fingerprint() != resolve(ref("MorphTokenizer")).fingerprint()
    # a module of an installed distribution: its name and version
    from tokbench.adapters.python import _distributions

    np_mod = importlib.import_module("numpy")
    assert f"numpy=={np_mod.__version__}" in _distributions(np_mod)


@pytest.mark.parametrize("attr, says", [
    ("Raises", "encode raised ValueError: deliberate failure in Raises.encode"),
    ("NonInt", "encode returned '<up>' (str) at position 0, not an int id"),
    ("BeyondVocab", "encode returned id 79 at position 10, outside its vocabulary 0..73"),
])
def test_broken_tokenizer_fails_alone(tmp_path, fresh_cache, capsys, attr, says):
    name = ref(attr)
    rc, results = _run(tmp_path, "--tokenizer", "byt5", "--tokenizer", name)
    err = capsys.readouterr().err
    assert rc == EXIT_FAILED
    assert f"python tokenizer {name!r}: {says}" in err
    df = load_results(results)
    assert set(df["tokenizer"]) == {"byt5"} and len(df) > 0  # the other tokenizer is stored


def test_direct_errors_name_the_tokenizer(morph):
    broken = get_tokenizer(resolve(ref("BeyondVocab")))
    with pytest.raises(PythonTokenizerError, match="outside its vocabulary"):
        broken.encode_batch(["ev"])
    with pytest.raises(PythonTokenizerError, match=r"decode raised IndexError"):
        morph.decode([morph.vocab_size + 1])


@pytest.mark.parametrize("tok, says", [
    ("py:no_such_module_xyz:Tok", "cannot import module 'no_such_module_xyz'"),
    (f"py:{MODULE}:NoSuchClass", "has no attribute 'NoSuchClass'"),
    ("py:json", "is not MODULE:ATTR"),
    (f"py:{FIX}/missing.py:Tok", "does not exist"),
    ("py:json:JSONDecodeError", "failed"),  # cannot be called without arguments
    ("py:json:JSONEncoder", "without a `decode` method"),
])
def test_bad_references_are_bad_input(tmp_path, capsys, tok, says):
    rc, results = _run(tmp_path, "--tokenizer", "byt5", "--tokenizer", tok)
    assert rc == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and err[0].startswith("tokbench: error:")
    assert not results.exists()


def test_registry_entry_needs_object(tmp_path, capsys):
    reg = tmp_path / "reg.toml"
    reg.write_text('[bad]\nbackend = "python"\n', encoding="utf-8")
    rc, _ = _run(tmp_path, "--registry", str(reg), "--tokenizer", "bad")
    assert rc == EXIT_BAD_INPUT
    assert "object" in capsys.readouterr().err


def test_a_real_tokenizer_behind_the_python_backend():
    """gpt2's pinned ranks through tiktoken's own Encoding, wrapped as a plain object (no offsets):
    the same ids as the native gpt2 adapter on UDHR; on English every row equal too; on other
    scripts only span-based rows may differ (tokens inside one character)."""
    from tokbench.corpora import load_udhr
    from tokbench.kinds.tokenizer import metric_rows
    from tokbench.metrics import default_metrics, get_metric
    from tokbench.tokenize import tokenize_corpus

    corpus = load_udhr(langs=["en", "tr", "hi"])
    metrics = [m for m in default_metrics() if not get_metric(m).needs_reference]
    rows, tcs = [], []
    for name in ("gpt2", ref("Gpt2ViaTiktoken")):
        tc = tokenize_corpus(get_tokenizer(resolve(name)), corpus, use_cache=False)
        tcs.append(tc)
        rows.append({(r["lang"], r["metric"], r["variant"]): r["value"]
                     for r in metric_rows(tc, metrics=metrics, reference_tc=None, reference_name=None,
                                          metric_params={}, segmenters={})})
    native, wrapped = tcs
    assert np.array_equal(native.ids, wrapped.ids) and len(native.ids) > 10_000
    assert native.n_tokens.tolist() == wrapped.n_tokens.tolist()
    assert native.type_text.tolist() == wrapped.type_text.tolist()
    same = lambda a, b: a == b or (np.isnan(a) and np.isnan(b))  # noqa: E731
    differ = {k for k in rows[0] if not same(rows[0][k], rows[1][k])}
    assert not [k for k in differ if k[0] == "en"]
    assert {k[1] for k in differ} <= {"continuation_share", "pcw", "superword_share"}
