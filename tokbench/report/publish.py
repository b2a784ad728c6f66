"""``tokbench publish``: the results store -> a self-contained static leaderboard site.

The site needs no server and loads nothing from outside its folder (no CDN, no external URL
in any file: fonts, scripts and styles are local, matplotlib's PNG text chunks are stripped),
so it works from ``file://`` and from any static host (GitHub Pages, S3, ``python -m
http.server``). Layout of ``<out>/`` (default ``<results-dir>/site/``)::

    index.html              suites, downloads, provenance overview
    suite-<slug>.html       per suite: sortable summary table, plots, per-language
                            drill-down tables (one per headline metric), metrics, provenance
    metrics.html            every metric shown: unit, direction, variants, versions, description
    assets/site.css         styles
    assets/sort.js          click-to-sort tables (vanilla JavaScript)
    img/<slug>/*.png        the leaderboard's plots (tokbench.report.leaderboard.plot_suite)
    data/results.parquet    the published rows: the newest row of every cell (``latest``)
    data/results.csv        the same rows as CSV
    data/SHA256SUMS         checksums of the two data files
    .nojekyll               GitHub Pages: serve the folder as is

Every number on the pages is computed from ``data/results.parquet`` (the site is rendered from
the file after it is written and read back). Table cells carry machine-readable attributes:
``data-value`` (the value at full precision, ``repr`` of the float, or ``NaN``),
``data-suite``, ``data-tokenizer``, ``data-model``, ``data-metric``, ``data-variant``,
``data-corpus`` / ``data-lang`` (when the cell's rows share one), ``data-rows`` (0-based row
positions in ``data/results.parquet``) and ``data-agg``: ``row`` (the value of that one row)
or ``mean`` (the unweighted mean of the non-NaN values of those rows, e.g. a summary value
averaged over languages or corpora). The text shown is the value rounded to 3 decimals, with
the leaderboard's † / ‡ marks.

The output folder is replaced as a whole; a non-empty folder that ``publish`` did not write
(no ``.tokbench-site`` marker) is refused rather than deleted.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS, COLUMNS, RESULT_SCHEMA
from .leaderboard import DASH, HEADLINE, latest, plot_suite, prepare, suite_tables

__all__ = ["publish", "add_parser", "cmd_publish", "PARQUET", "CSV"]

PARQUET = "data/results.parquet"
CSV = "data/results.csv"
SUMS = "data/SHA256SUMS"
MARKER = ".tokbench-site"
SORT_KEY = ("fertility", "in_context")      # the leaderboard's initial summary order
EXIT_OK, EXIT_BAD_INPUT = 0, 2


class PublishError(ValueError):
    """Bad input for publish (empty results, an output folder it must not replace)."""


# --------------------------------------------------------------------------------------
# command line

def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "publish", help="build a self-contained static leaderboard site from the store",
        description="Build a static site (HTML, CSS, JS, PNG, parquet + CSV download) from the "
                    "results store: no server, no external URL; open index.html from disk or "
                    "host the folder anywhere (e.g. GitHub Pages).")
    p.add_argument("--results-dir", default="results", metavar="DIR",
                   help="results store (default: results/)")
    p.add_argument("--out", metavar="DIR", help="site folder (default: <results-dir>/site/); replaced as a whole")
    p.add_argument("--title", default="tokbench leaderboard", help="site title")
    p.set_defaults(func=cmd_publish)


def cmd_publish(args) -> int:
    from ..metrics import metric_info
    from ..store import load_results

    results = Path(args.results_dir)
    out = Path(args.out) if args.out else results / "site"
    df = load_results(results)
    if df.empty:
        print(f"tokbench: error: no results in {results} (no readable parts/*.parquet); "
              f"run `tokbench run` first", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        site = publish(df, out, metric_info=metric_info(), title=args.title)
    except PublishError as e:
        print(f"tokbench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {len(site['files'])} files to {out}: {len(site['suites'])} suite page(s), "
          f"{site['rows']} rows in {out / PARQUET}; open {site['index']}")
    return EXIT_OK


# --------------------------------------------------------------------------------------
# publish

def publish(df: pd.DataFrame, out_dir: str | Path, *,
            metric_info: Mapping[str, Mapping[str, Any]] | None = None,
            title: str = "tokbench leaderboard") -> dict[str, Any]:
    """Write the static site for a results DataFrame (``tokbench.schema`` columns).

    Only the newest row of every cell (``latest``) is published. ``metric_info`` is as for
    ``tokbench.report.render`` (``tokbench.runner.metric_info()``). The folder is built next
    to ``out_dir`` and then swapped in. Returns ``{"index": Path, "suites": {suite: Path},
    "parquet": Path, "csv": Path, "plots": [Path], "files": [Path], "rows": int}``.
    """
    if df is None or len(df) == 0:
        raise PublishError("no results to publish (0 rows); run a suite first or check the "
                           "store path")
    out_dir = Path(out_dir).resolve()
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.publishing-", dir=out_dir.parent))
    try:
        result = _build(df, tmp, metric_info or {}, title)
        _swap(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _relocate(result, tmp, out_dir)


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise PublishError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise PublishError(f"--out {out} is a non-empty folder that tokbench publish did not "
                           f"write (no {MARKER} file); choose another folder or empty it")


def _swap(new: Path, out: Path) -> None:
    os.chmod(new, 0o755)   # mkdtemp makes owner-only folders; the site is meant to be served
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, out)


def _relocate(result: dict, tmp: Path, out: Path) -> dict:
    def fix(p: Path) -> Path:
        return out / Path(p).relative_to(tmp)
    return {"index": fix(result["index"]), "suites": {k: fix(v) for k, v in result["suites"].items()},
            "parquet": fix(result["parquet"]), "csv": fix(result["csv"]),
            "plots": [fix(p) for p in result["plots"]], "files": [fix(p) for p in result["files"]],
            "rows": result["rows"]}


def _published_rows(df: pd.DataFrame) -> pd.DataFrame:
    rows = latest(df)
    for col in COLUMNS:
        if col not in rows.columns:
            rows[col] = None
    return rows[list(COLUMNS)].reset_index(drop=True)


def _write_data(rows: pd.DataFrame, root: Path) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "data").mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(rows, schema=RESULT_SCHEMA, preserve_index=False)
    meta = {"rows": "latest: the newest row (created_at) of every (suite, tokenizer, corpus, "
                    "lang, metric, variant, model) of the store",
            "schema_version": str(int(rows["schema_version"].max()))
            if rows["schema_version"].notna().any() else ""}
    table = table.replace_schema_metadata({"tokbench.publish": json.dumps(meta, sort_keys=True)})
    parquet = root / PARQUET
    pq.write_table(table, parquet)
    csv = root / CSV
    pd.read_parquet(parquet).to_csv(csv, index=False, lineterminator="\n")
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in (parquet, csv)]
    (root / SUMS).write_text("".join(sums), encoding="utf-8")
    return parquet, csv


def _build(df: pd.DataFrame, root: Path, metric_info: Mapping[str, Mapping[str, Any]],
           title: str) -> dict:
    parquet, csv = _write_data(_published_rows(df), root)
    # everything below is rendered from the file just written, read back
    pub = pd.read_parquet(parquet)
    pub["_pos"] = np.arange(len(pub))
    data = prepare(pub)
    (root / "assets").mkdir()
    (root / "assets" / "site.css").write_text(_CSS.lstrip(), encoding="utf-8")
    (root / "assets" / "sort.js").write_text(_JS.lstrip(), encoding="utf-8")
    (root / ".nojekyll").write_text("", encoding="utf-8")
    (root / MARKER).write_text("written by `tokbench publish`; this folder is replaced as a "
                               "whole on every publish\n", encoding="utf-8")

    suites = sorted(set(data["suite"]))
    slugs = _slugs(suites)
    pages: dict[str, Path] = {}
    plots: list[Path] = []
    summaries = []
    for suite in suites:
        sdf = data[data["suite"] == suite]
        tables = suite_tables(data, suite, metric_info)
        imgs = plot_suite(data, suite, root / "img" / slugs[suite], tables["order"])
        for p in imgs:
            _strip_png_text(p)
        plots += imgs
        page = root / f"suite-{slugs[suite]}.html"
        _write_suite_page(page, title, suite, sdf, tables, [p.relative_to(root) for p in imgs],
                          metric_info)
        pages[suite] = page
        summaries.append(_suite_overview(suite, sdf, page.name))
    _write_metrics_page(root / "metrics.html", title, data, metric_info, slugs)
    index = root / "index.html"
    _write_index(index, title, data, summaries)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {"index": index, "suites": pages, "parquet": parquet, "csv": csv, "plots": plots,
            "files": files, "rows": len(pub)}


def _slugs(names: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "suite"
        slug, i = base, 2
        while slug.lower() in used:
            slug, i = f"{base}-{i}", i + 1
        used.add(slug.lower())
        out[name] = slug
    return out


def _strip_png_text(path: Path) -> None:
    """Drop a PNG's text chunks (matplotlib writes its web address into ``Software``)."""
    data = path.read_bytes()
    sig, pos, out = data[:8], 8, [data[:8]]
    if sig != b"\x89PNG\r\n\x1a\n":
        return
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            out.append(data[pos:end])
        pos = end
    path.write_bytes(b"".join(out))


