"""``tokbench publish``: the results store -> a self-contained static leaderboard site.

The site needs no server and loads nothing from outside its folder (no CDN, no external URL
in any file: fonts, scripts and styles are local, matplotlib's PNG text chunks are stripped),
so it works from ``file://`` and from any static host (GitHub Pages, S3, ``python -m
http.server``). Layout of ``<out>/`` (default ``<results-dir>/site/``)::

    index.html              suites, downloads, provenance overview
    suite-<slug>.html       per suite: sortable summary table, plots, per-language
                            drill-down tables (one per headline column), published reference
                            tables, metrics, provenance
    models.html             the joined models table (when rows with a model are stored)
    metrics.html            every metric shown: unit, direction, variants, versions, description
    assets/site.css         styles (tokbench.report.html.CSS, the leaderboard's too)
    assets/sort.js          click-to-sort tables (tokbench.report.html.JS)
    img/<slug>/*.png        the leaderboard's plots (tokbench.report.plots), at a lower
                            resolution, RGB (``SITE_DPI_SCALE``, ``_shrink_png``)
    data/results.parquet    the published rows: the newest row of every cell (``latest``),
                            written once (no CSV copy: ``pandas.read_parquet(...).to_csv(...)``)
    data/SHA256SUMS         checksum of the data file
    .nojekyll               GitHub Pages: serve the folder as is

Every number on the pages is computed from ``data/results.parquet`` (the site is rendered from
the file after it is written and read back). Table cells carry machine-readable attributes:
``data-value`` (the value at full precision, ``repr`` of the float, or ``NaN``),
``data-suite``, ``data-tokenizer``, ``data-model``, ``data-metric``, ``data-variant``,
``data-corpus`` / ``data-lang`` (when the cell's rows share one), ``data-rows`` (0-based row
positions in ``data/results.parquet``) and ``data-agg``: ``row`` (the value of that one row)
or ``mean`` (the unweighted mean of the non-NaN values of those rows, e.g. a summary value
averaged over languages or corpora). The text shown is the value rounded to 3 decimals, with
the leaderboard's † / ‡ marks. The tables, plots and their choice (metric metadata) are the
leaderboard's own (``tokbench.report.build``); this module lays them out as a site. Suites are
listed in ``build.suite_order``: those named in ``lead`` first, then the others by name.

The output folder is replaced as a whole; a non-empty folder that ``publish`` did not write
(no ``.tokbench-site`` marker) is refused rather than deleted.
"""
from __future__ import annotations

import hashlib
import json
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

from ..schema import COLUMNS, RESULT_SCHEMA
from .build import build
from .data import Meta, latest, prepare
from .html import CSS, JS
from .site import MODELS_PAGE, PARQUET, SUMS, write_index, write_metrics_page, write_models_page, write_suite_page

__all__ = ["publish", "add_parser", "cmd_publish", "PARQUET"]

MARKER = ".tokbench-site"
SITE_DPI_SCALE = 0.8    # the site's plots: 80 % of the leaderboard's resolution
EXIT_OK, EXIT_BAD_INPUT = 0, 2


class PublishError(ValueError):
    """Bad input for publish (empty results, an output folder it must not replace)."""


# --------------------------------------------------------------------------------------
# command line

def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "publish", help="build a self-contained static leaderboard site from the store",
        description="Build a static site (HTML, CSS, JS, PNG, parquet download) from the "
                    "results store: no server, no external URL; open index.html from disk or "
                    "host the folder anywhere (e.g. GitHub Pages).")
    p.add_argument("--results-dir", default="results", metavar="DIR",
                   help="results store (default: results/)")
    p.add_argument("--out", metavar="DIR", help="site folder (default: <results-dir>/site/); replaced as a whole")
    p.add_argument("--title", default="tokbench leaderboard", help="site title")
    p.add_argument("--lead", action="append", metavar="SUITE",
                   help="list this suite first (repeatable, in order); the others follow by name")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
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
        site = publish(df, out, metric_info=metric_info(), title=args.title, lead=getattr(args, "lead", None),
                       progress=not getattr(args, "quiet", False))
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
            title: str = "tokbench leaderboard", lead: Iterable[str] | None = None,
            progress: bool = False) -> dict[str, Any]:
    """Write the static site for a results DataFrame (``tokbench.schema`` columns).

    Only the newest row of every cell (``latest``) is published. ``metric_info`` is as for
    ``tokbench.report.render`` (default: ``tokbench.metrics.metric_info()``). Suites named in
    ``lead`` are listed first (in that order, when stored), the others by name. ``progress``:
    a progress bar over the data, the suites' tables and plots and the pages, on stderr. The
    folder is built next to ``out_dir`` and then swapped in. Returns ``{"index": Path,
    "suites": {suite: Path}, "models": Path or None, "parquet": Path, "plots": [Path], "files":
    [Path], "rows": int}``.
    """
    if df is None or len(df) == 0:
        raise PublishError("no results to publish (0 rows); run a suite first or check the "
                           "store path")
    out_dir = Path(out_dir).resolve()
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.publishing-", dir=out_dir.parent))
    try:
        if metric_info is None:
            from ..metrics import metric_info as _metric_info

            metric_info = _metric_info()
        from tqdm.auto import tqdm

        with tqdm(total=1, desc="publish", unit="step", file=sys.stderr, disable=not progress,
                  leave=False) as bar:
            result = _build(df, tmp, Meta(metric_info), title, lead, bar)
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
            "models": fix(result["models"]) if result["models"] else None,
            "parquet": fix(result["parquet"]),
            "plots": [fix(p) for p in result["plots"]], "files": [fix(p) for p in result["files"]],
            "rows": result["rows"]}


