"""Scoring a corpus in chunks, each cached as soon as it is scored (resume for model suites).

A (model, corpus) scoring unit cuts its documents into chunks of about ``chunk_bytes`` of text
(in corpus order; at least one document each) and scores them one after the other through
:func:`tokbench.lm.score.score_documents`. Each chunk's per-document scores are written
atomically to ``<cache>/scores/`` under the unit's ``config_hash`` (model identity, protocol,
corpus hash, library versions) and the chunk's document range, so a run killed on a large
corpus restarts at the first chunk it had not finished, and its rows equal an uninterrupted
run's (the rows are sums over documents). A corpus of one chunk is scored exactly as before
(one lm-eval task).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

CHUNK_BYTES = 4 << 20


def chunk_bounds(texts: list[str], chunk_bytes: int = CHUNK_BYTES) -> list[tuple[int, int]]:
    """``[start, end)`` document ranges of about ``chunk_bytes`` UTF-8 bytes each.

    >>> chunk_bounds(["aa", "bb", "cc"], chunk_bytes=4)
    [(0, 2), (2, 3)]
    """
    out, start, size = [], 0, 0
    for i, t in enumerate(texts):
        size += len(t.encode("utf-8"))
        if size >= chunk_bytes:
            out.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(texts):
        out.append((start, len(texts)))
    return out


def _path(config_hash: str, start: int, end: int, chunk_bytes: int) -> Path:
    from .. import cachefiles

    key = hashlib.sha256(json.dumps([config_hash, start, end, chunk_bytes]).encode()).hexdigest()[:40]
    return cachefiles.entry("scores", key)


def score_in_chunks(score: Callable[[list[str], list[str], str], Any], texts: list[str], langs: list[str], *,
                    config_hash: str, label: str, use_cache: bool = True, reuse: bool = True,
                    chunk_bytes: int = CHUNK_BYTES, progress: Callable[[int], Any] | None = None):
    """The Scores of every document: ``score(texts, langs, label)`` per chunk not yet cached.
    ``use_cache``: write (and read) the chunk cache; ``reuse=False`` (``--force``): rescore every
    chunk, still writing it."""
    from .. import cachefiles
    from .score import DocScore, Scores

    bounds = chunk_bounds(texts, chunk_bytes)
    docs, parts = [], []
    for i, (a, b) in enumerate(bounds):
        path = _path(config_hash, a, b, chunk_bytes)
        got = cachefiles.load(path, Scores, types=(DocScore,)) if use_cache and reuse else None
        if got is None:
            got = score(texts[a:b], langs[a:b], label if len(bounds) == 1 else f"{label}_c{i}")
            if use_cache:
                cachefiles.save(path, got)
        docs.extend(got.docs)
        parts.append(got)
        if progress:
            progress(b - a)
    protocol = dict(parts[0].protocol)
    if len(parts) > 1:  # lm-eval's own aggregate, recombined: byte-weighted over the chunks
        weights = [p._sum("bytes") for p in parts]
        protocol["lm_eval_bits_per_byte"] = sum(p.protocol["lm_eval_bits_per_byte"] * w
                                                for p, w in zip(parts, weights)) / sum(weights)
        protocol["lm_eval_task"] = f"{protocol['lm_eval_task']} (+{len(parts) - 1} chunks)"
        protocol["chunks"] = len(parts)
    return Scores(docs, protocol)


__all__ = ["CHUNK_BYTES", "chunk_bounds", "score_in_chunks"]
