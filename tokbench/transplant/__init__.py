"""Tokenizer transplantation: a causal LM with a new tokenizer's vocabulary, its embeddings
(and untied output head) initialised without training, for zero-shot perplexity ratios
(TokenAdapt-style evaluation of a candidate tokenizer; docs/transplant.md).

>>> from tokbench.transplant import METHODS
>>> METHODS.names()
['mean', 'subword', 'hybrid']
>>> METHODS.get("hybrid").defaults
{'k': 3, 'temperature': 0.3, 'mix': 0.3, 'length_weighted': False}
"""
from __future__ import annotations

from .build import META_FILE, TRANSPLANT_VERSION, TransplantError, build_atomic, cache_key, ensure_transplant
from .methods import METHODS, Method, normalise_params

__all__ = ["META_FILE", "METHODS", "Method", "TRANSPLANT_VERSION", "TransplantError", "build_atomic", "cache_key",
           "ensure_transplant", "normalise_params"]
