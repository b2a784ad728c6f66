"""Superword-token share: tokens that straddle a word boundary (cover two or more words).

``tok_nwords`` is the number of words (by the language's declared segmenter) each token
overlaps, from the tokenizer's offsets; a token counted for several words is a superword token.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value, ratio


def _stats(inp: MetricInput) -> Stats:
    nw = np.asarray(inp.tc.tok_nwords)
    return {"superword_tokens": int(np.count_nonzero(nw >= 2)), "tokens": int(len(nw))}


def _finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    sw, tokens = int(s["superword_tokens"]), int(s["tokens"])
    p: dict[str, Any] = {"superword_tokens": sw, "tokens": tokens}
    if params.get("segmenter") is not None:
        p["segmenter"] = params["segmenter"]
    return {"micro": Value(ratio(sw, tokens), tokens, p)}


SUPERWORD_SHARE = Metric(
    name="superword_share",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("micro",),
    unit="share",
    higher_is_better=None,
    description="Share of tokens that overlap two or more words, i.e. cross a word boundary (SuperBPE).",
    version=1,
    stats=_stats,
    finalize=_finalize,
    display={"micro": Show(order=140)},
)
