"""Tokenizer transplantation: a causal LM with a new tokenizer's vocabulary, its embeddings
(and untied output head) initialised without training, for zero-shot perplexity ratios
(TokenAdapt-style evaluation of a candidate tokenizer; docs/transplant.md).

>>> from tokbench.transplant import METHODS
>>> METHODS
('mean', 'subword', 'hybrid')
"""
from __future__ import annotations

from .build import META_FILE, TRANSPLANT_VERSION, TransplantError, build_atomic, cache_key, ensure_transplant
from .methods import DEFAULTS, METHODS, normalise_params

__all__ = ["DEFAULTS", "META_FILE", "METHODS", "TRANSPLANT_VERSION", "TransplantError", "build_atomic", "cache_key",
           "ensure_transplant", "normalise_params"]
