"""Zipf fit of the token rank-frequency curve: exponent and R^2.

Fit: ordinary least squares of ``log10 f(r)`` on ``log10 r``, one point per rank, over every
token type that occurs on the corpus (ranks 1..K, K = observed types, ties ordered
arbitrarily: they share a frequency, so the order does not change the points); the exponent
is ``s = -slope`` of ``f(r) ~ C r^-s`` and ``r2`` the coefficient of determination of that
line. This is the "least squares linear fit" whose R^2 He, Zeng & Jiang (EMNLP 2025, "Pre-trained
models perform the best when token distributions follow Zipf's law") use as the Zipf alignment
score, over all observed ranks with one point per rank. ``max_rank`` (a metric parameter)
restricts the fit to the head ranks 1..max_rank. Lotz et al. (ACL 2025, "Beyond text compression")
motivate Zipf-based tokenizer statistics.

Statistics are the token-count histogram (``vocabulary.token_counts``), which adds across shards.

>>> import numpy as np
>>> e, r2, k = zipf_fit(np.array([0, 100, 50, 33, 25, 20]))
>>> round(e, 2), round(r2, 3), k
(1.0, 1.0, 5)
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, MetricInput, Show, Stats, Value
from .vocabulary import token_counts


def zipf_fit(counts: np.ndarray, max_rank: int | None = None) -> tuple[float, float, int]:
    """(exponent, R^2, ranks fitted) of the least-squares line through (log10 r, log10 f(r)).

    NaN exponent with fewer than two types; NaN R^2 when every fitted type has the same count
    (a flat line: nothing to explain)."""
    c = np.asarray(counts)
    f = np.sort(c[c > 0].astype(np.float64))[::-1]
    if max_rank:
        f = f[:int(max_rank)]
    k = int(len(f))
    if k < 2:
        return float("nan"), float("nan"), k
    x = np.log10(np.arange(1, k + 1, dtype=np.float64))
    y = np.log10(f)
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    sxy = float(np.sum((x - xm) * (y - ym)))
    syy = float(np.sum((y - ym) ** 2))
    slope = sxy / sxx
    if syy == 0.0:
        return -slope + 0.0, float("nan"), k
    r2 = 1.0 - max(syy - slope * sxy, 0.0) / syy
    return -slope + 0.0, r2, k


def _stats(inp: MetricInput) -> Stats:
    return {"counts": token_counts(inp.tc)}


def _finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    counts = np.asarray(s["counts"])
    max_rank = params.get("max_rank")
    exponent, r2, k = zipf_fit(counts, max_rank)
    tokens = int(counts.sum())
    p = {"ranks_fitted": k, "tokens": tokens, "fit": "OLS log10 f on log10 rank, one point per rank",
         "max_rank": max_rank}
    note = {"note": "fewer than two token types"} if k < 2 else {}
    return {"exponent": Value(exponent, k, {**p, **note}),
            "r2": Value(r2, k, {**p, **(note or ({"note": "all types have one count"} if np.isnan(r2) else {}))})}


ZIPF = Metric(
    name="zipf",
    variants=("exponent", "r2"),
    unit="exponent",
    higher_is_better=None,
    description="Zipf exponent s of the token rank-frequency curve f(r) ~ r^-s and the R^2 of the fit: "
                "least squares on log rank vs log frequency over all observed types (He et al. 2025; "
                "Lotz et al. 2025).",
    version=1,
    stats=_stats,
    finalize=_finalize,
    default_params={"max_rank": None},
    display={"r2": Show(unit="R^2")},
)
