"""Sharded tokenize-and-reduce: a corpus as shards, each reduced to statistics that add up.

A shard (a byte range of a file, a few parquet row groups, a slice of an in-memory corpus) is
read in batches of bounded size (:mod:`tokbench.stream`); each batch is tokenized
(:mod:`tokbench.tokenize`) and at once reduced to every shard-level metric's statistics per
scope (each language, and ``"*"``), then dropped. Memory is bounded by the batch, the
vocabulary and the distinct words (the per-tokenizer memo of :class:`TokenizeCaches`), never by
the corpus. :class:`ShardStats` of two shards add up (:meth:`ShardStats.merge`), in shard order,
so the rows do not depend on which process reduced which shard.

Document-level metrics (``Metric.document_level``: premium, parity, nsl) need the whole corpus
or the reference tokenization. Their inputs are a few numbers per document (tokens, bytes,
characters, words, UNK characters, round trip, language, key: no token ids), kept in the
per-document table while shards merge, and they are computed once by :func:`finalize_rows`.

:func:`finalize_rows` is the only place rows of a tokenizer suite are made: the in-memory path
(:func:`reduce_tc` over one whole ``TokenizedCorpus``) and the sharded path both end there.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import numpy as np

from .corpora import Corpus
from .metrics import METRICS
from .metrics.base import APPROXIMATE_SPANS, MetricInput, Stats, merge_stats
from .schema import ALL_LANGS, finite
from .segment import segmenters_for
from .tokenized import TokenizedCorpus

SHARD_VERSION = 2  # bump when ShardStats' content changes: cached shard statistics are recomputed
DOC_COLUMNS = ("n_bytes", "n_chars", "n_words", "n_tokens", "roundtrip_ok", "unk_chars")
BATCH_BYTES = 1 << 20  # text per tokenized batch: 1 MB peaks at ~0.35 GB per worker, 4 MB at ~0.65 GB, same speed


@dataclass(frozen=True)
class ReducePlan:
    """What every shard of a (tokenizer, corpus) unit reduces to (sent to the workers)."""

    metrics: tuple[str, ...]
    metric_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    segmenters: Mapping[str, str] = field(default_factory=dict)  # declared: lang -> segmenter
    reference_name: str | None = None
    all_scope: bool = True  # compute lang = "*" (False: the corpus has one language)

    @property
    def keep_docs(self) -> bool:
        return any(METRICS[m].document_level for m in self.metrics)

    def signature(self) -> str:
        """Changes whenever the statistics of a shard would (part of the shard cache key)."""
        payload = [SHARD_VERSION, list(self.metrics), [METRICS[m].version for m in self.metrics],
                   self.metric_params, sorted(self.segmenters.items()), self.reference_name, self.all_scope]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


@dataclass
class ShardStats:
    """The additive statistics of one or more shards (see the module docstring)."""

    langs: list[str] = field(default_factory=list)  # in order of first appearance
    scopes: dict[str, dict[str, Stats]] = field(default_factory=dict)  # scope -> metric -> stats
    doc_chunks: list[tuple[list[str], dict[str, np.ndarray], list[str]]] = field(default_factory=list)
    n_docs: int = 0
    n_bytes: int = 0
    sha256: str = ""  # content hash of the shard (one shard only; set by its reader)
    meta: dict = field(default_factory=dict)  # the tokenizer's vocab_size, unk_ids, byte_fallback_ids
    facts: Any = None  # textnorm.TextFacts of the raw text read (streamed shards; None for memory shards)

    def merge(self, other: "ShardStats") -> "ShardStats":
        langs = self.langs + [lang for lang in other.langs if lang not in self.langs]
        scopes: dict[str, dict[str, Stats]] = {}
        for scope in list(self.scopes) + [s for s in other.scopes if s not in self.scopes]:
            a, b = self.scopes.get(scope, {}), other.scopes.get(scope, {})
            scopes[scope] = {m: _packed(merge_stats(_unpacked(a[m]), _unpacked(b[m]))) if m in a and m in b
                             else (a.get(m) or b[m]) for m in list(a) + [m for m in b if m not in a]}
        facts = self.facts.merge(other.facts) if self.facts is not None and other.facts is not None \
            else (self.facts if other.facts is None else other.facts)
        return ShardStats(langs=langs, scopes=scopes, doc_chunks=self.doc_chunks + other.doc_chunks,
                          n_docs=self.n_docs + other.n_docs, n_bytes=self.n_bytes + other.n_bytes,
                          meta=self.meta or other.meta, facts=facts)

    def doc_table(self) -> TokenizedCorpus:
        """The per-document table as a TokenizedCorpus without tokens (document-level metrics)."""
        lang = [chunk_langs[c] for chunk_langs, cols, _ in self.doc_chunks for c in cols["lang"].tolist()]
        cols = {k: np.concatenate([c[k] for _, c, _ in self.doc_chunks]) if self.doc_chunks else np.zeros(0, np.int64)
                for k in DOC_COLUMNS}
        keys = [k for _, _, ks in self.doc_chunks for k in ks]
        n = len(lang)
        empty = np.zeros(0, np.int64)
        return TokenizedCorpus(lang=np.asarray(lang, dtype=str), doc_key=np.asarray(keys, dtype=str), **cols,
                               ids=empty, tok_offsets=np.zeros(n + 1, np.int64), tok_nwords=empty,
                               word_ntok=empty, word_iso_ntok=empty, word_offsets=np.zeros(n + 1, np.int64),
                               meta=dict(self.meta))

    def stats(self, scope: str, metric: str) -> Stats:
        """One metric's statistics of one scope, as ``Metric.finalize`` reads them."""
        return _unpacked(self.scopes[scope][metric])


