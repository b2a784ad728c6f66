"""Leaderboard rendering: results DataFrame (the store's long format) -> markdown, HTML, PNG.

The report layer reads only the store (``tokbench.schema`` columns); it never imports the
runner, the tokenizer layer or the adapters. ``render`` first keeps the newest row of every
cell (``latest``), then writes, per suite, a summary table (tokenizers x headline metrics),
per-language drill-down tables, provenance under every table, a metric legend and plots.

>>> import pandas as pd
>>> df = pd.DataFrame({"suite": ["s", "s"], "tokenizer": ["t", "t"], "corpus": ["c", "c"],
...     "lang": ["en", "en"], "metric": ["fertility", "fertility"],
...     "variant": ["in_context", "in_context"], "model": [None, None], "value": [1.5, 1.25],
...     "created_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True)})
>>> latest(df)["value"].tolist()
[1.25]
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS

__all__ = ["HEADLINE", "CELL_KEY", "latest", "render"]

# (metric, variant) pairs of the summary table, in display order (those present are shown)
HEADLINE: tuple[tuple[str, str], ...] = (
    ("fertility", "in_context"),
    ("fertility", "isolated"),
    ("pcw", "micro"),
    ("continuation_share", "micro"),
    ("bytes_per_token", "micro"),
    ("chars_per_token", "micro"),
    ("nsl", "micro"),
    ("vocab_utilization", "micro"),
    ("unk_rate", "micro"),
    ("byte_fallback_rate", "micro"),
    ("roundtrip", "micro"),
    ("renyi_efficiency", "vocab"),
    ("shannon_efficiency", "vocab"),
    ("superword_share", "micro"),
    # parallel text (multilingual suites): premium vs the reference language and its summary
    ("premium", "corpus"),
    ("parity", "mean"),
    ("parity", "max"),
    ("parity", "gini"),
    # lexicon metrics (%LANG, %Pure), over distinct token types
    ("lang_token_share", "types"),
    ("pure_token_share", "types"),
    # model side (perplexity suites, docs/perplexity.md; char-level suites, docs/chartasks.md)
    ("bits_per_byte", "micro"),
    ("ppl_ratio", "byte"),
    ("ppl_ratio", "token"),
    ("word_perplexity", "micro"),
    ("char_task_accuracy", "all"),
    ("char_task_inside_multichar", "count_char"),
    ("char_task_tokens_per_word", "all"),
)
# the joined "models" table: model-side columns, then the model's tokenizer on the default suite
MODEL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bits_per_byte", "micro"), ("ppl_ratio", "byte"), ("ppl_ratio", "token"), ("char_task_accuracy", "all"))
TOKENIZER_COLUMNS: tuple[tuple[str, str], ...] = (("fertility", "in_context"), ("bytes_per_token", "micro"))
TOKENIZER_SUITE = "core-v1"
# a model scored by several suites shows, per column, the values of the first of these it is in
PREFERRED_MODEL_SUITES = ("perplexity-v1", "charlevel-v1")
SORT_KEY = ("fertility", "in_context")          # summary rows ascend by this column
FERTILITY = ("fertility", "in_context")
BYTES_PER_TOKEN = ("bytes_per_token", "micro")
MD_DRILLDOWN = (FERTILITY, BYTES_PER_TOKEN, ("ppl_ratio", "byte"), ("ppl_ratio", "token"),
                ("bits_per_byte", "micro"), ("char_task_accuracy", "all"))   # per-language tables in the markdown

# one leaderboard cell; reruns append rows with the same key and a later created_at
CELL_KEY = ("suite", "tokenizer", "corpus", "lang", "metric", "variant", "model")
REQUIRED = ("suite", "tokenizer", "lang", "metric", "variant", "value")

DASH = "–"          # shown for NaN / missing values
MEAN_MARK = "†"     # mean over languages in a column that otherwise uses lang="*" rows
FEWER_MARK = "‡"    # averaged over fewer corpora/languages than other rows of the column


# --------------------------------------------------------------------------------------
# latest

def latest(df: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (suite, tokenizer, corpus, lang, metric, variant, model), the newest row.

    Newest is the latest ``created_at``; rows without a timestamp lose to rows with one, and
    among equal timestamps the row that comes last in ``df`` wins. Null keys (e.g. ``model``
    for tokenizer-only metrics) compare equal. Returns the kept rows in their original
    order, with a fresh index.
    """
    if df.empty:
        return df.copy().reset_index(drop=True)
    keys = [k for k in CELL_KEY if k in df.columns]
    work = df.reset_index(drop=True)
    ts = _timestamps(work["created_at"]) if "created_at" in work.columns else None
    order = pd.DataFrame({k: work[k].astype(object).where(work[k].notna(), None) for k in keys})
    order["_pos"] = np.arange(len(work))
    if ts is not None:
        order["_ts"] = ts
        order = order.sort_values(["_ts", "_pos"], kind="mergesort", na_position="first")
    kept = order.drop_duplicates(subset=keys, keep="last")["_pos"].sort_values()
    return work.iloc[kept.to_numpy()].reset_index(drop=True)


