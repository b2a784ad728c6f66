"""HTML for the leaderboard page and the published site: the one stylesheet, the one sorting
script, the one escape, the one "best value" rule and the one table writer both use.

A value cell carries ``data-value`` (the value at full precision, ``repr`` of the float, or
``NaN``), ``data-suite``, ``data-tokenizer``, ``data-model``, ``data-metric``, ``data-variant``,
``data-corpus`` / ``data-lang`` (when its rows share one), ``data-agg`` (``row``: the value of
one row; ``mean``: the unweighted mean of the non-NaN values of its rows; ``none``: no row) and,
when the rows carry a ``_pos`` column (positions in a published file), ``data-rows``.
"""
from __future__ import annotations

import html as _html
import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .data import DASH, Cell, Meta, Table, arrow, better_word, distinct

__all__ = ["BEST_NOTE", "CSS", "JS", "best", "code", "e", "legend_html", "table_html"]

# the legend line of the "best" highlight, under the tables of the leaderboard and the site
BEST_NOTE = ("Highlighted: the best value of each column with a direction, compared like with like: only values "
             "over the same corpora and languages as the column's full rows compete; a value over fewer (‡), or a "
             "mean over languages (†) in a column of all-language values, is never highlighted.")


def e(s: Any) -> str:
    """HTML-escape any value (quotes too: safe in attributes)."""
    return _html.escape(str(s), quote=True)


def code(text: str) -> str:
    """Caption or provenance text: `...` spans become <code>, the rest is escaped."""
    parts = str(text).split("`")
    return "".join(f"<code>{e(p)}</code>" if i % 2 else e(p) for i, p in enumerate(parts))


def attrs(**kv: Any) -> str:
    """``data-*`` attributes of the given values (None left out)."""
    return "".join(f' data-{k.replace("_", "-")}="{e(v)}"' for k, v in kv.items() if v is not None)


def best(values: list[float], hib: bool | None, compete: list[bool] | None = None) -> set[int]:
    """Positions of the best value of a column: the max (higher is better) or min (lower is
    better) of at least two finite values; none for a descriptive column (``hib`` None).

    Like with like: with ``compete`` (``Cell.compete`` per position) only those positions take
    part; a value over fewer corpora or languages (‡), or a mean over languages in a column of
    all-language rows (†), is never the best, however good."""
    ok = [i for i, v in enumerate(values) if not math.isnan(v) and (compete is None or compete[i])]
    if hib is None or len(ok) < 2:
        return set()
    target = max(values[i] for i in ok) if hib else min(values[i] for i in ok)
    return {i for i in ok if values[i] == target}


def th(label: str, sub: str = "", hib: bool | None = None, extra: str = "", aria: str = "none") -> str:
    tip = {True: "higher is better; click to sort", False: "lower is better; click to sort"}.get(
        hib, "click to sort")  # type: ignore[arg-type]
    small = f"<br><small>{e(sub)}</small>" if sub else ""
    return (f'<th scope="col" tabindex="0" aria-sort="{aria}" title="{e(tip)}"{extra}>'
            f"{e(label)}{e(arrow(hib))}{small}</th>")


def _dv(v: float) -> str:
    return "NaN" if math.isnan(v) else repr(float(v))


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _td(cell: Cell, t: Table, tokenizer: str, model: str, cls: str, full: bool) -> str:
    """A value cell; ``full``: every data-* attribute, else only ``data-value`` (for sorting)."""
    src = cell.src
    kv: dict[str, Any] = {"value": "NaN", "suite": t.attrs.get("suite"), "tokenizer": tokenizer,
                          "model": model or None, "metric": None, "variant": None, "corpus": None, "lang": None,
                          "agg": "none", "rows": ""}
    kv.update(cell.attrs)
    if src is not None and len(src):
        finite = src.values[~np.isnan(src.values)]
        expect = float(finite.mean()) if len(finite) else float("nan")
        if not _close(expect, float(cell.value)):   # the table's value, recomputed from its rows
            raise AssertionError(f"report: cell {t.title}/{tokenizer}/{cell.attrs} is {cell.value!r} "
                                 f"but its rows give {expect!r}")
        one = lambda xs: xs[0] if len(xs) == 1 else None  # noqa: E731
        kv.update(value=_dv(float(cell.value)), suite=one(src.suites), corpus=one(src.corpora),
                  lang=one(src.langs), agg="row" if len(src) == 1 else "mean",
                  rows=None if src.pos is None else ",".join(str(int(p)) for p in src.pos))
    tip = f' title="{e(cell.tip)}"' if cell.tip else ""
    shown = attrs(**kv) if full else attrs(value=kv["value"])
    return f'<td class="{cls}"{shown}{tip}>{e(cell.text)}</td>'


