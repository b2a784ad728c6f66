"""A BPE tokenizer's ordered merge list and its own pre-tokeniser (docs/mixture.md).

Every symbol is ``bytes``: tiktoken ranks are bytes already; a byte-level HF ``tokenizer.json``
spells its vocab in GPT-2's byte alphabet, mapped back to bytes here; a character-level HF BPE
starts from each character's UTF-8 bytes as one symbol. ``MergeList.words(text)`` gives the
pre-tokens of a text as tuples of initial symbols, ready for :mod:`tokbench.mixture.counts`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..errors import BadInput


class MergeError(BadInput):
    """The tokenizer has no merge list, or its merge list cannot be read."""


@dataclass
class MergeList:
    name: str
    merges: list[tuple[bytes, bytes]]
    split: Callable[[str], list[str]]  # text -> pre-token strings (normalised, pre-tokenised)
    to_symbols: Callable[[str], tuple[bytes, ...]]  # one pre-token -> its initial symbols
    source: str = ""

    def words(self, text: str) -> list[tuple[bytes, ...]]:
        return [self.to_symbols(w) for w in self.split(text) if w]

    def truncated(self, t: int | None) -> "MergeList":
        if t is None or t >= len(self.merges):
            return self
        return MergeList(self.name, self.merges[:t], self.split, self.to_symbols, self.source)


def _byte_symbols(word: str) -> tuple[bytes, ...]:
    return tuple(bytes([b]) for b in word.encode("utf-8"))


def bpe_parts(word: bytes, ranks: dict[bytes, int], max_rank: int | None = None) -> list[bytes]:
    """tiktoken's byte-pair merge of ``word``: repeatedly merge the adjacent pair whose
    concatenation has the lowest rank (below ``max_rank`` when given)."""
    parts = [word[i:i + 1] for i in range(len(word))]
    while len(parts) > 1:
        best, best_i = None, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (max_rank is None or r < max_rank) and (best is None or r < best):
                best, best_i = r, i
        if best is None:
            break
        parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


def merges_from_ranks(ranks: dict[bytes, int], limit: int | None = None) -> list[tuple[bytes, bytes]]:
    """The merge list behind tiktoken ranks: for each token of length > 1, in rank order, the two
    lower-rank tokens that BPE restricted to lower ranks leaves it as (the last merge made).
    A token that BPE cannot build from two lower-rank tokens is not a merge and is skipped.
    ``limit``: stop after that many merges (the first T are all an inference needs)."""
    out = []
    for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if limit is not None and len(out) >= limit:
            break
        if len(tok) < 2:
            continue
        parts = bpe_parts(tok, ranks, max_rank=r)
        if len(parts) == 2:
            out.append((parts[0], parts[1]))
    return out


def merge_ranks(merges: list[tuple[bytes, bytes]]) -> dict[tuple[bytes, bytes], int]:
    return {m: i for i, m in enumerate(merges)}


def apply_merges(word: bytes | tuple[bytes, ...], merges: list[tuple[bytes, bytes]] | dict) -> list[bytes]:
    """Apply merges by rank (lowest first) to one pre-token; a reference implementation
    (``merges``: the list, or its :func:`merge_ranks` to reuse over many words)."""
    rank = merges if isinstance(merges, dict) else merge_ranks(merges)
    parts = [word[i:i + 1] for i in range(len(word))] if isinstance(word, bytes) else list(word)
    while len(parts) > 1:
        cands = [(rank[(parts[i], parts[i + 1])], i) for i in range(len(parts) - 1)
                 if (parts[i], parts[i + 1]) in rank]
        if not cands:
            break
        _, i = min(cands)
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return parts


def from_tiktoken(name: str, ranks: dict[bytes, int], pattern: str, limit: int | None = None) -> MergeList:
    import regex

    pat = regex.compile(pattern)
    return MergeList(name, merges_from_ranks(ranks, limit), lambda text: pat.findall(text), _byte_symbols,
                     source="tiktoken ranks")


def _merge_pair(m, where: str) -> tuple[str, str]:
    if isinstance(m, str):
        a, sep, b = m.partition(" ")
        if not sep:
            raise MergeError(f"{where}: merge {m!r} is not 'a b'")
        return a, b
    if isinstance(m, (list, tuple)) and len(m) == 2:
        return str(m[0]), str(m[1])
    raise MergeError(f"{where}: merge {m!r} is neither 'a b' nor [a, b]")


def from_hf_json(name: str, path: Path | str | None = None, *, tokenizer=None) -> MergeList:
    """Merges of a ``tokenizer.json`` (``model.merges``, "a b" or [a, b]), applied with the
    file's own normalizer and pre_tokenizer through the ``tokenizers`` library."""
    from tokenizers import Tokenizer

    from ..adapters.hf import _byte_decoder

    tk = tokenizer if tokenizer is not None else Tokenizer.from_file(str(path))
    cfg = json.loads(tk.to_str())
    model = cfg.get("model") or {}
    if model.get("type") != "BPE":
        raise MergeError(f"tokenizer {name!r} is a {model.get('type')} model and has no merge list "
                         "(mixture inference needs a BPE tokenizer)")
    pre_cfg = json.dumps(cfg.get("pre_tokenizer") or {})
    byte_level = "ByteLevel" in pre_cfg or "ByteLevel" in json.dumps(cfg.get("decoder") or {})
    mapped = "ByteLevel" in pre_cfg  # the pre-tokenizer already spells bytes in GPT-2's alphabet
    dec = _byte_decoder()

    def sym(s: str) -> bytes:
        if byte_level:
            try:
                return bytes(dec[c] for c in s)
            except KeyError:
                return s.encode("utf-8")
        return s.encode("utf-8")

    where = f"tokenizer {name!r}: model.merges"
    merges = [tuple(sym(x) for x in _merge_pair(m, where)) for m in model.get("merges") or []]
    if not merges:
        raise MergeError(f"tokenizer {name!r}: BPE model with an empty merge list")
    norm, pre = tk.normalizer, tk.pre_tokenizer

    def split(text: str) -> list[str]:
        if norm is not None:
            text = norm.normalize_str(text)
        if pre is None:
            return [text]
        return [w for w, _ in pre.pre_tokenize_str(text)]

    if byte_level and mapped:
        def to_symbols(w: str) -> tuple[bytes, ...]:
            return tuple(bytes([dec[c]]) if c in dec else c.encode("utf-8") for c in w)
    elif byte_level:
        to_symbols = _byte_symbols
    else:
        def to_symbols(w: str) -> tuple[bytes, ...]:
            return tuple(c.encode("utf-8") for c in w)
    return MergeList(name, merges, split, to_symbols, source="tokenizer.json")


