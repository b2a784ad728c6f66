"""tiktoken-format BPE tokenizers: OpenAI encodings, Llama 3, Qwen, Mistral Tekken.

OpenAI encodings (``encoding = "cl100k_base"`` ...) are built by tiktoken itself from the
pinned cache file, so tiktoken's own pattern, special tokens and expected-hash check apply.
Other tiktoken-format vocabularies need an explicit ``pattern`` in the registry entry.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import Backend, BaseTokenizer, backend_threads, concat

# tiktoken_ext.openai_public downloads these URLs; tiktoken caches each under sha1(url).
_OPENAI_URLS = {
    "r50k_base": "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "p50k_base": "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
}


def openai_encoding(encoding: str, ranks_file: Path):
    """tiktoken's own ``get_encoding(encoding)``, served from a pinned local ranks file."""
    import tiktoken

    if encoding not in _OPENAI_URLS:
        raise ValueError(f"unknown OpenAI encoding {encoding!r}; known: {', '.join(_OPENAI_URLS)}")
    from ..assets import cache_dir

    tk_cache = cache_dir() / "tiktoken"
    tk_cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(_OPENAI_URLS[encoding].encode()).hexdigest()
    target = tk_cache / key
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(Path(ranks_file).read_bytes())
        os.replace(tmp, target)
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(tk_cache)
    try:
        # never let tiktoken go to the network: read_file_cached finds the file in the cache
        # and checks tiktoken's expected hash itself.
        return tiktoken.Encoding(**_constructor(encoding))
    finally:
        if old is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


def _constructor(encoding: str) -> dict:
    from tiktoken_ext import openai_public

    return getattr(openai_public, encoding)()


