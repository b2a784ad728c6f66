"""Character tables of the perturbation generator, derived here from Unicode data and a font.

Nothing is pasted from a published confusables list; every table is computed on first use:

* **homoglyphs**: letters of the Latin, Greek and Cyrillic blocks whose glyph *outlines* are
  identical in DejaVu Sans (the font matplotlib ships, pinned by matplotlib's version): Latin
  ``a`` and Cyrillic ``а``, Latin ``P``, Greek ``Ρ`` and Cyrillic ``Р``, ...
* **OCR confusions**: pairs of glyphs (letters of one script, plus the digits) whose rasterised
  shapes overlap by at least ``OCR_MIN_IOU`` (intersection over union on a 64 x 64 grid over
  76 x 72 px of 64 px glyphs, centred horizontally on the ink box) and whose ink has the
  same top and bottom (within ``OCR_EXTENT_ROWS`` grid rows), so that ``b``/``p`` are not taken
  for one another; and lower-case Latin letter pairs that look like one letter (``rn`` -> ``m``)
  by the same rule, the pair squeezed to the letter's ink width (at most ``PAIR_MAX_SQUEEZE``),
  in both directions.
* **diacritics**: a Latin, Greek or Cyrillic letter without its marks: the first character of
  its canonical decomposition (NFD), else the letter its Unicode name names before ``" WITH "``
  (``ł`` LATIN SMALL LETTER L WITH STROKE -> ``l``) or without ``DOTLESS`` (``ı`` -> ``i``).
* **styles**: fullwidth forms of printable ASCII (U+FF01..U+FF5E, NFKC-checked) and the
  ``MATHEMATICAL BOLD`` / ``MATHEMATICAL ITALIC`` letters and digits looked up by Unicode name
  (``LATIN SMALL LETTER A`` -> ``MATHEMATICAL BOLD SMALL A``); a letter with no styled form
  (italic ``h`` is a hole in the block) is left as it is.

``tables_hash()`` hashes every table; the generator puts it into the corpus hash.
"""
from __future__ import annotations

import functools
import hashlib
import json
import unicodedata

import numpy as np

TABLES_VERSION = 1
OCR_MIN_IOU = 0.7
OCR_EXTENT_ROWS = 2
PAIR_MAX_SQUEEZE = 1.15  # a letter pair is compared with letters at least 1/1.15 of its ink width
_GRID = (64, 64)  # rows x columns over 76 x 72 px (64 px glyphs): a fixed scale, centred on the ink box
SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def script_of(ch: str) -> str:
    """First word of the character's Unicode name ("LATIN", "CYRILLIC", ...), "" if it has none."""
    return unicodedata.name(ch, "").split(" ", 1)[0]


def _letters() -> list[str]:
    ranges = [(0x41, 0x5A), (0x61, 0x7A), (0x391, 0x3A9), (0x3B1, 0x3C9), (0x400, 0x45F)]
    return [chr(c) for a, b in ranges for c in range(a, b + 1) if unicodedata.category(chr(c)).startswith("L")]


@functools.lru_cache(maxsize=1)
def _font():
    import os

    import matplotlib
    from matplotlib.ft2font import FT2Font

    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    font = FT2Font(path)
    font.set_size(64, 72)
    return font, f"DejaVuSans.ttf (matplotlib {matplotlib.__version__})"


def _outlines(text: str):
    """matplotlib Paths of the glyphs of ``text`` laid out on one line (unhinted), or None
    when the font lacks a glyph."""
    from matplotlib.ft2font import LoadFlags
    from matplotlib.path import Path

    font, _ = _font()
    paths, x = [], 0.0
    for ch in text:
        if font.get_char_index(ord(ch)) == 0:
            return None
        g = font.load_char(ord(ch), flags=LoadFlags.NO_HINTING)
        verts, codes = font.get_path()
        if len(verts):
            paths.append(Path(verts + [x, 0.0], codes))
        x += g.linearHoriAdvance / 65536
    return paths


@functools.lru_cache(maxsize=1)
def homoglyphs() -> dict[str, tuple[str, ...]]:
    """letter -> letters of other scripts with an identical outline (sorted by code point)."""
    from matplotlib.ft2font import LoadFlags

    font, _ = _font()
    groups: dict[bytes, list[str]] = {}
    for ch in _letters():
        if font.get_char_index(ord(ch)) == 0:
            continue
        font.load_char(ord(ch), flags=LoadFlags.NO_HINTING)
        verts, codes = font.get_path()
        if len(verts):
            groups.setdefault(np.round(verts, 3).tobytes() + codes.tobytes(), []).append(ch)
    out = {}
    for members in groups.values():
        for ch in members:
            others = tuple(o for o in members if script_of(o) != script_of(ch))
            if others:
                out[ch] = others
    return out


def _ink_width(text: str) -> float:
    ext = [p.get_extents() for p in _outlines(text) or []]
    return max(e.x1 for e in ext) - min(e.x0 for e in ext) if ext else 0.0


