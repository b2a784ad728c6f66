"""Unicode normalisation of corpora, and how much of a text it changes.

A suite's ``[corpora.NAME]`` entry may set ``normalize = "none" | "NFC" | "NFKC"``; the form is
applied to every document before it is tokenized. The default is ``"NFC"`` for the built-in
``udhr`` corpus and ``"none"`` for every other source (a user's text is measured as given):
see ``docs/suites.md`` ("Unicode normalisation") for the reasons and the Vietnamese example.

Whatever the form, every corpus records, per language, how much of its *raw* text NFC and NFKC
would change (:class:`TextFacts`): documents, characters (code points), and of those the ones
NFC/NFKC rewrites. Facts add up, so a sharded corpus's facts are the sum of its shards'.

"Characters NFC changes" is counted per whitespace-separated word: for a word ``w`` that NFC
rewrites to ``n``, the code points of ``w`` outside the longest common prefix and suffix of
``w`` and ``n`` (a decomposed ``e`` + U+0323 + U+0302 in "Vie\\u0323\\u0302t" counts 3, the
precomposed "ệ" it becomes is one). Whitespace is never changed by NFC and never composes with
a neighbour, so the count does not depend on where a document is cut into words.

>>> changed_chars("Vie\\u0323\\u0302t Nam", "NFC"), changed_chars("Việt Nam", "NFC")
(3, 0)
>>> f = TextFacts.of(["vi", "vi", "en"], ["Vie\\u0323\\u0302t", "Việt", "ﬁne"])
>>> f.counts["vi"], f.counts["en"]
([2, 10, 1, 3, 1, 3], [1, 3, 0, 0, 1, 1])
>>> normalize_text("ﬁne", "NFKC"), normalize_text("ﬁne", "none")
('fine', 'ﬁne')
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Literal

Form = Literal["none", "NFC", "NFKC"]
FORMS: tuple[str, ...] = ("none", "NFC", "NFKC")
# the default form per corpus source (any source not named: "none")
DEFAULT_FORMS: dict[str, str] = {"udhr": "NFC"}
# the counts of one language, in this order (TextFacts.counts values)
FIELDS = ("docs", "chars", "nfc_docs", "nfc_chars", "nfkc_docs", "nfkc_chars")

_WORDS = re.compile(r"\S+")


def default_form(source: str) -> str:
    return DEFAULT_FORMS.get(source, "none")


def normalize_text(text: str, form: str) -> str:
    """``text`` in Unicode normalisation form ``form`` ("none": unchanged)."""
    if form == "none" or unicodedata.is_normalized(form, text):
        return text
    return unicodedata.normalize(form, text)


def changed_chars(text: str, form: str = "NFC") -> int:
    """Code points of ``text`` that normalisation ``form`` rewrites (see the module docstring)."""
    if form == "none" or unicodedata.is_normalized(form, text):
        return 0
    n = 0
    for m in _WORDS.finditer(text):
        w = m.group()
        if unicodedata.is_normalized(form, w):
            continue
        v = unicodedata.normalize(form, w)
        p = 0
        while p < len(w) and p < len(v) and w[p] == v[p]:
            p += 1
        s = 0
        while s < len(w) - p and s < len(v) - p and w[-1 - s] == v[-1 - s]:
            s += 1
        n += len(w) - p - s
    return n


@dataclass
class TextFacts:
    """Per language: documents, characters, and those NFC / NFKC would change (``FIELDS``).
    ``form``: the normalisation applied to the text that was tokenized."""

    form: str = "none"
    counts: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, langs: Iterable[str], texts: Iterable[str], form: str = "none") -> "TextFacts":
        out = cls(form)
        for lang, text in zip(langs, texts):
            out.add(lang, text)
        return out

    def add(self, lang: str, text: str) -> None:
        c = self.counts.setdefault(lang, [0] * len(FIELDS))
        nfc, nfkc = changed_chars(text, "NFC"), changed_chars(text, "NFKC")
        c[0] += 1
        c[1] += len(text)
        c[2] += nfc > 0
        c[3] += nfc
        c[4] += nfkc > 0
        c[5] += nfkc

    def merge(self, other: "TextFacts") -> "TextFacts":
        if self.counts and other.counts and self.form != other.form:
            raise ValueError(f"cannot add text facts of normalisation {self.form!r} and {other.form!r}")
        counts = {lang: list(c) for lang, c in self.counts.items()}
        for lang, c in other.counts.items():
            mine = counts.setdefault(lang, [0] * len(FIELDS))
            for i, v in enumerate(c):
                mine[i] += v
        return TextFacts(self.form if self.counts else other.form, counts)

    def total(self) -> list[int]:
        return [sum(c[i] for c in self.counts.values()) for i in range(len(FIELDS))]

    def nfc_share(self, lang: str | None = None) -> float:
        """Share of characters NFC changes (one language, or all)."""
        c = self.total() if lang is None else self.counts[lang]
        return c[3] / c[1] if c[1] else 0.0

    def records(self) -> list[dict]:
        """One dict per language and one for all (``lang = "*"``), with ``FIELDS`` and ``normalize``."""
        rows = [(lang, c) for lang, c in self.counts.items()]
        if len(rows) > 1:
            rows.append(("*", self.total()))
        return [{"lang": lang, "normalize": self.form, **dict(zip(FIELDS, c))} for lang, c in rows]

    def summary(self, top: int = 3) -> str:
        """One line: the form applied and how much of the raw text NFC changes (worst languages)."""
        t = self.total()
        if not t[3]:
            return f"normalize {self.form}; NFC changes nothing in the raw text"
        worst = sorted(((c[3] / c[1], lang) for lang, c in self.counts.items() if c[3] and c[1]), reverse=True)
        langs = ", ".join(f"{lang} {share:.1%}" for share, lang in worst[:top])
        more = f" and {len(worst) - top} more" if len(worst) > top else ""
        return (f"normalize {self.form}; NFC would change {t[3] / t[1]:.2%} of the raw characters "
                f"({t[2]} of {t[0]} documents; {langs}{more})")


__all__ = ["DEFAULT_FORMS", "FIELDS", "FORMS", "TextFacts", "changed_chars", "default_form", "normalize_text"]
