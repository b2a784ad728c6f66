"""The results store: long-format parquet part files under ``<results>/parts/``.

* One part file per finished unit of work (tokenizer x corpus) of a run, named
  ``<UTC time>-<run id>-<seq>.parquet``; written to a temp file ``.writing-<host>-<pid>-*.tmp``
  in the same folder, flushed to disk, then published under its final name (a hard link, so
  an existing part is never replaced; on a name clash a ``-<k>`` suffix is added). An
  interrupted or killed run keeps every finished part and never leaves a half-written one;
  concurrent runs writing to one store lose nothing.
* Temp files left by a killed writer are ignored by every reader; they are deleted once stale
  (see :func:`stale_temp_files`) by the next write into the store and by
  ``validate_store(quarantine=True)``.
* ``load_results`` reads every part; a corrupt, truncated or malformed part is named in a
  warning and skipped, never silently dropped and never fatal.
* Every row carries ``schema_version``; parts of older versions are upgraded on read (missing
  columns read as nulls, types cast to the current schema). See ``tokbench.schema``.
* Beside the parts, ``corpora/<corpus hash>.parquet`` holds the provenance of each corpus's
  text (:func:`write_corpus_facts`): per language, documents, characters and how many of them
  Unicode NFC / NFKC would change in the raw text, and the normalisation form that was applied
  (:mod:`tokbench.textnorm`). Keyed by the hash, written once, read by the leaderboard.
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import re
import socket
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import COLUMNS, RESULT_SCHEMA, SCHEMA_VERSION

PARTS = "parts"
CORPORA = "corpora"


class StoreWarning(UserWarning):
    pass


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def write_part(rows: list[dict], results_dir: Path, *, run_id: str, seq: int) -> Path:
    """Write rows as one part file atomically; returns its path.

    The rows go to a temp file in ``parts/`` that is flushed to disk and then published under
    the final name without ever replacing an existing file, so readers see either no part or
    the whole part, and two writers can never overwrite each other's parts.
    """
    if not rows:
        raise ValueError("write_part: no rows to write")
    parts = Path(results_dir) / PARTS
    parts.mkdir(parents=True, exist_ok=True)
    _sweep_once(parts)
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=RESULT_SCHEMA)
    stamp = now_utc().strftime("%Y%m%dT%H%M%S")
    final = parts / f"{stamp}-{run_id}-{seq:04d}.parquet"
    return _write_atomically(table, parts, lambda tmp: _publish(tmp, final))


def _write_atomically(table: pa.Table, folder: Path, publish: Callable[[str], Path]) -> Path:
    """Write ``table`` to a temp file in ``folder``, flush it to disk, give it its final name
    with ``publish(tmp) -> final``, and flush the folder's entries; no temp file is left behind."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}{_HOST}-{os.getpid()}-", suffix=TEMP_SUFFIX)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; results are meant to be shared
        _fsync(tmp)
        final = publish(tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync(folder)
    return final


def _publish(tmp: str, final: Path) -> Path:
    """Give the finished temp file its final name; never replaces an existing file.

    ``os.link`` fails when the name exists (atomically), so a clash -- the same run id and
    seq in the same second -- gets the next free ``-<k>`` suffix instead of losing rows.
    """
    for k in range(1000):
        target = final if k == 0 else final.with_name(f"{final.stem}-{k}{final.suffix}")
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            continue
        except OSError as e:  # a filesystem without hard links: check, then rename
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EACCES):
                raise
            if target.exists():
                continue
            os.replace(tmp, target)
            return target
    raise FileExistsError(f"no free part file name for {final}")