def table_html(t: Table, table_id: str | None = None, caption_extra: str = "", *, full: bool = True) -> list[str]:
    """A sortable table with its caption and provenance list (no heading). ``full``: value
    cells carry every data-* attribute (the published site), else only ``data-value``."""
    ident = f' id="{e(table_id)}"' if table_id else ""
    cls = " ".join(x for x in ("sortable", t.kind) if x)
    out = ['<div class="wrap">', f'<table class="{cls}"{ident}{attrs(**t.attrs)}>',
           "<thead><tr>" + th(t.row_header, extra=' data-key="tokenizer"')]
    for j, c in enumerate(t.columns):
        aria = "none"
        if t.sort == j:
            aria = "descending" if c.higher_is_better else "ascending"
        out.append(th(c.label, c.sub, c.higher_is_better, attrs(**c.attrs), aria))
    out.append("</tr></thead><tbody>")
    marks = [best([r.cells[j].value for r in t.rows], c.higher_is_better, [r.cells[j].compete for r in t.rows])
             for j, c in enumerate(t.columns)]
    for i, r in enumerate(t.rows):
        row_attrs = attrs(tokenizer=r.tokenizer, model=r.model or None)
        note = f' class="flagged" title="{e(r.note)}"' if r.note else ""
        tds = [f'<th scope="row"{row_attrs}{note}>{e(r.label)}</th>']
        tds += [_td(c, t, r.tokenizer, r.model, "num best" if i in marks[j] else "num", full)
                for j, c in enumerate(r.cells)]
        out.append(f"<tr{row_attrs}>" + "".join(tds) + "</tr>")
    out += ["</tbody></table></div>", f'<p class="caption">{code(t.caption)}{caption_extra}</p>']
    out += [f'<p class="caption footnote">{code(n)}</p>' for n in t.footnotes]
    out += prov_list(t.provenance)
    return out


def prov_list(items: Iterable[tuple[str, str]]) -> list[str]:
    return ['<ul class="prov">'] + [f"<li>{e(k)}: {code(v)}</li>" for k, v in items] + ["</ul>"]


def legend_html(metrics: list[str], data: pd.DataFrame, meta: Meta,
                suite_links: Mapping[str, str] | None = None) -> list[str]:
    """The metric legend: unit, better direction, variants and metric versions stored, the
    description; with ``suite_links`` (suite -> href) a column linking the suites holding it."""
    heads = ["metric", "unit", "better", "variants", "version", "description"]
    if suite_links is not None:
        heads.append("suites")
    out = ['<div class="wrap"><table class="sortable legend">',
           "<thead><tr>" + "".join(th(h) for h in heads) + "</tr></thead><tbody>"]
    for m in metrics:
        rows = data[data["metric"] == m]
        cells = [e(m), e(meta.unit(m) or DASH), e(better_word(meta.direction(m))),
                 e(", ".join(sorted(set(rows["variant"])))), e(", ".join(distinct(rows["metric_version"])) or DASH),
                 e(meta.description(m) or DASH)]
        if suite_links is not None:
            cells.append(", ".join(f'<a href="{e(suite_links[s])}">{e(s)}</a>'
                                   for s in sorted(set(rows["suite"])) if s in suite_links))
        out.append(f'<tr id="metric-{e(m)}">' + "".join(
            f'<td class="desc">{c}</td>' if i == 5 else f"<td>{c}</td>" for i, c in enumerate(cells)) + "</tr>")
    out.append("</tbody></table></div>")
    return out


def head(title: str, *, inline: bool, extra: str = "") -> list[str]:
    """<!DOCTYPE> through <body>: the stylesheet inline (one-file page) or as assets/site.css."""
    style = f"<style>{CSS}</style>" if inline else '<link rel="stylesheet" href="assets/site.css">'
    return ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">', *([extra] if extra else []),
            f"<title>{e(title)}</title>", style, "</head><body>"]


def tail(*, inline: bool) -> list[str]:
    script = f"<script>{JS}</script>" if inline else '<script src="assets/sort.js"></script>'
    return [script, "</body></html>"]


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem auto;
max-width:1600px;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem;margin:.6rem 0}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.05rem;margin-top:1.4rem}
nav a{margin-right:1.2rem}
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
th.flagged{color:#8a4b00}
.footnote{margin:.1rem 0 .1rem 1rem}
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

JS = """
/* tokbench: click (or Enter/Space on) a column header to sort its table.
   Cells with data-value sort numerically (NaN always last); others by their text. */
(function () {
  "use strict";
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
      var c = x.row.cells[idx];
      return c !== undefined && c.hasAttribute("data-value");
    });
    rows.sort(function (a, b) {
      var x = a.row.cells[idx], y = b.row.cells[idx], d;
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
