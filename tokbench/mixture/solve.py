"""The mixture linear program (Hayase, Liu et al., NeurIPS 2024), docs/mixture.md.

Unknowns: ``alpha`` on the simplex (category i's share of the training *bytes*), one slack
``v_t >= 0`` per merge step and one ``v_p >= 0`` per competing pair. With
``c_hat_i,t(p) = c_i,t(p) / B_i`` (pair count in category i's sample before step t over the
sample's bytes), every recorded (step t, competitor p) gives

    sum_i alpha_i (c_hat_i,t(merge_t) - c_hat_i,t(p)) + v_t + v_p >= 0

and the LP minimises ``sum v``. Constraints are added lazily to one HiGHS model (``highspy``)
that is re-solved warm from its last basis after each addition: first each step's strongest
competitor, then the most violated recorded constraints, until none is violated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .counts import StepCounts

@dataclass
class Fit:
    categories: list[str]
    alpha: np.ndarray
    slack: float  # total slack, in normalised-count units (pairs per byte)
    rounds: int
    constraints: int  # constraints in the LP at the end
    candidates: int  # recorded constraints
    unverified: int = 0  # steps where an unrecorded pair still beats the merge (after the last check)
    slack_t: np.ndarray | None = None  # per-step slack v_t (normalised units)
    slack_p: dict[int, float] | None = None  # per-pair slack v_p (pair id -> normalised units)

    def weights(self) -> dict[str, float]:
        return {c: float(a) for c, a in zip(self.categories, self.alpha)}


class MixtureLP:
    """One HiGHS model grown row by row: ``alpha`` (K), ``v_t`` (T), then a ``v_p`` column per
    competing pair the first time one of its constraints is added. Coefficients are scaled so
    that the largest normalised merge count is 1."""

    def __init__(self, categories: list[str], totals: np.ndarray, merge: np.ndarray):
        import highspy

        self.categories, self.totals = list(categories), np.asarray(totals, dtype=float)
        self.K, self.T = len(self.categories), len(merge)
        self.m_hat = merge / self.totals
        self.scale = 1.0 / max(float(self.m_hat.max()) if self.m_hat.size else 0.0, 1e-300)
        self.m_hat = self.m_hat * self.scale
        h = self.h = _quiet_highs()
        inf = highspy.kHighsInf
        K, T = self.K, self.T
        h.addCols(K + T, np.zeros(K + T), np.zeros(K + T), np.concatenate([np.ones(K), np.full(T, inf)]),
                  0, np.zeros(K + T + 1, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        h.changeColsCost(T, np.arange(K, K + T, dtype=np.int32), np.ones(T))
        h.addRow(1.0, 1.0, K, np.arange(K, dtype=np.int32), np.ones(K))
        self.col_arr = np.full(0, -1, dtype=np.int64)  # pair id -> its v_p column (-1: none yet)
        self.rows: set[tuple[int, int]] = set()
        self.rounds = 0
        self.inf = inf

    def column(self, pid: int) -> int:
        """The v_p column of pair ``pid`` (-1: none yet)."""
        return int(self.col_arr[pid]) if pid < len(self.col_arr) else -1

    def columns(self, pids: np.ndarray) -> np.ndarray:
        """The v_p columns of ``pids`` (-1 where none yet)."""
        out = np.full(len(pids), -1, dtype=np.int64)
        known = pids < len(self.col_arr)
        out[known] = self.col_arr[pids[known]]
        return out

    def add(self, steps: np.ndarray, pids: np.ndarray, counts: np.ndarray) -> int:
        """Constraints for (step, pair) with the pair's raw per-category counts; known ones are skipped."""
        keep = [j for j, key in enumerate(zip(steps.tolist(), pids.tolist())) if key not in self.rows]
        if not keep:
            return 0
        steps, pids, counts = steps[keep], pids[keep], counts[keep]
        new = [p for p in dict.fromkeys(pids.tolist()) if self.column(p) < 0]
        if new:
            first = self.h.getNumCol()
            n = len(new)
            self.h.addCols(n, np.ones(n), np.zeros(n), np.full(n, self.inf), 0, np.zeros(n + 1, dtype=np.int32),
                           np.zeros(0, dtype=np.int32), np.zeros(0))
            if max(new) >= len(self.col_arr):
                grown = np.full(max(max(new) + 1, 2 * len(self.col_arr)), -1, dtype=np.int64)
                grown[: len(self.col_arr)] = self.col_arr
                self.col_arr = grown
            self.col_arr[new] = np.arange(first, first + n)
        D = self.m_hat[steps] - counts / self.totals * self.scale  # (n, K)
        n, K = len(steps), self.K
        idx = np.column_stack([np.tile(np.arange(K), (n, 1)), K + steps,
                               self.col_arr[pids]]).astype(np.int32)
        val = np.column_stack([D, np.ones(n), np.ones(n)])
        self.h.addRows(n, np.zeros(n), np.full(n, self.inf), n * (K + 2),
                       np.arange(0, n * (K + 2), K + 2, dtype=np.int32), idx.ravel(), val.ravel())
        self.rows.update(zip(steps.tolist(), pids.tolist()))
        return n

    def solve(self) -> Fit:
        import highspy

        self.rounds += 1
        self.h.run()
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"mixture LP failed: {self.h.modelStatusToString(status)}")
        x = np.asarray(self.h.getSolution().col_value)
        K, T = self.K, self.T
        alpha = np.clip(x[:K], 0, None)
        alpha = alpha / alpha.sum() if alpha.sum() > 0 else np.full(K, 1.0 / K)
        pairs = np.flatnonzero(self.col_arr >= 0)
        slack_p = {int(p): float(x[c]) / self.scale for p, c in zip(pairs, self.col_arr[pairs]) if x[c] > 0}
        return Fit(self.categories, alpha, float(self.h.getInfo().objective_function_value) / self.scale,
                   self.rounds, len(self.rows), len(self.rows), 0, x[K:K + T] / self.scale, slack_p)


