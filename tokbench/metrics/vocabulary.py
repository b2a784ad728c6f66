"""Vocabulary family: how much of the vocabulary a corpus uses, and UNK / byte-fallback rates.

The token-count histogram (:func:`token_counts`) is ``np.bincount(ids, minlength=vocab_size)``:
it adds across shards, and its length after merging is the vocabulary size (or one past the
largest id seen, if an id ever exceeds ``meta["vocab_size"]``).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..tokenized import TokenizedCorpus
from .base import Metric, Show, MetricInput, Stats, Value, ratio


def vocab_size(tc: TokenizedCorpus) -> int:
    try:
        return int(tc.meta["vocab_size"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("TokenizedCorpus.meta has no usable 'vocab_size'; "
                         "it is set by tokbench.tokenize from the tokenizer") from None


def token_counts(tc: TokenizedCorpus) -> np.ndarray:
    """Occurrences of every token id, an int64 array of length >= ``meta["vocab_size"]``."""
    ids = np.asarray(tc.ids).astype(np.int64, copy=False)
    if ids.size and int(ids.min()) < 0:
        raise ValueError("token ids must be non-negative")
    return np.bincount(ids, minlength=vocab_size(tc))


def _id_set(tc: TokenizedCorpus, key: str) -> np.ndarray:
    return np.asarray(list(tc.meta.get(key) or ()), dtype=np.int64)


def _count_in(ids: np.ndarray, members: np.ndarray) -> int:
    """How many of ``ids`` are in ``members`` (a lookup table: one gather over the ids)."""
    members = members[members >= 0]
    if members.size == 0 or ids.size == 0:
        return 0
    table = np.zeros(max(int(members.max()), int(ids.max())) + 1, dtype=bool)
    table[members] = True
    return int(np.count_nonzero(table[ids]))


# --- vocabulary utilisation -------------------------------------------------------------------
def _util_stats(inp: MetricInput) -> Stats:
    return {"counts": token_counts(inp.tc)}


def _util_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    counts = np.asarray(s["counts"])
    size = int(len(counts))
    tokens = int(counts.sum())
    distinct = int(np.count_nonzero(counts))
    nan = float("nan")
    return {
        "micro": Value(ratio(distinct, size) if tokens else nan, size,
                       {"distinct_types": distinct, "vocab_size": size, "tokens": tokens}),
        "distinct_types": Value(float(distinct) if tokens else nan, tokens,
                                {"tokens": tokens, "vocab_size": size, "unit": "types"}),
    }


VOCAB_UTILIZATION = Metric(
    name="vocab_utilization",
    variants=("micro", "distinct_types"),
    unit="share",
    higher_is_better=None,
    description="Distinct token ids seen on the corpus over the vocabulary size, and the distinct "
                "count itself (tokka-bench).",
    version=1,
    stats=_util_stats,
    finalize=_util_finalize,
    display={"micro": Show(order=80)},
)


# --- UNK and byte-fallback rates --------------------------------------------------------------
def _unk_stats(inp: MetricInput) -> Stats:
    tc = inp.tc
    return {
        "unk_tokens": _count_in(np.asarray(tc.ids), _id_set(tc, "unk_ids")),
        "tokens": int(len(tc.ids)),
        "unk_chars": int(np.sum(tc.unk_chars, dtype=np.int64)),
        "chars": int(np.sum(tc.n_chars, dtype=np.int64)),
    }


def _unk_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    unk, tokens = int(s["unk_tokens"]), int(s["tokens"])
    unk_chars, chars = int(s["unk_chars"]), int(s["chars"])
    return {
        "micro": Value(ratio(unk, tokens), tokens, {"unk_tokens": unk, "tokens": tokens}),
        "unk_char_share": Value(ratio(unk_chars, chars), chars, {"unk_chars": unk_chars, "chars": chars}),
    }


UNK_RATE = Metric(
    name="unk_rate",
    variants=("micro", "unk_char_share"),
    unit="share",
    higher_is_better=False,
    description="Share of tokens that are UNK, and share of characters covered by UNK tokens "
                "(Petrov et al. 2023).",
    version=1,
    stats=_unk_stats,
    finalize=_unk_finalize,
    display={"micro": Show(order=90, lossless=True)},
)


def _bf_stats(inp: MetricInput) -> Stats:
    tc = inp.tc
    return {"byte_fallback_tokens": _count_in(np.asarray(tc.ids), _id_set(tc, "byte_fallback_ids")),
            "tokens": int(len(tc.ids))}


def _bf_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    bf, tokens = int(s["byte_fallback_tokens"]), int(s["tokens"])
    return {"micro": Value(ratio(bf, tokens), tokens, {"byte_fallback_tokens": bf, "tokens": tokens})}


BYTE_FALLBACK_RATE = Metric(
    name="byte_fallback_rate",
    variants=("micro",),
    unit="share",
    higher_is_better=False,
    description="Share of tokens that are byte-fallback tokens such as <0xE4> (Petrov et al. 2023).",
    version=1,
    stats=_bf_stats,
    finalize=_bf_finalize,
    display={"micro": Show(order=100)},
)
