"""Vocabulary composition (Qtok; tokka-bench's global metrics), from the vocabulary alone.

Pure functions over a :class:`tokbench.vocablist.VocabListing` (no corpus, no tokenizer call);
the ``vocab`` suite kind writes the rows (lang ``*``, corpus ``vocab``). Every share is over the
*regular* tokens: those that stand for text (normal and byte-fallback ids); special, UNK and
missing ids are counted in ``vocab_composition/special``.

* ``vocab_script``: an exclusive partition of the regular tokens (the shares add up to 1, one
  stacked bar per tokenizer: every variant has ``Show(stack="script")``, drawn by
  ``tokbench.report.stack_plots``). A token's scripts are the Unicode ``Script`` values of its
  characters (the ``regex`` module's ``\\p{sc=...}``), ignoring Common, Inherited and unassigned
  code points: none left -> ``common`` (digits, punctuation, symbols, whitespace), one -> that
  script (``other`` outside the listed ones), two or more -> ``mixed``; bytes that are not
  valid UTF-8 on their own -> ``undecodable``.
* ``vocab_composition``: ``word_initial`` (starts with a space or word marker; WordPiece: no
  ``##``), ``inner_whitespace`` (whitespace inside once stripped, tokka-bench), ``byte_tokens``
  (stand for one byte: byte-level base tokens, byte-fallback ids, byt5's bytes),
  ``byte_fallback``, ``undecodable``, ``case_duplicates`` (tokens t != lower(t) whose lower-case
  form is also a token, e.g. " The" / " the"), ``special`` (share of all ids that are special,
  UNK or have no token).
* ``vocab_token_length``: mean, median, 90th percentile and max of the surface length in bytes
  (regular tokens) and characters (decodable regular tokens); the word-marker space counts.
* ``vocab_length_hist``: share of tokens of each length, ``bytes_1`` .. ``bytes_16`` and
  ``chars_1`` .. ``chars_16`` (16 = 16 or more).

>>> from tokbench.adapters.byte import ByteTokenizer
>>> from tokbench.vocablist import vocab_listing
>>> v = composition_values(vocab_listing(ByteTokenizer()))
>>> v["vocab_script"]["latin"].value, v["vocab_script"]["undecodable"].value
(0.203125, 0.5)
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .base import Show, Value
from .model import ModelMetric

# Unicode Script values with a variant of their own (the scripts of core-v1's languages)
SCRIPTS = (("Latn", "latin"), ("Cyrl", "cyrillic"), ("Grek", "greek"), ("Armn", "armenian"),
           ("Geor", "georgian"), ("Hebr", "hebrew"), ("Arab", "arabic"), ("Deva", "devanagari"),
           ("Beng", "bengali"), ("Taml", "tamil"), ("Thai", "thai"), ("Laoo", "lao"), ("Khmr", "khmer"),
           ("Mymr", "myanmar"), ("Tibt", "tibetan"), ("Ethi", "ethiopic"), ("Hang", "hangul"),
           ("Hira", "hiragana"), ("Kana", "katakana"), ("Hani", "han"))
SCRIPT_VARIANTS = tuple(v for _, v in SCRIPTS) + ("other", "common", "mixed", "undecodable")
COMPOSITION_VARIANTS = ("word_initial", "inner_whitespace", "byte_tokens", "byte_fallback", "undecodable",
                        "case_duplicates", "special")
LENGTH_VARIANTS = ("mean_bytes", "median_bytes", "p90_bytes", "max_bytes",
                   "mean_chars", "median_chars", "p90_chars", "max_chars")
HIST_MAX = 16
HIST_VARIANTS = tuple(f"bytes_{k}" for k in range(1, HIST_MAX + 1)) + tuple(f"chars_{k}" for k in range(1, HIST_MAX + 1))
COMPOSITION_VERSION = 1
_IGNORED = ("Zyyy", "Zinh", "Zzzz")  # Common, Inherited, Unknown: carry no script of their own


@functools.lru_cache(maxsize=1)
def _script_rx():
    import regex

    codes = [c for c, _ in SCRIPTS] + list(_IGNORED)
    return regex.compile("|".join(f"(\\p{{sc={c}}})" for c in codes)), len(SCRIPTS)


def char_script(ch: str) -> str | None:
    """The variant name of one character's script; None for Common/Inherited/unassigned.

    >>> char_script("a"), char_script("中"), char_script("1"), char_script("\\u0301"), char_script("ᚠ")
    ('latin', 'han', None, None, 'other')
    """
    rx, n = _script_rx()
    m = rx.match(ch)
    if m is None:
        return "other"
    return SCRIPTS[m.lastindex - 1][1] if m.lastindex <= n else None


def token_script(text: str, cache: dict[str, str | None]) -> str:
    """``common``, a script variant, or ``mixed`` for a decoded token."""
    found = set()
    for ch in text:
        s = cache.get(ch, "?")
        if s == "?":
            s = cache[ch] = char_script(ch)
        if s is not None:
            found.add(s)
            if len(found) > 1:
                return "mixed"
    return found.pop() if found else "common"


def _share(k: int, n: int, **extra: Any) -> Value:
    return Value(k / n if n else float("nan"), n, {"tokens": k, "regular_tokens": n, **extra})


def composition_values(listing) -> dict[str, dict[str, Value]]:
    """Every vocabulary metric of one tokenizer: ``{metric: {variant: Value}}``."""
    reg = listing.regular().tolist()
    n = len(reg)
    texts: dict[int, str] = {}
    undecodable = 0
    for i in reg:
        try:
            texts[i] = listing.surface[i].decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
    cache: dict[str, str | None] = {}
    scripts = dict.fromkeys(SCRIPT_VARIANTS, 0)
    scripts["undecodable"] = undecodable
    for t in texts.values():
        scripts[token_script(t, cache)] += 1
    conv = {"convention": listing.convention}
    script_rows = {v: _share(k, n, **conv) for v, k in scripts.items()}

    surface_set = set(texts.values())
    case_dup = sum(1 for t in surface_set if t != t.lower() and t.lower() in surface_set)
    initial = int(np.count_nonzero(np.asarray(listing.word_initial)[reg])) if n else 0
    inner = sum(1 for t in texts.values() if (s := t.strip()) and any(c.isspace() for c in s))
    fallback = sum(1 for i in reg if listing.kind[i] == "byte_fallback")
    blen = np.fromiter((len(listing.surface[i]) for i in reg), dtype=np.int64, count=n)
    clen = np.fromiter((len(t) for t in texts.values()), dtype=np.int64, count=len(texts))
    not_text = listing.size - n
    comp = {
        "word_initial": _share(initial, n, **conv),
        "inner_whitespace": _share(inner, n),
        "byte_tokens": _share(int(np.count_nonzero(blen == 1)), n),
        "byte_fallback": _share(fallback, n),
        "undecodable": _share(undecodable, n),
        "case_duplicates": _share(case_dup, n, distinct_surfaces=len(surface_set)),
        "special": Value(not_text / listing.size if listing.size else float("nan"), listing.size,
                         {"tokens": not_text, "vocab_size": listing.size,
                          **{k: listing.kind.count(k) for k in ("special", "unk", "missing")}}),
    }
    lengths: dict[str, Value] = {}
    hist: dict[str, Value] = {}
    for unit, arr in (("bytes", blen), ("chars", clen)):
        m = len(arr)
        stats = {"mean": arr.mean() if m else np.nan, "median": np.median(arr) if m else np.nan,
                 "p90": np.percentile(arr, 90) if m else np.nan, "max": arr.max() if m else np.nan}
        for s, v in stats.items():
            lengths[f"{s}_{unit}"] = Value(float(v), m, {"unit": unit, "tokens": m})
        counts = np.bincount(np.minimum(arr, HIST_MAX), minlength=HIST_MAX + 1)
        for k in range(1, HIST_MAX + 1):
            hist[f"{unit}_{k}"] = _share(int(counts[k]), m, unit=unit, length=f"{k}+" if k == HIST_MAX else str(k))
    return {"vocab_script": script_rows, "vocab_composition": comp, "vocab_token_length": lengths,
            "vocab_length_hist": hist}


def _metric(name, variants, unit, hib, description, display=None) -> ModelMetric:
    return ModelMetric(name, variants, unit, hib, description, _BY, display or {})


_BY = 'a kind = "vocab" suite (tokbench run suites/vocab-v1.toml)'
VOCAB_METRICS: tuple[ModelMetric, ...] = (
    _metric("vocab_script", SCRIPT_VARIANTS, "share", None,
            "Share of the vocabulary's regular tokens per Unicode script (exclusive: common = no script "
            "letters, mixed = two or more scripts, undecodable = not UTF-8 alone) (Qtok; tokka-bench).",
            {v: Show(order=300 if v == "latin" else None, stack="script") for v in SCRIPT_VARIANTS}),
    _metric("vocab_composition", COMPOSITION_VARIANTS, "share", None,
            "What the vocabulary is made of: word-initial tokens (space or marker; WordPiece without ##), "
            "inner whitespace, one-byte, byte-fallback and undecodable tokens, case duplicates, special ids "
            "(Qtok; tokka-bench global metrics).",
            {"word_initial": Show(order=310), "undecodable": Show(order=320)}),
    _metric("vocab_token_length", LENGTH_VARIANTS, "bytes", None,
            "Length of the vocabulary's tokens in UTF-8 bytes and in characters: mean, median, 90th "
            "percentile, max (Qtok).",
            {v: Show(unit="chars") for v in LENGTH_VARIANTS if v.endswith("chars")} | {"mean_bytes": Show(order=330)}),
    _metric("vocab_length_hist", HIST_VARIANTS, "share", None,
            "Share of the vocabulary's tokens of each length in bytes and in characters (16 = 16 or more) (Qtok)."),
)

__all__ = ["COMPOSITION_VERSION", "SCRIPTS", "SCRIPT_VARIANTS", "VOCAB_METRICS", "char_script",
           "composition_values", "token_script"]
