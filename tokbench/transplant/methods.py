"""Matching the two vocabularies and initialising the rows of new tokens (docs/transplant.md).

Notation: ``E`` (V_old x d) the source model's input embeddings, ``H`` its output head (the
same matrix when tied), ``mu = mean of all V_old rows``. A target token ``t`` with bytes ``b(t)``:

* shared (``b(t)`` is the bytes of an old, non-special token ``o``): ``E'[t] = E[o]``,
  ``H'[t] = H[o]``. When several old tokens have those bytes: the one with t's id if it is one
  of them, else the lowest id.
* special tokens: the target's prefix token (BOS, else EOS: what lm-eval conditions a document on)
  takes the source's prefix row; then BOS/EOS/PAD/UNK take the source's row of the same role;
  then a special with the same spelling as a source special takes its row; the rest are new.
* new tokens (and specials without a match, and ids the vocabulary leaves unused):
  - ``mean``: ``mu`` (ReTok-style baseline);
  - ``subword`` (FVT): the old tokenizer's pieces ``p_1..p_n`` of ``b(t)`` (valid UTF-8 runs are
    encoded as text, without special tokens; a byte that is not valid UTF-8 becomes the old token
    of that single byte); ``E'[t] = sum_i a_i E[p_i]`` with ``a_i = 1/n``, or with
    ``length_weighted`` ``a_i = |b(p_i)| / sum_j |b(p_j)|``; same weights for ``H``;
  - ``hybrid`` (TokenAdapt-style): ``l = subword estimate``; global estimate from the ``k`` old
    non-special rows most cosine-similar to ``l`` in ``E``: ``g = sum_j w_j E[n_j]``,
    ``w = softmax(cos(l, E[n_j]) / temperature)``; ``E'[t] = (1 - mix) l + mix g``; the same
    neighbours and weights give ``H'[t]``.
  Tokens with no pieces (specials, unused ids, empty bytes) get ``mu`` in every method.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..plugins import Registry

# kinds of target ids
SHARED, SPECIAL_ROLE, SPECIAL_SAME, SPECIAL_NEW, NEW, UNUSED = "shared", "special-role", "special-same", \
    "special-new", "new", "unused"


class MethodError(ValueError):
    pass


def normalise_params(method: str, params: dict | None) -> dict:
    """The method's parameters with defaults filled in; unknown names or bad values are an error."""
    if method not in METHODS:
        raise MethodError(f"unknown transplant method {method!r} (choose one of {', '.join(METHODS)})")
    defaults = METHODS.get(method).defaults
    params = dict(params or {})
    unknown = set(params) - set(defaults)
    if unknown:
        raise MethodError(f"method {method!r} takes {sorted(defaults) or 'no parameters'}, "
                          f"not {sorted(unknown)}")
    out = {**defaults, **params}
    if "k" in out:
        out["k"] = int(out["k"])
        if out["k"] < 1:
            raise MethodError("k must be >= 1")
    if "temperature" in out:
        out["temperature"] = float(out["temperature"])
        if out["temperature"] <= 0:
            raise MethodError("temperature must be > 0")
    if "mix" in out:
        out["mix"] = float(out["mix"])
        if not 0.0 <= out["mix"] <= 1.0:
            raise MethodError("mix must be in [0, 1]")
    if "length_weighted" in out:
        out["length_weighted"] = bool(out["length_weighted"])
    return out


@dataclass
class Plan:
    copy_from: np.ndarray              # (V_new,) old id to copy, or -1
    kind: list[str]                    # per target id
    special_map: dict = field(default_factory=dict)   # target special id -> (old id, why)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.kind:
            out[k] = out.get(k, 0) + 1
        return out


