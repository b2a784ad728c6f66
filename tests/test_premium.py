"""Token premiums and parity (tokbench/metrics/premium.py) on real tokenizers and the UDHR.

Expected values are recomputed here with plain loops over articles (encoding each article
alone with the tokenizer) or from the stored per-language rows, never with the code under test.
"""
from __future__ import annotations

import functools
import json
import math
from collections import defaultdict

import numpy as np
import pytest

from tokbench.corpora import load_udhr
from tokbench.metrics import METRICS, default_metrics, get_metric

INTRINSIC = default_metrics()
PARALLEL = ("premium", "byte_premium", "parity")  # opt-in: suites list them
from tokbench.metrics.base import MetricInput, merge_stats
from tokbench.metrics.premium import gini
from tokbench.registry import get_tokenizer, resolve
from tokbench.kinds.tokenizer import metric_rows
from tokbench.schema import ALL_LANGS
from tokbench.tokenize import tokenize_corpus

LANGS = ["en", "tr", "zh", "hi", "ru", "ka", "am", "my"]


@functools.lru_cache(maxsize=None)
def corpus():
    return load_udhr(langs=LANGS)


@functools.lru_cache(maxsize=None)
def tokenized(name: str):
    return tokenize_corpus(lambda: get_tokenizer(name), corpus(), tokenizer_hash=resolve(name).fingerprint())


def rows_for(name: str, *, metric_params: dict | None = None, metrics=PARALLEL) -> list[dict]:
    return metric_rows(tokenized(name), metrics=list(metrics), reference_tc=None, reference_name=None,
                       metric_params=metric_params or {}, segmenters={})


def table(rows: list[dict]) -> dict[tuple[str, str, str], dict]:
    return {(r["lang"], r["metric"], r["variant"]): r for r in rows}


def premium(name: str, lang: str, *, variant: str = "corpus", ref: str = "en", metric: str = "premium"):
    tc = tokenized(name)
    return get_metric(metric).compute(MetricInput(tc.for_lang(lang), {"reference_lang": ref}, context=tc))[variant]


# --- registry ---------------------------------------------------------------------------------------
def test_registered_but_not_intrinsic():
    assert PARALLEL == ("premium", "byte_premium", "parity")
    for name in PARALLEL:
        assert get_metric(name) is METRICS[name]
        assert name not in INTRINSIC
    assert METRICS["premium"].variants == ("corpus", "macro")
    assert METRICS["byte_premium"].variants == ("corpus",)
    assert METRICS["parity"].variants == ("max", "mean", "gini")
    assert METRICS["premium"].scopes == ("lang",) and METRICS["byte_premium"].scopes == ("lang",)
    assert METRICS["parity"].scopes == ("all",)


# --- byt5: one token per byte, so the token premium is the byte premium --------------------------------
@pytest.mark.parametrize("lang", ["tr", "zh", "hi", "ka", "am", "my"])
def test_byt5_premium_equals_byte_premium_exactly(lang):
    t = premium("byt5", lang)
    b = premium("byt5", lang, metric="byte_premium")
    assert t.value == b.value  # exact, not approx
    assert t.n == b.n >= 30
    assert t.value != 1.0


def test_byte_premium_is_the_same_for_every_tokenizer():
    got = {name: premium(name, "hi", metric="byte_premium").value for name in ("gpt2", "llama2", "bert-base-uncased")}
    assert len(set(got.values())) == 1, got


# --- the reference language against itself ----------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "llama2", "byt5", "bert-base-uncased"])
def test_premium_of_a_language_against_itself_is_one(name):
    tc = tokenized(name)
    for lang in LANGS:
        vals = METRICS["premium"].compute(MetricInput(tc.for_lang(lang), {"reference_lang": lang,
                                                                          "max_unk_char_share": 1.0}, context=tc))
        assert vals["corpus"].value == 1.0, lang
        assert vals["macro"].value == 1.0, lang
        assert METRICS["byte_premium"].compute(
            MetricInput(tc.for_lang(lang), {"reference_lang": lang}, context=tc))["corpus"].value == 1.0