def _bitmap(text: str, width: float | None = None) -> np.ndarray | None:
    """The glyphs' ink on the fixed grid; ``width``: squeeze the ink box horizontally to it."""
    paths = _outlines(text)
    if not paths:
        return None
    rows, cols = _GRID
    ext = [p.get_extents() for p in paths]
    x0, x1 = min(e.x0 for e in ext), max(e.x1 for e in ext)
    mid, scale = (x0 + x1) / 2, (x1 - x0) / width if width else 1.0
    xs = mid + np.linspace(-36.0, 36.0, cols) * scale
    ys = np.linspace(-16.0, 60.0, rows)  # descender to ascender at 64 px
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    ink = np.zeros(len(pts), dtype=bool)
    for p in paths:
        ink ^= p.contains_points(pts)
    return ink.reshape(rows, cols)


def _similar(a: np.ndarray, b: np.ndarray) -> bool:
    ra, rb = np.flatnonzero(a.any(axis=1)), np.flatnonzero(b.any(axis=1))
    if not len(ra) or not len(rb):
        return False
    if abs(ra[0] - rb[0]) > OCR_EXTENT_ROWS or abs(ra[-1] - rb[-1]) > OCR_EXTENT_ROWS:
        return False
    return (a & b).sum() / max((a | b).sum(), 1) >= OCR_MIN_IOU


@functools.lru_cache(maxsize=1)
def ocr_confusions() -> dict[str, tuple[str, ...]]:
    """source string (one or two characters) -> strings it may be misread as (sorted)."""
    digits = [chr(c) for c in range(0x30, 0x3A)]
    by_script: dict[str, list[str]] = {}
    for ch in _letters():
        by_script.setdefault(script_of(ch), []).append(ch)
    out: dict[str, set[str]] = {}
    for script, letters in by_script.items():
        chars = letters + digits
        bms = {c: b for c in chars if (b := _bitmap(c)) is not None}
        keys = list(bms)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if _similar(bms[a], bms[b]):
                    out.setdefault(a, set()).add(b)
                    out.setdefault(b, set()).add(a)
        if script == "LATIN":
            lower = [c for c in letters if c.islower()]
            widths = {c: _ink_width(c) for c in lower}
            for p in (x + y for x in lower for y in lower):
                wp = _ink_width(p)
                for c in lower:  # the pair squeezed to the letter's width (touching glyphs)
                    if wp <= PAIR_MAX_SQUEEZE * widths[c] and _similar(_bitmap(p, widths[c]), bms[c]):
                        out.setdefault(p, set()).add(c)
                        out.setdefault(c, set()).add(p)
    return {k: tuple(sorted(v)) for k, v in sorted(out.items())}


@functools.lru_cache(maxsize=4096)
def strip_diacritics(ch: str) -> str:
    """``ch`` without diacritics when it is a Latin, Greek or Cyrillic letter, else ``ch``."""
    if script_of(ch) not in SCRIPTS or not unicodedata.category(ch).startswith("L"):
        return ch
    base = unicodedata.normalize("NFD", ch)[0]
    if base != ch:
        return base
    name = unicodedata.name(ch)
    for cand in (name.split(" WITH ", 1)[0], name.replace(" DOTLESS", "")):
        if cand != name:
            try:
                return unicodedata.lookup(cand)
            except KeyError:
                pass
    return ch


def fullwidth(ch: str) -> str:
    if 0x21 <= ord(ch) <= 0x7E:
        wide = chr(ord(ch) + 0xFEE0)
        assert unicodedata.normalize("NFKC", wide) == ch
        return wide
    return ch


@functools.lru_cache(maxsize=4096)
def math_style(ch: str, style: str) -> str:
    """The ``MATHEMATICAL <STYLE>`` form of a Latin/Greek letter or digit (style "BOLD",
    "ITALIC"), or ``ch`` when Unicode has none."""
    name = unicodedata.name(ch, "")
    words = name.split(" ")
    if name.startswith(("LATIN ", "GREEK ")) and len(words) == 4 and words[2] == "LETTER":
        target = f"MATHEMATICAL {style} {words[1]} {words[3]}"  # LATIN SMALL LETTER A
    elif name.startswith("DIGIT ") and style == "BOLD":
        target = f"MATHEMATICAL BOLD {name}"
    else:
        return ch
    try:
        return unicodedata.lookup(target)
    except KeyError:
        return ch


@functools.lru_cache(maxsize=1)
def tables_hash() -> str:
    """sha256 of every table (and the font and Unicode versions they came from)."""
    probe = [chr(c) for c in range(0x20, 0x250)] + [chr(c) for c in range(0x370, 0x530)] + \
        [chr(c) for c in range(0x1E00, 0x1F00)]
    data = {"version": TABLES_VERSION, "unicode": unicodedata.unidata_version, "font": _font()[1],
            "homoglyphs": homoglyphs(), "ocr": ocr_confusions(),
            "diacritics": {c: strip_diacritics(c) for c in probe if strip_diacritics(c) != c},
            "bold": {c: math_style(c, "BOLD") for c in probe if math_style(c, "BOLD") != c},
            "italic": {c: math_style(c, "ITALIC") for c in probe if math_style(c, "ITALIC") != c},
            "ocr_rule": [OCR_MIN_IOU, OCR_EXTENT_ROWS, PAIR_MAX_SQUEEZE, list(_GRID)]}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
