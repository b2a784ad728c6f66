"""Published reference figures beside a suite's leaderboard (never mixed with computed rows).

The figures live in ``tokbench/registry/published.toml``; a table applies to the suites whose
name starts with its ``suite_prefix``. :func:`sections` returns the markdown and HTML blocks
that ``tokbench.report.leaderboard.render`` appends under such a suite: the published table,
clearly titled as not computed, followed by tokbench's own values of the same quantities
(``lang_token_share/types``, ``pure_token_share/types``) for the tokenizers named in the
table, where the results hold them.
"""
from __future__ import annotations

import functools
import html
import math
import tomllib
from pathlib import Path
from typing import Any

PUBLISHED_TOML = Path(__file__).resolve().parent.parent / "registry" / "published.toml"
# published column -> (metric, variant) tokbench computes for it
COMPUTED = {"%TR": ("lang_token_share", "types"), "%Pure": ("pure_token_share", "types")}


@functools.lru_cache(maxsize=None)
def load_published(path: Path = PUBLISHED_TOML) -> dict[str, dict[str, Any]]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def tables_for(suite: str) -> list[dict[str, Any]]:
    return [t for t in load_published().values() if str(suite).startswith(t.get("suite_prefix", "\0"))]


def _fmt(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else f"{x:.2f}"


def _computed(sdf, tok: str, col: str) -> float:
    """tokbench's value (in %) for ``col`` of ``tok``: the mean over the suite's Turkish
    language rows (one per corpus) of the newest value."""
    if sdf is None or not tok or col not in COMPUTED:
        return float("nan")
    m, v = COMPUTED[col]
    sel = sdf[(sdf["tokenizer"] == tok) & (sdf["metric"] == m) & (sdf["variant"] == v) & (sdf["lang"] != "*")]
    vals = [float(x) for x in sel["value"] if x is not None and not math.isnan(float(x))]
    return 100.0 * sum(vals) / len(vals) if vals else float("nan")


def rows_with_computed(table: dict[str, Any], sdf) -> list[list[str]]:
    cols = list(table["columns"])
    out = []
    for r in table["rows"]:
        tok = r.get("tokbench") or ""
        cells = [r["tokenizer"]] + [_fmt(v) for v in r["values"]] + [tok or "–"]
        for c in cols:
            comp = _computed(sdf, tok, c)
            pub = r["values"][cols.index(c)]
            cells += [_fmt(comp), _fmt(comp - float(pub)) if not math.isnan(comp) else "–"]
        out.append(cells)
    return out


def _header(table: dict[str, Any]) -> list[str]:
    cols = list(table["columns"])
    return (["tokenizer (as published)"] + [f"{c} published" for c in cols] + ["tokbench tokenizer"]
            + [h for c in cols for h in (f"{c} tokbench", f"{c} Δ")])


def markdown(table: dict[str, Any], sdf=None) -> list[str]:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    head = _header(table)
    out = [f"### {esc(table['title'])}", "",
           f"_Published by the authors, not computed by tokbench_ — corpus: {esc(table['corpus'])}. "
           f"Source: {esc(table['citation'])}. {esc(table.get('note', ''))} "
           "The tokbench columns are this suite's own `types` values on its own corpora (in %); "
           "Δ = tokbench − published.", "",
           "| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(map(esc, r)) + " |" for r in rows_with_computed(table, sdf)]
    return out + [""]


def html_block(table: dict[str, Any], sdf=None) -> list[str]:
    e = html.escape
    head = _header(table)
    out = [f"<h3>{e(table['title'])}</h3>",
           f'<p class="caption"><strong>Published by the authors, not computed by tokbench</strong> — '
           f"corpus: {e(table['corpus'])}. Source: {e(table['citation'])}. {e(table.get('note', ''))} "
           "The tokbench columns are this suite's own <code>types</code> values on its own corpora (in %); "
           "Δ = tokbench − published.</p>",
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
