"""The Metric object and the stats -> finalize protocol shared by every metric family.

A metric is two pure functions:

* ``stats(inp) -> Stats``: sufficient statistics of a TokenizedCorpus (already restricted to
  one language by the tokenizer suite kind). Every value is a float/int or a numpy array, and the stats of
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
class Show:
    """Display metadata of one variant: the leaderboard, the published site, ``tokbench ls`` and
    the regression gate read these (``metric_info``), never lists of metric names of their own.

    ``order``: a headline column of the suite summary table, in this global order (None: shown
    only in the metric legend and the data). ``higher_is_better`` / ``unit``: when the variant
    differs from its metric (``pcw/unsplit`` is a share of words kept whole: higher is better).
    ``drilldown``: a per-language table in the markdown leaderboard. ``models_table``: a column of
    the joined models table (model-side metrics; tokenizer metrics of the model's tokenizer).
    ``lossless``: this variant measures losslessness: 1.0 (0.0 when lower is better) is exact;
    any other value flags the tokenizer's row in the suite summary (a mark and a footnote).
    ``stack``: variants of one metric with the same ``stack`` name are shares of one whole, drawn as
    one stacked bar per tokenizer (in variant order; ``tokbench.report.stack_plots``).
    ``by_corpus``: each row of this variant is one share of a whole, the row's ``corpus`` naming
    the part (mixture weights per category): a tokenizer x corpus table and a stacked bar
    (``tokbench.report.corpus_shares``).
    """

    order: int | None = None
    higher_is_better: bool | None | type(Ellipsis) = ...
    unit: str | None = None
    drilldown: bool = False
    models_table: bool = False
    lossless: bool = False
    stack: str | None = None
    by_corpus: bool = False


class Described:
    """Metadata lookups shared by :class:`Metric` (tokenizer side) and model-side metrics."""

    def show(self, variant: str) -> Show:
        return self.display.get(variant) or Show()  # type: ignore[attr-defined]

    def direction(self, variant: str | None = None) -> bool | None:
        """True: higher is better; False: lower is better; None: descriptive (no "best")."""
        s = self.show(variant) if variant else Show()
        return self.higher_is_better if s.higher_is_better is ... else s.higher_is_better  # type: ignore

    def unit_of(self, variant: str | None = None) -> str:
        s = self.show(variant) if variant else Show()
        return s.unit or self.unit  # type: ignore[attr-defined]

    def info(self) -> dict[str, Any]:
        """Plain metadata (what the report layer reads): unit, direction, description, variants."""
        variants = {}
        for v in self.variants:  # type: ignore[attr-defined]
            s = self.show(v)
            variants[v] = {"unit": self.unit_of(v), "higher_is_better": self.direction(v), "order": s.order,
                           "drilldown": s.drilldown, "models_table": s.models_table, "lossless": s.lossless,
                           "stack": s.stack, "by_corpus": s.by_corpus}
        return {"name": self.name, "unit": self.unit, "higher_is_better": self.higher_is_better,  # type: ignore
                "description": self.description, "variants": variants,  # type: ignore[attr-defined]
                "version": getattr(self, "version", None), "needs_reference": getattr(self, "needs_reference", False),
                "computed_by": getattr(self, "computed_by", "a tokenizer suite")}


@dataclass(frozen=True)
class Metric(Described):
    """A tokenizer-side metric: ``stats`` then ``finalize`` (module docstring).

    ``default``: computed by a tokenizer suite that lists no ``metrics``. ``display``: per-variant
    :class:`Show` metadata. A plug-in metric is one module holding one ``Metric`` object,
    registered under the ``tokbench.metrics`` entry-point group (docs/plugins.md).
    """

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
    # where the tokenizer suite kind computes it: "lang" (each language) and/or "all" (lang = "*")
    scopes: tuple[str, ...] = ("lang", "all")
    default: bool = True
    display: Mapping[str, Show] = field(default_factory=dict)
    word_examples: bool = False  # examples of this metric are words, not documents (the regression gate)
    # stats read only the per-document columns (tokenized.PER_DOC) and need the whole corpus
    # (``context``) or the reference tokenization: a sharded run computes them once from the
    # merged per-document table instead of adding them up shard by shard (tokbench.sharded)
    document_level: bool = False
    # reads the token spans (word membership, positions in the text): its rows get
    # APPROXIMATE_SPANS when the tokenizer gives no offsets and its spans were aligned
    uses_spans: bool = False

    def scope_params(self, params: Mapping[str, Any], langs: list[str]) -> dict[str, Any]:
        """The parameters of one scope (``langs``: its languages): defaults, then ``params``."""
        return {**self.default_params, **params}

    def compute(self, inp: MetricInput) -> dict[str, Value]:
        params = self.scope_params(inp.params, list(dict.fromkeys(np.asarray(inp.tc.lang).tolist())))
        return self.finalize(self.stats(MetricInput(inp.tc, params, inp.reference, inp.context)), params)


# the note on rows of span-reading metrics (Metric.uses_spans) of a tokenizer whose token spans
# were aligned from each token's text (the python backend without offsets: TokenizedCorpus.meta
# "spans" = "aligned"; docs/registry.md#python-tokenizers)
APPROXIMATE_SPANS = ("token spans aligned from each token's own text (the tokenizer gives no offsets): approximate "
                     "where that text differs from the document")


def merge_stats(a: Stats, b: Stats) -> Stats:
    """Elementwise sum of two stats dicts (arrays of unequal length are zero-padded)."""
    out: Stats = {}
    for key in list(a) + [k for k in b if k not in a]:  # a fixed key order, whatever the hash seed
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
