"""The tables of the leaderboard and of the published site, built from prepared store rows
(``data.prepare``) and metric metadata (``data.Meta``); the writers (``markdown``, ``html``)
only render them.

* summary (per suite): tokenizers x headline columns (``Meta.headline``: the variants with an
  ``order``), rows sorted best first by the first headline column present;
* drill-down (per suite and headline column with per-language rows): tokenizers x languages;
* models (all suites): one row per model, the ``models_table`` variants stored with a model
  beside those of the model's tokenizer (joined on the ``tokenizer`` column).

Every cell keeps the rows its value is computed from (``Cell.src``), so the HTML can name them.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..schema import ALL_LANGS
from .data import (DASH, FEWER_MARK, LOSSY_MARK, MEAN_MARK, MV, Arrays, Cell, Column, Meta, Row, Table, empty_cell,
                   fmt, provenance, row_tip, select, slug, src_of)

__all__ = ["drilldown_table", "lang_columns", "lossy_rows", "models_table", "row_order", "summary_table",
           "summary_values"]


def _keys(sdf: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Row label -> (tokenizer, model or "")."""
    return {r: (t, m) for r, t, m in zip(sdf["_row"], sdf["tokenizer"], sdf["_model"])}


def _mean(vals: pd.Series) -> float:
    vals = vals.dropna()
    return float(vals.mean()) if len(vals) else float("nan")


def summary_values(sdf: pd.DataFrame, mv: MV) -> tuple[dict[str, Cell], str]:
    """Per row label, the language-averaged value of one (metric, variant), and where the
    column's values come from: "star" (lang="*" rows), "mean" (mean over languages) or "mixed".

    Like with like: a cell averaged over fewer corpora (lang="*" rows) or (corpus, language)
    pairs than the column's fullest rows of its kind is marked ‡; in a "mixed" column the means
    over languages are marked †. Only the cells computed on the same scopes as the column's full
    rows (the fullest rows of the column's kind, lang="*" rows in a mixed column, over the
    corpora or (corpus, language) pairs most of those share) may be its "best"
    (``Cell.compete``); a ‡ or † cell never is."""
    col = select(sdf, mv)
    star = col[col["lang"] == ALL_LANGS]
    per = col[col["lang"] != ALL_LANGS]
    raw: dict[str, tuple[float, str, int, str, pd.DataFrame, frozenset]] = {}
    for row in sorted(set(col["_row"])):
        s = star[star["_row"] == row]
        if len(s):
            n = int(s["value"].notna().sum())
            tip = row_tip(s.iloc[0]) if len(s) == 1 else ""
            scope = frozenset(s.loc[s["value"].notna(), "corpus"])
            raw[row] = (_mean(s["value"]), "star", n, tip or f'mean over {n} corpora of the lang="*" rows', s, scope)
            continue
        p = per[per["_row"] == row]
        by_lang = p.groupby(["corpus", "lang"])["value"].mean().dropna()
        raw[row] = (float(by_lang.mean()) if len(by_lang) else float("nan"), "mean", len(by_lang),
                    f"unweighted mean over {len(by_lang)} language(s)", p, frozenset(by_lang.index))
    sources = {r[1] for r in raw.values()}
    source = next(iter(sources)) if len(sources) == 1 else "mixed"
    full = {src: max((r[2] for r in raw.values() if r[1] == src), default=0) for src in sources}
    # the scope of the column's full rows: the one most of them share (a row over as many, but
    # other, corpora or languages does not compete; nor any row when no scope is the most common)
    scopes: dict[str, frozenset | None] = {}
    for src in sources:
        counts = Counter(r[5] for r in raw.values() if r[1] == src and r[2] == full[src])
        top = counts.most_common(2)
        scopes[src] = top[0][0] if top and (len(top) == 1 or top[0][1] > top[1][1]) else None
    like = "star" if source == "mixed" else source
    cells = {}
    for row, (v, src, units, tip, rows, scope) in raw.items():
        text = fmt(v)
        if text != DASH:
            if source == "mixed" and src == "mean":
                text += MEAN_MARK
            if units < full[src]:
                text += FEWER_MARK
        compete = src == like and units == full[src] > 0 and scope == scopes[src]
        cells[row] = Cell(v, text, tip, src_of(rows), {"metric": mv[0], "variant": mv[1]}, compete)
    return cells, source


