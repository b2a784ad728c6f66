"""The leaderboard's plots of one suite, chosen by metric metadata (``Meta.drilldown``):

* ``<metric>_by_language<suffix>.png``: heatmap tokenizers x languages of the suite's first
  drill-down variant that has per-language rows;
* ``<metric><suffix>.png``: bar chart of the summary values of the suite's next drill-down
  variant;
* the premium plots (``premium_plots``) of the suite's first headline variant measured against
  a reference language;
* stacked bars of variants that are shares of one whole (``stack_plots``, ``Show.stack``);
* per-domain bars of a premium measured against a reference (``domain_plots``) and heatmaps of
  perturbation-typed metrics (``robustness_plots``).

Reads only prepared store rows (``data.prepare``) and metric metadata.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS
from .data import MV, Meta, better_word, mpl_text, select
from .premium_plots import plot_premiums
from .domain_plots import plot_premium_bars
from .robustness_plots import plot_robustness
from .stack_plots import plot_stacks
from .tables import lang_columns, summary_values

__all__ = ["plot_suite", "plot_choice"]


def plot_choice(sdf: pd.DataFrame, meta: Meta) -> tuple[MV | None, MV | None]:
    """(heatmap by language, bar chart) columns of one suite: its first two drill-down
    variants stored, the first with per-language rows."""
    stored = [mv for mv in meta.drilldown if len(select(sdf, mv))]
    heat = next((mv for mv in stored if (select(sdf, mv)["lang"] != ALL_LANGS).any()), None)
    bar = next((mv for mv in stored if mv != heat), None)
    return heat, bar


def plot_suite(sdf: pd.DataFrame, suite: str, out_dir: Path, order: list[str], meta: Meta, *,
               suffix: str = "", dpi_scale: float = 1.0) -> list[Path]:
    """Write the plots of one suite of prepared rows into ``out_dir``; returns the paths
    written (a plot without data is skipped). ``dpi_scale`` scales every plot's resolution
    (the published site writes smaller images)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    heat, bar = plot_choice(sdf, meta)
    paths = []
    if heat is not None:
        paths.append(_heatmap(sdf, heat, order, out_dir / f"{heat[0]}_by_language{suffix}.png", suite, meta,
                              110 * dpi_scale))
    if bar is not None:
        name = bar[0] if heat is None or bar[0] != heat[0] else f"{bar[0]}_{bar[1]}"
        paths.append(_bars(sdf, bar, out_dir / f"{name}{suffix}.png", suite, meta, 110 * dpi_scale))
    paths += plot_premiums(sdf, out_dir, suite, meta, suffix=suffix, dpi_scale=dpi_scale)
    paths += plot_premium_bars(sdf, out_dir, suite, meta, suffix=suffix, dpi_scale=dpi_scale)
    paths += plot_stacks(sdf, out_dir, suite, meta, order, suffix=suffix, dpi_scale=dpi_scale)
    paths += plot_robustness(sdf, out_dir, suite, meta, suffix=suffix, dpi_scale=dpi_scale)
    return [p for p in paths if p is not None]


