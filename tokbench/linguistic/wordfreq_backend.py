"""``is_word`` from wordfreq's frequency lists: a word is a list entry with zipf >= ``min_zipf``
(zipf = log10 of frequency per billion words; 3.0 = once per million words). The lookup is
exact (no tokenization of multi-word strings)."""
from __future__ import annotations

import functools
import math

from . import BackendUnavailable, base_lang


@functools.lru_cache(maxsize=1)
def wordfreq_languages() -> frozenset[str]:
    try:
        from wordfreq import available_languages
    except ImportError:
        return frozenset()
    return frozenset(available_languages())


class WordfreqBackend:
    has_words = True
    has_morphemes = False

    def __init__(self, lang: str, min_zipf: float):
        try:
            from importlib.metadata import version

            from wordfreq import get_frequency_dict
        except ImportError as e:
            raise BackendUnavailable("wordfreq is not installed (pip install 'tokbench[lang]')") from e
        b = base_lang(lang)
        if b not in wordfreq_languages():
            raise BackendUnavailable(f"wordfreq has no list for {lang!r}")
        min_freq = 10.0 ** (float(min_zipf) - 9.0)
        self.words = frozenset(w for w, f in get_frequency_dict(b).items() if f >= min_freq * (1 - 1e-9))
        self.min_zipf = float(min_zipf)
        self.name = "wordfreq"
        self.version = f"{version('wordfreq')} ({b}, zipf >= {self.min_zipf:g}, {len(self.words)} words)"
        assert math.isfinite(self.min_zipf)

    def is_word(self, s: str) -> bool:
        return s in self.words

    def is_morpheme(self, s: str) -> bool:
        return False
