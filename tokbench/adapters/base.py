"""The narrow Tokenizer protocol every backend implements, and shared alignment helpers.

A backend needs only: batch encode without special tokens, decode, the bytes of a single
token, the vocabulary size and its UNK / byte-fallback / special ids. ``encode_aligned``
(token spans in the original text) has a generic implementation from per-token surface
byte lengths; backends with native offsets override it.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np


def backend_threads() -> int:
    """Threads a tokenizer library may use for one batch: ``$TOKBENCH_THREADS`` (set in each
    worker process to its share of the cores, so W workers do not start W x cores threads),
    else the cores this process may run on."""
    try:
        n = int(os.environ.get("TOKBENCH_THREADS") or 0)
    except ValueError:
        n = 0
    if n > 0:
        return n
    from ..workers import default_workers

    return default_workers()


def _resolve(ref: str | Callable) -> Callable:
    """A callable, or the object a ``"package.module:attr"`` string names (imported now)."""
    if callable(ref):
        return ref
    from ..plugins import load_object

    return load_object(ref)


@dataclass(frozen=True)
class Backend:
    """What tokbench knows about one tokenizer backend (``backend = "..."`` in a registry entry).

    Each adapter module declares its records at module level; :data:`tokbench.adapters.BACKENDS`
    lists them by lazy reference, and a plug-in package adds its own through the
    ``tokbench.backends`` entry-point group (the entry point's object is a ``Backend``).

    * ``builder``: ``"module:function"`` (imported on first build) or the function itself; it is
      called as ``builder(name=..., files={role: Path}, **spec_fields, **fixed_kwargs)`` and
      returns a :class:`Tokenizer`. A registry entry's ``impl`` overrides it.
    * ``default_role``: the file role of the ``path = "..."`` shorthand of a registry entry.
    * ``suffixes``: file suffixes (lower case, with the dot) that a tokenizer path given on the
      command line maps to this backend; ``"/"`` claims directories.
    * ``spec_fields``: the :class:`~tokbench.registry.TokenizerSpec` fields passed to the builder
      as keyword arguments (tiktoken: ``encoding``, ``pattern``, ``n_special``).
    * ``fixed_kwargs``: constant keyword arguments for the builder (tekken: ``tekken=True``).
    * ``fingerprint_extra``: ``(spec) -> iterable of str`` (or its ``"module:attr"``), extra
      strings hashed into the tokenizer fingerprint (gguf: the converter version, so that a
      converter fix is a new tokenizer).
    * ``hf_export``: how ``tokbench transplant`` turns this backend's tokenizer into a Hugging
      Face fast tokenizer: ``"tiktoken"`` (rebuilt from the ranks), ``"transformers"`` (the
      fast tokenizer's own), ``"gguf"`` (the adapter's ``tk``, special roles from the GGUF
      metadata), ``""`` (the adapter's ``tk`` if it is a ``tokenizers.Tokenizer``).
    """

    name: str
    builder: str | Callable
    default_role: str = "file"
    suffixes: tuple[str, ...] = ()
    spec_fields: tuple[str, ...] = ()
    fixed_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    fingerprint_extra: str | Callable[[Any], Iterable[str]] | None = None
    hf_export: str = ""
    description: str = ""

    @property
    def handles_dirs(self) -> bool:
        return "/" in self.suffixes

    def build_function(self) -> Callable[..., Tokenizer]:
        return _resolve(self.builder)

    def builder_kwargs(self, spec: Any) -> dict[str, Any]:
        """The keyword arguments this backend's builder takes from ``spec`` (besides name, files)."""
        missing = [f for f in self.spec_fields if not hasattr(spec, f)]
        if missing:
            raise ValueError(f"tokenizer backend {self.name!r} asks for spec fields {missing}, which a tokenizer "
                             "entry does not have")
        return {**{f: getattr(spec, f) for f in self.spec_fields}, **self.fixed_kwargs}

    def fingerprint_strings(self, spec: Any) -> list[str]:
        if self.fingerprint_extra is None:
            return []
        return [str(s) for s in _resolve(self.fingerprint_extra)(spec)]


@dataclass
class Aligned:
    """A batch of encodings with doc-local token spans (CSR: doc d is ``offsets[d]:offsets[d+1]``)."""

    ids: np.ndarray  # (T,) int64
    offsets: np.ndarray  # (D+1,) int64
    starts: np.ndarray  # (T,) int64, doc-local
    ends: np.ndarray  # (T,)
    unit: str  # "byte" or "char": the unit of starts/ends


@runtime_checkable
class Tokenizer(Protocol):
    name: str
    vocab_size: int
    unk_ids: frozenset[int]
    byte_fallback_ids: frozenset[int]
    special_ids: frozenset[int]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...

    def encode_aligned(self, texts: Sequence[str]) -> Aligned: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_bytes(self, token_id: int) -> bytes: ...


def flatten(ids_list: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(flat int64 ids, CSR offsets) from a list of per-document id lists."""
    lens = np.fromiter(map(len, ids_list), dtype=np.int64, count=len(ids_list))
    offsets = np.zeros(len(ids_list) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    flat = np.fromiter(itertools.chain.from_iterable(ids_list), dtype=np.int64, count=int(offsets[-1]))
    return flat, offsets


def concat(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(flat int64 ids, CSR offsets) from a list of per-document id arrays."""
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays)), out=offsets[1:])
    flat = np.concatenate(arrays, dtype=np.int64, casting="safe") if len(arrays) else np.zeros(0, np.int64)
    return flat, offsets