def _timestamps(col: pd.Series) -> pd.Series:
    """created_at as tz-aware UTC timestamps (naive values are taken to be UTC)."""
    return pd.to_datetime(col, utc=True, errors="coerce")


# --------------------------------------------------------------------------------------
# table model shared by the markdown and HTML writers

@dataclass
class _Cell:
    value: float
    text: str
    tip: str = ""


@dataclass
class _Column:
    key: tuple[str, str] | str      # (metric, variant) for summary columns, label for languages
    label: str
    sub: str = ""                   # second header line (variant / unit)
    higher_is_better: bool | None = None


@dataclass
class _Table:
    title: str
    caption: str
    columns: list[_Column]
    rows: list[tuple[str, list[_Cell]]]
    provenance: list[tuple[str, str]] = field(default_factory=list)   # (label, markdown-ish text)
    anchor: str = ""
    row_header: str = "tokenizer"


def _fmt(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return DASH
    if math.isnan(f):
        return DASH
    return f"{f:.3f}"


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"results DataFrame lacks required column(s) {missing}; "
                         f"expected the tokbench.schema columns")
    out = latest(df)
    for col in ("corpus", "model", "tokenizer_hash", "corpus_hash", "tokbench_version",
                "suite_version", "note", "ci_low", "ci_high", "n", "created_at"):
        if col not in out.columns:
            out[col] = None
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["_ts"] = _timestamps(out["created_at"])
    for col in ("suite", "tokenizer", "lang", "metric", "variant"):
        out[col] = out[col].astype(str)
    out["corpus"] = out["corpus"].astype(object).where(out["corpus"].notna(), "")
    out["corpus"] = out["corpus"].astype(str)
    model = out["model"].astype(object)
    out["_row"] = [t if (m is None or (isinstance(m, float) and math.isnan(m)) or m is pd.NA)
                   else f"{t} [{m}]" for t, m in zip(out["tokenizer"], model)]
    return out


def _select(df: pd.DataFrame, mv: tuple[str, str]) -> pd.DataFrame:
    return df[(df["metric"] == mv[0]) & (df["variant"] == mv[1])]


def _info(metric_info: Mapping[str, Mapping[str, Any]] | None, metric: str,
          variant: str | None = None) -> Mapping[str, Any]:
    if not metric_info:
        return {}
    if variant is not None and f"{metric}/{variant}" in metric_info:
        return metric_info[f"{metric}/{variant}"]
    return metric_info.get(metric, {}) or {}


def _tip(rows: pd.DataFrame) -> str:
    """Tooltip for a cell backed by exactly one stored row: n, CI and note."""
    return _row_tip(rows.iloc[0]) if len(rows) == 1 else ""


def _row_tip(r: pd.Series) -> str:
    parts = []
    if r["n"] is not None and not pd.isna(r["n"]):
        parts.append(f"n={int(r['n'])}")
    lo, hi = _num(r["ci_low"]), _num(r["ci_high"])
    if not (math.isnan(lo) or math.isnan(hi)):
        parts.append(f"CI [{lo:.3f}, {hi:.3f}]")
    if r["note"] is not None and not pd.isna(r["note"]):
        parts.append(str(r["note"]))
    return "; ".join(parts)


# --------------------------------------------------------------------------------------
# summary and drill-down tables

def _summary_values(sdf: pd.DataFrame, mv: tuple[str, str]
                    ) -> tuple[dict[str, _Cell], str]:
    """Per row label, the language-averaged value of one (metric, variant); and the source."""
    col = _select(sdf, mv)
    star = col[col["lang"] == ALL_LANGS]
    per = col[col["lang"] != ALL_LANGS]
    raw: dict[str, tuple[float, str, int, str]] = {}   # row -> (value, source, units, tip)
    for row in sorted(set(col["_row"])):
        s = star[star["_row"] == row]
        if len(s):
            vals = s["value"].dropna()
            tip = _tip(s) or f"mean over {len(vals)} corpora of the lang=\"*\" rows"
            raw[row] = (float(vals.mean()) if len(vals) else float("nan"), "star", len(vals), tip)
            continue
        p = per[per["_row"] == row]
        by_lang = p.groupby(["corpus", "lang"])["value"].mean().dropna()
        raw[row] = (float(by_lang.mean()) if len(by_lang) else float("nan"), "mean",
                    len(by_lang), f"unweighted mean over {len(by_lang)} language(s)")
    sources = {src for _, src, _, _ in raw.values()}
    if sources == {"star"}:
        source = "star"
    elif sources == {"mean"}:
        source = "mean"
    else:
        source = "mixed"
    full = {src: max((u for _, s, u, _ in raw.values() if s == src), default=0)
            for src in sources}
    cells = {}
    for row, (v, src, units, tip) in raw.items():
        text = _fmt(v)
        if text != DASH:
            if source == "mixed" and src == "mean":
                text += MEAN_MARK
            if units < full[src]:
                text += FEWER_MARK
        cells[row] = _Cell(v, text, tip)
    return cells, source


