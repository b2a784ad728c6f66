"""SentencePiece ``.model`` files (Llama 2, Mistral SPM, XLM-R, Phi-3, Gemma ...)."""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import Backend, BaseTokenizer, backend_threads, char_to_byte, concat

MARKER = "\u2581"  # ▁, SentencePiece's whitespace symbol


class SentencePieceTokenizer(BaseTokenizer):
    def __init__(self, *, name: str, model_file: Path | None = None, model_proto: bytes | None = None):
        import sentencepiece as spm

        self.name = name
        if model_proto is not None:
            self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        else:
            self.sp = spm.SentencePieceProcessor(model_file=str(model_file))
        sp = self.sp
        n = sp.get_piece_size()
        self.vocab_size = n
        self.unk_ids = frozenset(i for i in range(n) if sp.is_unknown(i))
        self.byte_fallback_ids = frozenset(i for i in range(n) if sp.is_byte(i))
        self.special_ids = frozenset(i for i in range(n) if sp.is_control(i))
        pieces = [sp.id_to_piece(i) for i in range(n)]
        lens = np.zeros(n, dtype=np.int64)
        marker = np.zeros(n, dtype=bool)
        token_bytes: list[bytes] = []
        for i, p in enumerate(pieces):
            if i in self.byte_fallback_ids:
                lens[i] = 1
                token_bytes.append(bytes([int(p[3:5], 16)]))
            elif i in self.special_ids or i in self.unk_ids:
                lens[i] = -(10**9)  # forces the exact path for documents that contain them
                token_bytes.append(b"" if i in self.special_ids else p.replace(MARKER, " ").encode("utf-8"))
            else:
                token_bytes.append(p.replace(MARKER, " ").encode("utf-8"))
                lens[i] = len(token_bytes[-1])
                marker[i] = p.startswith(MARKER)
        self._token_bytes = token_bytes
        self._surface_len = lens
        self._starts_with_marker = marker
        from sentencepiece import sentencepiece_model_pb2 as pb

        m = pb.ModelProto()
        m.ParseFromString(sp.serialized_model_proto())
        self._dummy_prefix = bool(m.normalizer_spec.add_dummy_prefix)
        # a normaliser other than identity (XLM-R's nmt_nfkc ...) can change text lengths
        norm = m.normalizer_spec
        self._normalizes = bool(norm.precompiled_charsmap) or norm.name not in ("identity", "")
        self._threads = backend_threads()
        self._norm_chars: np.ndarray | None = None  # characters each piece spells (lazy)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.sp.encode(list(texts), num_threads=self._threads)

    def _encode_flat(self, texts: list[str]):
        try:  # sentencepiece >= 0.2.1: int32 buffers, no Python ints
            arrays = self.sp.encode(texts, return_type="numpy", num_threads=self._threads)
        except (TypeError, ValueError):
            return super()._encode_flat(texts)
        return concat(arrays)

    def _needs_exact(self, texts: list[str], candidates: np.ndarray):
        if not self._normalizes:
            return None
        # NFKC-style normalisation can grow one character and shrink another in the same
        # document (Devanagari nukta letters and ZWNJ ...), so that the lengths add up by
        # accident: such documents take the exact path. What is left (whitespace and
        # control characters removed) only shrinks text, which the length check catches.
        out = np.zeros(len(texts), dtype=bool)
        for d in np.flatnonzero(candidates).tolist():
            t = texts[d]
            out[d] = not (t.isascii() or unicodedata.is_normalized("NFKC", t))
        return out

    def _spans_given_ids(self, text: str, ids: np.ndarray):
        """Spans through sentencepiece's own normaliser: it maps each character of the
        normalised text (what the pieces spell) back to the original text, which is how
        sentencepiece computes its offsets. Much cheaper than re-encoding with offsets.
        Documents with pieces of no fixed spelling (UNK, byte fallback) are re-encoded."""
        if not self._normalizes:
            return None
        if self._norm_chars is None:
            import sentencepiece as spm

            self._normalizer = spm.SentencePieceNormalizer(model_proto=self.sp.serialized_model_proto())
            n = self.vocab_size
            chars = np.fromiter((len(self.sp.id_to_piece(i)) for i in range(n)), dtype=np.int64, count=n)
            fixed = [i for i in self.unk_ids | self.special_ids | self.byte_fallback_ids]
            chars[np.array(fixed, dtype=np.int64)] = -(10**9)
            self._norm_chars = chars
        n_chars = self._norm_chars[ids]
        if (n_chars < 0).any():
            return None
        normalized, offs = self._normalizer.normalize(text, with_offsets=True)
        if int(n_chars.sum()) != len(normalized) or len(offs) != len(normalized) + 1:
            return None
        offs = np.asarray(offs, dtype=np.int64)
        cum = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(n_chars, out=cum[1:])
        char_byte = char_to_byte(text)
        return char_byte[offs[cum[:-1]]], char_byte[offs[cum[1:]]]

    def exact_spans_batch(self, texts: list[str]):
        try:  # sentencepiece >= 0.2.1: byte offsets in the original text, in C++ threads
            out = self.sp.encode(texts, return_type="offset_mapping", return_bytes=True, num_threads=self._threads)
        except (TypeError, ValueError):
            return [self.exact_spans(t) for t in texts]
        result = []
        for r in out:
            spans = np.array(r["offsets"], dtype=np.int64).reshape(-1, 2)
            result.append((r["ids"], spans[:, 0], spans[:, 1]))
        return result

    def exact_spans(self, text: str):
        try:
            proto = self.sp.encode(text, return_type="proto")
        except (TypeError, ValueError):  # older sentencepiece
            proto = self.sp.encode(text, out_type="immutable_proto")
        ids = [p.id for p in proto.pieces]
        starts = np.array([p.begin for p in proto.pieces], dtype=np.int64)
        ends = np.array([p.end for p in proto.pieces], dtype=np.int64)
        return ids, starts, ends

    def decode(self, ids: Sequence[int]) -> str:
        return self.sp.decode(list(ids))

    def roundtrip_ok(self, texts: Sequence[str], ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        flat = ids.tolist()
        bounds = offsets.tolist()
        seqs = [flat[bounds[d]:bounds[d + 1]] for d in range(len(texts))]
        decoded = self.sp.decode(seqs, num_threads=self._threads) if seqs else []
        return np.fromiter((a == b for a, b in zip(decoded, texts)), dtype=bool, count=len(texts))

    def token_bytes(self, token_id: int) -> bytes:
        return self._token_bytes[token_id]


def build(*, name: str, files: dict[str, Path], **_: object) -> SentencePieceTokenizer:
    return SentencePieceTokenizer(name=name, model_file=files["model"])


SENTENCEPIECE = Backend("sentencepiece", "tokbench.adapters.spm:build", default_role="model", suffixes=(".model",),
                        description="a SentencePiece .model file (sentencepiece)")
