"""Any Python object as a tokenizer: ``backend = "python"`` and ``--tokenizer py:MODULE:ATTR``.

``ATTR`` (a class or a zero-argument factory) gives an object with ``encode(text) -> list[int]``
and ``decode(ids) -> str``; optionally ``encode_batch(texts)``, ``vocab_size`` (an int, or a
method) and/or ``get_vocab()`` (surface string -> id; several strings may share one id: the
vocabulary size is then the number of ids, not of strings), ``convert_ids_to_tokens(ids)``,
``encode_with_offsets(text) -> (ids, [(start, end), ...])`` (character offsets: exact token
spans), ``unk_token_id``, ``all_special_ids``, ``invertible = False`` (decode is lossy by design:
the round-trip row says so instead of flagging the tokenizer) and ``data_files`` (the files
it loads: hashed into the fingerprint). ``MODULE`` is a dotted module name (installed or on
``PYTHONPATH``) or the path of a ``.py`` file. Full contract: docs/registry.md#python-tokenizers.

What the object returns is checked on every call: an exception, an id that is not an int or
an id outside ``0..vocab_size-1`` raises :class:`PythonTokenizerError` naming the tokenizer and
the document, so the executor reports that (tokenizer, corpus) unit as failed (exit 1) and
stores every other tokenizer of the run. An object that cannot be imported or built is bad input
(:class:`PythonSpecError`, exit 2 before anything runs).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import BadInput
from .base import Aligned, Backend, BaseTokenizer, char_to_byte, concat
from .pyalign import align_pieces

PREFIX = "py:"
SPAN_NOTE = ("gives no token offsets (no `encode_with_offsets`): its token spans are aligned from each "
             "token's own text, decode([id]); span-based metrics are approximate where that text differs from "
             "the document (docs/registry.md#python-tokenizers)")


class PythonSpecError(BadInput, ValueError):
    """The object of a python tokenizer cannot be imported, built or used (bad input: exit 2)."""


class PythonTokenizerError(RuntimeError):
    """A python tokenizer raised or returned something that is not a valid encoding (the unit fails)."""


def _where(name: str, source: str) -> str:
    return f"--tokenizer {name}" if name == source else f"tokenizer [{name}] ({source})"


def _base_dir(source: str | None) -> Path | None:
    """Relative ``.py`` paths of a registry entry resolve against its TOML file's directory."""
    p = Path(source or "")
    return p.parent if p.suffix == ".toml" else None


def split_ref(ref: str, *, where: str) -> tuple[str, str]:
    module, sep, attr = ref.rpartition(":")
    if not sep or not module or not attr:
        raise PythonSpecError(f"{where}: {ref!r} is not MODULE:ATTR (e.g. `py:mypkg.tok:MyTokenizer` or "
                              "`py:path/to/tok.py:MyTokenizer`)")
    return module, attr


def _is_file_ref(module: str) -> bool:
    return module.endswith(".py") or "/" in module or "\\" in module


def load_module(module: str, *, where: str, base_dir: Path | None = None):
    if _is_file_ref(module):
        path = Path(module)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        path = path.resolve()
        if not path.is_file():
            raise PythonSpecError(f"{where}: the Python file {path} does not exist")
        mod_name = f"_tokbench_py_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
        if mod_name in sys.modules:
            return sys.modules[mod_name]
        spec = importlib.util.spec_from_file_location(mod_name, path)
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[mod_name] = mod
        try:
            spec.loader.exec_module(mod)  # type: ignore[union-attr]
        except Exception as e:
            del sys.modules[mod_name]
            raise PythonSpecError(f"{where}: importing {path} failed: {type(e).__name__}: {e}") from e
        return mod
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise PythonSpecError(f"{where}: cannot import module {module!r} ({e}); install its package, put its "
                              "folder on PYTHONPATH, or give the path of the .py file") from e
    except Exception as e:
        raise PythonSpecError(f"{where}: importing {module!r} failed: {type(e).__name__}: {e}") from e


_INSTANCES: dict[tuple[str, str], tuple[Any, Any]] = {}


