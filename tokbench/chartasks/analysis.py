"""Tokenizer-side analysis of character-level items (no model).

Each word is encoded alone (``tok.encode_aligned([word, ...])``, no leading space). For the
item's queried character (``query_index``, see ``generate.py``):

* ``tokens``: tokens in the word (every token, including a lone SentencePiece "▁");
* the *holding token*: the token whose byte span contains the character's first byte;
* ``token_len``: the holding token's length in characters = characters whose bytes overlap
  its byte span (a token that holds part of a multi-byte character counts that character);
* ``pos_in_token``: the queried character's index among those characters (0 = first);
* ``starts_token``: the holding token starts exactly at the character's first byte;
* ``inside_multichar``: ``token_len > 1``;
* ``char_split``: the character's bytes are spread over more than one token (byte-level BPE
  on non-ASCII letters).

Aggregates per (lang, family) are long-format rows (metric, variant, value, n, params, lang).
"""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from ..adapters.base import char_to_byte

ANALYSIS_VERSION = 1

METRICS = {
    # metric: (per-item field, description)
    "char_task_inside_multichar": ("inside_multichar", "share of queried characters inside a multi-character token"),
    "char_task_token_len": ("token_len", "mean length in characters of the token holding the queried character"),
    "char_task_pos_in_token": ("pos_in_token", "mean 0-based position of the queried character in its token"),
    "char_task_starts_token": ("starts_token", "share of queried characters that start a token"),
    "char_task_char_split": ("char_split", "share of queried characters split over several tokens"),
}


def word_spans(tok, words: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """word -> (ids, byte starts, byte ends) of the word encoded alone."""
    uniq = list(dict.fromkeys(words))
    al = tok.encode_aligned(uniq)
    out = {}
    for d, w in enumerate(uniq):
        a, b = al.offsets[d], al.offsets[d + 1]
        s, e = al.starts[a:b].astype(np.int64), al.ends[a:b].astype(np.int64)
        if al.unit == "char":
            c2b = char_to_byte(w)
            s, e = c2b[s], c2b[e]
        out[w] = (al.ids[a:b], s, e)
    return out


def analyse_word(word: str, spans, query_index: int | None) -> dict:
    ids, s, e = spans
    rec = {"tokens": int(len(ids))}
    if query_index is None:
        return rec
    c2b = char_to_byte(word)
    cb, ce = int(c2b[query_index]), int(c2b[query_index + 1])
    hold = np.flatnonzero((s <= cb) & (cb < e))
    if len(hold) == 0:  # no token covers the character (should not happen for exact spans)
        rec.update(token_len=None, pos_in_token=None, starts_token=None, inside_multichar=None, char_split=None)
        return rec
    t = int(hold[0])
    ts, te = int(s[t]), int(e[t])
    # characters whose byte range [c2b[k], c2b[k+1]) overlaps the token's [ts, te)
    overlap = np.flatnonzero((c2b[:-1] < te) & (c2b[1:] > ts))
    token_len = int(len(overlap))
    covering = np.flatnonzero((s < ce) & (e > cb) & (e > s))
    rec.update(token_len=token_len, pos_in_token=int(query_index - overlap[0]), starts_token=ts == cb,
               inside_multichar=token_len > 1, char_split=len(covering) > 1)
    return rec


def analyse_items(tok, items: list[dict]) -> list[dict]:
    """One record per item: id, lang, family, query_index and the fields above."""
    spans = word_spans(tok, [it["word"] for it in items])
    return [{"id": it["id"], "lang": it["lang"], "family": it["family"], "query_index": it.get("query_index"),
             **analyse_word(it["word"], spans[it["word"]], it.get("query_index"))} for it in items]


def aggregate(records: list[dict], params: dict | None = None) -> list[dict]:
    """Long-format rows per (lang, family) -- and ``char_task_tokens_per_word`` also per lang
    over its distinct words (variant ``all``)."""
    params = dict(params or {}, analysis_version=ANALYSIS_VERSION)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["lang"], r["family"])].append(r)
    rows = []

    def row(lang, metric, variant, value, n, **extra):
        rows.append({"lang": lang, "metric": metric, "variant": variant, "value": float(value), "n": int(n),
                     "params": json.dumps({**params, **extra}, sort_keys=True, ensure_ascii=False)})

    for (lang, fam), recs in sorted(groups.items()):
        row(lang, "char_task_tokens_per_word", fam, np.mean([r["tokens"] for r in recs]), len(recs),
            denominator="items")
        q = [r for r in recs if r.get("token_len") is not None]
        if not q:
            continue
        for metric, (field, _) in METRICS.items():
            row(lang, metric, fam, np.mean([float(r[field]) for r in q]), len(q), denominator="items with a queried char")
    return rows


def aggregate_words(word_tokens: dict[str, dict[str, int]], params: dict | None = None) -> list[dict]:
    """``char_task_tokens_per_word`` variant ``all``: mean over each language's distinct words."""
    params = dict(params or {}, analysis_version=ANALYSIS_VERSION, denominator="distinct words")
    return [{"lang": lang, "metric": "char_task_tokens_per_word", "variant": "all",
             "value": float(np.mean(list(wt.values()))), "n": len(wt),
             "params": json.dumps(params, sort_keys=True, ensure_ascii=False)}
            for lang, wt in sorted(word_tokens.items())]


def analyse(tok, items: list[dict], params: dict | None = None) -> list[dict]:
    """Per-item analysis, then every aggregate row (per family and per language)."""
    spans = word_spans(tok, [it["word"] for it in items])
    records, words = [], defaultdict(dict)
    for it in items:
        sp = spans[it["word"]]
        records.append({"id": it["id"], "lang": it["lang"], "family": it["family"],
                        **analyse_word(it["word"], sp, it.get("query_index"))})
        words[it["lang"]][it["word"]] = len(sp[0])
    return aggregate(records, params) + aggregate_words(words, params)