def char_to_byte(text: str) -> np.ndarray:
    """Byte offset of every character offset 0..len(text) of ``text`` in its UTF-8 encoding."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    out = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000), out=out[1:])
    return out


def refine_split_chars(starts: np.ndarray, ends: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte-precise spans where a backend's native offsets give several tokens the same
    character (byte-level BPE: overlapping spans; SentencePiece byte fallback: empty spans
    then one covering the character).

    Within each cluster of overlapping or empty spans, tokens are laid out one after the
    other by their surface byte lengths ``lens`` -- only if those add up to the cluster's
    extent; otherwise the native spans are kept. This gives the same spans as the
    length-table path.
    """
    s = starts.astype(np.int64, copy=True)
    e = ends.astype(np.int64, copy=True)
    n = len(s)
    irregular = (e == s) | np.concatenate([s[1:] < e[:-1], [False]])
    if not irregular.any():
        return s, e
    k = 0
    s_list, e_list, lens_list = s.tolist(), e.tolist(), lens.tolist()
    while k < n:
        j, end = k, e_list[k]
        while j + 1 < n and (s_list[j + 1] < end or e_list[j] == s_list[j]):
            j += 1
            end = max(end, e_list[j])
        if j > k:
            group = lens_list[k:j + 1]
            if min(group) >= 0 and sum(group) == end - s_list[k]:
                pos = s_list[k]
                for m in range(k, j + 1):
                    s[m], e[m] = pos, pos + lens_list[m]
                    pos += lens_list[m]
        k = j + 1
    return s, e


def utf8_len(texts: Sequence[str]) -> np.ndarray:
    return np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))