def _quiet_highs():
    """A ``highspy.Highs`` with logging off; its constructor prints a banner on the process's
    stdout (file descriptor 1), which would break ``--json`` output, so that is silenced."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


def _flat(sc: StepCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    K = len(sc.categories)
    steps = np.concatenate([np.full(len(ids), t, dtype=np.int64) for t, ids in enumerate(sc.comp_ids)] or
                           [np.zeros(0, dtype=np.int64)])
    pids = np.concatenate(sc.comp_ids or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
    counts = np.concatenate(sc.comp or [np.zeros((0, K))]).reshape(-1, K)
    return steps, pids, counts


def solve(sc: StepCounts, *, lp: MixtureLP | None = None, tol: float = 1e-9, batch: int | None = None,
          max_rounds: int = 1000) -> Fit:
    """Solve over the recorded constraints of ``sc``, adding them to ``lp`` (a new model when not
    given) lazily: each step's first recorded competitor, then the ``batch`` most violated ones
    per round until none is violated."""
    lp = lp or MixtureLP(sc.categories, sc.totals, sc.merge)
    steps, pids, counts = _flat(sc)
    N = len(steps)
    if N == 0 and not lp.rows:
        return Fit(sc.categories, np.full(len(sc.categories), 1.0 / len(sc.categories)), 0.0, 0, 0, 0, 0,
                   np.zeros(sc.steps), {})
    D = lp.m_hat[steps] - counts / lp.totals * lp.scale
    inside = np.fromiter(((t, p) in lp.rows for t, p in zip(steps.tolist(), pids.tolist())), dtype=bool, count=N)
    if not lp.rows:
        first = np.ones(N, dtype=bool)
        first[1:] = steps[1:] != steps[:-1]
        lp.add(steps[first], pids[first], counts[first])
        inside |= first
    batch = batch or max(sc.steps, 200)
    for _ in range(max_rounds):
        fit = lp.solve()
        if inside.all():
            break
        x = np.asarray(lp.h.getSolution().col_value)
        col = lp.columns(pids)
        vp = np.where(col >= 0, x[np.maximum(col, 0)], 0.0)
        margin = D @ x[:lp.K] + x[lp.K + steps] + vp
        viol = np.flatnonzero(~inside & (margin < -tol))
        if len(viol) == 0:
            break
        worst = viol[np.argsort(margin[viol])[:batch]]
        lp.add(steps[worst], pids[worst], counts[worst])
        inside[worst] = True
    fit.candidates = N
    return fit


def infer(ml, samples: dict[str, list[str]], *, merges: int | None = None, k: int = 30,
          max_checks: int = 50, progress=None) -> tuple[Fit, dict]:
    """Mixture weights of ``ml`` (a :class:`~tokbench.mixture.merges.MergeList`) over the
    categories' sample documents, using its first ``merges`` merges.

    The merges are applied once (:func:`~tokbench.mixture.counts.record`); the LP starts with each
    step's ``k`` strongest competitors; after each solve, a sweep over *all* pairs at every step
    under the solution adds the (at most ``k`` per step) pairs that still beat a merge (the lazy
    constraints of the paper), until none does or ``max_checks`` sweeps ran (``Fit.unverified``
    then counts the steps still violated). Returns (fit, info: sample bytes, distinct words,
    sweeps, merges absent from every sample, seconds per phase)."""
    import time

    from .counts import extend, record, sweep
    from .merges import word_counts

    t0 = time.time()
    ml = ml.truncated(merges)
    wc = {c: word_counts(ml, docs) for c, docs in samples.items()}
    totals = {c: float(sum(len(d.encode("utf-8")) for d in docs)) for c, docs in samples.items()}
    t1 = time.time()
    hist = record(wc, totals, ml.merges, progress=progress)
    t2 = time.time()
    sc = hist.constraints()
    extend(sc, *sweep(hist, k)[:2])
    lp = MixtureLP(sc.categories, sc.totals, sc.merge)
    fit = solve(sc, lp=lp)
    passes = 1
    while True:
        ids, counts, violated = sweep(hist, k, alpha=fit.alpha, slack_t=fit.slack_t, slack_p=fit.slack_p,
                                      known=sc.comp_ids)
        if violated == 0 or passes >= max_checks:
            fit.unverified = violated
            break
        extend(sc, ids, counts)
        fit = solve(sc, lp=lp)
        passes += 1
    info = {"sample_bytes": {c: int(b) for c, b in totals.items()},
            "distinct_words": {c: len(w) for c, w in wc.items()}, "k": k, "merges": len(ml.merges),
            "missing_merges": int((hist.merge_id < 0).sum()), "passes": passes, "constraints": fit.constraints, "lp_solves": fit.rounds,
            "seconds": {"pretokenize": round(t1 - t0, 2), "count": round(t2 - t1, 2),
                        "solve": round(time.time() - t2, 2), "total": round(time.time() - t0, 2)}}
    return fit, info