def _row_order(labels: Iterable[str], sort_cells: Mapping[str, _Cell] | None) -> list[str]:
    labels = sorted(set(labels))
    if not sort_cells:
        return labels

    def key(label: str) -> tuple[int, float, str]:
        c = sort_cells.get(label)
        v = c.value if c is not None else float("nan")
        return (1, 0.0, label) if math.isnan(v) else (0, v, label)
    return sorted(labels, key=key)


def _summary_table(sdf: pd.DataFrame, suite: str,
                   metric_info: Mapping[str, Mapping[str, Any]] | None
                   ) -> tuple[_Table | None, list[str]]:
    present = [mv for mv in HEADLINE if len(_select(sdf, mv))]
    if not present:
        return None, sorted(set(sdf["_row"]))
    cols: dict[tuple[str, str], dict[str, _Cell]] = {}
    sources: dict[tuple[str, str], str] = {}
    for mv in present:
        cols[mv], sources[mv] = _summary_values(sdf, mv)
    used = sdf[[mv in cols for mv in zip(sdf["metric"], sdf["variant"])]]
    order = _row_order(used["_row"], cols.get(SORT_KEY))
    columns = []
    for mv in present:
        info = _info(metric_info, *mv)
        unit = info.get("unit") or ""
        columns.append(_Column(mv, mv[0], mv[1] + (f" ({unit})" if unit else ""),
                               info.get("higher_is_better")))
    rows = [(r, [cols[mv].get(r, _Cell(float("nan"), DASH)) for mv in present]) for r in order]

    def names(src: str) -> str:
        return ", ".join(f"{m}/{v}" for m, v in present if sources[m, v] == src)
    ncorp = used["corpus"].nunique()
    corp = f" (mean over the {ncorp} corpora)" if ncorp > 1 else ""
    parts = []
    if set(sources.values()) == {"star"}:
        parts.append(f'Values are the all-language rows (`lang = "{ALL_LANGS}"`){corp}.')
    elif set(sources.values()) == {"mean"}:
        parts.append(f'Values are the unweighted mean over languages of the per-language rows '
                     f'(no `lang = "{ALL_LANGS}"` rows){corp}.')
    else:
        if names("star"):
            parts.append(f'All-language rows (`lang = "{ALL_LANGS}"`){corp} for {names("star")}.')
        if names("mean"):
            parts.append(f"Unweighted mean over languages of the per-language rows for "
                         f"{names('mean')}.")
        if names("mixed"):
            parts.append(f'All-language rows (`lang = "{ALL_LANGS}"`) where stored, else the '
                         f"unweighted mean over languages (marked {MEAN_MARK}) for "
                         f"{names('mixed')}.")
    texts = [c.text for _, cells in rows for c in cells]
    if any(FEWER_MARK in t for t in texts):
        parts.append(f"{FEWER_MARK} averaged over fewer corpora or languages than other rows "
                     f"of its column.")
    if SORT_KEY in cols:
        parts.append(f"Sorted by {SORT_KEY[0]}/{SORT_KEY[1]} ascending.")
    if {"mean", "mixed"} & set(sources.values()):
        parts.append("A mean over languages weights every language equally; it is not the "
                     "micro ratio over all text.")
    table = _Table(f"{suite}: summary", " ".join(parts), columns, rows,
                   _provenance(used), anchor=_slug(f"{suite}-summary"))
    return table, order