def _exact_text(v: float) -> str:
    return DASH if math.isnan(v) else f"{v:.6g}"


def lossy_rows(sdf: pd.DataFrame, meta: Meta) -> dict[str, list[tuple[MV, float]]]:
    """Row label -> [(variant, summary value)] of every ``lossless`` variant stored, for the rows
    where one of those values is finite and not exact (``Meta.exact``: 1, or 0 when lower is
    better). The values are the summary's: the lang="*" rows, else the mean over languages."""
    stored = [mv for mv in meta.lossless if meta.exact(*mv) is not None and len(select(sdf, mv))]
    values = {mv: summary_values(sdf, mv)[0] for mv in stored}
    out = {}
    for row in sorted(set(sdf["_row"])):
        got = [(mv, values[mv][row].value) for mv in stored if row in values[mv]]
        if any(not math.isnan(v) and v != meta.exact(*mv) for mv, v in got):
            out[row] = got
    return out


def _lossy_note(got: list[tuple[MV, float]], meta: Meta) -> str:
    return ", ".join(f"{m}/{v} {_exact_text(x)} (exact: {meta.exact(m, v):g})" for (m, v), x in got)


def row_order(labels: Iterable[str], sort_cells: Mapping[str, Cell] | None,
              descending: bool = False) -> list[str]:
    """Labels sorted by their cell values (NaN and missing last, ties by label), else by label."""
    labels = sorted(set(labels))
    if not sort_cells:
        return labels

    def key(label: str) -> tuple[int, float, str]:
        c = sort_cells.get(label)
        v = c.value if c is not None else float("nan")
        return (1, 0.0, label) if math.isnan(v) else (0, -v if descending else v, label)
    return sorted(labels, key=key)


def _header(meta: Meta, mv: MV, extra: str = "") -> Column:
    unit = meta.unit(*mv)
    inner = "; ".join(x for x in (unit, extra) if x)
    return Column(mv, mv[0], mv[1] + (f" ({inner})" if inner else ""), meta.direction(*mv),
                  {"metric": mv[0], "variant": mv[1]})


def _sorted_by(mv: MV, meta: Meta) -> str:
    return f"Sorted by {mv[0]}/{mv[1]} {'descending' if meta.direction(*mv) else 'ascending'}."


