"""Paired comparison of two tokenizers on the same documents: deltas, bootstrap CIs, thresholds.

Pure: :class:`CorpusPair` objects (the baseline's and the candidate's ``TokenizedCorpus`` of
one corpus, plus optionally the texts and a reference tokenization for the metrics that
need one) in, :class:`Comparison` (dataclasses) and markdown out. Nothing here calls a
tokenizer; filling in the decoded pieces of the example words is left to the caller
(``tokbench.gate.cli``). Thresholds: ``thresholds.py``; examples: ``examples.py``; the
summary: ``markdown.py``.

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

from ..metrics import METRICS, get_metric
from ..metrics.base import MetricInput
from ..schema import ALL_LANGS
from ..tokenized import TokenizedCorpus
from .examples import find_examples
from .markdown import render_markdown
from .results import (CONFIDENCE, DEFAULT_RESAMPLES, Cell, Check, CorpusPair, Example, example_scopes, jsonable,
                      relative, scope_params)
from .thresholds import evaluate_thresholds, threshold_coverage

__all__ = ["Comparison", "cell_of", "compare", "resample_indices", "resample_weights", "bootstrap_values"]


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
            "cells": [jsonable(asdict(c)) for c in self.cells],
            "checks": [jsonable(asdict(c)) for c in self.checks],
            "examples": [{"metric": k[0], "variant": k[1], "corpus": k[2], "lang": k[3],
                          "examples": [jsonable(asdict(e)) for e in v]} for k, v in self.examples.items()],
        }

    def to_markdown(self, *, mode: str = "check", max_rows: int = 10, lang_focus: Sequence[str] | None = None,
                    all_langs: bool = False) -> str:
        """The summary; ``lang_focus``/``all_langs`` choose the languages of its "All metrics" table."""
        return render_markdown(self, mode=mode, max_rows=max_rows, lang_focus=lang_focus, all_langs=all_langs)


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

def compare(pairs: Sequence[CorpusPair], *, metrics: Sequence[str] | None = None,
            metric_params: Mapping[str, dict] | None = None, thresholds: Mapping[str, Sequence[Any]] | None = None,
            resamples: int = DEFAULT_RESAMPLES, seed: int = 0, confidence: float = CONFIDENCE,
            full_ci: bool = False, baseline: str = "baseline", candidate: str = "candidate",
            reference_name: str | None = None, examples: int = 5, meta: Mapping[str, Any] | None = None,
            extra_cells: Sequence[Cell] = ()) -> Comparison:
    """Compare ``candidate`` against ``baseline`` on every corpus pair; evaluate ``thresholds``.

    ``thresholds``: metric -> list of ``tokbench.suites.Threshold`` (or objects with the same
    attributes). ``full_ci``: also bootstrap metrics with vocabulary-sized statistics that no
    threshold names (slow for large vocabularies). ``extra_cells``: cells of corpora compared
    elsewhere (the sharded gate, :mod:`tokbench.gate.sharded`), checked with the same thresholds.
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
        cells.extend(_compare_pair(pair, names, metric_params, thresholds, resamples, seed, confidence, full_ci,
                                   reference_name, skipped_array))
    cells.extend(extra_cells)
    if skipped_array:
        notes.append(f"No CI for {', '.join(sorted(skipped_array))}: their statistics are vocabulary-sized "
                     "histograms; use --full-ci (slower) or a threshold on the metric to bootstrap them.")
    result = Comparison(baseline=baseline, candidate=candidate, cells=cells, resamples=resamples, seed=seed,
                        confidence=confidence, notes=notes, meta=dict(meta or {}))
    result.checks = evaluate_thresholds(cells, thresholds)
    result.notes.extend(threshold_coverage(cells, thresholds))
    if examples:
        by_name = {p.name: p for p in pairs}
        for chk in example_scopes(result.failures):
            if chk.key in result.examples or chk.corpus not in by_name:  # no examples on a sharded corpus
                continue
            result.examples[chk.key] = find_examples(by_name[chk.corpus], chk.metric, chk.variant, chk.lang,
                                                     rule=chk.rule, k=examples, metric_params=metric_params,
                                                     reference_name=reference_name)
    return result


