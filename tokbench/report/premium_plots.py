"""Plots of a measure against a reference language (token premiums) for the leaderboard.

Which columns: the suite's first headline variant (``Meta.headline``) whose per-language rows
carry a ``reference_lang`` in their ``params`` (the matrix), and the first whose ``lang="*"``
rows do (the row order, e.g. a mean over the suite's languages). For the built-in metrics these
are ``premium/corpus`` and ``parity/mean``; no metric name is written here.

* ``<metric>_heatmap[_<suite>].png``: tokenizers x languages, colour = the value against the
  reference language on a log scale centred at 1 (blue cheaper, red dearer than the
  reference); languages sorted by their mean across tokenizers, tokenizers by the summary
  column (lower first). Blank cells: blanked pairs (e.g. UNK covers too many characters) or
  missing rows.
* ``<metric>_worst_languages[_<suite>].png``: small multiples, one panel per tokenizer in the
  same order, each a bar chart of its 20 dearest languages.

Reads only prepared store rows (``data.prepare``) and metric metadata.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS
from .data import MV, Meta, mpl_text as _mpl, select

__all__ = ["plot_premiums", "premium_matrix", "reference_columns"]

WORST = 20
REFERENCE_KEY = "reference_lang"     # the params key of rows measured against a reference language


def _reference(rows: pd.DataFrame) -> str | None:
    refs = set()
    for p in rows.get("params", pd.Series(dtype=object)).dropna():
        try:
            ref = json.loads(p).get(REFERENCE_KEY)
        except (TypeError, ValueError, AttributeError):
            continue
        if ref:
            refs.add(str(ref))
    return ", ".join(sorted(refs)) if refs else None


def _has_reference(rows: pd.DataFrame) -> bool:
    return bool(rows["params"].astype(str).str.contains(f'"{REFERENCE_KEY}"', regex=False).any())


def reference_columns(sdf: pd.DataFrame, meta: Meta) -> tuple[MV | None, MV | None]:
    """(matrix column, row-order column) of one suite, from the data and the headline order."""
    per_lang = summary = None
    for mv in meta.headline:
        col = select(sdf, mv)
        if col.empty:
            continue
        if per_lang is None and _has_reference(col[col["lang"] != ALL_LANGS]):
            per_lang = mv
        if summary is None and _has_reference(col[col["lang"] == ALL_LANGS]):
            summary = mv
    return per_lang, summary


def premium_matrix(sdf: pd.DataFrame, meta: Meta | None = None) -> tuple[pd.DataFrame, str | None]:
    """Tokenizer rows x language columns of the matrix column (mean over corpora), sorted:
    rows by the row-order column (else the row mean) ascending, columns by the mean across
    tokenizers ascending. The reference language (1 by construction) is left out. Returns the
    matrix and the reference language(s). ``meta`` defaults to ``tokbench.metrics.metric_info()``."""
    if meta is None:
        from ..metrics import metric_info

        meta = Meta(metric_info())
    mv, order_mv = reference_columns(sdf, meta)
    if mv is None:
        return pd.DataFrame(), None
    per = select(sdf, mv)
    per = per[per["lang"] != ALL_LANGS]
    ref = _reference(per)
    mat = per.groupby(["_row", "lang"])["value"].mean().unstack("lang")
    if ref is not None:
        mat = mat.drop(columns=[c for c in mat.columns if c in set(ref.split(", "))], errors="ignore")
    par = select(sdf, order_mv) if order_mv else sdf.iloc[:0]
    par = par[par["lang"] == ALL_LANGS].groupby("_row")["value"].mean()
    with np.errstate(all="ignore"):
        row_key = pd.Series({r: par.get(r, np.nan) for r in mat.index}, dtype=float)
        row_key = row_key.fillna(mat.mean(axis=1, skipna=True))
        col_key = mat.mean(axis=0, skipna=True)
    rows = sorted(mat.index, key=lambda r: (math.isnan(row_key[r]), np.nan_to_num(row_key[r]), r))
    cols = sorted(mat.columns, key=lambda c: (math.isnan(col_key[c]), np.nan_to_num(col_key[c]), c))
    return mat.loc[rows, cols], ref


def plot_premiums(sdf: pd.DataFrame, out_dir: Path, suite: str, meta: Meta, *, suffix: str = "",
                  dpi_scale: float = 1.0) -> list[Path]:
    """Write the heatmap and the worst-languages small multiples for one suite of prepared
    rows; returns the paths written (none when no column is measured against a reference).
    ``dpi_scale`` scales their resolution."""
    mv, order_mv = reference_columns(sdf, meta)
    if mv is None:
        return []
    mat, ref = premium_matrix(sdf, meta)
    if mat.empty or not np.isfinite(mat.to_numpy(dtype=float)).any():
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    what = f"{mv[0]}/{mv[1]}"
    by = f"{order_mv[0]}/{order_mv[1]}" if order_mv else "row mean"
    return [_heatmap(mat, ref, out_dir / f"{mv[0]}_heatmap{suffix}.png", suite, what, by, 100 * dpi_scale),
            _worst(mat, ref, out_dir / f"{mv[0]}_worst_languages{suffix}.png", suite, what, 90 * dpi_scale)]


def _heatmap(mat: pd.DataFrame, ref: str | None, path: Path, suite: str, what: str, by: str,
             dpi: float = 100) -> Path:
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
    fig = Figure(figsize=(width, height), dpi=dpi)
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
    ax.set_xlabel(_mpl(f"language (sorted by mean {what} across tokenizers)"), fontsize=8)
    ax.set_ylabel(_mpl(f"tokenizer (by {by})"), fontsize=8)
    ax.set_title(_mpl(f"{suite}: {what} {against}; grey = blank or missing"), fontsize=10)
    cbar = fig.colorbar(im, ax=ax, fraction=0.02 if nc > 40 else 0.04, pad=0.01)
    ticks = [t for t in (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64) if lo <= math.log2(t) <= hi]
    cbar.set_ticks([math.log2(t) for t in ticks])
    cbar.set_ticklabels([f"{t:g}" for t in ticks])
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label(_mpl(f"{what} (log scale)"), fontsize=8)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    fig.clear()
    return path


def _worst(mat: pd.DataFrame, ref: str | None, path: Path, suite: str, what: str, dpi: float = 90) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(mat.index)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    k = min(WORST, mat.shape[1])
    panel_h = 0.9 + 0.19 * k
    fig = Figure(figsize=(5.2 * ncols, panel_h * nrows + 0.6), dpi=dpi)
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
    fig.suptitle(_mpl(f"{suite}: the {k} highest languages per tokenizer ({what} {against}; "
                      f"dashed line = 1)"), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    fig.clear()
    return path
