"""``is_word`` from a hunspell dictionary (Debian ``hunspell-*`` packages) through spylls.

Dictionaries are looked up in ``$TOKBENCH_HUNSPELL_DIR``, ``/usr/share/hunspell`` and
``/usr/share/myspell/dicts``: for ``tr`` the files ``tr_TR.dic``/``tr_TR.aff``, for ``de-1996``
``de_DE``, for ``fr`` ``fr_FR`` or ``fr``, else the first ``<lang>_*`` in sorted order.
Hunspell accepts inflected forms through its affix rules. A normalised (lowercase) token is
accepted in lowercase or capitalised (proper nouns; German nouns). The all-caps form is not
tried: hunspell accepts all-caps strings too generously (Turkish ``LER``, ``NIN``).
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from . import BackendUnavailable, base_lang, upper_first

SEARCH_DIRS = ("/usr/share/hunspell", "/usr/share/myspell/dicts", "/usr/share/myspell")


def _dirs() -> list[Path]:
    extra = os.environ.get("TOKBENCH_HUNSPELL_DIR")
    return [Path(d) for d in ([extra] if extra else []) + list(SEARCH_DIRS)]


@functools.lru_cache(maxsize=None)
def find_dictionary(lang: str) -> Path | None:
    """The dictionary stem (path without extension) for ``lang``, or None."""
    b = base_lang(lang)
    region = str(lang).replace("_", "-").split("-")[1] if "-" in str(lang).replace("_", "-") else ""
    names = []
    if region and region.isalpha() and len(region) == 2:
        names.append(f"{b}_{region.upper()}")
    names += [f"{b}_{b.upper()}", b, {"en": "en_US"}.get(b, "")]
    for d in _dirs():
        if not d.is_dir():
            continue
        for n in [n for n in names if n]:
            if (d / f"{n}.dic").is_file() and (d / f"{n}.aff").is_file():
                return d / n
        for dic in sorted(d.glob(f"{b}_*.dic")):
            if dic.with_suffix(".aff").is_file():
                return dic.with_suffix("")
    return None


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


class HunspellBackend:
    has_words = True
    has_morphemes = False

    def __init__(self, lang: str, stem: str | None = None):
        self.lang = lang
        path = Path(stem) if stem else find_dictionary(lang)
        if path is None:
            raise BackendUnavailable(f"no hunspell dictionary for {lang!r} (install a Debian hunspell-* package, "
                                     f"e.g. apt-get install hunspell-{base_lang(lang)})")
        path = path.with_suffix("") if path.suffix in (".dic", ".aff") else path
        if not path.with_suffix(".dic").is_file():
            raise BackendUnavailable(f"hunspell dictionary {path}.dic not found")
        try:
            from importlib.metadata import version

            from spylls.hunspell import Dictionary
        except ImportError as e:
            raise BackendUnavailable("spylls is not installed (pip install 'tokbench[lang]')") from e
        self.dictionary = Dictionary.from_files(str(path))
        self.path = path
        self.name = f"hunspell:{path.name}"
        self.version = f"spylls {version('spylls')}, {path.name}.dic sha256 {_sha(path.with_suffix('.dic'))}"

    def word_reason(self, s: str) -> str | None:
        """The form the dictionary accepted (``"accepts 'Ev'"``), or None."""
        look = self.dictionary.lookup
        try:
            for form in dict.fromkeys((s, upper_first(s, self.lang))):
                if look(form):
                    return f"accepts {form!r}"
        except Exception:  # spylls can raise on odd input (e.g. lone surrogates)
            return None
        return None

    def is_word(self, s: str) -> bool:
        return self.word_reason(s) is not None

    def is_morpheme(self, s: str) -> bool:
        return False
