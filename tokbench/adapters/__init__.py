"""Tokenizer backends behind one narrow protocol (see :mod:`tokbench.adapters.base`).

Each backend lives in its own module, declares its :class:`~tokbench.adapters.base.Backend`
record(s) there, and imports its heavy library inside functions. :data:`BACKENDS` lists the
records by lazy reference, so listing the backends (and loading the tokenizer registry) imports
no adapter module at all; plug-in packages add records through the ``tokbench.backends``
entry-point group.

>>> from tokbench.adapters import BACKENDS
>>> BACKENDS.names()[:3]
['tiktoken', 'tekken', 'hf_json']
>>> BACKENDS.get("hf_json").default_role
'tokenizer'
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plugins import GROUPS, PluginError, Registry

if TYPE_CHECKING:  # pragma: no cover
    from .base import Aligned, Backend, BaseTokenizer, Tokenizer

__all__ = ["Aligned", "BACKENDS", "Backend", "BaseTokenizer", "Tokenizer"]


def _check(obj: Any, name: str) -> Any:
    from .base import Backend

    if not isinstance(obj, Backend):
        raise PluginError(f"tokenizer backend {name!r} is a {type(obj).__name__}, not a tokbench.adapters.base.Backend")
    if obj.name != name:
        raise PluginError(f"tokenizer backend registered as {name!r} calls itself {obj.name!r}")
    return obj


def _expand(ep_name: str, obj: Any) -> list[tuple[str, Any]]:
    """An entry point of ``tokbench.backends`` names a Backend record (or a list of them)."""
    from .base import Backend

    objs = obj if isinstance(obj, (list, tuple)) else [obj]
    for o in objs:
        if not isinstance(o, Backend):
            raise PluginError(f"entry point {GROUPS['backends']}:{ep_name} gives {type(o).__name__}, not a "
                              "tokbench.adapters.base.Backend")
    return [(o.name, o) for o in objs]


BACKENDS: Registry[Backend] = Registry("tokenizer backend", group=GROUPS["backends"], check=_check, expand=_expand)
for _name, _ref in (("tiktoken", "tokbench.adapters.tiktoken_adapter:TIKTOKEN"),
                    ("tekken", "tokbench.adapters.tiktoken_adapter:TEKKEN"),
                    ("hf_json", "tokbench.adapters.hf:HF_JSON"),
                    ("transformers", "tokbench.adapters.hf:TRANSFORMERS"),
                    ("sentencepiece", "tokbench.adapters.spm:SENTENCEPIECE"),
                    ("gguf", "tokbench.adapters.gguf:GGUF"),
                    ("byte", "tokbench.adapters.byte:BYTE"),
                    ("python", "tokbench.adapters.python:PYTHON")):
    BACKENDS.add(_name, _ref)


def __getattr__(name: str) -> Any:  # the protocol types, without importing numpy up front
    if name in ("Aligned", "Backend", "BaseTokenizer", "Tokenizer"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