def _fsync(path: str | Path) -> None:
    """Flush a file (or a folder's entries) to disk; best effort where the OS cannot."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- temp files

TEMP_PREFIX, TEMP_SUFFIX = ".writing-", ".tmp"
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:63] or "host"
_TEMP_RE = re.compile(r"^\.writing-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")
# A part is computed in memory before it is written, so a temp file lives for the few
# milliseconds of one parquet write. One older than this is stale whoever wrote it:
STALE_TEMP_SECONDS = 3600
# ... and one whose writer (on this host) is dead is stale after this grace period (the grace
# covers a writer in another PID namespace that shares this host name):
DEAD_WRITER_GRACE_SECONDS = 60
_swept: set[Path] = set()


def temp_files(results_dir: str | Path) -> list[Path]:
    """Every ``.writing-*.tmp`` file in ``parts/`` (in-progress or interrupted writes)."""
    return sorted((Path(results_dir) / PARTS).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: assume alive
    return True


def stale_temp_files(results_dir: str | Path, *, now: float | None = None) -> list[Path]:
    """Temp files no writer will finish: older than ``STALE_TEMP_SECONDS``, or written by a
    process of this host that is no longer alive (and older than ``DEAD_WRITER_GRACE_SECONDS``).

    A temp file of a live writer is never stale, so deleting these is safe while other runs
    write to the same store.
    """
    now = time.time() if now is None else now
    stale = []
    for path in temp_files(results_dir):
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:  # published or removed meanwhile
            continue
        m = _TEMP_RE.match(path.name)
        dead_writer = (m is not None and m["host"] == _HOST and int(m["pid"]) != os.getpid()
                       and not _pid_alive(int(m["pid"])))
        if age > STALE_TEMP_SECONDS or (dead_writer and age > DEAD_WRITER_GRACE_SECONDS):
            stale.append(path)
    return stale


def remove_stale_temp_files(results_dir: str | Path) -> list[Path]:
    """Delete the stale temp files (see :func:`stale_temp_files`); returns those removed."""
    removed = []
    for path in stale_temp_files(results_dir):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def _sweep_once(parts: Path) -> None:
    """Remove stale temp files on the first write of this process into ``parts``."""
    key = parts.resolve()
    if key not in _swept:
        _swept.add(key)
        try:
            remove_stale_temp_files(parts.parent)
        except OSError:  # cleaning up is never worth failing a write
            pass


def write_corpus_facts(results_dir: Path, corpus_hash: str, corpus: str, facts) -> Path | None:
    """Store the raw-text facts (``tokbench.textnorm.TextFacts``) of the corpus ``corpus_hash``
    once: ``corpora/<corpus_hash>.parquet``, one row per language and one for ``"*"``. The hash
    names the text, so an existing file already says the same and is left alone (None)."""
    if not corpus_hash or facts is None or not facts.counts:
        return None
    folder = Path(results_dir) / CORPORA
    final = folder / f"{corpus_hash}.parquet"
    if final.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    created = now_utc()
    rows = [{"corpus_hash": corpus_hash, "corpus": corpus, **r, "created_at": created} for r in facts.records()]

    def publish(tmp: str) -> Path:  # the same hash names the same facts: a concurrent writer's copy is as good
        os.replace(tmp, final)
        return final

    return _write_atomically(pa.Table.from_pylist(rows), folder, publish)


def load_corpus_facts(results_dir: str | Path = "results") -> pd.DataFrame:
    """Every stored corpus's facts (:func:`write_corpus_facts`); an unreadable file is named in
    a warning and skipped."""
    frames = []
    for path in sorted((Path(results_dir) / CORPORA).glob("*.parquet")):
        try:
            frames.append(pq.read_table(path).to_pandas())
        except Exception as e:
            warnings.warn(f"skipping unreadable corpus facts {path}: {type(e).__name__}: {e}", StoreWarning,
                          stacklevel=2)
    if not frames:
        return pd.DataFrame(columns=["corpus_hash", "corpus", "lang", "normalize"])
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- reading


def part_files(results_dir: Path) -> list[Path]:
    return sorted((Path(results_dir) / PARTS).glob("*.parquet"))


class BadPart(Exception):
    """A part file that cannot be read as results (the message says why)."""


def _same_kind(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether a column of type ``src`` may be cast to the schema's ``dst`` on read."""
    if pa.types.is_dictionary(src):
        src = src.value_type
    if pa.types.is_null(src) or src == dst:
        return True
    groups = [(pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view),
              (pa.types.is_integer, pa.types.is_floating), (pa.types.is_timestamp,)]
    return any(any(g(src) for g in group) and any(g(dst) for g in group) for group in groups)


def _upgrade(table: pa.Table, path: Path) -> pa.Table:
    """Bring a part of any schema version to the current columns and types: a missing column
    (e.g. ``config_hash`` in a v1 part) reads as nulls of its type; an unknown one is dropped;
    a compatible type (int64 -> int32, large_string -> string, ...) is cast. A column whose
    type cannot hold the schema's (text in ``value`` ...) makes the part bad."""
    cols = []
    for f in RESULT_SCHEMA:
        if f.name not in table.column_names:
            cols.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table.column(f.name)
        if col.type != f.type:
            if not _same_kind(col.type, f.type):
                raise BadPart(f"column {f.name!r} has type {col.type}, expected {f.type}")
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise BadPart(f"column {f.name!r} cannot be read as {f.type}: {e}") from e
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=RESULT_SCHEMA)


def read_part(path: str | Path) -> pa.Table:
    """One part file as a table of the current schema; raises :class:`BadPart` when it is
    unreadable (corrupt, truncated, empty, not parquet), lacks a required column or has a
    column of an incompatible type."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise BadPart(f"unreadable: {type(e).__name__}: {e}") from e
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise BadPart(f"missing columns {missing}")
    return _upgrade(table, Path(path))


# one result: reruns (and concurrent runs) append rows with the same key and a later created_at
CELL_KEY = ("suite", "tokenizer", "corpus", "lang", "metric", "variant", "model")


def latest(df: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (suite, tokenizer, corpus, lang, metric, variant, model), the newest row.

    Newest is the latest ``created_at``; rows without a timestamp lose to rows with one, and
    among equal timestamps the row that comes last in ``df`` wins. Null keys (e.g. ``model``
    for tokenizer-only metrics) compare equal. Returns the kept rows in their original
    order, with a fresh index.
    """
    import numpy as np

    if df.empty:
        return df.copy().reset_index(drop=True)
    keys = [k for k in CELL_KEY if k in df.columns]
    work = df.reset_index(drop=True)
    order = pd.DataFrame({k: work[k].astype(object).where(work[k].notna(), None) for k in keys})
    order["_pos_"] = np.arange(len(work))
    if "created_at" in work.columns:
        order["_ts"] = pd.to_datetime(work["created_at"], utc=True, errors="coerce")
        order = order.sort_values(["_ts", "_pos_"], kind="mergesort", na_position="first")
    kept = order.drop_duplicates(subset=keys, keep="last")["_pos_"].sort_values()
    return work.iloc[kept.to_numpy()].reset_index(drop=True)


