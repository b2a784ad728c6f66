"""``is_morpheme`` from a user root/affix list file (any language).

One item per line (UTF-8); ``#`` starts a comment; blank lines are ignored. ``-ler`` is a
suffix, ``ge-`` a prefix, ``-in-`` an infix, anything else a root. Items are normalised like
tokens (language casing, NFC). The file provides no word lexicon: combine it with one, e.g.
``backend = "hunspell+roots/sw.txt"``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import BackendUnavailable, normalize_token


def parse_root_list(text: str, lang: str) -> tuple[frozenset[str], frozenset[str]]:
    """``(roots, affixes)`` of a root/affix list (affixes without their ``-`` markers)."""
    roots, affixes = set(), set()
    for line in text.splitlines():
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if item.startswith("-") or item.endswith("-"):
            a = normalize_token(item.strip("-"), lang)
            if a:
                affixes.add(a)
        else:
            r = normalize_token(item, lang)
            if r:
                roots.add(r)
    return frozenset(roots), frozenset(affixes)


class RootListBackend:
    has_words = False
    has_morphemes = True

    def __init__(self, path: str | Path, lang: str):
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise BackendUnavailable(f"cannot read root/affix list {path}: {e}") from e
        self.roots, self.affixes = parse_root_list(data.decode("utf-8"), lang)
        self.name = f"rootlist:{path.name}"
        self.version = (f"sha256 {hashlib.sha256(data).hexdigest()[:12]} "
                        f"({len(self.roots)} roots, {len(self.affixes)} affixes)")

    def is_word(self, s: str) -> bool:
        return False

    def is_root(self, s: str) -> bool:
        return s in self.roots

    def is_affix(self, s: str) -> bool:
        return s in self.affixes

    def is_morpheme(self, s: str) -> bool:
        return s in self.roots or s in self.affixes
