"""Robustness by perturbation type for the leaderboard (robustness suites, docs/robustness.md).

Which metrics: the suite's headline metrics (``Meta.headline`` order) whose pooled rows
(``lang = "*"``) carry a ``perturbation`` key in their ``params``; for the built-in metrics these
are the token edit distance, the word change share, the token inflation and the model side's
bits/byte ratio. No metric name is written here.

``robustness_by_perturbation[_<suite>].png``: one panel per such metric, a heatmap of
tokenizers (or models) x perturbation types, value printed in each cell; rows sorted by their
value on the pooled variant (the headline variant, lower first), columns by their mean.

Reads only prepared store rows (``data.prepare``) and metric metadata.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS
from .data import Meta, mpl_text

__all__ = ["perturbation_matrices", "plot_robustness"]

KEY = '"perturbation"'
IDENTITY = "identity"


def perturbation_matrices(sdf: pd.DataFrame, meta: Meta) -> list[tuple[str, pd.DataFrame]]:
    """(metric, rows x perturbation-type matrix of lang="*" values) per headline metric that has them."""
    out, seen = [], set()
    pooled = sdf[sdf["lang"] == ALL_LANGS]
    for metric, headline_variant in meta.headline:
        if metric in seen:
            continue
        rows = pooled[(pooled["metric"] == metric) & pooled["params"].astype(str).str.contains(KEY, regex=False)]
        if rows.empty:
            continue
        seen.add(metric)
        mat = rows.groupby(["_row", "variant"])["value"].mean().unstack("variant")
        mat = mat.drop(columns=[c for c in (IDENTITY,) if c in mat.columns])
        if mat.empty:
            continue
        key = mat[headline_variant] if headline_variant in mat.columns else mat.mean(axis=1)
        rows_order = sorted(mat.index, key=lambda r: (np.isnan(key[r]), np.nan_to_num(key[r]), r))
        rest = [c for c in mat.columns if c != headline_variant]
        cols = sorted(rest, key=lambda c: (float(np.nan_to_num(mat[c].mean())), c))
        cols = ([headline_variant] if headline_variant in mat.columns else []) + cols
        out.append((metric, mat.loc[rows_order, cols]))
    return out


def plot_robustness(sdf: pd.DataFrame, out_dir: Path, suite: str, meta: Meta, *, suffix: str = "",
                    dpi_scale: float = 1.0) -> list[Path]:
    """Write the robustness plot of one suite of prepared rows (none without perturbation rows)."""
    mats = [(m, mat) for m, mat in perturbation_matrices(sdf, meta) if np.isfinite(mat.to_numpy(float)).any()]
    if not mats:
        return []
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nr = max(len(mat) for _, mat in mats)
    nc = max(len(mat.columns) for _, mat in mats)
    fig = Figure(figsize=(min(60.0, 1.5 + 0.55 * nc) * len(mats), min(30.0, 2.5 + 0.3 * nr)), dpi=100 * dpi_scale)
    FigureCanvasAgg(fig)
    for k, (metric, mat) in enumerate(mats):
        ax = fig.add_subplot(1, len(mats), k + 1)
        vals = mat.to_numpy(dtype=float)
        cmap = "viridis_r" if meta.direction(metric) is False else "viridis"
        im = ax.imshow(np.ma.masked_invalid(vals), aspect="auto", cmap=cmap, interpolation="nearest")
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=6, color="white"
                            if im.norm(vals[i, j]) > 0.5 else "black")
        ax.set_xticks(range(vals.shape[1]), [mpl_text(c) for c in mat.columns], rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(vals.shape[0]), [mpl_text(r) for r in mat.index], fontsize=7)
        ax.set_title(mpl_text(f"{metric} ({meta.unit(metric)})"), fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(mpl_text(f"{suite}: robustness by perturbation type (all languages pooled)"), fontsize=10)
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"robustness_by_perturbation{suffix}.png"
    fig.savefig(path)
    return [path]