def instance(ref: str, *, where: str, base_dir: Path | None = None) -> tuple[Any, Any]:
    """(the tokenizer object, its module): ``ATTR()`` called once per process and reference."""
    key = (ref, str(base_dir))
    if key in _INSTANCES:
        return _INSTANCES[key]
    module, attr = split_ref(ref, where=where)
    mod = load_module(module, where=where, base_dir=base_dir)
    factory: Any = mod
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise PythonSpecError(f"{where}: module {module!r} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise PythonSpecError(f"{where}: {attr!r} is a {type(factory).__name__}, not a class or factory")
    try:
        obj = factory()
    except Exception as e:
        raise PythonSpecError(f"{where}: {attr}() failed: {type(e).__name__}: {e}") from e
    for method in ("encode", "decode"):
        if not callable(getattr(obj, method, None)):
            raise PythonSpecError(f"{where}: {attr}() gives a {type(obj).__name__} without a `{method}` method")
    _INSTANCES[key] = (obj, mod)
    return obj, mod


def data_files(obj: Any, mod: Any, *, where: str) -> list[Path]:
    """The files ``obj.data_files`` declares (relative paths: against its module's directory)."""
    files = getattr(obj, "data_files", None)
    if callable(files):
        files = files()
    if files is None:
        return []
    if isinstance(files, (str, Path)):
        files = [files]
    here = Path(getattr(mod, "__file__", None) or ".").resolve().parent
    out = []
    for f in files:
        p = Path(f)
        p = p if p.is_absolute() else here / p
        if not p.exists():
            raise PythonSpecError(f"{where}: data file {p} (declared in `data_files`) does not exist")
        out.append(p)
    return out


def _digest(path: Path) -> str:
    from ..assets import sha256_file

    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(path)}={sha256_file(f)}".encode())
    return h.hexdigest()


def _distributions(mod: Any) -> list[str]:
    """``name==version`` of the installed distribution(s) holding ``mod``'s top-level package."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    if getattr(mod, "__name__", "").startswith("_tokbench_py_"):
        return []
    out = []
    for dist in sorted(set(packages_distributions().get(mod.__name__.partition(".")[0], []))):
        try:
            out.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return out


def fingerprint_strings(spec: Any) -> list[str]:
    """Hashed into the tokenizer fingerprint: the object reference (file modules by name), the
    distribution name and version, the source of the module and of the object's class, and every
    declared data file's content."""
    where = _where(spec.name, spec.source)
    obj, mod = instance(spec.object, where=where, base_dir=_base_dir(spec.source))
    module, attr = split_ref(spec.object, where=where)
    out = ["python-backend=1", f"attr={attr}",
           f"module-file={Path(module).name}" if _is_file_ref(module) else f"module={module}"]
    out += [f"dist={d}" for d in _distributions(mod)]
    sources = {Path(f).resolve() for m in (mod, sys.modules.get(type(obj).__module__))
               if (f := getattr(m, "__file__", None)) and str(f).endswith(".py")}
    out += [f"source={p.name}={_digest(p)}" for p in sorted(sources)]
    out += [f"data={p.name}={_digest(p)}" for p in data_files(obj, mod, where=where)]
    return out


def _method(obj: Any, name: str) -> Callable | None:
    m = getattr(obj, name, None)
    return m if callable(m) else None


def _preview(text: str) -> str:
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


