"""Token spans from per-token text, for tokenizers that give no offsets (the ``python`` backend).

A tokenizer that is a plain Python object often cannot say where each token came from: one id
may stand for several surface strings (the allomorphs of a suffix), a case-marker token covers
no text and the word after it is lower-cased, decoding may be lossy. :func:`align_pieces` lays
each token's own text (``decode([id])``) over the document left to right:

1. a piece that matches the text at the cursor (ignoring case; Turkish dotted and dotless i
   are one letter here) takes those characters;
2. an empty piece (a case marker, a control token) gets an empty span at the cursor;
3. a piece of whitespace takes the whole whitespace run at the cursor (a tokenizer that
   collapses ``"  \\n"`` into one space token); whitespace the pieces do not mention is skipped;
4. a piece that matches a little further on (within ``WINDOW`` characters) takes it, the
   characters skipped belonging to no token;
5. a piece that matches nowhere near (a lossy piece: an allomorph other than the one in the
   text, an UNK) waits; the characters between the cursor and the next piece that matches are
   shared among the waiting pieces: a waiting whitespace token takes the trailing whitespace,
   the others their own length from the left, the last of them whatever remains.

Steps 4 and 5 are approximations; :func:`align_pieces` counts the tokens they placed, and the
backend says so in a note (docs/registry.md#python-tokenizers).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

WINDOW = 8  # how far past the cursor a piece may be found (step 4)

_DOTLESS = str.maketrans({"ı": "i"})


def fold(text: str) -> str:
    """A string of the same length as ``text`` for case-blind comparison (lower case; Turkish ı = i)."""
    low = text.lower()
    if len(low) != len(text):  # "İ".lower() is two characters: fold one character at a time
        low = "".join(c.lower() if len(c.lower()) == 1 else c.lower()[0] for c in text)
    return low.translate(_DOTLESS)


def _ws_end(text: str, j: int) -> int:
    n = len(text)
    while j < n and text[j].isspace():
        j += 1
    return j


def _boundaries(pieces: list[str], region: str) -> list[int]:
    """End offset in ``region`` of each of ``pieces`` (their concatenation aligned to ``region`` by
    edit distance; the last ends at ``len(region)``)."""
    if not pieces:
        return []
    joined = "".join(pieces)
    a, b = len(joined), len(region)
    if a * b > 250_000:  # too long to align: each takes its own length
        out, pos = [], 0
        for p in pieces:
            pos = min(pos + len(p), b)
            out.append(pos)
        out[-1] = b
        return out
    d = np.zeros((a + 1, b + 1), dtype=np.int32)
    d[:, 0] = np.arange(a + 1)
    d[0, :] = np.arange(b + 1)
    for i in range(1, a + 1):
        for j in range(1, b + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (joined[i - 1] != region[j - 1]))
    at = [0] * (a + 1)  # region offset where the path leaves each prefix of ``joined``
    i, j = a, b
    at[a] = b
    while i > 0:
        if j > 0 and d[i, j] == d[i - 1, j - 1] + (joined[i - 1] != region[j - 1]):
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
            continue
        at[i] = j
    out, pos = [], 0
    for p in pieces:
        pos += len(p)
        out.append(at[pos])
    out[-1] = b
    return out


def align_pieces(text: str, pieces: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(character starts, character ends, tokens placed approximately) of ``pieces`` in ``text``.

    >>> s, e, n = align_pieces("Evler  lar", ["", "ev", "ler", " ", "ler"])
    >>> s.tolist(), e.tolist(), n
    ([0, 0, 2, 5, 7], [0, 2, 5, 7, 10], 1)
    """
    k = fold(text)
    n = len(text)
    starts = np.zeros(len(pieces), dtype=np.int64)
    ends = np.zeros(len(pieces), dtype=np.int64)
    c = 0
    pending: list[int] = []  # tokens waiting for the next match (step 5)
    approx = 0

    def settle(upto: int) -> None:
        """Share [c, upto) among the pending tokens: a whitespace token takes the region's trailing
        whitespace; the others split the rest where an edit-distance alignment of their text
        with it puts their boundaries."""
        nonlocal c
        upto = max(upto, c)
        ws_from = upto
        while ws_from > c and text[ws_from - 1].isspace():
            ws_from -= 1
        words = [t for t in pending if pieces[t].strip()]
        if len(words) == len(pending):
            ws_from = upto
        cuts = _boundaries([fold(pieces[t].strip()) for t in words], k[c:ws_from])
        pos = c
        for t in pending:
            if not pieces[t].strip():
                starts[t], ends[t] = ws_from, upto
                continue
            end = c + cuts.pop(0)
            starts[t], ends[t] = pos, end
            pos = end
        c = upto
        pending.clear()

    for t, piece in enumerate(pieces):
        if not piece:  # step 2 (after the waiting tokens, if any, it stays at the cursor)
            starts[t] = ends[t] = c
            continue
        kp = fold(piece)
        core = kp.strip()
        if not core:  # step 3: a whitespace token
            if c < n and text[c].isspace():
                if pending:
                    settle(c)
                starts[t], ends[t] = c, _ws_end(text, c)
                c = int(ends[t])
            elif pending:
                pending.append(t)
            else:
                starts[t] = ends[t] = c
            continue
        lead = kp[0].isspace()
        if not pending and k.startswith(kp, c):  # step 1
            s, e = c, c + len(kp)
        else:
            j = _ws_end(text, c)
            if not pending and k.startswith(core, j):  # step 3: whitespace the piece does not carry
                s, e = (c if lead else j), j + len(core)
            else:
                if pending:  # past the least the waiting tokens can cover, and the whitespace they hold
                    j = min(c + sum(max(len(pieces[p].strip()) - 1, 1) for p in pending if pieces[p].strip()), n)
                    if any(not pieces[p].strip() for p in pending):
                        while j < n and not text[j].isspace():
                            j += 1
                        j = _ws_end(text, j)
                limit = j + len(core) + WINDOW + sum(len(pieces[p]) for p in pending)
                f = k.find(core, j, min(limit, n))
                if f < 0:  # step 5
                    pending.append(t)
                    approx += 1
                    continue
                if pending:
                    settle(f)
                else:
                    approx += f > j  # step 4: characters skipped
                s, e = (c if lead and not pending else f), f + len(core)
        if kp[-1].isspace():
            e = _ws_end(text, e)
        starts[t], ends[t] = s, e
        c = e
    if pending:
        settle(max(len(text.rstrip()), c))  # trailing whitespace belongs to no token
    return starts, ends, approx


__all__ = ["align_pieces", "fold", "WINDOW"]
