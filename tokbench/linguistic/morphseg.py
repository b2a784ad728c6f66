"""Gold morpheme boundaries of words: the segmentation backends behind ``morph_boundary``.

A *segmenter* maps one lowercased word to its surface segmentations, one per analysis
(``evlerimizden`` -> ``[("ev", "ler", "imiz", "den")]``; ``evleri`` -> ``[("ev", "leri"),
("ev", "ler", "i")]``; an unknown word -> ``[]``). Any object with this shape is a segmenter
(:class:`Segmenter`): ``name``, ``version`` and ``segmentations(word)``. Morphemes with an empty
surface are allowed and ignored; the surfaces of one analysis must spell the word, otherwise
that analysis is dropped.

Segmenters are chosen by a spec, like the lexicon backends (:mod:`tokbench.linguistic`):

* a name of :data:`SEGMENTERS` (built in: ``zemberek``, Turkish, from zemberek-python);
* otherwise the name of a :data:`tokbench.linguistic.LINGUISTIC` component whose backend also
  has a ``segmentations`` method: a plug-in linguistic backend for another language provides
  gold boundaries by adding that one method.

Gold boundaries are cached on disk, keyed by segmenter name, version and language
(``<tokbench cache>/linguistic/morphgold-*.sqlite``, one row per distinct word): a word is
analysed once, whichever tokenizer or corpus first meets it, so every tokenizer of a suite
is scored against the same gold and the analyser runs once per distinct word of the corpus.
"""
from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Iterable, Protocol, Sequence, runtime_checkable

from ..plugins import Registry
from . import LINGUISTIC, BackendUnavailable, base_lang, lower

__all__ = ["Segmenter", "SEGMENTERS", "get_segmenter", "default_segmenter", "boundaries", "GoldCache", "gold_for"]

GOLD_VERSION = 1  # bump when the cached gold of a word would change for the same segmenter


@runtime_checkable
class Segmenter(Protocol):
    """Surface segmentations of a word (one tuple of morph surfaces per analysis)."""

    name: str
    version: str

    def segmentations(self, word: str) -> Sequence[Sequence[str]]: ...


def boundaries(word: str, analyses: Iterable[Sequence[str]]) -> list[tuple[int, ...]]:
    """The distinct boundary sets of ``analyses``: character positions ``0 < p < len(word)``
    between two morphs, sorted. Analyses whose surfaces do not spell ``word`` are dropped.

    >>> boundaries("evleri", [("ev", "", "leri"), ("ev", "ler", "i"), ("ev", "ler", "i")])
    [(2,), (2, 5)]
    """
    out: set[tuple[int, ...]] = set()
    for a in analyses:
        morphs = [str(m) for m in a if m]
        if "".join(morphs) != word:
            continue
        pos, cuts = 0, []
        for m in morphs[:-1]:
            pos += len(m)
            cuts.append(pos)
        out.add(tuple(cuts))
    return sorted(out)


class ZemberekSegmenter:
    """Turkish surface morphemes from zemberek-python (``TurkishMorphology.analyze``): all
    analyses of the word, each as its morphemes' surfaces (the stem allomorph first)."""

    def __init__(self) -> None:
        try:
            import logging
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from zemberek import TurkishMorphology
        except ImportError as e:
            raise BackendUnavailable("zemberek-python is not installed (pip install 'tokbench[lang]')") from e
        from importlib.metadata import version

        logging.getLogger("zemberek").setLevel(logging.WARNING)
        self._morph = None
        self._cls = TurkishMorphology
        self.name = "zemberek"
        self.version = f"zemberek-python {version('zemberek-python')}"

    def segmentations(self, word: str) -> list[tuple[str, ...]]:
        if self._morph is None:  # about 10 s: only when a word is not in the gold cache yet
            self._morph = self._cls.create_with_defaults()
        return [tuple(lower(md.surface, "tr") for md in a.morpheme_data_list)
                for a in self._morph.analyze(word).analysis_results]


def _zemberek(lang: str) -> Segmenter:
    if base_lang(lang) != "tr":
        raise BackendUnavailable(f"zemberek is a Turkish analyser, not for {lang!r}")
    return ZemberekSegmenter()