class PythonTokenizer(BaseTokenizer):
    def __init__(self, obj: Any, *, name: str, ref: str):
        self.name, self.obj, self.ref = name, obj, ref
        self.what = f"python tokenizer {name!r}" + ("" if name == PREFIX + ref else f" (object {ref})")
        self._encode, self._decode = obj.encode, obj.decode
        self._batch = _method(obj, "encode_batch")
        self._offsets = _method(obj, "encode_with_offsets")
        self._to_tokens = _method(obj, "convert_ids_to_tokens")
        self.vocab_size = self._vocab_size()
        self.special_ids = frozenset(self._known_ids("all_special_ids"))
        self.unk_ids = frozenset(self._known_ids("unk_token_id"))
        self.invertible = bool(getattr(obj, "invertible", True))
        self.span_source = "exact" if self._offsets else "aligned"
        self.extra_meta = {"spans": self.span_source, "invertible": self.invertible}
        self._pieces: dict[int, str] = {}

    # --- what the object declares ------------------------------------------------------------
    def _vocab_size(self) -> int:
        size = getattr(self.obj, "vocab_size", None)
        if callable(size):
            size = size()
        vocab = self.obj.get_vocab() if _method(self.obj, "get_vocab") else None
        top = None
        if vocab is not None:
            ids = list(vocab.values())
            if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in ids):
                raise PythonSpecError(f"{self.what}: get_vocab() maps strings to something other than int ids")
            top = max(map(int, ids), default=-1)
        if size is None:
            if top is None:
                raise PythonSpecError(f"{self.what}: the object has neither `vocab_size` nor `get_vocab()`; tokbench "
                                      "needs one of them to know the vocabulary")
            return top + 1  # ids, not strings: several surface strings may share one id
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise PythonSpecError(f"{self.what}: vocab_size is {size!r}, not a positive int")
        if top is not None and top >= size:
            raise PythonSpecError(f"{self.what}: get_vocab() has id {top}, outside vocab_size {int(size)}")
        return int(size)

    def _known_ids(self, attr: str) -> list[int]:
        v = getattr(self.obj, attr, None)
        if v is None:
            return []
        ids = [v] if isinstance(v, (int, np.integer)) else list(v)
        bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, (int, np.integer))
               or not 0 <= i < self.vocab_size]
        if bad:
            raise PythonSpecError(f"{self.what}: `{attr}` has {bad[0]!r}, not an id in 0..{self.vocab_size - 1}")
        return [int(i) for i in ids]

    # --- encoding, checked ---------------------------------------------------------------------
    def _check(self, raw: Any, text: str, call: str = "encode") -> np.ndarray:
        if isinstance(raw, (str, bytes)) or not hasattr(raw, "__len__"):
            raise PythonTokenizerError(f"{self.what}: {call} returned a {type(raw).__name__}, not a list of int "
                                       f"ids (document {_preview(text)})")
        if len(raw) == 0:
            return np.zeros(0, np.int64)
        arr = np.asarray(raw) if not isinstance(raw, np.ndarray) else raw
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            seq = list(raw)
            pos = next((p for p, x in enumerate(seq) if isinstance(x, bool) or not isinstance(x, (int, np.integer))),
                       None)
            if pos is None:  # Python ints too large for int64
                pos = next(p for p, x in enumerate(seq) if not 0 <= x < self.vocab_size)
                self._out_of_vocab(seq[pos], pos, text, call)
            raise PythonTokenizerError(f"{self.what}: {call} returned {seq[pos]!r} ({type(seq[pos]).__name__}) at "
                                       f"position {pos}, not an int id (document {_preview(text)})")
        arr = arr.astype(np.int64, copy=False)
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            pos = int(np.argmax(bad))
            self._out_of_vocab(int(arr[pos]), pos, text, call)
        return arr

    def _out_of_vocab(self, i: int, pos: int, text: str, call: str) -> None:
        raise PythonTokenizerError(f"{self.what}: {call} returned id {i} at position {pos}, outside its vocabulary "
                                   f"0..{self.vocab_size - 1} (vocab_size {self.vocab_size}; document {_preview(text)})")

    def _call(self, fn: Callable, arg: Any, call: str, text: str) -> Any:
        try:
            return fn(arg)
        except Exception as e:
            raise PythonTokenizerError(f"{self.what}: {call} raised {type(e).__name__}: {e} "
                                       f"(document {_preview(text)})") from e

    def _encode_arrays(self, texts: list[str]) -> list[np.ndarray]:
        if self._batch is not None:
            raws = self._call(self._batch, list(texts), "encode_batch", texts[0] if texts else "")
            if not hasattr(raws, "__len__") or len(raws) != len(texts):
                raise PythonTokenizerError(f"{self.what}: encode_batch returned {len(raws) if hasattr(raws, '__len__') else raws!r} "
                                           f"encodings for {len(texts)} texts")
            return [self._check(r, t, "encode_batch") for r, t in zip(raws, texts)]
        return [self._check(self._call(self._encode, t, "encode", t), t) for t in texts]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [a.tolist() for a in self._encode_arrays(list(texts))]

    def _encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return concat(self._encode_arrays(texts))

    def _exact(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = self._call(self._offsets, text, "encode_with_offsets", text)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise PythonTokenizerError(f"{self.what}: encode_with_offsets must return (ids, offsets), got "
                                       f"{type(out).__name__} (document {_preview(text)})")
        ids = self._check(out[0], text, "encode_with_offsets")
        spans = np.asarray(out[1], dtype=np.int64).reshape(-1, 2) if len(out[1]) else np.zeros((0, 2), np.int64)
        if len(spans) != len(ids) or (spans < 0).any() or (spans > len(text)).any() or \
                (spans[:, 0] > spans[:, 1]).any():
            raise PythonTokenizerError(f"{self.what}: encode_with_offsets gave {len(spans)} spans for {len(ids)} ids, "
                                       f"or a span outside 0..{len(text)} characters (document {_preview(text)})")
        return ids, spans[:, 0].copy(), spans[:, 1].copy()

    def encode_aligned(self, texts: Sequence[str]) -> Aligned:
        texts = list(texts)
        if self._offsets is not None:
            parts = [self._exact(t) for t in texts]
            arrays = [p[0] for p in parts]
            starts, ends = [p[1] for p in parts], [p[2] for p in parts]
        else:
            arrays = self._encode_arrays(texts)
            starts, ends = [], []
            for t, a in zip(texts, arrays):
                s, e = self._aligned_spans(t, a.tolist())
                starts.append(s)
                ends.append(e)
        ids, offsets = concat(arrays)
        flat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
        return Aligned(ids=ids, offsets=offsets, starts=flat(starts), ends=flat(ends),
                       unit="char" if self._offsets is not None else "byte")

    def _aligned_spans(self, text: str, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """UTF-8 byte spans from each token's own text (:func:`align_pieces`). A run of tokens whose
        own text holds U+FFFD (parts of one character: byte-level tokens) is decoded together,
        aligned as one piece and its bytes shared among them by their estimated byte lengths."""
        pieces = [self.piece(i) for i in ids]
        weight = [len(x.replace("\ufffd", "").encode()) + x.count("\ufffd") for x in pieces]  # ~ bytes of each
        runs = []
        k = 0
        while k < len(ids):
            m = k
            while "\ufffd" in pieces[m] and m + 1 < len(ids) and "\ufffd" in pieces[m + 1]:
                m += 1
            if m > k:
                pieces[k:m + 1] = [self.decode(ids[k:m + 1])] + [""] * (m - k)
                runs.append((k, m + 1))
            k = m + 1
        starts, ends, _ = align_pieces(text, pieces)
        to_byte = char_to_byte(text)
        starts, ends = to_byte[starts], to_byte[ends]
        for a, b in runs:  # in bytes, by each token's estimated byte length (U+FFFD: one byte)
            s, e = int(starts[a]), int(ends[a])
            cum = np.concatenate([[0], np.cumsum(np.maximum(weight[a:b], 1))])
            cuts = s + ((e - s) * cum) // cum[-1]
            starts[a:b], ends[a:b] = cuts[:-1], cuts[1:]
        return starts, ends

    # --- decoding ------------------------------------------------------------------------------
    def decode(self, ids: Sequence[int]) -> str:
        ids = [int(i) for i in ids]
        out = self._call(self._decode, ids, "decode", f"ids {ids[:8]}")
        if not isinstance(out, str):
            raise PythonTokenizerError(f"{self.what}: decode returned a {type(out).__name__}, not a str")
        return out

    def piece(self, token_id: int) -> str:
        """The token's own text: ``decode([id])`` (``convert_ids_to_tokens`` if that fails)."""
        got = self._pieces.get(token_id)
        if got is None:
            try:
                got = self.decode([token_id])
            except PythonTokenizerError:
                if self._to_tokens is None:
                    raise
                got = str(self._call(self._to_tokens, [token_id], "convert_ids_to_tokens", "")[0])
            self._pieces[token_id] = got
        return got

    def token_bytes(self, token_id: int) -> bytes:
        return self.piece(int(token_id)).encode("utf-8")


def build(*, name: str, object: str, source: str = "", **_: Any) -> PythonTokenizer:
    where = _where(name, source)
    obj, _mod = instance(object, where=where, base_dir=_base_dir(source))
    tok = PythonTokenizer(obj, name=name, ref=object)
    if tok.span_source == "aligned":
        import multiprocessing

        if multiprocessing.parent_process() is None:  # once per build in the run's own process, not per worker
            print(f"tokbench: note: {tok.what} {SPAN_NOTE}", file=sys.stderr)
    return tok


PYTHON = Backend("python", "tokbench.adapters.python:build", spec_fields=("object", "source"),
                 fingerprint_extra="tokbench.adapters.python:fingerprint_strings",
                 description="a Python object with encode/decode (`object = \"module:attr\"`, or "
                             "--tokenizer py:MODULE:ATTR)")
