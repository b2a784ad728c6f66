"""Shares split over corpora: a tokenizer x corpus table and one stacked bar per tokenizer.

For every variant whose metadata says ``by_corpus`` (``Show.by_corpus``: each row is one share of
a whole and its ``corpus`` names the part, e.g. ``mixture_weight/weight``, row corpus = the
category), the suite section gets a table (rows: the summary order of tokenizers; columns: the
corpora, largest mean share first; the ``lang="*"`` rows) with the distinct row notes under it
as caveats, and a stacked-bar plot ``<metric>_by_corpus<suffix>.png`` (``stack_plots``). No
metric or suite name is written here.

Reads only prepared store rows (``data.prepare``) and metric metadata.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data import Meta, fmt, select, text
from .html import e
from .markdown import md_esc
from .stack_plots import draw_stack

__all__ = ["corpus_shares", "share_variants"]


def share_variants(meta: Meta) -> list[tuple[str, str]]:
    return [(m, v) for m, info in meta.info.items() for v, var in ((info or {}).get("variants") or {}).items()
            if var.get("by_corpus")]


def corpus_shares(sdf: pd.DataFrame, suite: str, meta: Meta, out_dir: Path, order: list[str], *,
                  suffix: str = "", dpi_scale: float = 1.0) -> tuple[list[str], list[str], list[Path]]:
    """(markdown lines, HTML lines, plot paths) for the suite's ``by_corpus`` variants."""
    md: list[str] = []
    html: list[str] = []
    plots: list[Path] = []
    for metric, variant in share_variants(meta):
        rows = select(sdf, (metric, variant))
        rows = rows[rows["lang"] == "*"] if (rows["lang"] == "*").any() else rows
        if rows.empty:
            continue
        wide = rows.pivot_table(index="_row", columns="corpus", values="value", aggfunc="last")
        corpora = list(wide.mean(axis=0).sort_values(ascending=False).index)
        labels = [r for r in order if r in wide.index] + sorted(set(wide.index) - set(order))
        wide = wide.loc[labels, corpora]
        title = f"{metric}/{variant} by corpus"
        unit = meta.unit(metric, variant)
        notes = [n for n in dict.fromkeys(text(x) for x in rows.get("note", pd.Series(dtype=object))) if n]
        head = ["tokenizer", *corpora]
        md += [f"### {md_esc(title)}", "", f"{md_esc(meta.description(metric))} Unit: {md_esc(unit)}; rows sum to 1.", "",
               "| " + " | ".join(md_esc(h) for h in head) + " |", "|" + "---|" * len(head)]
        html += [f"<h3>{e(title)}</h3>", f'<p class="caption">{e(meta.description(metric))} Unit: {e(unit)}; '
                 "rows sum to 1.</p>", "<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head)
                 + "</tr></thead><tbody>"]
        for label in labels:
            vals = [wide.at[label, c] for c in corpora]
            cells = [fmt(v) for v in vals]
            md.append("| " + " | ".join([md_esc(label), *cells]) + " |")
            html.append("<tr>" + f"<td>{e(label)}</td>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
        html.append("</tbody></table>")
        for n in notes:
            md += ["", f"Note: {md_esc(n)}"]
            html.append(f'<p class="caption">Note: {e(n)}</p>')
        md.append("")
        cells = {c: {label: float(wide.at[label, c]) for label in labels} for c in corpora}
        path = Path(out_dir) / f"{metric}_by_corpus{suffix}.png"
        plots.append(draw_stack(path, suite, metric, "by corpus", corpora, cells, labels, 110 * dpi_scale))
    return md, html, plots