def load_results(results_dir: str | Path = "results", *, warn: bool = True, all_rows: bool = False) -> pd.DataFrame:
    """The stored results as a pandas DataFrame (columns: ``tokbench.schema.COLUMNS``): one row
    per result, the newest (:func:`latest`; a rerun or a concurrent run of the same work
    supersedes the older row), or every row ever written with ``all_rows=True`` (the history:
    resume keys, ``run:<id>`` lookups, audits).

    A bad part is skipped with a :class:`StoreWarning` naming it; temp files of writes in
    progress (or interrupted) are never read.

    >>> load_results("/nonexistent").empty
    True
    """
    tables = []
    for path in part_files(Path(results_dir)):
        try:
            tables.append(read_part(path))
        except FileNotFoundError:  # moved to quarantine/ since it was listed
            continue
        except BadPart as e:  # corrupt/truncated/malformed: name it, skip it
            if warn:
                warnings.warn(f"skipping unreadable results part {path}: {e} "
                              "(`tokbench validate-store --quarantine` moves it aside)", StoreWarning, stacklevel=2)
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _empty_dtypes().items()})
    # one conversion of one table: every part has the same column types, whatever its version
    df = pa.concat_tables(tables).to_pandas()
    return df if all_rows else latest(df)


def _empty_dtypes() -> dict[str, str]:
    return {f.name: ("float64" if pa.types.is_floating(f.type) else "object") for f in RESULT_SCHEMA}


def completed_keys(df: pd.DataFrame) -> set[tuple]:
    """(suite, suite_version, tokenizer, tokenizer_hash, corpus_hash, metric, metric_version, config_hash)
    already stored: the resume key. A row missing any of these (a schema v1 row has no
    ``config_hash``) proves nothing is done, so a rerun recomputes its work."""
    if df.empty:
        return set()
    cols = ["suite", "suite_version", "tokenizer", "tokenizer_hash", "corpus_hash", "metric", "metric_version",
            "config_hash"]
    return set(map(tuple, df[cols].dropna().astype(str).drop_duplicates().itertuples(index=False)))


REQUIRED = ("suite", "tokenizer", "tokenizer_hash", "corpus", "corpus_hash", "lang", "metric", "variant", "value")
QUARANTINE = "quarantine"


def validate_store(results_dir: str | Path, *, quarantine: bool = False) -> list[tuple[Path, str]]:
    """Check every part file; return (path, problem) for the bad ones.

    A part is bad when ``load_results`` would skip it (unreadable, missing a required column,
    a column of the wrong type), when it has no rows, or when a newer tokbench wrote it.
    With ``quarantine=True`` each bad part is moved to ``<results>/quarantine/`` (never
    deleted, never replacing a file there), so loading the store no longer warns about it.

    Stale temp files of interrupted writes (:func:`stale_temp_files`) are not parts: they are
    named in a :class:`StoreWarning`, and deleted with ``quarantine=True``.
    """
    problems = []
    for path in part_files(Path(results_dir)):
        try:
            table = read_part(path)
        except FileNotFoundError:
            continue
        except BadPart as e:
            problems.append((path, str(e)))
            continue
        if table.num_rows == 0:
            problems.append((path, "no rows"))
            continue
        versions = {v for v in table.column("schema_version").to_pylist() if v is not None}
        if any(v > SCHEMA_VERSION for v in versions):
            problems.append((path, f"written by a newer tokbench (schema {sorted(versions)} > {SCHEMA_VERSION})"))
    if quarantine and problems:
        qdir = Path(results_dir) / QUARANTINE
        qdir.mkdir(parents=True, exist_ok=True)
        for path, _ in problems:
            target, k = qdir / path.name, 0
            while target.exists():
                k += 1
                target = qdir / f"{path.stem}-{k}{path.suffix}"
            os.replace(path, target)
    stale = stale_temp_files(results_dir)
    if stale:
        if quarantine:
            stale = remove_stale_temp_files(results_dir)
        what = "deleted" if quarantine else "`tokbench validate-store --quarantine` deletes them"
        if stale:
            warnings.warn(f"{len(stale)} stale temp file(s) of interrupted writes in {Path(results_dir) / PARTS} "
                          f"(never read as results; {what}): {', '.join(p.name for p in stale)}",
                          StoreWarning, stacklevel=2)
    return problems
