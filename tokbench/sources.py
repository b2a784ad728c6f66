"""A suite's corpus as shards, planned without reading the text.

``file`` corpora stream (:mod:`tokbench.stream`): a file, a directory or a glob of .txt /
.jsonl / .parquet files (optionally .gz / .zst), cut into shards of about ``shard_bytes``.
Their corpus hash is made of the shards' content hashes, which are computed while the shards
are read; the shard manifest (``<cache>/shards/manifest/``) remembers each shard's hash under
its file's path, size and modification time, so a rerun over unchanged files knows the corpus
hash, and so which rows are already stored, without reading the data again.

``hub`` corpora with ``streaming = true`` stream too (:mod:`tokbench.hubstream`: one shard per
data file of the dataset, identified by hub id, config, split, data files and revision).

``udhr`` and other ``hub`` corpora, and any corpus cut by ``max_docs_per_lang`` / ``--limit-docs``
(the first N documents of each language need the whole order), are loaded into memory and cut
into :class:`tokbench.sharded.MemoryShard` s; their corpus hash is ``Corpus.hash``.

Unicode normalisation (``normalize``, :mod:`tokbench.textnorm`): an in-memory corpus is
normalised when loaded (its hash is that of the normalised text, its raw text's facts are
known at once); a streamed one is normalised by the shard task as it reads
(:func:`tokbench.sharded.shard_reader`), its facts come with its shards, and its hash, made of
the raw shards' hashes, names the form.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARD_BYTES = 64 << 20


@dataclass
class CorpusSource:
    name: str
    shards: list[Any]  # stream.Shard or sharded.MemoryShard, in corpus order
    read: Any  # stream.ReadOptions (None for memory shards)
    hash: str | None  # None: a file corpus whose shards have not all been read yet
    langs: list[str] | None  # known languages (None: found while reading)
    size: int  # bytes, for progress
    normalize: str = "none"  # the Unicode normalisation form of the text that is tokenized
    facts: Any = None  # textnorm.TextFacts of the raw text when known before reading (in-memory corpora)

    @property
    def one_language(self) -> bool:
        """Known to hold a single language (no ``"*"`` scope to compute)."""
        return bool(self.langs) and len(self.langs) == 1

    def corpus_hash(self, shard_hashes: list[str]) -> str:
        if self.hash:
            return self.hash
        from .stream import corpus_hash

        return corpus_hash(self.shards, shard_hashes, self.normalize)


def _manifest_path(shard: Any, read: Any) -> Path:
    from .assets import cache_dir

    ident = json.dumps([*shard.identity(), repr(read)])
    return cache_dir() / "shards" / "manifest" / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.txt"


def remember_shard_hash(shard: Any, read: Any, sha256: str) -> None:
    """Record a file shard's content hash under its file's path, size and mtime (and the read
    options: a parquet shard's hash covers the columns they select)."""
    from .cachefiles import save_text

    save_text(_manifest_path(shard, read), sha256)


def known_shard_hash(shard: Any, read: Any) -> str | None:
    try:
        text = _manifest_path(shard, read).read_text().strip()
    except OSError:
        return None
    return text if len(text) == 64 else None


def streams(spec: Any, limit_docs: int | None = None) -> bool:
    """Whether a ``[corpora.NAME]`` entry streams in shards (else it is loaded into memory)."""
    return (spec.source == "file" or (spec.source == "hub" and spec.streaming)) \
        and not (limit_docs or spec.max_docs_per_lang)


def corpus_source(name: str, spec: Any, *, base_dir: Path | None, limit_docs: int | None = None,
                  shard_bytes: int = SHARD_BYTES) -> CorpusSource:
    """Plan the shards of a suite's ``[corpora.NAME]`` entry (CorpusError on bad input)."""
    from .corpora import load_corpus
    from .sharded import memory_shards

    if streams(spec, limit_docs):
        if spec.source == "file":
            from .stream import ReadOptions, plan_shards

            read = ReadOptions(lang=spec.lang, lang_field=spec.lang_field, text_field=spec.text_field,
                               key_field=spec.key_field, langs=tuple(spec.langs), normalize=spec.normalize_form)
            shards = plan_shards(spec.path, fmt=spec.format, base_dir=base_dir, shard_bytes=shard_bytes, opts=read)
        else:
            from .hubstream import plan_hub_shards

            read, shards = None, plan_hub_shards(spec)
        hashes = [known_shard_hash(s, read) for s in shards]
        if spec.source == "file" and any(h is None for h in hashes) and sum(s.size for s in shards) <= shard_bytes:
            hashes = _check_whole(name, spec.path, shards, read)
        langs = [spec.lang] if spec.lang else (list(spec.langs) or None)
        src = CorpusSource(name, shards, read, None, langs, sum(s.size for s in shards), spec.normalize_form)
        if all(h is not None for h in hashes):
            src.hash = src.corpus_hash(hashes)
        return src
    corpus = load_corpus(name, spec, base_dir=base_dir, limit_docs=limit_docs)
    shards = memory_shards(corpus, shard_bytes)
    return CorpusSource(name, shards, None, corpus.hash, corpus.langs, sum(s.size for s in shards),
                        spec.normalize_form, corpus.facts)


def _check_whole(name: str, path: str, shards: list[Any], read: Any) -> list[str]:
    """Read a small file corpus (one shard's worth) once before any work, so that bad text is
    bad input (exit 2) and not a failing unit; its shard hashes come with it. A larger corpus
    is checked as it streams (a bad shard fails its unit, exit 1: docs/scale.md)."""
    from .errors import CorpusError
    from .stream import read_shard

    hashes, docs = [], 0
    for shard in shards:
        reader = read_shard(shard, read)
        for batch in reader:
            docs += len(batch)
        hashes.append(reader.sha256)
        remember_shard_hash(shard, read, reader.sha256)
    if not docs:
        raise CorpusError(f"corpus {name!r} ({path}) is empty: it has no documents")
    return hashes


__all__ = ["SHARD_BYTES", "CorpusSource", "corpus_source", "known_shard_hash", "remember_shard_hash", "streams"]