SEGMENTERS: Registry = Registry("morphological segmenter", group=None)
SEGMENTERS.add("zemberek", _zemberek)


def default_segmenter(lang: str) -> str | None:
    """The default segmenter spec of ``lang``: ``zemberek`` for Turkish, else None."""
    return "zemberek" if base_lang(lang) == "tr" else None


@functools.lru_cache(maxsize=None)
def get_segmenter(spec: str, lang: str) -> Segmenter:
    """The segmenter named ``spec`` for ``lang`` (built once per process); raises
    :class:`BackendUnavailable` with a readable reason."""
    name, sep, arg = str(spec).partition(":")
    if name in SEGMENTERS and not sep:
        seg = SEGMENTERS.get(name)(lang)
    elif name in LINGUISTIC:
        from . import _component

        seg = _component(str(spec), lang, 3.0)
        if not callable(getattr(seg, "segmentations", None)):
            raise BackendUnavailable(f"linguistic backend {spec!r} provides no segmentations (a gold "
                                     "segmenter needs a segmentations(word) method)")
    else:
        known = ", ".join(sorted(set(SEGMENTERS.names())))
        raise BackendUnavailable(f"unknown morphological segmenter {spec!r}: use {known}, or a linguistic "
                                 "backend with a segmentations(word) method")
    if not isinstance(seg, Segmenter):
        raise BackendUnavailable(f"segmenter {spec!r} built a {type(seg).__name__}, which lacks name, "
                                 "version or segmentations")
    return seg


class GoldCache:
    """word -> distinct boundary sets (``[]``: not analysed), in SQLite under the tokbench cache.
    Safe for several processes (each insert is its own transaction; a word analysed twice gets
    the same answer)."""

    def __init__(self, segmenter: Segmenter, lang: str, path: Path | None = None) -> None:
        self.segmenter, self.lang = segmenter, lang
        if path is None:
            from ..assets import cache_dir

            key = hashlib.sha256(json.dumps([GOLD_VERSION, segmenter.name, segmenter.version, base_lang(lang)])
                                 .encode()).hexdigest()[:16]
            path = cache_dir() / "linguistic" / f"morphgold-{segmenter.name}-{base_lang(lang)}-{key}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._mem: dict[str, list[tuple[int, ...]]] = {}
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS gold (word TEXT PRIMARY KEY, cuts TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def lookup(self, words: Iterable[str]) -> dict[str, list[tuple[int, ...]]]:
        """Gold boundary sets of every word (lowercased with the language's casing), analysing
        and storing the ones not cached yet."""
        want = [w for w in dict.fromkeys(words) if w not in self._mem]
        if want:
            with self._connect() as db:
                for i in range(0, len(want), 500):
                    chunk = want[i:i + 500]
                    q = f"SELECT word, cuts FROM gold WHERE word IN ({','.join('?' * len(chunk))})"
                    for w, cuts in db.execute(q, chunk):
                        self._mem[w] = [tuple(c) for c in json.loads(cuts)]
            new = [(w, boundaries(w, self.segmenter.segmentations(w))) for w in want if w not in self._mem]
            if new:
                with self._connect() as db:
                    db.executemany("INSERT OR REPLACE INTO gold VALUES (?, ?)",
                                   [(w, json.dumps([list(c) for c in cuts])) for w, cuts in new])
                self._mem.update(new)
        return {w: self._mem[w] for w in words}


@functools.lru_cache(maxsize=None)
def gold_for(spec: str, lang: str) -> GoldCache:
    """The gold cache of segmenter ``spec`` and ``lang`` (one per process)."""
    return GoldCache(get_segmenter(spec, lang), lang)


def describe(spec: str, lang: str) -> dict:
    seg = get_segmenter(spec, lang)
    return {"gold": spec, "gold_name": seg.name, "gold_version": seg.version}


def normalized_word(word: str, lang: str) -> str | None:
    """``word`` lowercased with the language's casing, or None when lowercasing changes its
    length (character positions would no longer line up with the text)."""
    w = lower(word, lang)
    return w if len(w) == len(word) else None
