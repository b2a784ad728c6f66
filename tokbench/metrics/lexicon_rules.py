"""Where a token stands in its word, and the %LANG / %Pure verdict of a token in that position.

The rules (metric version 2, docs/metrics.md "%LANG and %Pure: the position rules") follow the
definition of the Turkish tokenization-standards papers (Bayram et al. 2025): a pure token is
exactly one morpheme, a root or a suffix, not a fragment across a morpheme boundary; a %TR
token is a valid word. A lexicon alone cannot see a boundary, so each token *occurrence* is
judged with its position in the word it belongs to:

* ``INITIAL``: the token's first letter starts a word (the character before it is not a
  letter; an apostrophe between two letters, as in ``Türkiye'nin``, counts as inside the word);
* ``FINAL``: the token's last letter ends a word.

Verdicts of a token whose normalised text ``s`` is kept (not punctuation/digits):

============  =====================================================================================
%LANG (word)  ``s`` starts a word (INITIAL) and a lexicon accepts it; a single letter counts only
              when it is a whole word (INITIAL and FINAL, e.g. Turkish ``o``)
%Pure         INITIAL: ``s`` is a root (a string that is only an affix does not start a word);
              not INITIAL: ``s`` is an affix (a root string inside a word is a fragment).
              A single letter counts only as a whole-word root or as a word-final suffix
              (accusative/possessive ``-ı/-i/-u/-ü``, dative ``-a/-e``, ``-m``, ``-n``)
============  =====================================================================================

A component that does not say whether a morpheme is a root or an affix (no ``is_root`` /
``is_affix``) is accepted in any position, single letters still only as above.

Positions come from the token spans and the document text (``tc.has_spans and tc.has_text``,
what :mod:`tokbench.tokenize` keeps); without them, from the decoded token texts in sequence
(a leading space, ``▁`` or a preceding non-letter token starts a word, ``##`` continues one).
"""
from __future__ import annotations

import unicodedata

import numpy as np

INITIAL, FINAL = 1, 2
POSITION_NAMES = {0: "medial", INITIAL: "initial", FINAL: "final", INITIAL | FINAL: "whole word"}
APOSTROPHES = frozenset("'\u2019")


def _letter(ch: str) -> bool:
    return ch.isalpha() or ch == "\ufffd" or unicodedata.category(ch)[0] == "M"


def _letter_mask(text: str) -> np.ndarray:
    """Per character: a letter (or combining mark), or an apostrophe between two letters."""
    m = np.fromiter((_letter(c) for c in text), bool, count=len(text))
    for k, c in enumerate(text):
        if c in APOSTROPHES and 0 < k < len(text) - 1 and m[k - 1] and m[k + 1]:
            m[k] = True
    return m


def _byte_mask(text: str) -> np.ndarray:
    cm = _letter_mask(text)
    lens = np.fromiter((len(c.encode("utf-8")) for c in text), np.int64, count=len(text))
    return np.repeat(cm, lens)


