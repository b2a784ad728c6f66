"""Where shard tasks run: in this process, in local worker processes, or on a Dask cluster.

No scheduling of our own: local workers are a ``concurrent.futures.ProcessPoolExecutor``
(spawned processes, so no tokenizer thread pool is forked), a cluster is Dask distributed
(``distributed.Client`` on a scheduler address, or a ``LocalCluster`` when none is given).
Every pool has one method, :meth:`Pool.run`: tasks in, ``(index, result, error)`` out as they
finish, at most ``2 x workers`` in flight so that the driver holds a bounded number of results.
A worker process keeps the tokenizers it built (``tokbench.sharded``) for the next tasks.

>>> with make_pool("serial") as pool:
...     sorted(pool.run(abs, [-2, 3]))
[(0, 2, None), (1, 3, None)]
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Sequence

from .errors import BadInput

EXECUTORS = ("auto", "serial", "processes", "dask")


class ExecutorError(BadInput, ValueError):
    """An executor that cannot start (unknown name, Dask missing, scheduler unreachable)."""


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def thread_share(workers: int) -> dict[str, str]:
    """Environment for a worker process of a pool of ``workers`` on this machine: each gets its
    share of the cores for the tokenizer libraries' own threads (``TOKBENCH_THREADS`` for the
    tiktoken and SentencePiece adapters, ``RAYON_NUM_THREADS`` for HF ``tokenizers``), so W
    workers do not start W x cores threads. Values already set in the environment win."""
    share = str(max(1, default_workers() // max(workers, 1)))
    return {k: os.environ.get(k) or share for k in ("TOKBENCH_THREADS", "RAYON_NUM_THREADS")}


def _set_environment(env: dict[str, str]) -> None:
    """Worker process initializer: runs before any task, so before a tokenizer starts threads."""
    os.environ.update(env)


class Pool:
    name = "serial"
    workers = 1

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any, BaseException | None]]:
        for i, t in enumerate(tasks):
            try:
                yield i, fn(t), None
            except KeyboardInterrupt:
                raise
            except Exception as e:
                yield i, None, e

    def close(self) -> None:
        pass

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        return "in this process"


class ProcessPool(Pool):
    name = "processes"

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self._ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_set_environment, initargs=(thread_share(workers),))

    def run(self, fn, tasks):
        from concurrent.futures import FIRST_COMPLETED, wait

        pending: dict[Any, int] = {}
        todo = iter(enumerate(tasks))
        try:
            while True:
                for i, t in todo:
                    pending[self._ex.submit(fn, t)] = i
                    if len(pending) >= 2 * self.workers:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    i = pending.pop(f)
                    e = f.exception()
                    yield i, None if e else f.result(), e
        finally:
            for f in pending:
                f.cancel()

    def close(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> str:
        return f"on {self.workers} local worker processes"


class DaskPool(Pool):
    name = "dask"

    def __init__(self, workers: int | None, scheduler: str | None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("--executor dask needs Dask distributed: pip install 'tokbench[dask]'") from None
        self._cluster = None
        try:
            if scheduler:
                self._client = Client(scheduler, timeout="10s")
            else:
                n = workers or default_workers()
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None, env=thread_share(n))
                self._client = Client(self._cluster)
        except OSError as e:
            raise ExecutorError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e}); start one with "
                                "`dask scheduler` and workers with `dask worker ADDRESS`") from None
        self.scheduler = scheduler or self._client.scheduler.address
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def run(self, fn, tasks):
        from distributed import as_completed

        todo = iter(enumerate(tasks))
        live: dict[str, tuple[Any, int]] = {}  # future key -> (future, task index)
        ac = as_completed()

        def submit(n: int) -> None:
            for _, (i, t) in zip(range(n), todo):
                f = self._client.submit(fn, t, pure=False)
                live[f.key] = (f, i)
                ac.add(f)

        try:
            submit(2 * self.workers)
            for f in ac:
                _, i = live.pop(f.key)
                if f.status == "error":
                    yield i, None, f.exception()
                else:
                    yield i, f.result(), None
                f.release()
                submit(1)  # keep the cluster busy: one new task per finished one
        finally:
            if live:
                self._client.cancel([f for f, _ in live.values()])

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def describe(self) -> str:
        where = "a local Dask cluster" if self._cluster is not None else f"the Dask cluster at {self.scheduler}"
        return f"on {where} ({self.workers} workers)"


def add_arguments(parser, *, shard_help: str) -> None:
    """The options of commands that run shards (``tokbench run``, ``check``/``compare``)."""
    parser.add_argument("--executor", default="auto", choices=EXECUTORS,
                        help="where shards run: auto (in this process for one shard, else local worker processes), "
                             "serial, processes, dask (docs/scale.md)")
    parser.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run shards on this Dask cluster")
    parser.add_argument("--shard-mb", type=float, default=64, help=shard_help)


def options_of(args) -> dict:
    """``executor``, ``workers``, ``scheduler`` and ``shard_bytes`` from those options."""
    return {"executor": args.executor, "workers": args.workers, "scheduler": args.scheduler,
            "shard_bytes": max(1, int(args.shard_mb * 2**20))}


def make_pool(executor: str = "auto", workers: int | None = None, scheduler: str | None = None,
              *, tasks: int = 1) -> Pool:
    """A pool for ``tasks`` shard tasks. ``auto``: in this process for a single task (tiny
    corpora: no process start-up), else local worker processes (or Dask when a scheduler is
    given). ``workers`` defaults to the cores this process may use."""
    if executor not in EXECUTORS:
        raise ExecutorError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers {workers}: give at least 1")
    if executor == "auto":
        executor = "dask" if scheduler else ("serial" if tasks <= 1 or workers == 1 else "processes")
    if executor == "serial":
        return Pool()
    if executor == "processes":
        return ProcessPool(min(workers or default_workers(), max(tasks, 1)))
    return DaskPool(workers, scheduler)


__all__ = ["EXECUTORS", "DaskPool", "ExecutorError", "Pool", "ProcessPool", "add_arguments", "default_workers",
           "make_pool", "options_of", "thread_share"]
