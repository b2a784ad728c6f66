"""The gate on corpora too large for memory: the shards of ``tokbench run`` and a mergeable
Poisson bootstrap.

The exact bootstrap (:mod:`tokbench.gate.bootstrap`) holds a resamples x documents weight
matrix and both tokenizations; neither fits for millions of documents. On a file corpus that
has more than one shard, the gate instead runs one task per shard (in the same pools as
``tokbench run``: local processes or Dask). A task tokenizes each batch with the baseline and
the candidate and returns

* the additive statistics of both (:class:`tokbench.sharded.ShardStats`): the point values,
  exactly as ``tokbench run`` computes them;
* for every metric with scalar statistics, per scope, ``S[r] = sum_d w[d, r] * stats_d``: the
  statistics of ``R`` Poisson resamples. ``w[d, r] ~ Poisson(1)`` is drawn from a generator
  seeded by a hash of (seed, language, document key), so a document's weights do not depend on
  the shard, the batch or the process that met it, and the baseline and candidate share them
  (a paired bootstrap). Sums add up over shards, so the driver merges by addition.

Each resample's value is ``Metric.finalize`` of its sums, as in the exact bootstrap. Poisson
weights do not fix the number of documents per language (the exact bootstrap stratifies by
language); for the corpus sizes this path is for, the difference is small
(tests/test_gate_sharded.py compares the intervals with the exact bootstrap's). Metrics with
vocabulary-sized statistics get no interval (as without ``--full-ci``), and document-level
metrics (``nsl``, ``premium``, ``parity``) are left out with a note; examples are not collected.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..metrics import METRICS
from ..schema import ALL_LANGS
from ..sharded import BATCH_BYTES, InOrder, ReducePlan, ShardStats, reduce_tc
from .bootstrap import _doc_stats, bootstrap_values, cell_of
from .results import Cell, GateError, scope_params


def poisson_weights(langs: Sequence[str], keys: Sequence[str], seed: int, resamples: int) -> np.ndarray:
    """``(documents, resamples)`` Poisson(1) weights, each document's row from its own
    generator seeded by ``blake2b(seed, language, key)``."""
    out = np.zeros((len(keys), resamples), dtype=np.int64)
    for d, (lang, key) in enumerate(zip(langs, keys)):
        h = hashlib.blake2b(f"{seed}\x1f{lang}\x1f{key}".encode(), digest_size=8).digest()
        out[d] = np.random.default_rng(int.from_bytes(h, "little")).poisson(1.0, resamples)
    return out


@dataclass
class GateShard:
    """What one shard gives the gate; shards add up (:meth:`merge`)."""

    baseline: ShardStats = field(default_factory=ShardStats)
    candidate: ShardStats = field(default_factory=ShardStats)
    # scope -> metric -> side ("b"/"c") -> statistic -> (R,) resampled sums
    boot: dict[str, dict[str, dict[str, dict[str, np.ndarray]]]] = field(default_factory=dict)
    integer: dict[str, dict[str, bool]] = field(default_factory=dict)  # metric -> statistic -> integer?
    no_ci: set[str] = field(default_factory=set)  # metrics with vocabulary-sized statistics
    weight: dict[str, np.ndarray] = field(default_factory=dict)  # language -> (R,) sum of its weights
    docs: dict[str, int] = field(default_factory=dict)  # language -> documents

    def merge(self, other: "GateShard") -> "GateShard":
        boot = {s: {m: {side: dict(v) for side, v in ms.items()} for m, ms in mm.items()} for s, mm in self.boot.items()}
        for scope, mm in other.boot.items():
            for m, sides in mm.items():
                mine = boot.setdefault(scope, {}).setdefault(m, {})
                for side, keys in sides.items():
                    acc = mine.setdefault(side, {})
                    for k, v in keys.items():
                        acc[k] = acc[k] + v if k in acc else v
        integer = {m: dict(v) for m, v in self.integer.items()}
        for m, v in other.integer.items():
            mine = integer.setdefault(m, {})
            for k, is_int in v.items():
                mine[k] = mine.get(k, True) and is_int
        weight = dict(self.weight)
        for lang, w in other.weight.items():
            weight[lang] = weight[lang] + w if lang in weight else w
        docs = dict(self.docs)
        for lang, n in other.docs.items():
            docs[lang] = docs.get(lang, 0) + n
        return GateShard(self.baseline.merge(other.baseline), self.candidate.merge(other.candidate), boot, integer,
                         self.no_ci | other.no_ci, weight, docs)

    def resampled(self, scope: str, metric: str, side: str) -> dict[str, np.ndarray] | None:
        """The (R,) resampled sums of one scope, stratified: each language's sums scaled so that
        its documents weigh as many as it has (sum of weights = its document count in every
        resample), as the exact bootstrap draws each language's documents separately; the
        ``"*"`` scope adds its languages' scaled sums, so its language mix stays fixed."""
        # languages in a fixed order: float sums must not depend on which process merged first
        # (a set union ordered them by the string hashes of the worker that built the shard)
        langs = sorted(self.docs) if scope == ALL_LANGS else [scope]
        out: dict[str, np.ndarray] = {}
        for lang in langs:
            sums = self.boot.get(lang, {}).get(metric, {}).get(side)
            if sums is None:
                return None
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(self.weight[lang] > 0, self.docs[lang] / self.weight[lang], 0.0)
            for k, v in sums.items():
                out[k] = out[k] + v * scale if k in out else v * scale
        return out


