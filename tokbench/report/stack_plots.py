"""Stacked bars of variants that are shares of one whole (``Show.stack`` in the metric metadata).

For each (metric, stack name) whose variants a suite stores (e.g. ``digit_chunking``'s
``share_1`` .. ``share_5plus``, "digits per token"): ``<metric>_stack[_<suite>].png``, one
horizontal bar per tokenizer, its segments the variants in the metric's variant order, each
the summary value of the column (``tables.summary_values``: the ``lang="*"`` row, else the mean
over languages). Tokenizers in the summary table's order. Variants under 1% for every tokenizer
are pooled into one grey "other" segment, at most 19 coloured segments (tab20, no colour
repeats). No metric name is written here.

Reads only prepared store rows (``data.prepare``) and metric metadata.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .data import Meta, mpl_text, select
from .tables import summary_values

__all__ = ["draw_stack", "plot_stacks", "stack_groups"]

MIN_SHARE = 0.01  # a variant under this share for every tokenizer joins the "other" segment
MAX_SEGMENTS = 19  # distinct colours of matplotlib's tab20, the 20th is "other" (grey)


def stack_groups(meta: Meta) -> list[tuple[str, str, list[str]]]:
    """(metric, stack name, variants in order) of every stack the metadata declares."""
    out: dict[tuple[str, str], list[str]] = {}
    for m, info in meta.info.items():
        for v, var in ((info or {}).get("variants") or {}).items():
            if var.get("stack"):
                out.setdefault((m, str(var["stack"])), []).append(v)
    return [(m, s, vs) for (m, s), vs in out.items()]


def plot_stacks(sdf: pd.DataFrame, out_dir: Path, suite: str, meta: Meta, order: list[str], *, suffix: str = "",
                dpi_scale: float = 1.0) -> list[Path]:
    """Write one stacked-bar plot per stack stored in the suite's rows; returns the paths."""
    paths = []
    for metric, stack, variants in stack_groups(meta):
        stored = [v for v in variants if len(select(sdf, (metric, v)))]
        if not stored:
            continue
        cells = {v: summary_values(sdf, (metric, v))[0] for v in stored}
        rows = list(dict.fromkeys(r for c in cells.values() for r in c))
        rows = [r for r in order if r in rows] + sorted(set(rows) - set(order))
        if not rows:
            continue
        path = Path(out_dir) / f"{metric}_stack{suffix}.png"
        paths.append(draw_stack(path, suite, metric, stack, stored, cells, rows, 110 * dpi_scale))
    return paths


def draw_stack(path: Path, suite: str, metric: str, stack: str, variants: list[str], cells: dict, rows: list[str],
               dpi: float) -> Path:
    """One horizontal stacked bar per row: ``cells[segment][row]`` is a number or has ``.value``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = min(30.0, max(2.5, 1.4 + 0.32 * len(rows)))
    fig = Figure(figsize=(8.5, height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    y = list(range(len(rows)))[::-1]  # the first row on top
    def num(c) -> float:
        x = float(getattr(c, "value", c))
        return 0.0 if math.isnan(x) else x

    vals = {v: [num(cells[v][r]) if r in cells[v] else 0.0 for r in rows] for v in variants}
    shown = [v for v in variants if max(vals[v]) >= MIN_SHARE]
    shown = sorted(shown, key=lambda v: -max(vals[v]))[:MAX_SEGMENTS]
    shown = [v for v in variants if v in shown]  # keep the metric's variant order
    rest = [v for v in variants if v not in shown]
    segments = [(v, vals[v]) for v in shown]
    if rest:
        segments.append((f"other ({len(rest)}, each < {MIN_SHARE:.0%})" if len(rest) > 1 else rest[0],
                         [sum(vals[v][i] for v in rest) for i in range(len(rows))]))
    import matplotlib

    palette = matplotlib.colormaps["tab20"].colors
    left = [0.0] * len(rows)
    for i, (label, seg) in enumerate(segments):
        color = "#bab0ac" if rest and i == len(segments) - 1 else palette[(2 * i) % 20 if i < 10 else (2 * i - 19) % 20]
        ax.barh(y, seg, left=left, color=color, label=mpl_text(label), edgecolor="white", linewidth=0.5)
        left = [a + b for a, b in zip(left, seg)]
    ax.set_yticks(y)
    ax.set_yticklabels([mpl_text(r) for r in rows], fontsize=8)
    ax.set_xlim(0, max(1.0, max(left)))
    ax.set_xlabel(mpl_text(f"share ({stack})"), fontsize=8)
    ax.set_title(mpl_text(f"{suite}: {metric}, {stack}"), fontsize=10)
    ax.legend(fontsize=7, ncol=min(len(segments), 6), loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.6 / height),
              frameon=False)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
