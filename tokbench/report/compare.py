"""Paired comparison of two tokenizers on the same documents: deltas, bootstrap CIs, thresholds.

Pure: :class:`CorpusPair` objects (the baseline's and the candidate's ``TokenizedCorpus`` of
one corpus, plus optionally the texts and a reference tokenization for ``nsl``) in,
:class:`Comparison` (dataclasses) and markdown out. Nothing here calls a tokenizer; filling
in the decoded pieces of the example words is left to the caller (``tokbench.gate``).

Point values are ``Metric.compute`` on each scope, exactly as ``tokbench run`` stores them.
Confidence intervals come from a **paired, per-language (stratified) bootstrap over
documents**, computed from summable per-document statistics:

1. For every document ``d`` and metric, ``stats_d = metric.stats(tc.select([d]))``. Scalar
   statistics form a matrix ``M`` (documents x keys); array-valued statistics (the token
   histogram of ``vocab_utilization``, ``renyi_efficiency``, ``shannon_efficiency``) are kept
   sparse: the (document, index, count) triples of their non-zero entries.
2. Resampling (:func:`resample_indices`): one ``numpy.random.default_rng(seed)`` per corpus;
   for each language in order of first appearance, ``rng.integers(0, n_lang, size=(R, n_lang))``
   picks ``n_lang`` of that language's documents with replacement, ``R`` times. The **same**
   indices are used for the baseline and the candidate (the documents are aligned: same corpus,
   same order). Resample ``r`` of the ``"*"`` scope is the union of resample ``r`` of every
   language, so the language mix stays fixed.
3. A resample's statistics are count-weighted sums: ``W[r] @ M`` (``W[r, d]`` = how often
   document ``d`` was drawn) and, for array statistics, one ``bincount`` over the sparse
   triples. Because statistics add up (``merge_stats``), this equals ``metric.stats`` of the
   resampled documents concatenated; ``metric.finalize`` then gives the resampled value.
4. Per resample: ``delta = candidate - baseline``, ``relative = candidate / baseline - 1``
   (0 when both are equal, +-inf when only the baseline is 0). The CI is the percentile
   interval ``numpy.percentile(x, [2.5, 97.5])`` over the finite resampled values.

Array-valued metrics cost a pass over the vocabulary per resample and finalize, so their CIs
are computed only when asked (``full_ci``) or when a threshold names the metric; otherwise
they are left empty with a note.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..metrics import METRICS
from ..metrics.base import MetricInput
from ..schema import ALL_LANGS
from ..tokenized import TokenizedCorpus

CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 1000
EXAMPLE_SCOPES = 2  # failing scopes per threshold rule that get example words/documents

INCREASE_RULES = ("max_relative_increase", "max_absolute_increase", "max_value")
RELATIVE_RULES = ("max_relative_increase", "max_relative_decrease")
# metrics whose regressions are best shown as words: +1 when more tokens per word raise the value
WORD_METRICS = {"fertility": 1, "pcw": 1, "continuation_share": 1}

__all__ = ["CorpusPair", "Cell", "Check", "Example", "Comparison", "compare", "resample_indices",
           "resample_weights", "bootstrap_values", "judge", "evaluate_thresholds", "find_examples",
           "CONFIDENCE", "DEFAULT_RESAMPLES"]


# --------------------------------------------------------------------------------------
# data classes

@dataclass
class CorpusPair:
    """One corpus tokenized by both tokenizers (same documents, same order)."""

    name: str
    baseline: TokenizedCorpus
    candidate: TokenizedCorpus
    texts: Sequence[str] | None = None  # the documents (for word and document examples)
    reference: TokenizedCorpus | None = None  # for `nsl`
    segmenters: Mapping[str, str] | None = None  # lang -> segmenter (default: baseline.meta["segmenters"])

    def check_aligned(self) -> None:
        b, c = self.baseline, self.candidate
        if b.n_docs != c.n_docs or not np.array_equal(np.asarray(b.doc_key), np.asarray(c.doc_key)) \
                or not np.array_equal(np.asarray(b.lang), np.asarray(c.lang)):
            raise ValueError(f"corpus {self.name!r}: the baseline and candidate tokenizations do not cover the "
                             "same documents in the same order")
        if self.texts is not None and len(self.texts) != b.n_docs:
            raise ValueError(f"corpus {self.name!r}: {len(self.texts)} texts for {b.n_docs} documents")


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
    higher_is_better: bool | None = None
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
    baseline: float  # tokens of the word (in context, or alone for fertility/isolated) / per-document value
    candidate: float
    occurrences: int = 1  # occurrences of the word in the scope
    span: tuple[int, int] | None = None  # the word's character span in its document
    isolated: bool = False  # counts (and pieces) of the word encoded alone
    baseline_pieces: list[str] | None = None
    candidate_pieces: list[str] | None = None


@dataclass
class Comparison:
    baseline: str
    candidate: str
    cells: list[Cell]
    checks: list[Check] = field(default_factory=list)
    examples: dict[tuple[str, str, str, str], list[Example]] = field(default_factory=dict)
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    confidence: float = CONFIDENCE
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[Check]:
        """Failed checks, the furthest beyond their limit first."""
        return sorted((c for c in self.checks if c.status == "fail"), key=lambda c: -c.excess)

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def cell(self, metric: str, variant: str, corpus: str, lang: str) -> Cell | None:
        for c in self.cells:
            if c.key == (metric, variant, corpus, lang):
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline, "candidate": self.candidate, "ok": self.ok,
            "resamples": self.resamples, "seed": self.seed, "confidence": self.confidence,
            "meta": self.meta, "notes": self.notes,
            "cells": [_jsonable(asdict(c)) for c in self.cells],
            "checks": [_jsonable(asdict(c)) for c in self.checks],
            "examples": [{"metric": k[0], "variant": k[1], "corpus": k[2], "lang": k[3],
                          "examples": [_jsonable(asdict(e)) for e in v]} for k, v in self.examples.items()],
        }

    def to_markdown(self, *, mode: str = "check", max_rows: int = 10) -> str:
        return _markdown(self, mode=mode, max_rows=max_rows)


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        out[k] = v
    return out


# --------------------------------------------------------------------------------------
# resampling

def _lang_docs(lang: np.ndarray) -> dict[str, np.ndarray]:
    """Document indices of every language, languages in order of first appearance."""
    lang = np.asarray(lang)
    order = list(dict.fromkeys(lang.tolist()))
    return {l: np.flatnonzero(lang == l) for l in order}


def resample_indices(lang: np.ndarray, resamples: int, seed: int | np.random.Generator = 0
                     ) -> dict[str, np.ndarray]:
    """Per language: an ``(resamples, n_lang)`` array of document indices (into the corpus),
    drawn with replacement from that language's documents.

    ``rng = numpy.random.default_rng(seed)``; languages in order of first appearance; for each,
    ``docs[rng.integers(0, len(docs), size=(resamples, len(docs)))]``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = {}
    for l, docs in _lang_docs(lang).items():
        out[l] = docs[rng.integers(0, len(docs), size=(resamples, len(docs)))]
    return out


