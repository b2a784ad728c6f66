"""Driving the shards of one (tokenizer, corpus) unit: cache, pool, merge in order.

Every finished shard's statistics are written atomically to the shard cache
(``<cache>/shards/<key>.npz``, :mod:`tokbench.cachefiles`'s safe format; keyed by tokenizer fingerprint, shard identity, reduce plan and
tokenization version) before they are merged, so a run killed at any point restarts from the
shards it finished and its rows equal an uninterrupted run's. Results are merged in shard order
whatever order they arrive in, so the rows do not depend on the executor or the worker count.
A shard that fails (unreadable, invalid UTF-8, a tokenizer that raises) is reported with its id;
the other shards still run (and are cached), and the unit fails: nothing half-made is stored.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import cachefiles
from ..sharded import InOrder, ReducePlan, ShardStats, ShardTask, provide_tokenizer, run_shard
from ..sources import CorpusSource, remember_shard_hash
from .base import UnitContext


class ShardFailures(RuntimeError):
    """Some shards of a unit failed; the message names them (file and offset) and the first error."""


def _cache_path(task: ShardTask) -> Path:
    return cachefiles.entry("shards", task.cache_key())


def load_cached(task: ShardTask) -> ShardStats | None:
    from ..textnorm import TextFacts

    return cachefiles.load(_cache_path(task), ShardStats, types=(TextFacts,))


def save_cached(task: ShardTask, stats: ShardStats) -> None:
    cachefiles.save(_cache_path(task), stats)


def _pool(ctx: UnitContext, tasks: int):
    """The run's pool, started on the first unit that has more than one shard to compute."""
    from ..workers import Pool, make_pool

    o = ctx.options
    if o.executor == "auto" and tasks <= 1 and not o.scheduler:
        return Pool()  # one shard (tiny corpora): no worker start-up
    if "pool" not in ctx.state:
        ctx.state["pool"] = make_pool(o.executor, o.workers, o.scheduler, tasks=max(tasks, 2))
        ctx.log(f"shards run {ctx.state['pool'].describe()}")
    return ctx.state["pool"]


def forget_shards(tokenizer: str, fingerprint: str, src: CorpusSource, plan: ReducePlan, ctx: UnitContext) -> None:
    """Drop the cached statistics of a unit whose values could not all be computed (a lexicon
    or root list missing): the next run computes them afresh, not from the incomplete ones."""
    for sh in src.shards:
        _cache_path(ShardTask(tokenizer, fingerprint, sh, src.read, plan, ctx.options.batch_bytes)).unlink(missing_ok=True)


def run_shards(tokenizer: str, fingerprint: str, src: CorpusSource, plan: ReducePlan, ctx: UnitContext, *,
               prebuilt: Any = None, progress: bool = True) -> tuple[ShardStats, str]:
    """The merged statistics of every shard of ``src`` under ``tokenizer``, and the corpus hash."""
    o = ctx.options
    tasks = [ShardTask(tokenizer, fingerprint, sh, src.read, plan, o.batch_bytes) for sh in src.shards]
    if prebuilt is not None:
        provide_tokenizer(tokenizer, fingerprint, prebuilt)
    hashes: list[str | None] = [None] * len(tasks)
    merged = InOrder(ShardStats())
    failures: list[str] = []
    t0, docs = time.time(), 0

    def advance(i: int) -> None:
        if progress:
            ctx.advance(tasks[i].shard.size)

    def accept(i: int, stats: ShardStats) -> None:
        nonlocal docs
        hashes[i] = stats.sha256
        docs += stats.n_docs
        merged.add(i, stats)
        if progress and ctx.postfix is not None:
            ctx.postfix(f"{tokenizer[:20]} {docs / max(time.time() - t0, 1e-9):,.0f} docs/s")

    todo = []
    for i, t in enumerate(tasks):
        cached = load_cached(t) if o.use_cache and not o.force else None
        if cached is None:
            todo.append(i)
        else:
            accept(i, cached)
            advance(i)
    if todo:
        pool = _pool(ctx, len(todo))
        for j, stats, err in pool.run(run_shard, [tasks[i] for i in todo]):
            i = todo[j]
            advance(i)
            if err is not None:
                failures.append(f"shard {tasks[i].shard.id}: {type(err).__name__}: {err}")
                continue
            if o.use_cache:
                save_cached(tasks[i], stats)
            remember_shard_hash(tasks[i].shard, src.read, stats.sha256)
            accept(i, stats)
    if failures:
        raise ShardFailures(f"{len(failures)} of {len(tasks)} shards failed (the others are cached for the rerun); "
                            + "; ".join(failures[:3]) + (" ..." if len(failures) > 3 else ""))
    return merged.result, src.corpus_hash([h or "" for h in hashes])


__all__ = ["ShardFailures", "forget_shards", "load_cached", "run_shards", "save_cached"]
