"""Intrinsic metrics: every metric/variant against an independent plain-Python recomputation,
mergeability of the sufficient statistics, a small real tokenizer, and edge cases.

The expected values here are computed with loops over Python lists, ``collections.Counter``
and ``math.log2`` -- never with the numpy code under test.
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokbench.metrics import METRICS, default_metrics, get_metric

INTRINSIC = default_metrics()
PARALLEL = ("premium", "byte_premium", "parity")  # opt-in: suites list them
from tokbench.metrics.base import Metric, MetricInput, Value, merge_stats
from tokbench.tokenized import TokenizedCorpus

NAN = float("nan")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- building corpora by hand ---------------------------------------------------------------------
def make_doc(ids, *, word_ntok=(), word_iso_ntok=None, tok_nwords=None, n_bytes=None, n_chars=None,
             roundtrip_ok=True, unk_chars=0, lang="en", doc_key=None) -> dict:
    ids = list(ids)
    word_ntok = list(word_ntok)
    return {
        "ids": ids,
        "word_ntok": word_ntok,
        "word_iso_ntok": list(word_ntok if word_iso_ntok is None else word_iso_ntok),
        "tok_nwords": list([1] * len(ids) if tok_nwords is None else tok_nwords),
        "n_bytes": len(ids) if n_bytes is None else n_bytes,
        "n_chars": len(ids) if n_chars is None else n_chars,
        "roundtrip_ok": roundtrip_ok,
        "unk_chars": unk_chars,
        "lang": lang,
        "doc_key": doc_key,
    }


def make_tc(docs: list[dict], *, vocab_size: int, unk_ids=(), byte_fallback_ids=(),
            tokenizer: str = "t") -> TokenizedCorpus:
    """A TokenizedCorpus from a list of make_doc dicts (the CSR arrays are built in a plain loop)."""
    ids, tok_nwords, word_ntok, word_iso, tok_off, word_off = [], [], [], [], [0], [0]
    for d in docs:
        assert len(d["tok_nwords"]) == len(d["ids"]) and len(d["word_iso_ntok"]) == len(d["word_ntok"])
        ids += d["ids"]
        tok_nwords += d["tok_nwords"]
        word_ntok += d["word_ntok"]
        word_iso += d["word_iso_ntok"]
        tok_off.append(len(ids))
        word_off.append(len(word_ntok))

    def i64(values):
        return np.array(values, dtype=np.int64)

    return TokenizedCorpus(
        lang=np.array([d["lang"] for d in docs], dtype=str),
        doc_key=np.array([d["doc_key"] or f"d{k}" for k, d in enumerate(docs)], dtype=str),
        n_bytes=i64([d["n_bytes"] for d in docs]),
        n_chars=i64([d["n_chars"] for d in docs]),
        n_words=i64([len(d["word_ntok"]) for d in docs]),
        n_tokens=i64([len(d["ids"]) for d in docs]),
        roundtrip_ok=np.array([d["roundtrip_ok"] for d in docs], dtype=bool),
        unk_chars=i64([d["unk_chars"] for d in docs]),
        ids=i64(ids), tok_offsets=i64(tok_off), tok_nwords=i64(tok_nwords),
        word_ntok=i64(word_ntok), word_iso_ntok=i64(word_iso), word_offsets=i64(word_off),
        meta={"vocab_size": vocab_size, "unk_ids": list(unk_ids), "byte_fallback_ids": list(byte_fallback_ids),
              "tokenizer": tokenizer, "segmenters": {"en": "whitespace"}},
    )


# --- the independent recomputation ------------------------------------------------------------------
def _div(a, b):
    return a / b if b else NAN


def _mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else NAN


def _renyi_bits(counter: Counter, alpha: float) -> float:
    total = sum(counter.values())
    probs = [c / total for c in counter.values()]
    if alpha == 1.0:
        return -sum(p * math.log2(p) for p in probs)
    return math.log2(sum(p ** alpha for p in probs)) / (1 - alpha)


def expected_values(docs, *, vocab_size, unk_ids=(), byte_fallback_ids=(), ref_docs=None,
                    alpha=2.5) -> dict[str, dict[str, float]]:
    tokens = sum(len(d["ids"]) for d in docs)
    words = sum(len(d["word_ntok"]) for d in docs)
    all_wn = [n for d in docs for n in d["word_ntok"]]
    all_iso = [n for d in docs for n in d["word_iso_ntok"]]
    all_ids = [i for d in docs for i in d["ids"]]
    pcw = _div(sum(1 for n in all_wn if n >= 2), len(all_wn))
    out = {
        "fertility": {
            "in_context": _div(tokens, words),
            "in_context_macro": _mean(len(d["ids"]) / len(d["word_ntok"]) for d in docs if d["word_ntok"]),
            "isolated": _div(sum(all_iso), len(all_iso)),
        },
        "pcw": {"micro": pcw, "unsplit": 1 - pcw},
        "strr": {"isolated": _div(sum(1 for n in all_iso if n == 1), len(all_iso))},
        "continuation_share": {"micro": _div(sum(n - 1 for n in all_wn if n >= 2), sum(all_wn))},
        "bytes_per_token": {
            "micro": _div(sum(d["n_bytes"] for d in docs), tokens),
            "macro": _mean(d["n_bytes"] / len(d["ids"]) for d in docs if d["ids"]),
        },
        "chars_per_token": {
            "micro": _div(sum(d["n_chars"] for d in docs), tokens),
            "macro": _mean(d["n_chars"] / len(d["ids"]) for d in docs if d["ids"]),
        },
    }
    if ref_docs is None:
        out["nsl"] = {"micro": NAN, "macro": NAN}
    else:
        out["nsl"] = {
            "micro": _div(tokens, sum(len(r["ids"]) for r in ref_docs)),
            "macro": _mean(len(d["ids"]) / len(r["ids"]) for d, r in zip(docs, ref_docs) if r["ids"]),
        }
    counter = Counter(all_ids)
    size = max([vocab_size] + [i + 1 for i in all_ids])
    out["vocab_utilization"] = {
        "micro": len(counter) / size if all_ids else NAN,
        "distinct_types": float(len(counter)) if all_ids else NAN,
    }
    out["unk_rate"] = {
        "micro": _div(sum(1 for i in all_ids if i in set(unk_ids)), len(all_ids)),
        "unk_char_share": _div(sum(d["unk_chars"] for d in docs), sum(d["n_chars"] for d in docs)),
    }
    out["byte_fallback_rate"] = {"micro": _div(sum(1 for i in all_ids if i in set(byte_fallback_ids)),
                                               len(all_ids))}
    out["roundtrip"] = {"micro": _div(sum(1 for d in docs if d["roundtrip_ok"]), len(docs))}
    for name, a in (("renyi_efficiency", alpha), ("shannon_efficiency", 1.0)):
        if not all_ids:
            out[name] = {"vocab": NAN, "observed": NAN}
            continue
        h = _renyi_bits(counter, a)
        out[name] = {
            "vocab": h / math.log2(size) if size > 1 else NAN,
            "observed": h / math.log2(len(counter)) if len(counter) > 1 else NAN,
        }
    out["superword_share"] = {"micro": _div(sum(1 for d in docs for n in d["tok_nwords"] if n >= 2), tokens)}
    out["zipf"] = _zipf_polyfit(sorted(counter.values(), reverse=True))
    return out


def _zipf_polyfit(freqs: list[int]) -> dict[str, float]:
    """Exponent and R^2 of numpy.polyfit on (ln rank, ln frequency), every observed type."""
    if len(freqs) < 2:
        return {"exponent": NAN, "r2": NAN}
    x, y = np.log(np.arange(1, len(freqs) + 1)), np.log(np.asarray(freqs, dtype=float))
    slope, icpt = np.polyfit(x, y, 1)
    ss = float(np.sum((y - y.mean()) ** 2))
    return {"exponent": -slope, "r2": 1 - float(np.sum((y - slope * x - icpt) ** 2)) / ss if ss else NAN}


def same(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return got == pytest.approx(want, rel=1e-9, abs=1e-12)


def compute_all(tc, *, ref=None, params=None) -> dict[str, dict[str, Value]]:
    params = {"reference": "ref-tok", **(params or {})}
    # the intrinsic metrics; the parallel-text ones (premium, parity) need a context: tests/test_premium.py
    return {name: METRICS[name].compute(MetricInput(tc, params, ref)) for name in INTRINSIC}


def assert_matches(got: dict[str, dict[str, Value]], want: dict[str, dict[str, float]]) -> None:
    assert set(got) == set(want)
    for name in want:
        assert set(got[name]) == set(want[name]) == set(METRICS[name].variants), name
        for variant, w in want[name].items():
            v = got[name][variant].value
            assert same(v, w), f"{name}/{variant}: got {v}, want {w}"


# --- hypothesis strategies --------------------------------------------------------------------------
@st.composite
def docs_strategy(draw, vocab_size: int, max_docs: int = 6):
    n_docs = draw(st.integers(0, max_docs))
    docs = []
    for k in range(n_docs):
        n_tok = draw(st.integers(0, 12))
        n_words = draw(st.integers(0, 8))
        n_chars = draw(st.integers(0, 50))
        docs.append(make_doc(
            draw(st.lists(st.integers(0, vocab_size - 1), min_size=n_tok, max_size=n_tok)),
            word_ntok=draw(st.lists(st.integers(1, 5), min_size=n_words, max_size=n_words)),
            word_iso_ntok=draw(st.lists(st.integers(1, 6), min_size=n_words, max_size=n_words)),
            tok_nwords=draw(st.lists(st.integers(0, 3), min_size=n_tok, max_size=n_tok)),
            n_chars=n_chars,
            n_bytes=n_chars + draw(st.integers(0, 50)),
            roundtrip_ok=draw(st.booleans()),
            unk_chars=draw(st.integers(0, n_chars)),
            lang=draw(st.sampled_from(["en", "tr", "zh"])),
            doc_key=f"k{k}",
        ))
    return docs


@st.composite
def corpus_case(draw):
    vocab_size = draw(st.integers(1, 40))
    docs = draw(docs_strategy(vocab_size))
    ref_docs = [make_doc(draw(st.lists(st.integers(0, 9), max_size=12)), doc_key=d["doc_key"]) for d in docs]
    unk_ids = draw(st.lists(st.integers(0, vocab_size - 1), max_size=3, unique=True))
    bf_ids = draw(st.lists(st.integers(0, vocab_size - 1), max_size=5, unique=True))
    mask = draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs)))
    alpha = draw(st.sampled_from([0.5, 1.0, 2.0, 2.5, 3.0]))
    return vocab_size, docs, ref_docs, unk_ids, bf_ids, mask, alpha


def _assert_stats_equal(merged: dict, whole: dict, where: str) -> None:
    assert set(merged) == set(whole), where
    for key, w in whole.items():
        m = merged[key]
        if isinstance(w, np.ndarray) or isinstance(m, np.ndarray):
            assert np.array_equal(np.asarray(m), np.asarray(w)), f"{where}: {key}"
        elif isinstance(w, float) or isinstance(m, float):
            assert float(m) == pytest.approx(float(w), rel=1e-12, abs=1e-12), f"{where}: {key}"
        else:
            assert m == w, f"{where}: {key}"


# --- registry -------------------------------------------------------------------------------------
def test_registry_names_order_and_metadata():
    assert INTRINSIC == (
        "fertility", "pcw", "continuation_share", "bytes_per_token", "chars_per_token", "nsl",
        "vocab_utilization", "unk_rate", "byte_fallback_rate", "roundtrip", "renyi_efficiency",
        "shannon_efficiency", "superword_share", "strr", "zipf",
    )
    # the intrinsic metrics first; opt-in families (PARALLEL, ...) are registered after them
    assert list(METRICS)[:len(INTRINSIC)] == list(INTRINSIC) and set(PARALLEL) <= set(METRICS)
    for name, m in METRICS.items():
        assert isinstance(m, Metric) and m.name == name and m.version == (2 if name in ("pcw", "lang_token_share", "pure_token_share") else 1)
        assert m.unit and m.description.endswith(").") and m.higher_is_better in (True, False, None)
        assert len(m.variants) == len(set(m.variants)) >= 1
    assert METRICS["nsl"].needs_reference and sum(m.needs_reference for m in METRICS.values()) == 1
    assert METRICS["fertility"].variants == ("in_context", "in_context_macro", "isolated")
    assert METRICS["renyi_efficiency"].default_params["alpha"] == 2.5
    assert get_metric("bytes_per_token") is METRICS["bytes_per_token"]


def test_get_metric_suggests():
    with pytest.raises(ValueError, match="did you mean 'fertility'"):
        get_metric("fertilty")
    with pytest.raises(ValueError, match="renyi_efficiency"):
        get_metric("renyi")
    with pytest.raises(ValueError, match="known: fertility, pcw"):
        get_metric("zzzzzzzzzz")


# --- fixed hand-made corpus with literal expectations ---------------------------------------------
def _fixed():
    docs = [
        # "ab cd" 2 words: ab -> 1 token, cd -> 2 tokens; a space-token between them
        make_doc([1, 0, 2, 3], word_ntok=[1, 2], word_iso_ntok=[1, 3], tok_nwords=[1, 0, 1, 1],
                 n_bytes=5, n_chars=5, unk_chars=0),
        # a superword token [4] covering 2 words, an UNK (id 7) and a byte-fallback (id 9)
        make_doc([4, 7, 9], word_ntok=[1, 1, 1, 1], word_iso_ntok=[1, 1, 2, 2], tok_nwords=[2, 1, 1],
                 n_bytes=12, n_chars=8, roundtrip_ok=False, unk_chars=2),
        make_doc([], n_bytes=0, n_chars=0),  # an empty document
    ]
    ref = [make_doc([1, 2]), make_doc([3, 3, 3, 3, 3, 3]), make_doc([])]
    for k, (d, r) in enumerate(zip(docs, ref)):
        d["doc_key"] = r["doc_key"] = f"s{k}"
    return docs, ref


def test_fixed_corpus_literal_values():
    docs, ref = _fixed()
    tc = make_tc(docs, vocab_size=10, unk_ids=[7], byte_fallback_ids=[8, 9])
    got = compute_all(tc, ref=make_tc(ref, vocab_size=4))
    v = {name: {k: x.value for k, x in vals.items()} for name, vals in got.items()}
    assert v["fertility"] == {"in_context": 7 / 6, "in_context_macro": pytest.approx((4 / 2 + 3 / 4) / 2),
                              "isolated": 10 / 6}
    assert v["pcw"] == {"micro": 1 / 6, "unsplit": 5 / 6}
    assert v["strr"] == {"isolated": 3 / 6}
    assert v["continuation_share"]["micro"] == 1 / 7
    assert v["bytes_per_token"] == {"micro": 17 / 7, "macro": pytest.approx((5 / 4 + 12 / 3) / 2)}
    assert v["chars_per_token"] == {"micro": 13 / 7, "macro": pytest.approx((5 / 4 + 8 / 3) / 2)}
    assert v["nsl"] == {"micro": 7 / 8, "macro": pytest.approx((4 / 2 + 3 / 6) / 2)}
    assert v["vocab_utilization"] == {"micro": 7 / 10, "distinct_types": 7.0}
    assert v["unk_rate"] == {"micro": 1 / 7, "unk_char_share": 2 / 13}
    assert v["byte_fallback_rate"] == {"micro": 1 / 7}
    assert v["roundtrip"] == {"micro": 2 / 3}
    assert v["superword_share"] == {"micro": 1 / 7}
    # 7 distinct ids, each once: uniform over the observed types
    assert v["renyi_efficiency"]["observed"] == pytest.approx(1.0)
    assert v["renyi_efficiency"]["vocab"] == pytest.approx(math.log2(7) / math.log2(10))
    assert v["shannon_efficiency"]["vocab"] == pytest.approx(math.log2(7) / math.log2(10))
    # denominators and params a reader needs
    assert got["fertility"]["in_context"].n == 6
    assert got["fertility"]["in_context"].params["tokens"] == 7
    assert got["fertility"]["in_context"].params["words"] == 6
    assert got["fertility"]["in_context_macro"].n == 2
    assert got["bytes_per_token"]["micro"].n == 7 and got["bytes_per_token"]["macro"].n == 2
    assert got["nsl"]["micro"].params["reference"] == "ref-tok" and got["nsl"]["micro"].n == 8
    assert got["roundtrip"]["micro"].n == 3
    assert got["renyi_efficiency"]["vocab"].params["alpha"] == 2.5
    assert got["renyi_efficiency"]["vocab"].params["vocab_size"] == 10
    assert got["renyi_efficiency"]["observed"].params["vocab_size"] == 7
    assert got["pcw"]["unsplit"].params["higher_is_better"] is True
    # params are plain JSON (they go into the results store)
    for vals in got.values():
        for val in vals.values():
            assert isinstance(val.n, int)
            json.dumps(dict(val.params))
    assert_matches(got, expected_values(docs, vocab_size=10, unk_ids=[7], byte_fallback_ids=[8, 9], ref_docs=ref))


def test_segmenter_recorded_when_given():
    docs, _ = _fixed()
    got = METRICS["fertility"].compute(MetricInput(make_tc(docs, vocab_size=10), {"segmenter": "whitespace"}))
    assert all(v.params["segmenter"] == "whitespace" for v in got.values())


def test_alpha_param_is_used_and_recorded():
    docs = [make_doc([0, 0, 0, 1, 1, 2])]
    tc = make_tc(docs, vocab_size=8)
    for alpha in (0.5, 2.0, 2.5, 7.0):
        got = METRICS["renyi_efficiency"].compute(MetricInput(tc, {"alpha": alpha}))
        want = expected_values(docs, vocab_size=8, alpha=alpha)["renyi_efficiency"]
        assert same(got["vocab"].value, want["vocab"]) and got["vocab"].params["alpha"] == alpha
        assert same(got["observed"].value, want["observed"])
    # alpha -> 1 is Shannon
    r1 = METRICS["renyi_efficiency"].compute(MetricInput(tc, {"alpha": 1.0}))
    sh = METRICS["shannon_efficiency"].compute(MetricInput(tc))
    assert r1["vocab"].value == pytest.approx(sh["vocab"].value)
    assert METRICS["renyi_efficiency"].compute(MetricInput(tc, {"alpha": 1.0 + 1e-7}))["vocab"].value \
        == pytest.approx(sh["vocab"].value, rel=1e-5)
    with pytest.raises(ValueError):
        METRICS["renyi_efficiency"].compute(MetricInput(tc, {"alpha": -1.0}))


def test_tokenization_scorer_golden_values():
    """tokenization-scorer's own test vectors (observed-vocabulary variant)."""
    def tc_of(text):
        toks = text.split()
        index = {t: k for k, t in enumerate(dict.fromkeys(toks))}
        return make_tc([make_doc([index[t] for t in toks])], vocab_size=len(index))

    text1 = "pick @@ed pick @@l @@ed pick @@les"
    text2 = "pick @@e @@d pick @@l @@e @@d pick @@l @@e @@s"
    for text, renyi, renyi_h, shannon, shannon_h in (
        (text1, 0.8265064834225245, 1.653012966845049, 0.9211854965885544, 1.8423709931771088),
        (text2, 0.9204840242168808, 2.1372977167241545, 0.9609557933859342, 2.2312702546075758),
    ):
        r = METRICS["renyi_efficiency"].compute(MetricInput(tc_of(text), {"alpha": 2.5}))
        s = METRICS["shannon_efficiency"].compute(MetricInput(tc_of(text)))
        assert r["observed"].value == pytest.approx(renyi, abs=1e-9)
        assert r["observed"].params["entropy_bits"] == pytest.approx(renyi_h, abs=1e-9)
        assert s["observed"].value == pytest.approx(shannon, abs=1e-9)
        assert s["observed"].params["entropy_bits"] == pytest.approx(shannon_h, abs=1e-9)


