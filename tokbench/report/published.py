"""Published reference figures beside a suite's leaderboard (never mixed with computed rows).

The figures live in ``tokbench/registry/published.toml`` (a data file, read as such); a table
applies to the suites listed in its ``suites``. :func:`sections` returns the markdown and HTML
blocks that the leaderboard and the published site show under such a suite: the published
table, clearly titled as not computed, followed by tokbench's own values of the same
quantities (the table's ``computed``: published column -> ``metric/variant``, times
``computed_scale``) for the tokenizers named in the table, where the results hold them.
"""
from __future__ import annotations

import functools
import math
import tomllib
from pathlib import Path
from typing import Any

from ..schema import ALL_LANGS
from .data import DASH
from .html import e
from .markdown import md_esc

PUBLISHED_TOML = Path(__file__).resolve().parent.parent / "registry" / "published.toml"


@functools.lru_cache(maxsize=None)
def load_published(path: Path = PUBLISHED_TOML) -> dict[str, dict[str, Any]]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def tables_for(suite: str, path: Path = PUBLISHED_TOML) -> list[dict[str, Any]]:
    return [t for t in load_published(path).values() if str(suite) in list(t.get("suites", []))]


def _fmt(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return DASH
    return DASH if math.isnan(x) else f"{x:.2f}"


def _computed(table: dict[str, Any], sdf, tok: str, col: str) -> float:
    """tokbench's value for ``col`` of ``tok``: the mean over the suite's per-language rows
    (one per corpus and language) of the newest value, times ``computed_scale``."""
    spec = (table.get("computed") or {}).get(col)
    if sdf is None or not tok or not spec:
        return float("nan")
    m, _, v = str(spec).partition("/")
    sel = sdf[(sdf["tokenizer"] == tok) & (sdf["metric"] == m) & (sdf["variant"] == v) & (sdf["lang"] != ALL_LANGS)]
    vals = [float(x) for x in sel["value"] if x is not None and not math.isnan(float(x))]
    scale = float(table.get("computed_scale", 1.0))
    return scale * sum(vals) / len(vals) if vals else float("nan")


def rows_with_computed(table: dict[str, Any], sdf) -> list[list[str]]:
    cols = list(table["columns"])
    out = []
    for r in table["rows"]:
        tok = r.get("tokbench") or ""
        cells = [r["tokenizer"]] + [_fmt(v) for v in r["values"]] + [tok or DASH]
        for c in cols:
            comp = _computed(table, sdf, tok, c)
            pub = r["values"][cols.index(c)]
            cells += [_fmt(comp), _fmt(comp - float(pub)) if not math.isnan(comp) else DASH]
        out.append(cells)
    return out


def _header(table: dict[str, Any]) -> list[str]:
    cols = list(table["columns"])
    return (["tokenizer (as published)"] + [f"{c} published" for c in cols] + ["tokbench tokenizer"]
            + [h for c in cols for h in (f"{c} tokbench", f"{c} Δ")])


def _what(table: dict[str, Any]) -> str:
    specs = ", ".join(f"{c}: {s}" for c, s in (table.get("computed") or {}).items())
    scale = float(table.get("computed_scale", 1.0))
    times = "" if scale == 1.0 else f", times {scale:g}"
    return f"The tokbench columns are this suite's own values on its own corpora ({specs}{times}); " \
           "Δ = tokbench − published."


def markdown(table: dict[str, Any], sdf=None) -> list[str]:
    head = _header(table)
    out = [f"### {md_esc(table['title'])}", "",
           f"_Published by the authors, not computed by tokbench_ — corpus: {md_esc(table['corpus'])}. "
           f"Source: {md_esc(table['citation'])}. {md_esc(table.get('note', ''))} {md_esc(_what(table))}", "",
           "| " + " | ".join(map(md_esc, head)) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(map(md_esc, r)) + " |" for r in rows_with_computed(table, sdf)]
    return out + [""]


def html_block(table: dict[str, Any], sdf=None) -> list[str]:
    head = _header(table)
    out = [f"<h3>{e(table['title'])}</h3>",
           f'<p class="caption"><strong>Published by the authors, not computed by tokbench</strong> — '
           f"corpus: {e(table['corpus'])}. Source: {e(table['citation'])}. {e(table.get('note', ''))} "
           f"{e(_what(table))}</p>",
           '<div class="wrap"><table class="published"><thead><tr>'
           + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows_with_computed(table, sdf):
        out.append("<tr>" + f"<td>{e(r[0])}</td>" + "".join(f'<td class="num">{e(c)}</td>' for c in r[1:]) + "</tr>")
    out.append("</tbody></table></div>")
    return out


def sections(sdf, suite: str) -> tuple[list[str], list[str]]:
    """(markdown lines, HTML lines) of every published table for ``suite`` (empty if none)."""
    md: list[str] = []
    ht: list[str] = []
    for t in tables_for(suite):
        md += markdown(t, sdf)
        ht += html_block(t, sdf)
    return md, ht
