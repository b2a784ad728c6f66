"""Tokenizer backends behind one narrow protocol (see :mod:`tokbench.adapters.base`).

Each backend lives in its own module and imports its heavy library inside functions, so
listing the registry imports nothing heavy.
"""
from .base import Aligned, BaseTokenizer, Tokenizer

__all__ = ["Aligned", "BaseTokenizer", "Tokenizer"]
