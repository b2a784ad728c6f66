"""Examples for a failed threshold: the words or documents where the candidate regressed most.

A metric whose metadata says ``word_examples`` (its value follows the tokens per word) gets
words: those whose token count moved most in the bad direction. Which way is bad comes from
the metric's direction for the variant (``Metric.direction``): for a lower-is-better variant
more tokens per word is a regression, for a higher-is-better one (``pcw/unsplit``) the value
falls as words split, so a failing decrease also means words that grew. A variant named
``isolated`` counts each word encoded alone. Other metrics (and word metrics when the words
do not align) get the documents whose own value moved most. Nothing here calls a tokenizer:
the decoded pieces of the words are filled in by ``tokbench.gate.cli``.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from ..metrics import get_metric
from ..metrics.base import MetricInput
from ..schema import ALL_LANGS
from ..segment import default_segmenter, word_spans
from .results import INCREASE_RULES, RELATIVE_RULES, CorpusPair, Example, relative, scope_params

ISOLATED_VARIANT = "isolated"  # word counts of the words encoded alone (word_iso_ntok)


def bad_sign(rule: str) -> int:
    """+1 when the rule fails on increases, -1 on decreases."""
    return 1 if rule in INCREASE_RULES else -1


def word_sign(metric, variant: str) -> int | None:
    """+1 when more tokens per word raise the variant's value, -1 when they lower it, None when
    the metric has no direction (no "worse" to show) or its examples are not words."""
    if not metric.word_examples:
        return None
    higher_is_better = metric.direction(variant)
    if higher_is_better is None:
        return None
    # splitting words is a regression: it moves the value in its bad direction
    return -1 if higher_is_better else 1


def find_examples(pair: CorpusPair, metric_name: str, variant: str, lang: str, *, rule: str, k: int = 5,
                  metric_params: Mapping[str, dict] | None = None, reference_name: str | None = None
                  ) -> list[Example]:
    """The ``k`` words (word-example metrics) or documents (others) that moved most in the bad direction."""
    b_tc = pair.baseline
    docs = np.arange(b_tc.n_docs) if lang == ALL_LANGS else np.flatnonzero(np.asarray(b_tc.lang) == lang)
    metric = get_metric(metric_name)
    sign = bad_sign(rule)
    ws = word_sign(metric, variant)
    if ws is not None and pair.texts is not None:
        out = word_examples(pair, docs, sign * ws, k, isolated=(variant == ISOLATED_VARIANT))
        if out is not None:
            return out
    return document_examples(pair, metric, variant, docs, sign, k, relative_change=rule in RELATIVE_RULES,
                             metric_params=metric_params or {}, reference_name=reference_name)


def word_examples(pair: CorpusPair, docs: np.ndarray, sign: int, k: int, *, isolated: bool
                  ) -> list[Example] | None:
    """The ``k`` words whose token count changed most in the direction ``sign`` (+1: grew), one
    example per distinct word (its largest change; ties: more occurrences, then the word). None
    when the two tokenizations' words (or the texts) do not align."""
    b_tc, c_tc = pair.baseline, pair.candidate
    if not np.array_equal(b_tc.word_offsets, c_tc.word_offsets):
        return None  # different segmentations: words do not align
    segs = pair.segmenter_map()
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


def document_examples(pair: CorpusPair, metric, variant: str, docs: np.ndarray, sign: int, k: int, *,
                      relative_change: bool, metric_params: Mapping[str, dict], reference_name: str | None
                      ) -> list[Example]:
    """The ``k`` documents whose own value of ``metric/variant`` changed most in the direction
    ``sign`` (relative changes when ``relative_change``)."""
    b_tc, c_tc = pair.baseline, pair.candidate
    segs = pair.segmenter_map()
    ref = pair.reference if metric.needs_reference else None
    rows = []
    for d in docs.tolist():
        sel = np.array([d])
        p = scope_params(metric, str(b_tc.lang[d]), segs, metric_params, reference_name)
        r = ref.select(sel) if ref is not None else None
        b = float(metric.compute(MetricInput(b_tc.select(sel), p, r))[variant].value)
        c = float(metric.compute(MetricInput(c_tc.select(sel), p, r))[variant].value)
        change = float(relative(c, b)) if relative_change else c - b
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