# --- properties -----------------------------------------------------------------------------------
@SETTINGS
@given(corpus_case())
def test_every_metric_matches_plain_python(case):
    vocab_size, docs, ref_docs, unk_ids, bf_ids, _, alpha = case
    tc = make_tc(docs, vocab_size=vocab_size, unk_ids=unk_ids, byte_fallback_ids=bf_ids)
    got = compute_all(tc, ref=make_tc(ref_docs, vocab_size=10), params={"alpha": alpha})
    assert_matches(got, expected_values(docs, vocab_size=vocab_size, unk_ids=unk_ids,
                                        byte_fallback_ids=bf_ids, ref_docs=ref_docs, alpha=alpha))


@SETTINGS
@given(corpus_case())
def test_stats_merge_equals_stats_of_union(case):
    vocab_size, docs, ref_docs, unk_ids, bf_ids, mask, alpha = case
    tc = make_tc(docs, vocab_size=vocab_size, unk_ids=unk_ids, byte_fallback_ids=bf_ids)
    ref = make_tc(ref_docs, vocab_size=10)
    a_idx = np.array([k for k, m in enumerate(mask) if m], dtype=np.int64)
    b_idx = np.array([k for k, m in enumerate(mask) if not m], dtype=np.int64)
    params = {"reference": "ref-tok", "alpha": alpha}
    for name, metric in METRICS.items():
        for reference in (ref, None):
            def stats(idx):
                r = None if reference is None else reference.select(idx)
                return metric.stats(MetricInput(tc.select(idx), params, r))

            whole = metric.stats(MetricInput(tc, params, reference))
            merged = merge_stats(stats(a_idx), stats(b_idx))
            _assert_stats_equal(merged, whole, name)
            # and the finalized numbers agree as well
            full = {**metric.default_params, **params}
            fm, fw = metric.finalize(merged, full), metric.finalize(whole, full)
            assert set(fm) == set(fw) == set(metric.variants)
            for variant in fw:
                assert same(fm[variant].value, fw[variant].value), (name, variant)
                assert fm[variant].n == fw[variant].n, (name, variant)


