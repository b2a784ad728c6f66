"""Markdown for the leaderboard (``leaderboard.md``): the same tables as the HTML."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .data import DASH, Meta, Table, arrow, better_word

__all__ = ["md_esc", "md_table", "write_markdown"]


def md_esc(s: Any) -> str:
    s = str(s)
    for ch in ("\\", "|", "<", ">", "`", "*", "&"):
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def md_code(text: str) -> str:
    """Escape caption/provenance text but keep its `code` spans (hashes are hex, safe as is)."""
    parts = str(text).split("`")
    return "".join(f"`{p}`" if i % 2 else md_esc(p) for i, p in enumerate(parts))


def md_table(t: Table) -> list[str]:
    out = [f"### {md_esc(t.title)}", ""]
    head = [t.row_header]
    for c in t.columns:
        label = f"{c.label}/{c.key[1]}" if isinstance(c.key, tuple) else c.label
        head.append(md_esc(label) + arrow(c.higher_is_better))
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" + "---:|" * len(t.columns))
    for r in t.rows:
        out.append("| " + " | ".join([md_esc(r.label)] + [c.text for c in r.cells]) + " |")
    out += ["", f"_{md_code(t.caption)}_", ""]
    for n in t.footnotes:
        out += [md_code(n), ""]
    out += [f"- {label}: {md_code(text)}" for label, text in t.provenance]
    out.append("")
    return out


def gh_anchor(heading: str) -> str:
    """The anchor GitHub (and most markdown renderers) give a heading: lower case, punctuation
    other than ``-`` and ``_`` dropped, spaces to ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _heading(s: dict) -> str:
    ver = f" (version {', '.join(s['versions'])})" if s["versions"] else ""
    return f"{s['suite']}{ver}"


def write_markdown(path: Path, title: str, sections: list[dict], legend: list[str], meta: Meta) -> None:
    """``sections``: per suite (and the models table) a dict as ``build.suite_section`` returns,
    in the order shown. The title, a list of the sections, the metric legend, then the sections."""
    out = [f"# {md_esc(title)}", ""]
    if len(sections) > 1:
        out += ["Suites: " + ", ".join(f"[{md_esc(s['suite'])}](#{gh_anchor(_heading(s))})" for s in sections)
                + (" · [metrics](#metrics)" if legend else ""), ""]
    if legend:
        out += ["## Metrics", "", "| metric | unit | better | description |", "|---|---|---|---|"]
        out += [f"| {md_esc(m)} | {md_esc(meta.unit(m) or DASH)} | {better_word(meta.direction(m))} | "
                f"{md_esc(meta.description(m))} |" for m in legend]
        out.append("")
    for s in sections:
        out += [f"## {md_esc(_heading(s))}", ""]
        if s["summary"] is None:
            out += ["_No headline metrics for this suite._", ""]
        else:
            out += md_table(s["summary"])
        for p in s["plots"]:
            out += [f"![{md_esc(Path(p).stem)}]({Path(p).as_posix()})", ""]
        for mv, t in s["drill"].items():
            if mv in meta.drilldown:
                out += md_table(t)
        if s["other"]:
            out += [f"Also stored, not shown: {md_esc(', '.join(s['other']))}.", ""]
        out += s["extra_md"]
    path.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")
