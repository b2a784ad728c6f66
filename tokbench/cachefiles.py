"""Atomic pickle files of tokbench's own caches (shard statistics, model-score chunks).

A damaged or foreign entry is deleted and reported as missing, never trusted; a write goes to a
temporary file in the same folder and is renamed into place, so a killed run leaves either the
old entry or the new one.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any


def load(path: Path, cls: type) -> Any | None:
    """The object pickled at ``path`` if it is a ``cls``, else None."""
    try:
        with open(path, "rb") as fh:
            out = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged entry is recomputed, never trusted
        Path(path).unlink(missing_ok=True)
        return None
    return out if isinstance(out, cls) else None


def entry(kind: str, key: str, suffix: str = ".pkl") -> Path:
    """``<cache>/<kind>/<key[:2]>/<key><suffix>``: where the cache ``kind`` keeps ``key``."""
    from .assets import cache_dir

    return cache_dir() / kind / key[:2] / f"{key}{suffix}"


def save(path: Path, obj: Any) -> None:
    _write(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def save_text(path: Path, text: str) -> None:
    _write(path, text.encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


__all__ = ["entry", "load", "save", "save_text"]