def match(new_bytes: list, new_specials: dict[int, str], new_roles: dict[str, int], new_prefix: int | None,
          old_bytes: list, old_specials: dict[int, str], old_roles: dict[str, int],
          old_fallback: set[int] = frozenset()) -> Plan:
    n_new = len(new_bytes)
    copy_from = np.full(n_new, -1, dtype=np.int64)
    kind = [UNUSED] * n_new
    by_bytes: dict[bytes, list[int]] = {}
    # byte-fallback pieces (<0x61>) last: a shared "a" takes the row of the piece "a"
    order = [i for i in range(len(old_bytes)) if i not in old_fallback] + sorted(old_fallback)
    for i in order:
        b = old_bytes[i]
        if b and i not in old_specials:
            by_bytes.setdefault(b, []).append(i)
    for i, b in enumerate(new_bytes):
        if i in new_specials:
            continue
        if not b:
            kind[i] = UNUSED
            continue
        cands = by_bytes.get(b)
        if cands:
            copy_from[i] = i if i in cands else cands[0]
            kind[i] = SHARED
        else:
            kind[i] = NEW
    special_map = {}
    old_prefix = old_roles.get("bos", old_roles.get("eos"))
    if new_prefix is not None and new_prefix in new_specials and old_prefix is not None:
        copy_from[new_prefix] = old_prefix
        kind[new_prefix] = SPECIAL_ROLE
        special_map[new_prefix] = (old_prefix, "prefix token (BOS, else EOS) -> source prefix token")
    for role in ("bos", "eos", "pad", "unk"):
        i = new_roles.get(role)
        if i is None or i in special_map or i not in new_specials or role not in old_roles:
            continue
        copy_from[i] = old_roles[role]
        kind[i] = SPECIAL_ROLE
        special_map[i] = (old_roles[role], f"{role} -> source {role}")
    old_by_content = {c: i for i, c in old_specials.items()}
    for i, c in new_specials.items():
        if i in special_map or i >= n_new:
            continue
        if c in old_by_content:
            copy_from[i] = old_by_content[c]
            kind[i] = SPECIAL_SAME
            special_map[i] = (old_by_content[c], "same spelling")
        else:
            kind[i] = SPECIAL_NEW
    return Plan(copy_from, kind, special_map)


def _segments(b: bytes) -> list:
    """Valid UTF-8 runs as str, other bytes as int."""
    s = b.decode("utf-8", errors="surrogateescape")
    out: list = []
    run = []
    for ch in s:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            if run:
                out.append("".join(run))
                run = []
            out.append(o - 0xDC00)
        else:
            run.append(ch)
    if run:
        out.append("".join(run))
    return out


def decompose(ids: list[int], new_bytes: list, encode_batch, old_bytes: list) -> dict[int, list[int]]:
    """Old-tokenizer pieces of each target token (see the module docstring).

    ``encode_batch(list[str]) -> list[list[int]]`` encodes without special tokens."""
    single = {}
    for i, b in enumerate(old_bytes):
        if b is not None and len(b) == 1 and b not in single:
            single[b] = i
    segs = {i: _segments(new_bytes[i]) for i in ids}
    texts = sorted({s for v in segs.values() for s in v if isinstance(s, str)})
    enc = dict(zip(texts, encode_batch(texts))) if texts else {}
    out = {}
    for i in ids:
        pieces: list[int] = []
        for s in segs[i]:
            if isinstance(s, str):
                pieces += list(enc[s])
            elif bytes([s]) in single:
                pieces.append(single[bytes([s])])
        out[i] = pieces
    return out


@dataclass
class Combination:
    """Rows to initialise as sparse combinations of old rows, plus rows set to the mean."""
    rows: np.ndarray       # target ids with a combination
    entry_row: np.ndarray  # index into `rows` of each (row, old id, weight) entry
    entry_col: np.ndarray  # old id
    entry_w: np.ndarray    # weight (float64)
    mean_rows: np.ndarray  # target ids set to the mean of all old rows
    stats: dict = field(default_factory=dict)

    def apply(self, W_old, W_new) -> None:
        import torch

        if len(self.rows):
            vals = torch.from_numpy(self.entry_w).to(W_old.dtype)[:, None] * W_old[torch.from_numpy(self.entry_col)]
            acc = torch.zeros(len(self.rows), W_old.shape[1], dtype=W_old.dtype)
            acc.index_add_(0, torch.from_numpy(self.entry_row), vals)
            W_new[torch.from_numpy(self.rows)] = acc
        if len(self.mean_rows):
            W_new[torch.from_numpy(self.mean_rows)] = W_old.mean(dim=0)


def subword_weights(pieces: list[int], old_bytes: list, length_weighted: bool) -> np.ndarray:
    if length_weighted:
        lens = np.array([len(old_bytes[p] or b"") for p in pieces], dtype=np.float64)
        if lens.sum() > 0:
            return lens / lens.sum()
    return np.full(len(pieces), 1.0 / len(pieces))


def _plan_mean(params: dict, init_ids: list[int], pieces: dict[int, list[int]], old_bytes: list, E_old,
               candidates: np.ndarray, chunk: int) -> Combination:
    return Combination(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                       np.zeros(0), np.array(sorted(init_ids), dtype=np.int64), {"mean": len(init_ids)})