def _lang_columns(per: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(corpus, lang, label); the label names the corpus when the table spans several."""
    pairs = sorted(set(zip(per["corpus"], per["lang"])), key=lambda p: (p[1], p[0]))
    multi = per["corpus"].nunique() > 1
    return [(c, lang, f"{c}:{lang}" if multi and c else lang) for c, lang in pairs]


def _drilldown_table(sdf: pd.DataFrame, suite: str, mv: tuple[str, str], order: list[str],
                     metric_info: Mapping[str, Mapping[str, Any]] | None) -> _Table | None:
    col = _select(sdf, mv)
    per = col[col["lang"] != ALL_LANGS]
    if per.empty:
        return None
    info = _info(metric_info, *mv)
    hib = info.get("higher_is_better")
    langs = _lang_columns(per)
    labels = [r for r in order if r in set(per["_row"])] + sorted(set(per["_row"]) - set(order))
    keys = ["_row", "corpus", "lang"]
    grouped = per.groupby(keys, sort=False)["value"]
    means, sizes = grouped.mean(), grouped.size()
    first = per.drop_duplicates(keys).set_index(keys)
    rows = []
    for r in labels:
        cells = []
        for c, lang, _ in langs:
            k = (r, c, lang)
            v = float(means.get(k, float("nan")))
            tip = _row_tip(first.loc[k]) if sizes.get(k, 0) == 1 else ""
            cells.append(_Cell(v, _fmt(v), tip))
        rows.append((r, cells))
    columns = [_Column(label, label, "", hib) for _, _, label in langs]
    unit = info.get("unit")
    caption = (f"{mv[0]}/{mv[1]}" + (f" ({unit})" if unit else "") +
               f" per language; rows in summary order, {len(langs)} language column(s).")
    return _Table(f"{suite}: {mv[0]}/{mv[1]} by language", caption, columns, rows,
                  _provenance(per), anchor=_slug(f"{suite}-{mv[0]}-{mv[1]}-by-language"))


def _short(h: Any, k: int = 12) -> str:
    return DASH if h is None or pd.isna(h) or not str(h) else str(h)[:k]


def _provenance(rows: pd.DataFrame) -> list[tuple[str, str]]:
    out = []
    toks = []
    for t, g in sorted(rows.groupby("tokenizer"), key=lambda x: x[0]):
        hashes = sorted({_short(h) for h in g["tokenizer_hash"]})
        warn = " (several hashes: mixes tokenizer versions)" if len(hashes) > 1 else ""
        toks.append(f"{t} {', '.join(f'`{h}`' for h in hashes)}{warn}")
    out.append(("tokenizer hashes", "; ".join(toks)))
    corp = []
    for c, g in sorted(rows.groupby("corpus"), key=lambda x: x[0]):
        hashes = sorted({_short(h) for h in g["corpus_hash"]})
        corp.append(f"{c or DASH} {', '.join(f'`{h}`' for h in hashes)}")
    out.append(("corpus hash", "; ".join(corp)))
    versions = sorted({str(v) for v in rows["tokbench_version"] if v is not None and not pd.isna(v)})
    out.append(("tokbench version", ", ".join(versions) or DASH))
    ts = rows["_ts"].dropna()
    if len(ts):
        lo, hi = ts.min(), ts.max()
        rng = _ts_text(lo) if lo == hi else f"{_ts_text(lo)} – {_ts_text(hi)}"
    else:
        rng = DASH
    out.append(("created_at", rng))
    notes = sorted({str(n) for n, v in zip(rows["note"], rows["value"])
                    if n is not None and not pd.isna(n) and math.isnan(v)})
    if notes:
        shown = notes[:5] + ([f"... {len(notes) - 5} more"] if len(notes) > 5 else [])
        out.append(("blank values", "; ".join(shown)))
    return out


def _ts_text(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-") or "x"


# --------------------------------------------------------------------------------------
# plots

def _plot_fertility(sdf: pd.DataFrame, order: list[str], path: Path, suite: str) -> Path | None:
    per = _select(sdf, FERTILITY)
    per = per[per["lang"] != ALL_LANGS]
    if per.empty or per["value"].notna().sum() == 0:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    langs = _lang_columns(per)
    rows = [r for r in order if r in set(per["_row"])] + sorted(set(per["_row"]) - set(order))
    mat = np.full((len(rows), len(langs)), np.nan)
    index = {r: i for i, r in enumerate(rows)}
    lpos = {(c, lang): j for j, (c, lang, _) in enumerate(langs)}
    for (r, c, lang), v in per.groupby(["_row", "corpus", "lang"])["value"].mean().items():
        mat[index[r], lpos[c, lang]] = v
    with np.errstate(all="ignore"):
        col_mean = np.nanmean(np.where(np.isnan(mat), np.nan, mat), axis=0)
    jorder = sorted(range(len(langs)), key=lambda j: (np.isnan(col_mean[j]),
                                                       np.nan_to_num(col_mean[j]), langs[j][2]))
    mat = mat[:, jorder]
    xlabels = [_mpl(langs[j][2]) for j in jorder]
    ylabels = [_mpl(r) for r in rows]

    nr, nc = mat.shape
    width = min(40.0, max(6.0, 1.5 + 0.48 * nc + 0.07 * max(len(y) for y in ylabels)))
    height = min(30.0, max(2.8, 1.6 + 0.36 * nr))
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    masked = np.ma.masked_invalid(mat)
    import matplotlib

    cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#e6e6e6")
    finite = mat[np.isfinite(mat)]
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmax <= vmin:
        vmax = vmin + 1e-9
    im = ax.imshow(masked, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    fs = 7 if nc <= 20 else 6
    for i in range(nr):
        for j in range(nc):
            v = mat[i, j]
            if np.isfinite(v):
                dark = (v - vmin) / (vmax - vmin) > 0.6
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=fs,
                        color="white" if dark else "black")
    ax.set_xticks(range(nc))
    ax.set_xticklabels(xlabels, rotation=60 if nc > 8 else 0, ha="right" if nc > 8 else "center",
                       fontsize=8)
    ax.set_yticks(range(nr))
    ax.set_yticklabels(ylabels, fontsize=8)
    ax.set_xlabel("language (sorted by mean fertility across tokenizers)")
    ax.set_title(_mpl(f"{suite}: fertility (tokens per word, in context), lower is better"),
                 fontsize=10)
    cbar = fig.colorbar(im, ax=ax, fraction=0.03 if nc > 10 else 0.05, pad=0.01)
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label("tokens per word", fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    fig.clear()
    return path


def _plot_bytes_per_token(sdf: pd.DataFrame, path: Path, suite: str) -> Path | None:
    cells, source = _summary_values(sdf, BYTES_PER_TOKEN)
    items = [(r, c.value) for r, c in cells.items() if not math.isnan(c.value)]
    if not items:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    items.sort(key=lambda x: (x[1], x[0]))           # largest ends up on top of barh
    labels = [_mpl(r) for r, _ in items]
    vals = [v for _, v in items]
    height = min(30.0, max(2.5, 1.2 + 0.32 * len(items)))
    width = min(16.0, max(6.0, 4.0 + 0.07 * max(len(x) for x in labels)))
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    bars = ax.barh(range(len(vals)), vals, color="#4c78a8")
    ax.set_yticks(range(len(vals)))
    ax.set_yticklabels(labels, fontsize=8)
    vmax = max(vals)
    for b, v in zip(bars, vals):
        ax.text(b.get_width() + vmax * 0.01, b.get_y() + b.get_height() / 2, f"{v:.3f}",
                va="center", fontsize=7)
    ax.set_xlim(0, vmax * 1.12 if vmax > 0 else 1)
    what = {"star": 'micro over all languages (lang="*")',
            "mean": "mean over languages (no lang=\"*\" rows)",
            "mixed": 'lang="*" rows, else mean over languages'}[source]
    ax.set_xlabel(f"UTF-8 bytes per token, {what}", fontsize=8)
    ax.set_title(_mpl(f"{suite}: bytes per token (higher = more compression)"), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    fig.clear()
    return path


def _mpl(s: str) -> str:
    """Keep matplotlib from reading ``$`` in a name as mathtext."""
    return str(s).replace("$", r"\$")


# --------------------------------------------------------------------------------------
# markdown

def _md_esc(s: Any) -> str:
    s = str(s)
    for ch in ("\\", "|", "<", ">", "`", "*", "&"):
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def _md_prov(text: str) -> str:
    """Escape provenance text but keep its `code` spans (hashes are hex, safe as is)."""
    parts = text.split("`")
    return "".join(f"`{p}`" if i % 2 else _md_esc(p) for i, p in enumerate(parts))


def _md_table(t: _Table) -> list[str]:
    out = [f"### {_md_esc(t.title)}", ""]
    head = [t.row_header]
    for c in t.columns:
        arrow = {True: " ↑", False: " ↓"}.get(c.higher_is_better, "")
        label = f"{c.label}/{c.key[1]}" if isinstance(c.key, tuple) else c.label
        head.append(_md_esc(label) + arrow)
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" + "---:|" * len(t.columns))
    for label, cells in t.rows:
        out.append("| " + " | ".join([_md_esc(label)] + [c.text for c in cells]) + " |")
    out += ["", f"_{_md_prov(t.caption)}_", ""]
    out += [f"- {label}: {_md_prov(text)}" for label, text in t.provenance]
    out.append("")
    return out


def _legend_rows(metrics: Iterable[str], metric_info: Mapping[str, Mapping[str, Any]] | None
                 ) -> list[tuple[str, str, str, str]]:
    if not metric_info:
        return []
    rows = []
    for m in metrics:
        info = _info(metric_info, m)
        if not info:
            continue
        hib = info.get("higher_is_better")
        better = {True: "higher", False: "lower"}.get(hib, DASH)
        rows.append((m, str(info.get("unit") or DASH), better, str(info.get("description") or "")))
    return rows


def _write_markdown(path: Path, title: str, suites: list[dict], legend: list, plots_rel: dict
                    ) -> None:
    out = [f"# {_md_esc(title)}", ""]
    for s in suites:
        ver = f" (version {', '.join(s['versions'])})" if s["versions"] else ""
        out += [f"## {_md_esc(s['suite'])}{ver}", ""]
        if s["summary"] is None:
            out += ["_No headline metrics for this suite._", ""]
        else:
            out += _md_table(s["summary"])
        for p in plots_rel.get(s["suite"], []):
            out += [f"![{_md_esc(Path(p).stem)}]({p})", ""]
        for mv, t in s["drill"].items():
            if mv in MD_DRILLDOWN:
                out += _md_table(t)
        if s["other"]:
            out += [f"Also stored, not shown: {_md_esc(', '.join(s['other']))}.", ""]
        out += s.get("extra_md", [])
    if legend:
        out += ["## Metrics", "", "| metric | unit | better | description |", "|---|---|---|---|"]
        out += [f"| {_md_esc(m)} | {_md_esc(u)} | {b} | {_md_esc(d)} |" for m, u, b, d in legend]
        out.append("")
    path.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.05rem;margin-top:1.6rem}
.wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;white-space:nowrap}
th{background:#f4f5f7;cursor:pointer;user-select:none;vertical-align:bottom}
th small{font-weight:normal;color:#666}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:bold;background:#eaf5ea}
tbody tr:nth-child(even){background:#fafafa}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.caption{color:#555;font-size:.85rem;margin:.2rem 0}
.prov{color:#555;font-size:.8rem;margin:.3rem 0 1rem 0;padding-left:1.2rem}
code{font-size:.8rem;background:#f4f5f7;padding:0 .2rem}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5rem 0}
nav a{margin-right:1rem}
"""

_JS = """
document.querySelectorAll("table.sortable th").forEach(function(th){
  th.addEventListener("click",function(){
    var table=th.closest("table"),body=table.tBodies[0];
    var idx=Array.prototype.indexOf.call(th.parentNode.children,th);
    var asc=th.getAttribute("aria-sort")!=="ascending";
    th.parentNode.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort");});
    th.setAttribute("aria-sort",asc?"ascending":"descending");
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x=a.cells[idx],y=b.cells[idx];
      var u=x.getAttribute("data-v"),v=y.getAttribute("data-v");
      if(u!==null&&v!==null){
        var p=parseFloat(u),q=parseFloat(v);
        if(isNaN(p)&&isNaN(q))return 0;if(isNaN(p))return 1;if(isNaN(q))return -1;
        return asc?p-q:q-p;}
      var s=x.textContent,t=y.textContent;return asc?s.localeCompare(t):t.localeCompare(s);
    });
    rows.forEach(function(r){body.appendChild(r);});
  });
});
"""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _html_prov(text: str) -> str:
    parts = text.split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))