@SETTINGS
@given(st.lists(st.text(max_size=40), max_size=6))
def test_byte_tokenizer_has_exactly_one_byte_per_token(texts):
    docs = []
    for text in texts:
        b = text.encode("utf-8")
        docs.append(make_doc(list(b), word_ntok=[len(w.encode()) for w in text.split()],
                             n_bytes=len(b), n_chars=len(text)))
    got = compute_all(make_tc(docs, vocab_size=256))
    if any(text for text in texts):
        assert got["bytes_per_token"]["micro"].value == 1.0
        assert got["bytes_per_token"]["macro"].value == 1.0
        assert got["chars_per_token"]["micro"].value <= 1.0
    else:
        assert math.isnan(got["bytes_per_token"]["micro"].value)


@SETTINGS
@given(st.integers(2, 3000), st.integers(1, 4), st.sampled_from([0.5, 2.0, 2.5, 3.0, 10.0]))
def test_renyi_uniform_is_one_and_single_token_is_zero(vocab_size, reps, alpha):
    uniform = make_tc([make_doc(list(range(vocab_size)) * reps)], vocab_size=vocab_size)
    for metric in ("renyi_efficiency", "shannon_efficiency"):
        got = METRICS[metric].compute(MetricInput(uniform, {"alpha": alpha}))
        assert got["vocab"].value == pytest.approx(1.0, rel=1e-9)
        assert got["observed"].value == pytest.approx(1.0, rel=1e-9)
        single = make_tc([make_doc([vocab_size - 1] * (reps + 2))], vocab_size=vocab_size)
        got = METRICS[metric].compute(MetricInput(single, {"alpha": alpha}))
        assert got["vocab"].value == 0.0 and math.copysign(1.0, got["vocab"].value) == 1.0
        assert math.isnan(got["observed"].value) and "note" in got["observed"].params


