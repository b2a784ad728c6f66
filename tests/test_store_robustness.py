"""The store loses nothing: SIGKILL mid-run and rerun, concurrent writers, corrupt parts and
validate-store, every schema version, atomic writes. Real processes where it matters.

The runs go through tests/pause_after_part.py, which with ``TOKBENCH_TEST_SLEEP_AFTER_PART`` pauses after each part,
so a kill lands between parts of a run that is still going, and two runs overlap.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_tokbench import make_rows

from tokbench import store
from tokbench.cli import EXIT_OK, main
from tokbench.schema import COLUMNS, RESULT_SCHEMA, SCHEMA_VERSION
from tokbench.store import (BadPart, StoreWarning, completed_keys, load_results, new_run_id, part_files, read_part,
                            stale_temp_files, temp_files, validate_store, write_part)

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES = TESTS_DIR / "fixtures" / "store"
TOKENIZERS = ["gpt2", "byt5", "llama2", "llama3", "mistral-v3", "o200k_base"]
CELL = ["tokenizer", "lang", "metric", "variant"]
RUN_LINE = re.compile(r"run ([0-9a-f]{12}): (\d+) rows in (\d+) part file\(s\)")


def _suite(path: Path, name: str, tokenizers: list[str]) -> Path:
    path.write_text(f"""
[suite]
name = "{name}"
tokenizers = {tokenizers!r}
reference_tokenizer = "gpt2"

