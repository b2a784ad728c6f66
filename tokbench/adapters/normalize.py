"""Unicode normalisation applied by tokbench before a backend encodes (``normalize = "NFC"``).

Some tokenizers normalise their input in code that the vocabulary file does not carry: Qwen2's
tokenizer class applies NFC before its BPE, and the ``tokenizer.json`` files of GPT-NeoX and
Command-R declare an NFC normaliser that a tiktoken ranks file or a GGUF vocabulary loses. A
registry entry restores it with ``normalize = "NFC"`` (or ``"NFKC"``, ``"NFD"``, ``"NFKD"``);
the form enters the tokenizer fingerprint.

:func:`apply_normalization` turns a built tokenizer into one that normalises every text before
``encode_batch`` / ``encode_aligned``. It swaps the object's class for a subclass of its own
class, so ``isinstance`` checks and backend attributes (``enc``, ``tk``, ``sp``) still hold.
Token spans stay in the coordinates of the text as given: for a document the normaliser
changes, the text is cut into segments whose normalisations concatenate to the normalised
document (a segment starts at a character that cannot compose with what precedes it), and
a position inside the normalised text maps to the same segment of the original.

>>> from tokbench.adapters.byte import ByteTokenizer
>>> tok = apply_normalization(ByteTokenizer(name="b"), "NFC")
>>> tok.encode_batch(["e\\u0301"]) == ByteTokenizer(name="b").encode_batch(["\\u00e9"])
True
"""
from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np

FORMS = ("NFC", "NFKC", "NFD", "NFKD")  # = tokbench.registry.NORMALIZE_FORMS


def _is_boundary_char(ch: str) -> bool:
    """A starter whose decomposition also begins with a starter (no reordering reaches past it)."""
    return unicodedata.combining(ch) == 0 and unicodedata.combining(unicodedata.normalize("NFD", ch)[0]) == 0


def segments(text: str, form: str) -> list[tuple[int, int]]:
    """Character ranges of ``text`` whose ``form`` normalisations, joined, give the whole
    normalised text. A cut is made before a starter that does not compose with the segment
    so far (Hangul jamo and two-part vowels stay with their syllable); if the joined result
    were ever different, the whole text is one segment.

    >>> segments("Vie\\u0323\\u0302t a", "NFC")
    [(0, 1), (1, 2), (2, 5), (5, 6), (6, 7), (7, 8)]
    """
    norm = unicodedata.normalize
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(text)):
        ch = text[i]
        if _is_boundary_char(ch) and norm(form, text[start:i]) + norm(form, ch) == norm(form, text[start:i + 1]):
            out.append((start, i))
            start = i
    if text:
        out.append((start, len(text)))
    if "".join(norm(form, text[a:b]) for a, b in out) != norm(form, text):
        return [(0, len(text))] if text else []
    return out


def position_map(text: str, form: str, unit: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(normalised starts, normalised ends, original starts, original ends) of the segments of
    ``text``, in ``unit`` ("byte": UTF-8 bytes, "char": code points)."""
    size = (lambda s: len(s.encode("utf-8"))) if unit == "byte" else len
    ns, ne, os_, oe = [], [], [], []
    n_pos = o_pos = 0
    for a, b in segments(text, form):
        piece = text[a:b]
        n_len, o_len = size(unicodedata.normalize(form, piece)), size(piece)
        ns.append(n_pos)
        ne.append(n_pos + n_len)
        os_.append(o_pos)
        oe.append(o_pos + o_len)
        n_pos += n_len
        o_pos += o_len
    return (np.asarray(ns, np.int64), np.asarray(ne, np.int64), np.asarray(os_, np.int64), np.asarray(oe, np.int64))


def map_positions(pos: np.ndarray, seg: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Positions in the normalised text -> positions in the original: segment starts map
    exactly, a position inside a segment proportionally within it (monotone)."""
    ns, ne, os_, oe = seg
    if len(ns) == 0:
        return np.zeros_like(pos)
    k = np.clip(np.searchsorted(ns, pos, side="right") - 1, 0, len(ns) - 1)
    n_len = np.maximum(ne[k] - ns[k], 1)
    inside = np.clip(pos - ns[k], 0, ne[k] - ns[k])
    return os_[k] + (inside * (oe[k] - os_[k])) // n_len


class _Normalizing:
    """Mixin put in front of a tokenizer's class by :func:`apply_normalization`."""

    normalize_form: str = "NFC"

    def _normalized(self, texts: Sequence[str]) -> list[str]:
        form = self.normalize_form
        return [t if unicodedata.is_normalized(form, t) else unicodedata.normalize(form, t) for t in texts]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return super().encode_batch(self._normalized(texts))

    def encode_aligned(self, texts: Sequence[str]):
        texts = list(texts)
        norm = self._normalized(texts)
        al = super().encode_aligned(norm)
        for d, (t, n) in enumerate(zip(texts, norm)):
            if t is n or t == n:
                continue
            a, b = int(al.offsets[d]), int(al.offsets[d + 1])
            seg = position_map(t, self.normalize_form, al.unit)
            al.starts[a:b] = map_positions(np.asarray(al.starts[a:b], np.int64), seg)
            al.ends[a:b] = map_positions(np.asarray(al.ends[a:b], np.int64), seg)
        return al

    def __repr__(self) -> str:
        return f"<{type(self).__mro__[2].__name__} {self.name} vocab={self.vocab_size} normalize={self.normalize_form}>"


_CLASSES: dict[tuple[type, str], type] = {}


def apply_normalization(tok, form: str):
    """Make ``tok`` normalise its input to ``form`` before encoding (in place; returns it)."""
    if form not in FORMS:
        raise ValueError(f"unknown Unicode normalisation form {form!r}; known: {', '.join(FORMS)}")
    cls = type(tok)
    if issubclass(cls, _Normalizing):
        cls = cls.__mro__[2]
    key = (cls, form)
    if key not in _CLASSES:
        _CLASSES[key] = type(f"{cls.__name__}{form}", (_Normalizing, cls), {"normalize_form": form,
                                                                          "__module__": cls.__module__})
    tok.__class__ = _CLASSES[key]
    return tok
