"""Seeded, deterministic perturbations of sentences (robustness-v1, docs/robustness.md).

An item keeps its clean text, the perturbed text and the edits that turn one into the other:
``edits`` = sorted, non-overlapping ``[start, end, new]`` in *clean* character offsets (the clean
characters ``start:end`` became ``new``; ``start == end`` is an insertion). Perturbations never
add or remove whitespace-separated words (only ``double_space`` touches whitespace), so the
clean and perturbed words correspond one to one.

Perturbations (``PERTURBATIONS``): ``identity``; typos ``typo_swap`` (two adjacent letters),
``typo_delete``, ``typo_insert`` (a letter of the same sentence), ``typo_substitute`` (another
letter of the sentence), each in a share ``word_rate`` of the words (at least one word);
``no_diacritics`` (every Latin/Greek/Cyrillic letter stripped, ``perturb_tables``); ``upper``,
``title`` (each word's first letter upper, the rest lower); ``fullwidth`` (printable ASCII),
``math_bold``, ``math_italic`` (every letter; accented letters decomposed and the base styled);
``homoglyph`` and ``ocr`` (one letter, or ``rn``/``m``, per chosen word, from the derived tables);
``double_space`` (each space doubled with probability ``space_rate``, at least one).

Randomness: ``random.Random(f"{seed}|{lang}|{key}|{perturbation}")`` per item (string seeds are
hashed with SHA-512 by ``random``, so items do not depend on PYTHONHASHSEED or on the order of
generation). A perturbation that changes nothing in a sentence (casing in an uncased script,
doubled spaces without spaces) gives no item; ``identity`` always does.

>>> apply("The cat sat.", "upper", seed=0)[0]
'THE CAT SAT.'
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from typing import Callable

from . import perturb_tables as T

GENERATOR_VERSION = 1
PERTURBATIONS = ("identity", "typo_swap", "typo_delete", "typo_insert", "typo_substitute", "no_diacritics",
                 "upper", "title", "fullwidth", "math_bold", "math_italic", "homoglyph", "ocr", "double_space")
DEFAULTS = {"word_rate": 0.2, "space_rate": 0.3}
_WORD = re.compile(r"\S+")

Edit = tuple[int, int, str]


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def apply_edits(text: str, edits: list[Edit]) -> str:
    """The text with every edit applied (edits sorted and non-overlapping, clean offsets)."""
    out, pos = [], 0
    for s, e, new in edits:
        out.append(text[pos:s])
        out.append(new)
        pos = e
    out.append(text[pos:])
    return "".join(out)


# --- whole-text perturbations: every applicable character ---------------------------------------
def _per_char(text: str, fn: Callable[[str], str]) -> list[Edit]:
    return [(i, i + 1, new) for i, ch in enumerate(text) if (new := fn(ch)) != ch]


def _styled(style: str) -> Callable[[str], str]:
    def fn(ch: str) -> str:
        if not _is_letter(ch) and not ch.isdigit():
            return ch
        d = unicodedata.normalize("NFD", ch)
        base = T.math_style(d[0], style)
        return base + d[1:] if base != d[0] else ch
    return fn


def _no_diacritics(text: str) -> list[Edit]:
    edits = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Mn" and i and T.script_of(text[i - 1]) in T.SCRIPTS:
            edits.append((i, i + 1, ""))  # a combining mark after a Latin/Greek/Cyrillic letter
        elif (new := T.strip_diacritics(ch)) != ch:
            edits.append((i, i + 1, new))
    return edits


def _title(text: str) -> list[Edit]:
    edits = []
    for m in _WORD.finditer(text):
        first = True
        for i in range(m.start(), m.end()):
            ch = text[i]
            if not _is_letter(ch):
                continue
            new = ch.upper() if first else ch.lower()
            first = False
            if new != ch:
                edits.append((i, i + 1, new))
    return edits


WHOLE: dict[str, Callable[[str], list[Edit]]] = {
    "identity": lambda t: [],
    "no_diacritics": _no_diacritics,
    "upper": lambda t: _per_char(t, str.upper),
    "title": _title,
    "fullwidth": lambda t: _per_char(t, T.fullwidth),
    "math_bold": lambda t: _per_char(t, _styled("BOLD")),
    "math_italic": lambda t: _per_char(t, _styled("ITALIC")),
}


# --- per-word perturbations: candidate edits inside a word, one chosen per chosen word --------
def _letters_of(text: str) -> list[str]:
    return sorted({ch for ch in text if _is_letter(ch)})


def _candidates(kind: str, text: str, s: int, e: int, alphabet: list[str]) -> list[Edit]:
    """Every edit ``kind`` may make inside the word ``text[s:e]``."""
    w = text[s:e]
    letters = [s + i for i, ch in enumerate(w) if _is_letter(ch)]
    if kind == "typo_swap":
        return [(i, i + 2, text[i + 1] + text[i]) for i in letters if i + 1 < e and _is_letter(text[i + 1])
                and text[i] != text[i + 1]]
    if kind == "typo_delete":
        return [(i, i + 1, "") for i in letters] if len(w) >= 2 else []
    if kind == "typo_insert":
        return [(i + 1, i + 1, "") for i in letters]  # the letter is drawn when chosen
    if kind == "typo_substitute":
        return [(i, i + 1, "") for i in letters] if len(alphabet) > 1 else []
    if kind == "homoglyph":
        return [(i, i + 1, "") for i in letters if text[i] in T.homoglyphs()]
    if kind == "ocr":
        table = T.ocr_confusions()
        return [(i, i + n, "") for i in range(s, e) for n in (1, 2) if i + n <= e and text[i:i + n] in table]
    raise ValueError(kind)


def _fill(kind: str, text: str, edit: Edit, alphabet: list[str], rng: random.Random) -> Edit:
    s, e, new = edit
    if kind == "typo_insert":
        return s, e, rng.choice(alphabet)
    if kind == "typo_substitute":
        return s, e, rng.choice([a for a in alphabet if a != text[s]])
    if kind == "homoglyph":
        return s, e, rng.choice(T.homoglyphs()[text[s]])
    if kind == "ocr":
        return s, e, rng.choice(T.ocr_confusions()[text[s:e]])
    return edit


def _per_word(kind: str, text: str, rng: random.Random, word_rate: float) -> list[Edit]:
    alphabet = _letters_of(text)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    cands = [c for s, e in words if (c := _candidates(kind, text, s, e, alphabet))]
    if not cands:
        return []
    chosen = [c for c in cands if rng.random() < word_rate] or [rng.choice(cands)]
    return [_fill(kind, text, rng.choice(c), alphabet, rng) for c in chosen]


def _double_space(text: str, rng: random.Random, space_rate: float) -> list[Edit]:
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return []
    chosen = [i for i in spaces if rng.random() < space_rate] or [rng.choice(spaces)]
    return [(i + 1, i + 1, " ") for i in chosen]


PER_WORD = ("typo_swap", "typo_delete", "typo_insert", "typo_substitute", "homoglyph", "ocr")


def perturb(text: str, kind: str, rng: random.Random, *, word_rate: float = DEFAULTS["word_rate"],
            space_rate: float = DEFAULTS["space_rate"]) -> list[Edit]:
    """The edits of perturbation ``kind`` on ``text`` (clean offsets, sorted, non-overlapping)."""
    if kind in WHOLE:
        edits = WHOLE[kind](text)
    elif kind in PER_WORD:
        edits = _per_word(kind, text, rng, word_rate)
    elif kind == "double_space":
        edits = _double_space(text, rng, space_rate)
    else:
        raise ValueError(f"unknown perturbation {kind!r}; choose from {', '.join(PERTURBATIONS)}")
    return sorted(edits)


def apply(text: str, kind: str, *, seed: int | str = 0, **params) -> tuple[str, list[Edit]]:
    """(perturbed text, edits) of one text with its own seeded generator."""
    edits = perturb(text, kind, random.Random(seed), **params)
    return apply_edits(text, edits), edits


def perturbed_positions(item: dict) -> list[int]:
    """Offsets of the perturbed characters in the item's *perturbed* text."""
    out, shift = [], 0
    for s, e, new in item["edits"]:
        out.extend(range(s + shift, s + shift + len(new)))
        shift += len(new) - (e - s)
    return out


