"""The regression gate: `tokbench compare` / `tokbench check`, paired bootstrap CIs, thresholds."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tokbench.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main
from tokbench.corpora import load_udhr
from tokbench.metrics import METRICS
from tokbench.metrics.base import MetricInput
from tokbench.registry import resolve
from tokbench.gate.bootstrap import compare, resample_indices, resample_weights
from tokbench.gate.results import Cell, CorpusPair
from tokbench.gate.thresholds import evaluate_thresholds, judge
from tokbench.schema import ALL_LANGS
from tokbench.suites import SuiteError, Threshold, load_suite
from tokbench.tokenize import tokenize_corpus

# core-v1's [thresholds], on UDHR en + tr
GATE_SUITE = """\
[suite]
name = "gate-test"
version = "1"
tokenizers = ["gpt2"]
reference_tokenizer = "gpt2"

[corpora.udhr]
source = "udhr"
langs = ["en", "tr"]

[thresholds.fertility]
variant = "in_context"
max_relative_increase = 0.02

[thresholds.bytes_per_token]
variant = "micro"
max_relative_decrease = 0.02

[thresholds.roundtrip]
variant = "micro"
max_absolute_decrease = 0.0
use_ci = false
"""


@pytest.fixture(scope="module")
def gate_suite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gate") / "gate.toml"
    path.write_text(GATE_SUITE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def udhr_small():
    return load_udhr(langs=["en", "tr"]).limit_docs(4)


def _tc(name: str, corpus):
    spec = resolve(name)
    from tokbench.registry import get_tokenizer

    return tokenize_corpus(lambda: get_tokenizer(spec), corpus, tokenizer_hash=spec.fingerprint())


@pytest.fixture(scope="module")
def gpt2_byt5(udhr_small):
    return CorpusPair("udhr", _tc("gpt2", udhr_small), _tc("byt5", udhr_small), texts=udhr_small.text)


# ----------------------------------------------------------------------------- (1) self-comparison


def test_self_check_passes_with_zero_deltas(gate_suite, tmp_path, capsys):
    summary = tmp_path / "summary.md"
    out_json = tmp_path / "result.json"
    rc = main(["check", "gpt2", "gpt2", "--suite", str(gate_suite), "--limit-docs", "5", "-q",
               "--summary", str(summary), "--json", str(out_json)])
    assert rc == EXIT_OK
    md = summary.read_text(encoding="utf-8")
    assert "PASS" in md and "FAIL" not in md
    data = json.loads(out_json.read_text())
    assert data["ok"] is True
    assert {c["lang"] for c in data["cells"]} == {"en", "tr", ALL_LANGS}
    assert data["checks"] and all(c["status"] == "pass" for c in data["checks"])
    for c in data["cells"]:
        if c["baseline"] is None:  # undefined for both (NaN)
            assert c["candidate"] is None
            continue
        assert c["delta"] == 0.0 and c["rel_delta"] == 0.0, c
        if c["ci_low"] is not None:
            assert (c["ci_low"], c["ci_high"]) == (0.0, 0.0), c
            assert (c["rel_ci_low"], c["rel_ci_high"]) == (0.0, 0.0), c


def test_self_comparison_of_two_separate_tokenizations_is_exactly_zero(udhr_small):
    """Not the shortcut for one shared tokenization: two copies go through the full bootstrap."""
    tc = _tc("gpt2", udhr_small)
    pair = CorpusPair("udhr", tc, copy.deepcopy(tc), texts=udhr_small.text)
    res = compare([pair], resamples=200, full_ci=True)
    assert res.cells
    for c in res.cells:
        if math.isnan(c.baseline):
            continue
        assert c.delta == 0.0 and c.rel_delta == 0.0
        assert (c.ci_low, c.ci_high) == (0.0, 0.0), c.key
        assert (c.rel_ci_low, c.rel_ci_high) == (0.0, 0.0), c.key


# ----------------------------------------------------------------------------- (2) byt5 vs gpt2


def test_byt5_candidate_fails_fertility_with_report(gate_suite, tmp_path, monkeypatch, capsys):
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    rc = main(["check", "gpt2", "byt5", "--suite", str(gate_suite), "--limit-docs", "5", "-q"])
    assert rc == EXIT_FAILED
    md = capsys.readouterr().out
    assert md.startswith("## tokbench check: ❌ FAIL")
    # failures first, naming the metric, the rule and the worst languages
    fail_at = md.index("### Failures")
    assert fail_at < md.index("### Thresholds") < md.index("### All metrics")
    assert "#### ❌ fertility/in_context: relative increase ≤ 2.0%" in md
    fert = md[md.index("#### ❌ fertility/in_context"):]
    rows = [line for line in fert.splitlines() if line.startswith("| udhr:")]
    assert rows[0].startswith("| udhr:en ")  # English regresses most (gpt2 is English-centric)
    assert any(r.startswith("| udhr:tr ") for r in rows)
    # example words with both tokenizations as decoded pieces
    assert "Words whose token count grew most in `udhr:en`" in fert
    assert "| `international` | 1 | 1: `␣international` | 13: `i` `n` `t` `e` `r` `n` `a` `t` `i` `o` `n` `a` `l` |" \
        in fert
    assert "bytes_per_token/micro: relative decrease ≤ 2.0%" in md
    # appended to the GitHub step summary too
    assert step.read_text(encoding="utf-8") == "earlier step\n" + md + "\n"


def test_compare_prints_the_table_without_failing(gate_suite, capsys):
    rc = main(["compare", "gpt2", "byt5", "--suite", str(gate_suite), "--limit-docs", "3", "-q"])
    assert rc == EXIT_OK
    md = capsys.readouterr().out
    assert md.startswith("## tokbench compare: `gpt2` → `byt5`\n\n"  # both names, fingerprints, vocabularies
                         "baseline **`gpt2`** (`ba9fd4f731a6`, vocabulary 50,257) → candidate **`byt5`** "
                         "(`906ee0774601`, vocabulary 384) · suite `gate-test` v1 · corpus `udhr`: 2 language(s), "
                         "6 documents (at most 3 per language)\n")
    assert "| fertility/in_context |" in md and "▼ worse" in md and "### Thresholds (informational" in md
    # two languages (at most 3): the pooled rows and both languages', grouped by metric/variant
    assert ("\nScope: `udhr:*` (all languages pooled), `udhr:en`, `udhr:tr`: every language (the corpus has at "
            "most 3). ▲/▼: the CI of Δ excludes 0 and the change is better/worse for the metric's direction.\n\n"
            "| metric/variant | lang | baseline | candidate | Δ | Δ% | 95% CI of Δ | |\n") in md
    assert _rows(md, "fertility/in_context") == [
        "| fertility/in_context | * | 2.330 | 7.261 | +4.931 | +211.6% | [+4.680, +5.036] | ▼ worse |",
        "| fertility/in_context | en | 1.166 | 6.271 | +5.105 | +437.9% | [+4.567, +5.359] | ▼ worse |",
        "| fertility/in_context | tr | 3.799 | 8.510 | +4.711 | +124.0% | [+4.412, +4.821] | ▼ worse |"]
    assert _rows(md, "roundtrip/micro", lang_column=True) == ["*", "en", "tr"]


def _rows(md: str, metric_variant: str, lang_column: bool = False) -> list[str]:
    """The rows of one metric/variant in the "All metrics" table (or their lang column)."""
    rows = [line for line in md.splitlines() if line.startswith(f"| {metric_variant} | ")]
    return [r.split(" | ")[1] for r in rows] if lang_column else rows


# ----------------------------------------------------------------------------- (3) bootstrap == plain loop


def test_bootstrap_ci_matches_a_plain_loop(gpt2_byt5):
    """Resample the same index sets with the same generator and recompute every metric directly."""
    R, seed = 60, 7
    res = compare([gpt2_byt5], resamples=R, seed=seed, full_ci=True)
    b, c = gpt2_byt5.baseline, gpt2_byt5.candidate
    segs = b.meta["segmenters"]

    idx = {}
    rng = np.random.default_rng(seed)
    for lang in ["en", "tr"]:  # order of first appearance
        docs = np.flatnonzero(b.lang == lang)
        idx[lang] = docs[rng.integers(0, len(docs), size=(R, len(docs)))]
    np.testing.assert_array_equal(np.concatenate([idx["en"], idx["tr"]], axis=1),
                                  np.concatenate(list(resample_indices(b.lang, R, seed).values()), axis=1))
    W = resample_weights(b.lang, R, seed)
    assert W.sum(axis=1).tolist() == [b.n_docs] * R

    checked = 0
    for name in ["fertility", "pcw", "bytes_per_token", "chars_per_token", "roundtrip", "superword_share",
                 "vocab_utilization", "renyi_efficiency"]:
        metric = METRICS[name]
        for lang in ["en", "tr", ALL_LANGS]:
            params = {"segmenter": segs.get(lang, "per-language")} if lang != ALL_LANGS else {"segmenter": "per-language"}
            deltas: dict[str, list[float]] = {}
            for r in range(R):
                sel = np.concatenate([idx["en"][r], idx["tr"][r]]) if lang == ALL_LANGS else idx[lang][r]
                vb = metric.compute(MetricInput(b.select(sel), params))
                vc = metric.compute(MetricInput(c.select(sel), params))
                for variant in vb:
                    deltas.setdefault(variant, []).append(vc[variant].value - vb[variant].value)
            for variant, d in deltas.items():
                lo, hi = np.percentile(np.asarray(d)[~np.isnan(d)], [2.5, 97.5])
                cell = res.cell(name, variant, "udhr", lang)
                if variant.endswith("macro"):  # float sums in another order
                    assert cell.ci_low == pytest.approx(lo, rel=1e-12, abs=1e-15)
                    assert cell.ci_high == pytest.approx(hi, rel=1e-12, abs=1e-15)
                else:  # sums of integers: identical
                    assert (cell.ci_low, cell.ci_high) == (lo, hi), (name, variant, lang)
                checked += 1
    assert checked >= 40


def test_bootstrap_is_seeded_and_reproducible(gpt2_byt5):
    a = compare([gpt2_byt5], metrics=["fertility"], resamples=100, seed=3)
    b = compare([gpt2_byt5], metrics=["fertility"], resamples=100, seed=3)
    c = compare([gpt2_byt5], metrics=["fertility"], resamples=100, seed=4)
    key = ("fertility", "in_context", "udhr", "en")
    assert [x.ci_low for x in a.cells] == [x.ci_low for x in b.cells]
    assert next(x for x in a.cells if x.key == key).ci_low != next(x for x in c.cells if x.key == key).ci_low


def test_vocabulary_metrics_have_no_ci_unless_asked(gpt2_byt5):
    res = compare([gpt2_byt5], metrics=["vocab_utilization", "fertility"], resamples=20)
    util = res.cell("vocab_utilization", "micro", "udhr", "en")
    assert math.isnan(util.ci_low) and "no CI" in util.note
    assert not math.isnan(res.cell("fertility", "in_context", "udhr", "en").ci_low)
    thr = {"vocab_utilization": [Threshold(max_absolute_decrease=0.5)]}
    res = compare([gpt2_byt5], metrics=["vocab_utilization"], resamples=20, thresholds=thr)
    assert not math.isnan(res.cell("vocab_utilization", "micro", "udhr", "en").ci_low)


# ----------------------------------------------------------------------------- (4) threshold semantics


def _cell(**kw) -> Cell:
    base = dict(corpus="c", lang="en", metric="fertility", variant="in_context", baseline=2.0, candidate=2.1,
                delta=0.1, rel_delta=0.05)
    base.update(kw)
    return Cell(**base)


@pytest.mark.parametrize("rule,limit,ci,status", [
    # relative increase: the CI of Δ% wholly above the limit fails; straddling passes
    ("max_relative_increase", 0.02, dict(rel_ci_low=0.03, rel_ci_high=0.07), "fail"),
    ("max_relative_increase", 0.02, dict(rel_ci_low=0.01, rel_ci_high=0.07), "pass"),
    ("max_relative_increase", 0.02, dict(rel_ci_low=0.02, rel_ci_high=0.07), "pass"),  # touching is not beyond
    ("max_relative_decrease", 0.02, dict(rel_ci_low=-0.09, rel_ci_high=-0.03), "fail"),
    ("max_relative_decrease", 0.02, dict(rel_ci_low=-0.09, rel_ci_high=0.01), "pass"),
    ("max_absolute_increase", 0.05, dict(ci_low=0.06, ci_high=0.2), "fail"),
    ("max_absolute_increase", 0.05, dict(ci_low=-0.01, ci_high=0.2), "pass"),
    ("max_absolute_decrease", 0.0, dict(ci_low=-0.2, ci_high=-0.01), "fail"),
    ("max_absolute_decrease", 0.0, dict(ci_low=-0.2, ci_high=0.0), "pass"),
    # min/max value: the candidate's own CI
    ("min_value", 1.0, dict(cand_ci_low=0.9, cand_ci_high=0.99), "fail"),
    ("min_value", 1.0, dict(cand_ci_low=0.9, cand_ci_high=1.0), "pass"),
    ("max_value", 2.0, dict(cand_ci_low=2.01, cand_ci_high=2.3), "fail"),
    ("max_value", 2.0, dict(cand_ci_low=1.9, cand_ci_high=2.3), "pass"),
])
def test_threshold_fails_only_when_the_whole_ci_is_beyond(rule, limit, ci, status):
    chk = judge(_cell(**ci), rule, limit)
    assert chk.status == status
    assert (chk.excess > 0) == (status == "fail")


def test_threshold_point_estimate_and_undefined():
    cell = _cell(metric="roundtrip", variant="micro", baseline=1.0, candidate=30 / 31, delta=30 / 31 - 1,
                 rel_delta=-1 / 31, ci_low=-0.1, ci_high=0.0)
    assert judge(cell, "max_absolute_decrease", 0.0).status == "pass"  # the CI still includes 0
    assert judge(cell, "max_absolute_decrease", 0.0, use_ci=False).status == "fail"
    assert judge(_cell(), "max_relative_increase", 0.02).status == "n/a"  # no CI computed


def test_thresholds_variant_and_langs_filters():
    cells = [_cell(lang=l, variant=v, rel_ci_low=0.5, rel_ci_high=0.6)
             for l in ("en", "tr", ALL_LANGS) for v in ("in_context", "isolated")]
    default = evaluate_thresholds(cells, {"fertility": [Threshold(max_relative_increase=0.02)]})
    assert {(c.variant, c.lang) for c in default} == {("in_context", l) for l in ("en", "tr", ALL_LANGS)}
    assert all(c.status == "fail" for c in default)
    every = evaluate_thresholds(cells, {"fertility": [Threshold(variant="*", langs=["tr"],
                                                                max_relative_increase=0.02)]})
    assert {(c.variant, c.lang) for c in every} == {("in_context", "tr"), ("isolated", "tr")}


def test_suite_threshold_tables_and_arrays(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(GATE_SUITE + '\n[[thresholds.pcw]]\nmax_absolute_increase = 0.1\n'
                    '[[thresholds.pcw]]\nvariant = "unsplit"\nmin_value = 0.05\n', encoding="utf-8")
    s = load_suite(path)
    assert [t.rules() for t in s.thresholds["pcw"]] == [{"max_absolute_increase": 0.1}, {"min_value": 0.05}]
    assert s.thresholds["roundtrip"][0].use_ci is False
    core = load_suite("core-v1")
    assert core.thresholds["fertility"][0].rules() == {"max_relative_increase": 0.02}
    assert core.thresholds["bytes_per_token"][0].rules() == {"max_relative_decrease": 0.02}
    assert core.thresholds["roundtrip"][0].rules() == {"max_absolute_decrease": 0.0}


# ----------------------------------------------------------------------------- (5) exit 2


def test_unknown_tokenizer_exits_2(gate_suite, capsys):
    rc = main(["check", "gpt-7", "gpt2", "--suite", str(gate_suite), "--limit-docs", "1", "-q"])
    assert rc == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "unknown tokenizer 'gpt-7'" in err and "gpt2" in err
    assert main(["compare", "gpt2", "no-such-tok", "--suite", str(gate_suite), "-q"]) == EXIT_BAD_INPUT


@pytest.mark.parametrize("argv", [
    ["check", "gpt2", "gpt2", "--corpus", "x.txt"],  # --corpus without --lang
    ["check", "gpt2", "gpt2", "--corpus", "/no/such/file.txt", "--lang", "en"],
    ["check", "gpt2", "gpt2", "--suite", "no-such-suite"],
    ["check", "gpt2", "gpt2", "--resamples", "0"],
    ["check", "run:ffffffffffff", "gpt2"],
])
def test_bad_input_exits_2(argv, tmp_path):
    assert main(argv + ["-q", "--results-dir", str(tmp_path / "none")]) == EXIT_BAD_INPUT


def test_adhoc_corpus_file(tiny_corpus, tmp_path):
    out = tmp_path / "s.md"
    rc = main(["check", "gpt2", "gpt2", "--corpus", str(tiny_corpus), "--lang", "en", "-q", "--summary", str(out)])
    assert rc == EXIT_OK
    md = out.read_text(encoding="utf-8")
    assert "corpus `tiny`: 1 language(s), 3 documents" in md and "`tiny:en`" in md


def test_stored_run_as_baseline(gate_suite, tmp_path, capsys):
    results = tmp_path / "results"
    suite = tmp_path / "run.toml"
    suite.write_text(GATE_SUITE.replace('tokenizers = ["gpt2"]', 'tokenizers = ["gpt2", "byt5"]')
                     .replace('reference_tokenizer = "gpt2"', 'metrics = ["fertility", "bytes_per_token", "roundtrip"]'),
                     encoding="utf-8")
    assert main(["run", str(suite), "--results-dir", str(results), "--limit-docs", "2", "-q", "--no-report"]) == 0
    from tokbench.store import load_results

    run_id = load_results(results)["run_id"].iloc[0]
    capsys.readouterr()
    # a run of two tokenizers needs run:<id>:<tokenizer>
    assert main(["check", f"run:{run_id}", "gpt2", "--suite", str(suite), "--results-dir", str(results),
                 "--limit-docs", "2", "-q"]) == EXIT_BAD_INPUT
    assert f"run:{run_id}:<tokenizer>" in capsys.readouterr().err
    rc = main(["check", f"run:{run_id[:8]}:gpt2", "gpt2", "--suite", str(suite), "--results-dir", str(results),
               "--limit-docs", "2", "-q"])
    assert rc == EXIT_OK
    assert f"gpt2 (run {run_id})" in capsys.readouterr().out


# ----------------------------------------------------------------------------- (6) validation


def _suite_with(tmp_path, extra: str, metrics: str = "") -> Path:
    metrics = metrics or 'metrics = ["fertility", "bytes_per_token", "roundtrip"]\n'
    path = tmp_path / "bad.toml"
    path.write_text('[suite]\nname = "bad"\ntokenizers = ["gpt2"]\n' + metrics +
                    '[corpora.udhr]\nsource = "udhr"\nlangs = ["en"]\n' + extra, encoding="utf-8")
    return path


def test_threshold_on_unknown_metric_fails_validation(tmp_path, capsys):
    path = _suite_with(tmp_path, "[thresholds.no_such_metric]\nmax_absolute_increase = 0.05\n")
    with pytest.raises(SuiteError, match=r"\[thresholds\.no_such_metric\]: unknown metric 'no_such_metric'"):
        load_suite(path)
    assert main(["validate", str(path)]) == EXIT_BAD_INPUT
    assert "[thresholds.no_such_metric]: unknown metric 'no_such_metric'" in capsys.readouterr().err
    assert main(["check", "gpt2", "gpt2", "--suite", str(path), "-q"]) == EXIT_BAD_INPUT


@pytest.mark.parametrize("extra,metrics,message", [
    ("[thresholds.fertilty]\nmax_relative_increase = 0.1\n", "", "did you mean 'fertility'"),
    ("[thresholds.fertility]\nvariant = \"micro\"\nmax_relative_increase = 0.1\n", "",
     "`fertility` has the variants in_context, in_context_macro, isolated"),
    ("[thresholds.fertility]\nmax_relative_increse = 0.1\n", "", "Extra inputs are not permitted"),
    ("[thresholds.fertility]\nvariant = \"in_context\"\n", "", "needs at least one of"),
    ("[thresholds.fertility]\nmax_relative_increase = -0.1\n", "", "must be >= 0"),
    ("[thresholds.roundtrip]\nmin_value = 1.0\n", 'metrics = ["fertility"]\n', "does not compute"),
])
def test_threshold_validation_errors(tmp_path, extra, metrics, message):
    with pytest.raises(SuiteError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_suite(_suite_with(tmp_path, extra, metrics))


def test_relative_delta_and_percentile_edge_cases():
    from tokbench.gate.bootstrap import _ci
    from tokbench.gate.results import relative as _relative

    assert _relative(np.array([0.0, 1.0, 0.0, 3.0]), np.array([0.0, 0.0, 2.0, 2.0])).tolist() == \
        [0.0, math.inf, -1.0, 0.5]
    x = np.array([1.0, 2.0, 3.0, np.nan])
    assert _ci(x) == (*np.percentile([1.0, 2.0, 3.0], [2.5, 97.5]).tolist(), 1)
    assert _ci(np.array([0.5] * 10 + [math.inf] * 90)) == (0.5, math.inf, 0)
    assert _ci(np.array([0.5] * 3 + [math.inf] * 97)) == (math.inf, math.inf, 0)  # next to an infinity: it
    lo, hi, _ = _ci(np.array([0.5] * 90 + [math.inf] * 10))
    assert lo == 0.5 and hi == math.inf
    assert all(math.isnan(v) for v in _ci(np.array([np.nan, np.nan]))[:2])


# ----------------------------------------------------------------------------- (7) what the summary shows

# four languages (more than 3): by default only the pooled rows and the languages that fail
FOUR_LANG_SUITE = ('[suite]\nname = "gate-four"\ntokenizers = ["gpt2"]\nmetrics = ["fertility", "roundtrip"]\n'
                   '[corpora.udhr]\nsource = "udhr"\nlangs = ["en", "tr", "fr", "fi"]\n'
                   '[thresholds.fertility]\nmax_relative_increase = 0.02\nlangs = ["tr", "*"]\n')
MORE = "`--lang-focus CODE` or `--all-langs` shows others"
DIRECTION = " ▲/▼: the CI of Δ excludes 0 and the change is better/worse for the metric's direction."


def _check4(tmp_path, capsys, *extra: str, pair=("gpt2", "byt5")) -> tuple[int, str, dict]:
    suite, out = tmp_path / "four.toml", tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
    suite.write_text(FOUR_LANG_SUITE, encoding="utf-8")
    rc = main(["check", *pair, "--suite", str(suite), "--limit-docs", "2", "--examples", "0", "-q",
               "--json", str(out), *extra])
    return rc, capsys.readouterr().out, json.loads(out.read_text())


def test_which_languages_the_summary_shows(tmp_path, capsys):
    rc, md, plain = _check4(tmp_path, capsys)  # more than 3 languages: the failing ones
    assert ("Scope: `udhr:*` (all languages pooled), `udhr:tr`: the pooled scope and the languages that fail a "
            f"threshold (1 of 4; {MORE})." + DIRECTION) in md.splitlines()
    assert _rows(md, "fertility/in_context") == [
        "| fertility/in_context | * | 2.563 | 7.407 | +4.844 | +189.0% | [+4.607, +4.994] | ▼ worse |",
        "| fertility/in_context | tr | 3.839 | 8.633 | +4.794 | +124.9% | [+4.476, +4.821] | ▼ worse |"]
    assert rc == EXIT_FAILED and _rows(md, "roundtrip/micro", lang_column=True) == ["*", "tr"]
    assert {c["lang"] for c in plain["cells"]} == {"en", "tr", "fr", "fi", ALL_LANGS}  # all still computed

    rc, md, focus = _check4(tmp_path, capsys, "--lang-focus", "fi", "--lang-focus", "en")
    assert ("Scope: `udhr:*` (all languages pooled), `udhr:fi`, `udhr:en`: the pooled scope and the languages of "
            "`--lang-focus` (2 of 4)." + DIRECTION) in md.splitlines()
    assert rc == EXIT_FAILED and _rows(md, "fertility/in_context", lang_column=True) == ["*", "fi", "en"]  # as given
    assert "\n| udhr:tr | 3.839 | 8.633 |" in md  # tr is not asked for, but is still a failure row

    rc, md, every = _check4(tmp_path, capsys, "--all-langs")
    assert ("Scope: `udhr:*` (all languages pooled), `udhr:en`, `udhr:tr`, `udhr:fr`, `udhr:fi`: every language "
            "(`--all-langs`)." + DIRECTION) in md.splitlines()
    assert rc == EXIT_FAILED and _rows(md, "roundtrip/micro", lang_column=True) == ["*", "en", "tr", "fr", "fi"]
    assert plain["checks"] == focus["checks"] == every["checks"]  # display only: same values and verdicts
    assert plain["cells"] == focus["cells"] == every["cells"]
    assert [c["lang"] for c in plain["checks"] if c["status"] == "fail"] == ["tr", ALL_LANGS]

    rc, md, _ = _check4(tmp_path, capsys, pair=("byt5", "gpt2"))  # nothing fails: the pooled rows only
    assert rc == EXIT_OK and (f"Scope: `udhr:*` (all languages pooled) only: no language of the 4 fails a "
                              f"threshold ({MORE})." + DIRECTION) in md.splitlines()
    assert _rows(md, "fertility/in_context") == [
        "| fertility/in_context | * | 7.407 | 2.563 | −4.844 | −65.4% | [−4.994, −4.607] | ▲ better |"]


def test_lang_focus_and_name_errors_exit_2(gate_suite, capsys):
    base = ["check", "gpt2", "byt5", "--suite", str(gate_suite), "--limit-docs", "1", "-q"]
    assert main(base + ["--lang-focus", "de"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "tokbench: error: --lang-focus de: no corpus has this language (udhr: en, tr)\n"
    assert main(base + ["--lang-focus", "english"]) == EXIT_BAD_INPUT
    assert "--lang-focus: 'english' is not a BCP 47 language tag" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # one or the other
        main(base + ["--lang-focus", "en", "--all-langs"])
    assert exc.value.code == EXIT_BAD_INPUT and "not allowed with argument" in capsys.readouterr().err
    assert main(base + ["--name-candidate", " "]) == EXIT_BAD_INPUT


def test_tokenizer_names_and_vocabulary_sizes(tiny_corpus, tmp_path, capsys, monkeypatch):
    import tokbench.registry as registry
    from tokbench.assets import fetch

    bpe = tmp_path / "builds" / "my-bpe" / "tokenizer.json"  # a tokenizer given as a path (BERT's)
    bpe.parent.mkdir(parents=True), bpe.write_bytes(fetch(resolve("bert-base-uncased").files["tokenizer"]).read_bytes())
    builds: list[str] = []
    monkeypatch.setattr(registry, "get_tokenizer",
                        lambda spec, real=registry.get_tokenizer: builds.append(spec.name) or real(spec))
    out, h = tmp_path / "r.json", resolve(str(bpe)).fingerprint()[:12]
    head = (f"baseline **`gpt2`** (`ba9fd4f731a6`, vocabulary 50,257) → candidate **`my-bpe/tokenizer.json`** "
            f"(`{h}`, vocabulary 30,522) · suite `core-v1`")
    argv = ["compare", "gpt2", str(bpe), "--corpus", str(tiny_corpus), "--lang", "en", "-q"]
    assert main(argv + ["--no-cache", "--json", str(out)]) == EXIT_OK
    md = capsys.readouterr().out
    assert md.startswith("## tokbench compare: `gpt2` → `my-bpe/tokenizer.json`\n\n" + head)
    assert ("Scope: `tiny:en`: every language (the corpus has at most 3)." + DIRECTION) in md.splitlines()
    assert str(tmp_path) not in md  # the summary never shows the full path; the JSON keeps it
    data = json.loads(out.read_text())
    assert (data["baseline"], data["candidate"]) == ("gpt2", str(bpe))
    assert [data["meta"][f"{side}_{k}"] for k in ("name", "path", "vocab_size") for side in ("baseline", "candidate")] \
        == ["gpt2", "my-bpe/tokenizer.json", None, str(bpe.resolve()), 50257, 30522]
    # each tokenizer built once (tokenizing, then the example pieces); none again for the header
    assert builds.count("gpt2") == 1 and builds.count(str(bpe)) == 1 and len(set(builds)) == len(builds)
    argv += ["--examples", "0"]
    assert main(argv) == EXIT_OK  # fills the tokenization cache
    builds.clear(), capsys.readouterr()  # cached: no tokenizer built, the sizes still shown
    assert main(argv) == EXIT_OK and builds == []
    assert capsys.readouterr().out.splitlines()[2].startswith(head)

    assert main(argv + ["--name-baseline", "released", "--name-candidate", "my-bpe v2", "--json", str(out)]) == EXIT_OK
    assert capsys.readouterr().out.startswith("## tokbench compare: `released` → `my-bpe v2`\n\nbaseline "
                                              f"**`released`** (`ba9fd4f731a6`, vocabulary 50,257) → candidate "
                                              f"**`my-bpe v2`** (`{h}`, vocabulary 30,522) · suite")
    data = json.loads(out.read_text())
    assert (data["baseline"], data["candidate"]) == ("gpt2", str(bpe))  # the JSON: as typed
    assert (data["meta"]["baseline_name"], data["meta"]["candidate_name"]) == ("released", "my-bpe v2")
    other = tmp_path / "old" / "my-bpe" / "tokenizer.json"  # parent/file read the same: more of the paths
    other.parent.mkdir(parents=True), other.write_bytes(bpe.read_bytes())
    assert main(["compare", str(other), str(bpe)] + argv[3:]) == EXIT_OK
    assert capsys.readouterr().out.startswith(
        "## tokbench compare: `old/my-bpe/tokenizer.json` → `builds/my-bpe/tokenizer.json`\n")