# --------------------------------------------------------------------------------------
# HTML helpers

def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _code(text: str) -> str:
    """Provenance text of the leaderboard: `...` spans become <code>."""
    parts = str(text).split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or \
        (not isinstance(v, str) and bool(pd.isna(v)))


def _str(v: Any) -> str:
    return "" if _missing(v) else str(v)


def _dv(v: float) -> str:
    return "NaN" if math.isnan(v) else repr(float(v))


def _ts(t: Any) -> str:
    return DASH if _missing(t) else pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ts_range(ts: pd.Series) -> str:
    ts = ts.dropna()
    if not len(ts):
        return DASH
    lo, hi = ts.min(), ts.max()
    return _ts(lo) if lo == hi else f"{_ts(lo)} – {_ts(hi)}"


def _distinct(s: pd.Series) -> list[str]:
    return sorted({str(v) for v in s if not _missing(v)})


def _page(title: str, heading: str, body: list[str], nav: list[tuple[str, str]]) -> str:
    links = "".join(f'<a href="{_e(h)}">{_e(t)}</a>' for h, t in nav)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="tokbench publish">',
        f"<title>{_e(heading)} · {_e(title)}</title>" if heading != title else f"<title>{_e(title)}</title>",
        '<link rel="stylesheet" href="assets/site.css">', "</head><body>",
        f'<nav class="top">{links}</nav>', f"<h1>{_e(heading)}</h1>", *body,
        '<footer>Static site written by <code>tokbench publish</code> from '
        f'<a href="{PARQUET}">{PARQUET}</a>; every number on it is computed from that file.'
        "</footer>",
        '<script src="assets/sort.js"></script>', "</body></html>", ""])


