"""An independent second implementation of every gold answer (tests only).

Written with explicit loops and ``regex`` instead of the ``str`` methods and slicing that
``generate.py`` uses, so a bug in one path shows up as a disagreement with the other.
"""
from __future__ import annotations

import regex


def count_char(word: str, char: str) -> str:
    return str(len(regex.findall(regex.escape(char), word)))


def count_unique(word: str) -> str:
    seen: list[str] = []
    for ch in word:
        if ch not in seen:
            seen.append(ch)
    return str(len(seen))


def first_index(word: str, char: str) -> str:
    k = 0
    for ch in word:
        if ch == char:
            return str(k)
        k += 1
    raise ValueError(f"{char!r} not in {word!r}")


def last_index(word: str, char: str) -> str:
    k = len(word) - 1
    while k >= 0:
        if word[k] == char:
            return str(k)
        k -= 1
    raise ValueError(f"{char!r} not in {word!r}")


def spell(word: str) -> str:
    out = ""
    for k, ch in enumerate(word):
        out += ch if k == 0 else " " + ch
    return out


def contains(word: str, char: str) -> str:
    return "yes" if regex.search(regex.escape(char), word) else "no"


def insert(word: str, char: str, i: int) -> str:
    out = []
    for k, ch in enumerate(word):
        if k == i:
            out.append(char)
        out.append(ch)
    if i == len(word):
        out.append(char)
    return "".join(out)


def delete(word: str, i: int) -> str:
    return "".join(ch for k, ch in enumerate(word) if k != i)


def substitute(word: str, char: str, i: int) -> str:
    return "".join(char if k == i else ch for k, ch in enumerate(word))


def swap(word: str, i: int, j: int) -> str:
    out = []
    for k in range(len(word)):
        out.append(word[j] if k == i else word[i] if k == j else word[k])
    return "".join(out)


def gold(item: dict) -> str:
    """The gold answer of an item, recomputed from its word, char and positions."""
    f, w, c, p = item["family"], item["word"], item.get("char"), item.get("positions") or []
    if f in ("count_char", "first_index", "last_index", "contains"):
        return globals()[f](w, c)
    if f in ("count_unique", "spell"):
        return globals()[f](w)
    if f == "insert" or f == "substitute":
        return globals()[f](w, c, p[0])
    if f == "delete":
        return delete(w, p[0])
    if f == "swap":
        return swap(w, p[0], p[1])
    raise ValueError(f"unknown family {f!r}")
