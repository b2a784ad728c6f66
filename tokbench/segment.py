"""Word (unit) segmentation, declared per language -- never guessed silently.

Segmenters return character spans ``(starts, ends)`` of the units of a text. The segmenter
used for each language is stored with every result row (``params.segmenter``).

* ``whitespace``: runs of non-space characters (``\\S+``), tokka-bench's word.
* ``unicode_words``: runs of letters, marks and digits; punctuation is not a word.
* ``chars``: one unit per character (with its combining marks) of Han, Hiragana, Katakana,
  Thai, Lao, Khmer and Myanmar; runs of other letters/digits (e.g. Latin inside Japanese)
  are words.
* ``tibetan_syllables``: syllables delimited by the tsheg (U+0F0B), shad and spaces.

>>> word_spans("Hello, wide world", "whitespace")[0].tolist()
[0, 7, 12]
>>> len(word_spans("人人生而自由", "chars")[0])
6
"""
from __future__ import annotations

import functools

import numpy as np
import regex

_CHAR_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"

PATTERNS: dict[str, str] = {
    "whitespace": r"\S+",
    "unicode_words": r"[\p{L}\p{M}\p{N}]+",
    "chars": rf"[{_CHAR_SCRIPTS}]\p{{M}}*|[^\s\p{{P}}\p{{S}}{_CHAR_SCRIPTS}]+",
    "tibetan_syllables": r"[^\s\u0F0B\u0F0C\u0F0D-\u0F14\p{P}]+",
}
SEGMENTERS = tuple(PATTERNS)

# Languages whose writing does not delimit words with spaces (BCP-47 primary subtag, or the
# full tag for script variants). Everything else defaults to ``whitespace``.
_LANG_DEFAULTS: dict[str, str] = {
    **{t: "chars" for t in ("zh", "zh-Hant", "zh-Hans", "yue", "wuu", "hak", "nan", "gan", "hsn",
                           "cmn", "ja", "th", "lo", "km", "my", "shn", "kjg", "tdd", "lis", "ii")},
    "bo": "tibetan_syllables", "dz": "tibetan_syllables",
    # Ethiopic separates words with the wordspace mark U+1361 (punctuation), not spaces
    "am": "unicode_words", "ti": "unicode_words", "tig": "unicode_words", "gez": "unicode_words",
}


def default_segmenter(lang: str) -> str:
    """The declared default segmenter for a BCP-47 language tag."""
    if lang in _LANG_DEFAULTS:
        return _LANG_DEFAULTS[lang]
    return _LANG_DEFAULTS.get(lang.split("-")[0].split("_")[0], "whitespace")


def segmenters_for(langs, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Language -> segmenter for ``langs``: the suite's ``[segmenters]`` override, else the default."""
    return {lang: (overrides or {}).get(lang) or default_segmenter(lang) for lang in langs}


@functools.lru_cache(maxsize=None)
def _compiled(segmenter: str) -> regex.Pattern:
    try:
        return regex.compile(PATTERNS[segmenter])
    except KeyError:
        raise ValueError(f"unknown segmenter {segmenter!r}; choose one of {', '.join(SEGMENTERS)}") from None


def word_spans(text: str, segmenter: str) -> tuple[np.ndarray, np.ndarray]:
    """Character spans of the units of ``text``: two int64 arrays (starts, ends)."""
    spans = [m.span() for m in _compiled(segmenter).finditer(text)]
    if not spans:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.asarray(spans, dtype=np.int64)
    return arr[:, 0].copy(), arr[:, 1].copy()


@functools.lru_cache(maxsize=None)
def _space_table() -> np.ndarray:
    """``table[c]``: code point ``c`` is a space for ``\\s`` of the ``regex`` module (all such code
    points are below U+3001; computed from ``regex`` itself, so the two never disagree)."""
    pat = regex.compile(r"\s")
    return np.fromiter((pat.match(chr(c)) is not None for c in range(0x3001)), dtype=bool, count=0x3001)


def whitespace_spans(cps: np.ndarray, doc_char0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``whitespace`` segmenter (runs of non-space characters) over many documents at once:
    ``cps`` are the code points of the documents concatenated, ``doc_char0`` (D+1) where each
    starts. Global character spans; a run never crosses a document start. The same spans as
    :func:`word_spans` document by document, without a Python loop over words.

    >>> cps = np.frombuffer("ab c\u00a0d".encode("utf-32-le"), dtype=np.uint32)
    >>> [x.tolist() for x in whitespace_spans(cps, np.array([0, 2, 6]))]
    [[0, 2, 3, 5], [2, 3, 4, 6]]
    """
    table = _space_table()
    n = len(cps)
    word = np.ones(n, dtype=bool)
    low = cps < len(table)
    word[low] = ~table[cps[low]]
    cut = np.zeros(n + 1, dtype=bool)  # a boundary before position i (document starts, the end)
    cut[np.minimum(doc_char0, n)] = True
    prev = np.concatenate([[False], word[:-1]])
    nxt = np.concatenate([word[1:], [False]])
    starts = np.flatnonzero(word & (~prev | cut[:-1]))
    ends = np.flatnonzero(word & (~nxt | cut[1:])) + 1
    return starts.astype(np.int64), ends.astype(np.int64)


def words(text: str, segmenter: str) -> list[str]:
    return [m.group() for m in _compiled(segmenter).finditer(text)]
