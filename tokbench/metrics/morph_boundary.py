"""Morphological boundary alignment (MorphScore-style): token boundaries vs gold morpheme boundaries.

Boundaries are measured inside words only. A *word* is a maximal run of letters in the
document text (``[^\\W\\d_]+``); a run touching an apostrophe or a digit (``Türkiye'nin``,
``1inci``) is left out, because the analyser sees a different string there. For a word of
``n`` characters the candidate positions are ``1 .. n-1`` (between two of its characters):

* gold boundaries: from the segmenter (:mod:`tokbench.linguistic.morphseg`; zemberek for
  Turkish) on the word lowercased with the language's casing, cached per word on disk;
* token boundaries: the starts and ends of the tokens the tokenizer produced (``tok_start`` /
  ``tok_end``, UTF-8 byte offsets) that fall strictly inside the word, mapped to characters. A
  boundary inside one character (a byte-level token that splits ``ğ``) is no position
  between characters: it is counted in ``mid_char_boundaries`` and otherwise ignored.

Per word occurrence, tp = token boundaries that are gold, fp = token boundaries that are not,
fn = gold boundaries that are not token boundaries. Precision tp/(tp+fp), recall tp/(tp+fn),
F1 their harmonic mean (2tp/(2tp+fp+fn)). Words with no gold boundary (one morpheme) count:
any split of them is a false positive.

Ambiguity (``ambiguous`` param): zemberek often gives several analyses with different
boundaries (``evleri``: ev+leri / ev+ler+i). ``"skip"`` (default) keeps only words whose
analyses all agree on the boundary positions, so the gold does not depend on the tokenizer;
``"best"`` keeps every analysed word and scores each occurrence against the analysis with the
highest F1 for this tokenizer (ties: the first in sorted order). Unanalysed words are
left out either way; the counts of words kept, ambiguous and unanalysed are stored.

Variants: ``f1``/``precision``/``recall`` weight each word occurrence (frequency-weighted,
ratio of summed tp/fp/fn); ``*_types`` weight each distinct word once: a type's tp/fp/fn are
its sums over its occurrences divided by its number of occurrences (a word tokenized
differently in different contexts contributes its mean), then summed over types. Both are
additive: the statistics hold the summed counts and, per distinct word, ``[occurrences, tp,
fp, fn]`` under a key ``"t:<word>"``; shards add them key by key (memory bounded by the
distinct words, like the tokenize memo).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .base import Metric, MetricInput, Show, Stats, Value, ratio

_WORD = re.compile(r"[^\W\d_]+")
_APOSTROPHES = "'’ʼ`´"
_COUNTS = ("tp", "fp", "fn", "words", "gold_words", "ambiguous_words", "unanalysed_words", "mid_char_boundaries")


@dataclass(frozen=True)
class MorphBoundaryMetric(Metric):
    """Scope params carry the scope's language (one-language scopes) for the gold's description."""

    def scope_params(self, params: Mapping[str, Any], langs: list[str]) -> dict[str, Any]:
        out = {**self.default_params, **params}
        if len(langs) == 1:
            out["lang"] = langs[0]
        return out


def _spec(params: Mapping[str, Any], lang: str) -> str | None:
    from ..linguistic import base_lang
    from ..linguistic.morphseg import default_segmenter

    spec = params.get("gold")
    if isinstance(spec, Mapping):
        spec = spec.get(lang, spec.get(base_lang(lang), spec.get("*")))
    if spec in (None, "", "auto"):
        return default_segmenter(lang)
    return str(spec)


def _gold(params: Mapping[str, Any], lang: str):
    """(GoldCache, None) or (None, reason); a reason starting "backend " is a named segmenter
    that cannot be used here (not installed)."""
    from ..linguistic import BackendUnavailable
    from ..linguistic.morphseg import gold_for

    spec = _spec(params, lang)
    if spec is None:
        return None, f"no morphological segmenter for {lang}"
    try:
        return gold_for(spec, lang), None
    except BackendUnavailable as e:
        return None, f"backend {spec!r} unavailable for {lang}: {e}"


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words scored in ``text`` (module docstring)."""
    out = []
    for m in _WORD.finditer(text):
        a, b = m.span()
        before = text[a - 1] if a > 0 else ""
        after = text[b] if b < len(text) else ""
        if any(c and (c in _APOSTROPHES or c.isdigit()) for c in (before, after)):
            continue
        out.append((a, b))
    return out


def score(token_cuts: set[int], gold: list[tuple[int, ...]]) -> tuple[int, int, int]:
    """(tp, fp, fn) of the token boundary positions against the gold boundary set with the
    highest F1 (ties: the first of ``gold``); with one gold set, simply against it.

    >>> score({2, 4}, [(2,), (2, 5)])
    (1, 1, 0)
    """
    best = None
    for g in gold:
        gs = set(g)
        tp = len(token_cuts & gs)
        fp, fn = len(token_cuts) - tp, len(gs) - tp
        f = (2 * tp) / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0
        if best is None or f > best[0]:
            best = (f, tp, fp, fn)
    return best[1:]  # type: ignore[index]


