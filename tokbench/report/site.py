"""The pages of the published site (``tokbench publish``): index, one page per suite, the
models page and the metrics page. They lay out the sections ``build.build`` made, with the
shared table writer, stylesheet and script (``html``)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from ..schema import ALL_LANGS
from .build import legend_metrics
from .data import DASH, Meta, arrow, distinct, text, ts_range
from .html import BEST_NOTE, attrs, e, legend_html, table_html, th

__all__ = ["MODELS_PAGE", "PARQUET", "SUMS", "write_index", "write_metrics_page", "write_models_page",
           "write_suite_page"]

PARQUET = "data/results.parquet"
SUMS = "data/SHA256SUMS"
MODELS_PAGE = "models.html"


def _page(title: str, heading: str, body: list[str], nav: list[tuple[str, str]]) -> str:
    links = "".join(f'<a href="{e(h)}">{e(t)}</a>' for h, t in nav)
    full = f"{heading} · {title}" if heading != title else title
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="tokbench publish">', f"<title>{e(full)}</title>",
        '<link rel="stylesheet" href="assets/site.css">', "</head><body>",
        f'<nav class="top">{links}</nav>', f"<h1>{e(heading)}</h1>", *body,
        '<footer>Static site written by <code>tokbench publish</code> from '
        f'<a href="{PARQUET}">{PARQUET}</a>; every number on it is computed from that file.'
        "</footer>",
        '<script src="assets/sort.js"></script>', "</body></html>", ""])


def _nav(current: str, models: bool) -> list[tuple[str, str]]:
    items = [("index.html", "suites"), *([(MODELS_PAGE, "models")] if models else []),
             ("metrics.html", "metrics"), (PARQUET, "results.parquet")]
    return [(h, t) for h, t in items if h != current]


def _figures(plots: list[Path]) -> list[str]:
    if not plots:
        return []
    return ['<h2 id="plots">Plots</h2>'] + [
        f'<figure><img src="{e(p.as_posix())}" alt="{e(p.stem)}"></figure>' for p in plots]


def _provenance_html(sdf: pd.DataFrame) -> list[str]:
    out = ['<h2 id="provenance">Provenance</h2>', '<ul class="prov">',
           f"<li>tokbench version: {e(', '.join(distinct(sdf['tokbench_version'])) or DASH)}</li>",
           f"<li>schema version: {e(', '.join(distinct(sdf['schema_version'])) or DASH)}</li>",
           f"<li>suite version: {e(', '.join(distinct(sdf['suite_version'])) or DASH)}</li>",
           f"<li>created_at: {e(ts_range(sdf['_ts']))}</li>",
           f"<li>run ids: {', '.join(f'<code>{e(r)}</code>' for r in distinct(sdf['run_id'])) or DASH}</li>",
           "</ul>", "<h3>Tokenizers</h3>", '<div class="wrap"><table class="sortable prov-table">',
           "<thead><tr>" + "".join(th(h) for h in ("tokenizer", "model", "tokenizer_hash", "run ids",
                                                    "created_at")) + "</tr></thead><tbody>"]
    for (tok, model), g in sorted(sdf.groupby(["tokenizer", "_model"]), key=lambda x: x[0]):
        hashes = "<br>".join(f"<code>{e(h)}</code>" for h in distinct(g["tokenizer_hash"])) or DASH
        if len(distinct(g["tokenizer_hash"])) > 1:
            hashes += "<br><em>several hashes: mixes tokenizer versions</em>"
        runs = " ".join(f"<code>{e(r)}</code>" for r in distinct(g["run_id"])) or DASH
        out.append(f"<tr><td>{e(tok)}</td><td>{e(model or DASH)}</td><td>{hashes}</td>"
                   f"<td>{runs}</td><td>{e(ts_range(g['_ts']))}</td></tr>")
    out += ["</tbody></table></div>", "<h3>Corpora</h3>", '<div class="wrap"><table class="sortable prov-table">',
            "<thead><tr>" + "".join(th(h) for h in ("corpus", "corpus_hash", "languages", "language tags"))
            + "</tr></thead><tbody>"]
    for corpus, g in sorted(sdf.groupby("corpus"), key=lambda x: x[0]):
        hashes = "<br>".join(f"<code>{e(h)}</code>" for h in distinct(g["corpus_hash"])) or DASH
        langs = sorted(set(g["lang"]) - {ALL_LANGS})
        out.append(f"<tr><td>{e(corpus or DASH)}</td><td>{hashes}</td>"
                   f'<td class="num" data-value="{len(langs)}">{len(langs)}</td>'
                   f'<td class="desc">{e(", ".join(langs))}</td></tr>')
    out += ["</tbody></table></div>", "<h3>Runs</h3>", '<div class="wrap"><table class="sortable prov-table">',
            "<thead><tr>" + "".join(th(h) for h in ("run_id", "created_at", "tokbench version", "rows published",
                                                     "tokenizers")) + "</tr></thead><tbody>"]
    for run, g in sorted(sdf.groupby(sdf["run_id"].map(text)), key=lambda x: x[0]):
        out.append(f"<tr><td><code>{e(run or DASH)}</code></td><td>{e(ts_range(g['_ts']))}</td>"
                   f"<td>{e(', '.join(distinct(g['tokbench_version'])) or DASH)}</td>"
                   f'<td class="num" data-value="{len(g)}">{len(g)}</td>'
                   f'<td class="desc">{e(", ".join(distinct(g["tokenizer"])))}</td></tr>')
    out.append("</tbody></table></div>")
    return out


def write_suite_page(path: Path, title: str, s: dict, meta: Meta, *, models: bool) -> None:
    sdf, suite = s["sdf"], s["suite"]
    heading = suite + (f" (version {', '.join(s['versions'])})" if s["versions"] else "")
    langs = sorted(set(sdf["lang"]) - {ALL_LANGS})
    body = [f'<p class="lead">{len(set(sdf["_row"]))} tokenizer(s), corpora '
            f'{e(", ".join(sorted(set(sdf["corpus"]))) or DASH)}, {len(langs)} language(s). '
            '<a href="#drill-down">per-language drill-down</a> · <a href="#metrics">metrics</a> · '
            '<a href="#provenance">provenance</a></p>']
    if s["summary"] is None:
        body.append("<p><em>No headline metrics for this suite.</em></p>")
    else:
        body += ['<h2 id="summary">Summary</h2>',
                 *table_html(s["summary"], "summary-table", " Click a column header to sort; hover a value "
                             f"for n, confidence interval and notes. {e(BEST_NOTE)}")]
    body += _figures(s["plots"])
    body.append('<h2 id="drill-down">Per-language drill-down</h2>')
    if s["drill"]:
        body.append('<p class="caption">One table per headline column: tokenizers x languages; '
                    "click a metric to open its table, a column header to sort.</p>")
        for k, (mv, t) in enumerate(s["drill"].items()):
            hib = t.columns[0].higher_is_better if t.columns else None
            body += [f'<details id="{e(f"drill-{mv[0]}-{mv[1]}")}"{" open" if k == 0 else ""}>',
                     f"<summary>{e(mv[0])}/{e(mv[1])}{e(arrow(hib))}</summary>", *table_html(t), "</details>"]
    else:
        body.append("<p><em>No per-language rows.</em></p>")
    if s["other"]:
        body.append(f'<p class="caption">Also stored, not shown: {e(", ".join(s["other"]))}; they are '
                    f'in the <a href="{PARQUET}">data download</a>.</p>')
    body += s["extra_html"]
    body.append('<h2 id="metrics">Metrics</h2>')
    body += legend_html(legend_metrics(sdf, meta, headline_only=False), sdf, meta)
    body += _provenance_html(sdf)
    path.write_text(_page(title, heading, body, _nav("", models)), encoding="utf-8")


def write_models_page(path: Path, title: str, s: dict) -> None:
    t = s["summary"]
    body = [f'<p class="lead">{len(t.rows)} model(s): the model-side scores beside their tokenizers.</p>',
            '<h2 id="models">Models</h2>', *table_html(t, "models-table"), *_provenance_html(s["sdf"])]
    path.write_text(_page(title, "Models", body, _nav(MODELS_PAGE, True)), encoding="utf-8")


def write_index(path: Path, title: str, data: pd.DataFrame, suites: list[dict], links: Mapping[str, str],
                models: dict | None) -> None:
    body = [f'<p class="lead">{len(suites)} suite(s), {len(set(data["tokenizer"]))} tokenizer(s), '
            f'{len(data)} published rows. Click a suite for its leaderboard.</p>',
            '<h2 id="suites">Suites</h2>', '<div class="wrap"><table class="sortable" id="suites-table">',
            "<thead><tr>" + "".join(th(h) for h in ("suite", "version", "tokenizers", "corpora", "languages",
                                                     "rows", "created_at")) + "</tr></thead><tbody>"]
    for s in suites:
        sdf = s["sdf"]
        ntok, nlang = len(set(sdf["_row"])), len(set(sdf["lang"]) - {ALL_LANGS})
        body.append(
            f'<tr{attrs(suite=s["suite"])}><td><a href="{e(links[s["suite"]])}">{e(s["suite"])}</a></td>'
            f'<td>{e(", ".join(s["versions"]) or DASH)}</td>'
            f'<td class="num" data-value="{ntok}">{ntok}</td>'
            f'<td>{e(", ".join(sorted(set(sdf["corpus"]))) or DASH)}</td>'
            f'<td class="num" data-value="{nlang}">{nlang}</td>'
            f'<td class="num" data-value="{len(sdf)}">{len(sdf)}</td>'
            f'<td>{e(ts_range(sdf["_ts"]))}</td></tr>')
    body.append("</tbody></table></div>")
    if models is not None:
        body += ['<h2 id="models">Models</h2>',
                 f'<p><a href="{MODELS_PAGE}">{len(models["summary"].rows)} model(s)</a>: the model-side scores '
                 "of every suite beside the scores of each model's tokenizer.</p>"]
    body += ['<h2 id="data">Data</h2>', "<ul>",
             f'<li><a href="{PARQUET}" download>{PARQUET}</a>: the published rows as parquet '
             "(the tokbench results schema)</li>",
             f'<li><a href="{SUMS}">{SUMS}</a>: its SHA-256</li>', "</ul>",
             '<p class="caption">The published rows are the newest row (by <code>created_at</code>) '
             "of every (suite, tokenizer, corpus, lang, metric, variant, model) in the store, "
             "including the variants and languages the tables do not show. Every number on "
             "this site is computed from them. In Python: "
             "<code>pandas.read_parquet(\"results.parquet\")</code>; as CSV: "
             "<code>pandas.read_parquet(\"results.parquet\").to_csv(\"results.csv\", index=False)</code>.</p>",
             '<h2 id="provenance">Provenance</h2>', '<ul class="prov">',
             f"<li>tokbench version: {e(', '.join(distinct(data['tokbench_version'])) or DASH)}</li>",
             f"<li>schema version: {e(', '.join(distinct(data['schema_version'])) or DASH)}</li>",
             f"<li>created_at: {e(ts_range(data['_ts']))}</li>",
             f"<li>run ids: {', '.join(f'<code>{e(r)}</code>' for r in distinct(data['run_id'])) or DASH}</li>",
             "<li>tokenizer and corpus hashes: on each suite page</li>", "</ul>"]
    path.write_text(_page(title, title, body, _nav("index.html", models is not None)), encoding="utf-8")


def write_metrics_page(path: Path, title: str, data: pd.DataFrame, meta: Meta, links: Mapping[str, str], *,
                       models: bool) -> None:
    present = set(data["metric"])
    metrics = [m for m in meta.info if m in present] + sorted(present - set(meta.info))
    body = ['<p class="lead">Every metric in the published rows: unit, better direction and '
            "description (from the metric objects), the variants and metric versions stored.</p>"]
    body += legend_html(metrics, data, meta, suite_links=links)
    path.write_text(_page(title, "Metrics", body, _nav("metrics.html", models)), encoding="utf-8")