def generate(sentences: list[tuple[str, str, str]], *, perturbations: list[str] | tuple[str, ...] = PERTURBATIONS,
             seed: int = 0, word_rate: float = DEFAULTS["word_rate"],
             space_rate: float = DEFAULTS["space_rate"]) -> list[dict]:
    """Items for every (lang, key, clean text) sentence x perturbation (module docstring):
    ``{"id", "lang", "key", "perturbation", "clean", "text", "edits"}``."""
    items = []
    for lang, key, clean in sentences:
        for kind in perturbations:
            rng = random.Random(f"{seed}|{lang}|{key}|{kind}")
            edits = perturb(clean, kind, rng, word_rate=word_rate, space_rate=space_rate)
            text = apply_edits(clean, edits)
            if kind != "identity" and text == clean:
                continue
            if kind != "double_space" and len(clean.split()) != len(text.split()):
                raise AssertionError(f"{kind} changed the word count of {lang}/{key}")  # a generator bug
            items.append({"id": f"{lang}/{key}/{kind}", "lang": lang, "key": key, "perturbation": kind,
                          "clean": clean, "text": text, "edits": [list(e) for e in edits]})
    return items


def udhr_sentences(langs: list[str], *, per_lang: int, seed: int = 0, min_chars: int = 40,
                   max_chars: int = 400) -> list[tuple[str, str, str]]:
    """A seeded sample of ``per_lang`` UDHR paragraphs per language (``corpora.load_udhr``,
    unit paragraph) of ``min_chars``..``max_chars`` characters, in corpus order."""
    from .corpora import load_udhr
    from .errors import CorpusError

    corpus = load_udhr(langs=langs, unit="paragraph", name="udhr-perturbed")
    out = []
    for lang in langs:
        pool = [(k, t) for l, k, t in zip(corpus.lang, corpus.key, corpus.text)
                if l == lang and min_chars <= len(t) <= max_chars]
        if not pool:
            raise CorpusError(f"udhr-perturbed: no paragraph of {min_chars}..{max_chars} characters in {lang!r}")
        pick = sorted(random.Random(f"{seed}|{lang}").sample(range(len(pool)), min(per_lang, len(pool))))
        out.extend((lang, pool[i][0], pool[i][1]) for i in pick)
    return out


def items_hash(items: list[dict], params: dict) -> str:
    """sha256 of the items, the generator parameters (seed included) and the tables' hash."""
    h = hashlib.sha256(json.dumps({"params": params, "generator": GENERATOR_VERSION, "tables": T.tables_hash()},
                                  sort_keys=True).encode())
    for it in items:
        h.update(json.dumps([it["id"], it["clean"], it["text"], it["edits"]], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()