# --- published ordering: Turkish is dearer in GPT-2 than in cl100k_base ----------------------------------
def test_turkish_premium_gpt2_above_cl100k():
    vals = {name: premium(name, "tr").value for name in ("gpt2", "cl100k_base", "o200k_base", "llama3", "gemma3")}
    # Petrov et al. (FLORES-200): GPT-2 2.43, cl100k_base 1.91; the UDHR differs, the order holds
    assert vals["gpt2"] > vals["cl100k_base"] > 1.0, vals
    assert vals["cl100k_base"] > vals["o200k_base"] > 1.0, vals
    assert all(1.0 < v < 4.0 for v in vals.values()), vals


# --- independent recomputation: encode every article alone ---------------------------------------------
@pytest.mark.parametrize("lang", ["en", "tr", "zh"])
def test_gpt2_premium_recomputed_article_by_article(lang):
    tok = get_tokenizer("gpt2")
    articles: dict[str, dict[str, str]] = defaultdict(dict)
    c = corpus()
    for doc_lang, key, text in zip(c.lang, c.key, c.text):
        if doc_lang in ("en", lang):
            articles[doc_lang][key] = text
    keys = sorted(set(articles["en"]) & set(articles[lang]))
    assert len(keys) == 31
    n_en = [len(ids) for ids in tok.encode_batch([articles["en"][k] for k in keys])]
    n_l = [len(ids) for ids in tok.encode_batch([articles[lang][k] for k in keys])]
    want_corpus = sum(n_l) / sum(n_en)
    want_macro = sum(a / b for a, b in zip(n_l, n_en)) / len(keys)
    got = METRICS["premium"].compute(MetricInput(tokenized("gpt2").for_lang(lang), {}, context=tokenized("gpt2")))
    assert got["corpus"].value == pytest.approx(want_corpus, rel=1e-12)
    assert got["macro"].value == pytest.approx(want_macro, rel=1e-12)
    assert got["corpus"].n == got["macro"].n == len(keys)
    assert got["corpus"].params["tokens"] == sum(n_l)
    assert got["corpus"].params["reference_tokens"] == sum(n_en)
    if lang == "en":
        assert got["corpus"].value == 1.0


def test_alignment_uses_only_shared_keys():
    """Amharic has no preamble (a0): 30 aligned pairs, and the preamble of English is left out."""
    tc = tokenized("gpt2")
    am = tc.for_lang("am")
    assert "a0" not in set(am.doc_key.tolist())
    v = METRICS["premium"].compute(MetricInput(am, {}, context=tc))["corpus"]
    assert v.n == 30
    en = tc.for_lang("en")
    en_tokens = {k: int(t) for k, t in zip(en.doc_key.tolist(), en.n_tokens.tolist())}
    assert v.params["reference_tokens"] == sum(t for k, t in en_tokens.items() if k != "a0")
    assert v.params["tokens"] == int(am.n_tokens.sum())


# --- blanking ---------------------------------------------------------------------------------------
def test_bert_blanks_languages_it_mostly_unks():
    rows = rows_for("bert-base-uncased")
    t = table(rows)
    for lang in ("am", "ka", "my"):
        for variant in ("corpus", "macro"):
            r = t[lang, "premium", variant]
            assert math.isnan(r["value"]), (lang, variant)
            assert r["note"] and r["note"].startswith("blank: UNK covers ") and r["note"].endswith("% of characters (> 10%)")
            p = json.loads(r["params"])
            assert p["unk_char_share"] > 0.10 and "note" not in p
            assert f"{100 * p['unk_char_share']:.1f}%" in r["note"]
            assert p["unblanked_value"] > 0
        # the byte premium is a property of the text: never blanked
        assert not math.isnan(t[lang, "byte_premium", "corpus"]["value"])
    am = json.loads(t["am", "premium", "corpus"]["params"])
    assert am["unk_char_share"] > 0.9  # Ethiopic is absent from BERT's vocabulary
    # the UNK share stored with the premium is the unk_rate/unk_char_share of the same language
    unk = table(rows_for("bert-base-uncased", metrics=["unk_rate"]))
    for lang in LANGS:
        want = unk[lang, "unk_rate", "unk_char_share"]["value"]
        assert json.loads(t[lang, "premium", "corpus"]["params"])["unk_char_share"] == pytest.approx(want)
    # English and Turkish are covered: not blanked
    assert t["tr", "premium", "corpus"]["note"] is None and t["tr", "premium", "corpus"]["value"] > 1
    # a byte-level tokenizer never blanks
    assert all(r["note"] is None for r in rows_for("gpt2"))