# --- a small real tokenizer -----------------------------------------------------------------------
TRAIN = [
    "The quick brown fox jumps over the lazy dog.",
    "A tokenizer splits text into tokens, and tokens into ids.",
    "Bugün hava çok güzel, değil mi?",
    "Çocuklar bahçede oynuyorlar ve gülüyorlar.",
    "Sphinx of black quartz, judge my vow!",
    "Tokenizers compress text: fewer tokens per word is better.",
] * 3
TEST = [
    "The lazy fox splits quartz tokens.",
    "Bugün çocuklar bahçede oynuyor!",
    "So fewer tokens per word, judge my vow.",
    "A snowman ☃ is not in the training text.",
]


def _bpe():
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(TRAIN, trainers.BpeTrainer(vocab_size=300, special_tokens=["[UNK]"],
                                                       show_progress=False))
    return tok


def _align(tok, text: str) -> dict:
    """One document's columns, aligned in simple loops from the tokenizer's character offsets."""
    enc = tok.encode(text, add_special_tokens=False)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    tok_nwords = []
    for ts, te in enc.offsets:
        tok_nwords.append(sum(1 for ws, we in words if ts < we and te > ws))
    word_ntok, word_iso = [], []
    for ws, we in words:
        word_ntok.append(sum(1 for ts, te in enc.offsets if ts < we and te > ws))
        word_iso.append(len(tok.encode(text[ws:we], add_special_tokens=False).ids))
    unk = tok.token_to_id("[UNK]")
    return make_doc(enc.ids, word_ntok=word_ntok, word_iso_ntok=word_iso, tok_nwords=tok_nwords,
                    n_bytes=len(text.encode("utf-8")), n_chars=len(text),
                    roundtrip_ok=tok.decode(enc.ids) == text,
                    unk_chars=sum(te - ts for (ts, te), i in zip(enc.offsets, enc.ids) if i == unk))


