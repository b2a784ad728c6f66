"""The Metric object and the stats -> finalize protocol shared by every metric family.

A metric is two pure functions:

* ``stats(inp) -> Stats``: sufficient statistics of a TokenizedCorpus (already restricted to
  one language by the runner). Every value is a float/int or a numpy array, and the stats of
  two disjoint shards **add up** to the stats of their union (``merge_stats``).
* ``finalize(stats, params) -> {variant: Value}``: turns sums into the reported numbers
  (ratios last, as HELM's Stat and lm-eval's bits_per_byte do).

Metrics never call a tokenizer or a model. Anything that needs the tokenizer (isolated word
encodings, round-trip decode, UNK coverage) was computed once by ``tokbench.tokenize``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..tokenized import TokenizedCorpus

Stats = dict[str, Any]


@dataclass(frozen=True)
class Value:
    """One finalized number: ``value`` over a denominator of ``n`` units, with extra params."""

    value: float
    n: int
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricInput:
    tc: TokenizedCorpus
    params: Mapping[str, Any] = field(default_factory=dict)
    reference: TokenizedCorpus | None = None  # same documents, reference tokenizer (NSL)
    context: TokenizedCorpus | None = None  # the whole corpus, same tokenizer (cross-language metrics)


@dataclass(frozen=True)
class Metric:
    name: str
    variants: tuple[str, ...]
    unit: str
    higher_is_better: bool | None
    description: str
    version: int
    stats: Callable[[MetricInput], Stats]
    finalize: Callable[[Stats, Mapping[str, Any]], dict[str, Value]]
    default_params: Mapping[str, Any] = field(default_factory=dict)
    needs_reference: bool = False
    # where the runner computes it: "lang" (each language) and/or "all" (lang = "*")
    scopes: tuple[str, ...] = ("lang", "all")

    def compute(self, inp: MetricInput) -> dict[str, Value]:
        params = {**self.default_params, **inp.params}
        return self.finalize(self.stats(MetricInput(inp.tc, params, inp.reference, inp.context)), params)


def merge_stats(a: Stats, b: Stats) -> Stats:
    """Elementwise sum of two stats dicts (arrays of unequal length are zero-padded)."""
    out: Stats = {}
    for key in a.keys() | b.keys():
        x, y = a.get(key, 0), b.get(key, 0)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.atleast_1d(np.asarray(x)), np.atleast_1d(np.asarray(y))
            n = max(len(x), len(y))
            x = np.pad(x, (0, n - len(x)))
            y = np.pad(y, (0, n - len(y)))
        out[key] = x + y
    return out


def ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")
