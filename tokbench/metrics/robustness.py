"""Robustness of tokenization to perturbed input (robustness-v1; docs/robustness.md).

Pure functions over the token ids and byte spans of paired clean / perturbed texts (the
``robustness`` suite kind encodes them; nothing here calls a tokenizer or a model):

* ``robust_token_edit_distance``: Levenshtein distance between the token id sequences of the
  clean and the perturbed text (insertions, deletions, substitutions of one token cost 1),
  divided by the longer sequence's length, so 0 = identical and 1 = nothing in common;
  mean over items (macro). A byte-level tokenizer's value is the byte edit distance over the
  longer byte length.
* ``robust_word_change``: share of the clean text's whitespace words whose token boundaries
  change *beyond the perturbed characters*: inside the word, the set of token boundaries (byte
  offsets, the perturbed text's mapped back to clean offsets) differs at some offset that is not
  in or at the edge of an edit (the closed byte interval of the clean characters an edit
  replaced). Words with no edit count too (a change there comes from context alone).
* ``robust_token_inflation``: tokens of the perturbed texts / tokens of their clean texts
  (ratio of sums).
* ``robust_bpb_ratio`` (model side): bits/byte of a model on the perturbed texts over its
  bits/byte on the same items' clean texts (ratio of sums of log-likelihood per byte).

Variants are perturbation types; ``all`` pools every perturbation but ``identity``. Statistics
are sums per (language, perturbation) that add up over items, languages and shards.
"""
from __future__ import annotations

import json
from typing import Iterable, Sequence

import numpy as np

from .base import Show
from .model import ModelMetric

METRIC_VERSION = 1
ALL = "all"
_SUMS = ("items", "ned_sum", "edit_sum", "len_max_sum", "tokens_clean", "tokens_perturbed", "words",
         "words_changed", "words_touched")