def summary_table(sdf: pd.DataFrame, suite: str, meta: Meta) -> tuple[Table | None, list[str]]:
    """The summary table of one suite and its row order (all row labels when no headline
    column is stored)."""
    present = [mv for mv in meta.headline if len(select(sdf, mv))]
    if not present:
        return None, sorted(set(sdf["_row"]))
    cols: dict[MV, dict[str, Cell]] = {}
    sources: dict[MV, str] = {}
    for mv in present:
        cols[mv], sources[mv] = summary_values(sdf, mv)
    used = sdf[[mv in cols for mv in zip(sdf["metric"], sdf["variant"])]]
    first = present[0]
    order = row_order(used["_row"], cols[first], bool(meta.direction(*first)))
    keys = _keys(used)
    flagged = lossy_rows(sdf, meta)
    lossy = {r: flagged[r] for r in order if r in flagged}
    rows = [Row(f"{r} {LOSSY_MARK}" if r in lossy else r,
                [cols[mv].get(r) or empty_cell(metric=mv[0], variant=mv[1]) for mv in present], *keys[r],
                note=f"not lossless: {_lossy_note(lossy[r], meta)}" if r in lossy else "")
            for r in order]

    def names(src: str) -> str:
        return ", ".join(f"{m}/{v}" for m, v in present if sources[m, v] == src)
    ncorp = used["corpus"].nunique()
    corp = f" (mean over the {ncorp} corpora)" if ncorp > 1 else ""
    parts = []
    kinds = set(sources.values())
    if kinds == {"star"}:
        parts.append(f'Values are the all-language rows (`lang = "{ALL_LANGS}"`){corp}.')
    elif kinds == {"mean"}:
        parts.append(f'Values are the unweighted mean over languages of the per-language rows '
                     f'(no `lang = "{ALL_LANGS}"` rows){corp}.')
    else:
        if names("star"):
            parts.append(f'All-language rows (`lang = "{ALL_LANGS}"`){corp} for {names("star")}.')
        if names("mean"):
            parts.append(f"Unweighted mean over languages of the per-language rows for {names('mean')}.")
        if names("mixed"):
            parts.append(f'All-language rows (`lang = "{ALL_LANGS}"`) where stored, else the '
                         f"unweighted mean over languages (marked {MEAN_MARK}) for {names('mixed')}.")
    if any(FEWER_MARK in c.text for r in rows for c in r.cells):
        parts.append(f"{FEWER_MARK} averaged over fewer corpora or languages than other rows of its column.")
    if any(not c.compete and not math.isnan(c.value) for r in rows for c in r.cells):
        marked = " or ".join(m for m in (FEWER_MARK, MEAN_MARK) if any(m in c.text for r in rows for c in r.cells))
        parts.append("Like with like: the best value of a column (highlighted in the HTML) is chosen only among "
                     "the values over the same corpora and languages as the column's full rows"
                     + (f"; a value marked {marked} is never the best." if marked else "."))
    parts.append(_sorted_by(first, meta))
    if {"mean", "mixed"} & kinds:
        parts.append("A mean over languages weights every language equally; it is not the "
                     "micro ratio over all text.")
    notes = []
    if lossy:
        names = ", ".join(f"{m}/{v}" for m, v in meta.lossless if any((m, v) == mv for g in lossy.values() for mv, _ in g))
        parts.append(f"{LOSSY_MARK} after a tokenizer: not lossless on this suite ({names} not exact; "
                     "values in the footnote).")
        notes = [f"{LOSSY_MARK} {r}: {_lossy_note(got, meta)}" for r, got in lossy.items()]
    table = Table(f"{suite}: summary", " ".join(parts), [_header(meta, mv) for mv in present], rows,
                  provenance(used), anchor=slug(f"{suite}-summary"), kind="summary",
                  attrs={"suite": suite, "table": "summary"}, sort=0, footnotes=notes)
    return table, order


