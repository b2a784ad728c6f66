"""The executor: the one place that ties suites, suite kinds, the store and the report together.

For every kind it owns: checking the results directory before any work, the resume keys
(a unit whose rows the store already holds is skipped), failure isolation (a unit that
raises is reported and the others run; exit 1), provenance columns, atomic part writes
(one part per unit, as soon as it is done, so an interrupt loses nothing that finished),
progress bars and the leaderboard re-render.

>>> from tokbench.executor import run
>>> # run("core-v1", options=RunOptions(results_dir=Path("out")))   # -> RunSummary
"""
from __future__ import annotations

from .errors import BadInput

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import __version__
from .kinds import RunOptions, SuiteKind, Unit, UnitContext, load_any
from .schema import SCHEMA_VERSION, finite
from .store import load_results, new_run_id, now_utc, write_corpus_facts, write_part


@dataclass
class RunSummary:
    run_id: str
    results_dir: Path
    suite: str = ""
    kind: str = ""
    parts: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # units already stored ("tokenizer 'gpt2' on corpus 'udhr'")
    failed: list[tuple[str, str]] = field(default_factory=list)  # ("tokenizer 'x' failed on corpus 'udhr'", error)
    incomplete: list[tuple[str, str]] = field(default_factory=list)  # (unit, reason): values that could not be computed
    rows: int = 0
    units: int = 0
    leaderboard: dict | None = None
    lines: list[str] = field(default_factory=list)  # the kind's closing summary

    @property
    def ok(self) -> bool:
        return not self.failed and not self.incomplete


class ResultsDirError(BadInput, ValueError):
    """The results directory cannot hold a store (a file, or not writable)."""


def check_results_dir(results_dir: Path) -> None:
    """Fail before any work when results can't be written there."""
    p = Path(results_dir)
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ResultsDirError(f"--results-dir {p}: {probe} is a file, not a directory")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise ResultsDirError(f"--results-dir {p}: {probe} is not writable")


class _StoredKeys:
    """Resume-key lookups against the store: column set -> set of value tuples (as strings)."""

    def __init__(self, df) -> None:
        self.df = df
        self._sets: dict[tuple[str, ...], set[tuple[str, ...]]] = {}

    def has(self, key: Mapping[str, Any]) -> bool:
        if self.df is None or self.df.empty:
            return False
        cols = tuple(sorted(key))
        if any(c not in self.df.columns for c in cols):
            return False
        if cols not in self._sets:
            sub = self.df[list(cols)].dropna().astype(str).drop_duplicates()
            self._sets[cols] = set(map(tuple, sub.itertuples(index=False)))
        return tuple(str(key[c]) for c in cols) in self._sets[cols]

    def done(self, unit: Unit) -> bool:
        return bool(unit.done_when) and all(self.has(k) for k in unit.done_when)


def stamp(rows: list[dict], *, unit: Unit, run_id: str, suite: str, suite_version: str, created) -> list[dict]:
    """Provenance columns of every row (a row's own value wins over the unit's)."""
    base = {"tokenizer": None, "tokenizer_hash": None, "model": None, "corpus": None, "corpus_hash": None,
            "config_hash": None, "ci_low": None, "ci_high": None, "note": None, **unit.provenance}
    out = []
    for r in rows:
        row = {**base, **r}
        if row.pop("incomplete", None):
            row["config_hash"] = None  # not a finished result: no resume key, a rerun computes it
        row.update(run_id=run_id, suite=suite, suite_version=suite_version, tokbench_version=__version__,
                   schema_version=SCHEMA_VERSION, created_at=created, value=finite(row.get("value")))
        out.append(row)
    return out


