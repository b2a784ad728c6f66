"""Round-trip fidelity: the share of documents with ``decode(encode(x)) == x``.

The comparison itself was made once by :mod:`tokbench.tokenize` (``roundtrip_ok``).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value, ratio


def _stats(inp: MetricInput) -> Stats:
    ok = np.asarray(inp.tc.roundtrip_ok, dtype=bool)
    return {"ok_docs": int(np.count_nonzero(ok)), "docs": int(len(ok))}


def _finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    ok, docs = int(s["ok_docs"]), int(s["docs"])
    return {"micro": Value(ratio(ok, docs), docs, {"ok_docs": ok, "docs": docs})}


ROUNDTRIP = Metric(
    name="roundtrip",
    variants=("micro",),
    unit="share",
    higher_is_better=True,
    description="Share of documents that decode back to exactly the input text after encoding "
                "(tiktoken's round-trip tests).",
    version=1,
    stats=_stats,
    finalize=_finalize,
    display={"micro": Show(order=110, lossless=True)},
)