def levenshtein(a: Sequence[int], b: Sequence[int]) -> int:
    """Edit distance between two id sequences (unit costs): common prefix and suffix trimmed,
    then Myers' bit-parallel algorithm in Hyyrö's formulation for the global distance (one
    Python integer holds a column of the DP table as vertical deltas).

    >>> levenshtein([1, 2, 3], [1, 3])
    1
    """
    a, b = list(a), list(b)
    n, i = min(len(a), len(b)), 0
    while i < n and a[i] == b[i]:
        i += 1
    j = 0
    while j < n - i and a[len(a) - 1 - j] == b[len(b) - 1 - j]:
        j += 1
    a, b = a[i:len(a) - j], b[i:len(b) - j]
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if not m:
        return len(a)
    peq: dict[int, int] = {}
    for k, x in enumerate(b):
        peq[x] = peq.get(x, 0) | (1 << k)
    mask, top = (1 << m) - 1, 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for y in a:
        eq = peq.get(y, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def _boundaries(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    keep = ends > starts
    return np.unique(np.concatenate([starts[keep], ends[keep]]))


def byte_edits(clean: str, edits: Iterable[Sequence]) -> list[tuple[int, int, int]]:
    """Edits in bytes: (clean start, clean end, new length) from [start, end, new] in characters."""
    from ..adapters.base import char_to_byte

    c2b = char_to_byte(clean)
    return [(int(c2b[s]), int(c2b[e]), len(str(new).encode("utf-8"))) for s, e, new in edits]


def map_to_clean(positions: np.ndarray, bedits: list[tuple[int, int, int]]) -> np.ndarray:
    """Perturbed byte offsets -> clean byte offsets; -1 for offsets strictly inside an edit's new text.
    The start of an edit's new text maps to the edit's clean start, its end to the clean end."""
    x = np.asarray(positions, dtype=np.int64)
    if not bedits:
        return x.copy()
    cs, ce, nl = (np.array(c, dtype=np.int64) for c in zip(*bedits))
    after = np.cumsum(nl - (ce - cs))            # shift after each edit
    ps = cs + np.concatenate([[0], after[:-1]])  # the edit's start in the perturbed text
    pe = ps + nl
    j = np.searchsorted(ps, x, side="right") - 1
    jj = np.maximum(j, 0)
    out = np.where(j < 0, x, x - after[jj])
    edge = (j >= 0) & (x <= pe[jj])
    out[edge] = -1
    out[edge & (x == ps[jj])] = cs[jj][edge & (x == ps[jj])]
    at_end = edge & (x == pe[jj]) & (x != ps[jj])
    out[at_end] = ce[jj][at_end]
    return out


def word_changes(clean: str, bedits: list[tuple[int, int, int]], clean_spans, perturbed_spans) -> tuple[int, int, int]:
    """(words, words changed beyond the perturbed characters, words with an edit) of one item;
    spans are (starts, ends) byte arrays of the clean and the perturbed encoding."""
    import re

    from ..adapters.base import char_to_byte

    c2b = char_to_byte(clean)
    spans = np.array([(m.start(), m.end()) for m in re.finditer(r"\S+", clean)], dtype=np.int64).reshape(-1, 2)
    ws, we = c2b[spans[:, 0]], c2b[spans[:, 1]]
    za = np.array([e[0] for e in bedits], dtype=np.int64)
    zb = np.array([e[1] for e in bedits], dtype=np.int64)

    def valid(b: np.ndarray) -> np.ndarray:
        """Boundaries strictly inside a word and outside every closed edit interval."""
        w = np.searchsorted(ws, b, side="right") - 1
        inside = (w >= 0) & (b > ws[np.maximum(w, 0)]) & (b < we[np.maximum(w, 0)])
        z = np.searchsorted(za, b, side="right") - 1
        in_zone = (z >= 0) & (b <= zb[np.maximum(z, 0)]) if len(za) else np.zeros(len(b), dtype=bool)
        return b[inside & ~in_zone]

    bp = map_to_clean(_boundaries(*perturbed_spans), bedits)
    diff = np.setxor1d(valid(_boundaries(*clean_spans)), valid(bp[bp >= 0]))
    changed = len(np.unique(np.searchsorted(ws, diff, side="right") - 1))
    touched = np.zeros(len(ws) + 1, dtype=np.int64)
    if len(za):  # words [ws, we] that a closed edit interval [a, b] meets
        first = np.searchsorted(we, za, side="left")
        last = np.searchsorted(ws, zb, side="right")
        hit = first < last
        np.add.at(touched, first[hit], 1)
        np.add.at(touched, last[hit], -1)
    return int(len(ws)), int(changed), int((np.cumsum(touched)[:-1] > 0).sum())


def item_stats(item: dict, clean_ids: np.ndarray, clean_spans, ids: np.ndarray, spans) -> dict[str, float]:
    """Sums of one item (``perturb.generate``'s dict; spans in bytes)."""
    bedits = byte_edits(item["clean"], item["edits"])
    dist = levenshtein(clean_ids.tolist(), ids.tolist())
    longest = max(len(clean_ids), len(ids))
    words, changed, touched = word_changes(item["clean"], bedits, clean_spans, spans)
    return {"items": 1, "ned_sum": dist / longest if longest else 0.0, "edit_sum": dist, "len_max_sum": longest,
            "tokens_clean": len(clean_ids), "tokens_perturbed": len(ids), "words": words,
            "words_changed": changed, "words_touched": touched}


def add(acc: dict, key, s: dict) -> None:
    cur = acc.setdefault(key, dict.fromkeys(s, 0))
    for k, v in s.items():
        cur[k] = cur.get(k, 0) + v


def scopes(per_item: dict[tuple[str, str], dict]) -> dict[tuple[str, str], dict]:
    """(lang, perturbation) sums -> the same plus ("*", p), (lang, "all") and ("*", "all")."""
    from ..schema import ALL_LANGS

    out: dict = {}
    for (lang, p), s in per_item.items():
        for key in {(lang, p), (ALL_LANGS, p)} | ({(lang, ALL), (ALL_LANGS, ALL)} if p != "identity" else set()):
            add(out, key, s)
    return out


def rows(sums: dict[tuple[str, str], dict], params: dict) -> list[dict]:
    """Long-format rows (lang, metric, variant, value, n, params, metric_version)."""
    out = []
    for (lang, p), s in sorted(sums.items()):
        common = {**params, "perturbation": p, "items": int(s["items"]), "words": int(s["words"]),
                  "words_touched": int(s["words_touched"]), "tokens_clean": int(s["tokens_clean"]),
                  "tokens_perturbed": int(s["tokens_perturbed"]), "edit_sum": int(s["edit_sum"]),
                  "len_max_sum": int(s["len_max_sum"])}
        ptxt = json.dumps(common, sort_keys=True)
        for metric, value, n in (
                ("robust_token_edit_distance", s["ned_sum"] / s["items"], s["items"]),
                ("robust_word_change", s["words_changed"] / s["words"] if s["words"] else float("nan"), s["words"]),
                ("robust_token_inflation", s["tokens_perturbed"] / s["tokens_clean"] if s["tokens_clean"]
                 else float("nan"), s["tokens_clean"])):
            out.append({"lang": lang, "metric": metric, "variant": p, "value": float(value), "n": int(n),
                        "params": ptxt, "note": None, "metric_version": METRIC_VERSION})
    return out


def _variants() -> tuple[str, ...]:
    from ..perturb import PERTURBATIONS

    return (ALL, *PERTURBATIONS)


_KIND = "a `kind = \"robustness\"` suite (docs/robustness.md)"
ROBUSTNESS_METRICS: tuple[ModelMetric, ...] = (
    ModelMetric("robust_token_edit_distance", _variants(), "share", False,
                "Levenshtein distance between the token id sequences of clean and perturbed text over the longer "
                "sequence's length, mean over items; variant = perturbation (all: every one but identity).",
                _KIND, {ALL: Show(order=300, drilldown=True)}),
    ModelMetric("robust_word_change", _variants(), "share", False,
                "Share of words whose token boundaries change beyond the perturbed characters (byte offsets "
                "outside every edit's closed interval); variant = perturbation.", _KIND,
                {ALL: Show(order=310, drilldown=True)}),
    ModelMetric("robust_token_inflation", _variants(), "ratio", False,
                "Tokens of the perturbed texts over tokens of their clean texts; variant = perturbation.", _KIND,
                {ALL: Show(order=320)}),
    ModelMetric("robust_bpb_ratio", _variants(), "ratio", False,
                "A model's bits/byte on the perturbed texts over its bits/byte on the same items' clean texts "
                "(lm-eval loglikelihood_rolling); variant = perturbation.", _KIND,
                {ALL: Show(order=330, models_table=True)}),
)