[corpora.udhr]
source = "udhr"
langs = ["en", "tr", "ru"]
max_docs_per_lang = 5
""".replace("'", '"'), encoding="utf-8")
    return path


def _env(sleep_after_part: float | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TOKBENCH_TEST_SLEEP_AFTER_PART", None)
    if sleep_after_part is not None:
        env["TOKBENCH_TEST_SLEEP_AFTER_PART"] = str(sleep_after_part)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _run_cmd(suite: Path, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pause_after_part", "run", str(suite), "--results-dir", str(results), "-q",
            "--no-report", "--no-cache", *extra]


def _quiet_load(results: Path) -> pd.DataFrame:
    """load_results of every row (the history), failing on any warning (every part must read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_results(results, all_rows=True)


def _wait_for(pred, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"process ended (rc {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


# ----------------------------------------------------------------------------- SIGKILL


def test_sigkill_mid_run_keeps_finished_parts_and_rerun_completes_the_rest(tmp_path):
    suite = _suite(tmp_path / "robust.toml", "robust", TOKENIZERS)
    results = tmp_path / "results"
    # pause 3 s after every part: the kill lands while the run still has tokenizers to do
    proc = subprocess.Popen(_run_cmd(suite, results), env=_env(sleep_after_part=3), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: part_files(results), 60, "the first part file", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    kept = part_files(results)
    assert 1 <= len(kept) < len(TOKENIZERS)
    for part in kept:  # no half-written part: each one reads whole
        assert read_part(part).num_rows > 0
    assert not validate_store(results)
    df = _quiet_load(results)  # temp files, if any, are ignored
    finished = set(df["tokenizer"])
    assert len(finished) == len(kept)  # one part per finished tokenizer (one corpus)
    assert not df.duplicated(CELL).any()

    # the rerun completes exactly what is missing
    done = subprocess.run(_run_cmd(suite, results), env=_env(), text=True, capture_output=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    assert f"{len(finished)} (tokenizer, corpus) already stored and skipped" in done.stdout
    new = sorted(set(part_files(results)) - set(kept))
    assert len(new) == len(TOKENIZERS) - len(finished)
    assert set(part_files(results)) >= set(kept)  # the killed run's parts are untouched
    new_tokenizers = set(pd.concat([read_part(p).to_pandas() for p in new])["tokenizer"])
    assert new_tokenizers == set(TOKENIZERS) - finished

    final = _quiet_load(results)
    assert set(final["tokenizer"]) == set(TOKENIZERS)
    assert not final.duplicated(CELL).any(), "the rerun duplicated rows of finished tokenizers"
    assert final["run_id"].nunique() == 2
    # every tokenizer has the same cells (langs x metrics x variants)
    per_tok = final.groupby("tokenizer").size()
    assert per_tok.nunique() == 1 and per_tok.iloc[0] > 50
    assert set(final["lang"]) == {"en", "tr", "ru", "*"}
    # a third run finds nothing to do
    again = subprocess.run(_run_cmd(suite, results), env=_env(), text=True, capture_output=True, timeout=120)
    assert again.returncode == EXIT_OK and "0 rows in 0 part file(s)" in again.stdout


KILLED_WRITER = """
import os, signal, sys
import pyarrow.parquet as pq
sys.path.insert(0, {tests!r})
from helpers_tokbench import make_rows
from tokbench.store import write_part

def half_then_die(table, where, **kw):
    with open(where, "wb") as fh:
        fh.write(b"PAR1 half a part")
        fh.flush()
    print(where, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

pq.write_table = half_then_die
write_part(make_rows(3), {root!r}, run_id="killed000000", seq=1)
"""


def test_writer_killed_mid_write_leaves_only_an_ignored_temp_file_that_is_cleaned_once_stale(tmp_path, capsys):
    root = tmp_path / "results"
    good = write_part(make_rows(2, tokenizer="good"), root, run_id="good00000000", seq=1)
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER.format(tests=str(TESTS_DIR), root=str(root))],
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    tmp = Path(proc.stdout.strip())
    assert tmp.exists() and tmp.parent == root / "parts"
    assert re.fullmatch(rf"\.writing-{re.escape(store._HOST)}-\d+-\w+\.tmp", tmp.name)
    assert temp_files(root) == [tmp]
    assert part_files(root) == [good]  # the killed write published nothing

    # readers never see it
    df = _quiet_load(root)
    assert set(df["tokenizer"]) == {"good"} and len(df) == 2

    # its writer is dead, but within the grace period it is not yet stale
    assert stale_temp_files(root) == []
    assert stale_temp_files(root, now=time.time() + store.DEAD_WRITER_GRACE_SECONDS + 5) == [tmp]
    old = time.time() - store.DEAD_WRITER_GRACE_SECONDS - 5
    os.utime(tmp, (old, old))
    assert stale_temp_files(root) == [tmp]

    # validate-store names it (not a bad part: exit 0), --quarantine deletes it
    with pytest.warns(StoreWarning, match=re.escape(tmp.name)):
        assert main(["validate-store", "--results-dir", str(root)]) == EXIT_OK
    assert tmp.exists()
    with pytest.warns(StoreWarning, match="deleted"):
        assert main(["validate-store", "--results-dir", str(root), "--quarantine"]) == EXIT_OK
    assert not tmp.exists() and part_files(root) == [good]
    assert not (root / "quarantine").exists()
    capsys.readouterr()


def test_stale_temp_file_rules_and_the_sweep_on_write(tmp_path):
    """Only temp files no live writer can finish are removed, by the first write of a process."""
    root = tmp_path / "results"
    parts = root / "parts"
    parts.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = store._HOST
    minutes, hours = time.time() - 120, time.time() - 2 * store.STALE_TEMP_SECONDS
    files = {  # name: (mtime, stale?)
        f".writing-{host}-{dead_pid}-dead1234.tmp": (minutes, True),     # writer dead, past the grace
        f".writing-{host}-{dead_pid}-fresh123.tmp": (time.time(), False),  # writer dead, within the grace
        f".writing-{host}-{os.getpid()}-live1234.tmp": (minutes, False),   # writer alive (this process)
        f".writing-otherhost-{dead_pid}-away1234.tmp": (minutes, False),   # another host: cannot tell
        f".writing-otherhost-{dead_pid}-old12345.tmp": (hours, True),      # anyone's, over an hour old
        ".writing-ab12cd34.tmp": (minutes, False),                          # older tokbench's name
        ".writing-zz98yy76.tmp": (hours, True),
    }
    for name, (mtime, _) in files.items():
        (parts / name).write_bytes(b"PAR1 partial")
        os.utime(parts / name, (mtime, mtime))
    expect_stale = sorted(parts / n for n, (_, s) in files.items() if s)
    assert stale_temp_files(root) == expect_stale

    store._swept.discard(parts.resolve())
    write_part(make_rows(2), root, run_id="sweeper00000", seq=1)
    left = {p.name for p in temp_files(root)}
    assert left == {n for n, (_, s) in files.items() if not s}
    assert len(_quiet_load(root)) == 2


# ----------------------------------------------------------------------------- concurrency


def test_two_concurrent_runs_into_one_store_lose_nothing(tmp_path):
    results = tmp_path / "results"
    suites = {"robust-a": ["gpt2", "byt5", "llama3"], "robust-b": ["mistral-v3", "o200k_base", "llama2"]}
    procs = {name: subprocess.Popen(_run_cmd(_suite(tmp_path / f"{name}.toml", name, toks), results),
                                    env=_env(sleep_after_part=0.3), text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name, toks in suites.items()}
    outs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == EXIT_OK, err
        outs[name] = RUN_LINE.search(out)
        assert outs[name], out

    parts = part_files(results)
    assert len(parts) == 6
    assert not temp_files(results)
    assert not validate_store(results)
    df = _quiet_load(results)
    reported = {m.group(1): int(m.group(2)) for m in outs.values()}
    assert df.groupby("run_id").size().to_dict() == reported  # row counts add up, per run
    assert len(df) == sum(reported.values())
    for name, toks in suites.items():
        sub = df[df["suite"] == name]
        assert set(sub["tokenizer"]) == set(toks)
        assert sub["run_id"].nunique() == 1
        assert not sub.duplicated(CELL).any()


WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from helpers_tokbench import make_rows
from tokbench.store import write_part

root, run_id, writer, go = sys.argv[1:5]
while not Path(go).exists():
    time.sleep(0.001)
for i in range(20):
    write_part(make_rows(3, tokenizer=f"{{writer}}-{{i:02d}}", run_id=run_id), root, run_id=run_id, seq=i + 1)
"""


def test_concurrent_write_part_processes_lose_no_part(tmp_path):
    """Three processes x 20 parts, released at once; two of them share a run id, so their
    parts have the same names in the same second: neither may replace the other's."""
    root, go = tmp_path / "results", tmp_path / "go"
    code = WRITER.format(tests=str(TESTS_DIR))
    writers = {"w1": "sharedrun000", "w2": "sharedrun000", "w3": new_run_id()}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), run_id, w, str(go)], env=_env(),
                              stderr=subprocess.PIPE, text=True) for w, run_id in writers.items()]
    time.sleep(1.0)  # let all three import and wait at the start line
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    parts = part_files(root)
    assert len(parts) == 60
    assert not temp_files(root)
    df = _quiet_load(root)
    assert len(df) == 180
    assert set(df["tokenizer"]) == {f"{w}-{i:02d}" for w in writers for i in range(20)}
    assert (df.groupby("tokenizer").size() == 3).all()