def resample_weights(lang: np.ndarray, resamples: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``W[r, d]``: how often resample ``r`` drew document ``d`` (from :func:`resample_indices`)."""
    n = len(lang)
    flat = np.zeros(resamples * n, dtype=np.float64)
    rows = np.arange(resamples, dtype=np.int64)[:, None] * n
    for idx in resample_indices(lang, resamples, seed).values():
        flat += np.bincount((rows + idx).ravel(), minlength=resamples * n)
    return flat.reshape(resamples, n)


# --------------------------------------------------------------------------------------
# per-document statistics and bootstrap

@dataclass
class _DocStats:
    scalar_keys: list[str]
    integer: list[bool]
    M: np.ndarray  # (D, K)
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]]
    # key -> (doc of entry, index of entry, value of entry, length per doc, integer)


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.ndim >= 1


def _doc_stats(metric, subs: Sequence[TokenizedCorpus], ref_subs: Sequence[TokenizedCorpus | None],
               params_of_doc: Sequence[Mapping[str, Any]]) -> _DocStats:
    stats = [metric.stats(MetricInput(sub, {**metric.default_params, **p}, ref))
             for sub, ref, p in zip(subs, ref_subs, params_of_doc)]
    keys: dict[str, None] = {}
    for s in stats:
        for k in s:
            keys.setdefault(k, None)
    array_keys = [k for k in keys if any(_is_array(s.get(k)) for s in stats)]
    scalar_keys = [k for k in keys if k not in array_keys]
    D = len(stats)
    M = np.zeros((D, len(scalar_keys)), dtype=np.float64)
    integer = []
    for j, k in enumerate(scalar_keys):
        col = [s.get(k, 0) for s in stats]
        integer.append(all(isinstance(x, (int, np.integer, bool, np.bool_)) for x in col))
        M[:, j] = np.asarray(col, dtype=np.float64)
    arrays = {}
    for k in array_keys:
        docs, pos, vals, lens = [], [], [], np.zeros(D, dtype=np.int64)
        is_int = True
        for d, s in enumerate(stats):
            a = np.atleast_1d(np.asarray(s.get(k, np.zeros(0))))
            is_int &= a.dtype.kind in "iub"
            lens[d] = len(a)
            nz = np.flatnonzero(a)
            docs.append(np.full(len(nz), d, dtype=np.int64))
            pos.append(nz)
            vals.append(a[nz].astype(np.float64))
        arrays[k] = (np.concatenate(docs), np.concatenate(pos), np.concatenate(vals), lens, is_int)
    return _DocStats(scalar_keys, integer, M, arrays)


def _resampled_stats(ds: _DocStats, docs: np.ndarray, W: np.ndarray) -> Iterator[dict[str, Any]]:
    """The statistics of every resample of the scope ``docs`` (W: resamples x all documents), one at
    a time: array-valued statistics share one buffer, valid until the next resample is drawn."""
    Wd = W[:, docs]
    S = Wd @ ds.M[docs]  # exact for integer statistics (float64 sums of integers < 2**53)
    cols = []
    for j, is_int in enumerate(ds.integer):
        col = S[:, j]
        cols.append(np.rint(col).astype(np.int64).tolist() if is_int else col.tolist())
    R = W.shape[0]
    rows = [dict(zip(ds.scalar_keys, vals)) for vals in zip(*cols)] if cols else [{} for _ in range(R)]
    if not ds.arrays:
        yield from rows
        return
    in_scope = np.zeros(W.shape[1], dtype=bool)
    in_scope[docs] = True
    prepared = []
    for k, (e_doc, e_pos, e_val, lens, is_int) in ds.arrays.items():
        keep = in_scope[e_doc]
        # compress to the indices the scope uses and scatter into one reused buffer per key
        # (the arrays are vocabulary-sized: no fresh allocation per resample)
        used, e_pos_c = np.unique(e_pos[keep], return_inverse=True)
        lens_s = lens[docs]
        buf = np.zeros(int(lens_s.max()) if len(lens_s) else 0, dtype=np.int64 if is_int else np.float64)
        prepared.append((k, e_doc[keep], e_pos_c, e_val[keep], used, lens_s, buf, is_int))
    for r in range(R):
        drawn = Wd[r] > 0
        out = rows[r]
        for k, e_doc_s, e_pos_c, e_val_s, used, lens_s, buf, is_int in prepared:
            length = int(lens_s[drawn].max()) if drawn.any() else 0
            c = np.bincount(e_pos_c, weights=e_val_s * W[r, e_doc_s], minlength=len(used))
            buf[used] = np.rint(c) if is_int else c
            out[k] = buf[:length]
        yield out


def bootstrap_values(metric, stats_list: Iterable[Mapping[str, Any]], params: Mapping[str, Any]
                     ) -> dict[str, np.ndarray]:
    """``metric.finalize`` of every resample's statistics: variant -> (R,) values."""
    params = {**metric.default_params, **params}
    vals: dict[str, list[float]] = {}
    for s in stats_list:
        for variant, v in metric.finalize(s, params).items():
            vals.setdefault(variant, []).append(float(v.value))
    return {k: np.asarray(v, dtype=np.float64) for k, v in vals.items()}


def _relative(cand: np.ndarray | float, base: np.ndarray | float) -> np.ndarray:
    c, b = np.asarray(cand, dtype=np.float64), np.asarray(base, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = (c - b) / np.abs(b)
    rel = np.where(c == b, 0.0, rel)  # no change is 0 %, also when the baseline is 0
    return rel


def _ci(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """Percentile interval over the non-NaN values (and how many values were NaN)."""
    x = np.asarray(x, dtype=np.float64)
    nan = np.isnan(x)
    x = x[~nan]
    if x.size == 0:
        return math.nan, math.nan, int(nan.sum())
    tail = round((100 - 100 * confidence) / 2, 10)  # 2.5 exactly for 0.95
    q = [tail, 100 - tail]
    if np.isinf(x).any():
        # linear interpolation next to an infinity is that infinity
        xs = np.sort(x)
        bounds = []
        for p in q:
            h = (len(xs) - 1) * p / 100
            lo, hi = xs[int(math.floor(h))], xs[int(math.ceil(h))]
            if lo == hi:
                bounds.append(float(lo))
            elif math.isinf(lo) or math.isinf(hi):
                bounds.append(float(lo) if math.isinf(lo) else float(hi))
            else:
                bounds.append(float(lo + (hi - lo) * (h - math.floor(h))))
        return bounds[0], bounds[1], int(nan.sum())
    lo, hi = np.percentile(x, q)
    return float(lo), float(hi), int(nan.sum())


# --------------------------------------------------------------------------------------
# compare

def _scope_params(metric, lang: str, segmenters: Mapping[str, str], metric_params: Mapping[str, dict],
                  reference_name: str | None) -> dict[str, Any]:
    seg = segmenters.get(lang) if lang != ALL_LANGS else "per-language"
    p = {"segmenter": seg, **metric_params.get(metric.name, {})}
    if metric.needs_reference:
        p["reference"] = reference_name
    return p


def compare(pairs: Sequence[CorpusPair], *, metrics: Sequence[str] | None = None,
            metric_params: Mapping[str, dict] | None = None, thresholds: Mapping[str, Sequence[Any]] | None = None,
            resamples: int = DEFAULT_RESAMPLES, seed: int = 0, confidence: float = CONFIDENCE,
            full_ci: bool = False, baseline: str = "baseline", candidate: str = "candidate",
            reference_name: str | None = None, examples: int = 5, meta: Mapping[str, Any] | None = None
            ) -> Comparison:
    """Compare ``candidate`` against ``baseline`` on every corpus pair; evaluate ``thresholds``.

    ``thresholds``: metric -> list of ``tokbench.suites.Threshold`` (or objects with the same
    attributes). ``full_ci``: also bootstrap metrics with vocabulary-sized statistics that no
    threshold names (slow for large vocabularies).
    """
    metric_params = dict(metric_params or {})
    thresholds = dict(thresholds or {})
    names = list(metrics) if metrics is not None else list(METRICS)
    if resamples < 0:
        raise ValueError("resamples must be >= 0")
    cells: list[Cell] = []
    notes: list[str] = []
    skipped_array: set[str] = set()
    for pair in pairs:
        pair.check_aligned()
        b_tc, c_tc, ref_tc = pair.baseline, pair.candidate, pair.reference
        same = c_tc is b_tc  # one tokenization for both sides: compute once
        segs = dict(pair.segmenters or b_tc.meta.get("segmenters") or {})
        lang_docs = _lang_docs(b_tc.lang)
        scopes = [(l, d) for l, d in lang_docs.items()]
        if len(scopes) > 1:
            scopes.append((ALL_LANGS, np.arange(b_tc.n_docs)))
        W = resample_weights(b_tc.lang, resamples, seed) if resamples else None
        doc_lang = np.asarray(b_tc.lang).tolist()
        subs: dict[str, list] = {}

        def per_doc(which: str) -> list:
            if which not in subs:
                tc = {"b": b_tc, "c": c_tc, "r": ref_tc}[which]
                subs[which] = [tc.select(np.array([d])) if tc is not None else None for d in range(b_tc.n_docs)]
            return subs[which]

        for name in names:
            metric = METRICS[name]
            ref_for = ref_tc if metric.needs_reference else None
            # point values: Metric.compute on each scope, as `tokbench run` stores them
            point: dict[str, tuple[dict, dict]] = {}
            for lang, docs in scopes:
                p = _scope_params(metric, lang, segs, metric_params, reference_name)
                sel_b = b_tc if lang == ALL_LANGS else b_tc.select(docs)
                sel_c = c_tc if lang == ALL_LANGS else c_tc.select(docs)
                sel_r = None if ref_for is None else (ref_for if lang == ALL_LANGS else ref_for.select(docs))
                vb = metric.compute(MetricInput(sel_b, p, sel_r))
                point[lang] = (vb, vb if same else metric.compute(MetricInput(sel_c, p, sel_r)))
            # bootstrap
            boot: dict[str, tuple[dict, dict]] = {}
            want_ci = W is not None
            if want_ci and b_tc.n_docs:
                doc_params = [_scope_params(metric, l, segs, metric_params, reference_name) for l in doc_lang]
                probe = metric.stats(MetricInput(b_tc.select(np.array([0])), {**metric.default_params, **doc_params[0]},
                                                 ref_for.select(np.array([0])) if ref_for is not None else None))
                if any(_is_array(v) for v in probe.values()) and not (full_ci or name in thresholds):
                    want_ci = False
                    skipped_array.add(name)
            if want_ci and b_tc.n_docs:
                refs = per_doc("r") if ref_for is not None else [None] * b_tc.n_docs
                ds_b = _doc_stats(metric, per_doc("b"), refs, doc_params)
                ds_c = ds_b if same else _doc_stats(metric, per_doc("c"), refs, doc_params)
                for lang, docs in scopes:
                    p = _scope_params(metric, lang, segs, metric_params, reference_name)
                    rb = bootstrap_values(metric, _resampled_stats(ds_b, docs, W), p)
                    boot[lang] = (rb, rb if same else bootstrap_values(metric, _resampled_stats(ds_c, docs, W), p))
            for lang, _docs in scopes:
                vb, vc = point[lang]
                for variant in vb:
                    b, c = float(vb[variant].value), float(vc[variant].value)
                    hib = metric.higher_is_better
                    if vb[variant].params.get("higher_is_better") is not None:
                        hib = bool(vb[variant].params["higher_is_better"])
                    cell = Cell(corpus=pair.name, lang=lang, metric=name, variant=variant, baseline=b, candidate=c,
                                delta=c - b, rel_delta=float(_relative(c, b)), n_baseline=int(vb[variant].n),
                                n_candidate=int(vc[variant].n), higher_is_better=hib)
                    cell_notes = [n for n in (vb[variant].params.get("note"), vc[variant].params.get("note")) if n]
                    if lang in boot:
                        rb, rc = boot[lang][0][variant], boot[lang][1][variant]
                        cell.ci_low, cell.ci_high, nan_d = _ci(rc - rb, confidence)
                        cell.rel_ci_low, cell.rel_ci_high, _ = _ci(_relative(rc, rb), confidence)
                        cell.base_ci_low, cell.base_ci_high, _ = _ci(rb, confidence)
                        cell.cand_ci_low, cell.cand_ci_high, _ = _ci(rc, confidence)
                        if nan_d and nan_d < len(rb):
                            cell_notes.append(f"{nan_d} of {len(rb)} resamples undefined")
                    elif name in skipped_array:
                        cell_notes.append("no CI: vocabulary-sized statistics are bootstrapped only with --full-ci "
                                          "or a threshold on this metric")
                    cell.note = "; ".join(dict.fromkeys(cell_notes)) or None
                    cells.append(cell)
    if skipped_array:
        notes.append(f"No CI for {', '.join(sorted(skipped_array))}: their statistics are vocabulary-sized "
                     "histograms; use --full-ci (slower) or a threshold on the metric to bootstrap them.")
    result = Comparison(baseline=baseline, candidate=candidate, cells=cells, resamples=resamples, seed=seed,
                        confidence=confidence, notes=notes, meta=dict(meta or {}))
    result.checks = evaluate_thresholds(cells, thresholds)
    result.notes.extend(threshold_coverage(cells, thresholds))
    if examples:
        by_name = {p.name: p for p in pairs}
        for chk in _example_scopes(result.failures):
            if chk.key in result.examples:
                continue
            result.examples[chk.key] = find_examples(by_name[chk.corpus], chk.metric, chk.variant, chk.lang,
                                                     rule=chk.rule, k=examples, metric_params=metric_params,
                                                     reference_name=reference_name)
    return result


def _example_scopes(failures: Sequence[Check], per_rule: int = EXAMPLE_SCOPES) -> list[Check]:
    """The failed checks that get examples: per rule, the ``per_rule`` worst, languages before "*"."""
    groups: dict[tuple, list[Check]] = {}
    for c in failures:  # already worst first
        groups.setdefault(c.rule_key + (c.use_ci,), []).append(c)
    out = []
    for group in groups.values():
        langs = [c for c in group if c.lang != ALL_LANGS] or group
        out.extend(langs[:per_rule])
    return out


# --------------------------------------------------------------------------------------
# thresholds

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
    variants = METRICS[metric_name].variants
    if t.variant == "*":
        return list(variants)
    return [t.variant or variants[0]]


def evaluate_thresholds(cells: Sequence[Cell], thresholds: Mapping[str, Sequence[Any]]) -> list[Check]:
    checks = []
    for metric_name, rules in thresholds.items():
        for t in rules:
            variants = _threshold_variants(metric_name, t)
            langs = set(t.langs) if t.langs else None
            for cell in cells:
                if cell.metric != metric_name or cell.variant not in variants:
                    continue
                if langs is not None and cell.lang not in langs:
                    continue
                for rule, limit in t.rules().items():
                    checks.append(judge(cell, rule, float(limit), use_ci=t.use_ci))
    return checks


def threshold_coverage(cells: Sequence[Cell], thresholds: Mapping[str, Sequence[Any]]) -> list[str]:
    """Notes for thresholds that matched no cell (e.g. a `langs` filter naming absent languages)."""
    out = []
    for metric_name, rules in thresholds.items():
        for t in rules:
            variants = _threshold_variants(metric_name, t)
            langs = set(t.langs) if t.langs else None
            if not any(c.metric == metric_name and c.variant in variants and (langs is None or c.lang in langs)
                       for c in cells):
                out.append(f"threshold on {metric_name}/{'|'.join(variants)}"
                           + (f" (langs {', '.join(sorted(langs))})" if langs else "")
                           + " matched no compared language or metric: not evaluated")
    return out


# --------------------------------------------------------------------------------------
# examples

def _bad_sign(rule: str) -> int:
    """+1 when the rule fails on increases, -1 on decreases."""
    return 1 if rule in INCREASE_RULES else -1


def find_examples(pair: CorpusPair, metric_name: str, variant: str, lang: str, *, rule: str, k: int = 5,
                  metric_params: Mapping[str, dict] | None = None, reference_name: str | None = None
                  ) -> list[Example]:
    """The ``k`` words (word-based metrics) or documents (others) that moved most in the bad direction."""
    b_tc, c_tc = pair.baseline, pair.candidate
    docs = np.arange(b_tc.n_docs) if lang == ALL_LANGS else np.flatnonzero(np.asarray(b_tc.lang) == lang)
    sign = _bad_sign(rule)
    if metric_name in WORD_METRICS and pair.texts is not None:
        word_sign = WORD_METRICS[metric_name] * (-1 if variant == "strr" else 1)
        out = _word_examples(pair, docs, lang, sign * word_sign, k, isolated=(variant == "isolated"))
        if out is not None:
            return out
    return _doc_examples(pair, metric_name, variant, docs, sign, k, relative=rule in RELATIVE_RULES,
                         metric_params=metric_params or {}, reference_name=reference_name)


def _word_examples(pair: CorpusPair, docs: np.ndarray, lang: str, sign: int, k: int, *, isolated: bool
                   ) -> list[Example] | None:
    from ..segment import default_segmenter, word_spans

    b_tc, c_tc = pair.baseline, pair.candidate
    if not np.array_equal(b_tc.word_offsets, c_tc.word_offsets):
        return None  # different segmentations: words do not align
    segs = dict(pair.segmenters or b_tc.meta.get("segmenters") or {})
    b_n = b_tc.word_iso_ntok if isolated else b_tc.word_ntok
    c_n = c_tc.word_iso_ntok if isolated else c_tc.word_ntok
    best: dict[str, list] = {}  # word -> [growth, occurrences, doc, w, b, c, span]
    for d in docs.tolist():
        w0, w1 = int(b_tc.word_offsets[d]), int(b_tc.word_offsets[d + 1])
        if w1 == w0:
            continue
        growth = (c_n[w0:w1].astype(np.int64) - b_n[w0:w1]) * sign
        text = pair.texts[d]
        doc_lang = str(b_tc.lang[d])
        s, e = word_spans(text, segs.get(doc_lang) or default_segmenter(doc_lang))
        if len(s) != w1 - w0:
            return None  # the texts do not match the tokenization
        for i in np.flatnonzero(growth > 0).tolist():
            word = text[s[i]:e[i]]
            g = int(growth[i])
            entry = best.get(word)
            if entry is None:
                best[word] = [g, 1, d, i, int(b_n[w0 + i]), int(c_n[w0 + i]), (int(s[i]), int(e[i]))]
            else:
                entry[1] += 1
                if g > entry[0]:
                    entry[0], entry[2], entry[3] = g, d, i
                    entry[4], entry[5], entry[6] = int(b_n[w0 + i]), int(c_n[w0 + i]), (int(s[i]), int(e[i]))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:k]
    return [Example(kind="word", corpus=pair.name, lang=str(b_tc.lang[v[2]]), doc=v[2], doc_key=str(b_tc.doc_key[v[2]]),
                    text=word, baseline=float(v[4]), candidate=float(v[5]), occurrences=v[1], span=v[6],
                    isolated=isolated)
            for word, v in ranked]


def _doc_examples(pair: CorpusPair, metric_name: str, variant: str, docs: np.ndarray, sign: int, k: int, *,
                  relative: bool, metric_params: Mapping[str, dict], reference_name: str | None) -> list[Example]:
    metric = METRICS[metric_name]
    b_tc, c_tc = pair.baseline, pair.candidate
    segs = dict(pair.segmenters or b_tc.meta.get("segmenters") or {})
    ref = pair.reference if metric.needs_reference else None
    rows = []
    for d in docs.tolist():
        sel = np.array([d])
        p = _scope_params(metric, str(b_tc.lang[d]), segs, metric_params, reference_name)
        r = ref.select(sel) if ref is not None else None
        b = float(metric.compute(MetricInput(b_tc.select(sel), p, r))[variant].value)
        c = float(metric.compute(MetricInput(c_tc.select(sel), p, r))[variant].value)
        change = float(_relative(c, b)) if relative else c - b
        if math.isnan(change) or change * sign <= 0:
            continue
        rows.append((change * sign, d, b, c))
    rows.sort(key=lambda x: (-x[0], x[1]))
    out = []
    for _, d, b, c in rows[:k]:
        text = pair.texts[d] if pair.texts is not None else ""
        snippet = text[:80].replace("\n", " ⏎ ") + ("…" if len(text) > 80 else "")
        out.append(Example(kind="document", corpus=pair.name, lang=str(b_tc.lang[d]), doc=d,
                           doc_key=str(b_tc.doc_key[d]), text=snippet, baseline=b, candidate=c))
    return out


# --------------------------------------------------------------------------------------
# markdown

RULE_TEXT = {
    "max_relative_increase": ("relative increase", "≤", True),
    "max_relative_decrease": ("relative decrease", "≤", True),
    "max_absolute_increase": ("absolute increase", "≤", False),
    "max_absolute_decrease": ("absolute decrease", "≤", False),
    "min_value": ("candidate value", "≥", False),
    "max_value": ("candidate value", "≤", False),
}


def fmt(x: float, *, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return ("+∞" if x > 0 else "−∞") if sign or x < 0 else "∞"
    s = "+" if sign and x > 0 else ""
    if x == 0:
        return "0" if not sign else "±0"
    a = abs(x)
    if a >= 1000:
        body = f"{x:.0f}"
    elif a >= 100:
        body = f"{x:.1f}"
    elif a >= 1:
        body = f"{x:.3f}"
    elif a >= 1e-4:
        body = f"{x:.4f}"
    else:
        body = f"{x:.2e}"
    return s + body.replace("-", "−")


def pct(x: float, *, sign: bool = True) -> str:
    if x is None or math.isnan(x):
        return "–"
    if math.isinf(x):
        return "+∞%" if x > 0 else "−∞%"
    if x == 0:
        return "±0%" if sign else "0%"
    v = x * 100
    body = f"{v:+.1f}" if sign else f"{v:.1f}"
    if abs(v) < 0.1:
        body = f"{v:+.3f}" if sign else f"{v:.3f}"
    return body.replace("-", "−") + "%"


def _interval(lo: float, hi: float, f=fmt) -> str:
    if math.isnan(lo) and math.isnan(hi):
        return "–"
    return f"[{f(lo, sign=True)}, {f(hi, sign=True)}]"


def rule_text(metric: str, variant: str, rule: str, limit: float, use_ci: bool = True) -> str:
    what, op, rel = RULE_TEXT[rule]
    lim = pct(limit, sign=False) if rel else fmt(limit)
    basis = "" if use_ci else " (point estimate)"
    return f"{metric}/{variant}: {what} {op} {lim}{basis}"


def _md(s: str) -> str:
    return s.replace("|", "\\|")


def _piece(p: str) -> str:
    p = p.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥").replace("`", "ˋ").replace("|", "\\|")
    return f"`{p}`" if p else "``"


def _pieces(ps: list[str] | None, limit: int = 24) -> str:
    if ps is None:
        return ""
    shown = " ".join(_piece(p) for p in ps[:limit])
    return shown + (f" … (+{len(ps) - limit})" if len(ps) > limit else "")


def _scope_label(c) -> str:
    return f"{c.corpus}:{c.lang}"


def _markdown(cmp: Comparison, *, mode: str, max_rows: int) -> str:
    out: list[str] = []
    checks = cmp.checks
    fails = cmp.failures
    rules: dict[tuple, list[Check]] = {}
    for c in checks:
        rules.setdefault(c.rule_key + (c.use_ci,), []).append(c)
    failed_rules = [k for k, v in rules.items() if any(c.status == "fail" for c in v)]
    if mode == "check":
        if not checks:
            verdict = "✅ PASS: no thresholds to check"
        elif fails:
            verdict = (f"❌ FAIL: {len(failed_rules)} of {len(rules)} threshold(s) failed "
                       f"({len(fails)} of {len(checks)} checks)")
        else:
            verdict = f"✅ PASS: {len(rules)} threshold(s), {len(checks)} checks, none failed"
        out.append(f"## tokbench check: {verdict}")
    else:
        out.append(f"## tokbench compare: `{cmp.baseline}` → `{cmp.candidate}`")
    out.append("")
    m = cmp.meta
    bits = [f"baseline **`{cmp.baseline}`**" + (f" (`{m['baseline_hash'][:12]}`)" if m.get("baseline_hash") else ""),
            f"candidate **`{cmp.candidate}`**" + (f" (`{m['candidate_hash'][:12]}`)" if m.get("candidate_hash") else "")]
    line = " → ".join(bits)
    if m.get("suite"):
        line += f" · suite `{m['suite']}`" + (f" v{m['suite_version']}" if m.get("suite_version") else "")
    for name, info in (m.get("corpora") or {}).items():
        line += f" · corpus `{name}`: {info.get('langs')} language(s), {info.get('docs')} documents"
        if info.get("limit_docs"):
            line += f" (at most {info['limit_docs']} per language)"
    out.append(line)
    out.append("")
    out.append(f"Paired bootstrap over documents (resampled within each language, the same documents for both "
               f"tokenizers): {cmp.resamples} resamples, seed {cmp.seed}, {cmp.confidence:.0%} percentile CI. "
               "Δ = candidate − baseline; Δ% = Δ / baseline. A threshold fails only when the whole CI lies "
               "beyond it.")
    out.append("")

    if fails:
        out.append("### Failures")
        out.append("")
        for key in failed_rules:
            group = sorted((c for c in rules[key] if c.status == "fail"), key=lambda c: -c.excess)
            metric, variant, rule, limit, use_ci = key
            rel = rule in RELATIVE_RULES
            out.append(f"#### ❌ {rule_text(metric, variant, rule, limit, use_ci)}: failed in {len(group)} of "
                       f"{len(rules[key])} scope(s)")
            out.append("")
            head = "CI of Δ%" if rel else ("CI of the candidate" if rule in ("min_value", "max_value") else "CI of Δ")
            out.append(f"| corpus:lang | baseline | candidate | Δ | Δ% | {cmp.confidence:.0%} {head} |")
            out.append("|---|---:|---:|---:|---:|---|")
            for chk in group[:max_rows]:
                cell = cmp.cell(*chk.key)
                ci = _interval(chk.low, chk.high, pct if rel else fmt) if use_ci else "(point estimate)"
                out.append(f"| {_md(_scope_label(chk))} | {fmt(cell.baseline)} | {fmt(cell.candidate)} | "
                           f"{fmt(cell.delta, sign=True)} | {pct(cell.rel_delta)} | {ci} |")
            if len(group) > max_rows:
                rest = ", ".join(_scope_label(c) for c in group[max_rows:])
                out.append("")
                out.append(f"… and {len(group) - max_rows} more: {_md(rest)}")
            out.append("")
            for chk in _example_scopes(group):
                exs = cmp.examples.get(chk.key)
                if exs:
                    out.extend(_examples_md(exs, chk, cmp))
        out.append("")

    if checks:
        out.append("### Thresholds" + (" (informational: `tokbench check` fails on these)" if mode != "check" else ""))
        out.append("")
        out.append("| threshold | checks | failed | n/a | worst |")
        out.append("|---|---:|---:|---:|---|")
        for key, group in rules.items():
            metric, variant, rule, limit, use_ci = key
            nfail = sum(c.status == "fail" for c in group)
            nna = sum(c.status == "n/a" for c in group)
            judged = [c for c in group if c.status != "n/a"]
            worst = max(judged, key=lambda c: c.excess) if judged else None
            rel = rule in RELATIVE_RULES
            wtxt = ""
            if worst is not None:
                wtxt = f"{_scope_label(worst)} " + (_interval(worst.low, worst.high, pct if rel else fmt)
                                                   if use_ci else (pct(worst.low) if rel else fmt(worst.low, sign=True)))
            mark = "❌" if nfail else "✅"
            out.append(f"| {mark} {_md(rule_text(metric, variant, rule, limit, use_ci))} | {len(group)} | {nfail} | "
                       f"{nna} | {_md(wtxt)} |")
        out.append("")

    # compact table: the pooled scope of every corpus ("*", or its only language)
    out.append("### All metrics")
    out.append("")
    scopes: dict[str, str] = {}
    for c in cmp.cells:  # "*" where the corpus has it, else its (only) language
        if c.corpus not in scopes or c.lang == ALL_LANGS:
            scopes[c.corpus] = c.lang
    multi = len(scopes) > 1
    out.append("Scope: " + ", ".join(f"`{k}:{v}`" + (" (all languages pooled)" if v == ALL_LANGS else "")
                                      for k, v in scopes.items()) + ". ▲/▼: the CI of Δ excludes 0 "
               "and the change is better/worse for the metric's direction.")
    out.append("")
    out.append(("| corpus " if multi else "") + f"| metric/variant | baseline | candidate | Δ | Δ% | "
               f"{cmp.confidence:.0%} CI of Δ | |")
    out.append(("|---" if multi else "") + "|---|---:|---:|---:|---:|---|---|")
    for c in cmp.cells:
        if scopes.get(c.corpus) != c.lang:
            continue
        v = c.verdict()
        mark = {"better": "▲ better", "worse": "▼ worse"}.get(v, "")
        ci = _interval(c.ci_low, c.ci_high) if c.has_ci else ("n/a" if c.note and "no CI" in c.note else "–")
        out.append((f"| {c.corpus} " if multi else "") + f"| {c.metric}/{c.variant} | {fmt(c.baseline)} | "
                   f"{fmt(c.candidate)} | {fmt(c.delta, sign=True)} | {pct(c.rel_delta)} | {ci} | {mark} |")
    out.append("")
    if cmp.notes:
        out.append("Notes:")
        out.append("")
        for n in cmp.notes:
            out.append(f"* {n}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _examples_md(exs: list[Example], chk: Check, cmp: Comparison) -> list[str]:
    out = []
    where = f"`{chk.corpus}:{chk.lang}`"
    if exs[0].kind == "word":
        how = "encoded alone" if exs[0].isolated else "in context"
        out.append(f"Words whose token count grew most in {where} ({how}):")
        out.append("")
        out.append(f"| word | × | `{cmp.baseline}` tokens | `{cmp.candidate}` tokens |")
        out.append("|---|---:|---|---|")
        for e in exs:
            word = e.text.replace("`", "ˋ").replace("|", "\\|")
            lang = f" ({e.lang})" if chk.lang == ALL_LANGS else ""
            out.append(f"| `{word}`{lang} | {e.occurrences} | {int(e.baseline)}: {_pieces(e.baseline_pieces)} | "
                       f"{int(e.candidate)}: {_pieces(e.candidate_pieces)} |")
    else:
        out.append(f"Documents that regressed most in {where} ({chk.metric}/{chk.variant}):")
        out.append("")
        out.append("| document | baseline | candidate | text |")
        out.append("|---|---:|---:|---|")
        for e in exs:
            out.append(f"| {_md(e.lang)}/{_md(e.doc_key)} | {fmt(e.baseline)} | {fmt(e.candidate)} | {_md(e.text)} |")
    out.append("")
    return out
