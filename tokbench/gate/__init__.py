"""The regression gate: ``tokbench compare`` and ``tokbench check`` (docs/gate.md).

Modules, by concern: ``results`` (the data: CorpusPair, Cell, Check, Example), ``bootstrap``
(the paired bootstrap and :func:`compare`, giving a Comparison), ``thresholds`` (judging the
suite's ``[thresholds]``), ``examples`` (the words/documents that regressed most),
``markdown`` and ``fmt`` (the summary), ``cli`` (resolving tokenizers, corpora and
tokenizations; the two subcommands). The names below load lazily, so registering the
subcommands does not import numpy.

>>> from tokbench.gate import compare, CorpusPair
>>> callable(compare)
True
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "CorpusPair": "results", "Cell": "results", "Check": "results", "Example": "results",
    "CONFIDENCE": "results", "DEFAULT_RESAMPLES": "results",
    "Comparison": "bootstrap", "compare": "bootstrap", "resample_indices": "bootstrap",
    "resample_weights": "bootstrap", "bootstrap_values": "bootstrap",
    "judge": "thresholds", "evaluate_thresholds": "thresholds", "threshold_coverage": "thresholds",
    "rule_text": "thresholds",
    "find_examples": "examples",
    "render_markdown": "markdown",
    "run_gate": "cli", "resolve_side": "cli", "GateError": "results", "add_parser": "cli",
    "EXIT_OK": "cli", "EXIT_FAILED": "cli", "EXIT_BAD_INPUT": "cli",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tokbench.gate' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
