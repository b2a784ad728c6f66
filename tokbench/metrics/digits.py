"""How tokenizers cut numbers: digit chunking, place-value alignment, context consistency,
tokens per digit (Singh & Strouse 2024, "Tokenization counts").

A *digit run* is a maximal run of Unicode decimal digits (``\\p{Nd}``: ASCII, Arabic-Indic,
Devanagari, fullwidth, ...) in a document. Its *cuts* are the character positions
``1..L-1`` inside the run where a token starts (from the token spans ``tok_start``/``tok_end``
and the text ``text_utf8`` that :mod:`tokbench.tokenize` keeps); a token that starts inside a
digit's UTF-8 bytes is no cut. The cuts split the run into *chunks*: the digits each token
holds. A run's tokens are the tokens overlapping it (a token that also covers a space or a
sign counts; a digit split into byte tokens counts each of them).

* ``digit_chunking``: the histogram of digits per chunk, and the pattern of the tokenizer on
  ASCII digit runs of two or more digits: ``L2R-k`` (cuts at k, 2k, ... from the left),
  ``R2L-k`` (from the right), ``single-digit`` (k = 1) or ``irregular``. The ``pattern``
  variant's value is a signed code: ``+k`` for L2R-k (1 for single-digit), ``-k`` for R2L-k,
  0 for irregular; ``params.pattern`` holds the class name.
* ``place_value_f1``: the cuts against the place-value boundaries, every 3 digits counted from
  the right (from the left in a fraction: a run right after ``.``, ``,`` or ``٫`` that follows
  a digit); micro precision, recall and F1 over all runs.
* ``number_consistency``: within a document, runs with the same digits are the same number;
  of the numbers that occur at least twice, the share cut the same way every time.
* ``tokens_per_digit``: tokens overlapping digit runs per digit, overall and per digit script.

Every statistic is a sum over runs, so shards add up. A TokenizedCorpus without token spans or
text (made by hand, or by an older tokbench) gives NaN values with a note.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping

import numpy as np

from .base import Metric, MetricInput, Show, Stats, Value, ratio

KMAX = 32  # chunk-length histogram bins 1..KMAX (the last holds KMAX or more digits)
SCRIPTS = ("ascii", "arabic_indic", "devanagari", "fullwidth", "other")
_RUN = re.compile(r"\d+")  # str pattern: \d is any Unicode decimal digit (Nd)
FRACTION_MARKS = ".,\u066b"  # a run after one of these that follows a digit is a fraction


def script_of(ch: str) -> int:
    """Index into ``SCRIPTS`` of a digit character."""
    o = ord(ch)
    if o < 0x80:
        return 0
    if 0x0660 <= o <= 0x0669 or 0x06F0 <= o <= 0x06F9:
        return 1
    if 0x0966 <= o <= 0x096F:
        return 2
    if 0xFF10 <= o <= 0xFF19:
        return 3
    return 4


def _char_bytes(text: str) -> np.ndarray:
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    out = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000), out=out[1:])
    return out


def digit_runs(tc) -> list[tuple[int, list[tuple[str, int, bool, tuple[int, ...], int]]]]:
    """Per document with digits: ``(doc, [(digits, script, fraction, cuts, n_tokens), ...])``.
    Computed once per TokenizedCorpus object (the four metrics of a scope share it)."""
    cached = getattr(tc, "_digit_runs", None)
    if cached is not None:
        return cached
    if not (tc.has_spans and tc.has_text):
        raise ValueError("digit metrics need token spans and the text (a TokenizedCorpus made by "
                         "tokbench.tokenize)")
    byte0 = np.concatenate([[0], np.cumsum(np.asarray(tc.n_bytes, dtype=np.int64))])
    raw = tc.text_utf8
    out = []
    for d in range(tc.n_docs):
        text = raw[byte0[d]:byte0[d + 1]].tobytes().decode("utf-8")
        matches = [(m.start(), m.end()) for m in _RUN.finditer(text)]
        if not matches:
            continue
        cb = _char_bytes(text)
        s, e = tc.doc_spans(d)
        keep = e > s
        s, e = s[keep], e[keep]
        cut_at = np.isin(cb, s).tolist()  # a token starts at this character position
        a_arr, b_arr = np.array(matches).T
        # tokens with start < end-of-run and end > start-of-run (start <= end for every token)
        ntok = (np.searchsorted(np.sort(s), cb[b_arr], "left") - np.searchsorted(np.sort(e), cb[a_arr], "right")).tolist()
        runs = []
        for (a, b), nt in zip(matches, ntok):
            cuts = tuple(p for p in range(1, b - a) if cut_at[a + p])
            frac = a >= 2 and text[a - 1] in FRACTION_MARKS and text[a - 2].isdecimal()
            runs.append((text[a:b], script_of(text[a]), frac, cuts, int(nt)))
        out.append((d, runs))
    object.__setattr__(tc, "_digit_runs", out)
    return out


def chunks(length: int, cuts: tuple[int, ...]) -> list[int]:
    """Digits per chunk of a run of ``length`` digits cut at ``cuts``.

    >>> chunks(7, (3, 6))
    [3, 3, 1]
    """
    edges = [0, *cuts, length]
    return [b - a for a, b in zip(edges, edges[1:])]


def l2r_cuts(length: int, k: int) -> tuple[int, ...]:
    return tuple(range(k, length, k))


def r2l_cuts(length: int, k: int) -> tuple[int, ...]:
    return tuple(sorted(range(length - k, 0, -k)))


def place_value_cuts(length: int, fraction: bool = False) -> tuple[int, ...]:
    """Gold boundaries: every 3 digits from the right (from the left in a fraction).

    >>> place_value_cuts(7), place_value_cuts(7, fraction=True)
    ((1, 4), (3, 6))
    """
    return l2r_cuts(length, 3) if fraction else r2l_cuts(length, 3)


NO_SPANS = "the tokenization kept no token spans or text (rerun with the current tokbench)"


def _spanless(tc) -> int:
    """Documents that cannot be read (a TokenizedCorpus without spans or text): a stats key, so that
    such a scope finalizes to NaN with a note instead of failing."""
    return 0 if (tc.has_spans and tc.has_text) else int(tc.n_docs)


def _unavailable(s: Stats, variants) -> dict[str, Value] | None:
    if int(s.get("docs_without_spans", 0)):
        return {v: Value(float("nan"), 0, {"note": NO_SPANS}) for v in variants}
    return None


def _selected(params: Mapping[str, Any], default: str) -> str:
    digits = params.get("digits", default)
    if digits not in ("ascii", "all"):
        raise ValueError(f"digit metrics: `digits` must be 'ascii' or 'all', not {digits!r}")
    return digits


def _runs(inp: MetricInput, default: str):
    only_ascii = _selected(inp.params, default) == "ascii"
    for d, runs in digit_runs(inp.tc):
        yield d, [r for r in runs if not only_ascii or r[1] == 0]


# --- digit chunking ------------------------------------------------------------------------------
def _chunking_stats(inp: MetricInput) -> Stats:
    hist = np.zeros(KMAX + 1, np.int64)
    l2r = np.zeros(KMAX + 1, np.int64)
    r2l = np.zeros(KMAX + 1, np.int64)
    runs, missing = 0, _spanless(inp.tc)
    for _, rs in ([] if missing else _runs(inp, "ascii")):
        for digits, _, _, cuts, _ in rs:
            n = len(digits)
            for c in chunks(n, cuts):
                hist[min(c, KMAX)] += 1
            if n < 2:
                continue
            runs += 1
            for k in range(1, min(n - 1, KMAX) + 1):
                l2r[k] += cuts == l2r_cuts(n, k)
                r2l[k] += cuts == r2l_cuts(n, k)
            if not cuts:  # an uncut run fits every k >= its length (the last bin: k >= KMAX)
                l2r[min(n, KMAX):] += 1
                r2l[min(n, KMAX):] += 1
    return {"hist": hist, "l2r": l2r, "r2l": r2l, "runs": runs, "docs_without_spans": missing}


def classify(l2r: np.ndarray, r2l: np.ndarray, runs: int, min_share: float) -> tuple[str, int, float]:
    """(class name, signed code, share of runs that fit it) from the fit counts per k.

    >>> classify(np.array([0, 0, 0, 10]), np.array([0, 0, 0, 4]), 10, 0.95)
    ('L2R-3', 3, 1.0)
    """
    if runs == 0:
        return "no digit runs", 0, float("nan")
    cands = [(l2r[k] / runs, -k, 1, k) for k in range(1, len(l2r))] + \
            [(r2l[k] / runs, -k, 0, -k) for k in range(2, len(r2l))]
    share, _, _, code = max(cands)
    if share < min_share:
        return "irregular", 0, float(share)
    name = "single-digit" if code == 1 else f"L2R-{code}" if code > 0 else f"R2L-{-code}"
    return name, int(code), float(share)


def _chunking_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    if (na := _unavailable(s, DIGIT_CHUNKING.variants)) is not None:
        return na
    hist = np.asarray(s["hist"], dtype=np.int64)
    hist = np.pad(hist, (0, max(0, KMAX + 1 - len(hist))))
    l2r, r2l, runs = np.asarray(s["l2r"]), np.asarray(s["r2l"]), int(s["runs"])
    min_share = float(params.get("min_share", 0.95))
    name, code, share = classify(l2r, r2l, runs, min_share)
    n_chunks = int(hist.sum())
    n_digits = int(np.dot(np.arange(len(hist)), hist))
    base = {"digits": params.get("digits", "ascii")}
    nz = np.flatnonzero(hist)
    out = {
        "pattern": Value(code if runs else float("nan"), runs,
                         {**base, "pattern": name, "share": share, "min_share": min_share,
                          "undetermined_direction": bool(code > 1 and l2r[code] == r2l[code])}),
        "max_digits": Value(float(nz[-1]) if len(nz) else float("nan"), n_chunks, base),
        "mean_digits": Value(ratio(n_digits, n_chunks), n_chunks, {**base, "digits_total": n_digits}),
    }
    for k in range(1, 5):
        out[f"share_{k}"] = Value(ratio(hist[k], n_chunks), n_chunks, {**base, "tokens": int(hist[k])})
    out["share_5plus"] = Value(ratio(hist[5:].sum(), n_chunks), n_chunks, {**base, "tokens": int(hist[5:].sum())})
    return out


_STACK = "digits per token"
DIGIT_CHUNKING = Metric(
    name="digit_chunking",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("pattern", "max_digits", "mean_digits", "share_1", "share_2", "share_3", "share_4", "share_5plus"),
    unit="digits/token",
    higher_is_better=None,
    description="How digit runs are cut into tokens: the pattern on ASCII runs of 2+ digits (value +k: left to "
                "right in k-digit chunks, 1: single digits, -k: right to left, 0: irregular; the name in "
                "params.pattern), the longest and mean digits per token, and the share of digit tokens holding "
                "1, 2, 3, 4 and 5+ digits (Singh & Strouse 2024).",
    version=1,
    stats=_chunking_stats,
    finalize=_chunking_finalize,
    default_params={"digits": "ascii", "min_share": 0.95},
    default=False,
    display={"pattern": Show(order=301, unit="signed chunk width"), "max_digits": Show(order=302, unit="digits"),
             "mean_digits": Show(drilldown=True),
             **{v: Show(unit="share", stack=_STACK) for v in ("share_1", "share_2", "share_3", "share_4",
                                                              "share_5plus")}},
)


# --- place-value boundary F1 ---------------------------------------------------------------------
def _pv_stats(inp: MetricInput) -> Stats:
    tp = fp = fn = runs = 0
    missing = _spanless(inp.tc)
    for _, rs in ([] if missing else _runs(inp, "all")):
        for digits, _, frac, cuts, _ in rs:
            gold, pred = set(place_value_cuts(len(digits), frac)), set(cuts)
            tp += len(gold & pred)
            fp += len(pred - gold)
            fn += len(gold - pred)
            runs += 1
    return {"tp": tp, "fp": fp, "fn": fn, "runs": runs, "docs_without_spans": missing}


def _pv_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    if (na := _unavailable(s, PLACE_VALUE_F1.variants)) is not None:
        return na
    tp, fp, fn, runs = int(s["tp"]), int(s["fp"]), int(s["fn"]), int(s["runs"])
    p = {"digits": params.get("digits", "all"), "tp": tp, "fp": fp, "fn": fn, "runs": runs}
    return {"f1": Value(ratio(2 * tp, 2 * tp + fp + fn), runs, p),
            "precision": Value(ratio(tp, tp + fp), tp + fp, p),
            "recall": Value(ratio(tp, tp + fn), tp + fn, p)}


PLACE_VALUE_F1 = Metric(
    name="place_value_f1",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("f1", "precision", "recall"),
    unit="F1",
    higher_is_better=True,
    description="Token boundaries inside digit runs against the place-value boundaries (every 3 digits from the "
                "right; from the left in a fraction): micro precision, recall and F1 over all runs (after Singh & "
                "Strouse 2024).",
    version=1,
    stats=_pv_stats,
    finalize=_pv_finalize,
    default_params={"digits": "all"},
    default=False,
    display={"f1": Show(order=300, drilldown=True), "recall": Show(order=303)},
)


# --- context consistency -------------------------------------------------------------------------
def _cons_stats(inp: MetricInput) -> Stats:
    numbers = consistent = occ = modal = 0
    missing = _spanless(inp.tc)
    for _, rs in ([] if missing else _runs(inp, "all")):
        seen: dict[str, Counter] = {}
        for digits, _, _, cuts, _ in rs:
            seen.setdefault(digits, Counter())[cuts] += 1
        for pats in seen.values():
            total = sum(pats.values())
            if total < 2:
                continue
            numbers += 1
            consistent += len(pats) == 1
            occ += total
            modal += max(pats.values())
    return {"numbers": numbers, "consistent": consistent, "occurrences": occ, "modal": modal,
            "docs_without_spans": missing}


def _cons_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    if (na := _unavailable(s, NUMBER_CONSISTENCY.variants)) is not None:
        return na
    numbers, consistent, occ, modal = (int(s[k]) for k in ("numbers", "consistent", "occurrences", "modal"))
    p = {"digits": params.get("digits", "all"), "numbers": numbers, "consistent": consistent}
    return {"micro": Value(ratio(consistent, numbers), numbers, p),
            "occurrences": Value(ratio(modal, occ), occ, {**p, "occurrences": occ, "modal": modal})}


NUMBER_CONSISTENCY = Metric(
    name="number_consistency",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("micro", "occurrences"),
    unit="share",
    higher_is_better=True,
    description="Context consistency: of the digit strings that occur 2+ times in a document, the share cut into "
                "tokens the same way every time (micro), and the share of occurrences cut like the document's "
                "most common cut of that number (occurrences; after Singh & Strouse 2024).",
    version=1,
    stats=_cons_stats,
    finalize=_cons_finalize,
    default_params={"digits": "all"},
    default=False,
    display={"micro": Show(order=304)},
)


# --- tokens per digit ----------------------------------------------------------------------------
def _tpd_stats(inp: MetricInput) -> Stats:
    tokens = np.zeros(len(SCRIPTS), np.int64)
    digits = np.zeros(len(SCRIPTS), np.int64)
    missing = _spanless(inp.tc)
    for _, rs in ([] if missing else digit_runs(inp.tc)):
        for ds, script, _, _, ntok in rs:
            tokens[script] += ntok
            digits[script] += len(ds)
    return {"tokens": tokens, "digits": digits, "docs_without_spans": missing}


def _tpd_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    if (na := _unavailable(s, TOKENS_PER_DIGIT.variants)) is not None:
        return na
    tokens = np.pad(np.asarray(s["tokens"], np.int64), (0, len(SCRIPTS)))[:len(SCRIPTS)]
    digits = np.pad(np.asarray(s["digits"], np.int64), (0, len(SCRIPTS)))[:len(SCRIPTS)]
    out = {"micro": Value(ratio(tokens.sum(), digits.sum()), int(digits.sum()),
                          {"tokens": int(tokens.sum()), "digits": int(digits.sum())})}
    for i, name in enumerate(SCRIPTS[:-1]):  # NaN where the scope has no digit of the script
        out[name] = Value(ratio(tokens[i], digits[i]), int(digits[i]), {"tokens": int(tokens[i]), "digits": int(digits[i])})
    return out


TOKENS_PER_DIGIT = Metric(
    name="tokens_per_digit",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("micro", *SCRIPTS[:-1]),
    unit="tokens/digit",
    higher_is_better=None,
    description="Tokens overlapping digit runs per digit, over all runs and per digit script (ASCII, Arabic-Indic, "
                "Devanagari, fullwidth; NaN where the script does not occur) (Singh & Strouse 2024).",
    version=1,
    stats=_tpd_stats,
    finalize=_tpd_finalize,
    default=False,
    display={"micro": Show(order=305, drilldown=True)},
)

DIGIT_METRICS = (DIGIT_CHUNKING, PLACE_VALUE_F1, NUMBER_CONSISTENCY, TOKENS_PER_DIGIT)
__all__ = ["DIGIT_CHUNKING", "DIGIT_METRICS", "KMAX", "NUMBER_CONSISTENCY", "PLACE_VALUE_F1", "SCRIPTS",
           "TOKENS_PER_DIGIT", "chunks", "classify", "digit_runs", "l2r_cuts", "place_value_cuts", "r2l_cuts",
           "script_of"]
