"""The metric registry: every intrinsic (tokenizer-only) metric, by name.

>>> from tokbench.metrics import METRICS, get_metric
>>> get_metric("fertility").variants
('in_context', 'in_context_macro', 'isolated')
>>> get_metric("fertilty")
Traceback (most recent call last):
...
ValueError: unknown metric 'fertilty'; did you mean 'fertility'?
"""
from __future__ import annotations

import difflib

from .base import Metric, MetricInput, Stats, Value, merge_stats, ratio
from .compression import BYTES_PER_TOKEN, CHARS_PER_TOKEN, NSL
from .entropy import RENYI_EFFICIENCY, SHANNON_EFFICIENCY
from .fertility import CONTINUATION_SHARE, FERTILITY, PCW
from .roundtrip import ROUNDTRIP
from .superword import SUPERWORD_SHARE
from .vocabulary import BYTE_FALLBACK_RATE, UNK_RATE, VOCAB_UTILIZATION

METRICS: dict[str, Metric] = {m.name: m for m in (
    FERTILITY, PCW, CONTINUATION_SHARE,
    BYTES_PER_TOKEN, CHARS_PER_TOKEN, NSL,
    VOCAB_UTILIZATION, UNK_RATE, BYTE_FALLBACK_RATE,
    ROUNDTRIP,
    RENYI_EFFICIENCY, SHANNON_EFFICIENCY,
    SUPERWORD_SHARE,
)}

INTRINSIC: tuple[str, ...] = tuple(METRICS)


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name raises ValueError with the closest names."""
    try:
        return METRICS[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(str(name), list(METRICS), n=3, cutoff=0.6)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close \
        else "known metrics: " + ", ".join(METRICS)
    raise ValueError(f"unknown metric {name!r}; {hint}")


__all__ = ["INTRINSIC", "METRICS", "Metric", "MetricInput", "Stats", "Value", "get_metric",
           "merge_stats", "ratio"]
