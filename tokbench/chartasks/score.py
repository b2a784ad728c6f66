"""Scoring model answers to character-level items by exact match after normalisation.

``normalise(answer, family)``: strip surrounding whitespace, trailing sentence punctuation
and quotes; lowercase (Turkish rules for items of ``lang`` tr); collapse runs of whitespace to one space. For ``spell``
the spaces are then removed entirely and the letters compared as one string, so
"s-t-r" is NOT accepted but "s t r", "s  t r" and "str" are: the task is whether the
model recovers the characters in order, not its formatting (this is recorded here and in
docs/chartasks.md; a stricter scorer can compare the un-normalised text). Numbers are
compared as written after normalisation ("03" != "3"); yes/no answers keep only the word.

The model side (``modelside.py``) scores lm-eval ``generate_until`` answers with ``normalise``.
"""
from __future__ import annotations

from collections import defaultdict

import regex

_WS = regex.compile(r"\s+")
_TRIM = " \t\r\n.!?'\"`"


def normalise(answer: str, family: str, lang: str | None = None) -> str:
    """Normalised answer; ``lang="tr"`` lowercases with Turkish rules (I -> ı, İ -> i)."""
    from .generate import lower

    s = lower(_WS.sub(" ", str(answer).strip().strip(_TRIM).strip()), lang or "")
    if family == "spell":
        s = s.replace(" ", "")
    return s


def accuracy(items: list[dict], answers) -> dict[str, tuple[float, int]]:
    """Exact-match accuracy per family: ``{family: (accuracy, n)}``.

    ``answers`` is a list aligned with ``items`` or a mapping item id -> answer (a missing
    answer counts as wrong).
    """
    if isinstance(answers, dict):
        answers = [answers.get(it["id"]) for it in items]
    if len(answers) != len(items):
        raise ValueError(f"{len(answers)} answers for {len(items)} items")
    hit, tot = defaultdict(int), defaultdict(int)
    for it, ans in zip(items, answers):
        fam = it["family"]
        tot[fam] += 1
        if ans is not None and normalise(ans, fam, it.get("lang")) == normalise(it["gold"], fam, it.get("lang")):
            hit[fam] += 1
    return {f: (hit[f] / tot[f], tot[f]) for f in tot}


def chance_rate(family: str) -> float | None:
    """The accuracy of guessing, where defined: ``contains`` is 0.5 (the generator is
    balanced yes/no). Other families have no fixed chance rate (it depends on the word)."""
    return 0.5 if family == "contains" else None