def _best(t: _Table) -> list[set[int]]:
    """Per column, the row indices holding the best value (when the direction is known)."""
    best = []
    for j, c in enumerate(t.columns):
        vals = [cells[j].value for _, cells in t.rows]
        finite = [v for v in vals if not math.isnan(v)]
        if c.higher_is_better is None or len(finite) < 2:
            best.append(set())
            continue
        target = max(finite) if c.higher_is_better else min(finite)
        best.append({i for i, v in enumerate(vals) if v == target})
    return best


def _html_table(t: _Table, level: int = 3) -> list[str]:
    out = [f'<h{level} id="{_e(t.anchor)}">{_e(t.title)}</h{level}>', '<div class="wrap">',
           f'<table class="sortable"><thead><tr><th>{_e(t.row_header)}</th>']
    for c in t.columns:
        arrow = {True: " ↑", False: " ↓"}.get(c.higher_is_better, "")
        sub = f"<br><small>{_e(c.sub)}</small>" if c.sub else ""
        tip = {True: "higher is better", False: "lower is better"}.get(c.higher_is_better, "")
        out.append(f'<th title="{_e(tip)}">{_e(c.label)}{_e(arrow)}{sub}</th>')
    out.append("</tr></thead><tbody>")
    best = _best(t)
    for i, (label, cells) in enumerate(t.rows):
        tds = [f"<td>{_e(label)}</td>"]
        for j, c in enumerate(cells):
            cls = "num best" if i in best[j] else "num"
            dv = "NaN" if math.isnan(c.value) else repr(float(c.value))
            tip = f' title="{_e(c.tip)}"' if c.tip else ""
            tds.append(f'<td class="{cls}" data-v="{_e(dv)}"{tip}>{_e(c.text)}</td>')
        out.append("<tr>" + "".join(tds) + "</tr>")
    out += ["</tbody></table></div>", f'<p class="caption">{_html_prov(t.caption)}</p>',
            '<ul class="prov">']
    out += [f"<li>{_e(label)}: {_html_prov(text)}</li>" for label, text in t.provenance]
    out.append("</ul>")
    return out


