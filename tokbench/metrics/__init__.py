"""The metric registries: every metric, by name, with the metadata the report reads.

``METRICS`` holds the tokenizer-side metrics (pure ``stats``/``finalize`` over a
TokenizedCorpus; the ``tokenizer`` suite kind computes them). A suite that lists no metrics
computes those with ``default=True`` (:func:`default_metrics`); the lexicon (%LANG, %Pure) and
parallel-text (premium, parity) metrics are listed explicitly. ``MODEL_METRICS`` declares the
metrics that other suite kinds write (perplexity, char tasks). Both registries read the
``tokbench.metrics`` entry-point group, so a plug-in package adds a metric with one module
(docs/plugins.md).

>>> from tokbench.metrics import METRICS, get_metric
>>> get_metric("fertility").variants
('in_context', 'in_context_macro', 'isolated')
>>> get_metric("fertilty")
Traceback (most recent call last):
...
ValueError: unknown metric 'fertilty'; did you mean 'fertility'?
"""
from __future__ import annotations

from typing import Any

from ..plugins import GROUPS, PluginError, Registry, UnknownName
from .base import Described, Metric, MetricInput, Show, Stats, Value, merge_stats, ratio
from .compression import BYTES_PER_TOKEN, CHARS_PER_TOKEN, NSL
from .domain import DOMAIN_METRICS
from .digits import DIGIT_METRICS
from .composition import VOCAB_METRICS
from .entropy import RENYI_EFFICIENCY, SHANNON_EFFICIENCY
from .fertility import CONTINUATION_SHARE, FERTILITY, PCW
from .lexicon import LANG_TOKEN_SHARE, PURE_TOKEN_SHARE
from .morph_boundary import MORPH_BOUNDARY
from .model import BUILTIN_MODEL_METRICS, ModelMetric
from .premium import BYTE_PREMIUM, PARITY, PREMIUM
from .robustness import ROBUSTNESS_METRICS
from .roundtrip import ROUNDTRIP
from .superword import SUPERWORD_SHARE
from .retention import STRR
from .zipf import ZIPF
from .vocabulary import BYTE_FALLBACK_RATE, UNK_RATE, VOCAB_UTILIZATION


def _plugin_metrics(ep_name: str, obj: Any) -> list[tuple[str, Any]]:
    """An entry point of ``tokbench.metrics`` names a Metric, a ModelMetric, or a list of them."""
    objs = obj if isinstance(obj, (list, tuple)) else [obj]
    for o in objs:
        if not isinstance(o, (Metric, ModelMetric)):
            raise PluginError(f"entry point {GROUPS['metrics']}:{ep_name} gives {type(o).__name__}, not a "
                              "tokbench.metrics.Metric or ModelMetric")
    return [(o.name, o) for o in objs]


def _only(cls):
    def check(obj, name):
        if not isinstance(obj, cls):
            raise PluginError(f"metric {name!r} is a {type(obj).__name__}, not a {cls.__name__}")
        return obj
    return check


class _SplitRegistry(Registry):
    """A metric registry that takes from the shared entry-point group only objects of its class."""

    def __init__(self, kind: str, cls: type) -> None:
        super().__init__(kind, group=GROUPS["metrics"], check=_only(cls),
                         expand=lambda n, o: [(k, v) for k, v in _plugin_metrics(n, o) if isinstance(v, cls)])


METRICS: Registry[Metric] = _SplitRegistry("metric", Metric)
for _m in (FERTILITY, PCW, CONTINUATION_SHARE,
           BYTES_PER_TOKEN, CHARS_PER_TOKEN, NSL,
           VOCAB_UTILIZATION, UNK_RATE, BYTE_FALLBACK_RATE,
           ROUNDTRIP,
           RENYI_EFFICIENCY, SHANNON_EFFICIENCY,
           SUPERWORD_SHARE,
           STRR, ZIPF,
           LANG_TOKEN_SHARE, PURE_TOKEN_SHARE, MORPH_BOUNDARY,
           PREMIUM, BYTE_PREMIUM, PARITY,
           *DIGIT_METRICS,
           *DOMAIN_METRICS):
    METRICS.add(_m.name, _m)

MODEL_METRICS: Registry[ModelMetric] = _SplitRegistry("model-side metric", ModelMetric)
for _m in (*BUILTIN_MODEL_METRICS, *VOCAB_METRICS, *ROBUSTNESS_METRICS):
    MODEL_METRICS.add(_m.name, _m)


def default_metrics() -> tuple[str, ...]:
    """The metrics a tokenizer suite computes when it lists none (``default=True``)."""
    return tuple(n for n, m in METRICS.items() if m.default)


def get_metric(name: str) -> Metric:
    """The tokenizer-side metric called ``name``; an unknown name raises ValueError with the closest names."""
    if name not in METRICS and name in MODEL_METRICS:
        raise ValueError(f"metric {name!r} is computed by {MODEL_METRICS[name].computed_by}, "
                         "not by a tokenizer suite")
    try:
        return METRICS.get(name)
    except UnknownName as e:
        raise ValueError(str(e)) from None


def any_metric(name: str) -> Described:
    """A metric of either registry (tokenizer side or model side)."""
    return MODEL_METRICS.get(name) if name in MODEL_METRICS and name not in METRICS else get_metric(name)


def metric_info() -> dict[str, dict[str, Any]]:
    """Metadata of every metric, tokenizer side and model side, plug-ins included: unit,
    direction, description, and per variant unit, direction, headline order, drill-down and
    models-table flags (``Described.info``). This is all the report layer and the gate know
    about metrics."""
    return {m.name: m.info() for m in (*METRICS.values(), *MODEL_METRICS.values())}


def headline(info: dict[str, dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    """(metric, variant) headline columns in display order, from ``metric_info``."""
    info = metric_info() if info is None else info
    cols = [(v["order"], m, var) for m, i in info.items() for var, v in i.get("variants", {}).items()
            if v.get("order") is not None]
    return [(m, var) for _, m, var in sorted(cols)]


__all__ = ["METRICS", "MODEL_METRICS", "Described", "Metric", "MetricInput", "ModelMetric", "Show", "Stats", "Value",
           "any_metric", "default_metrics", "get_metric", "headline", "merge_stats", "metric_info", "ratio"]