# Statistics are held packed: a vocabulary-sized array that is mostly zeros (the token
# histogram of one language) is kept as (index, value) pairs, so a shard of a 200-language
# corpus does not hold 200 dense vocabulary arrays per metric, and what a shard sends (worker ->
# driver, the shard cache) stays small. Unpacked only to add two of them and to finalize.
def _packed(st: Stats) -> Stats:
    return {k: _pack(v) for k, v in st.items()}


def _unpacked(st: Stats) -> Stats:
    return {k: _unpack(v) for k, v in st.items()}


def _pack(v: Any) -> Any:
    if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) >= 1024:
        nz = np.flatnonzero(v)
        if len(nz) * 4 < len(v):
            return ("__sparse__", len(v), v.dtype.str, nz.astype(np.int32), v[nz])
    return v


def _unpack(v: Any) -> Any:
    if isinstance(v, tuple) and len(v) == 5 and v[0] == "__sparse__":
        out = np.zeros(v[1], dtype=np.dtype(v[2]))
        out[v[3]] = v[4]
        return out
    return v


# --- reduce ------------------------------------------------------------------------------------
def _params(name: str, plan: ReducePlan, seg: str | None) -> dict[str, Any]:
    params = {"segmenter": seg, **plan.metric_params.get(name, {})}
    if METRICS[name].needs_reference:
        params["reference"] = plan.reference_name
    return params


def reduce_tc(tc: TokenizedCorpus, plan: ReducePlan) -> ShardStats:
    """The statistics of one tokenized batch (or a whole in-memory corpus)."""
    langs = tc.languages()
    segs = segmenters_for(langs, dict(plan.segmenters))
    additive = [m for m in plan.metrics if not METRICS[m].document_level]
    scopes: dict[str, dict[str, Stats]] = {}
    for lang in langs:
        sub = tc if len(langs) == 1 else tc.for_lang(lang)
        scopes[lang] = {}
        for name in additive:
            metric = METRICS[name]
            if "lang" in metric.scopes:
                params = metric.scope_params(_params(name, plan, segs[lang]), [lang])
                scopes[lang][name] = _packed(metric.stats(MetricInput(sub, params)))
    if plan.all_scope:
        scopes[ALL_LANGS] = {}
        for name in additive:
            metric = METRICS[name]
            if "all" not in metric.scopes:
                continue
            if len(langs) == 1 and name in scopes[langs[0]]:  # same documents: same statistics
                scopes[ALL_LANGS][name] = scopes[langs[0]][name]
                continue
            params = metric.scope_params(_params(name, plan, "per-language"), langs)
            scopes[ALL_LANGS][name] = _packed(metric.stats(MetricInput(tc, params)))
    out = ShardStats(langs=langs, scopes=scopes, n_docs=tc.n_docs, n_bytes=int(np.sum(tc.n_bytes, dtype=np.int64)),
                     meta={k: tc.meta[k] for k in ("vocab_size", "unk_ids", "byte_fallback_ids", "spans") if k in tc.meta})
    if plan.keep_docs:
        out.doc_chunks = documents(tc).doc_chunks
    return out


def documents(tc: TokenizedCorpus) -> ShardStats:
    """Only the per-document table of ``tc`` (a reference tokenization needs nothing else)."""
    langs = tc.languages()
    code = {lang: i for i, lang in enumerate(langs)}
    cols = {"lang": np.asarray([code[x] for x in tc.lang.tolist()], dtype=np.int16)}
    for k in DOC_COLUMNS:
        cols[k] = np.asarray(getattr(tc, k))
    return ShardStats(langs=langs, doc_chunks=[(langs, cols, [str(k) for k in tc.doc_key.tolist()])],
                      n_docs=tc.n_docs, meta=dict(tc.meta))


