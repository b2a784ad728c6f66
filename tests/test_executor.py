"""The executor and the suite kinds: a store written before the executor existed still resumes,
every kind goes through one executor (failure isolation, provenance, one part per unit), and
``tokbench reproduce`` compares a fresh run with stored rows."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tokbench.executor import _StoredKeys, execute, stamp
from tokbench.kinds import SUITE_KINDS, RunOptions, SuiteKind, Unit, UnitContext, load_any
from tokbench.reproduce import compare_rows
from tokbench.store import load_results
from tokbench.suites import suites_dir

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "results"


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    return load_results(COMMITTED)


def _stored_library_versions(df: pd.DataFrame, suite: str) -> dict:
    """The lm-eval / transformers / torch versions the stored perplexity rows were scored with."""
    p = json.loads(df[(df["suite"] == suite) & (df["metric"] == "bits_per_byte")]["params"].iloc[0])
    return {k: p[k] for k in ("lm_eval", "transformers", "torch")}


@pytest.mark.parametrize("suite", sorted(p.stem for p in suites_dir().glob("*.toml")))
def test_the_committed_store_resumes_every_suite(suite, committed, monkeypatch):
    """Every unit of every suite in suites/ is already in the committed results/, which were
    written by the run loops this executor replaced: the resume keys are unchanged, so a
    rerun recomputes nothing. (Perplexity keys include the library versions the rows were
    scored with; they are taken from the stored rows, since the installed ones may be newer.)"""
    kind, s = load_any(suite)
    if kind.name == "perplexity":
        import tokbench.kinds.perplexity as ppl

        monkeypatch.setattr(ppl, "library_versions", lambda: _stored_library_versions(committed, suite))
    units = kind.plan(s, RunOptions(results_dir=COMMITTED, progress=False))
    assert units
    keys = _StoredKeys(committed)
    assert [str(u) for u in units if not keys.done(u)] == []
    # and a key that differs in one column is not done
    u = units[0]
    changed = [{**k, "config_hash": "0" * 16} for k in u.done_when]
    assert not keys.done(Unit(label="x", done_when=changed, provenance={}))


def test_no_rows_are_recomputed_on_the_committed_store(tmp_path):
    """End to end: `tokbench run core-v1` against a copy of the committed store writes nothing."""
    import shutil

    from tokbench.cli import main

    store = tmp_path / "results"
    shutil.copytree(COMMITTED / "parts", store / "parts")
    before = sorted(p.name for p in (store / "parts").iterdir())
    assert main(["run", "core-v1", "--results-dir", str(store), "-q", "--no-report"]) == 0
    assert sorted(p.name for p in (store / "parts").iterdir()) == before


class _Counting(SuiteKind):
    """A tiny kind: each unit yields one row; unit "boom" raises."""

    name = "counting"
    metrics = ("count",)

    def load(self, path, raw):
        return raw

    def identity(self, suite):
        return suite["suite"]["name"], "7"

    def plan(self, suite, options):
        return [Unit(label=f"unit {n!r}", scope="on nothing", size=1, payload=n,
                     done_when=[{"suite": suite["suite"]["name"], "tokenizer": n, "metric": "count"}],
                     provenance={"tokenizer": n, "corpus": "none", "corpus_hash": "h"})
                for n in suite["units"]]

    def execute(self, suite, unit, ctx):
        if unit.payload == "boom":
            raise RuntimeError("deliberate")
        ctx.advance(1)
        return [{"lang": "xx", "metric": "count", "variant": "n", "value": float(len(unit.payload)), "n": 1,
                 "params": "{}", "metric_version": 1}]


def test_one_executor_isolates_failures_stamps_provenance_and_resumes(tmp_path):
    kind = _Counting()
    suite = {"suite": {"name": "cnt"}, "units": ["ab", "boom", "abcd"]}
    opts = RunOptions(results_dir=tmp_path, progress=False, render=False)
    first = execute(kind, suite, opts)
    assert first.failed == [("unit 'boom' failed on nothing", "RuntimeError: deliberate")]
    assert len(first.parts) == 2 and first.rows == 2  # one part per finished unit
    df = load_results(tmp_path)
    assert sorted(df["value"]) == [2.0, 4.0]
    assert set(df["suite"]) == {"cnt"} and set(df["suite_version"]) == {"7"} and set(df["run_id"]) == {first.run_id}
    assert df["tokbench_version"].notna().all() and df["created_at"].notna().all() and df["model"].isna().all()
    again = execute(kind, suite, opts)
    assert again.skipped == ["unit 'ab' on nothing", "unit 'abcd' on nothing"] and not again.parts
    assert len(again.failed) == 1  # the failing unit is retried, and fails again
    forced = execute(kind, suite, RunOptions(results_dir=tmp_path, progress=False, render=False, force=True))
    assert len(forced.parts) == 2


def test_stamp_lets_a_row_override_the_unit():
    u = Unit(label="u", done_when=[], provenance={"tokenizer": "t", "config_hash": "unit"})
    rows = stamp([{"value": float("inf"), "config_hash": "row"}], unit=u, run_id="r", suite="s", suite_version="1",
                 created=None)
    assert rows[0]["config_hash"] == "row" and rows[0]["tokenizer"] == "t"
    assert rows[0]["value"] != rows[0]["value"]  # a non-finite value is stored as NaN


def test_results_dir_that_is_a_file_is_bad_input(tmp_path, capsys):
    from tokbench.cli import main

    f = tmp_path / "file"
    f.write_text("x")
    assert main(["run", "core-v1", "--results-dir", str(f), "-q"]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_built_in_kinds_and_their_metrics_are_registered():
    from tokbench.metrics import METRICS, MODEL_METRICS

    assert SUITE_KINDS.names()[:3] == ["tokenizer", "perplexity", "charlevel"]
    for name in SUITE_KINDS.names():
        kind = SUITE_KINDS.get(name)
        assert isinstance(kind, SuiteKind) and kind.name == name
        for m in kind.metrics:
            assert m in METRICS or m in MODEL_METRICS, (name, m)


def test_compare_rows_finds_differences():
    base = {"suite": "s", "tokenizer": "t", "model": None, "corpus": "c", "lang": "en", "metric": "m",
            "variant": "v", "n": 3, "created_at": pd.Timestamp("2026-01-01", tz="UTC")}
    stored = pd.DataFrame([{**base, "value": 1.0}, {**base, "variant": "w", "value": float("nan")}])
    same = compare_rows(stored, stored.copy(), suite="s")
    assert same.ok and same.compared == 2
    fresh = pd.DataFrame([{**base, "value": 1.0 + 1e-6}])
    res = compare_rows(stored, fresh, suite="s")
    assert len(res.differences) == 1 and res.missing == ["s/t/None/c/en/m/w"]
    assert compare_rows(stored, fresh, suite="s", rtol=1e-5, full=False).ok


@pytest.mark.slow
def test_turkish_suite_reproduces_the_committed_rows():
    """turkish-v1 from scratch (zemberek + hunspell-tr lexicons) equals the committed rows."""
    from tokbench.linguistic.hunspell import find_dictionary
    from tokbench.reproduce import reproduce

    if find_dictionary("tr") is None:
        pytest.skip("hunspell-tr is not installed (apt-get install hunspell-tr; .ci/run installs it)")
    res = reproduce("turkish-v1", results_dir=COMMITTED, progress=False)
    assert res.compared > 200 and res.ok, (res.differences[:5], res.missing[:5], res.extra[:5])


def test_library_version_changes_are_named_and_reuse_is_explicit(committed, monkeypatch, capsys):
    """The committed perplexity-v1 scores were made with other library versions than a newer
    install: planning says which versions changed and rescores by default; --reuse-scores
    keeps the stored scores (and the ppl_ratio rows computed from them)."""
    import tokbench.kinds.perplexity as ppl

    stored = _stored_library_versions(committed, "perplexity-v1")
    newer = {**stored, "transformers": stored["transformers"] + ".post99"}
    monkeypatch.setattr(ppl, "library_versions", lambda: newer)
    kind, s = load_any("perplexity-v1")
    keys = _StoredKeys(committed)
    units = kind.plan(s, RunOptions(results_dir=COMMITTED, progress=False, store=committed))
    err = capsys.readouterr().err
    assert not any(keys.done(u) for u in units)
    assert f"transformers {stored['transformers']} -> {newer['transformers']}" in err and "rescoring" in err
    assert "--reuse-scores" in err
    reused = kind.plan(s, RunOptions(results_dir=COMMITTED, progress=False, store=committed, reuse_scores=True))
    assert "reusing the stored scores" in capsys.readouterr().err
    assert [str(u) for u in reused if not keys.done(u)] == []
