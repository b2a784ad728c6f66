"""Pair counts per merge step, per category, on pre-tokenised word counts (docs/mixture.md).

The words of every category share one table (distinct pre-token -> its current symbols, and a
frequency per category). Applying merge t touches only the words holding its pair (an index
pair -> word ids), so a step costs what those words cost, not the corpus size.

:func:`record` applies the merges once and keeps the whole history compactly: the pair counts
before the first merge and, per step, the count of the merged pair and the *change* of every
pair count that the merge caused (as the paper's released code does). Any pair's count at any
step is then the initial count plus the changes before it, so :func:`sweep` can replay the steps
and find, under a candidate mixture, every pair that beats a merge (the lazy constraints of the
LP) in one cheap pass, without applying the merges again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StepCounts:
    """Recorded constraints: per step, the merge's counts and some competing pairs' counts."""

    categories: list[str]
    totals: np.ndarray  # (K,) sample bytes per category (the normaliser)
    merge: np.ndarray  # (T, K) count of merge t's pair just before it was applied
    comp_ids: list[np.ndarray] = field(default_factory=list)  # per step: competing pair ids
    comp: list[np.ndarray] = field(default_factory=list)  # per step: (k_t, K) their counts
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
        if pids:
            np.add.at(self.counts, np.asarray(pids), self.freq[np.asarray(wids)])

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

    def count(self, p: tuple[bytes, bytes]) -> np.ndarray:
        pid = self.pair_id.get(p)
        return self.counts[pid].copy() if pid is not None else np.zeros(self.K)

    def apply(self, a: bytes, b: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Merge (a, b) in every word holding it; returns the change it made: (pair ids, (u, K) deltas)."""
        pid = self.pair_id.get((a, b))
        if pid is None:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.K))
        ids, wids, sign = [], [], []
        for wi in list(self.where[pid]):
            old = self.words[wi]
            new = _merge_word(old, a, b)
            old_pairs = list(zip(old, old[1:]))
            new_pairs = list(zip(new, new[1:]))
            for p in old_pairs:
                ids.append(self.pair_id[p])
            for p in new_pairs:
                ids.append(self._id(p))
            wids += [wi] * (len(old_pairs) + len(new_pairs))
            sign += [-1.0] * len(old_pairs) + [1.0] * len(new_pairs)
            new_set = set(new_pairs)
            for p in set(old_pairs) - new_set:
                self.where[self.pair_id[p]].discard(wi)
            for p in new_set:
                self.where[self.pair_id[p]].add(wi)
            self.words[wi] = new
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.K))
        u, inv = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
        delta = np.zeros((len(u), self.K))
        np.add.at(delta, inv, np.asarray(sign)[:, None] * self.freq[np.asarray(wids)])
        keep = np.any(delta != 0, axis=1)
        u, delta = u[keep], delta[keep]
        self.counts[u] += delta
        self.counts[pid] = 0.0  # exact zero (no rounding residue)
        return u, delta


@dataclass
class History:
    """Every pair count at every step, kept as initial counts plus per-step changes."""

    categories: list[str]
    totals: np.ndarray  # (K,) sample bytes per category
    merge_id: np.ndarray  # (T,) pair id of merge t (-1: the pair never occurs in the samples)
    merge: np.ndarray  # (T, K) its count just before it was applied
    init: np.ndarray  # (n0, K) pair counts before the first merge (pair ids 0..n0-1)
    ptr: np.ndarray  # (T+1,) step t's changes are delta_ids/delta[ptr[t]:ptr[t+1]]
    delta_ids: np.ndarray
    delta: np.ndarray
    pairs: list[tuple[bytes, bytes]]

    @property
    def steps(self) -> int:
        return len(self.merge)

    def constraints(self) -> StepCounts:
        return StepCounts(categories=self.categories, totals=self.totals, merge=self.merge,
                          comp_ids=[np.zeros(0, dtype=np.int64) for _ in range(self.steps)],
                          comp=[np.zeros((0, len(self.categories))) for _ in range(self.steps)], pairs=self.pairs)