def load_merges(name_or_spec, limit: int | None = None) -> MergeList:
    """The merge list of a registry tokenizer (or a tokenizer file path); MergeError (exit 2)
    for tokenizers without one (Unigram, WordPiece, byte-level without merges). ``limit``: only
    the first that many merges are needed (tiktoken ranks then need not all be replayed)."""
    from ..adapters.hf import HFJsonTokenizer
    from ..adapters.tiktoken_adapter import TiktokenTokenizer
    from ..registry import get_tokenizer, resolve

    spec = resolve(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    if spec.backend == "byte":
        raise MergeError(f"tokenizer {spec.name!r} is byte-level and has no merge list")
    tok = get_tokenizer(spec)
    if isinstance(tok, TiktokenTokenizer):  # ranks are the inner vocabulary: special ids first do not matter
        return _normalized(from_tiktoken(spec.name, tok.enc._mergeable_ranks, tok.enc._pat_str, limit), spec.normalize)
    if isinstance(tok, HFJsonTokenizer):
        return _normalized(from_hf_json(spec.name, tokenizer=tok.tk).truncated(limit), spec.normalize)
    raise MergeError(f"tokenizer {spec.name!r} (backend {spec.backend}, {type(tok).__name__}) has no merge list that "
                     "tokbench can read: supported are tiktoken ranks and BPE tokenizer.json files (also byte-level "
                     "BPE GGUF vocabularies); SentencePiece models keep their merges implicit in piece scores")


def _normalized(ml: MergeList, form: str | None) -> MergeList:
    """The registry entry's ``normalize`` form (e.g. qwen2_5's NFC) applied before pre-tokenising,
    as the tokenizer itself does (tokbench.adapters.normalize)."""
    if not form:
        return ml
    import unicodedata

    split = ml.split
    return MergeList(ml.name, ml.merges, lambda text: split(unicodedata.normalize(form, text)), ml.to_symbols,
                     ml.source + f" ({form} first)")


def word_counts(ml: MergeList, texts: Iterable[str]) -> dict[tuple[bytes, ...], int]:
    """Distinct pre-token -> frequency over ``texts``."""
    from collections import Counter

    c: Counter = Counter()
    for t in texts:
        c.update(ml.split(t))
    out: dict[tuple[bytes, ...], int] = {}
    for w, n in c.items():
        if w:
            s = ml.to_symbols(w)
            out[s] = out.get(s, 0) + n
    return out
