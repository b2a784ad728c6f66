"""The mixture linear program (Hayase, Liu et al., NeurIPS 2024), docs/mixture.md.

Unknowns: ``alpha`` on the simplex (category i's share of the training *bytes*), one slack
``v_t >= 0`` per merge step and one ``v_p >= 0`` per competing pair. With
``c_hat_i,t(p) = c_i,t(p) / B_i`` (pair count in category i's sample before step t over the
sample's bytes), every recorded (step t, competitor p) gives

    sum_i alpha_i (c_hat_i,t(merge_t) - c_hat_i,t(p)) + v_t + v_p >= 0

and the LP minimises ``sum v``. Constraints are added lazily: solve with each step's top
competitor, then add the most violated recorded constraints and solve again until none is
violated. Solved with ``scipy.optimize.linprog(method="highs")``.
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
    constraints: int  # active constraints at the end
    candidates: int  # recorded constraints
    unverified: int = 0  # steps where an unrecorded pair still beats the merge (after the last check)
    slack_t: np.ndarray | None = None  # per-step slack v_t (normalised units)

    def weights(self) -> dict[str, float]:
        return {c: float(a) for c, a in zip(self.categories, self.alpha)}


def solve(sc: StepCounts, *, tol: float = 1e-9, batch: int | None = None, max_rounds: int = 100) -> Fit:
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    K, T = len(sc.categories), sc.steps
    m_hat = sc.merge / sc.totals
    scale = 1.0 / max(float(m_hat.max()) if m_hat.size else 0.0, 1e-300)
    m_hat = m_hat * scale
    step_of = np.concatenate([np.full(len(ids), t, dtype=np.int64) for t, ids in enumerate(sc.comp_ids)] or
                             [np.zeros(0, dtype=np.int64)])
    pid = np.concatenate(sc.comp_ids or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
    comp = np.concatenate(sc.comp or [np.zeros((0, K))]).reshape(-1, K) / sc.totals * scale
    D = m_hat[step_of] - comp  # (N, K)
    N = len(D)
    upairs, pcol = np.unique(pid, return_inverse=True)
    P = len(upairs)
    nvar = K + T + P
    if N == 0:
        alpha = np.full(K, 1.0 / K)
        return Fit(sc.categories, alpha, 0.0, 0, 0, 0, 0, np.zeros(T))
    first = np.ones(N, dtype=bool)
    first[1:] = step_of[1:] != step_of[:-1]  # each step's top competitor
    active = np.flatnonzero(first)
    batch = batch or max(T, 200)
    c = np.concatenate([np.zeros(K), np.ones(T + P)])
    a_eq = np.concatenate([np.ones(K), np.zeros(T + P)])[None, :]
    rounds = 0
    while True:
        rounds += 1
        n = len(active)
        rows = np.repeat(np.arange(n), K + 2)
        cols = np.column_stack([np.tile(np.arange(K), (n, 1)), K + step_of[active], K + T + pcol[active]]).ravel()
        vals = np.column_stack([-D[active], -np.ones(n), -np.ones(n)]).ravel()
        A = coo_matrix((vals, (rows, cols)), shape=(n, nvar)).tocsr()
        res = linprog(c, A_ub=A, b_ub=np.zeros(n), A_eq=a_eq, b_eq=[1.0], bounds=(0, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"mixture LP failed: {res.message}")
        x = res.x
        alpha, vt, vp = x[:K], x[K:K + T], x[K + T:]
        margin = D @ alpha + vt[step_of] + vp[pcol]
        mask = np.ones(N, dtype=bool)
        mask[active] = False
        viol = np.flatnonzero(mask & (margin < -tol))
        if len(viol) == 0 or rounds >= max_rounds:
            break
        worst = viol[np.argsort(margin[viol])[:batch]]
        active = np.union1d(active, worst)
    alpha = np.clip(alpha, 0, None)
    alpha = alpha / alpha.sum()
    return Fit(sc.categories, alpha, float(res.fun) / scale, rounds, len(active), N, 0, vt / scale)


def infer(ml, samples: dict[str, list[str]], *, merges: int | None = None, k: int = 30,
          max_checks: int = 8) -> tuple[Fit, dict]:
    """Mixture weights of ``ml`` (a :class:`~tokbench.mixture.merges.MergeList`) over the
    categories' sample documents, using its first ``merges`` merges.

    Counts record each step's ``k`` strongest competitors; after each solve, a check pass over
    *all* pairs under the solution adds the pairs that still beat a merge (the lazy constraints
    of the paper), until none does or ``max_checks`` passes ran (``Fit.unverified`` then counts
    the steps still violated). Returns (fit, info: sample bytes, distinct words, passes, seconds)."""
    import time

    from .counts import extend, step_counts
    from .merges import word_counts

    t0 = time.time()
    ml = ml.truncated(merges)
    wc = {c: word_counts(ml, docs) for c, docs in samples.items()}
    totals = {c: float(sum(len(d.encode("utf-8")) for d in docs)) for c, docs in samples.items()}
    sc = step_counts(wc, totals, ml.merges, k=k)
    fit = solve(sc)
    passes = 1
    while True:
        check = step_counts(wc, totals, ml.merges, k=k, alpha=fit.alpha, slack=fit.slack_t, known=sc.comp_ids)
        violated = sum(1 for ids in check.comp_ids if len(ids))
        if violated == 0 or passes >= max_checks:
            fit.unverified = violated
            break
        extend(sc, check)
        fit = solve(sc)
        passes += 1
    info = {"sample_bytes": {c: int(b) for c, b in totals.items()},
            "distinct_words": {c: len(w) for c, w in wc.items()}, "k": k, "merges": len(ml.merges),
            "passes": passes, "seconds": round(time.time() - t0, 2)}
    return fit, info
