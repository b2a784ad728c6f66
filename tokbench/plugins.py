"""One registry type for every plug-in point of tokbench.

A :class:`Registry` maps names to objects that are imported on first use: an entry is either
the object itself or a lazy ``"package.module:attr"`` string, so listing a registry imports
nothing heavy. Entries have aliases; an unknown name raises :class:`UnknownName` (a
``ValueError``) with the closest names ("did you mean"). Third-party packages add entries
through an ``importlib.metadata`` entry-point group, read the first time the registry is used.

The registries themselves live next to what they hold (``tokbench.metrics.METRICS``,
``tokbench.kinds.SUITE_KINDS``, ``tokbench.registry.BACKENDS``, ...); the entry-point groups:

=========================  ==================================================================
``tokbench.backends``      a :class:`tokbench.adapters.base.Backend` record (tokenizer backend)
``tokbench.metrics``       a :class:`tokbench.metrics.base.Metric` (or a list of them)
``tokbench.suite_kinds``   a :class:`tokbench.kinds.base.SuiteKind` subclass or instance
``tokbench.linguistic``    a linguistic backend factory ``(lang, arg, min_zipf) -> backend``
``tokbench.registries``    a path (or a callable returning one) of a tokenizer registry TOML
=========================  ==================================================================

>>> reg = Registry("example", group=None)
>>> reg.add("fertility", "tokbench.metrics.fertility:FERTILITY", aliases=("fert",))
>>> reg.get("fert").name
'fertility'
>>> reg.get("fertilty")
Traceback (most recent call last):
...
tokbench.plugins.UnknownName: unknown example 'fertilty'; did you mean 'fertility'?
"""
from __future__ import annotations

from .errors import BadInput

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")

GROUPS = {
    "backends": "tokbench.backends",
    "metrics": "tokbench.metrics",
    "suite_kinds": "tokbench.suite_kinds",
    "linguistic": "tokbench.linguistic",
    "registries": "tokbench.registries",
}


class UnknownName(ValueError):
    """A name that no registry entry (or alias) has; the message suggests the closest ones."""


class PluginError(BadInput, RuntimeError):
    """A plug-in entry point could not be loaded or registered an object of the wrong type."""


def load_object(ref: str) -> Any:
    """Import ``"package.module:attr"`` (``attr`` may be dotted)."""
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


@dataclass
class _Entry:
    target: Any  # the object, or a "module:attr" string until first use
    origin: str  # "builtin" or "entry point <dist>: <value>"
    loaded: bool = False


class Registry(Generic[T]):
    """Name -> lazily imported object, with aliases, "did you mean" and entry points.

    ``check(obj, name)`` (optional) validates an object when it is loaded and may return a
    converted object; ``expand(obj)`` (optional) turns an entry-point object into several
    ``(name, obj)`` pairs (a plug-in module may register a list of metrics at once).
    """

    def __init__(self, kind: str, *, group: str | None, check: Callable[[Any, str], Any] | None = None,
                 expand: Callable[[str, Any], list[tuple[str, Any]]] | None = None) -> None:
        self.kind = kind
        self.group = group
        self._check = check
        self._expand = expand
        self._entries: dict[str, _Entry] = {}
        self._aliases: dict[str, str] = {}
        self._plugins_loaded = group is None

    # -- building -------------------------------------------------------------------------
    def add(self, name: str, target: Any, *, aliases: tuple[str, ...] | list[str] = (), origin: str = "builtin",
            replace: bool = False) -> None:
        if name in self._entries and not replace:
            raise PluginError(f"{self.kind} {name!r} is registered twice ({self._entries[name].origin} and {origin})")
        self._entries[name] = _Entry(target, origin, loaded=not isinstance(target, str))
        for a in aliases:
            self._aliases[a] = name

    def register(self, name: str | None = None, *, aliases: tuple[str, ...] = ()):
        """Decorator form of :meth:`add` (the object's ``name`` attribute is the default name)."""
        def deco(obj):
            self.add(name or getattr(obj, "name"), obj, aliases=aliases)
            return obj
        return deco

    def remove(self, name: str) -> None:
        """Drop an entry (tests that install a throwaway plug-in clean up with it)."""
        self._entries.pop(name, None)
        for a in [a for a, n in self._aliases.items() if n == name]:
            del self._aliases[a]

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            origin = f"entry point {self.group}:{ep.name} = {ep.value}"
            try:
                obj = ep.load()
            except Exception as e:  # a broken plug-in names itself; tokbench itself keeps working
                raise PluginError(f"{origin} failed to load: {type(e).__name__}: {e}") from e
            pairs = self._expand(ep.name, obj) if self._expand else [(ep.name, obj)]
            for name, o in pairs:
                if name in self._entries:
                    if self._entries[name].origin == origin:
                        continue
                    raise PluginError(f"{origin}: {self.kind} {name!r} is already registered by "
                                      f"{self._entries[name].origin}")
                self.add(name, o, origin=origin)

    def reload_plugins(self) -> None:
        """Read the entry-point group again (after installing a plug-in in a running process)."""
        self._plugins_loaded = self.group is None
        self._load_plugins()

    # -- lookup ---------------------------------------------------------------------------
    def canonical(self, name: str) -> str:
        self._load_plugins()
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        known = list(self._entries) + list(self._aliases)
        close = list(dict.fromkeys(self._aliases.get(c, c)
                                   for c in difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)))
        hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close \
            else f"known: {', '.join(self._entries) or '(none)'}"
        raise UnknownName(f"unknown {self.kind} {name!r}; {hint}")

    def get(self, name: str) -> T:
        key = self.canonical(name)
        entry = self._entries[key]
        if not entry.loaded:
            try:
                obj = load_object(entry.target)
            except (ImportError, AttributeError) as e:
                raise PluginError(f"{self.kind} {key!r} ({entry.origin}): cannot import {entry.target}: {e}") from e
            entry.target, entry.loaded = obj, True
        if self._check is not None:
            entry.target = self._check(entry.target, key)
        return entry.target

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries or name in self._aliases

    def __getitem__(self, name: str) -> T:
        try:
            return self.get(name)
        except UnknownName as e:
            raise KeyError(str(e)) from None

    def names(self) -> list[str]:
        """Every registered name (no aliases), in registration order; imports nothing."""
        self._load_plugins()
        return list(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self.get(n)) for n in self.names()]

    def values(self) -> list[T]:
        return [self.get(n) for n in self.names()]

    def keys(self) -> list[str]:
        return self.names()

    def origin(self, name: str) -> str:
        return self._entries[self.canonical(name)].origin

    def aliases(self, name: str) -> list[str]:
        key = self.canonical(name)
        return [a for a, n in self._aliases.items() if n == key]