def test_blank_threshold_is_a_parameter():
    tc = tokenized("bert-base-uncased")
    ka = tc.for_lang("ka")
    share = float(ka.unk_chars.sum()) / float(ka.n_chars.sum())
    above = METRICS["premium"].compute(MetricInput(ka, {"max_unk_char_share": share + 1e-6}, context=tc))
    below = METRICS["premium"].compute(MetricInput(ka, {"max_unk_char_share": share - 1e-6}, context=tc))
    assert not math.isnan(above["corpus"].value) and "note" not in above["corpus"].params
    assert math.isnan(below["corpus"].value) and below["corpus"].params["note"].startswith("blank:")


def test_missing_reference_language_is_nan_with_note():
    tc = tokenized("gpt2")
    for name in PARALLEL:
        sub = tc if name == "parity" else tc.for_lang("tr")
        vals = METRICS[name].compute(MetricInput(sub, {"reference_lang": "xx"}, context=tc))
        assert set(vals) == set(METRICS[name].variants)
        for v in vals.values():
            assert math.isnan(v.value) and v.n == 0
            assert "'xx' is not in the corpus" in v.params["note"]


# --- parity -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "bert-base-uncased", "gemma3"])
def test_parity_recomputed_from_the_premium_rows(name):
    rows = rows_for(name)
    t = table(rows)
    prem = {r["lang"]: r["value"] for r in rows if r["metric"] == "premium" and r["variant"] == "corpus"}
    assert set(prem) == set(LANGS)
    assert all(r["lang"] != ALL_LANGS for r in rows if r["metric"] != "parity")
    kept = {lang: v for lang, v in prem.items() if lang != "en" and not math.isnan(v)}
    vals = list(kept.values())
    n = len(vals)
    mean = sum(vals) / n
    g = sum(abs(a - b) for a in vals for b in vals) / (n * n) / (2 * mean)
    assert t[ALL_LANGS, "parity", "max"]["value"] == pytest.approx(max(vals), rel=1e-12)
    assert t[ALL_LANGS, "parity", "mean"]["value"] == pytest.approx(mean, rel=1e-12)
    assert t[ALL_LANGS, "parity", "gini"]["value"] == pytest.approx(g, rel=1e-12)
    for variant in ("max", "mean", "gini"):
        r = t[ALL_LANGS, "parity", variant]
        assert r["n"] == n
        p = json.loads(r["params"])
        assert p["excluded_reference"] == ["en"]
        assert sorted(p["excluded_blank"]) == sorted(lang for lang, v in prem.items() if math.isnan(v))
    assert json.loads(t[ALL_LANGS, "parity", "max"]["params"])["max_lang"] == max(kept, key=kept.get)
    if name == "bert-base-uncased":
        assert {"am", "ka", "my"} <= set(json.loads(t[ALL_LANGS, "parity", "mean"]["params"])["excluded_blank"])


def test_gini_of_equal_premiums_is_zero():
    assert gini([1.7] * 5) == 0.0
    assert gini([2.0]) == 0.0
    assert gini([1.0, 3.0]) == pytest.approx(0.25)  # |1-3| * 2 / 4 pairs = 1; / (2 * 2)
    assert gini([0.0, 0.0, 0.0, 4.0]) == pytest.approx(0.75)  # (n - 1) / n for one holder of everything
    # parity of a corpus whose second language is a copy of the reference text: premium 1, Gini 0
    from tokbench.tokenized import TokenizedCorpus

    en = tokenized("byt5").for_lang("en")
    n = en.n_docs
    per_doc = {f: np.concatenate([getattr(en, f)] * 2)
               for f in ("doc_key", "n_bytes", "n_chars", "n_words", "n_tokens", "roundtrip_ok", "unk_chars")}
    empty, offsets = np.zeros(0, np.int64), np.zeros(2 * n + 1, np.int64)
    doubled = TokenizedCorpus(lang=np.array(["en"] * n + ["xx"] * n), ids=empty, tok_offsets=offsets,
                              tok_nwords=empty, word_ntok=empty, word_iso_ntok=empty, word_offsets=offsets,
                              **per_doc)
    vals = METRICS["parity"].compute(MetricInput(doubled, {}, context=doubled))
    assert vals["gini"].value == 0.0 and vals["max"].value == 1.0 and vals["mean"].value == 1.0


