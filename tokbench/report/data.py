"""Store rows and metric metadata as the report layer sees them (no HTML, no markdown, no plots).

* :func:`latest` / :func:`prepare`: the newest row of every cell of the store, with the helper
  columns the tables and plots use.
* :class:`Meta`: what the report knows about metrics, read from ``tokbench.metrics.metric_info()``
  (headline columns and their order, direction and unit per variant, which variants get a
  per-language drill-down or a models-table column). No metric or suite name lives in the
  report code; a plug-in metric whose variant has an ``order`` is a headline column as is.
* :class:`Cell`, :class:`Column`, :class:`Table`: the table model every writer renders.

>>> import pandas as pd
>>> df = pd.DataFrame({"suite": ["s", "s"], "tokenizer": ["t", "t"], "corpus": ["c", "c"],
...     "lang": ["en", "en"], "metric": ["fertility", "fertility"],
...     "variant": ["in_context", "in_context"], "model": [None, None], "value": [1.5, 1.25],
...     "created_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True)})
>>> latest(df)["value"].tolist()
[1.25]
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..metrics import headline as _headline
from ..schema import ALL_LANGS
from ..store import CELL_KEY, latest

__all__ = ["CELL_KEY", "DASH", "FEWER_MARK", "LOSSY_MARK", "MEAN_MARK", "Cell", "Column", "Meta", "Row", "Table",
           "latest", "prepare"]

# one leaderboard cell (the store's result key); reruns append rows with the same key and a later
# created_at, and ``latest`` keeps the newest (tokbench.store)
REQUIRED = ("suite", "tokenizer", "lang", "metric", "variant", "value")

DASH = "–"          # shown for NaN / missing values
MEAN_MARK = "†"     # mean over languages in a column that otherwise uses lang="*" rows
FEWER_MARK = "‡"    # averaged over fewer corpora/languages than other rows of the column
LOSSY_MARK = "⚠"    # on a summary row label: a ``lossless`` variant of the row is not exact

MV = tuple[str, str]


# --------------------------------------------------------------------------------------
# rows

def timestamps(col: pd.Series) -> pd.Series:
    """created_at as tz-aware UTC timestamps (naive values are taken to be UTC)."""
    return pd.to_datetime(col, utc=True, errors="coerce")


def missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or \
        (not isinstance(v, str) and bool(pd.isna(v)))


def text(v: Any) -> str:
    return "" if missing(v) else str(v)


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """The newest row of every cell (``latest``) with the columns the tables and plots use:
    ``_row`` (the row label, ``tokenizer`` or ``tokenizer [model]``), ``_model`` (model name
    or ""), ``_ts`` (``created_at`` as UTC). A ``_pos`` column of ``df`` (row positions in a
    published file) is kept; table cells then name the positions they come from."""
    lacking = [c for c in REQUIRED if c not in df.columns]
    if lacking:
        raise ValueError(f"results DataFrame lacks required column(s) {lacking}; "
                         f"expected the tokbench.schema columns")
    out = latest(df)
    for col in ("corpus", "model", "tokenizer_hash", "corpus_hash", "tokbench_version", "schema_version",
                "suite_version", "metric_version", "run_id", "params", "note", "ci_low", "ci_high", "n",
                "created_at"):
        if col not in out.columns:
            out[col] = None
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["_ts"] = timestamps(out["created_at"])
    for col in ("suite", "tokenizer", "lang", "metric", "variant"):
        out[col] = out[col].astype(str)
    out["corpus"] = out["corpus"].astype(object).where(out["corpus"].notna(), "").astype(str)
    out["_model"] = [text(m) for m in out["model"].astype(object)]
    out["_row"] = [f"{t} [{m}]" if m else t for t, m in zip(out["tokenizer"], out["_model"])]
    return out


def select(df: pd.DataFrame, mv: MV) -> pd.DataFrame:
    return df[(df["metric"] == mv[0]) & (df["variant"] == mv[1])]


def pairs(df: pd.DataFrame) -> list[MV]:
    """The (metric, variant) pairs stored in ``df``, sorted."""
    return sorted(set(zip(df["metric"], df["variant"])))


# --------------------------------------------------------------------------------------
# metric metadata

class Meta:
    """A view of ``tokbench.metrics.metric_info()``: ``{metric: {"unit", "higher_is_better",
    "description", ..., "variants": {variant: {"unit", "higher_is_better", "order",
    "drilldown", "models_table", "lossless"}}}}``. A metric without ``variants`` metadata has no headline
    column; its metric-level unit and direction still label it."""

    def __init__(self, info: Mapping[str, Mapping[str, Any]] | None):
        self.info: Mapping[str, Mapping[str, Any]] = info or {}
        self.headline: list[MV] = [tuple(mv) for mv in _headline(dict(self.info))]  # type: ignore[misc]
        self.drilldown = self._flagged("drilldown")
        self.models_table = self._flagged("models_table")
        self.lossless = self._flagged("lossless")

    def _variant(self, m: str, v: str | None) -> Mapping[str, Any] | None:
        if v is None:
            return None
        return ((self.info.get(m) or {}).get("variants") or {}).get(v)

    def _flagged(self, flag: str) -> list[MV]:
        out = [(v.get("order") is None, v.get("order") or 0, m, name)
               for m, i in self.info.items() for name, v in ((i or {}).get("variants") or {}).items()
               if v.get(flag)]
        return [(m, name) for _, _, m, name in sorted(out)]

    def direction(self, m: str, v: str | None = None) -> bool | None:
        """True: higher is better, False: lower is better, None: descriptive (no "best")."""
        var = self._variant(m, v)
        if var is not None and "higher_is_better" in var:
            return var["higher_is_better"]
        return (self.info.get(m) or {}).get("higher_is_better")

    def exact(self, m: str, v: str | None = None) -> float | None:
        """The exact value of a ``lossless`` variant: 1.0 (higher is better), 0.0 (lower is
        better); None for other variants."""
        if (m, v) not in self.lossless:
            return None
        hib = self.direction(m, v)
        return None if hib is None else (1.0 if hib else 0.0)

    def unit(self, m: str, v: str | None = None) -> str:
        var = self._variant(m, v)
        return str((var or {}).get("unit") or (self.info.get(m) or {}).get("unit") or "")

    def description(self, m: str) -> str:
        return str((self.info.get(m) or {}).get("description") or "")

    def computed_by(self, m: str) -> str | None:
        return (self.info.get(m) or {}).get("computed_by")

    def knows(self, m: str) -> bool:
        return bool(self.info.get(m))


def better_word(hib: bool | None) -> str:
    return {True: "higher", False: "lower"}.get(hib, DASH)  # type: ignore[arg-type]


def arrow(hib: bool | None) -> str:
    return {True: " ↑", False: " ↓"}.get(hib, "")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# table model shared by the markdown and HTML writers

@dataclass
class Src:
    """The prepared rows a cell's value is computed from: their index labels in the prepared
    frame, values, distinct suites / corpora / languages, and ``_pos`` when the frame has it."""
    index: np.ndarray
    values: np.ndarray
    suites: tuple[str, ...]
    corpora: tuple[str, ...]
    langs: tuple[str, ...]
    pos: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)


class Arrays:
    """The columns of a prepared frame as arrays, to cut many cells' :class:`Src` out of it fast."""

    def __init__(self, df: pd.DataFrame):
        self.index = df.index.to_numpy()
        self.value = df["value"].to_numpy(dtype=float)
        self.suite, self.corpus, self.lang = (df[c].to_numpy() for c in ("suite", "corpus", "lang"))
        self.pos = df["_pos"].to_numpy() if "_pos" in df.columns else None
        self.n, self.lo, self.hi, self.note = (df[c].to_numpy() for c in ("n", "ci_low", "ci_high", "note"))

    def src(self, idx: np.ndarray) -> Src:
        return Src(self.index[idx], self.value[idx], tuple(sorted(set(self.suite[idx]))),
                   tuple(sorted(set(self.corpus[idx]))), tuple(sorted(set(self.lang[idx]))),
                   None if self.pos is None else self.pos[idx])

    def tip(self, i: int) -> str:
        return tip_of(self.n[i], self.lo[i], self.hi[i], self.note[i])


