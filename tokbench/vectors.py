"""llama.cpp tokenizer test vectors: exact ids each tokenizer must produce.

llama.cpp ships, beside each vocab-only ``ggml-vocab-<stem>.gguf``, an ``.inp`` file of test
texts (separated by ``\\n__ggml_vocab_test__\\n``, with a trailing marker) and an ``.out``
file with one line of space-separated token ids per text. The ids are produced without
BOS/EOS or any other special token, i.e. what ``Tokenizer.encode_batch`` returns.

Both files are pinned assets (``vectors-<stem>-inp`` / ``vectors-<stem>-out``).

>>> pairs = load_vectors("gpt-2")  # doctest: +SKIP
>>> pairs[0]  # doctest: +SKIP
('', [])
"""
from __future__ import annotations

from pathlib import Path

SEPARATOR = "\n__ggml_vocab_test__\n"
_TRAILER = "\n__ggml_vocab_test__"


def parse_vectors(inp: str, out: str, *, stem: str = "?") -> list[tuple[str, list[int]]]:
    """Pair the texts of an ``.inp`` file with the id lines of its ``.out`` file."""
    texts = inp.split(SEPARATOR)
    if texts and texts[-1].endswith(_TRAILER):
        texts[-1] = texts[-1][: -len(_TRAILER)]
    elif texts and texts[-1] == "":  # a file that ends right after a full separator
        texts.pop()
    # llama.cpp ends every id line (empty ones included) with a newline
    lines = (out[:-1] if out.endswith("\n") else out).split("\n")
    if len(lines) != len(texts):
        raise ValueError(f"llama.cpp vectors {stem!r}: {len(texts)} texts but {len(lines)} id lines")
    return [(t, [int(x) for x in ln.split()]) for t, ln in zip(texts, lines)]


def vector_files(stem: str) -> tuple[Path, Path]:
    """Paths of the ``.inp`` and ``.out`` files for ``stem`` (fetched on first use)."""
    from .assets import fetch

    return fetch(f"vectors-{stem}-inp"), fetch(f"vectors-{stem}-out")


def load_vectors(stem: str) -> list[tuple[str, list[int]]]:
    """``[(text, expected ids), ...]`` from llama.cpp's ``ggml-vocab-<stem>.gguf.inp/.out``."""
    inp, out = vector_files(stem)
    # newline="" keeps "\r" and "\r\n" inside test texts exactly as written
    with open(inp, encoding="utf-8", newline="") as fh:
        inp_text = fh.read()
    with open(out, encoding="utf-8", newline="") as fh:
        out_text = fh.read()
    return parse_vectors(inp_text, out_text, stem=stem)
