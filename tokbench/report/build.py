"""Everything the leaderboard and the published site show, built once from prepared rows:
per suite its summary, drill-down tables, plots, published reference tables and the list of
stored columns not shown; across suites the joined models table and the metric legend.
``leaderboard.render`` and ``publish.publish`` only lay these out."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from .corpus_shares import corpus_shares, share_variants
from .data import Meta, distinct, pairs
from .plots import plot_suite
from .published import sections as published_sections
from .tables import drilldown_table, models_table, summary_table

__all__ = ["MODELS", "build", "legend_metrics", "models_section", "suite_order", "suite_section"]

MODELS = "models"


def suite_section(data: pd.DataFrame, suite: str, meta: Meta, img_dir: Path, *, suffix: str = "",
                  dpi_scale: float = 1.0) -> dict:
    """``{"suite", "sdf", "summary", "order", "drill": {(metric, variant): table}, "drill_columns",
    "plots": [Path], "other": ["metric/variant"], "versions", "extra_md", "extra_html"}``."""
    sdf = data[data["suite"] == suite]
    summary, order = summary_table(sdf, suite, meta)
    drill, drill_columns = {}, {}
    for mv in meta.headline:
        t = drilldown_table(sdf, suite, mv, order, meta)
        if t is not None:
            drill[mv] = t
            drill_columns[mv] = [(c.attrs["corpus"], c.attrs["lang"], c.label) for c in t.columns]
    plots = plot_suite(sdf, suite, img_dir, order, meta, suffix=suffix, dpi_scale=dpi_scale)
    headline = set(meta.headline) | set(share_variants(meta))
    other = [f"{m}/{v}" for m, v in pairs(sdf) if (m, v) not in headline]
    shares_md, shares_html, share_plots = corpus_shares(sdf, suite, meta, img_dir, order, suffix=suffix,
                                                        dpi_scale=dpi_scale)
    plots += share_plots
    extra_md, extra_html = published_sections(sdf, suite)
    extra_md, extra_html = shares_md + extra_md, shares_html + extra_html
    return {"suite": suite, "models": False, "sdf": sdf, "summary": summary, "order": order, "drill": drill,
            "drill_columns": drill_columns, "plots": plots, "other": other,
            "versions": distinct(sdf["suite_version"]), "extra_md": extra_md, "extra_html": extra_html}


def models_section(data: pd.DataFrame, meta: Meta) -> dict | None:
    """The joined models table as a section of its own (None without model rows)."""
    table = models_table(data, meta)
    if table is None:
        return None
    return {"suite": MODELS, "models": True, "sdf": data[data["_model"] != ""], "summary": table, "order": [], "drill": {},
            "drill_columns": {}, "plots": [], "other": [], "versions": [], "extra_md": [], "extra_html": []}


def legend_metrics(data: pd.DataFrame, meta: Meta, *, headline_only: bool = True) -> list[str]:
    """Metrics of ``data`` in headline order (those with a headline column shown), then, unless
    ``headline_only``, the others by name."""
    stored = set(pairs(data))
    shown = list(dict.fromkeys(m for m, v in meta.headline if (m, v) in stored))
    if headline_only:
        return shown
    return shown + sorted(set(data["metric"]) - set(shown))


def suite_order(suites: Iterable[str], lead: Iterable[str] | None = None) -> list[str]:
    """The suites named in ``lead`` first (in that order, those present), then the others by name.

    >>> suite_order(["b", "a", "core"], lead=["core", "missing"])
    ['core', 'a', 'b']
    """
    present = set(suites)
    first = list(dict.fromkeys(s for s in (lead or ()) if s in present))
    return first + sorted(present - set(first))


def build(data: pd.DataFrame, meta: Meta, img_dir: Callable[[str], tuple[Path, str]], *,
          lead: Iterable[str] | None = None, dpi_scale: float = 1.0,
          step: Callable[[str], None] | None = None) -> list[dict]:
    """The sections of every suite (``suite_order``: those in ``lead`` first, then by name), then
    the models section when there are models. ``img_dir(suite)`` gives the folder and file-name
    suffix of the suite's plots; ``dpi_scale`` scales their resolution; ``step(name)`` is called
    after each section (progress)."""
    out = []
    for suite in suite_order(data["suite"], lead):
        folder, suffix = img_dir(suite)
        out.append(suite_section(data, suite, meta, folder, suffix=suffix, dpi_scale=dpi_scale))
        if step is not None:
            step(suite)
    models = models_section(data, meta)
    if models is not None:
        out.append(models)
    return out

