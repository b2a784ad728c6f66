"""Domain metrics: the token cost of a domain against general prose, and of code's own units.

* ``domain_premium`` (per language scope; the domain corpora of :mod:`tokbench.domains` are
  languages such as ``zxx-x-python``): tokens per byte on the scope over tokens per byte on the
  reference language (``reference_lang``, default ``en``, the general-English reference) in
  the same corpus, with the same tokenizer::

      per_byte = (tokens(D) / bytes(D)) / (tokens(ref) / bytes(ref))

  and ``per_char`` the same with characters. Above 1: the tokenizer spends more tokens per
  byte on the domain than on English prose. Unlike ``premium`` it needs no parallel text: the
  sums are over all documents of each side (KL3M compares domain tokenizers this way, per byte).
  Document-level: it reads the reference language from ``inp.context`` (the whole corpus).
* ``code_units``: for the identifiers and indentation runs of the text (found by regular
  expressions on the UTF-8 bytes), the number of tokens whose byte span overlaps each unit,
  from the token spans and the text the tokenization keeps (``tok_start``/``tok_end``,
  ``text_utf8``). A token ``[s, e)`` overlaps a unit ``[a, b)`` when ``s < b`` and ``e > a``.

  - identifier: ``[A-Za-z_][A-Za-z0-9_]*`` not preceded by ``[A-Za-z0-9_]`` or a non-ASCII
    byte and not followed by a non-ASCII byte (keywords included; comments and strings not
    excluded: every identifier-shaped name);
  - indentation run: the spaces and tabs that start a line, on lines with other content.

  Variants: ``per_identifier`` and ``per_indent_run`` (mean tokens overlapping a unit) and
  ``split_identifiers`` (share of identifiers overlapping two or more tokens).

>>> import numpy as np
>>> from tokbench.tokenized import TokenizedCorpus
>>> from tokbench.metrics.base import MetricInput
>>> i = lambda *v: np.array(v, dtype=np.int64)
>>> text = b"def f(x):\\n    return x"
>>> tc = TokenizedCorpus(lang=np.array(["zxx-x-python"]), doc_key=np.array(["d"]), n_bytes=i(len(text)),
...     n_chars=i(len(text)), n_words=i(4), n_tokens=i(9), roundtrip_ok=np.array([True]), unk_chars=i(0),
...     ids=i(1, 2, 3, 4, 5, 6, 7, 8, 9), tok_offsets=i(0, 9), tok_nwords=i(1, 1, 1, 1, 1, 1, 1, 1, 1),
...     word_ntok=i(1, 1, 1, 1), word_iso_ntok=i(1, 1, 1, 1), word_offsets=i(0, 4),
...     tok_start=i(0, 3, 5, 6, 7, 9, 14, 17, 20), tok_end=i(3, 5, 6, 7, 9, 14, 17, 20, 22),
...     text_utf8=np.frombuffer(text, np.uint8))
>>> v = CODE_UNITS.compute(MetricInput(tc))
>>> v["per_identifier"].value, v["per_indent_run"].value   # def f x re|turn x; "    "
(1.2, 1.0)
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np

from .base import Metric, MetricInput, Show, Stats, Value, ratio

DEFAULT_REFERENCE = "en"
IDENTIFIER = re.compile(rb"(?<![A-Za-z0-9_\x80-\xff])[A-Za-z_][A-Za-z0-9_]*(?![\x80-\xff])")
INDENT_RUN = re.compile(rb"(?m)^[ \t]+(?=[^ \t\r\n])")


# --- domain premium ----------------------------------------------------------------------------
def _sums(tc, mask=None) -> tuple[int, int, int]:
    t, b, c = (np.asarray(x, dtype=np.int64) for x in (tc.n_tokens, tc.n_bytes, tc.n_chars))
    if mask is not None:
        t, b, c = t[mask], b[mask], c[mask]
    return int(t.sum()), int(b.sum()), int(c.sum())


def _premium_stats(inp: MetricInput) -> Stats:
    ref = str(inp.params.get("reference_lang", DEFAULT_REFERENCE))
    tokens, nbytes, chars = _sums(inp.tc)
    s: Stats = {"tokens": tokens, "bytes": nbytes, "chars": chars, "docs": int(inp.tc.n_docs),
                "ref_tokens": 0, "ref_bytes": 0, "ref_chars": 0, "no_context": 0}
    if inp.context is None:
        s["no_context"] = int(inp.tc.n_docs)  # documents scored without context: adds up like the rest
        return s
    s["ref_tokens"], s["ref_bytes"], s["ref_chars"] = _sums(inp.context, np.asarray(inp.context.lang) == ref)
    return s


def _premium_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    ref = str(params.get("reference_lang", DEFAULT_REFERENCE))
    tokens, nbytes, chars = int(s["tokens"]), int(s["bytes"]), int(s["chars"])
    rt, rb, rc = int(s["ref_tokens"]), int(s["ref_bytes"]), int(s["ref_chars"])
    p = {"reference_lang": ref, "tokens": tokens, "bytes": nbytes, "chars": chars,
         "reference_tokens": rt, "reference_bytes": rb, "reference_chars": rc}
    note = None
    if int(s["no_context"]):
        note = "no context (the whole corpus, same tokenizer) to find the reference language in"
    elif rt == 0 or rb == 0:
        note = f"reference language {ref!r} has no tokens in the corpus"
    elif tokens == 0:
        note = "no tokens in this scope"
    if note:
        return {v: Value(float("nan"), 0, {**p, "note": note}) for v in ("per_byte", "per_char")}
    return {"per_byte": Value(ratio(tokens * rb, nbytes * rt), nbytes, p),
            "per_char": Value(ratio(tokens * rc, chars * rt), chars, p)}


DOMAIN_PREMIUM = Metric(
    name="domain_premium",
    variants=("per_byte", "per_char"),
    unit="ratio",
    higher_is_better=False,
    description="Domain premium: tokens per byte on a domain over tokens per byte on general English prose "
                "(reference_lang, UDHR English in domain-v1), same tokenizer; per_char with characters "
                "(KL3M's domain-efficiency comparison, normalised per byte).",
    version=1,
    stats=_premium_stats,
    finalize=_premium_finalize,
    default_params={"reference_lang": DEFAULT_REFERENCE},
    scopes=("lang",),
    document_level=True,
    display={"per_byte": Show(order=340, drilldown=True)},
    default=False,
)


# --- tokens per identifier / indentation run ------------------------------------------------------
def overlap_counts(unit_starts: np.ndarray, unit_ends: np.ndarray, tok_starts: np.ndarray,
                   tok_ends: np.ndarray) -> np.ndarray:
    """Tokens overlapping each unit ``[a, b)``: ``#{s < b} - #{e <= a}`` (every token with
    ``e <= a`` also has ``s <= e <= a < b``), exact for any spans with ``s <= e``, in any order.

    >>> overlap_counts(np.array([2]), np.array([5]), np.array([0, 3, 5]), np.array([3, 5, 7])).tolist()
    [2]
    """
    ts, te = np.sort(tok_starts), np.sort(tok_ends)
    return np.searchsorted(ts, unit_ends, side="left") - np.searchsorted(te, unit_starts, side="right")


def _spans(pattern: re.Pattern, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    spans = [m.span() for m in pattern.finditer(data)]
    if not spans:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = np.asarray(spans, dtype=np.int64)
    return arr[:, 0], arr[:, 1]


def _code_stats(inp: MetricInput) -> Stats:
    tc = inp.tc
    s: Stats = {"identifiers": 0, "identifier_tokens": 0, "split_identifiers": 0, "indent_runs": 0,
                "indent_tokens": 0, "docs_without_spans": 0}
    if not (tc.has_spans and tc.has_text):
        s["docs_without_spans"] = int(tc.n_docs)
        return s
    off = np.concatenate([[0], np.cumsum(np.asarray(tc.n_bytes, dtype=np.int64))])
    raw = tc.text_utf8
    for d in range(tc.n_docs):
        data = raw[off[d]:off[d + 1]].tobytes()
        ts, te = tc.doc_spans(d)
        a, b = _spans(IDENTIFIER, data)
        n = overlap_counts(a, b, ts, te)
        s["identifiers"] += int(len(n))
        s["identifier_tokens"] += int(n.sum())
        s["split_identifiers"] += int(np.count_nonzero(n >= 2))
        a, b = _spans(INDENT_RUN, data)
        n = overlap_counts(a, b, ts, te)
        s["indent_runs"] += int(len(n))
        s["indent_tokens"] += int(n.sum())
    return s


def _code_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    ids, runs = int(s["identifiers"]), int(s["indent_runs"])
    if int(s["docs_without_spans"]):
        note = {"note": "the tokenization kept no token spans or text (rerun with the current tokbench)"}
        return {v: Value(float("nan"), 0, note) for v in CODE_UNITS.variants}
    pi = {"identifiers": ids, "identifier_tokens": int(s["identifier_tokens"])}
    pr = {"indent_runs": runs, "indent_tokens": int(s["indent_tokens"])}
    return {"per_identifier": Value(ratio(s["identifier_tokens"], ids), ids, pi),
            "per_indent_run": Value(ratio(s["indent_tokens"], runs), runs, pr),
            "split_identifiers": Value(ratio(s["split_identifiers"], ids), ids,
                                       {**pi, "split_identifiers": int(s["split_identifiers"])})}


CODE_UNITS = Metric(
    name="code_units",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("per_identifier", "per_indent_run", "split_identifiers"),
    unit="tokens/unit",
    higher_is_better=False,
    description="Tokens overlapping each identifier ([A-Za-z_][A-Za-z0-9_]*) and each indentation run "
                "(leading spaces/tabs of a non-blank line), from token byte spans; and the share of "
                "identifiers split into two or more tokens (tokens per identifier as in code-tokenizer studies, e.g. StarCoder; docs/domains.md).",
    version=1,
    stats=_code_stats,
    finalize=_code_finalize,
    display={"per_identifier": Show(order=345), "split_identifiers": Show(unit="share")},
    default=False,
)

DOMAIN_METRICS = (DOMAIN_PREMIUM, CODE_UNITS)