def _plan_subword(params: dict, init_ids: list[int], pieces: dict[int, list[int]], old_bytes: list, E_old,
                  candidates: np.ndarray, chunk: int) -> Combination:
    lw = params.get("length_weighted", False)
    with_pieces = [i for i in init_ids if pieces.get(i)]
    mean_rows = np.array(sorted(set(init_ids) - set(with_pieces)), dtype=np.int64)
    er, ec, ew = [], [], []
    for r, i in enumerate(with_pieces):
        p = pieces[i]
        w = subword_weights(p, old_bytes, lw)
        er += [r] * len(p)
        ec += p
        ew.append(w)
    rows = np.array(with_pieces, dtype=np.int64)
    entry_row = np.array(er, dtype=np.int64)
    entry_col = np.array(ec, dtype=np.int64)
    entry_w = np.concatenate(ew) if ew else np.zeros(0)
    stats = {"subword": len(with_pieces), "mean_fallback": len(mean_rows),
             "mean_pieces": float(len(entry_col) / max(1, len(with_pieces)))}
    return Combination(rows, entry_row, entry_col, entry_w, mean_rows, stats)


def _plan_hybrid(params: dict, init_ids: list[int], pieces: dict[int, list[int]], old_bytes: list, E_old,
                 candidates: np.ndarray, chunk: int) -> Combination:
    """The subword estimate, mixed with its global neighbours in the source embedding space."""
    import torch

    sub = _plan_subword(params, init_ids, pieces, old_bytes, E_old, candidates, chunk)
    rows, entry_row, entry_col, entry_w, mean_rows, stats = (sub.rows, sub.entry_row, sub.entry_col, sub.entry_w,
                                                             sub.mean_rows, sub.stats)
    if not len(rows):
        return sub
    k, tau, mix = params["k"], params["temperature"], params["mix"]
    local = Combination(np.arange(len(rows), dtype=np.int64), entry_row, entry_col, entry_w, np.zeros(0, np.int64))
    L = torch.zeros(len(rows), E_old.shape[1], dtype=E_old.dtype)
    local.apply(E_old, L)
    cand = torch.from_numpy(np.asarray(candidates, dtype=np.int64))
    K = torch.nn.functional.normalize(E_old[cand].double(), dim=1)
    k_eff = min(k, len(cand))
    g_row, g_col, g_w = [], [], []
    sims_top = []
    for s in range(0, len(rows), chunk):
        Q = torch.nn.functional.normalize(L[s:s + chunk].double(), dim=1)
        S = Q @ K.T
        val, idx = torch.topk(S, k_eff, dim=1)
        w = torch.softmax(val / tau, dim=1)
        g_row.append(np.repeat(np.arange(s, s + len(Q)), k_eff))
        g_col.append(cand[idx].reshape(-1).numpy())
        g_w.append(w.reshape(-1).numpy())
        sims_top.append(val[:, 0].numpy())
    entry_row = np.concatenate([entry_row, *g_row])
    entry_col = np.concatenate([entry_col, *g_col])
    entry_w = np.concatenate([(1.0 - mix) * entry_w, mix * np.concatenate(g_w)])
    top1 = np.concatenate(sims_top)
    stats.update({"hybrid": len(rows), "k": k_eff, "mean_top1_cosine": float(top1.mean()) if len(top1) else None})
    return Combination(rows, entry_row, entry_col, entry_w, mean_rows, stats)


@dataclass(frozen=True)
class Method:
    """A transplant method: how the rows of new tokens are initialised.

    ``plan(params, init_ids, pieces, old_bytes, E_old, candidates, chunk) -> Combination`` gives
    the rows; ``uses_pieces``: it needs the old tokenizer's pieces of every new token
    (:func:`decompose`); ``defaults``: every parameter it takes, with its default (the cache key
    holds the parameters with these filled in)."""

    name: str
    plan: Callable[..., Combination]
    defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)
    uses_pieces: bool = True
    description: str = ""


METHODS: Registry[Method] = Registry("transplant method", group=None)
for _m in (Method("mean", _plan_mean, {}, uses_pieces=False,
                  description="every new row is the mean of all source rows (ReTok-style baseline)"),
           Method("subword", _plan_subword, {"length_weighted": False},
                  description="FVT: the mean (or byte-length weighted mean) of the old pieces' rows"),
           Method("hybrid", _plan_hybrid, {"k": 3, "temperature": 0.3, "mix": 0.3, "length_weighted": False},
                  description="TokenAdapt-style: the subword estimate mixed with its k nearest source rows")):
    METHODS.add(_m.name, _m)


def plan_rows(method: str, params: dict, init_ids: list[int], pieces: dict[int, list[int]], old_bytes: list,
              E_old, candidates: np.ndarray, *, chunk: int = 512) -> Combination:
    """The combination of old rows for every target id in ``init_ids`` (rows not copied)."""
    return METHODS.get(method).plan(params, init_ids, pieces, old_bytes, E_old, candidates, chunk)
