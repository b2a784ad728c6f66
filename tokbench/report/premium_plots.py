"""Plots of token premiums (``premium/corpus`` rows) for the leaderboard.

* ``premium_heatmap[_<suite>].png``: tokenizers x languages, colour = premium against the
  reference language on a log scale centred at 1 (blue cheaper, red dearer than the
  reference); languages sorted by their mean premium across tokenizers, tokenizers by
  ``parity/mean`` (the mean premium over the suite's languages, lower first). Blank cells:
  blanked pairs (UNK covers too many characters) or missing rows.
* ``premium_worst_languages[_<suite>].png``: small multiples, one panel per tokenizer in the
  same order, each a bar chart of its 20 dearest languages.

Reads only prepared store rows (``leaderboard.prepare``): never the runner or the metrics.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS
from .leaderboard import _mpl, _select

__all__ = ["plot_premiums", "premium_matrix"]

PREMIUM = ("premium", "corpus")
PARITY_MEAN = ("parity", "mean")
WORST = 20


def _reference(rows: pd.DataFrame) -> str | None:
    refs = set()
    for p in rows.get("params", pd.Series(dtype=object)).dropna():
        try:
            ref = json.loads(p).get("reference_lang")
        except (TypeError, ValueError):
            continue
        if ref:
            refs.add(str(ref))
    return ", ".join(sorted(refs)) if refs else None


def premium_matrix(sdf: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """Tokenizer rows x language columns of ``premium/corpus`` (mean over corpora), sorted:
    rows by ``parity/mean`` (else the row mean) ascending, columns by the mean premium across
    tokenizers ascending. The reference language (premium 1 by construction) is left out.
    Returns the matrix and the reference language(s)."""
    per = _select(sdf, PREMIUM)
    per = per[per["lang"] != ALL_LANGS]
    if per.empty:
        return pd.DataFrame(), None
    ref = _reference(per)
    mat = per.groupby(["_row", "lang"])["value"].mean().unstack("lang")
    if ref is not None:
        mat = mat.drop(columns=[c for c in mat.columns if c in set(ref.split(", "))], errors="ignore")
    par = _select(sdf, PARITY_MEAN)
    par = par[par["lang"] == ALL_LANGS].groupby("_row")["value"].mean()
    with np.errstate(all="ignore"):
        row_key = pd.Series({r: par.get(r, np.nan) for r in mat.index}, dtype=float)
        row_key = row_key.fillna(mat.mean(axis=1, skipna=True))
        col_key = mat.mean(axis=0, skipna=True)
    rows = sorted(mat.index, key=lambda r: (math.isnan(row_key[r]), np.nan_to_num(row_key[r]), r))
    cols = sorted(mat.columns, key=lambda c: (math.isnan(col_key[c]), np.nan_to_num(col_key[c]), c))
    return mat.loc[rows, cols], ref


def plot_premiums(sdf: pd.DataFrame, out_dir: Path, suite: str, *, suffix: str = "") -> list[Path]:
    """Write the premium heatmap and the worst-languages small multiples for one suite of
    prepared rows; returns the paths written (none when the suite has no premium rows)."""
    mat, ref = premium_matrix(sdf)
    if mat.empty or not np.isfinite(mat.to_numpy(dtype=float)).any():
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_heatmap(mat, ref, out_dir / f"premium_heatmap{suffix}.png", suite),
            _worst(mat, ref, out_dir / f"premium_worst_languages{suffix}.png", suite)]


def _heatmap(mat: pd.DataFrame, ref: str | None, path: Path, suite: str) -> Path:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    vals = mat.to_numpy(dtype=float)
    nr, nc = vals.shape
    with np.errstate(all="ignore"):
        logv = np.log2(vals)
    finite = logv[np.isfinite(logv)]
    lo, hi = min(float(finite.min()), -0.1), max(float(finite.max()), 0.1)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi)
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    width = min(60.0, max(7.0, 2.5 + 0.17 * nc))
    height = min(30.0, max(3.0, 2.0 + 0.3 * nr))
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    im = ax.imshow(np.ma.masked_invalid(logv), aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
    if nc <= 30:
        for i in range(nr):
            for j in range(nc):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, f"{vals[i, j]:.1f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(norm(logv[i, j]) - 0.5) > 0.35 else "black")
    ax.set_xticks(range(nc))
    ax.set_xticklabels([_mpl(c) for c in mat.columns], rotation=90, fontsize=7 if nc <= 80 else 6)
    ax.set_yticks(range(nr))
    ax.set_yticklabels([_mpl(r) for r in mat.index], fontsize=8)
    against = f"against {ref}" if ref else "against the reference language"
    ax.set_xlabel("language (sorted by mean premium across tokenizers)", fontsize=8)
    ax.set_ylabel("tokenizer (by parity/mean)", fontsize=8)
    ax.set_title(_mpl(f"{suite}: token premium {against} (corpus: tokens / reference tokens); "
                      f"grey = blank (UNK over the limit) or missing"), fontsize=10)
    cbar = fig.colorbar(im, ax=ax, fraction=0.02 if nc > 40 else 0.04, pad=0.01)
    ticks = [t for t in (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64) if lo <= math.log2(t) <= hi]
    cbar.set_ticks([math.log2(t) for t in ticks])
    cbar.set_ticklabels([f"{t:g}" for t in ticks])
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label("premium (log scale)", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    fig.clear()
    return path


def _worst(mat: pd.DataFrame, ref: str | None, path: Path, suite: str) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(mat.index)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    k = min(WORST, mat.shape[1])
    panel_h = 0.9 + 0.19 * k
    fig = Figure(figsize=(5.2 * ncols, panel_h * nrows + 0.6), dpi=90)
    FigureCanvasAgg(fig)
    vmax = float(np.nanmax(mat.to_numpy(dtype=float)))
    for i, tok in enumerate(mat.index):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        row = mat.loc[tok]
        blanked = int(row.isna().sum())
        worst = row.dropna().sort_values(ascending=False).head(k)[::-1]   # dearest on top
        bars = ax.barh(range(len(worst)), worst.to_numpy(), color="#c44e52")
        ax.set_yticks(range(len(worst)))
        ax.set_yticklabels([_mpl(x) for x in worst.index], fontsize=7)
        for b, v in zip(bars, worst.to_numpy()):
            ax.text(b.get_width() + vmax * 0.01, b.get_y() + b.get_height() / 2, f"{v:.2f}",
                    va="center", fontsize=6)
        ax.axvline(1.0, color="#444", lw=0.7, ls="--")
        ax.set_xlim(0, vmax * 1.15)
        ax.tick_params(axis="x", labelsize=7)
        extra = f" ({blanked} blank)" if blanked else ""
        ax.set_title(_mpl(f"{tok}{extra}"), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    against = f"against {ref}" if ref else "against the reference language"
    fig.suptitle(_mpl(f"{suite}: the {k} dearest languages per tokenizer (token premium {against}, "
                      f"corpus variant; dashed line = parity)"), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=90, bbox_inches="tight")
    fig.clear()
    return path