def _stats(inp: MetricInput) -> Stats:
    from ..linguistic.morphseg import normalized_word

    tc = inp.tc
    out: Stats = {k: 0 for k in _COUNTS}
    out["unjudged_docs"] = 0
    if not (tc.has_spans and tc.has_text):
        out["unjudged_docs"] = int(tc.n_docs)
        return out
    mode = str(inp.params.get("ambiguous", "skip"))
    if mode not in ("skip", "best"):
        raise ValueError(f"morph_boundary: ambiguous = {mode!r}; use \"skip\" or \"best\"")
    per_type: dict[str, np.ndarray] = {}
    for lang in dict.fromkeys(np.asarray(tc.lang).tolist()):
        docs = np.flatnonzero(np.asarray(tc.lang) == lang)
        gold_cache, _reason = _gold(inp.params, lang)
        if gold_cache is None:
            out["unjudged_docs"] += len(docs)
            continue
        items = []  # (doc, char start, char end, normalised word)
        texts = {}
        for d in docs.tolist():
            text = texts[d] = tc.doc_text(d)
            for a, b in word_spans(text):
                out["words"] += 1
                w = normalized_word(text[a:b], lang)
                if w is None:
                    out["unanalysed_words"] += 1
                    continue
                items.append((d, a, b, w))
        gold = gold_cache.lookup([w for *_, w in items])
        by_doc: dict[int, list] = {}
        for it in items:
            by_doc.setdefault(it[0], []).append(it)
        for d, its in by_doc.items():
            text = texts[d]
            # byte offset of every character start (and the end)
            cb = np.zeros(len(text) + 1, np.int64)
            np.cumsum([len(c.encode("utf-8")) for c in text], out=cb[1:])
            starts, ends = tc.doc_spans(d)
            cuts = np.unique(np.concatenate([starts, ends]).astype(np.int64))
            for _, a, b, w in its:
                g = gold[w]
                if not g:
                    out["unanalysed_words"] += 1
                    continue
                if len(g) > 1 and mode == "skip":
                    out["ambiguous_words"] += 1
                    continue
                inner = cuts[(cuts > cb[a]) & (cuts < cb[b])]
                pos = np.searchsorted(cb, inner)
                at_char = cb[pos] == inner
                out["mid_char_boundaries"] += int((~at_char).sum())
                tok = set((pos[at_char] - a).tolist())
                tp, fp, fn = score(tok, g)
                out["gold_words"] += 1
                out["tp"] += tp
                out["fp"] += fp
                out["fn"] += fn
                key = "t:" + w
                row = per_type.get(key)
                if row is None:
                    row = per_type[key] = np.zeros(4, np.int64)
                row += (1, tp, fp, fn)
    out.update(per_type)
    return out


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    return ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(2 * tp, 2 * tp + fp + fn)


def _finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    from ..linguistic.morphseg import describe

    tp, fp, fn = (int(s.get(k, 0)) for k in ("tp", "fp", "fn"))
    rows = [np.asarray(v, dtype=np.float64).reshape(-1) for k, v in s.items() if k.startswith("t:")]
    # a resample of the regression gate can hold a type's key with no entries (none of its
    # documents drawn): pad to [occurrences, tp, fp, fn] and keep only types that occur
    table = np.zeros((len(rows), 4))
    for i, r in enumerate(rows):
        table[i, :min(len(r), 4)] = r[:4]
    table = table[table[:, 0] > 0]
    occ = table[:, 0]
    mean = table[:, 1:] / occ[:, None] if len(table) else table[:, 1:]
    ttp, tfp, tfn = (float(x) for x in mean.sum(axis=0)) if len(table) else (0.0, 0.0, 0.0)
    lang = params.get("lang")
    desc: dict[str, Any] = {"ambiguous": str(params.get("ambiguous", "skip"))}
    note = None
    if lang is not None:
        gold_cache, reason = _gold(params, lang)
        if gold_cache is not None:
            desc.update(describe(_spec(params, lang), lang))  # type: ignore[arg-type]
        elif not int(s.get("words", 0)):
            note = reason
            if reason and reason.startswith("backend "):
                desc["unavailable"] = reason  # not a result: the kind stores it as not done
    if int(s.get("unjudged_docs", 0)) and note is None:
        note = f"{int(s['unjudged_docs'])} documents not scored (no token spans/text, or no segmenter)"
    common = {**desc, **{k: int(s.get(k, 0)) for k in _COUNTS}, "gold_types": int(len(table)),
              "unjudged_docs": int(s.get("unjudged_docs", 0))}
    if note:
        common["note"] = note
    p, r, f = _prf(tp, fp, fn)
    pt, rt, ft = _prf(ttp, tfp, tfn)
    n_words, n_types = int(s.get("gold_words", 0)), int(len(table))
    return {
        "f1": Value(f, n_words, common), "precision": Value(p, n_words, common), "recall": Value(r, n_words, common),
        "f1_types": Value(ft, n_types, common), "precision_types": Value(pt, n_types, common),
        "recall_types": Value(rt, n_types, common),
    }


MORPH_BOUNDARY = MorphBoundaryMetric(
    name="morph_boundary",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("f1", "precision", "recall", "f1_types", "precision_types", "recall_types"),
    unit="share",
    higher_is_better=True,
    description="Morphological boundary alignment: precision, recall and F1 of word-internal token boundaries "
                "against gold morpheme boundaries (zemberek for Turkish), per word occurrence and per distinct "
                "word (MorphScore-style; Arnett & Bergen 2025).",
    version=1,
    stats=_stats,
    finalize=_finalize,
    default_params={"gold": "auto", "ambiguous": "skip"},
    scopes=("lang",),
    default=False,
    display={"f1": Show(order=210)},
)
