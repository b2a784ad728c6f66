"""tokbench: tokenizer-quality benchmarks with provenance.

The public API is small and lazy: importing tokbench imports nothing heavy.

>>> import tokbench
>>> callable(tokbench.load_results)
True
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "get_tokenizer", "load_results", "run", "run_suite"]


def __getattr__(name: str):
    if name == "load_results":
        from .store import load_results
        return load_results
    if name == "get_tokenizer":
        from .registry import get_tokenizer
        return get_tokenizer
    if name == "run_suite":
        from .executor import run_suite
        return run_suite
    if name == "run":
        from .executor import run
        return run
    raise AttributeError(f"module 'tokbench' has no attribute {name!r}")