def record(word_counts: dict[str, dict[tuple[bytes, ...], int]], totals: dict[str, float],
           merges: list[tuple[bytes, bytes]], progress=None) -> History:
    """Apply ``merges`` in order to every category's words and keep the count history."""
    cats = list(word_counts)
    table = PairTable([word_counts[c] for c in cats])
    K, T = len(cats), len(merges)
    init = table.counts[: len(table.pairs)].copy()
    merge_id = np.full(T, -1, dtype=np.int64)
    merge = np.zeros((T, K))
    ptr, ids, deltas = [0], [], []
    for t, (a, b) in enumerate(merges):
        mid = table.pair_id.get((a, b), -1)
        if mid >= 0:
            merge_id[t] = mid
            merge[t] = table.counts[mid]
        u, d = table.apply(a, b)
        ids.append(u)
        deltas.append(d)
        ptr.append(ptr[-1] + len(u))
        if progress is not None:
            progress(1)
    return History(cats, np.array([float(totals[c]) for c in cats]), merge_id, merge, init, np.asarray(ptr),
                   np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
                   np.concatenate(deltas) if deltas else np.zeros((0, K)), list(table.pairs))


def sweep(h: History, k: int, *, alpha: np.ndarray | None = None, slack_t: np.ndarray | None = None,
          slack_p: dict[int, float] | None = None, known: list[np.ndarray] | None = None,
          rtol: float = 1e-9) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Replay the history and pick, per step, up to ``k`` competing pairs.

    Without ``alpha``: the pairs with the highest ``max_i c_i/B_i`` (an upper bound of a pair's
    count under any mixture), the initial constraints. With a solution (``alpha``, per-step
    slack ``slack_t``, per-pair slack ``slack_p``): the pairs that violate their constraint,
    ``sum_i alpha_i c_i(p)/B_i - v_p > sum_i alpha_i c_i(merge)/B_i + v_t``, worst first, leaving
    out the pair ids in ``known[t]``. Steps whose merge never occurs are skipped. Returns
    (pair ids per step, their (k_t, K) counts per step, steps with a violation)."""
    K, T = len(h.categories), h.steps
    n = len(h.pairs)
    C = np.zeros((n, K))
    C[: len(h.init)] = h.init
    inv = 1.0 / h.totals
    w = None if alpha is None else np.asarray(alpha) * inv
    score = (C * inv).max(axis=1) if w is None else C @ w
    pen = np.zeros(n)
    if slack_p:
        pen[np.fromiter(slack_p.keys(), dtype=np.int64)] = np.fromiter(slack_p.values(), dtype=float)
    scale = float((h.merge * inv).max()) if h.merge.size else 1.0
    out_ids, out_counts, violated = [], [], 0
    for t in range(T):
        m = int(h.merge_id[t])
        chosen = np.zeros(0, dtype=np.int64)
        if m >= 0:
            eff = score - pen
            eff[m] = -np.inf
            if w is None:
                take = min(k, n - 1)
                if take > 0:
                    top = np.argpartition(-eff, take - 1)[:take]
                    top = top[eff[top] > 0]
                    chosen = top[np.argsort(-eff[top], kind="stable")]
            else:
                floor = score[m] + (float(slack_t[t]) if slack_t is not None else 0.0)
                cand = np.flatnonzero(eff > floor + rtol * scale)
                if known is not None and len(cand):
                    cand = cand[~np.isin(cand, known[t])]
                if len(cand):
                    violated += 1
                    chosen = cand[np.argsort(-eff[cand], kind="stable")[:k]]
        out_ids.append(chosen.astype(np.int64))
        out_counts.append(C[chosen].copy())
        lo, hi = h.ptr[t], h.ptr[t + 1]
        if hi > lo:
            ids = h.delta_ids[lo:hi]
            C[ids] += h.delta[lo:hi]
            score[ids] = (C[ids] * inv).max(axis=1) if w is None else C[ids] @ w
    return out_ids, out_counts, violated


def extend(sc: StepCounts, ids: list[np.ndarray], counts: list[np.ndarray]) -> int:
    """Add competitors (pair ids and counts per step) to ``sc``; the number of new ones."""
    added = 0
    for t in range(sc.steps):
        have = set(sc.comp_ids[t].tolist())
        new = [j for j, p in enumerate(ids[t].tolist()) if p not in have]
        if new:
            sc.comp_ids[t] = np.concatenate([sc.comp_ids[t], ids[t][new]])
            sc.comp[t] = np.concatenate([sc.comp[t], counts[t][new]])
            added += len(new)
    return added
