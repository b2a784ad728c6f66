"""Entropy efficiency of the unigram token distribution (Zouhar et al. 2023).

``efficiency = H_a(p) / log2 |V|`` with ``H_a = 1/(1-a) log2 sum_i p_i^a`` (Renyi; a -> 1 is
Shannon). Two normalisers are reported: ``vocab`` divides by the tokenizer's vocabulary size
(the paper's definition), ``observed`` by the number of token types seen on the corpus (the
default of the ``tokenization-scorer`` package). Statistics are the token-count histogram,
which adds across shards.

>>> import math, numpy as np
>>> round(renyi_entropy(np.array([3, 2, 1, 1]), 2.5) / math.log2(4), 6)  # tokenization-scorer test.py
0.826506
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value
from .vocabulary import token_counts


def renyi_entropy(counts: np.ndarray, alpha: float) -> float:
    """Renyi entropy in bits of the distribution proportional to ``counts`` (NaN if empty).

    ``alpha == 1`` is Shannon entropy, ``alpha == inf`` min-entropy, ``alpha == 0`` Hartley.
    """
    alpha = float(alpha)
    if not alpha >= 0:
        raise ValueError(f"Renyi alpha must be >= 0, got {alpha}")
    c = np.asarray(counts)
    c = c[c > 0].astype(np.float64)
    total = c.sum()
    if total == 0:
        return float("nan")
    p = c / total
    if alpha == 1.0:
        h = -float(np.sum(p * np.log2(p)))
    elif math.isinf(alpha):
        h = -math.log2(float(p.max()))
    elif alpha == 0.0:
        h = math.log2(len(p))
    else:
        h = math.log2(float(np.sum(p ** alpha))) / (1.0 - alpha)
    return max(h, 0.0) + 0.0  # no -0.0 or rounding below zero for a one-type distribution


def _efficiency(h: float, size: int) -> float:
    return h / math.log2(size) if size > 1 and not math.isnan(h) else float("nan")


def _stats(inp: MetricInput) -> Stats:
    return {"counts": token_counts(inp.tc)}


def _values(counts: np.ndarray, alpha: float, extra: Mapping[str, Any]) -> dict[str, Value]:
    counts = np.asarray(counts)
    size = int(len(counts))
    types = int(np.count_nonzero(counts))
    tokens = int(counts.sum())
    h = renyi_entropy(counts, alpha)
    p = {**extra, "entropy_bits": h, "tokens": tokens}
    out = {
        "vocab": Value(_efficiency(h, size), tokens, {**p, "vocab_size": size}),
        "observed": Value(_efficiency(h, types), tokens, {**p, "vocab_size": types}),
    }
    if tokens and types <= 1:
        out["observed"] = Value(float("nan"), tokens, {**p, "vocab_size": types,
                                                       "note": "one token type: log2|V| is 0"})
    return out


def _renyi_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    alpha = float(params.get("alpha", 2.5))
    return _values(s["counts"], alpha, {"alpha": alpha})


def _shannon_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    return _values(s["counts"], 1.0, {"alpha": 1.0})


RENYI_EFFICIENCY = Metric(
    name="renyi_efficiency",
    variants=("vocab", "observed"),
    unit="bits/bit",
    higher_is_better=True,
    description="Renyi entropy (alpha 2.5 by default) of the unigram token distribution over log2 of the "
                "vocabulary size, or of the observed types (Zouhar et al. 2023; tokenization-scorer).",
    version=1,
    stats=_stats,
    finalize=_renyi_finalize,
    default_params={"alpha": 2.5},
    display={"vocab": Show(order=120)},
)

SHANNON_EFFICIENCY = Metric(
    name="shannon_efficiency",
    variants=("vocab", "observed"),
    unit="bits/bit",
    higher_is_better=None,
    description="Shannon entropy of the unigram token distribution over log2 of the vocabulary size, "
                "or of the observed types (Zouhar et al. 2023; tokenization-scorer).",
    version=1,
    stats=_stats,
    finalize=_shannon_finalize,
    display={"vocab": Show(order=130)},
)