def _write_html(path: Path, title: str, suites: list[dict], legend: list, plots_rel: dict
                ) -> None:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>"]
    if len(suites) > 1 or legend:
        links = [f'<a href="#{_e(_slug("suite-" + s["suite"]))}">{_e(s["suite"])}</a>'
                 for s in suites]
        if legend:
            links.append('<a href="#metrics">metrics</a>')
        out.append("<nav>" + "".join(links) + "</nav>")
    out.append('<p class="caption">Click a column header to sort. Hover a value for n, '
               "confidence interval and notes where stored.</p>")
    for s in suites:
        ver = f" (version {', '.join(s['versions'])})" if s["versions"] else ""
        out.append(f'<h2 id="{_e(_slug("suite-" + s["suite"]))}">{_e(s["suite"])}{_e(ver)}</h2>')
        if s["summary"] is None:
            out.append("<p><em>No headline metrics for this suite.</em></p>")
        else:
            out += _html_table(s["summary"])
        for p in plots_rel.get(s["suite"], []):
            out.append(f'<p><img src="{_e(p)}" alt="{_e(Path(p).stem)}" loading="lazy"></p>')
        if s["drill"]:
            out.append("<h3>Per-language drill-down</h3>")
            for t in s["drill"].values():
                out += _html_table(t, level=4)
        if s["other"]:
            out.append(f'<p class="caption">Also stored, not shown: {_e(", ".join(s["other"]))}.</p>')
        out += s.get("extra_html", [])
    if legend:
        out += ['<h2 id="metrics">Metrics</h2>', '<div class="wrap"><table class="sortable">',
                "<thead><tr><th>metric</th><th>unit</th><th>better</th><th>description</th>"
                "</tr></thead><tbody>"]
        out += [f"<tr><td>{_e(m)}</td><td>{_e(u)}</td><td>{_e(b)}</td>"
                f'<td style="white-space:normal">{_e(d)}</td></tr>' for m, u, b, d in legend]
        out.append("</tbody></table></div>")
    out += [f"<script>{_JS}</script>", "</body></html>"]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------