def test_real_bpe_tokenizer():
    tok = _bpe()
    docs = [_align(tok, text) for text in TEST]
    unk = tok.token_to_id("[UNK]")
    tc = make_tc(docs, vocab_size=tok.get_vocab_size(), unk_ids=[unk], tokenizer="tiny-bpe")
    got = compute_all(tc)

    # by hand: tokens over whitespace words, and UTF-8 bytes over tokens
    n_tokens = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in TEST)
    n_words = sum(len(t.split()) for t in TEST)
    n_bytes = sum(len(t.encode("utf-8")) for t in TEST)
    iso = [len(tok.encode(w, add_special_tokens=False).ids) for t in TEST for w in t.split()]
    assert got["fertility"]["in_context"].value == pytest.approx(n_tokens / n_words)
    assert got["fertility"]["isolated"].value == pytest.approx(sum(iso) / len(iso))
    assert got["bytes_per_token"]["micro"].value == pytest.approx(n_bytes / n_tokens)
    assert got["bytes_per_token"]["micro"].value > 1.0  # a trained BPE merges something
    assert got["fertility"]["in_context"].value > 1.0  # punctuation is split off every sentence
    # the snowman is the only character outside the training alphabet
    assert got["unk_rate"]["micro"].value == pytest.approx(1 / n_tokens)
    assert got["unk_rate"]["unk_char_share"].value == pytest.approx(1 / sum(len(t) for t in TEST))
    assert_matches(got, expected_values(docs, vocab_size=tok.get_vocab_size(), unk_ids=[unk]))


