"""ByT5-style byte tokenizer: ids are UTF-8 bytes shifted by the special ids before them.

ByT5's vocabulary is pad=0, eos=1, unk=2, then the 256 bytes (3..258), then 125 extra ids:
384 in all. Exact by construction; tests compare it with transformers' ByT5Tokenizer.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Aligned, Backend, BaseTokenizer, utf8_len


class ByteTokenizer(BaseTokenizer):
    def __init__(self, *, name: str = "byt5", offset: int = 3, extra_ids: int = 125):
        self.name = name
        self.offset = offset
        self.vocab_size = offset + 256 + extra_ids
        self.special_ids = frozenset(range(offset)) | frozenset(range(offset + 256, self.vocab_size))
        self.unk_ids = frozenset({2}) if offset >= 3 else frozenset()
        lens = np.zeros(self.vocab_size, dtype=np.int64)
        lens[offset:offset + 256] = 1
        self._surface_len = lens

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        off = self.offset
        return [[b + off for b in t.encode("utf-8")] for t in texts]

    def encode_aligned(self, texts: Sequence[str]) -> Aligned:
        texts = list(texts)
        data = "".join(texts).encode("utf-8")
        ids = np.frombuffer(data, dtype=np.uint8).astype(np.int64) + self.offset
        lens = utf8_len(texts)
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        starts = np.arange(len(ids), dtype=np.int64) - np.repeat(offsets[:-1], lens)
        return Aligned(ids=ids, offsets=offsets, starts=starts, ends=starts + 1, unit="byte")

    def decode(self, ids: Sequence[int]) -> str:
        off = self.offset
        return bytes(i - off for i in ids if off <= i < off + 256).decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        if self.offset <= token_id < self.offset + 256:
            return bytes([token_id - self.offset])
        return b""


def build(*, name: str, **_: object) -> ByteTokenizer:
    return ByteTokenizer(name=name)


BYTE = Backend("byte", "tokbench.adapters.byte:build",
               description="ByT5-style UTF-8 byte tokenizer (no files)")
