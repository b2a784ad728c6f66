"""Premium bars: one panel per language (a domain of domain-v1), one bar per tokenizer.

For suites with few languages measured against a reference language (at most ``MAX_PANELS``;
domain-v1 has 7 domains against general English), bars read better than the premium heatmap:
each panel is one domain, its bars the tokenizers sorted by their value, a line at 1 (the
reference's own cost), bars above 1 red (dearer than the reference), below 1 blue, at 1 grey. The column is
the one ``premium_plots.reference_columns`` chooses from the metric metadata (the first
headline variant whose per-language rows carry ``reference_lang``): ``domain_premium/per_byte``
for domain-v1. No metric or suite name is written here.

Called by ``plots.plot_suite`` after the premium plots. Reads only prepared store rows (``data.prepare``) and metric metadata.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .data import Meta, mpl_text
from .premium_plots import premium_matrix, reference_columns

__all__ = ["MAX_PANELS", "plot_premium_bars"]

MAX_PANELS = 12  # more languages than this: the heatmap is the better plot


def plot_premium_bars(sdf: pd.DataFrame, out_dir: Path, suite: str, meta: Meta, *, suffix: str = "",
                      dpi_scale: float = 1.0) -> list[Path]:
    """Write ``<metric>_bars<suffix>.png`` for one suite of prepared rows; returns the paths
    written (none without a reference-measured column, or with more than MAX_PANELS languages)."""
    mv, _ = reference_columns(sdf, meta)
    if mv is None:
        return []
    mat, ref = premium_matrix(sdf, meta)
    if mat.empty or mat.shape[1] > MAX_PANELS or not np.isfinite(mat.to_numpy(dtype=float)).any():
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_bars(mat, ref, out_dir / f"{mv[0]}_bars{suffix}.png", suite, f"{mv[0]}/{mv[1]}", 100 * dpi_scale)]


def _bars(mat: pd.DataFrame, ref: str | None, path: Path, suite: str, what: str, dpi: float) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    langs = list(mat.columns)
    ncols = min(4, len(langs))
    nrows = math.ceil(len(langs) / ncols)
    n_tok = len(mat.index)
    fig = Figure(figsize=(3.6 * ncols, max(2.5, 0.5 + 0.19 * n_tok) * nrows), dpi=dpi)
    FigureCanvasAgg(fig)
    for k, lang in enumerate(langs):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        col = mat[lang].dropna().sort_values()
        vals = col.to_numpy(dtype=float)
        colors = ["#999999" if abs(v - 1) < 1e-9 else "#c0392b" if v > 1 else "#2e75b6" for v in vals]
        ax.barh(range(len(vals)), vals, color=colors, height=0.75)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(vals)))
        ax.set_yticklabels([mpl_text(str(r)) for r in col.index], fontsize=6)
        ax.invert_yaxis()
        ax.set_title(mpl_text(str(lang)), fontsize=8)
        ax.tick_params(axis="x", labelsize=6)
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.2f}", va="center", fontsize=5)
        if len(vals):
            ax.set_xlim(0, float(np.nanmax(vals)) * 1.18)
    against = f" against {ref}" if ref else ""
    fig.suptitle(mpl_text(f"{suite}: {what}{against} (1 = the reference's tokens per byte; lower is cheaper)"),
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path)
    return path
