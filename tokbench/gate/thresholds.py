"""Threshold rules (a suite's ``[thresholds]``) applied to compared cells, and their texts.

A rule fails only when the whole interval (the bootstrap CI, or the point estimate with
``use_ci = false``) lies beyond its limit; see :func:`judge`.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..metrics import get_metric
from .fmt import fmt, pct
from .results import Cell, Check, RELATIVE_RULES

RULE_TEXT = {
    "max_relative_increase": ("relative increase", "≤", True),
    "max_relative_decrease": ("relative decrease", "≤", True),
    "max_absolute_increase": ("absolute increase", "≤", False),
    "max_absolute_decrease": ("absolute decrease", "≤", False),
    "min_value": ("candidate value", "≥", False),
    "max_value": ("candidate value", "≤", False),
}


def rule_text(metric: str, variant: str, rule: str, limit: float, use_ci: bool = True) -> str:
    what, op, rel = RULE_TEXT[rule]
    lim = pct(limit, sign=False) if rel else fmt(limit)
    basis = "" if use_ci else " (point estimate)"
    return f"{metric}/{variant}: {what} {op} {lim}{basis}"


def judge(cell: Cell, rule: str, limit: float, *, use_ci: bool = True) -> Check:
    """Apply one rule to one cell. Fails only when the whole interval lies beyond the limit:

    ``max_relative_increase``: low of the relative delta > limit; ``max_relative_decrease``: high
    of the relative delta < -limit; ``max_absolute_increase``/``decrease`` the same on the delta;
    ``min_value``: high of the candidate's CI < limit; ``max_value``: its low > limit. With
    ``use_ci=False`` the interval is the point estimate.
    """
    if rule in RELATIVE_RULES:
        point, lo, hi = cell.rel_delta, cell.rel_ci_low, cell.rel_ci_high
    elif rule in ("max_absolute_increase", "max_absolute_decrease"):
        point, lo, hi = cell.delta, cell.ci_low, cell.ci_high
    elif rule in ("min_value", "max_value"):
        point, lo, hi = cell.candidate, cell.cand_ci_low, cell.cand_ci_high
    else:
        raise ValueError(f"unknown threshold rule {rule!r}")
    if not use_ci:
        lo = hi = point
    note = None
    if math.isnan(lo) or math.isnan(hi):
        note = "not evaluated: " + ("no confidence interval" if use_ci and not math.isnan(point)
                                    else "the value is undefined")
        return Check(cell.metric, cell.variant, rule, limit, use_ci, cell.corpus, cell.lang, "n/a", lo, hi,
                     math.nan, note)
    if rule == "max_relative_increase" or rule == "max_absolute_increase":
        excess = lo - limit
    elif rule == "max_relative_decrease" or rule == "max_absolute_decrease":
        excess = -limit - hi
    elif rule == "min_value":
        excess = limit - hi
    else:  # max_value
        excess = lo - limit
    status = "fail" if excess > 0 else "pass"
    return Check(cell.metric, cell.variant, rule, limit, use_ci, cell.corpus, cell.lang, status, lo, hi,
                 float(excess), note)


def _threshold_variants(metric_name: str, t) -> list[str]:
    variants = get_metric(metric_name).variants
    if t.variant == "*":
        return list(variants)
    return [t.variant or variants[0]]


def _matching(cells: Sequence[Cell], metric_name: str, t) -> list[Cell]:
    """The cells one threshold applies to: its metric, its variants and (if given) its languages."""
    variants = _threshold_variants(metric_name, t)
    return [c for c in cells if c.metric == metric_name and c.variant in variants
            and (not t.langs or c.lang in t.langs)]


def evaluate_thresholds(cells: Sequence[Cell], thresholds: Mapping[str, Sequence[Any]]) -> list[Check]:
    """Every rule of every threshold (``metric -> [tokbench.suites.Threshold]``) on every matching cell."""
    return [judge(cell, rule, float(limit), use_ci=t.use_ci)
            for metric_name, rules in thresholds.items() for t in rules
            for cell in _matching(cells, metric_name, t) for rule, limit in t.rules().items()]


def threshold_coverage(cells: Sequence[Cell], thresholds: Mapping[str, Sequence[Any]]) -> list[str]:
    """Notes for thresholds that matched no cell (e.g. a `langs` filter naming absent languages)."""
    out = []
    for metric_name, rules in thresholds.items():
        for t in rules:
            if not _matching(cells, metric_name, t):
                out.append(f"threshold on {metric_name}/{'|'.join(_threshold_variants(metric_name, t))}"
                           + (f" (langs {', '.join(sorted(set(t.langs)))})" if t.langs else "")
                           + " matched no compared language or metric: not evaluated")
    return out
