"""The results-store schema: tidy long-format rows, one per (run, tokenizer, corpus, lang, metric, variant).

These column names are a contract: later features (regression gate, model-side metrics,
publish) and users' notebooks read them. Add columns; never rename or drop one without
bumping ``SCHEMA_VERSION`` and teaching ``tokbench.store`` to read the old version.
"""
from __future__ import annotations

import math

import pyarrow as pa

# Schema versions (every row stores its own in ``schema_version``; tokbench.store reads them all):
#   1: the original columns, without ``config_hash``
#   2: adds ``config_hash`` (part of the resume key; null when read from a v1 part)
#      (a few v1 parts, written just before the bump, already have it: they read the same way)
SCHEMA_VERSION = 2

# lang value of rows that summarise a tokenizer over every language of a corpus
ALL_LANGS = "*"

RESULT_SCHEMA = pa.schema([
    ("run_id", pa.string()),            # one id per `tokbench run` invocation (its part files share it)
    ("suite", pa.string()),             # suite name, or "adhoc"
    ("suite_version", pa.string()),
    ("tokenizer", pa.string()),         # registry name or path
    ("tokenizer_hash", pa.string()),    # sha256 of the tokenizer files + adapter settings
    ("model", pa.string()),             # null for tokenizer-only metrics
    ("corpus", pa.string()),
    ("corpus_hash", pa.string()),       # sha256 of the corpus content actually used
    ("lang", pa.string()),              # BCP-47 tag, or "*" for all languages of the corpus
    ("metric", pa.string()),
    ("variant", pa.string()),
    ("value", pa.float64()),            # NaN when blanked (see note)
    ("ci_low", pa.float64()),           # confidence interval where computed, else null
    ("ci_high", pa.float64()),
    ("n", pa.int64()),                  # size of the denominator (words, tokens, docs ...)
    ("params", pa.string()),            # JSON: segmenter, alpha, reference, denominators ...
    ("note", pa.string()),              # why a value is blank or qualified; else null
    ("metric_version", pa.int32()),
    ("config_hash", pa.string()),       # metric params + segmenters + reference + tokenize version
    ("tokbench_version", pa.string()),
    ("schema_version", pa.int32()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

COLUMNS = tuple(RESULT_SCHEMA.names)


def finite(x) -> float:
    """A row's ``value``: the float, or NaN for a missing or non-finite one (a blank value)."""
    return float(x) if x is not None and math.isfinite(float(x)) else float("nan")
