"""Atomic files of tokbench's own caches (shard statistics, model-score chunks), in a safe format.

An entry is one ``.npz`` file read with ``allow_pickle=False``: its numpy arrays, plus a JSON
document (the ``__json__`` member, UTF-8 bytes) that describes the object with the arrays
referenced by index. Only plain data and the dataclasses a caller names at load time are
rebuilt, so a cache file someone else wrote can at worst be wrong, never run code. A damaged or
foreign entry is deleted and reported as missing, never trusted; a write goes to a temporary
file in the same folder and is renamed into place, so a killed run leaves either the old entry
or the new one.

>>> import tempfile, numpy as np
>>> from tokbench.textnorm import TextFacts
>>> p = Path(tempfile.mkdtemp()) / "x.npz"
>>> save(p, {"n": 3, "a": np.arange(3), "t": ("s", 1.5), "f": TextFacts("NFC", {"en": [1, 2, 0, 0, 0, 0]})})
>>> back = load(p, dict, types=(TextFacts,))
>>> back["a"].tolist(), back["t"], back["f"].form
([0, 1, 2], ('s', 1.5), 'NFC')
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SUFFIX = ".npz"


def load(path: Path, cls: type, *, types: tuple[type, ...] = ()) -> Any | None:
    """The object saved at ``path`` if it is a ``cls``, else None. Dataclass instances are
    rebuilt only for ``cls`` and ``types``; anything else makes the entry foreign."""
    allowed = {_name(t): t for t in (cls, *types) if dataclasses.is_dataclass(t)}
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        doc = json.loads(arrays.pop("__json__").tobytes().decode("utf-8"))
        out = _decode(doc, arrays, allowed)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign entry is recomputed, never trusted
        Path(path).unlink(missing_ok=True)
        return None
    return out if isinstance(out, cls) else None


def entry(kind: str, key: str, suffix: str = SUFFIX) -> Path:
    """``<cache>/<kind>/<key[:2]>/<key><suffix>``: where the cache ``kind`` keeps ``key``."""
    from .assets import cache_dir

    return cache_dir() / kind / key[:2] / f"{key}{suffix}"


def save(path: Path, obj: Any) -> None:
    arrays: list[np.ndarray] = []
    doc = json.dumps(_encode(obj, arrays)).encode("utf-8")
    members = {f"a{i}": a for i, a in enumerate(arrays)}
    members["__json__"] = np.frombuffer(doc, dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **members)
    _write(path, buf.getvalue())


def save_text(path: Path, text: str) -> None:
    _write(path, text.encode("utf-8"))


def _name(t: type) -> str:
    return f"{t.__module__}:{t.__qualname__}"


# JSON holds None, bool, int, float (NaN and infinities as Python's json writes them), str and
# lists; everything else is a one-key object naming what it was.
def _encode(x: Any, arrays: list[np.ndarray]) -> Any:
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.hasobject:
            raise TypeError("object arrays are not cached")
        arrays.append(x)
        return {"array": len(arrays) - 1}
    if isinstance(x, np.generic):
        return {"scalar": [x.dtype.str, x.item()]}
    if isinstance(x, list):
        return [_encode(v, arrays) for v in x]
    if isinstance(x, tuple):
        return {"tuple": [_encode(v, arrays) for v in x]}
    if isinstance(x, dict):
        return {"dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in x.items()]}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {"dataclass": [_name(type(x)),
                              {f.name: _encode(getattr(x, f.name), arrays) for f in dataclasses.fields(x)}]}
    raise TypeError(f"cannot cache a {type(x).__name__}")


def _decode(x: Any, arrays: dict[str, np.ndarray], allowed: dict[str, type]) -> Any:
    if isinstance(x, list):
        return [_decode(v, arrays, allowed) for v in x]
    if not isinstance(x, dict):
        return x
    (tag, value), = x.items()  # ValueError unless one key
    if tag == "array":
        return arrays[f"a{int(value)}"]
    if tag == "scalar":
        return np.dtype(value[0]).type(value[1])
    if tag == "tuple":
        return tuple(_decode(v, arrays, allowed) for v in value)
    if tag == "dict":
        return {_decode(k, arrays, allowed): _decode(v, arrays, allowed) for k, v in value}
    if tag == "dataclass":
        name, fields = value
        cls = allowed[name]  # KeyError: a class the caller did not name
        return cls(**{k: _decode(v, arrays, allowed) for k, v in fields.items()})
    raise ValueError(f"unknown cache entry part {tag!r}")


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


__all__ = ["SUFFIX", "entry", "load", "save", "save_text"]
