"""Pair counts per merge step, per category, on pre-tokenised word counts (docs/mixture.md).

The words of every category share one table (distinct pre-token -> its current symbols, and a
frequency per category). Applying merge t touches only the words holding its pair (an index
pair -> word ids), so a step costs what those words cost, not the corpus size.

At each step t we record, per category, the count of the merged pair and of the ``k`` competing
pairs most frequent under *some* mixture: ranked by ``max_i c_i(p) / B_i`` (``B_i`` the
category's sample bytes), an upper bound on the pair's count under every mixture. ``bound[t]``
is that score of the best pair left out: once a solution gives the merge a normalised count of
at least ``bound[t]``, no unrecorded pair can beat it at step t.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StepCounts:
    categories: list[str]
    totals: np.ndarray  # (K,) sample bytes per category (the normaliser)
    merge: np.ndarray  # (T, K) count of merge t's pair just before it was applied
    comp_ids: list[np.ndarray] = field(default_factory=list)  # per step: competing pair ids
    comp: list[np.ndarray] = field(default_factory=list)  # per step: (k_t, K) their counts
    bound: np.ndarray | None = None  # (T,) best normalised score of an unrecorded pair
    pairs: list[tuple[bytes, bytes]] = field(default_factory=list)  # pair id -> pair
    k: int = 0

    @property
    def steps(self) -> int:
        return len(self.merge)


def _merge_word(sym: list[bytes], a: bytes, b: bytes) -> list[bytes]:
    out, i, n = [], 0, len(sym)
    ab = a + b
    while i < n:
        if i < n - 1 and sym[i] == a and sym[i + 1] == b:
            out.append(ab)
            i += 2
        else:
            out.append(sym[i])
            i += 1
    return out


class PairTable:
    """Pair counts (per category) over a shared word table, updated merge by merge."""

    def __init__(self, word_counts: list[dict[tuple[bytes, ...], int]]):
        self.K = len(word_counts)
        index: dict[tuple[bytes, ...], int] = {}
        freq_rows: list[np.ndarray] = []
        for i, wc in enumerate(word_counts):
            for w, n in wc.items():
                j = index.get(w)
                if j is None:
                    j = index[w] = len(freq_rows)
                    freq_rows.append(np.zeros(self.K, dtype=np.float64))
                freq_rows[j][i] += n
        self.words: list[list[bytes]] = [list(w) for w in index]
        self.freq = np.array(freq_rows, dtype=np.float64).reshape(-1, self.K)
        self.pair_id: dict[tuple[bytes, bytes], int] = {}
        self.pairs: list[tuple[bytes, bytes]] = []
        self.where: list[set[int]] = []
        self.counts = np.zeros((1024, self.K), dtype=np.float64)
        pids, wids = [], []
        for wi, sym in enumerate(self.words):
            for p in zip(sym, sym[1:]):
                pid = self._id(p)
                self.where[pid].add(wi)
                pids.append(pid)
                wids.append(wi)
        self._add(pids, wids, 1.0)

    def _id(self, p: tuple[bytes, bytes]) -> int:
        pid = self.pair_id.get(p)
        if pid is None:
            pid = self.pair_id[p] = len(self.pairs)
            self.pairs.append(p)
            self.where.append(set())
            if pid >= len(self.counts):
                grown = np.zeros((2 * len(self.counts), self.K), dtype=np.float64)
                grown[: len(self.counts)] = self.counts
                self.counts = grown
        return pid

    def _add(self, pids: list[int], wids: list[int], sign: float) -> None:
        if pids:
            np.add.at(self.counts, np.asarray(pids), sign * self.freq[np.asarray(wids)])

    def count(self, p: tuple[bytes, bytes]) -> np.ndarray:
        pid = self.pair_id.get(p)
        return self.counts[pid].copy() if pid is not None else np.zeros(self.K)

    def apply(self, a: bytes, b: bytes) -> None:
        pid = self.pair_id.get((a, b))
        if pid is None:
            return
        minus_p, minus_w, plus_p, plus_w = [], [], [], []
        for wi in list(self.where[pid]):
            old = self.words[wi]
            new = _merge_word(old, a, b)
            old_pairs = list(zip(old, old[1:]))
            new_pairs = list(zip(new, new[1:]))
            for p in old_pairs:
                minus_p.append(self.pair_id[p])
                minus_w.append(wi)
            for p in new_pairs:
                plus_p.append(self._id(p))
                plus_w.append(wi)
            new_set = set(new_pairs)
            for p in set(old_pairs) - new_set:
                self.where[self.pair_id[p]].discard(wi)
            for p in new_set:
                self.where[self.pair_id[p]].add(wi)
            self.words[wi] = new
        self._add(minus_p, minus_w, -1.0)
        self._add(plus_p, plus_w, 1.0)
        self.counts[pid] = 0.0  # exact zero (no rounding residue)


def step_counts(word_counts: dict[str, dict[tuple[bytes, ...], int]], totals: dict[str, float],
                merges: list[tuple[bytes, bytes]], k: int = 100, *, alpha: np.ndarray | None = None,
                slack: np.ndarray | None = None, known: list[np.ndarray] | None = None) -> StepCounts:
    """Apply ``merges`` in order to every category's words; record merge and competitor counts.

    Without ``alpha``: the ``k`` pairs with the highest ``max_i c_i/B_i`` per step. With a
    solution (``alpha``, per-step ``slack``): only the pairs whose mixed normalised count beats
    the merge's plus its slack (the violated constraints), at most ``k`` per step, worst first,
    leaving out the pair ids in ``known[t]`` (constraints already recorded).
    """
    cats = list(word_counts)
    table = PairTable([word_counts[c] for c in cats])
    tot = np.array([float(totals[c]) for c in cats])
    T = len(merges)
    out = StepCounts(categories=cats, totals=tot, merge=np.zeros((T, len(cats))), bound=np.zeros(T), k=k)
    for t, (a, b) in enumerate(merges):
        mid = table.pair_id.get((a, b), -1)
        n = len(table.pairs)
        norm = table.counts[:n] / tot
        score = norm.max(axis=1) if alpha is None else norm @ alpha
        floor = 0.0
        if mid >= 0:
            out.merge[t] = table.counts[mid]
            if alpha is not None:
                floor = float(score[mid]) + (float(slack[t]) if slack is not None else 0.0)
            score[mid] = -1.0
        take = min(k + 1, n)
        chosen = np.zeros(0, dtype=np.int64)
        if alpha is not None:
            cand = np.flatnonzero(score > floor * (1 + 1e-9) + 1e-15)
            if known is not None and len(cand):
                cand = cand[~np.isin(cand, known[t])]
            chosen = cand[np.argsort(-score[cand], kind="stable")[:k]]
        elif take:
            top = np.argpartition(-score, take - 1)[:take] if take < n else np.arange(n)
            top = top[np.argsort(-score[top], kind="stable")]
            top = top[score[top] > floor * (1 + 1e-9) + 1e-15]
            chosen, rest = top[:k], top[k:]
            out.bound[t] = float(score[rest[0]]) if len(rest) else 0.0
        out.comp_ids.append(chosen.astype(np.int64))
        out.comp.append(table.counts[chosen].copy())
        table.apply(a, b)
    out.pairs = list(table.pairs)
    return out


def extend(sc: StepCounts, more: StepCounts) -> int:
    """Add ``more``'s competitors (same words, same merges) to ``sc``; the number of new ones."""
    added = 0
    for t in range(sc.steps):
        have = set(sc.comp_ids[t].tolist())
        new = [j for j, p in enumerate(more.comp_ids[t].tolist()) if p not in have]
        if new:
            sc.comp_ids[t] = np.concatenate([sc.comp_ids[t], more.comp_ids[t][new]])
            sc.comp[t] = np.concatenate([sc.comp[t], more.comp[t][new]])
            added += len(new)
    return added
