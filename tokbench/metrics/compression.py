"""Compression family: bytes and characters per token, and normalised sequence length (NSL).

Micro variants are ratios of corpus sums; macro variants are the mean over documents of the
per-document ratio (documents with an empty denominator are left out and not counted).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value, ratio


def _isum(a: np.ndarray) -> int:
    return int(np.sum(a, dtype=np.int64))


def _macro(num: np.ndarray, den: np.ndarray) -> tuple[float, int]:
    """Sum over documents with ``den > 0`` of ``num / den``, and how many such documents."""
    den = np.asarray(den)
    keep = den > 0
    return float(np.sum(np.asarray(num, dtype=np.float64)[keep] / den[keep])), int(np.count_nonzero(keep))


def _per_token(field: str):
    def stats(inp: MetricInput) -> Stats:
        tc = inp.tc
        num = getattr(tc, field)
        macro_sum, macro_docs = _macro(num, tc.n_tokens)
        return {field: _isum(num), "tokens": _isum(tc.n_tokens),
                "macro_sum": macro_sum, "macro_docs": macro_docs}

    unit = field.removeprefix("n_")  # "bytes" / "chars"

    def finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
        num, tokens, docs = int(s[field]), int(s["tokens"]), int(s["macro_docs"])
        return {
            "micro": Value(ratio(num, tokens), tokens, {unit: num, "tokens": tokens}),
            "macro": Value(ratio(s["macro_sum"], docs), docs, {"docs": docs}),
        }

    return stats, finalize


_bpt_stats, _bpt_finalize = _per_token("n_bytes")
_cpt_stats, _cpt_finalize = _per_token("n_chars")

BYTES_PER_TOKEN = Metric(
    name="bytes_per_token",
    variants=("micro", "macro"),
    unit="bytes/token",
    higher_is_better=True,
    description="UTF-8 bytes per token, corpus ratio of sums and per-document mean (tokka-bench, TokLens).",
    version=1,
    stats=_bpt_stats,
    finalize=_bpt_finalize,
    display={"micro": Show(order=50, drilldown=True, models_table=True)},
)

CHARS_PER_TOKEN = Metric(
    name="chars_per_token",
    variants=("micro", "macro"),
    unit="chars/token",
    higher_is_better=True,
    description="Unicode code points per token, corpus ratio of sums and per-document mean "
                "(TokLens, mothertoken).",
    version=1,
    stats=_cpt_stats,
    finalize=_cpt_finalize,
    display={"micro": Show(order=60)},
)


# --- NSL ---------------------------------------------------------------------------------------
def _nsl_stats(inp: MetricInput) -> Stats:
    tc, ref = inp.tc, inp.reference
    tokens = _isum(tc.n_tokens)
    if ref is None:
        return {"tokens": tokens, "ref_tokens": 0, "macro_sum": 0.0, "macro_docs": 0,
                "docs_without_reference": int(tc.n_docs)}
    if ref.n_docs != tc.n_docs:
        raise ValueError(f"nsl: the reference tokenization has {ref.n_docs} documents, "
                         f"the candidate {tc.n_docs}; they must cover the same documents in the same order")
    if not np.array_equal(np.asarray(tc.doc_key), np.asarray(ref.doc_key)):
        raise ValueError("nsl: the reference tokenization's doc_key order differs from the candidate's; "
                         "they must cover the same documents in the same order")
    macro_sum, macro_docs = _macro(tc.n_tokens, ref.n_tokens)
    return {"tokens": tokens, "ref_tokens": _isum(ref.n_tokens), "macro_sum": macro_sum,
            "macro_docs": macro_docs, "docs_without_reference": 0}


def _nsl_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    reference = params.get("reference")
    tokens, ref_tokens, docs = int(s["tokens"]), int(s["ref_tokens"]), int(s["macro_docs"])
    p: dict[str, Any] = {"reference": reference}
    if int(s["docs_without_reference"]):
        nan = float("nan")
        p["note"] = "no reference tokenization was given"
        return {"micro": Value(nan, 0, dict(p)), "macro": Value(nan, 0, dict(p))}
    if reference is None:
        p["note"] = "the reference tokenizer was not named"
    return {
        "micro": Value(ratio(tokens, ref_tokens), ref_tokens,
                       {**p, "tokens": tokens, "reference_tokens": ref_tokens}),
        "macro": Value(ratio(s["macro_sum"], docs), docs, {**p, "docs": docs}),
    }


NSL = Metric(
    name="nsl",
    variants=("micro", "macro"),
    unit="ratio",
    higher_is_better=False,
    description="Normalised sequence length, tokens of this tokenizer over tokens of a reference "
                "tokenizer on the same text (Dagan et al. 2024).",
    version=1,
    stats=_nsl_stats,
    finalize=_nsl_finalize,
    needs_reference=True,
    document_level=True,
    display={"micro": Show(order=70)},
)