def _span_positions(L: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position flags of tokens at byte spans ``[start, end)`` of a text with letter mask ``L``
    (per byte). A span without a letter gets 0."""
    out = np.zeros(len(start), np.int8)
    pos = np.flatnonzero(L)
    if not len(pos) or not len(start):
        return out
    k = np.searchsorted(pos, start)
    has = k < len(pos)
    first = pos[np.minimum(k, len(pos) - 1)]
    has &= first < end
    k2 = np.searchsorted(pos, end) - 1
    last = pos[np.maximum(k2, 0)]
    n = len(L)
    init = (first == 0) | ~L[np.maximum(first - 1, 0)]
    fin = (last == n - 1) | ~L[np.minimum(last + 1, n - 1)]
    out[has & init] |= INITIAL
    out[has & fin] |= FINAL
    return out


def _text_positions(texts: list[str]) -> np.ndarray:
    """Position flags from the decoded texts of one document's tokens, in order."""
    n = len(texts)
    out = np.zeros(n, np.int8)
    cont = [t.startswith("##") for t in texts]
    body = [t[2:] if c else t for t, c in zip(texts, cont)]

    def opens(k: int) -> bool:  # token k starts with a boundary (space, ▁, punctuation)
        return bool(body[k]) and not cont[k] and not _letter(body[k][0])

    for k in range(n):
        t = body[k]
        if not any(_letter(c) for c in t):
            continue
        init = not cont[k] and (k == 0 or opens(k) or not body[k - 1] or not _letter(body[k - 1][-1]))
        fin = k == n - 1 or not _letter(t[-1]) or opens(k + 1)
        out[k] = (INITIAL if init else 0) | (FINAL if fin else 0)
    return out


def token_positions(tc) -> tuple[np.ndarray, bool]:
    """``(flags, from_spans)``: INITIAL/FINAL flags of every token of ``tc``; ``from_spans`` is
    False when they were read from the token texts (no spans or no document text)."""
    ids = np.asarray(tc.ids).astype(np.int64, copy=False)
    off = np.asarray(tc.tok_offsets)
    out = np.zeros(len(ids), np.int8)
    if tc.has_spans and tc.has_text:
        for d in range(tc.n_docs):
            a, b = int(off[d]), int(off[d + 1])
            if a == b:
                continue
            s, e = tc.doc_spans(d)
            out[a:b] = _span_positions(_byte_mask(tc.doc_text(d)), np.asarray(s), np.asarray(e))
        return out, True
    type_ids = np.asarray(tc.type_ids).astype(np.int64, copy=False)
    type_text = np.asarray(tc.type_text)
    if not len(type_ids):
        return out, False
    pos = np.clip(np.searchsorted(type_ids, ids), 0, len(type_ids) - 1)
    texts = type_text[pos].tolist()
    for d in range(len(off) - 1):
        a, b = int(off[d]), int(off[d + 1])
        out[a:b] = _text_positions(texts[a:b])
    return out, False


def _letters(s: str) -> int:
    return sum(1 for c in s if c.isalpha())


def verdict(backend, need: str, text: str, position: int) -> tuple[bool, str]:
    """``(is it a word / a pure morpheme here, why)`` for a kept token text at ``position``."""
    s = backend.normalize(text)
    where = POSITION_NAMES[position & 3]
    initial, final = bool(position & INITIAL), bool(position & FINAL)
    single = _letters(s) <= 1
    if need == "words":
        if not initial:
            return False, f"{where}: a fragment inside a word, not a word"
        if single and not final:
            return False, f"{where}: a single letter counts only as a whole word"
        src = backend.word_source(text)
        return (True, f"{where}: word ({src})") if src else (False, f"{where}: no lexicon accepts it")
    kinds = backend.morpheme_kinds(text)
    if not kinds:
        return False, f"{where}: not a root or affix of any component"
    if "morpheme" in kinds and not ({"root", "affix"} & set(kinds)):
        if single and not final:
            return False, f"{where}: a single letter counts only word-finally or as a whole word"
        return True, f"{where}: morpheme ({kinds['morpheme']})"
    if initial:
        if "root" not in kinds:
            return False, f"{where}: affix ({kinds['affix']}) at the start of a word"
        if single and not final:
            return False, f"{where}: a single-letter root counts only as a whole word"
        return True, f"{where}: root ({kinds['root']})"
    if "affix" not in kinds:
        return False, f"{where}: root string ({kinds['root']}) inside a word: a fragment"
    if single and not final:
        return False, f"{where}: a single-letter suffix counts only word-finally"
    return True, f"{where}: suffix ({kinds['affix']})"


def explain_types(tc, lang: str, backend, need: str) -> list[dict]:
    """Every token type of ``lang`` in ``tc`` with its verdict and the reasons, most frequent
    first: ``id``, ``text`` (decoded alone), ``normalized``, ``count``, ``kept``, ``hits``
    (occurrences judged positive), ``verdict`` (True/False; None when excluded: punctuation,
    digits) and ``reasons``: ``[(position name, occurrences, positive?, reason)]``."""
    from ..linguistic import is_excluded

    ids = np.asarray(tc.ids).astype(np.int64, copy=False)
    positions, _ = token_positions(tc)
    tok_lang = np.repeat(np.asarray(tc.lang), np.diff(np.asarray(tc.tok_offsets)))
    sel = tok_lang == lang
    lids, lpos = ids[sel], positions[sel].astype(np.int64)
    type_ids = np.asarray(tc.type_ids).astype(np.int64, copy=False)
    type_text = np.asarray(tc.type_text)
    keys, counts = np.unique(lids * 4 + lpos, return_counts=True)
    rows: dict[int, dict] = {}
    for key, n in zip(keys.tolist(), counts.tolist()):
        i, p = key // 4, key % 4
        row = rows.get(i)
        if row is None:
            k = int(np.searchsorted(type_ids, i))
            text = str(type_text[k]) if k < len(type_ids) and type_ids[k] == i else ""
            s = backend.normalize(text)
            row = rows[i] = {"id": i, "text": text, "normalized": s, "count": 0, "kept": 0, "hits": 0,
                             "verdict": None, "reasons": [], "_excluded": is_excluded(s)}
        row["count"] += n
        if row["_excluded"]:
            continue
        ok, why = verdict(backend, need, row["text"], p)
        row["kept"] += n
        row["hits"] += n if ok else 0
        row["reasons"].append((POSITION_NAMES[p], n, ok, why.split(": ", 1)[1]))
    out = []
    for row in rows.values():
        excluded = row.pop("_excluded")
        row["verdict"] = None if excluded else 2 * row["hits"] > row["kept"]
        row["reasons"].sort(key=lambda r: -r[1])
        out.append(row)
    out.sort(key=lambda r: (-r["count"], r["id"]))
    return out