class BaseTokenizer:
    """Shared behaviour: span alignment from a per-token surface byte-length table.

    Subclasses set ``self._surface_len`` (np.int64 array over ids: the UTF-8 length the token
    contributes to the text; a large negative value for tokens with no fixed surface, such as
    UNK) and ``self._dummy_prefix`` (SentencePiece adds a leading space that is not in the
    text), and implement ``exact_spans(text)`` (or ``exact_spans_batch``) for documents where
    the table does not add up to the document's length (normalisation, UNK, stripped
    whitespace). ``_needs_exact(texts)`` may flag further documents whose lengths could add up
    by accident (e.g. text a normaliser changes). ``_encode_flat`` may be overridden with a
    faster path to flat numpy ids.
    """

    name: str = "?"
    vocab_size: int = 0
    unk_ids: frozenset[int] = frozenset()
    byte_fallback_ids: frozenset[int] = frozenset()
    special_ids: frozenset[int] = frozenset()
    _surface_len: np.ndarray | None = None
    _dummy_prefix: bool = False
    _starts_with_marker: np.ndarray | None = None  # bool over ids, for _dummy_prefix

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} vocab={self.vocab_size}>"

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def isolated_counts(self, words: list[str]) -> np.ndarray:
        """The number of tokens of each word encoded alone (isolated fertility, STRR); a backend
        may override it with a faster path that gives the same counts."""
        return np.fromiter(map(len, self.encode_batch(words)), dtype=np.int64, count=len(words))

    def roundtrip_ok(self, texts: Sequence[str], ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Per document: ``decode(encode(text)) == text`` (ids in CSR layout)."""
        return np.fromiter((self.decode(ids[offsets[d]:offsets[d + 1]].tolist()) == t for d, t in enumerate(texts)),
                           dtype=bool, count=len(texts))

    def _encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(flat int64 ids, CSR offsets): the same ids as ``encode_batch``."""
        return flatten(self.encode_batch(texts))

    def exact_spans(self, text: str) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(ids, byte starts, byte ends) for one text, from the backend's exact offsets."""
        raise NotImplementedError(f"{type(self).__name__} has no exact offsets")

    def exact_spans_batch(self, texts: list[str]) -> list[tuple[list[int], np.ndarray, np.ndarray]]:
        return [self.exact_spans(t) for t in texts]

    def _needs_exact(self, texts: list[str], candidates: np.ndarray) -> np.ndarray | None:
        """Bool per document (only ``candidates`` need an answer: the others take the exact
        path already) that must take the exact path although its lengths add up."""
        return None

    def _spans_given_ids(self, text: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Byte spans of the known encoding ``ids`` of ``text`` without re-encoding it, or None
        to re-encode with ``exact_spans_batch``."""
        return None

    def encode_aligned(self, texts: Sequence[str]) -> Aligned:
        texts = list(texts)
        ids, offsets = self._encode_flat(texts)
        lens = self._surface_len[ids]  # a fresh array (fancy indexing)
        if self._dummy_prefix and len(ids):
            # the first piece of each doc carries a space that is not in the text
            firsts = offsets[:-1][offsets[:-1] < offsets[1:]]
            lens[firsts[self._starts_with_marker[ids[firsts]]]] -= 1
        # few large temporaries: fresh memory (page faults) costs more than the arithmetic
        cum = np.empty(len(ids) + 1, dtype=np.int64)
        cum[0] = 0
        np.cumsum(lens, out=cum[1:])
        doc_base = cum[offsets[:-1]]
        bad = (cum[offsets[1:]] - doc_base) != utf8_len(texts)
        ends = np.repeat(doc_base, np.diff(offsets))
        np.subtract(cum[1:], ends, out=ends)
        del cum
        starts = ends - lens
        forced = self._needs_exact(texts, ~bad)
        if forced is not None:
            bad |= forced
        pending = []
        for d in np.flatnonzero(bad).tolist():
            a, b = offsets[d], offsets[d + 1]
            spans = self._spans_given_ids(texts[d], ids[a:b])
            if spans is None:
                pending.append(d)
            else:
                starts[a:b], ends[a:b] = spans
        if pending:
            exact = self.exact_spans_batch([texts[d] for d in pending])
            for d, (exact_ids, s, e) in zip(pending, exact):
                a, b = offsets[d], offsets[d + 1]
                if list(exact_ids) != ids[a:b].tolist():
                    raise RuntimeError(f"{self.name}: exact and batch encodings disagree on document {d}")
                starts[a:b], ends[a:b] = refine_split_chars(np.asarray(s), np.asarray(e), lens[a:b])
        return Aligned(ids=ids, offsets=offsets, starts=starts, ends=ends, unit="byte")