def _compare_pair(pair: CorpusPair, names: Sequence[str], metric_params: Mapping[str, dict],
                  thresholds: Mapping[str, Sequence[Any]], resamples: int, seed: int, confidence: float,
                  full_ci: bool, reference_name: str | None, skipped_array: set[str]) -> list[Cell]:
    """The cells of one corpus pair (every metric, variant and scope); adds to ``skipped_array``
    the metrics whose vocabulary-sized statistics were not bootstrapped."""
    pair.check_aligned()
    b_tc, c_tc, ref_tc = pair.baseline, pair.candidate, pair.reference
    same = c_tc is b_tc  # one tokenization for both sides: compute once
    segs = pair.segmenter_map()
    scopes = list(_lang_docs(b_tc.lang).items())
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

    cells = []
    for name in names:
        metric = get_metric(name)
        ref_for = ref_tc if metric.needs_reference else None
        # point values: Metric.compute on each scope, as `tokbench run` stores them
        point: dict[str, tuple[dict, dict]] = {}
        for lang, docs in scopes:
            p = scope_params(metric, lang, segs, metric_params, reference_name)
            sel_b = b_tc if lang == ALL_LANGS else b_tc.select(docs)
            sel_c = c_tc if lang == ALL_LANGS else c_tc.select(docs)
            sel_r = None if ref_for is None else (ref_for if lang == ALL_LANGS else ref_for.select(docs))
            vb = metric.compute(MetricInput(sel_b, p, sel_r))
            point[lang] = (vb, vb if same else metric.compute(MetricInput(sel_c, p, sel_r)))
        # bootstrap
        boot: dict[str, tuple[dict, dict]] = {}
        want_ci = W is not None
        if want_ci and b_tc.n_docs:
            doc_params = [scope_params(metric, l, segs, metric_params, reference_name) for l in doc_lang]
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
                p = scope_params(metric, lang, segs, metric_params, reference_name)
                rb = bootstrap_values(metric, _resampled_stats(ds_b, docs, W), p)
                boot[lang] = (rb, rb if same else bootstrap_values(metric, _resampled_stats(ds_c, docs, W), p))
        no_ci = ("no CI: vocabulary-sized statistics are bootstrapped only with --full-ci or a threshold on "
                 "this metric") if name in skipped_array else None
        for lang, _docs in scopes:
            vb, vc = point[lang]
            for variant in vb:
                resampled = (boot[lang][0][variant], boot[lang][1][variant]) if lang in boot else None
                cells.append(cell_of(pair.name, lang, metric, variant, vb[variant], vc[variant], resampled,
                                     confidence, no_ci))
    return cells


def cell_of(corpus: str, lang: str, metric, variant: str, vb, vc, resampled: tuple[np.ndarray, np.ndarray] | None,
            confidence: float, no_ci: str | None = None) -> Cell:
    """One cell: both point values (``Value``), the deltas and, from the (baseline, candidate)
    resampled values when given, their percentile intervals; ``no_ci`` notes why there are none."""
    b, c = float(vb.value), float(vc.value)
    cell = Cell(corpus=corpus, lang=lang, metric=metric.name, variant=variant, baseline=b, candidate=c,
                delta=c - b, rel_delta=float(relative(c, b)), n_baseline=int(vb.n), n_candidate=int(vc.n),
                higher_is_better=metric.direction(variant))
    notes = [n for n in (vb.params.get("note"), vc.params.get("note")) if n]
    if resampled is not None:
        rb, rc = resampled
        cell.ci_low, cell.ci_high, nan_d = _ci(rc - rb, confidence)
        cell.rel_ci_low, cell.rel_ci_high, _ = _ci(relative(rc, rb), confidence)
        cell.base_ci_low, cell.base_ci_high, _ = _ci(rb, confidence)
        cell.cand_ci_low, cell.cand_ci_high, _ = _ci(rc, confidence)
        if nan_d and nan_d < len(rb):
            notes.append(f"{nan_d} of {len(rb)} resamples undefined")
    elif no_ci:
        notes.append(no_ci)
    cell.note = "; ".join(dict.fromkeys(notes)) or None
    return cell
