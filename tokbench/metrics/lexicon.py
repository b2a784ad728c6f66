"""Lexical family: %LANG and %Pure, the share of tokens that are words / roots or morphemes.

Generalises %TR and %Pure of the Turkish tokenization-standards benchmark ("Tokens with
Meaning", Bayram et al. 2025) to any language with a linguistic backend
(:mod:`tokbench.linguistic`). Per distinct token id of the scope:

1. its text decoded alone (``TokenizedCorpus.type_text``) is normalised: the word-boundary
   marker (leading space, ``▁``, WordPiece ``##``) and surrounding whitespace stripped,
   lowercased with the language's casing (Turkish dotted/dotless i);
2. a string that is empty or has no letter (pure punctuation, symbols, digits) is
   **excluded** (its share is the ``excluded_share`` variant of ``lang_token_share``); a
   partial UTF-8 sequence (U+FFFD) is kept and is never a word;
3. the rest are judged per occurrence, by text *and position in the word*
   (:mod:`tokbench.metrics.lexicon_rules`, version 2): ``lang_token_share`` a lexicon word that
   starts a word, ``pure_token_share`` a root starting a word or an affix inside/ending one;
   single letters only as a whole word (or a word-final suffix).

Variants: ``types`` (over the distinct token ids produced on the scope, what the published
tables use; a type is positive when most of its kept occurrences are) and ``tokens`` (over
token occurrences). The statistics are per-id arrays (occurrences of every id, of kept ids,
of judged-positive occurrences), so they add up across shards.

The backend comes from the metric's params: ``backend`` (a spec for every language, or a
table ``{lang = spec}``; default per language: :func:`tokbench.linguistic.default_spec`) and
``min_zipf`` (wordfreq threshold, default 3.0). Backends are built lazily, once per process;
the judgments are pure functions of the token text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .base import Metric, MetricInput, Show, Stats, Value, ratio

NAN = float("nan")


@dataclass(frozen=True)
class LexicalMetric(Metric):
    """A Metric whose scope parameters also carry the scope's language (``lang``, one-language scopes),
    which ``finalize`` uses only to describe the backend (name, version) and to word notes."""

    def scope_params(self, params: Mapping[str, Any], langs: list[str]) -> dict[str, Any]:
        out = {**self.default_params, **params}
        if len(langs) == 1:
            out["lang"] = langs[0]
        return out


def _vocab_len(tc, ids: np.ndarray) -> int:
    try:
        v = int(tc.meta["vocab_size"])
    except (KeyError, TypeError, ValueError):
        v = 0
    return max(v, int(ids.max()) + 1 if ids.size else 0)


def _backend_for(params: Mapping[str, Any], lang: str, need: str):
    """(backend, None) or (None, reason). A reason starting "backend " means a backend was named
    (or found) but cannot be used here (not installed): a value that can be computed once it is."""
    from ..linguistic import BackendUnavailable, DEFAULT_MIN_ZIPF, get_backend, resolve_spec

    spec = resolve_spec(params, lang, need=need)
    if spec is None:
        what = "lexicon" if need == "words" else "morphological analyser or root/affix list"
        return None, f"no {what} for {lang}"
    try:
        backend = get_backend(spec, lang, min_zipf=float(params.get("min_zipf", DEFAULT_MIN_ZIPF)))
    except BackendUnavailable as e:
        return None, f"backend {spec!r} unavailable for {lang}: {e}"
    if need == "words" and not backend.has_words:
        return None, f"backend {spec!r} has no word lexicon for {lang}"
    if need == "morphemes" and not backend.has_morphemes:
        return None, f"backend {spec!r} has no roots or affixes for {lang}"
    return backend, None


def _stats(inp: MetricInput, need: str) -> Stats:
    from ..linguistic import is_excluded, normalize_token
    from .lexicon_rules import token_positions, verdict

    tc = inp.tc
    ids = np.asarray(tc.ids).astype(np.int64, copy=False)
    if ids.size and int(ids.min()) < 0:
        raise ValueError("token ids must be non-negative")
    V = _vocab_len(tc, ids)
    counts = np.bincount(ids, minlength=V)
    kept = np.zeros(V, np.int64)
    hits = np.zeros(V, np.int64)
    excluded = np.zeros(V, np.int64)
    unjudged = 0
    type_ids = np.asarray(tc.type_ids).astype(np.int64, copy=False)
    type_text = np.asarray(tc.type_text)
    tok_lang = np.repeat(np.asarray(tc.lang), np.diff(np.asarray(tc.tok_offsets)))
    positions, from_spans = token_positions(tc) if ids.size else (np.zeros(0, np.int8), True)
    for lang in dict.fromkeys(np.asarray(tc.lang).tolist()):
        sel = tok_lang == lang
        lids = ids[sel]
        if lids.size == 0:
            continue
        present = np.unique(lids)
        pos = np.searchsorted(type_ids, present)
        ok = pos < len(type_ids)
        ok[ok] = type_ids[pos[ok]] == present[ok]
        if not ok.all():  # ids without a decoded text (a tokenization from before type_text)
            unjudged += int(lids.size)
            continue
        backend, _reason = _backend_for(inp.params, lang, need)
        if backend is None:
            unjudged += int(lids.size)
            continue
        keep_flag = np.zeros(V, bool)
        text_of = {}
        for i, text in zip(present.tolist(), type_text[pos].tolist()):
            if not is_excluded(normalize_token(text, lang)):
                keep_flag[i] = True
                text_of[i] = text
        # one verdict per (id, position in the word); occurrences take the verdict of theirs
        keys = lids * 4 + positions[sel].astype(np.int64)
        ukeys, inverse = np.unique(keys, return_inverse=True)
        good = np.array([int(k) // 4 in text_of and verdict(backend, need, text_of[int(k) // 4], int(k) % 4)[0]
                         for k in ukeys.tolist()], bool)
        occ_hit = good[inverse.reshape(-1)]
        c = np.bincount(lids, minlength=V)
        kept += c * keep_flag
        hits += np.bincount(lids[occ_hit], minlength=V)
        excluded += c * ~keep_flag
    return {"counts": counts, "kept": kept, "hits": hits, "excluded": excluded, "unjudged_tokens": int(unjudged),
            "positions_from_text_tokens": 0 if from_spans else int(ids.size)}


def _describe(params: Mapping[str, Any], need: str) -> tuple[dict, str | None]:
    lang = params.get("lang")
    if lang is None:
        return {}, None
    backend, reason = _backend_for(params, lang, need)
    return (backend.describe(), None) if backend is not None else ({}, reason)


def _finalize(s: Stats, params: Mapping[str, Any], need: str, hit_name: str) -> dict[str, Value]:
    counts, kept = np.asarray(s["counts"]), np.asarray(s["kept"])
    hits, excl = np.asarray(s["hits"]), np.asarray(s["excluded"])
    unjudged = int(s["unjudged_tokens"])
    tokens = int(counts.sum())
    kept_tokens, hit_tokens, excl_tokens = int(kept.sum()), int(hits.sum()), int(excl.sum())
    types = int(np.count_nonzero(counts))
    # a type counts when most of its kept occurrences do (the verdict depends on the position)
    kept_types, hit_types, excl_types = (int(np.count_nonzero(kept)), int(np.count_nonzero(2 * hits > kept)),
                                         int(np.count_nonzero(excl)))
    desc, reason = _describe(params, need)
    note = None
    if unjudged and not (kept_tokens or excl_tokens):
        note = reason or "tokens not judged: no backend for the language, or no type_text (re-tokenize)"
        if reason and reason.startswith("backend "):
            desc = {**desc, "unavailable": reason}  # not a result: the kind stores it as not done
    elif unjudged:
        note = f"{unjudged} of {tokens} tokens not judged (no backend or no type_text)"
    common = {**desc, "tokens": tokens, "types": types, "excluded_tokens": excl_tokens,
              "excluded_types": excl_types, "unjudged_tokens": unjudged}
    from_text = int(s.get("positions_from_text_tokens", 0))
    if from_text:
        common["positions"] = f"{from_text} tokens placed in their words from token texts (no spans)"
    if note:
        common["note"] = note
    out = {
        "types": Value(ratio(hit_types, kept_types), kept_types,
                       {**common, f"{hit_name}_types": hit_types, "kept_types": kept_types}),
        "tokens": Value(ratio(hit_tokens, kept_tokens), kept_tokens,
                        {**common, f"{hit_name}_tokens": hit_tokens, "kept_tokens": kept_tokens}),
    }
    if need == "words":
        judged = kept_tokens + excl_tokens
        out["excluded_share"] = Value(ratio(excl_tokens, judged), judged,
                                      {**common, "judged_tokens": judged, "higher_is_better": None})
    return out


LANG_TOKEN_SHARE = LexicalMetric(
    name="lang_token_share",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("types", "tokens", "excluded_share"),
    unit="share",
    higher_is_better=True,
    description="%LANG: share of tokens (distinct types, or occurrences) that are valid words of the "
                "language by an offline lexicon and start a word (single letters only as whole words), "
                "punctuation/digit tokens excluded (Turkish tokenization standards %TR, Bayram et al. 2025).",
    version=2,
    stats=lambda inp: _stats(inp, "words"),
    finalize=lambda s, p: _finalize(s, p, "words", "word"),
    default_params={"backend": "auto"},
    scopes=("lang",),
    default=False,
    display={"types": Show(order=190), "excluded_share": Show(higher_is_better=None)},
)

PURE_TOKEN_SHARE = LexicalMetric(
    name="pure_token_share",
    uses_spans=True,  # word/position statistics from the token spans
    variants=("types", "tokens"),
    unit="share",
    higher_is_better=True,
    description="%Pure: share of tokens (distinct types, or occurrences) that are one morpheme: a root "
                "starting a word or an affix inside or ending one, by a morphological analyser or root/affix "
                "list (Turkish tokenization standards %Pure, Bayram et al. 2025).",
    version=2,
    stats=lambda inp: _stats(inp, "morphemes"),
    finalize=lambda s, p: _finalize(s, p, "morphemes", "pure"),
    default_params={"backend": "auto"},
    scopes=("lang",),
    default=False,
    display={"types": Show(order=200)},
)
