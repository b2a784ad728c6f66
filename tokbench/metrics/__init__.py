"""The metric registry: every metric, by name.

``INTRINSIC`` names the per-corpus metrics every suite computes by default; ``PARALLEL`` the
cross-language metrics on parallel text (token premiums and parity, ``premium.py``), which a
suite lists explicitly in ``[suite].metrics``.

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
from .lexicon import LANG_TOKEN_SHARE, PURE_TOKEN_SHARE
from .model import MODEL_METRICS, ModelMetric
from .premium import BYTE_PREMIUM, PARITY, PREMIUM
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

# lexicon-based metrics (%LANG, %Pure): need a linguistic backend (the `lang` extra); not
# computed unless a suite lists them
METRICS.update({m.name: m for m in (LANG_TOKEN_SHARE, PURE_TOKEN_SHARE)})
LEXICAL: tuple[str, ...] = ("lang_token_share", "pure_token_share")

# cross-language metrics on parallel text: not in INTRINSIC, so not computed by default
METRICS.update({m.name: m for m in (PREMIUM, BYTE_PREMIUM, PARITY)})
PARALLEL: tuple[str, ...] = ("premium", "byte_premium", "parity")


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name raises ValueError with the closest names."""
    try:
        return METRICS[name]
    except KeyError:
        pass
    if name in MODEL_METRICS:
        raise ValueError(f"metric {name!r} is computed by {MODEL_METRICS[name].computed_by}, "
                         "not by a tokenizer suite")
    close = difflib.get_close_matches(str(name), list(METRICS), n=3, cutoff=0.6)
    hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close \
        else "known metrics: " + ", ".join(METRICS)
    raise ValueError(f"unknown metric {name!r}; {hint}")


__all__ = ["INTRINSIC", "LEXICAL", "METRICS", "MODEL_METRICS", "ModelMetric", "PARALLEL", "Metric", "MetricInput", "Stats", "Value", "get_metric",
           "merge_stats", "ratio"]