def _nav(current: str) -> list[tuple[str, str]]:
    items = [("index.html", "suites"), ("metrics.html", "metrics"), (PARQUET, "results.parquet"),
             (CSV, "results.csv")]
    return [(h, t) for h, t in items if h != current]


def _th(label: str, sub: str = "", hib: bool | None = None, attrs: str = "",
        aria: str = "none") -> str:
    arrow = {True: " ↑", False: " ↓"}.get(hib, "")
    tip = {True: "higher is better; click to sort", False: "lower is better; click to sort"}.get(
        hib, "click to sort")
    small = f"<br><small>{_e(sub)}</small>" if sub else ""
    return (f'<th scope="col" tabindex="0" aria-sort="{aria}" title="{_e(tip)}"{attrs}>'
            f"{_e(label)}{_e(arrow)}{small}</th>")


def _attrs(**kv: Any) -> str:
    return "".join(f' data-{k.replace("_", "-")}="{_e(v)}"' for k, v in kv.items() if v is not None)


def _best(values: list[float], hib: bool | None) -> set[int]:
    finite = [v for v in values if not math.isnan(v)]
    if hib is None or len(finite) < 2:
        return set()
    target = max(finite) if hib else min(finite)
    return {i for i, v in enumerate(values) if v == target}


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _cell(cell, rows: pd.DataFrame, suite: str, tok: tuple[str, str], mv: tuple[str, str],
          cls: str) -> str:
    """A <td> for one table cell; ``rows`` are the published rows it is computed from."""
    vals = rows["value"].to_numpy(dtype=float)
    finite = vals[~np.isnan(vals)]
    expect = float(finite.mean()) if len(finite) else float("nan")
    if not _close(expect, float(cell.value)):   # the leaderboard's value, recomputed here
        raise AssertionError(f"publish: cell {suite}/{tok[0]}/{mv} is {cell.value!r} but its "
                             f"rows give {expect!r}")
    corpora, langs = set(rows["corpus"]), set(rows["lang"])
    attrs = _attrs(value=_dv(float(cell.value)), suite=suite, tokenizer=tok[0],
                   model=tok[1] or None, metric=mv[0], variant=mv[1],
                   corpus=next(iter(corpora)) if len(corpora) == 1 else None,
                   lang=next(iter(langs)) if len(langs) == 1 else None,
                   agg="row" if len(rows) == 1 else "mean",
                   rows=",".join(str(int(p)) for p in rows["_pos"]))
    tip = f' title="{_e(cell.tip)}"' if cell.tip else ""
    return f'<td class="{cls}"{attrs}{tip}>{_e(cell.text)}</td>'