@dataclass(frozen=True)
class GateTask:
    """One shard of the gate: what a worker needs, picklable."""

    baseline: tuple[str, str]  # (tokenizer name, fingerprint)
    candidate: tuple[str, str]
    shard: Any
    read: Any
    plan: ReducePlan
    resamples: int
    seed: int
    batch_bytes: int


def run_gate_shard(task: GateTask) -> GateShard:
    """Tokenize one shard with both sides; point statistics and Poisson-resampled sums."""
    from ..sharded import _tokenizer, shard_reader, tokenized_batches

    same = task.baseline[1] == task.candidate[1]
    sides = [_tokenizer(*task.baseline)] + ([] if same else [_tokenizer(*task.candidate)])
    reader = shard_reader(task.shard, task.read, task.batch_bytes)
    acc = GateShard()
    for segs, tcs in tokenized_batches(reader, str(task.shard.id), task.plan.segmenters, sides):
        tc_b, tc_c = tcs[0], tcs[-1]
        W = poisson_weights(tc_b.lang.tolist(), tc_b.doc_key.tolist(), task.seed, task.resamples)
        acc = acc.merge(_reduce_batch(tc_b, tc_c, W, task.plan, segs))
    acc.baseline.sha256 = reader.sha256
    return acc


def _reduce_batch(tc_b, tc_c, W: np.ndarray, plan: ReducePlan, segs: Mapping[str, str]) -> GateShard:
    out = GateShard(reduce_tc(tc_b, plan), reduce_tc(tc_c, plan))
    lang = np.asarray(tc_b.lang)
    scopes = {l: np.flatnonzero(lang == l) for l in dict.fromkeys(lang.tolist())}
    for l, docs in scopes.items():
        out.weight[l] = W[docs].sum(axis=0).astype(np.float64)
        out.docs[l] = len(docs)
    singles = {side: [tc.select(np.array([d])) for d in range(tc.n_docs)] for side, tc in (("b", tc_b), ("c", tc_c))}
    for name in plan.metrics:
        metric = METRICS[name]
        doc_params = [scope_params(metric, l, segs, plan.metric_params, plan.reference_name) for l in lang.tolist()]
        per_side = {side: _doc_stats(metric, subs, [None] * len(subs), doc_params) for side, subs in singles.items()}
        if any(ds.arrays for ds in per_side.values()):
            out.no_ci.add(name)
            continue
        out.integer[name] = dict(zip(per_side["b"].scalar_keys, per_side["b"].integer))
        for scope, docs in scopes.items():  # languages only: "*" is made of them (GateShard.resampled)
            slot = out.boot.setdefault(scope, {}).setdefault(name, {})
            for side, ds in per_side.items():
                S = _weighted_sums(W[docs], ds.M[docs])
                slot[side] = {k: S[:, j] for j, k in enumerate(ds.scalar_keys)}
    return out


def _weighted_sums(W: np.ndarray, M: np.ndarray, block: int = 256) -> np.ndarray:
    """``W.T @ M`` ((D, R) weights, (D, K) statistics -> (R, K)), summed document after document:
    exact for integer statistics, and the same float sums in every process (a BLAS or SIMD
    product reorders the additions by thread count and memory alignment, which moved the last
    bits of float statistics between a serial and a multi-process run)."""
    out = np.zeros((W.shape[1], M.shape[1]), dtype=np.float64)
    for a in range(0, len(M), block):  # a reduction over the outer axis adds rows in order
        out += (W[a:a + block, :, None].astype(np.float64) * M[a:a + block, None, :]).sum(axis=0)
    return out


def cells_of(name: str, g: GateShard, *, metrics: Sequence[str], metric_params: Mapping[str, dict],
             segmenters: Mapping[str, str], reference_name: str | None, confidence: float) -> list[Cell]:
    """The gate's cells of one sharded corpus (point values and Poisson-bootstrap intervals)."""
    langs = g.baseline.langs
    scopes = langs + ([ALL_LANGS] if len(langs) > 1 else [])
    cells = []
    for metric_name in metrics:
        metric = METRICS[metric_name]
        for scope in scopes:
            if ("all" if scope == ALL_LANGS else "lang") not in metric.scopes:
                continue
            p = metric.scope_params(scope_params(metric, scope, segmenters, metric_params, reference_name),
                                    langs if scope == ALL_LANGS else [scope])
            vb = metric.finalize(g.baseline.stats(scope, metric_name), p)
            vc = metric.finalize(g.candidate.stats(scope, metric_name), p)
            sums = {side: g.resampled(scope, metric_name, side) for side in ("b", "c")}
            boot = all(v is not None for v in sums.values())
            if boot:
                ints = g.integer.get(metric_name, {})
                rb, rc = (bootstrap_values(metric, _resamples(sums[side], ints), p) for side in ("b", "c"))
            no_ci = "no CI: vocabulary-sized statistics are not bootstrapped on a sharded corpus" \
                if metric_name in g.no_ci else None
            for variant in vb:
                resampled = (rb[variant], rc[variant]) if boot else None
                cells.append(cell_of(name, scope, metric, variant, vb[variant], vc[variant], resampled, confidence,
                                     no_ci))
    return cells