def lang_columns(per: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(corpus, lang, label); the label names the corpus when the table spans several."""
    found = sorted(set(zip(per["corpus"], per["lang"])), key=lambda p: (p[1], p[0]))
    multi = per["corpus"].nunique() > 1
    return [(c, lang, f"{c}:{lang}" if multi and c else lang) for c, lang in found]


def drilldown_table(sdf: pd.DataFrame, suite: str, mv: MV, order: list[str], meta: Meta) -> Table | None:
    """Tokenizers x languages of one (metric, variant) of one suite (None without per-language rows)."""
    col = select(sdf, mv)
    per = col[col["lang"] != ALL_LANGS]
    if per.empty:
        return None
    hib = meta.direction(*mv)
    langs = lang_columns(per)
    present = set(per["_row"])
    labels = [r for r in order if r in present] + sorted(present - set(order))
    arr = Arrays(per)
    groups = per.groupby(["_row", "corpus", "lang"], sort=False).indices
    keys = _keys(per)
    rows = []
    for r in labels:
        cells = []
        for c, lang, _ in langs:
            idx = groups.get((r, c, lang))
            if idx is None:
                cells.append(empty_cell(metric=mv[0], variant=mv[1], corpus=c, lang=lang))
                continue
            vals = arr.value[idx]
            vals = vals[~np.isnan(vals)]
            v = float(vals.mean()) if len(vals) else float("nan")
            cells.append(Cell(v, fmt(v), arr.tip(idx[0]) if len(idx) == 1 else "", arr.src(idx),
                              {"metric": mv[0], "variant": mv[1]}))
        rows.append(Row(r, cells, *keys[r]))
    columns = [Column(label, label, "", hib, {"corpus": c, "lang": lang}) for c, lang, label in langs]
    unit = meta.unit(*mv)
    caption = (f"{mv[0]}/{mv[1]}" + (f" ({unit})" if unit else "") +
               f" per language; rows in summary order, {len(langs)} language column(s).")
    return Table(f"{suite}: {mv[0]}/{mv[1]} by language", caption, columns, rows, provenance(per),
                 anchor=slug(f"{suite}-{mv[0]}-{mv[1]}-by-language"), kind="drill",
                 attrs={"suite": suite, "table": "drill", "metric": mv[0], "variant": mv[1]})


# --------------------------------------------------------------------------------------
# models table

def _has_model(data: pd.DataFrame) -> pd.Series:
    return data["_model"] != ""


def _sides(data: pd.DataFrame, meta: Meta) -> tuple[list[MV], list[MV]]:
    """The models-table columns, model side and tokenizer side. A column's side is where its
    rows are (rows with a model, rows without); a column without rows takes the side of the
    stored metrics computed by the same thing (``computed_by``), else is left out."""
    has = _has_model(data)
    mdf, tdf = data[has], data[~has]
    by_model = {meta.computed_by(m) for m in set(mdf["metric"])}
    by_tok = {meta.computed_by(m) for m in set(tdf["metric"])}
    model_side, tok_side = [], []
    for mv in meta.models_table:
        if len(select(mdf, mv)):
            model_side.append(mv)
        elif len(select(tdf, mv)):
            tok_side.append(mv)
        else:
            cb = meta.computed_by(mv[0])
            if cb in by_model and cb not in by_tok:
                model_side.append(mv)
            elif cb in by_tok and cb not in by_model:
                tok_side.append(mv)
    return model_side, tok_side


def _tokenizer_suite(tdf: pd.DataFrame, toks: set[str], cols: list[MV]) -> str | None:
    """The suite that holds rows of ``cols`` for the most of ``toks`` (then the most
    (tokenizer, column) pairs, then the first by name)."""
    sel = tdf[tdf["tokenizer"].isin(toks) & pd.Series(
        [mv in set(cols) for mv in zip(tdf["metric"], tdf["variant"])], index=tdf.index, dtype=bool)]
    if sel.empty:
        return None
    score = {s: (-g["tokenizer"].nunique(), -len(set(zip(g["tokenizer"], g["metric"], g["variant"]))), s)
             for s, g in sel.groupby("suite")}
    return min(score.values())[2]


def _joined_cell(sel: pd.DataFrame, mv: MV) -> Cell:
    """One suite's rows of one model (or tokenizer) and column: the lang="*" rows, else the
    unweighted mean over languages (marked)."""
    attrs = {"metric": mv[0], "variant": mv[1]}
    if sel.empty:
        return empty_cell(**attrs)
    suite = str(sel["suite"].iloc[0])
    star = sel[sel["lang"] == ALL_LANGS]
    if star["value"].notna().any():
        v = _mean(star["value"])
        return Cell(v, fmt(v), f'lang="*" row of {suite}', src_of(star), attrs)
    per = sel[sel["lang"] != ALL_LANGS]
    by_lang = per.groupby(["corpus", "lang"])["value"].mean().dropna()
    if len(by_lang):
        v = float(by_lang.mean())
        return Cell(v, fmt(v) + MEAN_MARK, f"unweighted mean over {len(by_lang)} language(s) of {suite}",
                    src_of(per), attrs)
    return Cell(float("nan"), DASH, f"blank in {suite}", src_of(sel), attrs)


def models_table(data: pd.DataFrame, meta: Meta) -> Table | None:
    """One row per model: the ``models_table`` variants stored with the model beside those of
    its tokenizer (the ``tokenizer`` column of the model's rows) on one tokenizer suite. None
    when no row has a model.

    A model scored by several suites shows, per column, the values of the suite with the widest
    coverage in that column: the most (model, language) cells, "*" rows not counted, then the
    most models, then by name; the cell's tooltip names the suite."""
    has = _has_model(data)
    mdf = data[has]
    if mdf.empty:
        return None
    tdf = data[~has]
    model_side, tok_side = _sides(data, meta)
    models = sorted(set(mdf["_model"]))
    tok_of = {m: str(g["tokenizer"].iloc[0]) for m, g in mdf.groupby("_model")}
    tok_suite = _tokenizer_suite(tdf, set(tok_of.values()), tok_side)
    tsel = tdf[tdf["suite"] == tok_suite] if tok_suite else tdf.iloc[:0]
    rank: dict[MV, list[str]] = {}
    notes = []
    for mv in model_side:
        col = select(mdf, mv)
        suites = sorted(set(col["suite"]))
        per = col[col["lang"] != ALL_LANGS]
        cells = per.drop_duplicates(["suite", "_model", "lang"]).groupby("suite").size().reindex(suites, fill_value=0)
        nmod = col.groupby("suite")["_model"].nunique().reindex(suites, fill_value=0)
        rank[mv] = sorted(suites, key=lambda s: (-cells[s], -nmod[s], s))
        if len(rank[mv]) > 1:
            notes.append(f"{mv[0]}/{mv[1]}: " + ", ".join(f"{s} ({cells[s]} cells, {nmod[s]} models)"
                                                          for s in rank[mv]))
    where = f", tokenizer, {tok_suite}" if tok_suite else ", tokenizer"
    columns = [_header(meta, mv, "model") for mv in model_side] + [_header(meta, mv, where[2:]) for mv in tok_side]
    rows = []
    for m in models:
        own = mdf[mdf["_model"] == m]
        cells = []
        for mv in model_side:
            col = select(own, mv)
            pick = next((s for s in rank[mv] if (col["suite"] == s).any()), None)
            cells.append(_joined_cell(col[col["suite"] == pick], mv))
        for mv in tok_side:
            cells.append(_joined_cell(select(tsel[tsel["tokenizer"] == tok_of[m]], mv), mv))
        rows.append(Row(f"{m} [{tok_of[m]}]", cells, tok_of[m], m))
    for j in range(len(columns)):   # like with like: means over languages beside all-language rows do not compete
        col_cells = [r.cells[j] for r in rows if not math.isnan(r.cells[j].value)]
        if any(MEAN_MARK not in c.text for c in col_cells):
            for c in col_cells:
                c.compete = MEAN_MARK not in c.text
    if columns:
        desc = bool(columns[0].higher_is_better)
        rows.sort(key=lambda r: (math.isnan(r.cells[0].value),
                                 (-r.cells[0].value if desc else r.cells[0].value) if not math.isnan(r.cells[0].value)
                                 else 0.0, r.label))
    caption = ("Model-side values (all-language rows where stored, else the unweighted mean over languages, "
               f"marked {MEAN_MARK})" + (f" beside the model's tokenizer on the {tok_suite} suite (the tokenizer "
                                         "suite with rows for the most of these tokenizers)" if tok_suite else "")
               + ". A model in several suites shows, per column, the values of the suite with the most "
               "(model, language) cells in that column, then the most models (hover a value for its suite)"
               + (f"; cells per suite: {'; '.join(notes)}" if notes else "") + ".")
    if any(not c.compete for r in rows for c in r.cells):
        caption += (f" Like with like: in a column with all-language values, a mean over languages ({MEAN_MARK}) "
                    "is never highlighted as the best.")
    if columns:
        caption += " " + _sorted_by(columns[0].key, meta)  # type: ignore[arg-type]
    used = [c.src.index for r in rows for c in r.cells if c.src is not None and len(c.src)]
    prov = provenance(data.loc[np.unique(np.concatenate(used))]) if used else []
    return Table("models: model-side scores and their tokenizers", caption, columns, rows, prov,
                 anchor="models-joined", row_header="model [tokenizer]", kind="models",
                 attrs={"table": "models"}, sort=0 if columns else None)
