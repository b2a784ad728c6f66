"""The vocabulary of a tokenizer, one entry per id: what each token stands for in text.

This is the only place that reads a tokenizer's vocabulary for the vocabulary-composition
metrics (``tokbench.metrics.composition``), for every backend behind the one protocol:

* ``kind`` per id: ``normal``, ``byte_fallback`` (SentencePiece ``<0xNN>``), ``special``
  (control/added special ids), ``unk``, or ``missing`` (an id with no token, e.g. the holes
  between cl100k's ranks and its special ids, or a token whose text is empty);
* ``surface``: the UTF-8 bytes a normal or byte-fallback token contributes to text, with the
  word marker as the space it stands for (GPT-2 byte-level ``Ġ``, SentencePiece ``▁``: what
  ``Tokenizer.token_bytes`` gives) and WordPiece's continuation prefix (``##``) removed;
* ``word_initial``: the token begins a word. Marker conventions (GPT-2, SentencePiece,
  tiktoken, byte): the surface starts with a U+0020 space. WordPiece marks the other way
  round: a token is word-initial unless it carries the continuation prefix.

>>> from tokbench.adapters.byte import ByteTokenizer
>>> v = vocab_listing(ByteTokenizer())
>>> v.kind[:4], v.surface[3], v.convention
(['special', 'special', 'special', 'normal'], b'\\x00', 'space')
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

KINDS = ("normal", "byte_fallback", "special", "unk", "missing")


@dataclass
class VocabListing:
    """Per id ``0..vocab_size-1``: kind, surface bytes, word-initial flag (module docstring)."""

    kind: list[str]
    surface: list[bytes]
    word_initial: np.ndarray  # bool
    convention: str  # "space" (marker = a leading space) or "wordpiece" (continuation prefix)

    @property
    def size(self) -> int:
        return len(self.kind)

    def regular(self) -> np.ndarray:
        """Indices of the tokens that stand for text (normal and byte-fallback)."""
        return np.flatnonzero(np.isin(np.asarray(self.kind), ["normal", "byte_fallback"]))

    def content_hash(self) -> str:
        """sha256 of the listing (kinds, surfaces, flags): what the metrics measure."""
        h = hashlib.sha256(json.dumps([self.convention, self.kind]).encode())
        for s in self.surface:
            h.update(len(s).to_bytes(4, "little"))
            h.update(s)
        h.update(np.asarray(self.word_initial, dtype=bool).tobytes())
        return h.hexdigest()


def _hf_tokenizers(tok):
    """The ``tokenizers.Tokenizer`` behind an HF-json (or GGUF byte-level) adapter, else None."""
    tk = getattr(tok, "tk", None)
    if tk is None or type(tk).__module__.split(".")[0] != "tokenizers":
        return None
    return tk


def vocab_listing(tok) -> VocabListing:
    """The :class:`VocabListing` of any tokbench Tokenizer."""
    n = int(tok.vocab_size)
    special, unk, fallback = set(tok.special_ids), set(tok.unk_ids), set(tok.byte_fallback_ids)
    tk = _hf_tokenizers(tok)
    prefix, metaspace = None, False
    if tk is not None:
        if type(tk.model).__name__ == "WordPiece":
            prefix = tk.model.continuing_subword_prefix or "##"
        else:
            cfg = json.loads(tk.to_str())
            metaspace = "Metaspace" in json.dumps([cfg.get("pre_tokenizer"), cfg.get("decoder")])
    kinds: list[str] = []
    surfaces: list[bytes] = []
    initial = np.zeros(n, dtype=bool)
    for i in range(n):
        if i in special:
            kinds.append("special")
            surfaces.append(b"")
            continue
        if i in unk:
            kinds.append("unk")
            surfaces.append(b"")
            continue
        try:
            if i not in fallback and (prefix is not None or metaspace):
                raw = tk.id_to_token(i)
                if raw is None:
                    raise KeyError(i)
                if prefix is not None:
                    cont = raw.startswith(prefix)
                    initial[i] = not cont
                    raw = raw[len(prefix):] if cont else raw
                else:
                    raw = raw.replace("\u2581", " ")
                b = raw.encode("utf-8")
            else:
                b = tok.token_bytes(i)
        except Exception:  # an id without a token (tiktoken's holes between ranks and specials)
            b = b""
        if not b:
            kinds.append("missing")
            surfaces.append(b"")
            initial[i] = False
            continue
        kinds.append("byte_fallback" if i in fallback else "normal")
        surfaces.append(b)
        if prefix is None:
            initial[i] = b.startswith(b" ")
        elif i in fallback:
            initial[i] = False
    return VocabListing(kind=kinds, surface=surfaces, word_initial=initial,
                        convention="wordpiece" if prefix is not None else "space")


__all__ = ["KINDS", "VocabListing", "vocab_listing"]