# --- finalize ----------------------------------------------------------------------------------
def finalize_rows(stats: ShardStats, plan: ReducePlan, reference: ShardStats | None = None) -> list[dict]:
    """Rows (without provenance columns) for every metric x variant x language (and "*")."""
    langs = stats.langs
    segs = segmenters_for(langs, dict(plan.segmenters))
    doc_tc = stats.doc_table() if plan.keep_docs else None
    ref_tc = reference.doc_table() if reference is not None and plan.keep_docs else None
    scopes = [(lang, [lang]) for lang in langs] + ([(ALL_LANGS, langs)] if len(langs) > 1 else [])
    aligned = stats.meta.get("spans") == "aligned"
    rows = []
    for scope, scope_langs in scopes:
        seg = segs[scope] if scope != ALL_LANGS else "per-language"
        sub = ref_sub = None
        for name in plan.metrics:
            metric = METRICS[name]
            if ("all" if scope == ALL_LANGS else "lang") not in metric.scopes:
                continue
            params = _params(name, plan, seg)
            if metric.document_level:
                if sub is None:
                    sub = doc_tc if scope == ALL_LANGS else doc_tc.for_lang(scope)
                    ref_sub = None if ref_tc is None else ref_tc if scope == ALL_LANGS else ref_tc.for_lang(scope)
                ref = ref_sub if metric.needs_reference else None
                values = metric.compute(MetricInput(sub, params, ref, context=doc_tc))
            else:
                values = metric.finalize(stats.stats(scope, name), metric.scope_params(params, scope_langs))
            for variant, v in values.items():
                p = {k: val for k, val in {**params, **v.params}.items() if k != "note"}
                row = {"lang": scope, "metric": name, "variant": variant, "value": finite(v.value),
                       "n": int(v.n), "params": json.dumps(p, sort_keys=True, default=str),
                       "note": v.params.get("note") or (APPROXIMATE_SPANS if aligned and metric.uses_spans else None),
                       "metric_version": metric.version}
                if v.params.get("unavailable"):
                    row["incomplete"] = v.params["unavailable"]
                rows.append(row)
    return rows


class InOrder:
    """Shard results that arrive in any order, merged in shard order (``x.merge(y)``), so the
    sums are the same whichever process finished first."""

    def __init__(self, empty: Any) -> None:
        self.result, self._next, self._waiting = empty, 0, {}

    def add(self, i: int, part: Any) -> None:
        self._waiting[i] = part
        while self._next in self._waiting:
            self.result = self.result.merge(self._waiting.pop(self._next))
            self._next += 1


# --- one shard, in a worker ----------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryShard:
    """A slice ``[start, end)`` of an in-memory corpus (its documents travel with it)."""

    corpus: str
    corpus_hash: str
    start: int
    end: int
    docs: tuple[tuple[str, str, str], ...]  # (lang, key, text)
    size: int  # UTF-8 bytes of the texts (progress)

    @property
    def id(self) -> str:
        return f"{self.corpus}[{self.start}:{self.end}]"

    def identity(self) -> list:
        return ["memory", self.corpus_hash, self.start, self.end]

    def open(self, batch_bytes: int) -> "_MemoryReader":
        return _MemoryReader(self, batch_bytes)


class _MemoryReader:
    def __init__(self, shard: MemoryShard, batch_bytes: int) -> None:
        self.shard, self.batch_bytes = shard, batch_bytes
        self.sha256 = hashlib.sha256(json.dumps(shard.identity()).encode()).hexdigest()

    def __iter__(self) -> Iterator[list[tuple[str, str, str]]]:
        batch, size = [], 0
        for doc in self.shard.docs:
            batch.append(doc)
            size += len(doc[2])
            if size >= self.batch_bytes:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch


def memory_shards(corpus: Corpus, shard_bytes: int) -> list[MemoryShard]:
    """An in-memory corpus cut into shards of about ``shard_bytes`` (characters) each."""
    out, start, size = [], 0, 0
    n = len(corpus)
    for i in range(n):
        size += len(corpus.text[i])
        if size >= shard_bytes or i == n - 1:
            docs = tuple(zip(corpus.lang[start:i + 1], corpus.key[start:i + 1], corpus.text[start:i + 1]))
            nbytes = sum(len(t.encode("utf-8")) for t in corpus.text[start:i + 1])
            out.append(MemoryShard(corpus.name, corpus.hash, start, i + 1, docs, nbytes))
            start, size = i + 1, 0
    return out


