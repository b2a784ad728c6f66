"""Sharded runs: the rows of a corpus do not depend on how it is cut or where the shards run.

A UDHR corpus is cut into many shards (small ``shard_bytes``) and reduced in this process, in
two local worker processes, on a Dask LocalCluster and on a real ``dask scheduler`` with two
``dask worker`` processes started here on 127.0.0.1. Every executor gives exactly the same
rows; the one-shard run (the whole corpus at once, as every default suite is run) agrees with
them to rounding (sums of per-document ratios are added in another order).
"""
from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tokbench.executor import execute
from tokbench.kinds import RunOptions, get_kind
from tokbench.sharded import ShardStats, memory_shards
from tokbench.store import load_results
from tokbench.suites import Suite

METRICS = ["fertility", "pcw", "continuation_share", "bytes_per_token", "chars_per_token", "nsl",
           "vocab_utilization", "unk_rate", "byte_fallback_rate", "roundtrip", "renyi_efficiency",
           "shannon_efficiency", "superword_share", "premium", "byte_premium", "parity"]
KEY = ["tokenizer", "corpus", "lang", "metric", "variant"]


def _suite() -> Suite:
    return Suite(suite={"name": "shard-test", "version": "1", "tokenizers": ["gpt2", "byt5"],
                        "reference_tokenizer": "gpt2", "metrics": METRICS},
                 corpora={"udhr": {"source": "udhr", "langs": ["en", "tr", "de-1996", "ja"], "unit": "paragraph"}})


def _run(tmp_path: Path, name: str, **opts) -> pd.DataFrame:
    out = tmp_path / name
    summary = execute(get_kind("tokenizer"), _suite(),
                      RunOptions(results_dir=out, progress=False, render=False, use_cache=False, **opts))
    assert summary.ok, summary.failed
    df = load_results(out)
    return df.sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("sharded")
    return {"whole": _run(tmp, "whole"),
            "serial": _run(tmp, "serial", executor="serial", shard_bytes=3000, batch_bytes=1500)}


def _same(a: pd.DataFrame, b: pd.DataFrame, *, atol: float) -> None:
    assert len(a) == len(b) > 0
    assert (a[KEY].values == b[KEY].values).all()
    assert (a["n"].values == b["n"].values).all()
    assert (a["corpus_hash"].values == b["corpus_hash"].values).all()
    va, vb = a["value"].to_numpy(float), b["value"].to_numpy(float)
    assert np.array_equal(np.isnan(va), np.isnan(vb))
    ok = ~np.isnan(va)
    if atol == 0:
        assert np.array_equal(va[ok], vb[ok])
    else:
        np.testing.assert_allclose(va[ok], vb[ok], rtol=0, atol=atol)


def test_many_shards_equal_one(runs):
    whole, serial = runs["whole"], runs["serial"]
    n_shards = len(memory_shards(_corpus(), 3000))
    assert n_shards >= 10
    _same(whole, serial, atol=1e-12)
    # document-level metrics (premium, parity, nsl) are there, with aligned pairs
    prem = serial[(serial.metric == "premium") & (serial.variant == "corpus") & (serial.lang == "tr")]
    assert len(prem) == 2 and prem["n"].min() > 10


def _corpus():
    from tokbench.corpora import CorpusSpec, load_corpus

    return load_corpus("udhr", CorpusSpec(**_suite().corpora["udhr"].model_dump()))


def test_two_processes_equal_serial(runs, tmp_path):
    _same(runs["serial"], _run(tmp_path, "procs", executor="processes", workers=2, shard_bytes=3000,
                               batch_bytes=1500), atol=0)