# --- summable statistics ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["premium", "byte_premium", "parity"])
def test_stats_add_up_over_shards_of_the_scope(name):
    tc = tokenized("llama2")
    metric = METRICS[name]
    scope = tc if name == "parity" else tc.for_lang("tr")
    idx = np.arange(scope.n_docs)
    params = {**metric.default_params}
    whole = metric.stats(MetricInput(scope, params, context=tc))
    for shards in ((idx[idx % 2 == 0], idx[idx % 2 == 1]), (idx[:5], idx[5:17], idx[17:])):
        merged = functools.reduce(merge_stats, (metric.stats(MetricInput(scope.select(h), params, context=tc))
                                                for h in shards))
        assert set(merged) == set(whole)
        for key, w in whole.items():
            assert merged[key] == pytest.approx(w, rel=1e-12), key
        fm, fw = metric.finalize(merged, params), metric.finalize(whole, params)
        for variant in fw:
            assert fm[variant].value == pytest.approx(fw[variant].value, rel=1e-12)
            assert fm[variant].n == fw[variant].n


def test_without_context_every_value_is_nan_with_a_note():
    tc = tokenized("gpt2")
    for name in PARALLEL:
        vals = METRICS[name].compute(MetricInput(tc if name == "parity" else tc.for_lang("en")))
        for v in vals.values():
            assert math.isnan(v.value) and v.params["note"].startswith("no context")


# --- leaderboard plots --------------------------------------------------------------------------------
def test_leaderboard_draws_premium_plots(tmp_path):
    import pandas as pd

    from tokbench.report import render
    from tokbench.report.leaderboard import prepare
    from tokbench.report.premium_plots import premium_matrix
    from tokbench.metrics import metric_info
    from tokbench.schema import COLUMNS

    rows = []
    for name in ("gpt2", "byt5", "bert-base-uncased"):
        for r in rows_for(name, metrics=["fertility", *PARALLEL]):
            row = dict.fromkeys(COLUMNS)
            row.update(r, suite="ml", suite_version="1", tokenizer=name, tokenizer_hash="ab" * 32,
                       corpus="udhr", corpus_hash="cd" * 32, run_id="r", tokbench_version="0",
                       schema_version=1, created_at=pd.Timestamp("2025-01-01", tz="UTC"))
            rows.append(row)
    df = pd.DataFrame(rows)
    mat, ref = premium_matrix(prepare(df))
    assert ref == "en" and "en" not in mat.columns and set(mat.columns) == set(LANGS) - {"en"}
    parity_mean = df[(df.metric == "parity") & (df.variant == "mean")].set_index("tokenizer")["value"]
    assert list(mat.index) == sorted(parity_mean.index, key=lambda t: parity_mean[t])
    col_means = mat.mean(axis=0).tolist()
    assert col_means == sorted(col_means)
    assert mat.loc["bert-base-uncased", ["am", "ka", "my"]].isna().all()
    out = render(df, tmp_path / "lb", metric_info=metric_info())
    names = {p.name for p in out["plots"]}
    assert {"premium_heatmap.png", "premium_worst_languages.png", "fertility_by_language.png"} <= names
    for p in out["plots"]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = out["markdown"].read_text(encoding="utf-8")
    assert "(premium_heatmap.png)" in md and "(premium_worst_languages.png)" in md
    assert 'src="premium_heatmap.png"' in out["html"].read_text(encoding="utf-8")
