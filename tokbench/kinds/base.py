"""What a suite kind is: validate a suite file, plan units of work, execute one unit into rows.

A kind never writes parts, stamps provenance, checks the store or renders: the executor
(:mod:`tokbench.executor`) does that once for every kind. A third-party kind is one module
with a :class:`SuiteKind` subclass registered under the ``tokbench.suite_kinds`` entry-point
group (docs/plugins.md); a suite file selects it with ``[suite] kind = "NAME"``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from pydantic import BaseModel, ConfigDict


class KindMeta(BaseModel):
    """The ``[suite]`` table fields every kind shares (a kind's own meta subclasses it and
    narrows ``kind`` to its name)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    kind: str
    version: str = "1"
    description: str = ""


@dataclass
class Unit:
    """One unit of work (tokenizer x corpus, model x corpus, model x task set, ...): one part file.

    ``label`` and ``scope`` name the unit in messages ("tokenizer 'gpt2' failed on corpus 'udhr'").
    ``done_when``: the unit is already stored when, for every mapping in the list, some stored
    row has all of its column values (the resume key; compared as strings, nulls never match).
    An empty list means "always run". ``provenance``: columns every row of the unit gets unless
    the row sets them itself (tokenizer, tokenizer_hash, model, corpus, corpus_hash,
    config_hash). ``size``: progress-bar steps (documents); ``payload``: the kind's own data.
    """

    label: str  # what runs: "tokenizer 'gpt2'"
    done_when: list[Mapping[str, Any]]
    provenance: dict[str, Any]
    payload: Any = None
    size: int = 1
    scope: str = ""  # on what: "on corpus 'udhr'"
    # (corpus hash, corpus name, textnorm.TextFacts) when known at planning (in-memory corpora):
    # the executor stores them (store.write_corpus_facts), run or skipped
    corpus_facts: tuple[str, str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.label} {self.scope}".strip()

    def failure(self) -> str:
        return f"{self.label} failed {self.scope}".strip()


@dataclass
class RunOptions:
    """How to run (the same for every kind; a kind ignores what does not apply to it)."""

    results_dir: Path = Path("results")
    force: bool = False  # recompute what the store already holds
    use_cache: bool = True  # the tokenization cache
    progress: bool = True
    render: bool = True
    limit_docs: int | None = None  # at most N documents (items) per language
    device: str | None = None  # model kinds: torch device
    models: list[str] | None = None  # model kinds: only these models
    batch_size: int | None = None
    all_docs: bool = False  # ignore the suite's max_docs_per_lang
    export_task: str | None = None  # perplexity: keep the generated lm-eval task here
    reuse_scores: bool = False  # model kinds: reuse stored scores made with other library versions
    executor: str = "auto"  # shard tasks: auto | serial | processes | dask (tokbench.workers)
    workers: int | None = None  # local worker processes / LocalCluster workers (default: all cores)
    scheduler: str | None = None  # a Dask scheduler address (tcp://HOST:PORT)
    shard_bytes: int = 64 << 20  # file corpora: shard size (the unit of parallelism and of resume)
    batch_bytes: int = 1 << 20  # text tokenized at once inside a shard (bounds memory; = sharded.BATCH_BYTES)
    store: Any = None  # set by the executor: the stored rows (None with force), for plan to read
    extra: dict[str, Any] = field(default_factory=dict)  # plug-in kinds' own options


@dataclass
class UnitContext:
    """What the executor gives a kind while it executes a unit."""

    options: RunOptions
    advance: Callable[[int], Any] = lambda n: None  # progress: n more steps of the unit done
    state: dict[str, Any] = field(default_factory=dict)  # per-run scratch space of the kind
    failures: list[tuple[str, str]] = field(default_factory=list)  # extra ("X failed on Y", error) reports
    load_store: Callable[[], Any] | None = None  # the store as it is now (rows written so far)
    postfix: Callable[[str], Any] | None = None  # a short status after the progress bar (rates)
    # corpus hash -> (corpus name, textnorm.TextFacts) learnt while executing (streamed corpora);
    # the executor stores them with the unit's part
    facts: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def log(self, *msg: Any) -> None:
        if self.options.progress:
            print("tokbench:", *msg, file=sys.stderr)


class SuiteKind:
    """Base class of suite kinds (a template: the executor calls these in order).

    ``name``: the ``[suite] kind`` value. ``metrics``: the metric names the kind writes
    (tokenizer-side ones are found in ``tokbench.metrics.METRICS``, model-side ones in
    ``MODEL_METRICS``). ``extras``: Python modules the kind needs (checked before any work;
    ``install_hint`` says how to get them).
    """

    name: str = ""
    unit_noun: str = "unit(s)"  # what a unit is, in the run summary ("(tokenizer, corpus)")
    progress_unit: str = "doc"  # what Unit.size counts ("B": bytes, shown as kB/s, MB/s)
    metrics: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    install_hint: str = ""

    def load(self, path: Path, raw: dict) -> Any:
        """Validate the parsed TOML of a suite file; raise ``tokbench.suites.SuiteError`` naming
        the file, table and field. Returns the kind's suite object."""
        raise NotImplementedError

    def identity(self, suite: Any) -> tuple[str, str]:
        """(suite name, suite version) stamped on every row."""
        return suite.suite.name, suite.suite.version

    def describe(self, suite: Any) -> str:
        """One line for ``tokbench validate`` / ``tokbench ls suites``."""
        return f"{self.name} suite v{self.identity(suite)[1]}"

    def plan(self, suite: Any, options: RunOptions) -> list[Unit]:
        """Every unit of the suite, in order. Loads (and so checks) every input: a bad corpus
        raises here, before anything is written."""
        raise NotImplementedError

    def execute(self, suite: Any, unit: Unit, ctx: UnitContext) -> list[dict]:
        """Rows of one unit (lang, metric, variant, value, n, params, note, metric_version, and any
        provenance column that differs from ``unit.provenance``). Raise to fail the unit. A row
        with ``incomplete = "reason"`` could not be computed here (a backend or extra is missing):
        it is stored for the record but not as done, so a rerun computes it, and the run warns."""
        raise NotImplementedError

    def finish(self, suite: Any, ctx: UnitContext) -> list[str]:
        """After the last unit: free resources; return lines to print (a summary)."""
        return []