def gate_sharded_corpus(name: str, src: Any, baseline: tuple[str, str], candidate: tuple[str, str], *,
                        metrics: Sequence[str], metric_params: Mapping[str, dict], segmenters: Mapping[str, str],
                        resamples: int, seed: int, confidence: float, pool: Any, batch_bytes: int,
                        progress: Any = None) -> tuple[list[Cell], dict]:
    """Run every shard of ``src`` (a :class:`tokbench.sources.CorpusSource`) through ``pool``,
    merge in shard order; the corpus's cells and its facts (languages, documents, hash, shards).
    A shard that fails stops the gate."""
    plan = ReducePlan(metrics=tuple(metrics), metric_params=metric_params, segmenters=dict(segmenters),
                      all_scope=not src.one_language)
    tasks = [GateTask(baseline, candidate, sh, src.read, plan, resamples, seed, batch_bytes) for sh in src.shards]
    hashes = [""] * len(tasks)
    merged = InOrder(GateShard())
    for i, result, err in pool.run(run_gate_shard, tasks):
        if progress is not None:
            progress(tasks[i].shard.size)
        if err is not None:
            raise GateError(f"corpus {name!r}: shard {tasks[i].shard.id} failed: {type(err).__name__}: {err}")
        hashes[i] = result.baseline.sha256
        merged.add(i, result)
    acc = merged.result
    from ..segment import segmenters_for

    cells = cells_of(name, acc, metrics=metrics, metric_params=metric_params,
                     segmenters=segmenters_for(acc.baseline.langs, dict(segmenters)), reference_name=None,
                     confidence=confidence)
    info = {"langs": len(acc.baseline.langs), "docs": acc.baseline.n_docs, "hash": src.corpus_hash(hashes),
            "shards": len(tasks), "bootstrap": "poisson"}
    return cells, info


def sharded_sources(specs: dict, base_dir, limit_docs: int | None, shard_bytes: int) -> dict:
    """The file corpora that are compared shard by shard: those of more than one shard."""
    from ..sources import corpus_source, streams

    out = {}
    for name, spec in specs.items():
        if spec.source == "file" and streams(spec, limit_docs):  # the gate loads hub datasets whole
            src = corpus_source(name, spec, base_dir=base_dir, shard_bytes=shard_bytes)
            if len(src.shards) > 1:
                out[name] = src
    return out


def run_sharded(sharded: dict, b_side: Any, c_side: Any, metrics: list[str], s, corpora_meta: dict,
                 notes: list[str], *, resamples: int, seed: int, executor: str, workers: int | None,
                 scheduler: str | None, progress: bool) -> list:
    from ..metrics import get_metric
    from ..workers import make_pool
    from .results import CONFIDENCE

    for side in (b_side, c_side):
        if side.spec is None:
            raise GateError(side.rebuild_error or f"tokenizer {side.label!r} cannot be rebuilt")
    doc_level = [m for m in metrics if get_metric(m).document_level]
    if doc_level:
        notes.append(f"{', '.join(doc_level)} left out on {', '.join(sharded)}: document-level metrics are not "
                     "compared on sharded corpora")
    shard_metrics = [m for m in metrics if m not in doc_level]
    cells = []
    with make_pool(executor, workers, scheduler, tasks=max(len(src.shards) for src in sharded.values())) as pool:
        for name, src in sharded.items():
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=src.size, desc=f"{b_side.shown} vs {c_side.shown}/{name}", unit="B",
                           unit_scale=True, file=sys.stderr)
            try:
                got, info = gate_sharded_corpus(
                    name, src, (b_side.spec.source if b_side.path else b_side.name, b_side.hash),
                    (c_side.spec.source if c_side.path else c_side.name, c_side.hash), metrics=shard_metrics,
                    metric_params=s.metric_params, segmenters=s.segmenters, resamples=resamples, seed=seed,
                    confidence=CONFIDENCE, pool=pool, batch_bytes=BATCH_BYTES, progress=bar.update if bar else None)
            finally:
                if bar:
                    bar.close()
            cells.extend(got)
            corpora_meta[name] = info
    notes.append(f"{', '.join(sharded)}: compared shard by shard; intervals from a Poisson bootstrap "
                 "(docs/gate.md), no examples")
    return cells


def _resamples(sums: Mapping[str, np.ndarray], integer: Mapping[str, bool]):
    keys = list(sums)
    cols = [np.rint(sums[k]).astype(np.int64).tolist() if integer.get(k, False) else sums[k].tolist() for k in keys]
    for vals in zip(*cols):
        yield dict(zip(keys, vals))


__all__ = ["GateShard", "GateTask", "cells_of", "gate_sharded_corpus", "poisson_weights", "run_gate_shard",
           "run_sharded", "sharded_sources"]
