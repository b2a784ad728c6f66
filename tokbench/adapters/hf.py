"""Hugging Face tokenizers: a ``tokenizer.json`` file (``tokenizers``), or a transformers
directory / hub id (``AutoTokenizer``, for online users and local checkpoints)."""
from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import Aligned, Backend, BaseTokenizer, char_to_byte


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for every byte (the byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


@functools.lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of ``bytes_to_unicode``."""
    return {c: b for b, c in bytes_to_unicode().items()}


def _is_noop_normalizer(norm) -> bool:
    return not norm or (norm.get("type") == "Sequence" and all(_is_noop_normalizer(n) for n in norm.get("normalizers", [])))


class HFJsonTokenizer(BaseTokenizer):
    def __init__(self, *, name: str, tokenizer_file: Path | None = None, tokenizer=None):
        from tokenizers import Tokenizer

        self.name = name
        self.tk = tokenizer if tokenizer is not None else Tokenizer.from_file(str(tokenizer_file))
        self.tk.no_padding()
        self.tk.no_truncation()
        self.vocab_size = self.tk.get_vocab_size(with_added_tokens=True)
        vocab = self.tk.get_vocab(with_added_tokens=True)
        self._id_to_token = {i: t for t, i in vocab.items()}
        added = self.tk.get_added_tokens_decoder()
        self.special_ids = frozenset(i for i, t in added.items() if t.special)
        model = self.tk.model
        unk = getattr(model, "unk_token", None)
        unk_id = vocab.get(unk) if unk else None
        self.unk_ids = frozenset({unk_id}) if unk_id is not None else frozenset()
        self.byte_fallback_ids = frozenset()
        if getattr(model, "byte_fallback", False):
            self.byte_fallback_ids = frozenset(i for t, i in vocab.items()
                                               if len(t) == 6 and t.startswith("<0x") and t.endswith(">"))
        import json

        cfg = json.loads(self.tk.to_str())
        self._byte_level = "ByteLevel" in json.dumps(cfg.get("decoder") or {})
        self._surface_len = None
        if self._byte_level and _is_noop_normalizer(cfg.get("normalizer")) \
                and "ByteLevel" in json.dumps(cfg.get("pre_tokenizer") or {}) and cfg["model"]["type"] == "BPE":
            self._surface_len = self._byte_level_lengths(added)

    def _byte_level_lengths(self, added) -> np.ndarray:
        """UTF-8 length each token contributes to the text, for byte-level BPE without a
        normaliser: a model token is one byte per character of its byte-level string, an
        added token its literal content. Tokens whose length is unknown get a large negative
        value, which sends their documents to the exact (native offsets) path."""
        table = _byte_decoder()
        lens = np.full(self.vocab_size, -(10**9), dtype=np.int64)
        model_vocab = self.tk.get_vocab(with_added_tokens=False)
        for tok, i in model_vocab.items():
            if i < len(lens) and all(c in table for c in tok):
                lens[i] = len(tok)
        for i, t in added.items():
            # an added token matches its literal content (also one the model vocabulary holds in
            # plain form, such as gpt-neox's runs of spaces), unless the model has it byte-level
            if i < len(lens) and lens[i] < 0:
                lens[i] = len(t.content.encode("utf-8"))
        return lens

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        fast = getattr(self.tk, "encode_batch_fast", self.tk.encode_batch)
        return [e.ids for e in fast(list(texts), add_special_tokens=False)]

    def encode_aligned(self, texts: Sequence[str]) -> Aligned:
        if self._surface_len is not None:
            # byte-level BPE: byte spans from token lengths (no offsets from the Rust side,
            # which cost more than the encoding); documents whose lengths do not add up
            # (added tokens that strip whitespace ...) take the exact path
            return BaseTokenizer.encode_aligned(self, texts)
        encs = self.tk.encode_batch(list(texts), add_special_tokens=False)
        lens = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        offsets = np.zeros(len(encs) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        total = int(offsets[-1])
        chain = itertools.chain.from_iterable
        ids = np.fromiter(chain(e.ids for e in encs), dtype=np.int64, count=total)
        spans = np.fromiter(chain(chain(e.offsets for e in encs)), dtype=np.int64, count=2 * total)
        return Aligned(ids=ids, offsets=offsets, starts=spans[0::2], ends=spans[1::2], unit="char")

    def exact_spans_batch(self, texts: list[str]):
        """Byte spans from the native (character) offsets."""
        out = []
        for text, e in zip(texts, self.tk.encode_batch(texts, add_special_tokens=False)):
            char_byte = char_to_byte(text)
            spans = np.array(e.offsets, dtype=np.int64).reshape(-1, 2)
            out.append((e.ids, char_byte[spans[:, 0]], char_byte[spans[:, 1]]))
        return out

    def exact_spans(self, text: str):
        return self.exact_spans_batch([text])[0]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tk.decode(list(ids), skip_special_tokens=False)

    def roundtrip_ok(self, texts: Sequence[str], ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        flat = ids.tolist()
        bounds = offsets.tolist()
        seqs = [flat[bounds[d]:bounds[d + 1]] for d in range(len(texts))]
        decoded = self.tk.decode_batch(seqs, skip_special_tokens=False) if seqs else []
        return np.fromiter((a == b for a, b in zip(decoded, texts)), dtype=bool, count=len(texts))

    def token_bytes(self, token_id: int) -> bytes:
        tok = self._id_to_token.get(token_id, "")
        if token_id in self.special_ids:
            return b""
        if token_id in self.byte_fallback_ids:
            return bytes([int(tok[3:5], 16)])
        if self._byte_level:
            table = _byte_decoder()
            if all(c in table for c in tok):
                return bytes(table[c] for c in tok)
        return self.tk.decode([token_id], skip_special_tokens=False).encode("utf-8")


class TransformersTokenizer(BaseTokenizer):
    """``transformers.AutoTokenizer`` from a local directory or a hub id (needs the network
    for hub ids). ``trust_remote_code`` stays off."""

    def __init__(self, *, name: str, path_or_id: str, gguf_file: str | None = None):
        try:
            from transformers import AutoTokenizer
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("the transformers backend needs `pip install tokbench[hf]` (transformers)") from e
        self.name = name
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        self.tk = AutoTokenizer.from_pretrained(path_or_id, **kwargs)
        self.vocab_size = len(self.tk)
        self.special_ids = frozenset(self.tk.all_special_ids)
        unk = self.tk.unk_token_id
        self.unk_ids = frozenset({unk}) if unk is not None else frozenset()
        self.byte_fallback_ids = frozenset()

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tk(list(texts), add_special_tokens=False)["input_ids"]

    def encode_aligned(self, texts: Sequence[str]) -> Aligned:
        if not getattr(self.tk, "is_fast", False):
            raise NotImplementedError(f"{self.name}: a slow (Python) tokenizer gives no offsets")
        out = self.tk(list(texts), add_special_tokens=False, return_offsets_mapping=True)
        ids_list, offs = out["input_ids"], out["offset_mapping"]
        lens = np.fromiter((len(x) for x in ids_list), dtype=np.int64, count=len(ids_list))
        offsets = np.zeros(len(ids_list) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        ids = np.array([i for x in ids_list for i in x], dtype=np.int64)
        spans = np.array([s for o in offs for s in o], dtype=np.int64).reshape(-1, 2)
        return Aligned(ids=ids, offsets=offsets, starts=spans[:, 0], ends=spans[:, 1], unit="char")

    def decode(self, ids: Sequence[int]) -> str:
        return self.tk.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def token_bytes(self, token_id: int) -> bytes:
        return self.tk.decode([token_id], skip_special_tokens=False,
                              clean_up_tokenization_spaces=False).encode("utf-8")


def build_json(*, name: str, files: dict[str, Path], **_: object) -> HFJsonTokenizer:
    path = files["tokenizer"]
    try:
        return HFJsonTokenizer(name=name, tokenizer_file=path)
    except Exception as e:  # tokenizers raises a bare Exception for JSON that is not a tokenizer
        if type(e).__name__ == "Exception" or isinstance(e, ValueError):
            raise ValueError(f"{path} is not a Hugging Face tokenizer.json that the `tokenizers` library can read "
                             f"({e})") from e
        raise


def build_transformers(*, name: str, files: dict[str, Path], hub_id: str | None = None,
                       gguf_file: str | None = None, **_: object) -> TransformersTokenizer:
    target = str(files["dir"]) if "dir" in files else hub_id
    if not target:
        raise ValueError(f"tokenizer {name!r}: the transformers backend needs a `path` (directory) or `hub_id`")
    return TransformersTokenizer(name=name, path_or_id=target, gguf_file=gguf_file)


HF_JSON = Backend("hf_json", "tokbench.adapters.hf:build_json", default_role="tokenizer", suffixes=(".json",),
                  description="a Hugging Face tokenizer.json file (tokenizers)")
TRANSFORMERS = Backend("transformers", "tokbench.adapters.hf:build_transformers", default_role="dir", suffixes=("/",),
                       spec_fields=("hub_id", "gguf_file"), hf_export="transformers",
                       description="a transformers tokenizer directory or hub id (AutoTokenizer)")
