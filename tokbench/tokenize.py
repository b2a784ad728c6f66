"""Tokenize once: corpus x tokenizer -> TokenizedCorpus (the only caller of ``encode``).

Everything the metrics need is computed here in one pass and cached by content hash
(tokenizer hash, corpus hash, segmenters, TOKENIZE_VERSION), so a rerun skips encoding:

* batch encoding with token spans (``Tokenizer.encode_aligned``, the backend's fast path);
* word spans from the language's declared segmenter;
* token <-> word alignment on one corpus-wide byte axis (numpy ``searchsorted``: no Python
  loop over tokens);
* isolated encodings of each distinct word (encoded once per word type);
* round-trip decode and the characters covered by UNK tokens.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .corpora import Corpus, doc_stats
from .segment import segmenters_for, whitespace_spans, word_spans
from .tokenized import TokenizedCorpus

TOKENIZE_VERSION = 2  # 2: type_ids/type_text (each distinct id decoded alone)
BATCH_DOCS = 512
ISOLATED_CHUNK = 65536  # distinct words per isolated-encoding call


def cache_key(tokenizer_hash: str, corpus_hash: str, segmenters: dict[str, str]) -> str:
    payload = json.dumps([TOKENIZE_VERSION, tokenizer_hash, corpus_hash, sorted(segmenters.items())])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _cache_path(key: str) -> Path:
    from .assets import cache_dir

    return cache_dir() / "tokenized" / f"{key}.npz"


def tokenize_corpus(tok, corpus: Corpus, *, tokenizer_hash: str = "", segmenters: dict[str, str] | None = None,
                    use_cache: bool = True, progress: Callable[[int], None] | None = None) -> TokenizedCorpus:
    """Tokenize ``corpus`` with ``tok`` (cached when ``tokenizer_hash`` is given).

    ``tok`` is a Tokenizer, or a zero-argument callable that builds one: it is called only on a
    cache miss, so a cached rerun never loads the tokenizer at all.

    ``segmenters`` maps language -> segmenter name; languages not in it use
    :func:`tokbench.segment.default_segmenter`.
    """
    segs = segmenters_for(corpus.langs, segmenters)
    key = cache_key(tokenizer_hash, corpus.hash, segs) if tokenizer_hash else None
    if key and use_cache:
        path = _cache_path(key)
        if path.exists():
            try:
                tc = TokenizedCorpus.load(path)
                if progress:
                    progress(len(corpus))
                return tc
            except Exception:  # a damaged cache entry is recomputed, never trusted
                path.unlink(missing_ok=True)
    if not hasattr(tok, "encode_aligned"):
        tok = tok()
    tc = _tokenize(tok, corpus, segs, progress=progress)
    tc.meta.update(tokenizer=tok.name, tokenizer_hash=tokenizer_hash, corpus=corpus.name,
                   corpus_hash=corpus.hash, segmenters=segs)
    if key and use_cache:
        tc.save(_cache_path(key))
    return tc


@dataclass
class _CorpusPrep:
    """Tokenizer-independent facts of a corpus, computed once and shared by every tokenizer."""

    n_bytes: np.ndarray
    n_chars: np.ndarray
    doc_byte0: np.ndarray  # (D+1,) global byte offset of each document
    doc_char0: np.ndarray
    char_byte: np.ndarray  # (C+1,) global char -> global byte
    wstart: np.ndarray  # (W,) global byte spans of the words
    wend: np.ndarray
    w_count: np.ndarray  # (D,)
    word_types: list[str]  # distinct words
    word_type_of: np.ndarray  # (W,) index into word_types
    text_utf8: np.ndarray  # (B,) the documents' UTF-8 bytes, concatenated (TokenizedCorpus.text_utf8)


_PREP_CACHE: dict[tuple, _CorpusPrep] = {}


def corpus_prep(corpus: Corpus, segs: dict[str, str]) -> _CorpusPrep:
    """The corpus facts shared by every tokenizer of a run (cached in memory by corpus hash)."""
    key = (corpus.hash, tuple(sorted(segs.items())))
    if key in _PREP_CACHE:
        return _PREP_CACHE[key]
    prep = build_prep(corpus.text, corpus.lang, segs)
    if len(_PREP_CACHE) > 8:
        _PREP_CACHE.clear()
    _PREP_CACHE[key] = prep
    return prep


def build_prep(texts: list[str], langs: list[str], segs: dict[str, str]) -> _CorpusPrep:
    """Byte/char axes and word spans of ``texts`` (uncached: a shard's batch is seen once)."""
    n_bytes, n_chars = doc_stats(texts)
    doc_byte0 = np.concatenate([[0], np.cumsum(n_bytes)])
    doc_char0 = np.concatenate([[0], np.cumsum(n_chars)])
    # corpus-wide char -> byte map (len = total chars + 1)
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    blen = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
    char_byte = np.concatenate([[0], np.cumsum(blen)])
    # words (declared segmenter per language), as global character spans: the whitespace
    # segmenter (most languages, code) vectorized over the batch, the others by regex per document
    cs, ce = whitespace_spans(cps, doc_char0)
    del cps, blen
    other = [d for d, lang in enumerate(langs) if segs[lang] != "whitespace"]
    if other:
        keep = np.ones(len(cs), dtype=bool)
        span_doc = np.searchsorted(doc_char0, cs, side="right") - 1
        keep[np.isin(span_doc, other)] = False
        extra_s, extra_e = [cs[keep]], [ce[keep]]
        for d in other:
            s, e = word_spans(texts[d], segs[langs[d]])
            extra_s.append(doc_char0[d] + s)
            extra_e.append(doc_char0[d] + e)
        cs, ce = np.concatenate(extra_s), np.concatenate(extra_e)
        order = np.argsort(cs, kind="stable")
        cs, ce = cs[order], ce[order]
    w_count = np.diff(np.searchsorted(cs, doc_char0))
    word_types, type_of = _word_types(texts, joined, cs, ce, whitespace_only=not other)
    return _CorpusPrep(
        n_bytes=n_bytes, n_chars=n_chars, doc_byte0=doc_byte0, doc_char0=doc_char0, char_byte=char_byte,
        wstart=char_byte[cs], wend=char_byte[ce], w_count=w_count.astype(np.int64), word_types=word_types,
        word_type_of=type_of, text_utf8=np.frombuffer(joined.encode("utf-8"), dtype=np.uint8),
    )


# the code points Python's str.split() takes for spaces and the regex module's \s does not
_SPLIT_ONLY_SPACES = ("\x1c", "\x1d", "\x1e", "\x1f")


def _word_types(texts: list[str], joined: str, cs: np.ndarray, ce: np.ndarray, *,
                whitespace_only: bool) -> tuple[list[str], np.ndarray]:
    """(distinct words in order of first appearance, each word's index into them) for the
    words at global character spans ``[cs, ce)`` of ``joined``.

    When every document uses the ``whitespace`` segmenter, the words are ``str.split()`` of each
    document (C speed; the same words as the spans unless a text holds one of the four
    separator controls that ``str.split`` takes for spaces and ``\\s`` does not, in which case,
    or if the counts differ, the spans are sliced). Distinct words come from
    ``pandas.factorize`` (a C hash table) instead of a Python dict."""
    import pandas as pd

    words = None
    if whitespace_only and not any(c in joined for c in _SPLIT_ONLY_SPACES):
        words = [w for t in texts for w in t.split()]
        if len(words) != len(cs):  # pragma: no cover - the two definitions agree (tests/test_segment.py)
            words = None
    if words is None:
        words = [joined[a:b] for a, b in zip(cs.tolist(), ce.tolist())]
    codes, uniques = pd.factorize(np.array(words, dtype=object))
    return uniques.tolist(), codes.astype(np.int64, copy=False)


def _alignment(tstart: np.ndarray, tend: np.ndarray, wstart: np.ndarray,
               wend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tokens overlapping each word, words overlapping each token) as int32, on one byte axis.

    Words are sorted and disjoint. When the token spans are sorted too (every backend but odd
    native offsets), each word finds its first and last token (two binary searches per word:
    there are fewer words than tokens); otherwise each token finds its words."""
    nw, nt = len(wstart), len(tstart)
    if nt and np.all(tstart[1:] >= tstart[:-1]) and np.all(tend[1:] >= tend[:-1]):
        lo = np.searchsorted(tend, wstart, side="right")  # first token ending after the word's start
        hi = np.searchsorted(tstart, wend, side="left")  # first token starting at or after its end
        word_ntok = hi - lo
        np.maximum(word_ntok, 0, out=word_ntok)
        has = word_ntok > 0
        diff = np.bincount(lo[has], minlength=nt + 1)
        diff -= np.bincount(hi[has], minlength=nt + 1)
        return word_ntok.astype(np.int32), np.cumsum(diff[:nt]).astype(np.int32)
    first = np.searchsorted(wend, tstart, side="right")
    last = np.searchsorted(wstart, tend, side="left") - 1
    overlap = last - first  # in place from here: fresh pages cost more than the arithmetic
    overlap += 1
    np.maximum(overlap, 0, out=overlap)
    has = overlap > 0
    diff = np.bincount(first[has], minlength=nw + 1)[: nw + 1].astype(np.int64)
    diff -= np.bincount(last[has] + 1, minlength=nw + 1)[: nw + 1]
    return np.cumsum(diff)[:nw].astype(np.int32), overlap.astype(np.int32)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts end to end (int64); a single part as it is, without a copy."""
    if not parts:
        return np.zeros(0, np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _plus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` as int64, into ``a`` itself when it is an int64 array of its own (a backend's
    fresh span array)."""
    if a.dtype == np.int64 and a.base is None and a.flags.writeable:
        a += b
        return a
    return a.astype(np.int64) + b


@dataclass
class TokenizeCaches:
    """Per-tokenizer memo of a worker process, kept across the batches and shards it tokenizes:
    isolated token counts of words already seen and the decoded text of ids already seen
    (bounded: each is cleared when it outgrows ``limit`` entries)."""

    iso: dict[str, int] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)
    limit: int = 500_000


def _tokenize(tok, corpus: Corpus, segs: dict[str, str], *, progress=None, prep: _CorpusPrep | None = None,
              caches: TokenizeCaches | None = None) -> TokenizedCorpus:
    texts = corpus.text
    n_docs = len(texts)
    prep = prep or corpus_prep(corpus, segs)
    doc_byte0, doc_char0, char_byte = prep.doc_byte0, prep.doc_char0, prep.char_byte

    # 1. encode in batches, with spans
    ids_parts, off_parts, s_parts, e_parts = [], [], [], []
    base = 0
    for start in range(0, n_docs, BATCH_DOCS):
        batch = texts[start:start + BATCH_DOCS]
        al = tok.encode_aligned(batch)
        tok_doc = np.repeat(np.arange(start, start + len(batch)), np.diff(al.offsets))
        if al.unit == "byte":
            shift = doc_byte0[tok_doc]
            gs, ge = _plus(al.starts, shift), _plus(al.ends, shift)
        else:
            gs, ge = char_byte[doc_char0[tok_doc] + al.starts], char_byte[doc_char0[tok_doc] + al.ends]
        ids_parts.append(al.ids)
        off_parts.append(al.offsets[1:] + base)
        base += int(al.offsets[-1])
        s_parts.append(gs)
        e_parts.append(ge)
        if progress:
            progress(len(batch))
    ids, tstart, tend = _joined(ids_parts), _joined(s_parts), _joined(e_parts)
    tok_offsets = np.concatenate([[0], *off_parts]).astype(np.int64)
    n_tokens = np.diff(tok_offsets)
    wstart, wend, w_count = prep.wstart, prep.wend, prep.w_count
    word_offsets = np.concatenate([[0], np.cumsum(w_count)]).astype(np.int64)

    # 3. token <-> word alignment: token [s, e) and word [a, b) overlap when s < b and a < e
    word_ntok, tok_nwords = _alignment(tstart, tend, wstart, wend)

    # 4. isolated encodings: each distinct word type once
    types = prep.word_types
    iso_counts = np.zeros(len(types), np.int32)
    memo = caches.iso if caches is not None else {}
    if caches is not None and len(memo) > caches.limit:
        memo.clear()
    if types:
        get = memo.get
        iso_counts[:] = [get(w, -1) for w in types] if memo else -1
        todo = np.flatnonzero(iso_counts < 0).tolist()
        counts_of = getattr(tok, "isolated_counts", None) or (lambda ws: [len(e) for e in tok.encode_batch(ws)])
        for start in range(0, len(todo), ISOLATED_CHUNK):
            where = todo[start:start + ISOLATED_CHUNK]
            chunk = [types[i] for i in where]
            counts = np.asarray(counts_of(chunk), dtype=np.int64)
            iso_counts[where] = counts
            memo.update(zip(chunk, counts.tolist()))
    word_iso_ntok = iso_counts[prep.word_type_of] if len(types) else np.zeros(0, np.int32)

    # 5. round trip and UNK coverage
    if hasattr(tok, "roundtrip_ok"):
        roundtrip_ok = tok.roundtrip_ok(texts, ids, tok_offsets)
    else:
        roundtrip_ok = np.fromiter((tok.decode(ids[tok_offsets[d]:tok_offsets[d + 1]].tolist()) == texts[d]
                                    for d in range(n_docs)), dtype=bool, count=n_docs)
    unk_chars = np.zeros(n_docs, np.int64)
    if tok.unk_ids and len(ids):
        is_unk = np.isin(ids, np.fromiter(tok.unk_ids, np.int64))
        if is_unk.any():
            covered = (np.searchsorted(char_byte, tend[is_unk], side="left")
                       - np.searchsorted(char_byte, tstart[is_unk], side="left"))
            tok_doc = np.repeat(np.arange(n_docs), n_tokens)
            np.add.at(unk_chars, tok_doc[is_unk], covered)

    # 6. each distinct id decoded alone (for lexicon-based metrics such as %LANG / %Pure)
    type_ids = np.flatnonzero(np.bincount(ids)) if len(ids) else np.zeros(0, np.int64)  # sorted distinct ids
    texts_of = caches.text if caches is not None else {}
    if caches is not None and len(texts_of) > caches.limit:
        texts_of.clear()
    for i in type_ids.tolist():
        if i not in texts_of:
            texts_of[i] = tok.token_bytes(int(i)).decode("utf-8", errors="replace")
    type_text = np.asarray([texts_of[i] for i in type_ids.tolist()], dtype=str) if len(type_ids) else np.zeros(0, str)

    # 7. document-relative token spans (with prep.text_utf8: what digit-run metrics read)
    shift = doc_byte0[np.repeat(np.arange(n_docs), n_tokens)]

    return TokenizedCorpus(
        tok_start=tstart - shift, tok_end=tend - shift,
        text_utf8=prep.text_utf8,
        type_ids=type_ids, type_text=type_text,
        lang=np.asarray(corpus.lang, dtype=str), doc_key=np.asarray(corpus.key, dtype=str),
        n_bytes=prep.n_bytes, n_chars=prep.n_chars, n_words=w_count, n_tokens=n_tokens,
        roundtrip_ok=roundtrip_ok, unk_chars=unk_chars,
        ids=ids, tok_offsets=tok_offsets, tok_nwords=tok_nwords,
        word_ntok=word_ntok, word_iso_ntok=word_iso_ntok, word_offsets=word_offsets,
        meta=tokenizer_meta(tok),
    )


def tokenizer_meta(tok) -> dict:
    """The tokenizer facts metrics read from ``TokenizedCorpus.meta`` (and ``extra_meta`` of a
    backend that has one: the python backend's ``spans`` and ``invertible``)."""
    return {"vocab_size": int(tok.vocab_size), "unk_ids": sorted(int(i) for i in tok.unk_ids),
            "byte_fallback_ids": sorted(int(i) for i in tok.byte_fallback_ids), **getattr(tok, "extra_meta", {})}


__all__ = ["tokenize_corpus", "corpus_prep", "build_prep", "cache_key", "TokenizeCaches", "TOKENIZE_VERSION",
           "tokenizer_meta"]