def execute(kind: SuiteKind, suite: Any, options: RunOptions | None = None) -> RunSummary:
    """Plan ``suite`` with ``kind``, skip what the store holds, execute the rest, write parts."""
    from tqdm.auto import tqdm

    options = options or RunOptions()
    results_dir = Path(options.results_dir)
    check_results_dir(results_dir)
    missing = [m for m in kind.extras if _missing(m)]
    if missing:
        from .suites import SuiteError

        raise SuiteError(f"a {kind.name} suite needs {', '.join(missing)}: {kind.install_hint or 'pip install them'}")
    name, version = kind.identity(suite)
    summary = RunSummary(run_id=new_run_id(), results_dir=results_dir, suite=name, kind=kind.name)
    options.store = None if options.force else load_results(results_dir, all_rows=True)
    units = kind.plan(suite, options)  # loads and checks every input before anything is written
    summary.units = len(units)
    stored = _StoredKeys(options.store)
    todo = []
    for u in units:
        if stored.done(u):
            summary.skipped.append(str(u))
        else:
            todo.append(u)
    ctx = UnitContext(options=options, load_store=lambda: load_results(results_dir, all_rows=True))
    for u in units:  # the corpora's text provenance, also of units already stored
        if u.corpus_facts is not None:
            ctx.facts.setdefault(u.corpus_facts[0], u.corpus_facts[1:])
    stored_facts: set[str] = set()
    _store_facts(results_dir, ctx.facts, stored_facts)
    bar = tqdm(total=sum(u.size for u in todo), desc=name, unit=kind.progress_unit, disable=not options.progress or not todo,
               file=sys.stderr, unit_scale=kind.progress_unit == "B", unit_divisor=1024)
    ctx.advance = bar.update
    ctx.postfix = bar.set_postfix_str
    seq = 0
    try:
        for u in todo:
            bar.set_postfix_str(u.label[:40])
            try:
                rows = kind.execute(suite, u, ctx)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # a failing unit is reported; the others still run
                summary.failed.append((u.failure(), f"{type(e).__name__}: {e}"))
                continue
            if not rows:
                continue
            for reason in dict.fromkeys(r["incomplete"] for r in rows if r.get("incomplete")):
                summary.incomplete.append((str(u), reason))
            seq += 1
            summary.parts.append(write_part(stamp(rows, unit=u, run_id=summary.run_id, suite=name,
                                                  suite_version=version, created=now_utc()),
                                            results_dir, run_id=summary.run_id, seq=seq))
            summary.rows += len(rows)
            _store_facts(results_dir, ctx.facts, stored_facts)
    finally:
        bar.close()
    summary.lines = kind.finish(suite, ctx)
    summary.failed.extend(ctx.failures)
    board = results_dir / "leaderboard" / "leaderboard.md"
    if options.render and (summary.parts or not board.exists()):  # nothing new: the leaderboard stands
        from .report import render_leaderboard
        from .suites import DEFAULT_SUITE

        summary.leaderboard = render_leaderboard(results_dir, lead=[DEFAULT_SUITE])
    return summary


def _store_facts(results_dir: Path, facts: dict[str, tuple[str, Any]], done: set[str]) -> None:
    """Store each corpus's text facts once (``store.write_corpus_facts``; ``done``: stored by this run)."""
    for chash, (corpus, f) in facts.items():
        if chash not in done:
            write_corpus_facts(results_dir, chash, corpus, f)
            done.add(chash)


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def run(name_or_path: str | Path | None = None, *, options: RunOptions | None = None) -> RunSummary:
    """Run a suite of any kind (default: the default suite) into ``options.results_dir``."""
    kind, suite = load_any(name_or_path)
    return execute(kind, suite, options)


def run_suite(suite: Any, *, results_dir: str | Path = "results", use_cache: bool = True, force: bool = False,
              progress: bool = True, render: bool = True, limit_docs: int | None = None) -> RunSummary:
    """Run a tokenizer suite object (``tokbench.suites.Suite``); the public API's entry point."""
    from .kinds import get_kind

    return execute(get_kind("tokenizer"), suite, RunOptions(results_dir=Path(results_dir), use_cache=use_cache,
                                                            force=force, progress=progress, render=render,
                                                            limit_docs=limit_docs))