# render

def render(df: pd.DataFrame, out_dir: Path, *,
           metric_info: dict[str, dict] | None = None,
           title: str = "tokbench leaderboard") -> dict[str, Any]:
    """Write ``leaderboard.md``, ``index.html`` and PNG plots for a results DataFrame.

    ``df`` has the ``tokbench.schema`` columns (at least suite, tokenizer, lang, metric,
    variant, value); only the newest row of every cell is used (``latest``). ``metric_info``
    maps a metric name (or "metric/variant") to ``{"unit", "higher_is_better",
    "description"}`` for headers, best-value highlighting and the legend.

    Plots are ``fertility_by_language.png`` and ``bytes_per_token.png`` when the results
    hold one suite; with several suites every suite gets its own pair, named
    ``fertility_by_language_<suite>.png`` / ``bytes_per_token_<suite>.png``. A plot whose
    metric is absent is skipped. A suite with ``premium`` rows also gets
    ``premium_heatmap[_<suite>].png`` and ``premium_worst_languages[_<suite>].png``
    (``tokbench.report.premium_plots``).

    Returns ``{"markdown": Path, "html": Path, "plots": [Path, ...]}``.
    """
    if df is None or len(df) == 0:
        raise ValueError("no results to report in the results DataFrame (0 rows); "
                         "run a suite first or check the store path")
    data = _prepare(df)
    if data.empty:
        raise ValueError("no results to report in the results DataFrame")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    suite_names = sorted(set(data["suite"]))
    multi = len(suite_names) > 1
    suites: list[dict] = []
    plots: list[Path] = []
    plots_rel: dict[str, list[str]] = {}
    shown: list[str] = []
    for suite in suite_names:
        sdf = data[data["suite"] == suite]
        summary, order = _summary_table(sdf, suite, metric_info)
        drill = {}
        for mv in HEADLINE:
            t = _drilldown_table(sdf, suite, mv, order, metric_info)
            if t is not None:
                drill[mv] = t
        suffix = f"_{_slug(suite)}" if multi else ""
        rel = []
        for fn, name in ((lambda p: _plot_fertility(sdf, order, p, suite), "fertility_by_language"),
                         (lambda p: _plot_bytes_per_token(sdf, p, suite), "bytes_per_token")):
            p = fn(out_dir / f"{name}{suffix}.png")
            if p is not None:
                plots.append(p)
                rel.append(p.name)
        if ((sdf["metric"] == "premium") & (sdf["lang"] != ALL_LANGS)).any():
            from .premium_plots import plot_premiums  # token premiums (suites with parallel text)

            for p in plot_premiums(sdf, out_dir, suite, suffix=suffix):
                plots.append(p)
                rel.append(p.name)
        plots_rel[suite] = rel
        pairs = sorted(set(zip(sdf["metric"], sdf["variant"])))
        other = [f"{m}/{v}" for m, v in pairs if (m, v) not in HEADLINE]
        shown += [m for m, v in pairs if (m, v) in HEADLINE]
        versions = sorted({str(v) for v in sdf["suite_version"]
                           if v is not None and not pd.isna(v)})
        extra_md, extra_html = [], []
        if str(suite).startswith("turkish"):  # published reference rows (tokbench.report.published)
            from .published import sections

            extra_md, extra_html = sections(sdf, suite)
        suites.append({"suite": suite, "summary": summary, "drill": drill, "other": other,
                       "versions": versions, "extra_md": extra_md, "extra_html": extra_html})

    joined = models_table(data, metric_info)
    if joined is not None:
        suites.append({"suite": "models", "summary": joined, "drill": {}, "other": [], "versions": [],
                       "extra_md": [], "extra_html": []})
    legend_metrics = list(dict.fromkeys(m for m, _ in HEADLINE if m in set(shown)))
    legend = _legend_rows(legend_metrics, metric_info)
    md = out_dir / "leaderboard.md"
    page = out_dir / "index.html"
    _write_markdown(md, title, suites, legend, plots_rel)
    _write_html(page, title, suites, legend, plots_rel)
    return {"markdown": md, "html": page, "plots": plots}