def test_concurrent_write_part_threads_same_name_same_second(results_dir, monkeypatch):
    """Eight threads writing the same run id, seq and second: eight parts, none replaced."""
    import datetime as dt

    fixed = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(store, "now_utc", lambda: fixed)
    errors = []

    def write(k):
        try:
            write_part(make_rows(2, tokenizer=f"thread-{k}"), results_dir, run_id="samerun00000", seq=1)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = sorted(p.name for p in part_files(results_dir))
    assert len(names) == 8
    assert "20300102T030405-samerun00000-0001.parquet" in names
    assert all(re.fullmatch(r"20300102T030405-samerun00000-0001(-\d+)?\.parquet", n) for n in names)
    assert set(_quiet_load(results_dir)["tokenizer"]) == {f"thread-{k}" for k in range(8)}


def test_runs_starting_in_the_same_second_have_distinct_part_names(results_dir, monkeypatch):
    import datetime as dt

    fixed = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(store, "now_utc", lambda: fixed)
    ids = {new_run_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    a, b = new_run_id(), new_run_id()
    pa_, pb = (write_part(make_rows(1), results_dir, run_id=r, seq=1) for r in (a, b))
    assert pa_ != pb
    assert pa_.name == f"20300102T030405-{a}-0001.parquet" and pb.name == f"20300102T030405-{b}-0001.parquet"


# ----------------------------------------------------------------------------- corrupt parts


def _damage(root: Path) -> dict[str, Path]:
    """A store with two good parts and five bad ones of different kinds."""
    good = [write_part(make_rows(3, tokenizer=f"good-{k}"), root, run_id=f"good0000000{k}", seq=1) for k in "ab"]
    bad = {}
    for kind in ("truncated", "zero-byte", "not-parquet", "wrong-type", "not-results"):
        path = write_part(make_rows(4, tokenizer=kind), root, run_id=new_run_id(), seq=1)
        data = path.read_bytes()
        if kind == "truncated":
            path.write_bytes(data[: len(data) * 2 // 3])
        elif kind == "zero-byte":
            path.write_bytes(b"")
        elif kind == "not-parquet":
            path.write_text("tokenizer,value\ngpt2,1.5\n", encoding="utf-8")
        elif kind == "wrong-type":  # valid parquet whose value column is text
            t = pq.read_table(path)
            t = t.set_column(t.column_names.index("value"), "value", pa.array(["1.5"] * t.num_rows))
            pq.write_table(t, path)
        else:  # some other parquet file dropped into parts/
            pq.write_table(pa.table({"text": ["hello"], "lang": ["en"]}), path)
        bad[kind] = path
    return {"good": good, **bad}


def test_corrupt_parts_are_named_skipped_reported_and_quarantined(tmp_path):
    root = tmp_path / "results"
    parts = _damage(root)
    good, bad = parts.pop("good"), parts
    # a fresh temp file of a (pretend) live writer: neither a part nor stale
    live_tmp = root / "parts" / f".writing-{store._HOST}-{os.getpid()}-inflight.tmp"
    live_tmp.write_bytes(b"PAR1")

    with pytest.warns(StoreWarning) as record:
        df = load_results(root)
    messages = [str(w.message) for w in record if issubclass(w.category, StoreWarning)]
    assert len(messages) == len(bad)
    for kind, path in bad.items():
        assert sum(str(path) in m for m in messages) == 1, kind
    assert not any(g.name in m for g in good for m in messages)
    assert sorted(set(df["tokenizer"])) == ["good-a", "good-b"] and len(df) == 6
    assert df["value"].dtype == "float64"

    cmd = [sys.executable, "-m", "tokbench.cli", "validate-store", "--results-dir", str(root)]
    check = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=60)
    assert check.returncode == 1, check.stdout + check.stderr
    for path in bad.values():
        assert f"BAD {path}:" in check.stdout
    assert "2 of 7 part file(s) OK" in check.stdout
    assert "column 'value' has type string" in check.stdout
    assert "missing columns" in check.stdout

    fix = subprocess.run(cmd + ["--quarantine"], env=_env(), capture_output=True, text=True, timeout=60)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert fix.stdout.count("moved to quarantine/") == len(bad)
    assert sorted(p.name for p in (root / "quarantine").iterdir()) == sorted(p.name for p in bad.values())
    assert part_files(root) == sorted(good)
    assert live_tmp.exists()  # a live writer's temp file is never touched

    again = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "2 of 2 part file(s) OK" in again.stdout
    assert len(_quiet_load(root)) == 6


def test_quarantine_never_replaces_a_quarantined_file(tmp_path):
    root = tmp_path / "results"
    bad = write_part(make_rows(2), root, run_id="bad000000000", seq=1)
    (root / "quarantine").mkdir()
    (root / "quarantine" / bad.name).write_bytes(b"quarantined earlier")
    bad.write_bytes(b"")
    assert len(validate_store(root, quarantine=True)) == 1
    assert (root / "quarantine" / bad.name).read_bytes() == b"quarantined earlier"
    assert (root / "quarantine" / f"{bad.stem}-1.parquet").read_bytes() == b""


# ----------------------------------------------------------------------------- schema versions


def _fixture_store(tmp_path: Path, *versions: str) -> Path:
    root = tmp_path / ("store-" + "+".join(versions))
    (root / "parts").mkdir(parents=True)
    for v in versions:
        shutil.copyfile(FIXTURES / f"schema-{v}.parquet", root / "parts" / f"20240101T000000-fixture-{v}.parquet")
    return root


def test_schema_fixtures_are_what_they_claim():
    assert SCHEMA_VERSION == 2
    v1, v1c, v2 = (pq.read_table(FIXTURES / f"schema-{v}.parquet") for v in ("v1", "v1-config-hash", "v2"))
    assert "config_hash" not in v1.column_names
    assert v1.column_names == [c for c in COLUMNS if c != "config_hash"]
    assert v1c.schema.equals(RESULT_SCHEMA, check_metadata=False)
    assert v2.schema.equals(RESULT_SCHEMA, check_metadata=False)
    assert set(v1.column("schema_version").to_pylist()) == {1} == set(v1c.column("schema_version").to_pylist())
    assert set(v2.column("schema_version").to_pylist()) == {2}
    assert v1.num_rows == v1c.num_rows == v2.num_rows > 100


@pytest.mark.parametrize("versions", [("v1",), ("v1-config-hash",), ("v2",), ("v1", "v1-config-hash", "v2")])
def test_every_schema_version_loads_into_the_current_columns(versions, tmp_path):
    root = _fixture_store(tmp_path, *versions)
    assert validate_store(root) == []
    df = _quiet_load(root)
    reference = _quiet_load(_fixture_store(tmp_path / "reference", "v2"))
    assert list(df.columns) == list(COLUMNS)
    assert df.dtypes.to_dict() == reference.dtypes.to_dict()  # no object columns from the older parts
    assert df["value"].dtype == "float64" and str(df["created_at"].dtype).startswith("datetime64")
    assert len(df) == len(reference) * len(versions)
    key = CELL
    for v in versions:
        sub = df[df["schema_version"] == (2 if v == "v2" else 1)]
        if v == "v1":
            sub = sub[sub["config_hash"].isna()]
        elif v == "v1-config-hash":
            sub = sub[sub["config_hash"].notna()]
        a = sub.sort_values(key).reset_index(drop=True)
        b = reference.sort_values(key).reset_index(drop=True)
        assert len(a) == len(b)
        for col in COLUMNS:
            if col in ("schema_version",) or (col == "config_hash" and v == "v1"):
                continue
            pd.testing.assert_series_equal(a[col], b[col], check_names=False)  # values intact
        if v == "v1":
            assert a["config_hash"].isna().all()


def test_resume_against_older_schema_versions(tmp_path, capsys):
    """A v1 store (no config_hash) cannot prove any metric is done with the current settings,
    so a rerun recomputes everything, without crashing; the same rows with config_hash are skipped."""
    suite = FIXTURES / "suite.toml"
    n_tok = 2

    def run(root):
        capsys.readouterr()
        assert main(["run", str(suite), "--results-dir", str(root), "-q", "--no-report"]) == EXIT_OK
        return capsys.readouterr().out

    root = _fixture_store(tmp_path, "v1")
    before = set(part_files(root))
    v1 = load_results(root, all_rows=True)
    assert len(v1) > 100 and v1["config_hash"].isna().all()
    assert completed_keys(v1) == set()  # no v1 row can prove a metric done with today's settings
    out = run(root)
    assert "0 (tokenizer, corpus) already stored and skipped" in out
    new = sorted(set(part_files(root)) - before)
    assert len(new) == n_tok
    df = _quiet_load(root)
    assert set(df["schema_version"]) == {1, SCHEMA_VERSION}
    assert df[df["schema_version"] == SCHEMA_VERSION]["config_hash"].notna().all()
    assert "0 rows in 0 part file(s)" in run(root)  # now the v2 rows are there: nothing more to do

    # isolate the cause: this run's own rows (current hashes), once without config_hash ...
    fresh = pa.concat_tables([pq.read_table(p) for p in new])
    for name, table in {"v1": fresh.drop_columns(["config_hash"]), "v1-config-hash": fresh}.items():
        table = table.set_column(table.column_names.index("schema_version"), "schema_version",
                                 pa.array([1] * table.num_rows, pa.int32()))
        other = tmp_path / f"current-{name}"
        (other / "parts").mkdir(parents=True)
        pq.write_table(table, other / "parts" / f"20240101T000000-current-{name}.parquet")
        out = run(other)
        if name == "v1":  # ... is recomputed,
            assert f"in {n_tok} part file(s)" in out and "0 (tokenizer, corpus) already stored" in out
        else:  # ... and with config_hash (v1 parts written just before the bump) is complete
            assert "0 rows in 0 part file(s)" in out and f"{n_tok} (tokenizer, corpus) already stored" in out


# ----------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("where", ["write_table", "fsync", "publish", "interrupt"])
def test_a_failing_write_leaves_no_file_in_parts(where, results_dir, monkeypatch):
    real_write = pq.write_table

    def half_write(table, path, **kw):
        real_write(table, path, **kw)
        with open(path, "r+b") as fh:  # leave a half-written temp file, then fail
            fh.truncate(100)
        raise (KeyboardInterrupt() if where == "interrupt" else OSError("disk full (simulated)"))

    def fail(*a, **k):
        raise OSError("failure (simulated)")

    if where in ("write_table", "interrupt"):
        monkeypatch.setattr(pq, "write_table", half_write)
    elif where == "fsync":
        monkeypatch.setattr(store, "_fsync", fail)
    else:
        monkeypatch.setattr(store, "_publish", fail)
    with pytest.raises(KeyboardInterrupt if where == "interrupt" else OSError):
        write_part(make_rows(3), results_dir, run_id="dying0000000", seq=1)
    assert list((results_dir / "parts").iterdir()) == []  # no part, no .tmp


def test_a_reader_during_a_write_sees_no_partial_part(results_dir, monkeypatch):
    earlier = write_part(make_rows(2, tokenizer="earlier"), results_dir, run_id="earlier00000", seq=1)
    real_write = pq.write_table
    seen = {}

    def write_and_peek(table, path, **kw):
        real_write(table, path, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            seen["parts"] = part_files(results_dir)
            seen["rows"] = len(load_results(results_dir))
            seen["problems"] = validate_store(results_dir)

    monkeypatch.setattr(pq, "write_table", write_and_peek)
    final = write_part(make_rows(3, tokenizer="later"), results_dir, run_id="later0000000", seq=1)
    assert seen == {"parts": [earlier], "rows": 2, "problems": []}
    assert part_files(results_dir) == sorted([earlier, final]) and not temp_files(results_dir)
    assert len(_quiet_load(results_dir)) == 5


def test_bad_part_is_a_clear_error_for_read_part(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"")
    with pytest.raises(BadPart, match="unreadable"):
        read_part(path)