# --- edge cases -----------------------------------------------------------------------------------
def test_empty_corpus_gives_nan_everywhere():
    empty = make_tc([], vocab_size=16)
    for ref in (None, make_tc([], vocab_size=4)):
        got = compute_all(empty, ref=ref)
        for name, vals in got.items():
            assert set(vals) == set(METRICS[name].variants)
            for variant, val in vals.items():
                assert math.isnan(val.value), (name, variant)
                assert val.n == 0 or name in ("vocab_utilization",), (name, variant, val.n)


def test_documents_without_tokens_or_words_give_nan_not_errors():
    docs = [make_doc([], n_bytes=0, n_chars=0), make_doc([], n_bytes=0, n_chars=0)]
    got = compute_all(make_tc(docs, vocab_size=5), ref=make_tc([make_doc([]), make_doc([])], vocab_size=5))
    assert got["roundtrip"]["micro"].value == 1.0
    for name, vals in got.items():
        if name != "roundtrip":
            assert all(math.isnan(v.value) for v in vals.values()), name


def test_nsl_reference_missing_or_misaligned():
    docs, ref = _fixed()
    tc = make_tc(docs, vocab_size=10)
    got = METRICS["nsl"].compute(MetricInput(tc, {"reference": "cl100k"}, None))
    for v in got.values():
        assert math.isnan(v.value) and v.params["reference"] == "cl100k" and v.params["note"]
    # a reference tokenization without a name is computed but flagged
    got = METRICS["nsl"].compute(MetricInput(tc, {}, make_tc(ref, vocab_size=4)))
    assert got["micro"].value == 7 / 8 and got["micro"].params["reference"] is None
    assert got["micro"].params["note"]
    with pytest.raises(ValueError, match="same documents"):
        METRICS["nsl"].compute(MetricInput(tc, {"reference": "r"}, make_tc(ref[:2], vocab_size=4)))
    with pytest.raises(ValueError, match="same documents"):
        METRICS["nsl"].compute(MetricInput(tc, {"reference": "r"}, make_tc(ref[::-1], vocab_size=4)))


def test_stats_work_on_multilanguage_corpora_and_language_slices_add_up():
    docs, _ = _fixed()
    docs = [dict(docs[0], lang="en"), dict(docs[1], lang="tr"), dict(docs[2], lang="en")]
    tc = make_tc(docs, vocab_size=10, unk_ids=[7])
    for name, metric in METRICS.items():
        if metric.needs_reference:
            continue
        parts = [metric.stats(MetricInput(tc.for_lang(lang))) for lang in tc.languages()]
        _assert_stats_equal(functools.reduce(merge_stats, parts), metric.stats(MetricInput(tc)), name)


def test_ids_beyond_vocab_size_and_missing_vocab_size():
    tc = make_tc([make_doc([0, 1, 12])], vocab_size=4)
    got = METRICS["vocab_utilization"].compute(MetricInput(tc))
    assert got["micro"].value == 3 / 13 and got["micro"].params["vocab_size"] == 13
    tc.meta.pop("vocab_size")
    with pytest.raises(ValueError, match="vocab_size"):
        METRICS["vocab_utilization"].compute(MetricInput(tc))
