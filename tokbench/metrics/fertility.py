"""Fertility family: tokens per word in context and in isolation, and how often words split.

All three read only the word-alignment columns of a :class:`~tokbench.tokenized.TokenizedCorpus`
(``n_tokens``, ``n_words``, ``word_ntok``, ``word_iso_ntok``); "word" means the unit of the
language's declared segmenter, which the tokenizer suite kind records as ``params["segmenter"]``.

>>> import numpy as np
>>> from tokbench.tokenized import TokenizedCorpus
>>> from tokbench.metrics.base import MetricInput
>>> i = lambda *v: np.array(v, dtype=np.int64)
>>> tc = TokenizedCorpus(lang=np.array(["en"]), doc_key=np.array(["d0"]), n_bytes=i(9), n_chars=i(9),
...     n_words=i(2), n_tokens=i(3), roundtrip_ok=np.array([True]), unk_chars=i(0), ids=i(5, 6, 7),
...     tok_offsets=i(0, 3), tok_nwords=i(1, 1, 1), word_ntok=i(1, 2), word_iso_ntok=i(1, 3),
...     word_offsets=i(0, 2), meta={"vocab_size": 10})
>>> FERTILITY.compute(MetricInput(tc))["in_context"].value
1.5
>>> PCW.compute(MetricInput(tc))["micro"].value
0.5
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value, ratio


def _isum(a: np.ndarray) -> int:
    return int(np.sum(a, dtype=np.int64))


def word_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The run parameters every word-based value records (the segmenter, when the tokenizer suite kind gives it)."""
    return {"segmenter": params["segmenter"]} if params.get("segmenter") is not None else {}


# --- fertility -------------------------------------------------------------------------------
def _fertility_stats(inp: MetricInput) -> Stats:
    tc = inp.tc
    n_tok = np.asarray(tc.n_tokens, dtype=np.float64)
    n_words = np.asarray(tc.n_words, dtype=np.int64)
    has_words = n_words > 0
    return {
        "tokens": _isum(tc.n_tokens),
        "words": _isum(n_words),
        "macro_sum": float(np.sum(n_tok[has_words] / n_words[has_words])),
        "macro_docs": int(np.count_nonzero(has_words)),
        "iso_tokens": _isum(tc.word_iso_ntok),
        "iso_words": int(len(tc.word_iso_ntok)),
    }


def _fertility_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    wp = word_params(params)
    tokens, words = int(s["tokens"]), int(s["words"])
    docs = int(s["macro_docs"])
    iso_tokens, iso_words = int(s["iso_tokens"]), int(s["iso_words"])
    return {
        "in_context": Value(ratio(tokens, words), words, {**wp, "tokens": tokens, "words": words}),
        "in_context_macro": Value(ratio(s["macro_sum"], docs), docs, {**wp, "docs": docs}),
        "isolated": Value(ratio(iso_tokens, iso_words), iso_words,
                          {**wp, "tokens": iso_tokens, "words": iso_words}),
    }


FERTILITY = Metric(
    name="fertility",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("in_context", "in_context_macro", "isolated"),
    unit="tokens/word",
    higher_is_better=False,
    description="Tokens per word: in running text (tokka-bench), per-document mean, and with each "
                "word encoded alone (TokSuite, TokLens).",
    version=1,
    stats=_fertility_stats,
    finalize=_fertility_finalize,
    display={"in_context": Show(order=10, drilldown=True, models_table=True), "isolated": Show(order=20)},
    word_examples=True,
)


# --- proportion of continued words ------------------------------------------------------------
def _pcw_stats(inp: MetricInput) -> Stats:
    wn = inp.tc.word_ntok
    return {"split_words": int(np.count_nonzero(wn >= 2)), "words": int(len(wn))}


def _pcw_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    split, words = int(s["split_words"]), int(s["words"])
    pcw = ratio(split, words)
    p = {**word_params(params), "split_words": split, "words": words}
    return {
        "micro": Value(pcw, words, p),
        # the complement, so its direction is the opposite of the metric's. Not TokLens' STRR,
        # which encodes each word alone (metric ``strr``, tokbench.metrics.retention)
        "unsplit": Value(1.0 - pcw, words, {**p, "higher_is_better": True}),
    }


PCW = Metric(
    name="pcw",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("micro", "unsplit"),
    unit="share",
    higher_is_better=False,
    description="Proportion of continued words in running text, the share of words whose span overlaps two "
                "or more tokens (TokSuite), and its complement `unsplit` = 1 - PCW, the share of words "
                "covered by one token in context (TokLens' STRR encodes words alone: metric `strr`).",
    version=2,  # 2: variant `strr` renamed `unsplit` (same value); TokLens' STRR is metric `strr`
    stats=_pcw_stats,
    finalize=_pcw_finalize,
    display={"micro": Show(order=30), "unsplit": Show(higher_is_better=True)},
    word_examples=True,
)


# --- continuation-token share -----------------------------------------------------------------
def _cont_stats(inp: MetricInput) -> Stats:
    wn = np.asarray(inp.tc.word_ntok)
    word_tokens = _isum(wn)
    # sum over words with n >= 2 of (n - 1) == sum(n) - #{n >= 1}, for counts n >= 0
    return {"continuation_tokens": word_tokens - int(np.count_nonzero(wn >= 1)), "word_tokens": word_tokens}


def _cont_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    cont, tokens = int(s["continuation_tokens"]), int(s["word_tokens"])
    return {"micro": Value(ratio(cont, tokens), tokens,
                           {**word_params(params), "continuation_tokens": cont, "word_tokens": tokens})}


CONTINUATION_SHARE = Metric(
    name="continuation_share",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("micro",),
    unit="share",
    higher_is_better=False,
    description="Share of word tokens that continue a word: sum over split words of (n_i - 1) / "
                "sum of n_i (tokka-bench).",
    version=1,
    stats=_cont_stats,
    finalize=_cont_finalize,
    display={"micro": Show(order=40)},
    word_examples=True,
)