@dataclass(frozen=True)
class ShardTask:
    """One (tokenizer, shard) of a run: what a worker needs, picklable."""

    tokenizer: str
    tokenizer_hash: str
    shard: Any  # stream.Shard, MemoryShard or hubstream.HubShard (each has .id, .size, .identity())
    read: Any  # stream.ReadOptions (None for the others)
    plan: ReducePlan
    batch_bytes: int = BATCH_BYTES

    def cache_key(self) -> str:
        from .tokenize import TOKENIZE_VERSION

        # "facts": cached stats carry the raw text's facts (tokbench.textnorm) since they were added
        payload = [TOKENIZE_VERSION, self.tokenizer_hash, self.shard.identity(), repr(self.read), self.plan.signature(),
                   self.batch_bytes, "facts"]
        return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:40]


# tokenizers a worker process has built, with their memo: (name, fingerprint) -> (tokenizer, caches)
_BUILT: dict[tuple[str, str], tuple[Any, Any]] = {}


def provide_tokenizer(name: str, fingerprint: str, tok: Any) -> None:
    """Hand an already built tokenizer to in-process shard tasks (the driver's own process)."""
    from .tokenize import TokenizeCaches

    if (name, fingerprint) not in _BUILT:
        _BUILT[(name, fingerprint)] = (tok, TokenizeCaches())


def _tokenizer(name: str, fingerprint: str) -> tuple[Any, Any]:
    if (name, fingerprint) not in _BUILT:
        from .registry import get_tokenizer, resolve

        provide_tokenizer(name, fingerprint, get_tokenizer(resolve(name)))
    return _BUILT[(name, fingerprint)]


class _Normalizing:
    """A streamed shard's batches in Unicode normalisation form ``form``; ``facts``: those of
    the raw text (tokbench.textnorm), complete once iterated; ``sha256``: the raw shard's."""

    def __init__(self, reader: Any, form: str) -> None:
        from .textnorm import TextFacts

        self.reader, self.form, self.facts = reader, form, TextFacts(form)

    @property
    def sha256(self) -> str:
        return self.reader.sha256

    def __iter__(self) -> Iterator[list[tuple[str, str, str]]]:
        from .textnorm import normalize_text

        add, form = self.facts.add, self.form
        for batch in self.reader:
            for lang, _, text in batch:
                add(lang, text)
            yield batch if form == "none" else [(lang, key, normalize_text(text, form)) for lang, key, text in batch]


def shard_reader(shard: Any, read: Any, batch_bytes: int):
    """Batches of (lang, key, text) of a file shard, a MemoryShard or a HubShard; ``.sha256`` once
    read. A file or hub shard's texts come in its normalisation form (``ReadOptions.normalize``,
    ``HubShard.normalize``) and the reader has the raw text's ``facts``; a MemoryShard's corpus was
    normalised when loaded (its facts are the corpus's)."""
    if isinstance(shard, MemoryShard):
        return shard.open(batch_bytes)
    if hasattr(shard, "open"):
        return _Normalizing(shard.open(batch_bytes), getattr(shard, "normalize", "none"))
    from .stream import read_shard

    return _Normalizing(read_shard(shard, read, batch_bytes=batch_bytes), getattr(read, "normalize", "none"))


def tokenized_batches(reader: Any, name: str, segmenters: Mapping[str, str], tokenizers: list[tuple[Any, Any]]):
    """For each batch of ``reader``: its segmenters and one TokenizedCorpus per (tokenizer,
    caches) of ``tokenizers`` (the word segmentation is done once and shared)."""
    from .tokenize import _tokenize, build_prep

    for batch in reader:
        langs, keys, texts = (list(x) for x in zip(*batch))
        corpus = Corpus(name=name, lang=langs, key=keys, text=texts)
        segs = segmenters_for(corpus.langs, dict(segmenters))
        prep = build_prep(texts, langs, segs)
        yield segs, [_tokenize(tok, corpus, segs, prep=prep, caches=caches) for tok, caches in tokenizers]


def run_shard(task: ShardTask) -> ShardStats:
    """Read, tokenize and reduce one shard (in whichever process runs it)."""
    tok, caches = _tokenizer(task.tokenizer, task.tokenizer_hash)
    reader = shard_reader(task.shard, task.read, task.batch_bytes)
    acc = ShardStats()
    for _, (tc,) in tokenized_batches(reader, str(task.shard.id), task.plan.segmenters, [(tok, caches)]):
        acc = acc.merge(reduce_tc(tc, task.plan))
    acc.sha256 = reader.sha256
    acc.facts = getattr(reader, "facts", None)
    if not acc.meta:  # a shard without documents (all of another language)
        from .tokenize import tokenizer_meta

        acc.meta = tokenizer_meta(tok)
    return acc


__all__ = ["BATCH_BYTES", "InOrder", "MemoryShard", "ReducePlan", "ShardStats", "ShardTask", "finalize_rows",
           "documents", "memory_shards", "provide_tokenizer", "reduce_tc", "run_shard", "shard_reader", "tokenized_batches"]