def src_of(df: pd.DataFrame) -> Src:
    return Arrays(df).src(np.arange(len(df)))


@dataclass
class Cell:
    value: float
    text: str
    tip: str = ""
    src: Src | None = None              # the prepared rows the value is computed from
    attrs: dict[str, Any] = field(default_factory=dict)   # metric, variant (data-* in HTML)
    compete: bool = True                # may be the column's "best" (like with like: html.best)


@dataclass
class Column:
    key: MV | str                   # (metric, variant) for metric columns, label for languages
    label: str
    sub: str = ""                   # second header line (variant / unit)
    higher_is_better: bool | None = None
    attrs: dict[str, Any] = field(default_factory=dict)   # data-* of the header cell


@dataclass
class Row:
    label: str
    cells: list[Cell]
    tokenizer: str = ""
    model: str = ""
    note: str = ""                  # tooltip of the row label (why it is flagged)


@dataclass
class Table:
    title: str
    caption: str
    columns: list[Column]
    rows: list[Row]
    provenance: list[tuple[str, str]] = field(default_factory=list)   # (label, text, `code` spans)
    anchor: str = ""
    row_header: str = "tokenizer"
    kind: str = ""                  # summary, drill, models (a CSS class and data-table in HTML)
    attrs: dict[str, Any] = field(default_factory=dict)   # data-* of the <table>
    sort: int | None = None         # index of the column the rows are sorted by
    footnotes: list[str] = field(default_factory=list)   # lines under the caption (`code` spans)


