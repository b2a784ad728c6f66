"""The gate's data: what is compared (:class:`CorpusPair`) and what comes out (:class:`Cell`,
:class:`Check`, :class:`Example`), plus the helpers the bootstrap, the thresholds and the
examples share. A leaf of the package: it imports no other gate module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..schema import ALL_LANGS
from ..tokenized import TokenizedCorpus

CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 1000
EXAMPLE_SCOPES = 2  # failing scopes per threshold rule that get example words/documents

INCREASE_RULES = ("max_relative_increase", "max_absolute_increase", "max_value")
RELATIVE_RULES = ("max_relative_increase", "max_relative_decrease")


class GateError(ValueError):
    """Bad input for compare/check (exit 2); the message says what to fix."""


@dataclass
class CorpusPair:
    """One corpus tokenized by both tokenizers (same documents, same order)."""

    name: str
    baseline: TokenizedCorpus
    candidate: TokenizedCorpus
    texts: Sequence[str] | None = None  # the documents (for word and document examples)
    reference: TokenizedCorpus | None = None  # for metrics with `needs_reference`
    segmenters: Mapping[str, str] | None = None  # lang -> segmenter (default: baseline.meta["segmenters"])

    def check_aligned(self) -> None:
        b, c = self.baseline, self.candidate
        if b.n_docs != c.n_docs or not np.array_equal(np.asarray(b.doc_key), np.asarray(c.doc_key)) \
                or not np.array_equal(np.asarray(b.lang), np.asarray(c.lang)):
            raise ValueError(f"corpus {self.name!r}: the baseline and candidate tokenizations do not cover the "
                             "same documents in the same order")
        if self.texts is not None and len(self.texts) != b.n_docs:
            raise ValueError(f"corpus {self.name!r}: {len(self.texts)} texts for {b.n_docs} documents")

    def segmenter_map(self) -> dict[str, str]:
        """lang -> segmenter: the pair's own, else the ones the baseline was tokenized with."""
        return dict(self.segmenters or self.baseline.meta.get("segmenters") or {})


@dataclass
class Cell:
    """One (corpus, lang, metric, variant): both values, the delta and its bootstrap CIs."""

    corpus: str
    lang: str
    metric: str
    variant: str
    baseline: float
    candidate: float
    delta: float
    rel_delta: float
    ci_low: float = math.nan  # CI of the delta
    ci_high: float = math.nan
    rel_ci_low: float = math.nan  # CI of the relative delta
    rel_ci_high: float = math.nan
    base_ci_low: float = math.nan  # the baseline's own CI
    base_ci_high: float = math.nan
    cand_ci_low: float = math.nan  # the candidate's own CI
    cand_ci_high: float = math.nan
    n_baseline: int = 0
    n_candidate: int = 0
    higher_is_better: bool | None = None  # the metric's direction for this variant (metric metadata)
    note: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.metric, self.variant, self.corpus, self.lang)

    @property
    def has_ci(self) -> bool:
        return not (math.isnan(self.ci_low) and math.isnan(self.ci_high))

    def verdict(self) -> str:
        """"better"/"worse" when the delta's CI excludes 0 and the metric has a direction, else ""."""
        if self.higher_is_better is None or not self.has_ci:
            return ""
        if self.ci_low > 0:
            return "better" if self.higher_is_better else "worse"
        if self.ci_high < 0:
            return "worse" if self.higher_is_better else "better"
        return ""


@dataclass
class Check:
    """One threshold rule applied to one cell."""

    metric: str
    variant: str
    rule: str
    limit: float
    use_ci: bool
    corpus: str
    lang: str
    status: str  # "pass", "fail" or "n/a"
    low: float  # the interval compared with the limit (point, point without CI)
    high: float
    excess: float  # how far the interval lies beyond the limit (> 0 exactly when it fails)
    note: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.metric, self.variant, self.corpus, self.lang)

    @property
    def rule_key(self) -> tuple[str, str, str, float]:
        return (self.metric, self.variant, self.rule, self.limit)


@dataclass
class Example:
    """A word or document where the candidate regressed most (for the failure report)."""

    kind: str  # "word" or "document"
    corpus: str
    lang: str
    doc: int  # document index in the corpus
    doc_key: str
    text: str  # the word, or the start of the document
    baseline: float  # tokens of the word (in context, or alone for isolated variants) / per-document value
    candidate: float
    occurrences: int = 1  # occurrences of the word in the scope
    span: tuple[int, int] | None = None  # the word's character span in its document
    isolated: bool = False  # counts (and pieces) of the word encoded alone
    baseline_pieces: list[str] | None = None
    candidate_pieces: list[str] | None = None


def jsonable(d: dict) -> dict:
    """A dataclass dict with NaN as None and infinities as "inf"/"-inf" (strict JSON)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        out[k] = v
    return out


def relative(cand: np.ndarray | float, base: np.ndarray | float) -> np.ndarray:
    """``cand / base - 1`` elementwise: 0 when both are equal (also 0 and 0), +-inf when only
    the baseline is 0."""
    c, b = np.asarray(cand, dtype=np.float64), np.asarray(base, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = (c - b) / np.abs(b)
    rel = np.where(c == b, 0.0, rel)  # no change is 0 %, also when the baseline is 0
    return rel


def scope_params(metric, lang: str, segmenters: Mapping[str, str], metric_params: Mapping[str, dict],
                 reference_name: str | None) -> dict[str, Any]:
    """The params of ``metric`` on one scope, as ``tokbench run`` passes them."""
    seg = segmenters.get(lang) if lang != ALL_LANGS else "per-language"
    p = {"segmenter": seg, **metric_params.get(metric.name, {})}
    if metric.needs_reference:
        p["reference"] = reference_name
    return p


def example_scopes(failures: Sequence[Check], per_rule: int = EXAMPLE_SCOPES) -> list[Check]:
    """The failed checks that get examples: per rule, the ``per_rule`` worst, languages before "*"."""
    groups: dict[tuple, list[Check]] = {}
    for c in failures:  # already worst first
        groups.setdefault(c.rule_key + (c.use_ci,), []).append(c)
    out = []
    for group in groups.values():
        langs = [c for c in group if c.lang != ALL_LANGS] or group
        out.extend(langs[:per_rule])
    return out