def load_ranks(path: Path) -> dict[bytes, int]:
    ranks = {}
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def tekken_ranks(path: Path) -> tuple[dict[bytes, int], str, int]:
    """Mistral Tekken JSON -> (ranks over the inner vocab, pattern, number of special ids first)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    cfg = data["config"]
    n_special = int(cfg.get("default_num_special_tokens", len(data.get("special_tokens", []))))
    inner = int(cfg["default_vocab_size"]) - n_special
    ranks = {base64.b64decode(v["token_bytes"]): int(v["rank"]) for v in data["vocab"][:inner]}
    return ranks, cfg["pattern"], n_special


# Pre-tokenizer patterns under which words joined by _SEP encode as each word alone
# (TiktokenTokenizer.isolated_counts; checked word by word in tests/test_tokenize.py): tiktoken's
# r50k/p50k (gpt2), cl100k_base and o200k_base patterns as tiktoken 0.7+ writes them, and the
# Llama 3 and Qwen2.5 patterns of the registry.
_SEP = "\t\n"
SEPARABLE_PATTERNS = frozenset({
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
})


class TiktokenTokenizer(BaseTokenizer):
    """A tiktoken Encoding; ``id_offset`` shifts ids (Tekken puts its special ids first)."""

    def __init__(self, *, name: str, encoding, n_special: int = 0, id_offset: int = 0):
        self.name = name
        self.enc = encoding
        self.id_offset = id_offset
        n_ranks = encoding.max_token_value + 1 - len(encoding._special_tokens)
        specials = set(encoding._special_tokens.values())
        self.vocab_size = max(encoding.max_token_value + 1, n_ranks + n_special) + id_offset
        extra = range(encoding.max_token_value + 1, n_ranks + n_special) if n_special else ()
        self.special_ids = frozenset({i + id_offset for i in specials} | {i + id_offset for i in extra}
                                     | set(range(id_offset)))
        lens = np.zeros(self.vocab_size, dtype=np.int64)
        for tok, rank in encoding._mergeable_ranks.items():
            lens[rank + id_offset] = len(tok)
        self._surface_len = lens
        self._threads = backend_threads()

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        texts = list(texts)
        if sum(map(len, texts)) < 256 * len(texts):
            # many short texts (isolated words): a thread-pool task per text costs more than
            # the encoding itself, so encode them in this thread
            enc = self.enc.encode_ordinary
            out = [enc(t) for t in texts]
        else:
            out = self.enc.encode_ordinary_batch(texts, num_threads=self._threads)
        if self.id_offset:
            out = [[i + self.id_offset for i in ids] for ids in out]
        return out

    def _buffer_core(self):
        """tiktoken's CoreBPE for ``encode_to_tiktoken_buffer`` (None if this tiktoken lacks it).

        With no allowed special token that call gives the ``encode_ordinary`` ids. An encoding
        with no special tokens at all makes tiktoken search an empty special-token regex at
        every position (about 1.5x slower), so those get a twin with one never-allowed
        special token: same ranks, same pattern, same ids."""
        if getattr(self, "_buf_core", False) is not False:
            return self._buf_core
        core = getattr(self.enc, "_core_bpe", None)
        if core is None or not hasattr(core, "encode_to_tiktoken_buffer"):
            core = None
        elif not self.enc._special_tokens:
            import tiktoken

            twin = tiktoken.Encoding(name=f"{self.enc.name}-buffer", pat_str=self.enc._pat_str,
                                     mergeable_ranks=self.enc._mergeable_ranks,
                                     special_tokens={"<|tokbench:unused|>": self.enc.max_token_value + 1})
            core = twin._core_bpe
        self._buf_core = core
        return core

    def _encode_flat(self, texts: list[str]):
        """Ids straight into numpy (tiktoken's uint32 buffers), in threads like encode_batch."""
        core = self._buffer_core()
        if core is None:
            return super()._encode_flat(texts)
        none: set[str] = set()  # no special token is recognised: same as encode_ordinary

        def one(text: str) -> np.ndarray:
            return np.frombuffer(core.encode_to_tiktoken_buffer(text, none), dtype=np.uint32)

        if self._threads > 1 and sum(map(len, texts)) >= 256 * len(texts) > 256:  # as encode_batch
            with ThreadPoolExecutor(self._threads) as ex:
                arrays = list(ex.map(one, texts))
        else:
            arrays = [one(t) for t in texts]
        ids, offsets = concat(arrays)
        if self.id_offset:
            ids += self.id_offset
        return ids, offsets

    def isolated_counts(self, words: list[str]) -> np.ndarray:
        """Token counts of each word encoded alone, from one encode of the words joined by
        ``"\\t\\n"`` where the pre-tokenizer pattern is one of :data:`SEPARABLE_PATTERNS`.

        For those patterns no pre-token can cross the separator: nothing that starts inside a
        word (which holds no whitespace) takes a tab, and the separator's own pre-token(s) end
        at the newline (a tab before a newline is not followed by a letter, and the newline
        patterns stop at the next non-newline). Since BPE works within a pre-token, each word's
        tokens are then exactly its isolated encoding. As a guard, a word whose two ends are not
        both token boundaries is encoded alone."""
        core = self._buffer_core()
        if core is None or self.enc._pat_str not in SEPARABLE_PATTERNS or not words:
            return super().isolated_counts(words)
        joined = _SEP.join(words)
        ids = np.frombuffer(core.encode_to_tiktoken_buffer(joined, set()), dtype=np.uint32)
        bounds = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(self._surface_len[ids.astype(np.int64) + self.id_offset], out=bounds[1:])
        # words hold no whitespace: every tab byte of the joined text starts a separator
        raw = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
        wend = np.append(np.flatnonzero(raw == 9), len(raw))
        wstart = np.concatenate([[0], wend[:-1] + len(_SEP)])
        if len(wend) != len(words):  # pragma: no cover - a word with a tab is not a word
            return super().isolated_counts(words)
        first = np.searchsorted(bounds, wstart)
        last = np.searchsorted(bounds, wend)
        ok = (bounds[np.minimum(first, len(ids))] == wstart) & (bounds[np.minimum(last, len(ids))] == wend)
        counts = last - first
        for k in np.flatnonzero(~ok).tolist():  # pragma: no cover - impossible for the patterns above
            counts[k] = len(self.enc.encode_ordinary(words[k]))
        return counts

    def decode(self, ids: Sequence[int]) -> str:
        return self.token_bytes_joined(ids).decode("utf-8", errors="replace")

    def roundtrip_ok(self, texts: Sequence[str], ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        # decoding is concatenation of token bytes: if every document's token lengths add up to
        # its own byte length and the token bytes laid end to end are the corpus's exact bytes,
        # every document round-trips. Otherwise decode each one.
        joined = np.frombuffer("".join(texts).encode("utf-8"), dtype=np.uint8)
        ids = np.asarray(ids, dtype=np.int64)
        lens = self._surface_len[ids]
        cum = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lens, out=cum[1:])
        doc_bytes = np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))
        if np.array_equal(cum[offsets[1:]] - cum[offsets[:-1]], doc_bytes) and int(cum[-1]) == len(joined):
            flat, start = self._byte_table()
            # byte k of the decoded text is flat[start[id] + (k - the token's first byte)]
            where = np.repeat(start[ids] - cum[:-1], lens)
            where += np.arange(len(where), dtype=np.int64)
            if np.array_equal(flat[where], joined):
                return np.ones(len(texts), dtype=bool)
        return super().roundtrip_ok(texts, ids, offsets)

    def _byte_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Every id's bytes end to end (uint8) and where each id's start (special ids: empty)."""
        if getattr(self, "_table", None) is None:
            pieces = [b""] * len(self._surface_len)
            for tok, rank in self.enc._mergeable_ranks.items():
                pieces[rank + self.id_offset] = tok
            start = np.zeros(len(pieces), dtype=np.int64)
            np.cumsum(self._surface_len[:-1], out=start[1:])
            self._table = (np.frombuffer(b"".join(pieces), dtype=np.uint8), start)
        return self._table

    def token_bytes_joined(self, ids: Sequence[int] | np.ndarray) -> bytes:
        off = self.id_offset
        arr = np.asarray(ids, dtype=np.int64)
        if off:
            arr = arr[arr >= off] - off
        return self.enc.decode_bytes(arr.tolist())

    def token_bytes(self, token_id: int) -> bytes:
        if token_id < self.id_offset:
            return b""
        return self.enc.decode_single_token_bytes(token_id - self.id_offset)


def build(*, name: str, files: dict[str, Path], encoding: str | None = None, pattern: str | None = None,
          n_special: int = 0, tekken: bool = False) -> TiktokenTokenizer:
    import tiktoken

    ranks_file = files["ranks"]
    if tekken:
        ranks, pat, n_sp = tekken_ranks(ranks_file)
        enc = tiktoken.Encoding(name=name, pat_str=pat, mergeable_ranks=ranks, special_tokens={})
        return TiktokenTokenizer(name=name, encoding=enc, id_offset=n_sp)
    if encoding:
        return TiktokenTokenizer(name=name, encoding=openai_encoding(encoding, ranks_file))
    if not pattern:
        raise ValueError(f"tokenizer {name!r}: a tiktoken-format vocabulary needs `pattern` (its pre-tokenizer regex)")
    enc = tiktoken.Encoding(name=name, pat_str=pattern, mergeable_ranks=load_ranks(ranks_file), special_tokens={})
    return TiktokenTokenizer(name=name, encoding=enc, n_special=n_special)


TIKTOKEN = Backend("tiktoken", "tokbench.adapters.tiktoken_adapter:build", default_role="ranks",
                   spec_fields=("encoding", "pattern", "n_special"), hf_export="tiktoken",
                   description="tiktoken-format BPE ranks (OpenAI encodings, Llama 3, Qwen ...)")
TEKKEN = Backend("tekken", "tokbench.adapters.tiktoken_adapter:build", default_role="ranks",
                 fixed_kwargs={"tekken": True}, hf_export="tiktoken",
                 description="Mistral Tekken tekken.json, run by tiktoken")