def _published_rows(df: pd.DataFrame) -> pd.DataFrame:
    rows = latest(df)
    for col in COLUMNS:
        if col not in rows.columns:
            rows[col] = None
    return rows[list(COLUMNS)].reset_index(drop=True)


def _write_data(rows: pd.DataFrame, root: Path) -> Path:
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
    (root / SUMS).write_text(f"{hashlib.sha256(parquet.read_bytes()).hexdigest()}  {parquet.name}\n",
                             encoding="utf-8")
    return parquet


def _build(df: pd.DataFrame, root: Path, meta: Meta, title: str, lead: Iterable[str] | None, bar) -> dict:
    def step(what: str, total: int | None = None) -> None:
        if total is not None:
            bar.total = total
        bar.set_postfix_str(what, refresh=False)
        bar.update(1)

    parquet = _write_data(_published_rows(df), root)
    # everything below is rendered from the file just written, read back
    pub = pd.read_parquet(parquet)
    pub["_pos"] = np.arange(len(pub))
    data = prepare(pub)
    nsuites = data["suite"].nunique()
    # data, per suite its tables and plots, then its page; the models and metrics pages, the index
    step("data", 1 + 2 * nsuites + 3)
    (root / "assets").mkdir()
    (root / "assets" / "site.css").write_text(CSS.lstrip(), encoding="utf-8")
    (root / "assets" / "sort.js").write_text(JS.lstrip(), encoding="utf-8")
    (root / ".nojekyll").write_text("", encoding="utf-8")
    (root / MARKER).write_text("written by `tokbench publish`; this folder is replaced as a "
                               "whole on every publish\n", encoding="utf-8")

    slugs = _slugs(sorted(set(data["suite"])))
    sections = build(data, meta, lambda suite: (root / "img" / slugs[suite], ""), lead=lead,
                     dpi_scale=SITE_DPI_SCALE, step=lambda suite: step(f"{suite}: tables, plots"))
    plots = [p for s in sections for p in s["plots"]]
    for p in plots:
        _shrink_png(p)
        _strip_png_text(p)
    pages: dict[str, Path] = {}
    links = {suite: f"suite-{slug}.html" for suite, slug in slugs.items()}
    models = next((s for s in sections if s["models"]), None)
    models_page = root / MODELS_PAGE if models else None
    for s in sections:
        s["plots"] = [p.relative_to(root) for p in s["plots"]]
        if s["models"]:
            write_models_page(root / MODELS_PAGE, title, s)
        else:
            pages[s["suite"]] = root / links[s["suite"]]
            write_suite_page(pages[s["suite"]], title, s, meta, models=bool(models))
        step(f"page {links.get(s['suite'], MODELS_PAGE)}")
    if not models:
        step("no models page")
    write_metrics_page(root / "metrics.html", title, data, meta, links, models=bool(models))
    step("metrics.html")
    index = root / "index.html"
    write_index(index, title, data, [s for s in sections if not s["models"]], links, models)
    step("index.html")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {"index": index, "suites": pages, "models": models_page, "parquet": parquet,
            "plots": plots, "files": files, "rows": len(pub)}


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


def _shrink_png(path: Path) -> None:
    """Rewrite a plot without its alpha channel when it is opaque (matplotlib's are: white
    background), at zlib's best compression. Colours stay exact: a palette PNG would band the
    colour scales."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        rgba = im.convert("RGBA")
    small = rgba.convert("RGB") if rgba.getextrema()[3][0] == 255 else rgba
    small.save(path, format="PNG", optimize=True)


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


