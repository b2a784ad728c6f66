"""Leaderboard rendering: results DataFrame (the store's long format) -> markdown, HTML, PNG.

The report layer reads only the store (``tokbench.schema`` columns) and metric metadata
(``tokbench.metrics.metric_info()``); it never imports the runner, the tokenizer layer or the
adapters. ``render`` keeps the newest row of every cell (``latest``), then writes, per suite, a
summary table (tokenizers x headline columns), per-language drill-down tables, provenance under
every table, plots, published reference tables; then the joined models table and a metric
legend. What is shown comes from the metric metadata (``data.Meta``), never from lists of names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from .build import build, legend_metrics
from .data import CELL_KEY, Meta, latest, prepare, slug, with_corpus_text
from .html import BEST_NOTE, e, head, legend_html, table_html, tail
from .markdown import write_markdown

__all__ = ["CELL_KEY", "latest", "prepare", "render"]


def render(df: pd.DataFrame, out_dir: Path, *,
           metric_info: Mapping[str, Mapping[str, Any]] | None = None,
           title: str = "tokbench leaderboard", lead: Iterable[str] | None = None,
           corpus_facts: pd.DataFrame | None = None) -> dict[str, Any]:
    """Write ``leaderboard.md``, ``index.html`` and PNG plots for a results DataFrame.

    ``df`` has the ``tokbench.schema`` columns (at least suite, tokenizer, lang, metric,
    variant, value); only the newest row of every cell is used (``latest``). ``metric_info`` is
    ``tokbench.metrics.metric_info()`` (the default) or a dict of the same shape: it gives the
    headline columns and their order, units, directions (arrows, "best" highlighting), the
    drill-down tables of the markdown, the models-table columns and the legend.

    Both pages open with the title, links to the sections and the metric legend; then the
    suites: those named in ``lead`` first (in that order, when stored), then the others by name
    (``build.suite_order``); then the models table.

    ``corpus_facts`` (``tokbench.store.load_corpus_facts``): the corpora's text provenance
    (normalisation applied, share of the raw text NFC changes), shown under every table.

    Plots (``tokbench.report.plots``) are named after their metric; with several suites every
    suite's plots get a ``_<suite>`` suffix. Returns ``{"markdown": Path, "html": Path,
    "plots": [Path, ...]}``.
    """
    if df is None or len(df) == 0:
        raise ValueError("no results to report in the results DataFrame (0 rows); "
                         "run a suite first or check the store path")
    if metric_info is None:
        from ..metrics import metric_info as _metric_info

        metric_info = _metric_info()
    meta = Meta(metric_info)
    data = prepare(df)
    if data.empty:
        raise ValueError("no results to report in the results DataFrame")
    data = with_corpus_text(data, corpus_facts)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    multi = data["suite"].nunique() > 1
    sections = build(data, meta, lambda suite: (out_dir, f"_{slug(suite)}" if multi else ""), lead=lead)
    for s in sections:
        s["plots"] = [Path(p.name) for p in s["plots"]]
    legend = [m for m in legend_metrics(data, meta) if meta.knows(m)]
    md = out_dir / "leaderboard.md"
    page = out_dir / "index.html"
    write_markdown(md, title, sections, legend, meta)
    _write_html(page, title, sections, legend, data, meta)
    plots = [out_dir / p for s in sections for p in s["plots"]]
    return {"markdown": md, "html": page, "plots": plots}


def _anchor(suite: str) -> str:
    return slug("suite-" + suite)


def _write_html(path: Path, title: str, sections: list[dict], legend: list[str], data: pd.DataFrame,
                meta: Meta) -> None:
    out = head(title, inline=True) + [f"<h1>{e(title)}</h1>"]
    if len(sections) > 1 or legend:
        links = [f'<a href="#{e(_anchor(s["suite"]))}">{e(s["suite"])}</a>' for s in sections]
        if legend:
            links.append('<a href="#metrics">metrics</a>')
        out.append("<nav>" + "".join(links) + "</nav>")
    out.append('<p class="caption">Click a column header to sort. Hover a value for n, '
               f"confidence interval and notes where stored. {e(BEST_NOTE)}</p>")
    if legend:
        out += ['<h2 id="metrics">Metrics</h2>', *legend_html(legend, data, meta)]
    for s in sections:
        ver = f" (version {', '.join(s['versions'])})" if s["versions"] else ""
        out.append(f'<h2 id="{e(_anchor(s["suite"]))}">{e(s["suite"])}{e(ver)}</h2>')
        t = s["summary"]
        if t is None:
            out.append("<p><em>No headline metrics for this suite.</em></p>")
        else:
            out += [f'<h3 id="{e(t.anchor)}">{e(t.title)}</h3>', *table_html(t, full=False)]
        for p in s["plots"]:
            out.append(f'<p><img src="{e(p.as_posix())}" alt="{e(p.stem)}" loading="lazy"></p>')
        if s["drill"]:
            out.append("<h3>Per-language drill-down</h3>")
            for d in s["drill"].values():
                out += [f'<h4 id="{e(d.anchor)}">{e(d.title)}</h4>', *table_html(d, full=False)]
        if s["other"]:
            out.append(f'<p class="caption">Also stored, not shown: {e(", ".join(s["other"]))}.</p>')
        out += s["extra_html"]
    out += tail(inline=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
