"""The narrow Tokenizer protocol every backend implements, and shared alignment helpers.

A backend needs only: batch encode without special tokens, decode, the bytes of a single
token, the vocabulary size and its UNK / byte-fallback / special ids. ``encode_aligned``
(token spans in the original text) has a generic implementation from per-token surface
byte lengths; backends with native offsets override it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


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
    lens = np.fromiter((len(x) for x in ids_list), dtype=np.int64, count=len(ids_list))
    offsets = np.zeros(len(ids_list) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    if offsets[-1] == 0:
        return np.zeros(0, dtype=np.int64), offsets
    flat = np.fromiter(itertools.chain.from_iterable(ids_list), dtype=np.int64, count=int(offsets[-1]))
    return flat, offsets


def utf8_len(texts: Sequence[str]) -> np.ndarray:
    return np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))


class BaseTokenizer:
    """Shared behaviour: span alignment from a per-token surface byte-length table.

    Subclasses set ``self._surface_len`` (np.int64 array over ids: the UTF-8 length the token
    contributes to the text) and ``self._dummy_prefix`` (SentencePiece adds a leading space
    that is not in the text), and implement ``exact_spans(text)`` for documents where the
    table does not add up (normalisation, UNK).
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

    def roundtrip_ok(self, texts: Sequence[str], ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Per document: ``decode(encode(text)) == text`` (ids in CSR layout)."""
        return np.fromiter((self.decode(ids[offsets[d]:offsets[d + 1]].tolist()) == t for d, t in enumerate(texts)),
                           dtype=bool, count=len(texts))

    def exact_spans(self, text: str) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(ids, byte starts, byte ends) for one text, from the backend's exact offsets."""
        raise NotImplementedError(f"{type(self).__name__} has no exact offsets")

    def encode_aligned(self, texts: Sequence[str]) -> Aligned:
        texts = list(texts)
        ids, offsets = flatten(self.encode_batch(texts))
        lens = self._surface_len[ids] if len(ids) else np.zeros(0, dtype=np.int64)
        if self._dummy_prefix and len(ids):
            # the first piece of each doc carries a space that is not in the text
            nonempty = offsets[:-1] < offsets[1:]
            firsts = offsets[:-1][nonempty]
            adjust = self._starts_with_marker[ids[firsts]]
            lens = lens.copy()
            lens[firsts[adjust]] -= 1
        ends = np.cumsum(lens)
        doc_base = np.concatenate([[0], ends])[offsets[:-1]]
        tok_doc = np.repeat(np.arange(len(texts)), np.diff(offsets))
        ends = ends - doc_base[tok_doc]
        starts = ends - lens
        totals = np.zeros(len(texts), dtype=np.int64)
        np.add.at(totals, tok_doc, lens)
        bad = np.flatnonzero(totals != utf8_len(texts))
        if len(bad):
            starts, ends = starts.copy(), ends.copy()
            for d in bad.tolist():
                exact_ids, s, e = self.exact_spans(texts[d])
                a, b = offsets[d], offsets[d + 1]
                if len(exact_ids) != b - a:
                    raise RuntimeError(f"{self.name}: exact and batch encodings disagree on document {d}")
                starts[a:b], ends[a:b] = s, e
        return Aligned(ids=ids, offsets=offsets, starts=starts, ends=ends, unit="byte")