def empty_cell(**attrs: Any) -> Cell:
    return Cell(float("nan"), DASH, attrs=attrs)


def fmt(v: Any) -> str:
    f = num(v)
    return DASH if math.isnan(f) else f"{f:.3f}"


def num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def row_tip(r: pd.Series) -> str:
    """Tooltip for a cell backed by exactly one stored row: n, CI and note."""
    return tip_of(r["n"], r["ci_low"], r["ci_high"], r["note"])


def tip_of(n: Any, ci_low: Any, ci_high: Any, note: Any) -> str:
    parts = []
    if not missing(n):
        parts.append(f"n={int(n)}")
    lo, hi = num(ci_low), num(ci_high)
    if not (math.isnan(lo) or math.isnan(hi)):
        parts.append(f"CI [{lo:.3f}, {hi:.3f}]")
    if not missing(note):
        parts.append(str(note))
    return "; ".join(parts)


def short(h: Any, k: int = 12) -> str:
    return DASH if missing(h) or not str(h) else str(h)[:k]


def ts_text(t: Any) -> str:
    return DASH if missing(t) else pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S UTC")


def ts_range(ts: pd.Series) -> str:
    ts = ts.dropna()
    if not len(ts):
        return DASH
    lo, hi = ts.min(), ts.max()
    return ts_text(lo) if lo == hi else f"{ts_text(lo)} – {ts_text(hi)}"


def distinct(s: pd.Series) -> list[str]:
    return sorted({str(v) for v in s if not missing(v)})


def provenance(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """(label, text) lines under a table: tokenizer and corpus hashes (12 hex, in backquotes),
    tokbench version, created_at range, notes of blank values."""
    toks = []
    for t, g in sorted(rows.groupby("tokenizer"), key=lambda x: x[0]):
        hashes = sorted({short(h) for h in g["tokenizer_hash"]})
        warn = " (several hashes: mixes tokenizer versions)" if len(hashes) > 1 else ""
        toks.append(f"{t} {', '.join(f'`{h}`' for h in hashes)}{warn}")
    out = [("tokenizer hashes", "; ".join(toks))]
    corp = []
    for c, g in sorted(rows.groupby("corpus"), key=lambda x: x[0]):
        hashes = sorted({short(h) for h in g["corpus_hash"]})
        corp.append(f"{c or DASH} {', '.join(f'`{h}`' for h in hashes)}")
    out.append(("corpus hash", "; ".join(corp)))
    if "_corpus_text" in rows.columns:  # the corpora's text provenance (store.load_corpus_facts)
        texts = [f"{c or DASH}: {t}" for c, g in sorted(rows.groupby("corpus"), key=lambda x: x[0])
                 for t in sorted({str(t) for t in g["_corpus_text"] if t})]
        if texts:
            out.append(("corpus text", "; ".join(texts)))
    out.append(("tokbench version", ", ".join(distinct(rows["tokbench_version"])) or DASH))
    out.append(("created_at", ts_range(rows["_ts"])))
    notes = sorted({str(n) for n, v in zip(rows["note"], rows["value"]) if not missing(n) and math.isnan(v)})
    if notes:
        shown = notes[:5] + ([f"... {len(notes) - 5} more"] if len(notes) > 5 else [])
        out.append(("blank values", "; ".join(shown)))
    return out


def corpus_text_notes(facts: pd.DataFrame) -> dict[str, str]:
    """corpus hash -> one line on its text (``textnorm.TextFacts.summary``: the normalisation
    applied and how much of the raw text NFC would change), from ``store.load_corpus_facts``."""
    from ..textnorm import FIELDS, TextFacts

    out = {}
    for chash, g in facts.groupby("corpus_hash"):
        per_lang = g[g["lang"] != ALL_LANGS]
        tf = TextFacts(str(g["normalize"].iloc[0]),
                       {str(r["lang"]): [int(r[f]) for f in FIELDS] for _, r in per_lang.iterrows()})
        out[str(chash)] = tf.summary()
    return out


def with_corpus_text(data: pd.DataFrame, facts: pd.DataFrame | None) -> pd.DataFrame:
    """``data`` (prepared rows) with a ``_corpus_text`` column: each row's corpus text note ("" if unknown)."""
    if facts is None or facts.empty:
        return data
    notes = corpus_text_notes(facts)
    data = data.copy()
    data["_corpus_text"] = [notes.get(text(h), "") for h in data["corpus_hash"]]
    return data


def slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-") or "x"


def mpl_text(s: str) -> str:
    """Keep matplotlib from reading ``$`` in a name as mathtext."""
    return str(s).replace("$", r"\$")