def _heatmap(sdf: pd.DataFrame, mv: MV, order: list[str], path: Path, suite: str, meta: Meta,
             dpi: float = 110) -> Path | None:
    per = select(sdf, mv)
    per = per[per["lang"] != ALL_LANGS]
    if per.empty or per["value"].notna().sum() == 0:
        return None
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    langs = lang_columns(per)
    rows = [r for r in order if r in set(per["_row"])] + sorted(set(per["_row"]) - set(order))
    mat = np.full((len(rows), len(langs)), np.nan)
    index = {r: i for i, r in enumerate(rows)}
    lpos = {(c, lang): j for j, (c, lang, _) in enumerate(langs)}
    for (r, c, lang), v in per.groupby(["_row", "corpus", "lang"])["value"].mean().items():
        mat[index[r], lpos[c, lang]] = v
    with np.errstate(all="ignore"):
        col_mean = np.nanmean(mat, axis=0)
    jorder = sorted(range(len(langs)), key=lambda j: (np.isnan(col_mean[j]), np.nan_to_num(col_mean[j]), langs[j][2]))
    mat = mat[:, jorder]
    xlabels = [mpl_text(langs[j][2]) for j in jorder]
    ylabels = [mpl_text(r) for r in rows]

    nr, nc = mat.shape
    width = min(40.0, max(6.0, 1.5 + 0.48 * nc + 0.07 * max(len(y) for y in ylabels)))
    height = min(30.0, max(2.8, 1.6 + 0.36 * nr))
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#e6e6e6")
    finite = mat[np.isfinite(mat)]
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmax <= vmin:
        vmax = vmin + 1e-9
    im = ax.imshow(np.ma.masked_invalid(mat), aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    fs = 7 if nc <= 20 else 6
    for i in range(nr):
        for j in range(nc):
            v = mat[i, j]
            if np.isfinite(v):
                dark = (v - vmin) / (vmax - vmin) > 0.6
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=fs,
                        color="white" if dark else "black")
    ax.set_xticks(range(nc))
    ax.set_xticklabels(xlabels, rotation=60 if nc > 8 else 0, ha="right" if nc > 8 else "center", fontsize=8)
    ax.set_yticks(range(nr))
    ax.set_yticklabels(ylabels, fontsize=8)
    ax.set_xlabel(mpl_text(f"language (sorted by mean {mv[0]}/{mv[1]} across rows)"))
    unit = meta.unit(*mv)
    better = better_word(meta.direction(*mv))
    ax.set_title(mpl_text(f"{suite}: {mv[0]}/{mv[1]}" + (f" ({unit})" if unit else "")
                          + (f", {better} is better" if better in ("higher", "lower") else "")), fontsize=10)
    cbar = fig.colorbar(im, ax=ax, fraction=0.03 if nc > 10 else 0.05, pad=0.01)
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label(mpl_text(unit or mv[0]), fontsize=8)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    fig.clear()
    return path


def bar_items(cells) -> list[tuple[str, float, bool]]:
    """(label, value, apart) per bar, smallest first (barh puts the largest on top). Like with
    like: a bar computed on other scopes than the column's full rows (a ‡ / † cell, which is
    never "best") is ``apart``: drawn grey and hatched, its label says "(other scopes)"."""
    items = [(r, c.value, not c.compete) for r, c in cells.items() if not math.isnan(c.value)]
    items.sort(key=lambda x: (x[1], x[0]))
    return [(r + (" (other scopes)" if apart else ""), v, apart) for r, v, apart in items]


def _bars(sdf: pd.DataFrame, mv: MV, path: Path, suite: str, meta: Meta, dpi: float = 110) -> Path | None:
    cells, source = summary_values(sdf, mv)
    items = bar_items(cells)
    if not items:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [mpl_text(label) for label, _, _ in items]
    vals = [v for _, v, _ in items]
    height = min(30.0, max(2.5, 1.2 + 0.32 * len(items)))
    width = min(16.0, max(6.0, 4.0 + 0.07 * max(len(x) for x in labels)))
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    bars = ax.barh(range(len(vals)), vals, color=["#bbbbbb" if apart else "#4c78a8" for _, _, apart in items])
    for b, (_, _, apart) in zip(bars, items):
        if apart:
            b.set_hatch("//")
    ax.set_yticks(range(len(vals)))
    ax.set_yticklabels(labels, fontsize=8)
    vmax = max(vals)
    for b, v in zip(bars, vals):
        ax.text(b.get_width() + vmax * 0.01, b.get_y() + b.get_height() / 2, f"{v:.3f}", va="center", fontsize=7)
    ax.set_xlim(0, vmax * 1.12 if vmax > 0 else 1)
    what = {"star": 'all languages (lang="*")', "mean": 'mean over languages (no lang="*" rows)',
            "mixed": 'lang="*" rows, else mean over languages'}[source]
    unit = meta.unit(*mv)
    ax.set_xlabel(mpl_text(f"{unit or mv[0]}, {what}"), fontsize=8)
    better = better_word(meta.direction(*mv))
    ax.set_title(mpl_text(f"{suite}: {mv[0]}/{mv[1]}" + (f", {better} is better" if better in ("higher", "lower")
                                                          else "")), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    fig.clear()
    return path