def _row_keys(sdf: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Row label ("tokenizer [model]") -> (tokenizer, model or "")."""
    return {r: (t, _str(m)) for r, t, m in zip(sdf["_row"], sdf["tokenizer"], sdf["model"])}


# --------------------------------------------------------------------------------------
# suite page

def _summary_html(t, sdf: pd.DataFrame, suite: str) -> list[str]:
    keys = _row_keys(sdf)
    out = [f'<h2 id="summary">Summary</h2>', '<div class="wrap">',
           f'<table class="sortable summary" id="summary-table"{_attrs(suite=suite, table="summary")}>',
           "<thead><tr>" + _th("tokenizer", attrs=' data-key="tokenizer"')]
    for c in t.columns:
        aria = "ascending" if tuple(c.key) == SORT_KEY else "none"
        out.append(_th(c.label, c.sub, c.higher_is_better,
                       _attrs(metric=c.key[0], variant=c.key[1]), aria))
    out.append("</tr></thead><tbody>")
    best = [_best([cells[j].value for _, cells in t.rows], c.higher_is_better)
            for j, c in enumerate(t.columns)]
    for i, (label, cells) in enumerate(t.rows):
        tok = keys[label]
        tds = [f'<th scope="row"{_attrs(tokenizer=tok[0], model=tok[1] or None)}>{_e(label)}</th>']
        for j, (c, cell) in enumerate(zip(t.columns, cells)):
            mv = tuple(c.key)
            col = sdf[(sdf["_row"] == label) & (sdf["metric"] == mv[0]) & (sdf["variant"] == mv[1])]
            star = col[col["lang"] == ALL_LANGS]
            rows = star if len(star) else col[col["lang"] != ALL_LANGS]
            tds.append(_cell(cell, rows, suite, tok, mv, "num best" if i in best[j] else "num"))
        out.append(f'<tr{_attrs(tokenizer=tok[0], model=tok[1] or None)}>' + "".join(tds) + "</tr>")
    out += ["</tbody></table></div>", f'<p class="caption">{_code(t.caption)} Click a column '
            "header to sort; hover a value for n, confidence interval and notes.</p>"]
    out += _prov_list(t.provenance)
    return out


def _drill_html(t, mv: tuple[str, str], columns: list[tuple[str, str, str]], sdf: pd.DataFrame,
                suite: str, open_: bool) -> list[str]:
    keys = _row_keys(sdf)
    anchor = f"drill-{mv[0]}-{mv[1]}"
    hib = t.columns[0].higher_is_better if t.columns else None
    arrow = {True: " ↑", False: " ↓"}.get(hib, "")
    out = [f'<details id="{_e(anchor)}"{" open" if open_ else ""}>',
           f"<summary>{_e(mv[0])}/{_e(mv[1])}{_e(arrow)}</summary>", '<div class="wrap">',
           f'<table class="sortable drill"{_attrs(suite=suite, table="drill", metric=mv[0], variant=mv[1])}>',
           "<thead><tr>" + _th("tokenizer", attrs=' data-key="tokenizer"')]
    for (corpus, lang, label), c in zip(columns, t.columns):
        out.append(_th(label, "", c.higher_is_better, _attrs(corpus=corpus, lang=lang)))
    out.append("</tr></thead><tbody>")
    sel = sdf[(sdf["metric"] == mv[0]) & (sdf["variant"] == mv[1]) & (sdf["lang"] != ALL_LANGS)]
    by_key = {k: g for k, g in sel.groupby(["_row", "corpus", "lang"], sort=False)}
    best = [_best([cells[j].value for _, cells in t.rows], hib) for j in range(len(columns))]
    for i, (label, cells) in enumerate(t.rows):
        tok = keys[label]
        tds = [f'<th scope="row"{_attrs(tokenizer=tok[0], model=tok[1] or None)}>{_e(label)}</th>']
        for j, ((corpus, lang, _), cell) in enumerate(zip(columns, cells)):
            rows = by_key.get((label, corpus, lang))
            if rows is None:
                tds.append(f'<td class="num"{_attrs(value="NaN", suite=suite, tokenizer=tok[0], model=tok[1] or None, metric=mv[0], variant=mv[1], corpus=corpus, lang=lang, agg="none", rows="")}>{_e(cell.text)}</td>')
                continue
            tds.append(_cell(cell, rows, suite, tok, mv, "num best" if i in best[j] else "num"))
        out.append(f'<tr{_attrs(tokenizer=tok[0], model=tok[1] or None)}>' + "".join(tds) + "</tr>")
    out += ["</tbody></table></div>", f'<p class="caption">{_code(t.caption)}</p>']
    out += _prov_list(t.provenance)
    out.append("</details>")
    return out


def _prov_list(items: list[tuple[str, str]]) -> list[str]:
    return ['<ul class="prov">'] + [f"<li>{_e(k)}: {_code(v)}</li>" for k, v in items] + ["</ul>"]


def _legend(metrics: list[str], sdf: pd.DataFrame, metric_info: Mapping, slugs: Mapping | None = None,
            data: pd.DataFrame | None = None) -> list[str]:
    head = "<tr>" + "".join(_th(h) for h in ("metric", "unit", "better", "variants", "version",
                                              "description"))
    if slugs is not None:
        head += _th("suites")
    out = ['<div class="wrap"><table class="sortable legend">', f"<thead>{head}</tr></thead><tbody>"]
    for m in metrics:
        info = metric_info.get(m, {}) or {}
        rows = sdf[sdf["metric"] == m]
        variants = ", ".join(sorted(set(rows["variant"])))
        versions = ", ".join(_distinct(rows["metric_version"]))
        better = {True: "higher", False: "lower"}.get(info.get("higher_is_better"), DASH)
        cells = [_e(m), _e(info.get("unit") or DASH), _e(better), _e(variants), _e(versions or DASH),
                 _e(info.get("description") or DASH)]
        if slugs is not None:
            cells.append(", ".join(f'<a href="suite-{_e(slugs[s])}.html">{_e(s)}</a>'
                                   for s in sorted(set(rows["suite"]))))
        out.append(f'<tr id="metric-{_e(m)}">' +
                   "".join(f'<td class="desc">{c}</td>' if i == 5 else f"<td>{c}</td>"
                           for i, c in enumerate(cells)) + "</tr>")
    out.append("</tbody></table></div>")
    return out


def _provenance_html(sdf: pd.DataFrame) -> list[str]:
    out = ['<h2 id="provenance">Provenance</h2>', '<ul class="prov">',
           f"<li>tokbench version: {_e(', '.join(_distinct(sdf['tokbench_version'])) or DASH)}</li>",
           f"<li>schema version: {_e(', '.join(_distinct(sdf['schema_version'])) or DASH)}</li>",
           f"<li>suite version: {_e(', '.join(_distinct(sdf['suite_version'])) or DASH)}</li>",
           f"<li>created_at: {_e(_ts_range(sdf['_ts']))}</li>",
           f"<li>run ids: {', '.join(f'<code>{_e(r)}</code>' for r in _distinct(sdf['run_id'])) or DASH}</li>",
           "</ul>", "<h3>Tokenizers</h3>", '<div class="wrap"><table class="sortable prov-table">',
           "<thead><tr>" + "".join(_th(h) for h in ("tokenizer", "model", "tokenizer_hash",
                                                     "run ids", "created_at")) + "</tr></thead><tbody>"]
    for (tok, model), g in sorted(sdf.groupby(["tokenizer", sdf["model"].map(_str)]),
                                  key=lambda x: x[0]):
        hashes = "<br>".join(f"<code>{_e(h)}</code>" for h in _distinct(g["tokenizer_hash"])) or DASH
        if len(_distinct(g["tokenizer_hash"])) > 1:
            hashes += "<br><em>several hashes: mixes tokenizer versions</em>"
        runs = " ".join(f"<code>{_e(r)}</code>" for r in _distinct(g["run_id"])) or DASH
        out.append(f"<tr><td>{_e(tok)}</td><td>{_e(model or DASH)}</td><td>{hashes}</td>"
                   f"<td>{runs}</td><td>{_e(_ts_range(g['_ts']))}</td></tr>")
    out += ["</tbody></table></div>", "<h3>Corpora</h3>",
            '<div class="wrap"><table class="sortable prov-table">',
            "<thead><tr>" + "".join(_th(h) for h in ("corpus", "corpus_hash", "languages",
                                                      "language tags")) + "</tr></thead><tbody>"]
    for corpus, g in sorted(sdf.groupby("corpus"), key=lambda x: x[0]):
        hashes = "<br>".join(f"<code>{_e(h)}</code>" for h in _distinct(g["corpus_hash"])) or DASH
        langs = sorted(set(g["lang"]) - {ALL_LANGS})
        out.append(f"<tr><td>{_e(corpus or DASH)}</td><td>{hashes}</td>"
                   f'<td class="num" data-value="{len(langs)}">{len(langs)}</td>'
                   f'<td class="desc">{_e(", ".join(langs))}</td></tr>')
    out += ["</tbody></table></div>", "<h3>Runs</h3>",
            '<div class="wrap"><table class="sortable prov-table">',
            "<thead><tr>" + "".join(_th(h) for h in ("run_id", "created_at", "tokbench version",
                                                      "rows published", "tokenizers")) +
            "</tr></thead><tbody>"]
    for run, g in sorted(sdf.groupby(sdf["run_id"].map(_str)), key=lambda x: x[0]):
        out.append(f"<tr><td><code>{_e(run or DASH)}</code></td><td>{_e(_ts_range(g['_ts']))}</td>"
                   f"<td>{_e(', '.join(_distinct(g['tokbench_version'])) or DASH)}</td>"
                   f'<td class="num" data-value="{len(g)}">{len(g)}</td>'
                   f'<td class="desc">{_e(", ".join(_distinct(g["tokenizer"])))}</td></tr>')
    out.append("</tbody></table></div>")
    return out


def _write_suite_page(path: Path, title: str, suite: str, sdf: pd.DataFrame, tables: dict,
                      imgs: list[Path], metric_info: Mapping) -> None:
    versions = _distinct(sdf["suite_version"])
    heading = f"{suite}" + (f" (version {', '.join(versions)})" if versions else "")
    langs = sorted(set(sdf["lang"]) - {ALL_LANGS})
    body = [f'<p class="lead">{len(set(sdf["_row"]))} tokenizer(s), corpora '
            f'{_e(", ".join(sorted(set(sdf["corpus"]))) or DASH)}, {len(langs)} language(s). '
            '<a href="#drill-down">per-language drill-down</a> · <a href="#metrics">metrics</a> · '
            '<a href="#provenance">provenance</a></p>']
    summary = tables["summary"]
    if summary is None:
        body.append("<p><em>No headline metrics for this suite.</em></p>")
    else:
        body += _summary_html(summary, sdf, suite)
    if imgs:
        body.append('<h2 id="plots">Plots</h2>')
        body += [f'<figure><img src="{_e(p.as_posix())}" alt="{_e(p.stem)}"></figure>' for p in imgs]
    body.append('<h2 id="drill-down">Per-language drill-down</h2>')
    if tables["drill"]:
        body.append('<p class="caption">One table per headline metric: tokenizers x languages; '
                    "click a metric to open its table, a column header to sort.</p>")
        for k, (mv, t) in enumerate(tables["drill"].items()):
            body += _drill_html(t, mv, tables["drill_columns"][mv], sdf, suite, open_=k == 0)
    else:
        body.append("<p><em>No per-language rows.</em></p>")
    pairs = sorted(set(zip(sdf["metric"], sdf["variant"])))
    other = [f"{m}/{v}" for m, v in pairs if (m, v) not in HEADLINE]
    if other:
        body.append(f'<p class="caption">Also stored, not shown: {_e(", ".join(other))}; they are '
                    f'in the <a href="{PARQUET}">data download</a>.</p>')
    body.append('<h2 id="metrics">Metrics</h2>')
    shown = list(dict.fromkeys(m for m, _ in HEADLINE if m in set(sdf["metric"])))
    shown += sorted(set(sdf["metric"]) - set(shown))
    body += _legend(shown, sdf, metric_info)
    body += _provenance_html(sdf)
    path.write_text(_page(title, heading, body, _nav("")), encoding="utf-8")


# --------------------------------------------------------------------------------------
# index and metrics pages

def _suite_overview(suite: str, sdf: pd.DataFrame, page: str) -> dict:
    return {"suite": suite, "page": page, "versions": _distinct(sdf["suite_version"]),
            "tokenizers": len(set(sdf["_row"])), "corpora": sorted(set(sdf["corpus"])),
            "langs": len(set(sdf["lang"]) - {ALL_LANGS}), "rows": len(sdf),
            "created": _ts_range(sdf["_ts"]), "last": sdf["_ts"].max()}


def _write_index(path: Path, title: str, data: pd.DataFrame, suites: list[dict]) -> None:
    body = [f'<p class="lead">{len(suites)} suite(s), {len(set(data["tokenizer"]))} tokenizer(s), '
            f'{len(data)} published rows. Click a suite for its leaderboard.</p>',
            '<h2 id="suites">Suites</h2>', '<div class="wrap"><table class="sortable" id="suites-table">',
            "<thead><tr>" + "".join(_th(h) for h in ("suite", "version", "tokenizers", "corpora",
                                                      "languages", "rows", "created_at"))
            + "</tr></thead><tbody>"]
    for s in suites:
        body.append(
            f'<tr{_attrs(suite=s["suite"])}><td><a href="{_e(s["page"])}">{_e(s["suite"])}</a></td>'
            f'<td>{_e(", ".join(s["versions"]) or DASH)}</td>'
            f'<td class="num" data-value="{s["tokenizers"]}">{s["tokenizers"]}</td>'
            f'<td>{_e(", ".join(s["corpora"]) or DASH)}</td>'
            f'<td class="num" data-value="{s["langs"]}">{s["langs"]}</td>'
            f'<td class="num" data-value="{s["rows"]}">{s["rows"]}</td>'
            f'<td>{_e(s["created"])}</td></tr>')
    body += ["</tbody></table></div>", '<h2 id="data">Data</h2>', "<ul>",
             f'<li><a href="{PARQUET}" download>{PARQUET}</a>: the published rows as parquet '
             "(the tokbench results schema)</li>",
             f'<li><a href="{CSV}" download>{CSV}</a>: the same rows as CSV</li>',
             f'<li><a href="{SUMS}">{SUMS}</a>: SHA-256 of both files</li>', "</ul>",
             '<p class="caption">The published rows are the newest row (by <code>created_at</code>) '
             "of every (suite, tokenizer, corpus, lang, metric, variant, model) in the store, "
             "including the variants and languages the tables do not show. Every number on "
             "this site is computed from them. In Python: "
             "<code>pandas.read_parquet(\"results.parquet\")</code>.</p>",
             '<h2 id="provenance">Provenance</h2>', '<ul class="prov">',
             f"<li>tokbench version: {_e(', '.join(_distinct(data['tokbench_version'])) or DASH)}</li>",
             f"<li>schema version: {_e(', '.join(_distinct(data['schema_version'])) or DASH)}</li>",
             f"<li>created_at: {_e(_ts_range(data['_ts']))}</li>",
             f"<li>run ids: {', '.join(f'<code>{_e(r)}</code>' for r in _distinct(data['run_id'])) or DASH}</li>",
             "<li>tokenizer and corpus hashes: on each suite page</li>", "</ul>"]
    path.write_text(_page(title, title, body, _nav("index.html")), encoding="utf-8")


def _write_metrics_page(path: Path, title: str, data: pd.DataFrame, metric_info: Mapping,
                        slugs: Mapping[str, str]) -> None:
    present = set(data["metric"])
    metrics = [m for m in metric_info if m in present] + sorted(present - set(metric_info))
    body = ['<p class="lead">Every metric in the published rows: unit, better direction and '
            "description (from the metric objects), the variants and metric versions stored.</p>"]
    body += _legend(metrics, data, metric_info, slugs=slugs)
    path.write_text(_page(title, "Metrics", body, _nav("metrics.html")), encoding="utf-8")


# --------------------------------------------------------------------------------------
# assets

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem auto;
max-width:1600px;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem;margin:.6rem 0}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.05rem;margin-top:1.4rem}
nav.top a{margin-right:1.2rem}
.lead{color:#333}
.wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;white-space:nowrap}
thead th{background:#f4f5f7;cursor:pointer;user-select:none;vertical-align:bottom}
thead th:hover,thead th:focus{background:#e7eaf0}
tbody th{text-align:left;font-weight:600;background:#fcfcfd}
th small{font-weight:normal;color:#666}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:bold;background:#eaf5ea}
td.desc{white-space:normal;min-width:20rem}
tbody tr:nth-child(even){background:#fafafa}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
.caption{color:#555;font-size:.85rem;margin:.2rem 0}
.prov{color:#555;font-size:.8rem;margin:.3rem 0 1rem 0;padding-left:1.2rem}
code{font-size:.8rem;background:#f4f5f7;padding:0 .2rem}
figure{margin:.8rem 0}
img{max-width:100%;height:auto;border:1px solid #eee}
details{margin:.4rem 0}
summary{cursor:pointer;font-weight:600}
footer{margin:3rem 0 1rem 0;color:#777;font-size:.8rem;border-top:1px solid #eee;padding-top:.5rem}
"""

_JS = """
/* tokbench publish: click (or Enter/Space on) a column header to sort its table.
   Cells with data-value sort numerically (NaN always last); others by their text. */
(function () {
  "use strict";
  function cellKey(row, idx) {
    var c = row.cells[idx];
    return c ? c : null;
  }
  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    if (!body) { return; }
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      if (h !== th && h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); }
    });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.map.call(body.rows, function (r, i) { return {row: r, i: i}; });
    var numeric = rows.every(function (x) {
      var c = cellKey(x.row, idx);
      return c !== null && c.hasAttribute("data-value");
    });
    rows.sort(function (a, b) {
      var x = cellKey(a.row, idx), y = cellKey(b.row, idx), d;
      if (numeric) {
        var p = parseFloat(x.getAttribute("data-value"));
        var q = parseFloat(y.getAttribute("data-value"));
        if (isNaN(p) || isNaN(q)) {
          d = (isNaN(p) ? 1 : 0) - (isNaN(q) ? 1 : 0);
          return d !== 0 ? d : a.i - b.i;
        }
        d = asc ? p - q : q - p;
      } else {
        var s = x ? x.textContent.trim() : "", t = y ? y.textContent.trim() : "";
        d = asc ? s.localeCompare(t, undefined, {numeric: true})
                : t.localeCompare(s, undefined, {numeric: true});
      }
      return d !== 0 ? d : a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (x) { frag.appendChild(x.row); });
    body.appendChild(frag);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable thead th"), function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(th); }
    });
  });
})();
"""
