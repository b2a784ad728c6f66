"""Deterministic, seeded generators of character-level task items (CharBench; CUTE).

Words come from ``wordfreq.top_n_list(lang, WORDLIST_N)``, lowercased with the language's
rules (Turkish dotted/dotless i for ``tr``), kept only when every character is a letter
(``str.isalpha``) of the language's script (``regex`` ``\\p{Script}``) and the word has
3-12 characters. Each (lang, family) stream has its own ``random.Random`` seeded with the
string ``"<seed>:<lang>:<family>"`` (string seeds are hashed with SHA-512 by ``random``,
so they are stable across processes and Python builds), so adding a family or a language
never changes the items of another.

Item fields: ``id, lang, family, seed, word, char, positions, prompt, gold, query_index``.
``query_index`` is the 0-based character index the tokenizer-side analysis looks at:
the first occurrence of ``char`` (count_char, first_index, contains-yes), the last
occurrence (last_index), the edited position (insert: the character the new one goes
before; delete; substitute; swap: the first of the two positions), or None (count_unique,
spell, contains-no).
"""
from __future__ import annotations

import functools
import json
import random

import regex

FAMILIES = ("count_char", "count_unique", "first_index", "last_index", "spell", "contains",
            "insert", "delete", "substitute", "swap")
CUTE = FAMILIES[4:]

SCRIPTS = {"en": "Latin", "tr": "Latin", "de": "Latin", "fr": "Latin", "es": "Latin", "ru": "Cyrillic"}
WORDLIST_N = 5000
MIN_LEN, MAX_LEN = 3, 12
GENERATOR_VERSION = 1


def lower(word: str, lang: str) -> str:
    """Lowercase with the language's rules: Turkish I -> ı and İ -> i (not i + U+0307)."""
    if lang == "tr":
        word = word.replace("I", "ı").replace("İ", "i")
    return word.lower()


@functools.lru_cache(maxsize=None)
def word_list(lang: str, n: int = WORDLIST_N) -> tuple[str, ...]:
    """The filtered, deduplicated word list of ``lang`` (frequency order)."""
    if lang not in SCRIPTS:
        raise ValueError(f"no script for language {lang!r}; known: {sorted(SCRIPTS)}")
    try:
        import wordfreq
    except ImportError:
        raise ImportError("character-level tasks take their words from wordfreq: "
                          "pip install 'tokbench[lang]' (or pip install wordfreq)") from None

    script = regex.compile(rf"\p{{{SCRIPTS[lang]}}}+")
    seen, out = set(), []
    for w in wordfreq.top_n_list(lang, n):
        w = lower(w, lang)
        if (MIN_LEN <= len(w) <= MAX_LEN and w.isalpha() and script.fullmatch(w)
                and w not in seen):
            seen.add(w)
            out.append(w)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def alphabet(lang: str) -> tuple[str, ...]:
    """The letters of the language's word list (sorted; the pool for inserted/absent chars)."""
    return tuple(sorted({c for w in word_list(lang) for c in w}))


def _q(c: str) -> str:
    return f'"{c}"'


def _item(lang, family, seed, k, word, gold, prompt, char=None, positions=None, query_index=None) -> dict:
    return {"id": f"{lang}-{family}-{seed}-{k:05d}", "lang": lang, "family": family, "seed": seed,
            "word": word, "char": char, "positions": positions, "prompt": prompt, "gold": gold,
            "query_index": query_index}


def _one(family: str, lang: str, seed: int, k: int, rng: random.Random, words, letters, want_yes=None) -> dict:
    while True:
        w = rng.choice(words)
        n = len(w)
        W = _q(w)
        if family == "count_char":
            c = rng.choice(w)
            return _item(lang, family, seed, k, w, str(w.count(c)),
                         f"How many times does the letter {_q(c)} appear in the word {W}? Answer with a number.",
                         char=c, query_index=w.find(c))
        if family == "count_unique":
            return _item(lang, family, seed, k, w, str(len(set(w))),
                         f"How many distinct letters does the word {W} contain? Answer with a number.")
        if family == "first_index":
            c = rng.choice(w)
            return _item(lang, family, seed, k, w, str(w.find(c)),
                         f"At which 0-based position does the letter {_q(c)} first occur in the word {W}? "
                         "Answer with a number.", char=c, query_index=w.find(c))
        if family == "last_index":
            c = rng.choice(w)
            return _item(lang, family, seed, k, w, str(w.rfind(c)),
                         f"At which 0-based position does the letter {_q(c)} last occur in the word {W}? "
                         "Answer with a number.", char=c, query_index=w.rfind(c))
        if family == "spell":
            return _item(lang, family, seed, k, w, " ".join(w),
                         f"Spell the word {W} letter by letter, separating the letters with spaces.")
        if family == "contains":
            if want_yes:
                c = rng.choice(w)
            else:
                absent = [x for x in letters if x not in w]
                if not absent:
                    continue
                c = rng.choice(absent)
            return _item(lang, family, seed, k, w, "yes" if c in w else "no",
                         f"Does the word {W} contain the letter {_q(c)}? Answer yes or no.",
                         char=c, query_index=w.find(c) if c in w else None)
        if family == "insert":
            i, c = rng.randrange(n), rng.choice(letters)
            return _item(lang, family, seed, k, w, w[:i] + c + w[i:],
                         f"Insert the letter {_q(c)} before the letter at 0-based position {i} of the word {W}. "
                         "Answer with the new word only.", char=c, positions=[i], query_index=i)
        if family == "delete":
            i = rng.randrange(n)
            return _item(lang, family, seed, k, w, w[:i] + w[i + 1:],
                         f"Delete the letter at 0-based position {i} of the word {W}. Answer with the new word only.",
                         positions=[i], query_index=i)
        if family == "substitute":
            i = rng.randrange(n)
            c = rng.choice([x for x in letters if x != w[i]])
            return _item(lang, family, seed, k, w, w[:i] + c + w[i + 1:],
                         f"Replace the letter at 0-based position {i} of the word {W} with {_q(c)}. "
                         "Answer with the new word only.", char=c, positions=[i], query_index=i)
        if family == "swap":
            i, j = sorted(rng.sample(range(n), 2))
            if w[i] == w[j]:
                continue  # a swap that changes nothing is not a task
            s = list(w)
            s[i], s[j] = s[j], s[i]
            return _item(lang, family, seed, k, w, "".join(s),
                         f"Swap the letters at 0-based positions {i} and {j} of the word {W}. "
                         "Answer with the new word only.", positions=[i, j], query_index=i)
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


def generate(lang: str, family: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` items of one family in one language. ``contains`` is balanced: ceil(n/2) "yes"
    and floor(n/2) "no" in a seeded random order (exactly half each for even n)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    words, letters = word_list(lang), alphabet(lang)
    rng = random.Random(f"{seed}:{lang}:{family}")
    labels = [None] * n
    if family == "contains":
        labels = [True] * ((n + 1) // 2) + [False] * (n // 2)
        rng.shuffle(labels)
    return [_one(family, lang, seed, k, rng, words, letters, labels[k]) for k in range(n)]


def generate_all(langs, families=FAMILIES, n: int = 100, seed: int = 0) -> list[dict]:
    """Items for every language x family (``n`` per pair), languages then families in order."""
    return [it for lang in langs for fam in families for it in generate(lang, fam, n, seed)]


def to_jsonl(items: list[dict]) -> str:
    """Canonical JSON lines (sorted keys, UTF-8 text): the bytes the corpus hash is taken of."""
    return "".join(json.dumps(it, ensure_ascii=False, sort_keys=True) + "\n" for it in items)