def models_table(data: pd.DataFrame, metric_info: Mapping[str, Mapping[str, Any]] | None = None
                 ) -> _Table | None:
    """One row per model: its model-side headline values (every suite that scored it) beside its
    tokenizer's values on the default tokenizer suite (the join key is the ``tokenizer``
    column: a model's rows carry its registry tokenizer). None when no model rows exist."""
    has_model = data["model"].notna() & (data["model"].astype(str) != "") & (data["model"].astype(str) != "None")
    mdf = data[has_model]
    if mdf.empty:
        return None
    tdf = data[~has_model & (data["suite"] == TOKENIZER_SUITE)]
    models = sorted(set(mdf["model"].astype(str)))
    tok_of = {m: str(mdf[mdf["model"] == m]["tokenizer"].iloc[0]) for m in models}
    cols, rows = [], []
    for mv in MODEL_COLUMNS + TOKENIZER_COLUMNS:
        info = _info(metric_info, *mv)
        unit = info.get("unit") or ""
        side = "model" if mv in MODEL_COLUMNS else f"tokenizer, {TOKENIZER_SUITE}"
        cols.append(_Column(mv, mv[0], f"{mv[1]} ({unit}; {side})" if unit else f"{mv[1]} ({side})",
                            info.get("higher_is_better")))

    def cell(sel: pd.DataFrame) -> _Cell:
        if sel["suite"].nunique() > 1:  # one suite per cell: the preferred one, else the first by name
            names = sorted(set(sel["suite"]))
            pick = next((x for x in PREFERRED_MODEL_SUITES if x in names), names[0])
            sel = sel[sel["suite"] == pick]
        star = sel[sel["lang"] == ALL_LANGS]["value"].dropna()
        if len(star):
            return _Cell(float(star.mean()), _fmt(float(star.mean())),
                         f"lang=\"*\" row of {', '.join(sorted(set(sel['suite'])))}")
        per = sel[sel["lang"] != ALL_LANGS].groupby(["suite", "corpus", "lang"])["value"].mean().dropna()
        if len(per):
            v = float(per.mean())
            return _Cell(v, _fmt(v) + MEAN_MARK, f"unweighted mean over {len(per)} language(s) of "
                         f"{', '.join(sorted(set(sel['suite'])))}")
        return _Cell(float("nan"), DASH)

    for m in models:
        cells = []
        for mv in MODEL_COLUMNS:
            cells.append(cell(_select(mdf[mdf["model"] == m], mv)))
        for mv in TOKENIZER_COLUMNS:
            cells.append(cell(_select(tdf[tdf["tokenizer"] == tok_of[m]], mv)))
        rows.append((f"{m} [{tok_of[m]}]", cells))
    rows.sort(key=lambda r: (math.isnan(r[1][0].value), r[1][0].value, r[0]))
    caption = (f"Model-side values (all-language rows where stored, else the unweighted mean over languages, "
               f"marked {MEAN_MARK}) beside the model's tokenizer on the {TOKENIZER_SUITE} suite; a model in several "
               f"suites shows, per column, one suite's values ({', '.join(PREFERRED_MODEL_SUITES)} first, else "
               f"the first by name; hover for it). ppl_ratio is against that suite's reference model. Sorted by "
               f"bits_per_byte ascending.")
    used = mdf[[mv in MODEL_COLUMNS for mv in zip(mdf["metric"], mdf["variant"])]]
    return _Table("models: model-side scores and their tokenizers", caption, cols, rows,
                  _provenance(used) if len(used) else [], anchor="models-joined", row_header="model [tokenizer]")


# --------------------------------------------------------------------------------------
# building blocks for other renderers (tokbench.report.publish): the same tables and plots
# that ``render`` writes, one suite at a time

def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """The newest row of every cell (``latest``) with the columns the tables and plots use
    (``_row``: the row label ``tokenizer [model]``; ``_ts``: ``created_at`` as UTC)."""
    return _prepare(df)


def suite_tables(data: pd.DataFrame, suite: str,
                 metric_info: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """For one suite of ``prepare(df)``: ``{"summary": table or None, "order": row labels in
    summary order, "drill": {(metric, variant): table}, "drill_columns": {(metric, variant):
    [(corpus, lang, label), ...]}}``, the tables ``render`` shows (a drill-down table's
    columns are in ``drill_columns`` order).

    A table has ``title``, ``caption``, ``columns`` (``key``: (metric, variant) in the summary,
    the language label in a drill-down; ``label``, ``sub``, ``higher_is_better``), ``rows``
    (``(row label, [cell, ...])``, a cell has ``value``, ``text``, ``tip``) and
    ``provenance`` (``(label, text)`` with hashes in backquotes).
    """
    sdf = data[data["suite"] == suite]
    summary, order = _summary_table(sdf, suite, metric_info)
    drill, drill_columns = {}, {}
    for mv in HEADLINE:
        t = _drilldown_table(sdf, suite, mv, order, metric_info)
        if t is not None:
            drill[mv] = t
            col = _select(sdf, mv)
            drill_columns[mv] = _lang_columns(col[col["lang"] != ALL_LANGS])
    return {"summary": summary, "order": order, "drill": drill, "drill_columns": drill_columns}


def plot_suite(data: pd.DataFrame, suite: str, out_dir: Path, order: list[str], *,
               suffix: str = "") -> list[Path]:
    """Write the two plots of ``render`` for one suite of ``prepare(df)`` into ``out_dir``
    (``fertility_by_language<suffix>.png``, ``bytes_per_token<suffix>.png``); returns the
    paths written (a plot whose metric is absent is skipped)."""
    sdf = data[data["suite"] == suite]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [_plot_fertility(sdf, order, out_dir / f"fertility_by_language{suffix}.png", suite),
             _plot_bytes_per_token(sdf, out_dir / f"bytes_per_token{suffix}.png", suite)]
    return [p for p in paths if p is not None]
