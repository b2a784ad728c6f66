"""Corpus-scale benchmarks (issue "Corpus-scale runs"), pytest-benchmark style: every number is
a ratio against a baseline measured in the same run, never a wall-clock limit, and no target is
asserted (the measured values go to docs/performance.md); only sanity is checked (the runs
succeeded and wrote rows, the rerun wrote none, memory was sampled).

Targets measured here:

1. peak RSS of a 1 GB corpus through gpt2 at most 1.5 GB, and at most 1.2x the peak of a
   100 MB run (flat in corpus size). Peak RSS is the maximum over time of the sum of the RSS of
   the ``tokbench run`` process and all its descendants (the worker processes), sampled every
   50 ms with psutil while the CLI runs as a subprocess (``--executor processes --workers 2``;
   the sum counts pages shared between the processes once per process);
2. two workers at least 1.7x the throughput of one (``--executor processes``, ``--workers 1``
   then ``--workers 2``, a fresh shard cache each, small shards so that both workers get work);
3. the full intrinsic pass (:func:`tokbench.sharded.run_shard` over one shard: read, tokenize,
   reduce to every default metric's statistics) at most 2.0x the tokenizer's raw
   ``encode_batch`` of the same documents per core for tiktoken (gpt2) and HF BPE (starcoder:
   a GGUF vocabulary served by ``tokenizers``), at most 3x for SentencePiece (llama2). Each runs
   in a subprocess limited to one thread: ``RAYON_NUM_THREADS=1`` (HF tokenizers, set before
   the import) and ``TOKBENCH_THREADS=1`` (the tiktoken and SentencePiece adapters' threads);
4. a rerun of a finished corpus at least 50x faster than the first run (a second
   ``tokbench run`` into the same results dir: every unit is skipped by its resume key; wall
   times of the two subprocesses, interpreter start-up included; the ratio of the CLI's own
   timer, start-up excluded, is printed too).

Corpora are real text (``tests/scale_corpus.py``), built once per size. Every CLI run gets a
fresh ``TOKBENCH_CACHE`` that links the warm asset cache's folders except ``shards`` and ``tokenized``.

Sizes: the ordinary test run (``--benchmark-disable``) uses small corpora so that the module
takes about a minute: 4 MB vs 16 MB for target 1 (2 MB shards: 2 vs 8 shards), 8 MB for the
others. The real measurement (about 15 minutes on 2 idle cores, 1.2 GB of disk for the corpora
under ``~/.cache/tokbench-bench``; building them takes about a minute, once)::

    TOKBENCH_BENCH_SCALE=1 python -m pytest tests/test_benchmarks_scale.py -m slow -s \\
        --benchmark-enable

uses 100 MB vs 1 GB (default 64 MB shards: 2 vs 16 shards), 100 MB for targets 2 (4 MB shards)
and 4, 20 MB (one shard) for target 3.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from scale_corpus import build_corpus, corpus_info  # noqa: E402

MB = 1 << 20
SCALE = os.environ.get("TOKBENCH_BENCH_SCALE") == "1"
if SCALE:
    RSS_SIZES, RSS_SHARD_MB = (100 * MB, 1024 * MB), None  # None: the CLI's default (64 MB)
    WORKERS_SIZE, WORKERS_SHARD_MB = 100 * MB, 4
    RERUN_SIZE, RERUN_SHARD_MB = 100 * MB, None
    PER_CORE_SIZE, REPEAT = 20 * MB, 2
    CLI_TIMEOUT = 3600
else:
    RSS_SIZES, RSS_SHARD_MB = (4 * MB, 16 * MB), 2
    WORKERS_SIZE, WORKERS_SHARD_MB = 8 * MB, 0.5
    RERUN_SIZE, RERUN_SHARD_MB = 8 * MB, 4
    PER_CORE_SIZE, REPEAT = 8 * MB, 1
    CLI_TIMEOUT = 600
RSS_WORKERS = 2
SAMPLE_S = 0.05

pytestmark = [pytest.mark.benchmark] + ([pytest.mark.slow] if SCALE else [])

RATIOS: dict[str, float | str] = {}  # printed by conftest.pytest_terminal_summary


def _label(n: int) -> str:
    return f"{n // (1024 * MB)} GB" if n >= 1024 * MB and n % (1024 * MB) == 0 else f"{n / MB:g} MB"


def _gb(n: float) -> str:
    return f"{n / 2**30:.3f} GB"


# --- running the CLI ---------------------------------------------------------------------------
def _asset_cache() -> Path:
    return Path(os.environ.get("TOKBENCH_CACHE") or Path.home() / ".cache" / "tokbench")


def _fresh_cache_dir(path: Path) -> Path:
    """A TOKBENCH_CACHE with the warm tokenizer assets but no shard cache, shard manifest or tokenizations."""
    path.mkdir(parents=True)
    src = _asset_cache()
    if src.is_dir():
        for p in sorted(src.iterdir()):
            if p.name not in ("shards", "tokenized"):
                (path / p.name).symlink_to(p.resolve())
    return path


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("tokbench")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tokbench.cli"]


@dataclass
class CliRun:
    rc: int
    wall_s: float
    peak_rss: int  # max over samples of the summed RSS of the process tree (0: not sampled)
    peak_proc_rss: int  # the largest single process seen
    max_procs: int  # most processes seen in one sample
    samples: int
    rows: int | None
    skipped: int | None
    cli_s: float | None  # the CLI's own timer (planning + execution, no interpreter start-up)
    output: str


_SUMMARY = re.compile(r"^run \w+: (\d+) rows in \d+ part file\(s\) under .*?; (\d+) .* already stored and "
                      r"skipped .*; ([\d.]+)s$", re.M)


def run_cli(work: Path, corpus: Path, *extra: str, results: Path | None = None, cache: Path | None = None,
            sample: bool = False, tokenizer: str = "gpt2") -> CliRun:
    """``tokbench run`` on ``corpus`` as a subprocess (a fresh cache unless one is given),
    optionally sampling the memory of its process tree every 50 ms."""
    import psutil

    work.mkdir(parents=True, exist_ok=True)
    cache = cache or _fresh_cache_dir(work / "cache")
    results = results or work / "results"
    cmd = [*_cli(), "run", "--tokenizer", tokenizer, "--corpus", str(corpus), "--lang", "en",
           "--results-dir", str(results), "--no-report", "-q", *extra]
    env = {**os.environ, "TOKBENCH_CACHE": str(cache)}
    log = work / f"cli-{time.monotonic_ns()}.log"
    peak = peak_proc = max_procs = samples = 0
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            while True:
                if sample:
                    total, n = 0, 0
                    try:
                        tree = [proc, *proc.children(recursive=True)]
                    except psutil.NoSuchProcess:
                        tree = []
                    for p in tree:
                        try:
                            rss = p.memory_info().rss
                        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                            continue
                        total, n = total + rss, n + 1
                        peak_proc = max(peak_proc, rss)
                    if total:
                        samples += 1
                        peak, max_procs = max(peak, total), max(max_procs, n)
                try:
                    proc.wait(timeout=SAMPLE_S)
                    break
                except psutil.TimeoutExpired:
                    if time.perf_counter() - t0 > CLI_TIMEOUT:
                        proc.kill()
                        proc.wait()
                        raise AssertionError(f"{' '.join(cmd)} ran longer than {CLI_TIMEOUT}s") from None
        finally:
            wall = time.perf_counter() - t0
            if proc.poll() is None:  # interrupted: do not leave the run behind
                proc.kill()
                proc.wait()
    output = log.read_text(errors="replace")
    m = _SUMMARY.search(output)
    return CliRun(rc=proc.returncode, wall_s=wall, peak_rss=peak, peak_proc_rss=peak_proc, max_procs=max_procs,
                  samples=samples, rows=int(m[1]) if m else None, skipped=int(m[2]) if m else None,
                  cli_s=float(m[3]) if m else None, output=output)


def _ok(run: CliRun) -> CliRun:
    assert run.rc == 0, run.output[-3000:]
    assert run.rows is not None, f"no run summary in the output:\n{run.output[-3000:]}"
    return run


def _shard_args(shard_mb: float | None) -> list[str]:
    return [] if shard_mb is None else ["--shard-mb", f"{shard_mb:g}"]


def _once(benchmark, fn):
    """Benchmark ``fn`` exactly once (runs take seconds to minutes, and each needs a fresh cache)."""
    return benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)


# --- 1. peak RSS, flat in corpus size ----------------------------------------------------------
def test_peak_rss_flat_in_corpus_size(benchmark, tmp_path):
    small_n, large_n = RSS_SIZES
    small, large = build_corpus(small_n), build_corpus(large_n)
    args = ["--executor", "processes", "--workers", str(RSS_WORKERS), *_shard_args(RSS_SHARD_MB)]
    base = _ok(run_cli(tmp_path / "small", small, *args, sample=True))
    big = _ok(_once(benchmark, lambda: run_cli(tmp_path / "large", large, *args, sample=True)))
    for run in (base, big):
        assert run.rows > 0 and run.samples > 0 and run.peak_rss > 0
    # the rerun of the large corpus (same store and cache): everything skipped by the resume key,
    # the corpus hash known from the shard manifest without reading the files
    again = _ok(run_cli(tmp_path / "large-rerun", large, *args, results=tmp_path / "large" / "results",
                        cache=tmp_path / "large" / "cache"))
    assert again.rows == 0 and again.skipped == 1, again.output[-3000:]
    RATIOS[f"first run / rerun, wall ({_label(large_n)}: {big.wall_s:.1f}s / {again.wall_s:.2f}s)"] = \
        big.wall_s / again.wall_s
    ratio = big.peak_rss / base.peak_rss
    info = corpus_info(large)
    benchmark.extra_info.update(
        small_corpus_bytes=corpus_info(small)["bytes"], large_corpus_bytes=info["bytes"],
        large_corpus_passes=info["passes"], workers=RSS_WORKERS, shard_mb=RSS_SHARD_MB or 64,
        small_peak_rss=base.peak_rss, large_peak_rss=big.peak_rss, peak_rss_ratio=ratio,
        small_peak_proc_rss=base.peak_proc_rss, large_peak_proc_rss=big.peak_proc_rss,
        small_samples=base.samples, large_samples=big.samples, max_procs=big.max_procs,
        small_wall_s=base.wall_s, large_wall_s=big.wall_s)
    s, b = _label(small_n), _label(large_n)
    RATIOS[f"peak RSS (process tree) {b} run"] = f"{_gb(big.peak_rss)} (largest process {_gb(big.peak_proc_rss)}, " \
                                                 f"{big.max_procs} processes, {big.wall_s:.1f}s)"
    RATIOS[f"peak RSS (process tree) {s} run"] = f"{_gb(base.peak_rss)} (largest process " \
                                                 f"{_gb(base.peak_proc_rss)}, {base.wall_s:.1f}s)"
    RATIOS[f"peak RSS {b} / {s}"] = ratio


# --- 2. two workers vs one ---------------------------------------------------------------------
def test_two_workers_throughput(benchmark, tmp_path):
    corpus = build_corpus(WORKERS_SIZE)
    n = corpus_info(corpus)["bytes"]
    args = ["--executor", "processes", *_shard_args(WORKERS_SHARD_MB)]
    one = _ok(run_cli(tmp_path / "w1", corpus, *args, "--workers", "1"))
    two = _ok(_once(benchmark, lambda: run_cli(tmp_path / "w2", corpus, *args, "--workers", "2")))
    assert one.rows > 0 and two.rows == one.rows
    speedup = one.wall_s / two.wall_s  # same bytes: the throughput ratio
    benchmark.extra_info.update(corpus_bytes=n, shard_mb=WORKERS_SHARD_MB, one_worker_s=one.wall_s,
                                two_workers_s=two.wall_s, one_worker_mb_s=n / MB / one.wall_s,
                                two_workers_mb_s=n / MB / two.wall_s, speedup=speedup,
                                one_worker_cli_s=one.cli_s, two_workers_cli_s=two.cli_s)
    RATIOS[f"throughput 1 worker ({_label(WORKERS_SIZE)}, {WORKERS_SHARD_MB:g} MB shards)"] = \
        f"{n / MB / one.wall_s:.2f} MB/s ({one.wall_s:.1f}s)"
    RATIOS["throughput 2 workers"] = f"{n / MB / two.wall_s:.2f} MB/s ({two.wall_s:.1f}s)"
    RATIOS["throughput 2 workers / 1 worker (end to end, start-up included)"] = speedup
    # steady state: shards finished per second once every worker has finished its first shard
    # (the shard cache files' write times; start-up, planning and the last write excluded)
    rates = [_steady_rate(tmp_path / d / "cache", workers) for d, workers in (("w1", 1), ("w2", 2))]
    benchmark.extra_info.update(steady_shards_per_s_one=rates[0], steady_shards_per_s_two=rates[1])
    RATIOS["throughput 2 workers / 1 worker (steady state, shards/s)"] = rates[1] / rates[0]


def _steady_rate(cache: Path, workers: int) -> float:
    t = sorted(p.stat().st_mtime for p in (cache / "shards").glob("??/*.npz"))
    assert len(t) > 2 * workers, t
    return (len(t) - workers) / (t[-1] - t[workers - 1])


# --- 3. the full intrinsic pass vs raw encode_batch, per core -------------------------------------
PER_CORE = [("gpt2", "TiktokenTokenizer", 2.0), ("starcoder", "HFJsonTokenizer", 2.0),
            ("llama2", "SentencePieceTokenizer", 3.0)]


def _per_core_child(name: str, corpus: str, out: str, repeat: int) -> None:
    """In a subprocess with one thread: best-of-``repeat`` seconds of the raw ``encode_batch``
    over the shard's documents (in the reader's batches) and of ``run_shard`` on that shard."""
    # one thread: TOKBENCH_THREADS=1 (tiktoken, SentencePiece) and RAYON_NUM_THREADS=1 (HF) come
    # from the parent's environment
    from tokbench.kinds import RunOptions, get_kind
    from tokbench.metrics import default_metrics, get_metric
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.sharded import _BUILT, ShardStats, ShardTask, provide_tokenizer, run_shard
    from tokbench.stream import read_shard
    from tokbench.suites import Suite

    metrics = [m for m in default_metrics() if not get_metric(m).needs_reference]  # as `tokbench run` ad hoc
    suite = Suite(suite={"name": "bench", "version": "1", "tokenizers": [name], "metrics": metrics},
                  corpora={"bench": {"source": "file", "path": corpus, "lang": "en"}})
    unit = get_kind("tokenizer").plan(suite, RunOptions(shard_bytes=1 << 40))[0]
    src, plan = unit.payload["shared"]["source"], unit.payload["shared"]["plan"]
    shard = src.shards[0]
    spec = resolve(name)
    fingerprint = spec.fingerprint()
    tok = get_tokenizer(spec)
    task = ShardTask(name, fingerprint, shard, src.read, plan)
    batches = [[text for _, _, text in batch] for batch in read_shard(shard, src.read, batch_bytes=task.batch_bytes)]
    n_bytes = sum(len(t.encode("utf-8")) for b in batches for t in b)
    tok.encode_batch(["warm up the tokenizer"])
    raw_s = full_s = float("inf")
    stats: ShardStats | None = None
    for _ in range(repeat):
        t = time.perf_counter()
        n_tokens = sum(len(ids) for b in batches for ids in tok.encode_batch(b))
        raw_s = min(raw_s, time.perf_counter() - t)
        _BUILT.clear()  # a cold per-word memo each time, as on a worker's first shard
        provide_tokenizer(name, fingerprint, tok)
        t = time.perf_counter()
        stats = run_shard(task)
        full_s = min(full_s, time.perf_counter() - t)
    import psutil

    Path(out).write_text(json.dumps({
        "adapter": type(tok).__name__, "raw_s": raw_s, "full_s": full_s, "n_bytes": n_bytes,
        "n_docs": stats.n_docs, "n_tokens": n_tokens, "shards": len(src.shards), "scopes": sorted(stats.scopes),
        "os_threads": psutil.Process().num_threads(), "metrics": metrics}))


@pytest.mark.parametrize("name,adapter,target", PER_CORE, ids=[p[0] for p in PER_CORE])
def test_full_pass_vs_raw_encode_per_core(benchmark, tmp_path, name, adapter, target):
    corpus = build_corpus(PER_CORE_SIZE)
    out = tmp_path / "per-core.json"
    env = {**os.environ, "TOKBENCH_THREADS": "1", "RAYON_NUM_THREADS": "1", "RAYON_RS_NUM_CPUS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    code = (f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r}); import test_benchmarks_scale as t; "
            f"t._per_core_child({name!r}, {str(corpus)!r}, {str(out)!r}, {REPEAT})")

    def child():
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=CLI_TIMEOUT)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(out.read_text())

    r = _once(benchmark, child)
    assert r["adapter"] == adapter and r["shards"] == 1
    assert r["n_docs"] > 0 and r["n_tokens"] > 0 and r["raw_s"] > 0
    ratio = r["full_s"] / r["raw_s"]
    benchmark.extra_info.update(corpus_bytes=r["n_bytes"], n_docs=r["n_docs"], n_tokens=r["n_tokens"],
                                raw_encode_s=r["raw_s"], full_pass_s=r["full_s"], overhead_ratio=ratio,
                                target=target, adapter=adapter, os_threads=r["os_threads"])
    RATIOS[f"full pass / raw encode_batch per core [{name}, {adapter}]"] = ratio
    RATIOS[f"raw encode_batch per core [{name}]"] = (f"{r['n_bytes'] / MB / r['raw_s']:.2f} MB/s; full pass "
                                                     f"{r['n_bytes'] / MB / r['full_s']:.2f} MB/s")


# --- 4. rerun of a finished corpus -------------------------------------------------------------
def test_rerun_of_finished_corpus(benchmark, tmp_path):
    corpus = build_corpus(RERUN_SIZE)
    cache, results = _fresh_cache_dir(tmp_path / "cache"), tmp_path / "results"
    args = _shard_args(RERUN_SHARD_MB)
    first = _ok(run_cli(tmp_path / "first", corpus, *args, results=results, cache=cache))
    assert first.rows > 0 and first.skipped == 0
    reruns: list[CliRun] = []

    def rerun():
        reruns.append(_ok(run_cli(tmp_path / "rerun", corpus, *args, results=results, cache=cache)))
        return reruns[-1]

    benchmark.pedantic(rerun, rounds=3 if benchmark.enabled else 1, iterations=1, warmup_rounds=0)
    for r in reruns:
        assert r.rows == 0 and r.skipped == 1, r.output[-3000:]
    best = min(reruns, key=lambda r: r.wall_s)
    ratio = first.wall_s / best.wall_s
    cli_ratio = first.cli_s / max(best.cli_s, 0.05)  # the CLI prints 0.1 s steps
    benchmark.extra_info.update(corpus_bytes=corpus_info(corpus)["bytes"], first_run_s=first.wall_s,
                                rerun_s=best.wall_s, ratio=ratio, first_run_cli_s=first.cli_s,
                                rerun_cli_s=best.cli_s, cli_ratio=cli_ratio)
    RATIOS[f"first run / rerun, wall ({_label(RERUN_SIZE)}: {first.wall_s:.1f}s / {best.wall_s:.2f}s)"] = ratio
    RATIOS[f"first run / rerun, CLI timer without start-up ({first.cli_s:.1f}s / {best.cli_s:.1f}s)"] = cli_ratio
