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


def words(text: str, segmenter: str) -> list[str]:
    return [m.group() for m in _compiled(segmenter).finditer(text)]
