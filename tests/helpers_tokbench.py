"""Test helpers shared by the CLI/store/tokenize tests (importable: conftest puts tests/ on sys.path).

* ``build`` / ``build_broken``: tokenizer builders for user registry entries
  (``impl = "helpers_tokbench:build"``) -- one whose encoding raises, one that cannot be built;
* ``tree_snapshot``: every file under a folder with its bytes, to prove nothing was written;
* ``make_rows``: result rows with every schema column, for store tests.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Sequence

import numpy as np

FAIL_MESSAGE = "deliberate test failure inside encode"

# short documents for the tiny models and tokenizers the model-side tests train (test_lm, test_transplant)
TINY_DOCS = [
    "The quick brown fox jumps over the lazy dog.",
    "All human beings are born free and equal in dignity and rights.",
    "Everyone has the right to life, liberty and security of person.",
    "Tüm insanlar hür, haysiyet ve haklar bakımından eşit doğarlar.",
    "No one shall be held in slavery or servitude.",
]


class FailingTokenizer:
    """Satisfies the Tokenizer protocol's shape; every encode raises."""

    vocab_size = 10
    unk_ids: frozenset[int] = frozenset()
    byte_fallback_ids: frozenset[int] = frozenset()
    special_ids: frozenset[int] = frozenset()

    def __init__(self, name: str):
        self.name = name

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        raise RuntimeError(FAIL_MESSAGE)

    def encode_aligned(self, texts: Sequence[str]):
        raise RuntimeError(FAIL_MESSAGE)

    def decode(self, ids: Sequence[int]) -> str:
        raise RuntimeError(FAIL_MESSAGE)

    def token_bytes(self, token_id: int) -> bytes:
        raise RuntimeError(FAIL_MESSAGE)


def build(*, name: str, **_: object) -> FailingTokenizer:
    return FailingTokenizer(name)


def build_broken(*, name: str, **_: object):
    raise ValueError(f"tokenizer {name!r} cannot be built (deliberate test failure)")


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """{relative path: content} of every file under ``root`` (empty if it does not exist)."""
    root = Path(root)
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_rows(n: int = 3, **overrides) -> list[dict]:
    """``n`` result rows with every column of tokbench.schema filled in."""
    created = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    rows = []
    for i in range(n):
        row = dict(
            run_id="testrun00000", suite="store-test", suite_version="1", tokenizer="gpt2",
            tokenizer_hash="t" * 64, model=None, corpus="c", corpus_hash="c" * 64, lang="en",
            metric="fertility", variant=f"v{i}", value=float(i) + 0.5, ci_low=None, ci_high=None,
            n=10 + i, params=json.dumps({"segmenter": "whitespace"}), note=None, metric_version=1, config_hash="f" * 16,
            tokbench_version="0.0-test", schema_version=1, created_at=created,
        )
        row.update(overrides)
        rows.append(row)
    return rows


def token_byte_spans(tok, ids: list[int], text: str, *, dummy_prefix: bool) -> list[tuple[int, int]]:
    """Byte spans of each token in ``text``, by walking the tokens' own bytes.

    With ``dummy_prefix`` (SentencePiece's add_dummy_prefix), the tokens' bytes spell
    ``" " + text``: the leading space is not in the text, so every position shifts by one.
    """
    pieces = [tok.token_bytes(i) for i in ids]
    joined = b"".join(pieces)
    shift = 1 if dummy_prefix else 0
    expected = (b" " if dummy_prefix else b"") + text.encode("utf-8")
    assert joined == expected, f"{tok.name}: token bytes do not spell the text: {joined!r} != {expected!r}"
    spans, pos = [], 0
    for p in pieces:
        start = max(pos - shift, 0)
        pos += len(p)
        spans.append((start, max(pos - shift, 0)))
    return spans


def split_word_byte_spans(text: str) -> list[tuple[int, int]]:
    """Byte spans of the whitespace-separated words of ``text`` (from str.split positions)."""
    spans, i = [], 0
    for w in text.split():
        i = text.index(w, i)
        a, b = i, i + len(w)
        spans.append((len(text[:a].encode("utf-8")), len(text[:b].encode("utf-8"))))
        i = b
    return spans


def as_list(a) -> list:
    return np.asarray(a).tolist()


def small_suite_toml(name: str, *, version: str = "1", description: str = "tiny test suite") -> str:
    """A three-tokenizer (gpt2, byt5, llama2) suite on UDHR en/tr, three articles each."""
    return f"""\
[suite]
name = "{name}"
version = "{version}"
description = "{description}"
tokenizers = ["gpt2", "byt5", "llama2"]
reference_tokenizer = "gpt2"

[corpora.udhr]
source = "udhr"
langs = ["en", "tr"]
max_docs_per_lang = 3
"""


def intrinsic_headline() -> tuple[tuple[str, str], ...]:
    """The leaderboard's headline (metric, variant) columns that an intrinsic-metrics suite fills."""
    from tokbench.metrics import default_metrics, headline

    return tuple(mv for mv in headline() if mv[0] in default_metrics())
