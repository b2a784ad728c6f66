"""Token premiums and parity on parallel text (Petrov et al. 2023; TokSuite).

Parallel documents share an alignment key (``TokenizedCorpus.doc_key``: UDHR article
``"a0"``..``"a30"``). For a language ``L`` and a reference language ``ref`` (English by
default) the aligned pairs are the keys present in both languages.

* ``premium/corpus`` (Petrov et al.): ``sum tokens(L) / sum tokens(ref)`` over aligned pairs.
* ``premium/macro`` (TokSuite): mean over aligned pairs of ``tokens(L) / tokens(ref)``
  (pairs whose reference document has no tokens are left out).
* ``byte_premium/corpus``: ``sum bytes(L) / sum bytes(ref)`` over aligned pairs, a property
  of the text, identical for every tokenizer.
* ``parity`` (``lang = "*"`` only): ``max``, ``mean`` and ``gini`` of the corpus premiums of
  the corpus's languages, leaving out the reference language and blanked languages.

A language whose UNK tokens cover more than ``max_unk_char_share`` (default 10%) of its
characters is *blanked*: its premium is NaN with a note saying why (its token count says
little when whole words collapse into one UNK token).

The metrics read the scope's documents from ``inp.tc`` (one language for ``premium``, the
whole corpus for ``parity`` at ``lang = "*"``) and the reference language's documents from
``inp.context`` (the whole corpus tokenized by the same tokenizer, which the tokenizer suite kind passes).
Every document of the scope whose ``doc_key`` the reference language also has is one aligned
pair. The stats are sums over documents of the scope (``parity`` keeps them per language, keys
``"tokens|tr"``, ...), so they add up over shards of the scope with the context held fixed.
Without a context (``inp.context is None``) nothing can be aligned: every value is NaN with a
note, as ``nsl`` is without a reference tokenization.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .base import Metric, Show, MetricInput, Stats, Value, ratio

DEFAULT_REFERENCE = "en"
DEFAULT_MAX_UNK = 0.10
_DEFAULTS = {"reference_lang": DEFAULT_REFERENCE, "max_unk_char_share": DEFAULT_MAX_UNK}
_SEP = "|"


# --- alignment -----------------------------------------------------------------------------
def _ref_index(ctx, ref: str) -> dict[str, tuple[int, int]]:
    """doc_key -> (tokens, bytes) of the reference language's documents in the context
    (summed should a key occur twice)."""
    mask = np.asarray(ctx.lang) == ref
    out: dict[str, tuple[int, int]] = {}
    for k, t, b in zip(np.asarray(ctx.doc_key)[mask].tolist(), np.asarray(ctx.n_tokens)[mask].tolist(),
                       np.asarray(ctx.n_bytes)[mask].tolist()):
        t0, b0 = out.get(k, (0, 0))
        out[k] = (t0 + int(t), b0 + int(b))
    return out


_SUMS = ("pairs", "tokens", "ref_tokens", "bytes", "ref_bytes", "macro_sum", "macro_pairs",
         "unk_chars", "chars", "docs", "docs_without_context", "docs_without_reference")


def _doc_sums(tc, docs: np.ndarray, ref_docs: dict[str, tuple[int, int]] | None) -> dict[str, Any]:
    """Sums over the scope's documents ``docs``: every document whose key the reference language
    also has is one aligned pair (with that reference document). Additive over documents."""
    s: dict[str, Any] = dict.fromkeys(_SUMS, 0)
    s["macro_sum"] = 0.0
    s["docs"] = int(len(docs))
    s["unk_chars"] = int(np.sum(np.asarray(tc.unk_chars)[docs], dtype=np.int64))
    s["chars"] = int(np.sum(np.asarray(tc.n_chars)[docs], dtype=np.int64))
    if ref_docs is None:  # no context: nothing to align against
        s["docs_without_context"] = int(len(docs))
        return s
    if not ref_docs:
        s["docs_without_reference"] = int(len(docs))
        return s
    for k, t, b in zip(np.asarray(tc.doc_key)[docs].tolist(), np.asarray(tc.n_tokens)[docs].tolist(),
                       np.asarray(tc.n_bytes)[docs].tolist()):
        if k not in ref_docs:
            continue
        rt, rb = ref_docs[k]
        s["pairs"] += 1
        s["tokens"] += int(t)
        s["ref_tokens"] += rt
        s["bytes"] += int(b)
        s["ref_bytes"] += rb
        if rt > 0:
            s["macro_sum"] += int(t) / rt
            s["macro_pairs"] += 1
    return s


def _params(inp: MetricInput) -> tuple[str, float]:
    p = {**_DEFAULTS, **inp.params}
    return str(p["reference_lang"]), float(p["max_unk_char_share"])


# --- premium and byte_premium ----------------------------------------------------------------
def _premium_stats(inp: MetricInput) -> Stats:
    ref, _ = _params(inp)
    ref_docs = _ref_index(inp.context, ref) if inp.context is not None else None
    return _doc_sums(inp.tc, np.arange(inp.tc.n_docs), ref_docs)


def _blank_note(share: float, limit: float) -> str:
    return f"blank: UNK covers {100 * share:.1f}% of characters (> {100 * limit:g}%)"


def _premium_common(s: Stats, params: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    ref = str(params.get("reference_lang", DEFAULT_REFERENCE))
    p: dict[str, Any] = {"reference_lang": ref, "aligned_pairs": int(s["pairs"])}
    note = None
    if int(s["docs_without_context"]):
        note = "no context (the whole corpus, same tokenizer) was given to align against"
    elif int(s["docs_without_reference"]):
        note = f"reference language {ref!r} is not in the corpus"
    elif int(s["pairs"]) == 0:
        note = f"no document aligns with the reference language {ref!r} (no shared doc_key)"
    return p, note


def _premium_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    p, note = _premium_common(s, params)
    limit = float(params.get("max_unk_char_share", DEFAULT_MAX_UNK))
    unk_share = ratio(s["unk_chars"], s["chars"])
    p.update(unk_char_share=unk_share, unk_chars=int(s["unk_chars"]), chars=int(s["chars"]),
             max_unk_char_share=limit)
    nan = float("nan")
    if note is not None:
        return {v: Value(nan, 0, {**p, "note": note}) for v in ("corpus", "macro")}
    tokens, ref_tokens = int(s["tokens"]), int(s["ref_tokens"])
    corpus = ratio(tokens, ref_tokens)
    macro = ratio(s["macro_sum"], s["macro_pairs"])
    pc = {**p, "tokens": tokens, "reference_tokens": ref_tokens}
    pm = {**p, "pairs": int(s["macro_pairs"])}
    if not math.isnan(unk_share) and unk_share > limit:
        blank = _blank_note(unk_share, limit)
        return {"corpus": Value(nan, int(s["pairs"]), {**pc, "unblanked_value": corpus, "note": blank}),
                "macro": Value(nan, int(s["macro_pairs"]), {**pm, "unblanked_value": macro, "note": blank})}
    return {"corpus": Value(corpus, int(s["pairs"]), pc),
            "macro": Value(macro, int(s["macro_pairs"]), pm)}


def _byte_premium_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    p, note = _premium_common(s, params)
    if note is not None:
        return {"corpus": Value(float("nan"), 0, {**p, "note": note})}
    nbytes, ref_bytes = int(s["bytes"]), int(s["ref_bytes"])
    return {"corpus": Value(ratio(nbytes, ref_bytes), int(s["pairs"]),
                            {**p, "bytes": nbytes, "reference_bytes": ref_bytes})}


PREMIUM = Metric(
    name="premium",
    variants=("corpus", "macro"),
    unit="ratio",
    higher_is_better=False,
    description="Token premium on parallel text: tokens of a language over tokens of the reference "
                "language (English by default) on aligned documents; corpus ratio of sums (Petrov et al. "
                "2023) and mean of per-pair ratios (TokSuite); blank when UNK covers > 10% of characters "
                "(Petrov et al. 2023; TokSuite).",
    version=1,
    stats=_premium_stats,
    finalize=_premium_finalize,
    default_params=dict(_DEFAULTS),
    scopes=("lang",),
    document_level=True,
    display={"corpus": Show(order=150)},
    default=False,
)

BYTE_PREMIUM = Metric(
    name="byte_premium",
    variants=("corpus",),
    unit="ratio",
    higher_is_better=None,
    description="UTF-8 bytes of a language over bytes of the reference language on aligned documents; a "
                "property of the text, the same for every tokenizer (Petrov et al. 2023).",
    version=1,
    stats=_premium_stats,
    finalize=_byte_premium_finalize,
    default_params={"reference_lang": DEFAULT_REFERENCE},
    scopes=("lang",),
    document_level=True,
    display={},
    default=False,
)


# --- parity ----------------------------------------------------------------------------------
_PARITY_FIELDS = ("pairs", "tokens", "ref_tokens", "unk_chars", "chars")


def _parity_stats(inp: MetricInput) -> Stats:
    """Per language of the scope (``inp.tc``, the whole corpus at ``lang = "*"``), the sums of
    ``premium``; keys ``"<field>|<lang>"`` so that they add up over shards of the scope."""
    ref, _ = _params(inp)
    tc = inp.tc
    ref_docs = _ref_index(inp.context, ref) if inp.context is not None else None
    lang_arr = np.asarray(tc.lang)
    s: Stats = {"docs": int(tc.n_docs), "docs_without_context": 0 if ref_docs is not None else int(tc.n_docs),
                "docs_without_reference": int(tc.n_docs) if ref_docs is not None and not ref_docs else 0}
    if ref_docs is None:
        return s
    for lang in dict.fromkeys(lang_arr.tolist()):
        sums = _doc_sums(tc, np.flatnonzero(lang_arr == lang), ref_docs)
        for f in _PARITY_FIELDS:
            s[f"{f}{_SEP}{lang}"] = sums[f]
    return s


def gini(values) -> float:
    """Gini coefficient: mean absolute difference over all ordered pairs / (2 * mean).

    >>> gini([1.0, 1.0, 1.0])
    0.0
    >>> round(gini([1.0, 3.0]), 6)
    0.25
    """
    x = np.asarray(list(values), dtype=np.float64)
    if len(x) == 0:
        return float("nan")
    mean = float(x.mean())
    if mean == 0:
        return float("nan")
    mad = float(np.abs(x[:, None] - x[None, :]).mean())
    return mad / (2 * mean)


def _parity_finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    ref = str(params.get("reference_lang", DEFAULT_REFERENCE))
    limit = float(params.get("max_unk_char_share", DEFAULT_MAX_UNK))
    nan = float("nan")
    langs = sorted({k.split(_SEP, 1)[1] for k in s if _SEP in k})
    p: dict[str, Any] = {"reference_lang": ref, "max_unk_char_share": limit}
    note = None
    if int(s.get("docs_without_context", 0)):
        note = "no context (the whole corpus, same tokenizer) was given to align against"
    elif int(s.get("docs_without_reference", 0)):
        note = f"reference language {ref!r} is not in the corpus"
    if note is not None:
        return {v: Value(nan, 0, {**p, "note": note}) for v in ("max", "mean", "gini")}
    premiums: dict[str, float] = {}
    blanked, unaligned = [], []
    for lang in langs:
        if lang == ref:
            continue
        g = {f: s.get(f"{f}{_SEP}{lang}", 0) for f in _PARITY_FIELDS}
        if int(g["pairs"]) == 0 or int(g["ref_tokens"]) == 0:
            unaligned.append(lang)
            continue
        share = ratio(g["unk_chars"], g["chars"])
        if not math.isnan(share) and share > limit:
            blanked.append(lang)
            continue
        premiums[lang] = int(g["tokens"]) / int(g["ref_tokens"])
    p.update(languages=len(premiums), excluded_reference=[ref], excluded_blank=blanked,
             excluded_unaligned=unaligned)
    if not premiums:
        note = "no language besides the reference has a premium"
        return {v: Value(nan, 0, {**p, "note": note}) for v in ("max", "mean", "gini")}
    vals = list(premiums.values())
    worst = max(premiums, key=lambda lang: (premiums[lang], lang))
    n = len(vals)
    return {"max": Value(max(vals), n, {**p, "max_lang": worst}),
            "mean": Value(float(np.mean(vals)), n, dict(p)),
            "gini": Value(gini(vals), n, dict(p))}


PARITY = Metric(
    name="parity",
    variants=("max", "mean", "gini"),
    unit="ratio",
    higher_is_better=False,
    description="Parity summary over the corpus's languages of the corpus token premium against the "
                "reference language (reference and blanked languages left out): max, mean and Gini "
                "(Petrov et al. 2023).",
    version=1,
    stats=_parity_stats,
    finalize=_parity_finalize,
    default_params=dict(_DEFAULTS),
    scopes=("all",),
    document_level=True,
    display={"mean": Show(order=160), "max": Show(order=170), "gini": Show(order=180)},
    default=False,
)
