"""Suite kinds: ``[suite] kind = "..."`` selects the plug-in that plans and executes a suite.

Built in: ``tokenizer`` (the default; intrinsic, lexicon and parallel-text metrics),
``perplexity`` (zero-shot perplexity and ppl ratios of causal LMs, transplanted models
included) and ``charlevel`` (character-level tasks, tokenizer and model side). Packages add
kinds through the ``tokbench.suite_kinds`` entry-point group (docs/plugins.md).

>>> SUITE_KINDS.names()[:3]
['tokenizer', 'perplexity', 'charlevel']
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..plugins import GROUPS, PluginError, Registry, UnknownName
from .base import RunOptions, SuiteKind, Unit, UnitContext


def _instance(obj: Any, name: str) -> SuiteKind:
    if isinstance(obj, type) and issubclass(obj, SuiteKind):
        obj = obj()
    if not isinstance(obj, SuiteKind):
        raise PluginError(f"suite kind {name!r} is a {type(obj).__name__}, not a tokbench.kinds.SuiteKind")
    if not obj.name:
        obj.name = name
    return obj


SUITE_KINDS: Registry[SuiteKind] = Registry("suite kind", group=GROUPS["suite_kinds"], check=_instance)
SUITE_KINDS.add("tokenizer", "tokbench.kinds.tokenizer:TokenizerKind")
SUITE_KINDS.add("perplexity", "tokbench.kinds.perplexity:PerplexityKind")
SUITE_KINDS.add("charlevel", "tokbench.kinds.charlevel:CharlevelKind")
SUITE_KINDS.add("mixture", "tokbench.kinds.mixture:MixtureKind")
SUITE_KINDS.add("robustness", "tokbench.kinds.robustness:RobustnessKind")
SUITE_KINDS.add("vocab", "tokbench.kinds.vocab:VocabKind")


def get_kind(name: str) -> SuiteKind:
    try:
        return SUITE_KINDS.get(name)
    except UnknownName as e:
        from ..suites import SuiteError

        raise SuiteError(str(e)) from None


def kind_of(path: Path, raw: dict) -> SuiteKind:
    """The kind a parsed suite file asks for (``tokenizer`` when ``[suite] kind`` is absent)."""
    from ..suites import SuiteError

    meta = raw.get("suite")
    kind = meta.get("kind", "tokenizer") if isinstance(meta, dict) else "tokenizer"
    try:
        return SUITE_KINDS.get(str(kind))
    except UnknownName as e:
        raise SuiteError(f"{path}: [suite].kind = {kind!r}: {e}; choose one of {', '.join(SUITE_KINDS.names())}") \
            from None


def load_any(name_or_path: str | Path | None) -> tuple[SuiteKind, Any]:
    """Find, parse and validate a suite file of any kind: (kind, suite object)."""
    from ..suites import find_suite, read_toml

    path = find_suite(str(name_or_path) if name_or_path else None)
    raw = read_toml(path)
    kind = kind_of(path, raw)
    return kind, kind.load(path, raw)


def describe(name_or_path: str | Path) -> str:
    """Validate a suite of any kind and return a one-line description (raises SuiteError)."""
    kind, suite = load_any(name_or_path)
    return kind.describe(suite)


__all__ = ["SUITE_KINDS", "RunOptions", "SuiteKind", "Unit", "UnitContext", "describe", "get_kind", "kind_of",
           "load_any"]