def test_dask_local_cluster_equals_serial(runs, tmp_path):
    pytest.importorskip("distributed")
    _same(runs["serial"], _run(tmp_path, "dask", executor="dask", workers=2, shard_bytes=3000,
                               batch_bytes=1500), atol=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster():
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for i in range(2):
        procs.append(subprocess.Popen([str(bindir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                       "--no-dashboard", "--name", f"w{i}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        from distributed import Client

        deadline = time.time() + 90
        while True:
            try:
                with Client(address, timeout="5s") as c:
                    if len(c.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("the dask cluster did not start")
            time.sleep(1)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_real_dask_cluster_equals_serial(runs, tmp_path, dask_cluster):
    _same(runs["serial"], _run(tmp_path, "cluster", executor="dask", scheduler=dask_cluster, shard_bytes=3000,
                               batch_bytes=1500), atol=0)


def test_shard_stats_pickle_compactly_and_add_up():
    """Vocabulary-sized arrays travel sparse, and the stats of two halves add up to the whole's."""
    from tokbench.sharded import ReducePlan, reduce_tc
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.segment import segmenters_for
    from tokbench.tokenize import tokenize_corpus

    corpus = _corpus().select_langs(["en"])
    tc = tokenize_corpus(get_tokenizer(resolve("gpt2")), corpus, segmenters=segmenters_for(["en"], {}), use_cache=False)
    plan = ReducePlan(metrics=("vocab_utilization", "fertility"))
    half = tc.n_docs // 2
    a, b = reduce_tc(tc.select(np.arange(half)), plan), reduce_tc(tc.select(np.arange(half, tc.n_docs)), plan)
    whole = reduce_tc(tc, plan)
    for m in ("vocab_utilization", "fertility"):
        for k in whole.stats("en", m):
            got, want = np.asarray(a.merge(b).stats("en", m)[k]), np.asarray(whole.stats("en", m)[k])
            if want.dtype.kind == "f":  # a sum of per-document ratios: added in another order
                np.testing.assert_allclose(got, want, rtol=1e-13)
            else:
                assert np.array_equal(got, want), (m, k)
    blob = pickle.dumps(whole)
    assert len(blob) < 50_000  # 50257 int64 counts would be 400 kB dense
    back = pickle.loads(blob)
    assert isinstance(back, ShardStats)
    assert np.array_equal(back.stats("en", "vocab_utilization")["counts"],
                          whole.stats("en", "vocab_utilization")["counts"])


def _thread_env(_: object) -> tuple[str | None, str | None]:
    import os

    return os.environ.get("TOKBENCH_THREADS"), os.environ.get("RAYON_NUM_THREADS")


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_workers_get_their_share_of_the_cores(executor, monkeypatch):
    """Each local worker process (and each LocalCluster worker) is told to use cores / workers
    threads in the tokenizer libraries, unless the user set the variable."""
    from tokbench.workers import default_workers, make_pool

    monkeypatch.delenv("TOKBENCH_THREADS", raising=False)
    monkeypatch.setenv("RAYON_NUM_THREADS", "3")  # the user's own setting is kept
    share = str(max(1, default_workers() // 2))
    with make_pool(executor, workers=2, tasks=4) as pool:
        seen = {r for _, r, e in pool.run(_thread_env, range(4)) if e is None}
    assert seen == {(share, "3")}


def test_one_batch_size_everywhere():
    """The run options, the shard tasks and the stream reader agree on the batch size (peak
    memory per worker is set by it: docs/scale.md "Memory")."""
    import inspect

    from tokbench.sharded import BATCH_BYTES, ShardTask
    from tokbench.stream import ShardReader, read_shard

    assert RunOptions().batch_bytes == BATCH_BYTES == ShardTask.batch_bytes == 1 << 20
    assert inspect.signature(read_shard).parameters["batch_bytes"].default == BATCH_BYTES
    assert inspect.signature(ShardReader).parameters["batch_bytes"].default == BATCH_BYTES


def _same_data(a, b, where="") -> None:
    """Equal values of the same types, keys in the same order, all the way down."""
    import dataclasses

    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same_data(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _same_data(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_data(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), (where, a, b)


def test_shard_cache_entries_round_trip_without_pickle(tmp_path):
    """A shard cache entry (cachefiles: npz + JSON, loaded with allow_pickle=False) gives back
    the same statistics, facts and metadata, with their types; an entry that names a class the
    caller did not allow, or a pickle, is dropped as foreign."""
    import pickle

    from tokbench import cachefiles
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.segment import segmenters_for
    from tokbench.sharded import ReducePlan, reduce_tc
    from tokbench.textnorm import TextFacts
    from tokbench.tokenize import tokenize_corpus

    corpus = _corpus()
    tc = tokenize_corpus(get_tokenizer(resolve("gpt2")), corpus, segmenters=segmenters_for(corpus.langs, {}),
                         use_cache=False)
    stats = reduce_tc(tc, ReducePlan(metrics=("vocab_utilization", "fertility", "digit_chunking", "nsl")))
    stats.facts, stats.sha256 = TextFacts.of(corpus.lang, corpus.text, "NFC"), "ab" * 32
    path = tmp_path / "entry.npz"
    cachefiles.save(path, stats)
    back = cachefiles.load(path, ShardStats, types=(TextFacts,))
    _same_data(back, stats)
    assert cachefiles.load(path, ShardStats) is None and not path.exists()  # TextFacts not allowed: foreign
    path.write_bytes(pickle.dumps(stats))
    assert cachefiles.load(path, ShardStats, types=(TextFacts,)) is None and not path.exists()
