"""TokenizedCorpus: the one columnar record every metric reads.

Produced only by :mod:`tokbench.tokenize` (the only caller of ``encode``), consumed by the
pure functions in :mod:`tokbench.metrics`. Everything is a flat numpy array plus
``*_offsets`` arrays (CSR layout), so a corpus of any size is a handful of arrays and
slicing by document or language is cheap.

Layout (``D`` documents, ``T`` tokens in all, ``W`` words in all):

===================  =========  ==========================================================
field                shape      meaning
===================  =========  ==========================================================
lang                 (D,)       language tag of each document (str)
doc_key              (D,)       alignment key (e.g. ``"a3.p1"``); equal keys across languages
                                 mark parallel sentences
n_bytes / n_chars    (D,)       UTF-8 bytes and Unicode code points of each document
n_words              (D,)       words by the language's declared segmenter
n_tokens             (D,)       tokens (no special tokens added)
roundtrip_ok         (D,)       decode(encode(doc)) == doc
unk_chars            (D,)       characters covered by UNK tokens
ids                  (T,)       token ids, documents concatenated
tok_offsets          (D+1,)     ``ids[tok_offsets[d]:tok_offsets[d+1]]`` are document d's
tok_nwords           (T,)       number of words each token overlaps (0 for pure space/punct.)
word_ntok            (W,)       tokens overlapping each word, in context
word_iso_ntok        (W,)       tokens of the word encoded alone (isolated fertility)
word_offsets         (D+1,)     CSR offsets of words per document
type_ids             (K,)       distinct token ids of the whole corpus, sorted (not per doc)
type_text            (K,)       each of those ids decoded ALONE (UTF-8; invalid byte
                                 sequences as U+FFFD; SentencePiece's marker as a space)
tok_start / tok_end  (T,)       each token's span in its document: UTF-8 byte offsets,
                                 document-relative (empty when not computed)
text_utf8            (B,)       the documents' UTF-8 bytes, concatenated (uint8; document
                                 d is ``n_bytes[d]`` long; empty when not kept): with the
                                 spans, what digit-run metrics read (:meth:`doc_text`)
===================  =========  ==========================================================

The ``meta`` dict carries tokenizer facts metrics need: ``vocab_size``, ``unk_ids``,
``byte_fallback_ids``, ``tokenizer``, ``tokenizer_hash``, ``corpus``, ``corpus_hash`` and
``segmenters`` (lang -> segmenter name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ARRAY_FIELDS = (
    "lang", "doc_key", "n_bytes", "n_chars", "n_words", "n_tokens", "roundtrip_ok", "unk_chars",
    "ids", "tok_offsets", "tok_nwords", "word_ntok", "word_iso_ntok", "word_offsets",
    "type_ids", "type_text", "tok_start", "tok_end", "text_utf8",
)
PER_DOC = ("lang", "doc_key", "n_bytes", "n_chars", "n_words", "n_tokens", "roundtrip_ok", "unk_chars")


@dataclass
class TokenizedCorpus:
    lang: np.ndarray
    doc_key: np.ndarray
    n_bytes: np.ndarray
    n_chars: np.ndarray
    n_words: np.ndarray
    n_tokens: np.ndarray
    roundtrip_ok: np.ndarray
    unk_chars: np.ndarray
    ids: np.ndarray
    tok_offsets: np.ndarray
    tok_nwords: np.ndarray
    word_ntok: np.ndarray
    word_iso_ntok: np.ndarray
    word_offsets: np.ndarray
    type_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    type_text: np.ndarray = field(default_factory=lambda: np.zeros(0, str))
    tok_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tok_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    text_utf8: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    meta: dict = field(default_factory=dict)

    @property
    def n_docs(self) -> int:
        return len(self.lang)

    def languages(self) -> list[str]:
        """Languages in order of first appearance."""
        seen: dict[str, None] = {}
        for lang in self.lang.tolist():
            seen.setdefault(lang, None)
        return list(seen)

    def select(self, docs: np.ndarray) -> "TokenizedCorpus":
        """A new TokenizedCorpus holding only the documents ``docs`` (indices or bool mask), in order."""
        docs = np.asarray(docs)
        if docs.dtype == bool:
            docs = np.flatnonzero(docs)
        out = {name: getattr(self, name)[docs] for name in PER_DOC}
        tok_idx, tok_off = _gather(self.tok_offsets, docs)
        word_idx, word_off = _gather(self.word_offsets, docs)
        spans = {}
        if self.has_spans:
            spans = {"tok_start": self.tok_start[tok_idx], "tok_end": self.tok_end[tok_idx]}
        if self.has_text:
            spans["text_utf8"] = self.text_utf8[_gather(self._byte_offsets(), docs)[0]]
        return TokenizedCorpus(
            **out,
            ids=self.ids[tok_idx], tok_offsets=tok_off, tok_nwords=self.tok_nwords[tok_idx],
            word_ntok=self.word_ntok[word_idx], word_iso_ntok=self.word_iso_ntok[word_idx],
            word_offsets=word_off, type_ids=self.type_ids, type_text=self.type_text, meta=dict(self.meta), **spans,
        )

    def for_lang(self, lang: str) -> "TokenizedCorpus":
        return self.select(self.lang == lang)

    def doc_ids(self, d: int) -> np.ndarray:
        return self.ids[self.tok_offsets[d]:self.tok_offsets[d + 1]]

    # --- token spans and text (kept by tokbench.tokenize; empty in hand-made corpora) ---
    @property
    def has_spans(self) -> bool:
        return len(self.tok_start) == len(self.ids) and len(self.tok_end) == len(self.ids)

    @property
    def has_text(self) -> bool:
        return len(self.text_utf8) == int(np.sum(self.n_bytes, dtype=np.int64))

    def _byte_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(np.asarray(self.n_bytes, dtype=np.int64))]).astype(np.int64)

    def doc_text(self, d: int) -> str:
        """Document ``d``'s text (needs ``text_utf8``)."""
        off = self._byte_offsets()
        return self.text_utf8[off[d]:off[d + 1]].tobytes().decode("utf-8")

    def doc_spans(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Document ``d``'s token spans: document-relative UTF-8 byte offsets (starts, ends)."""
        a, b = self.tok_offsets[d], self.tok_offsets[d + 1]
        return self.tok_start[a:b], self.tok_end[a:b]

    # --- persistence (the tokenization cache) ---------------------------------------
    def save(self, path: Path) -> None:
        """Write to ``path`` (.npz) atomically."""
        import json
        import os
        import tempfile

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        os.close(fd)
        try:
            arrays = {name: getattr(self, name) for name in ARRAY_FIELDS}
            arrays["lang"] = arrays["lang"].astype(str)
            arrays["doc_key"] = arrays["doc_key"].astype(str)
            arrays["type_text"] = arrays["type_text"].astype(str)
            np.savez(tmp, meta=np.array(json.dumps(self.meta)), **arrays)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: Path) -> "TokenizedCorpus":
        import json

        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in ARRAY_FIELDS}
            meta = json.loads(str(z["meta"]))
        return cls(**arrays, meta=meta)


def _gather(offsets: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat element indices and new CSR offsets for the selected documents."""
    starts = offsets[docs]
    lens = offsets[docs + 1] - starts
    new_off = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_off[1:])
    if new_off[-1] == 0:
        return np.zeros(0, dtype=np.int64), new_off
    # index = start_of_doc + position within doc
    rep_starts = np.repeat(starts - new_off[:-1], lens)
    idx = np.arange(new_off[-1], dtype=np.int64) + rep_starts
    return idx, new_off
