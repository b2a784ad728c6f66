"""Round-trip fidelity: the share of documents with ``decode(encode(x)) == x``.

The comparison itself was made once by :mod:`tokbench.tokenize` (``roundtrip_ok``).
A tokenizer whose decode is lossy by design (``meta["invertible"] is False``: a python-backend
object with ``invertible = False``) gets NaN with the note "not invertible by design" and the
measured share in ``unblanked_value``, instead of a value that flags it as not lossless.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value, ratio


NOT_INVERTIBLE = ("not invertible by design: the tokenizer declares a lossy decode (invertible = False); "
                  "the share of exact round trips is in `unblanked_value`")


def _stats(inp: MetricInput) -> Stats:
    ok = np.asarray(inp.tc.roundtrip_ok, dtype=bool)
    out = {"ok_docs": int(np.count_nonzero(ok)), "docs": int(len(ok))}
    if inp.tc.meta.get("invertible") is False:  # declared by the tokenizer (python backend)
        out["lossy_by_design_docs"] = int(len(ok))
    return out


def _finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    ok, docs = int(s["ok_docs"]), int(s["docs"])
    if int(s.get("lossy_by_design_docs", 0)):  # reported, not flagged as a lossy tokenizer
        return {"micro": Value(float("nan"), docs, {"ok_docs": ok, "docs": docs, "unblanked_value": ratio(ok, docs),
                                                    "note": NOT_INVERTIBLE})}
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
