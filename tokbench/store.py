"""The results store: long-format parquet part files under ``<results>/parts/``.

* One part file per finished unit of work (tokenizer x corpus) of a run, named
  ``<UTC time>-<run id>-<seq>.parquet``; written to a temp file in the same folder, then
  renamed (atomic), so an interrupted run keeps every finished part and never leaves a
  half-written one.
* ``load_results`` reads every part; a corrupt or truncated part is named in a warning and
  skipped, never silently dropped and never fatal.
* Every row carries ``schema_version``; older versions are upgraded on read.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import COLUMNS, RESULT_SCHEMA, SCHEMA_VERSION

PARTS = "parts"


class StoreWarning(UserWarning):
    pass


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def write_part(rows: list[dict], results_dir: Path, *, run_id: str, seq: int) -> Path:
    """Write rows as one part file atomically; returns its path."""
    if not rows:
        raise ValueError("write_part: no rows to write")
    parts = Path(results_dir) / PARTS
    parts.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=RESULT_SCHEMA)
    stamp = now_utc().strftime("%Y%m%dT%H%M%S")
    final = parts / f"{stamp}-{run_id}-{seq:04d}.parquet"
    fd, tmp = tempfile.mkstemp(dir=parts, prefix=".writing-", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; results are meant to be shared
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return final


def part_files(results_dir: Path) -> list[Path]:
    return sorted((Path(results_dir) / PARTS).glob("*.parquet"))


def _upgrade(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Bring a part written by an older schema version up to the current columns."""
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA
    return df[list(COLUMNS)]


def load_results(results_dir: str | Path = "results", *, warn: bool = True) -> pd.DataFrame:
    """Every stored row as a pandas DataFrame (columns: ``tokbench.schema.COLUMNS``).

    >>> load_results("/nonexistent").empty
    True
    """
    frames = []
    for path in part_files(Path(results_dir)):
        try:
            df = pq.read_table(path).to_pandas()
        except Exception as e:  # corrupt/truncated parquet: name it, skip it
            if warn:
                warnings.warn(f"skipping unreadable results part {path}: {type(e).__name__}: {e} "
                              "(`tokbench validate-store` can quarantine it)", StoreWarning, stacklevel=2)
            continue
        frames.append(_upgrade(df, path))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _empty_dtypes().items()})
    return pd.concat(frames, ignore_index=True)


def _empty_dtypes() -> dict[str, str]:
    return {f.name: ("float64" if pa.types.is_floating(f.type) else "object") for f in RESULT_SCHEMA}


def completed_keys(df: pd.DataFrame) -> set[tuple]:
    """(suite, suite_version, tokenizer, tokenizer_hash, corpus_hash, metric, metric_version, config_hash)
    already stored: the resume key."""
    if df.empty:
        return set()
    cols = ["suite", "suite_version", "tokenizer", "tokenizer_hash", "corpus_hash", "metric", "metric_version",
            "config_hash"]
    return set(map(tuple, df[cols].astype(str).drop_duplicates().itertuples(index=False)))


def schema_version() -> int:
    return SCHEMA_VERSION


REQUIRED = ("suite", "tokenizer", "tokenizer_hash", "corpus", "corpus_hash", "lang", "metric", "variant", "value")
QUARANTINE = "quarantine"


def validate_store(results_dir: str | Path, *, quarantine: bool = False) -> list[tuple[Path, str]]:
    """Check every part file; return (path, problem) for the bad ones.

    With ``quarantine=True`` each bad part is moved to ``<results>/quarantine/`` (never
    deleted), so loading the store no longer warns about it.
    """
    problems = []
    for path in part_files(Path(results_dir)):
        try:
            table = pq.read_table(path)
        except Exception as e:
            problems.append((path, f"unreadable: {type(e).__name__}: {e}"))
            continue
        missing = [c for c in REQUIRED if c not in table.column_names]
        if missing:
            problems.append((path, f"missing columns {missing}"))
        elif table.num_rows == 0:
            problems.append((path, "no rows"))
        elif "schema_version" in table.column_names:
            versions = set(table.column("schema_version").to_pylist())
            if any(v is not None and v > SCHEMA_VERSION for v in versions):
                problems.append((path, f"written by a newer tokbench (schema {sorted(versions)} > {SCHEMA_VERSION})"))
    if quarantine and problems:
        qdir = Path(results_dir) / QUARANTINE
        qdir.mkdir(parents=True, exist_ok=True)
        for path, _ in problems:
            os.replace(path, qdir / path.name)
    return problems
