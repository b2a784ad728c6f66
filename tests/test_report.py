"""Leaderboard rendering from a synthetic results DataFrame (no tokenizers, no network)."""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tokbench.report import latest, render
from tokbench.schema import ALL_LANGS, COLUMNS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = pd.Timestamp("2024-05-01 12:00", tz="UTC")
T1 = pd.Timestamp("2024-06-02 08:30", tz="UTC")
ODD = "evil<tok>&\"x\""

# tokenizer -> fertility per language; "*" rows given for some metrics only
FERT = {
    "alpha": {"en": 1.23456, "de": 1.5, "tr": 2.0, "zh": 1.1},
    "beta": {"en": 1.1, "de": 1.3, "tr": 1.7, "zh": 0.9},
    ODD: {"en": 1.6, "de": 1.9, "tr": 2.6, "zh": 1.8},
}
FERT_ALL = {"alpha": 1.45678, "beta": 1.25, ODD: 1.95}
BPT = {  # bytes_per_token, per language only (no "*" rows): table shows the mean
    "alpha": {"en": 4.0, "de": 4.2, "tr": 3.6, "zh": 2.0},
    "beta": {"en": 4.4, "de": 4.5, "tr": 3.9, "zh": 2.5},
    ODD: {"en": 3.0, "de": 3.1, "tr": 2.5, "zh": 1.0},
}


def _metric_info() -> dict:
    """The metric metadata the report reads (tokbench.metrics.metric_info()), with a description
    that needs escaping."""
    import copy

    from tokbench.metrics import metric_info

    info = copy.deepcopy(metric_info())
    info["fertility"]["description"] = "tokens per word <in context>"
    return info


METRIC_INFO = _metric_info()


def _row(tok: str, lang: str, metric: str, variant: str, value: float, *,
         created_at: pd.Timestamp = T0, suite: str = "core") -> dict:
    row = {c: None for c in COLUMNS}
    row.update(run_id="r0", suite=suite, suite_version="1", tokenizer=tok,
               tokenizer_hash=hashlib.sha256(tok.encode()).hexdigest(),
               model=None, corpus="flores", corpus_hash="c0ffee" * 10 + "abcd", lang=lang,
               metric=metric, variant=variant, value=value, ci_low=None, ci_high=None, n=100,
               params="{}", note=None, metric_version=1, tokbench_version="0.1.0",
               schema_version=1, created_at=created_at)
    return row


def make_df() -> pd.DataFrame:
    rows = []
    for tok, per in FERT.items():
        for lang, v in per.items():
            rows.append(_row(tok, lang, "fertility", "in_context", v))
        rows.append(_row(tok, ALL_LANGS, "fertility", "in_context", FERT_ALL[tok]))
    for tok, per in BPT.items():
        for lang, v in per.items():
            rows.append(_row(tok, lang, "bytes_per_token", "micro", v))
    # roundtrip: a NaN for one tokenizer (blanked, with a note)
    rows.append(_row("alpha", ALL_LANGS, "roundtrip", "micro", 1.0))
    rows.append(_row("beta", ALL_LANGS, "roundtrip", "micro", 0.98765))
    nan_row = _row(ODD, ALL_LANGS, "roundtrip", "micro", float("nan"))
    nan_row["note"] = "decode unavailable"
    rows.append(nan_row)
    # a rerun of one cell: beta's all-language fertility, newer and different
    rows.append(_row("beta", ALL_LANGS, "fertility", "in_context", 1.0123, created_at=T1))
    # a metric outside the headline list
    rows.append(_row("alpha", ALL_LANGS, "premium", "corpus", 1.7))
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    df["value"] = df["value"].astype(float)
    return df


def _md_rows(md: str, section: str) -> dict[str, list[str]]:
    """tokenizer label -> cells of the first table after the heading containing `section`."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("###") and section in line)
    out: dict[str, list[str]] = {}
    header_seen = 0
    for line in lines[start + 1:]:
        if line.startswith("|"):
            header_seen += 1
            if header_seen <= 2:
                continue
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            out[cells[0]] = cells[1:]
        elif out:
            break
    return out


def _md_header(md: str, section: str) -> list[str]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("###") and section in line)
    head = next(line for line in lines[start + 1:] if line.startswith("|"))
    return [c.strip() for c in head.strip().split("|")[1:-1]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("board") / "nested" / "out"
    paths = render(make_df(), out, metric_info=METRIC_INFO, title="test <board>")
    return out, paths


def test_latest_picks_newest_row():
    df = make_df()
    lat = latest(df)
    cell = lat[(lat["tokenizer"] == "beta") & (lat["lang"] == ALL_LANGS)
               & (lat["metric"] == "fertility")]
    assert len(cell) == 1
    assert cell["value"].iloc[0] == pytest.approx(1.0123)
    assert len(lat) == len(df) - 1  # exactly one superseded row
    # order is independent of input order; null model keys group together
    shuffled = df.sample(frac=1.0, random_state=0)
    lat2 = latest(shuffled)
    cell2 = lat2[(lat2["tokenizer"] == "beta") & (lat2["lang"] == ALL_LANGS)
                 & (lat2["metric"] == "fertility")]
    assert cell2["value"].tolist() == [pytest.approx(1.0123)]


def test_latest_distinguishes_models():
    df = make_df().iloc[:2].copy()
    df["model"] = ["m1", "m2"]
    df["lang"] = "en"
    assert len(latest(df)) == 2


def test_files_and_return_value(rendered):
    out, paths = rendered
    assert set(paths) == {"markdown", "html", "plots"}
    assert paths["markdown"] == out / "leaderboard.md" and paths["markdown"].is_file()
    assert paths["html"] == out / "index.html" and paths["html"].is_file()
    assert isinstance(paths["plots"], list)
    names = sorted(p.name for p in paths["plots"])
    assert names == ["bytes_per_token.png", "fertility_by_language.png"]


def test_pngs_are_valid(rendered):
    _, paths = rendered
    for p in paths["plots"]:
        data = Path(p).read_bytes()
        assert data[:8] == PNG_MAGIC
        assert len(data) > 5_000


def test_markdown_summary_values_and_sort(rendered):
    _, paths = rendered
    md = paths["markdown"].read_text(encoding="utf-8")
    head = _md_header(md, "core: summary")
    assert head[0] == "tokenizer"
    assert head[1].startswith("fertility/in_context")
    fert_col = head.index(next(h for h in head if h.startswith("fertility/in_context"))) - 1
    bpt_col = head.index(next(h for h in head if h.startswith("bytes_per_token/micro"))) - 1
    rt_col = head.index(next(h for h in head if h.startswith("roundtrip/micro"))) - 1
    rows = _md_rows(md, "core: summary")
    # beta's round trip is 0.98765 < 1: its row label carries the lossy flag (test_lossy_* below)
    assert "beta ⚠" in rows and "beta" not in rows
    rows = {k.removesuffix(" ⚠"): v for k, v in rows.items()}
    # lang="*" rows are used for fertility; beta shows the newer rerun value
    assert rows["alpha"][fert_col] == "1.457"
    assert rows["beta"][fert_col] == "1.012"
    # bytes_per_token has no "*" rows: the unweighted mean over languages
    assert rows["alpha"][bpt_col] == f"{np.mean(list(BPT['alpha'].values())):.3f}" == "3.450"
    assert rows["beta"][rt_col] == "0.988"
    assert rows["alpha"][rt_col] == "1.000"
    odd_label = next(k for k in rows if "evil" in k)
    assert rows[odd_label][rt_col] == "–"
    # sorted by fertility ascending
    ferts = [float(cells[fert_col]) for cells in rows.values()]
    assert ferts == sorted(ferts)
    assert list(rows)[0] == "beta"
    # caption says where the values come from
    assert "`lang = \"*\"`" in md and "mean over languages" in md


def test_markdown_drilldown_and_provenance(rendered):
    _, paths = rendered
    md = paths["markdown"].read_text(encoding="utf-8")
    head = _md_header(md, "fertility/in_context by language")
    assert head[1:] == ["de ↓", "en ↓", "tr ↓", "zh ↓"]
    rows = _md_rows(md, "fertility/in_context by language")
    assert rows["alpha"][1] == "1.235"   # 1.23456 in the en column
    assert rows["beta"][3] == "0.900"
    bpt = _md_rows(md, "bytes_per_token/micro by language")
    assert bpt["beta"][0] == "4.500"
    # provenance and legend
    assert "0.1.0" in md
    assert "`" + ("c0ffee" * 2) + "`" in md          # corpus hash, 12 hex
    assert "2024-05-01 12:00:00 UTC – 2024-06-02 08:30:00 UTC" in md
    assert "tokens/word" in md and "lower" in md
    assert "premium/corpus" in md                      # mentioned as not shown
    assert "![fertility_by_language](fertility_by_language.png)" in md


def test_html_escaping_and_content(rendered):
    _, paths = rendered
    page = paths["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "evil&lt;tok&gt;&amp;&quot;x&quot;" in page
    assert ODD not in page and "<tok>" not in page
    assert "<title>test &lt;board&gt;</title>" in page
    assert "tokens per word &lt;in context&gt;" in page
    assert "http://" not in page and "https://" not in page   # self-contained
    assert '<img src="fertility_by_language.png"' in page
    assert '<img src="bytes_per_token.png"' in page
    # one drill-down table per headline metric with per-language rows
    assert "core: fertility/in_context by language" in page
    assert "core: bytes_per_token/micro by language" in page
    assert "1.235" in page and "<script>" in page and "<style>" in page


def test_empty_dataframe_raises(tmp_path):
    with pytest.raises(ValueError, match="no results to report in"):
        render(pd.DataFrame(columns=list(COLUMNS)), tmp_path / "x")


def test_missing_metrics_are_skipped(tmp_path):
    df = make_df()
    df = df[df["metric"] == "roundtrip"]
    paths = render(df, tmp_path)
    assert paths["plots"] == []
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "roundtrip/micro" in md and "by language" not in md
    # nothing headline at all: still renders, says so
    only_other = make_df()
    only_other = only_other[only_other["metric"] == "premium"].assign(metric="not_a_headline_metric")
    paths = render(only_other, tmp_path / "other")
    assert "No headline metrics" in paths["markdown"].read_text(encoding="utf-8")


def test_many_tokenizers_and_suites(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    langs = [f"l{i:02d}" for i in range(32)]
    for suite, n_langs in (("core", 3), ("multi", 32)):
        for t in range(18):
            for lang in langs[:n_langs]:
                rows.append(_row(f"tok-{t}", lang, "fertility", "in_context",
                                 float(rng.uniform(1, 4)), suite=suite))
                rows.append(_row(f"tok-{t}", lang, "bytes_per_token", "micro",
                                 float(rng.uniform(2, 5)), suite=suite))
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    paths = render(df, tmp_path)
    names = sorted(p.name for p in paths["plots"])
    assert names == ["bytes_per_token_core.png", "bytes_per_token_multi.png",
                     "fertility_by_language_core.png", "fertility_by_language_multi.png"]
    md = paths["markdown"].read_text(encoding="utf-8")
    rows_md = _md_rows(md, "multi: summary")
    assert len(rows_md) == 18
    vals = [float(c[0]) for c in rows_md.values()]
    assert vals == sorted(vals) and not any(math.isnan(v) for v in vals)


def test_provenance_hash_is_12_hex(rendered):
    _, paths = rendered
    md = paths["markdown"].read_text(encoding="utf-8")
    h = hashlib.sha256(b"alpha").hexdigest()
    assert f"alpha `{h[:12]}`" in md and h[:13] not in md


def test_mixed_sources_and_corpora_are_marked(tmp_path):
    rows = [
        _row("a", ALL_LANGS, "fertility", "in_context", 1.5),
        _row("a", "en", "fertility", "in_context", 1.4),
        _row("b", "en", "fertility", "in_context", 1.2),   # no "*" row: mean, marked
        _row("b", "de", "fertility", "in_context", 1.6),
    ]
    rows[-1]["corpus"] = "wiki"
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    md = render(df, tmp_path)["markdown"].read_text(encoding="utf-8")
    summary = _md_rows(md, "summary")
    assert summary["b"][0] == "1.400†"
    assert summary["a"][0] == "1.500"
    assert list(summary) == ["b", "a"]
    head = _md_header(md, "by language")
    assert head[1:] == ["wiki:de ↓", "flores:en ↓"]     # metric_info defaults to tokbench.metrics.metric_info()
    drill = _md_rows(md, "by language")
    assert drill["a"] == ["–", "1.400"] and drill["b"] == ["1.600", "1.200"]


def test_models_table_joins_model_rows_to_their_tokenizer(tmp_path):
    """The "models" table: one row per model, its model-side values from one suite per column (the
    suite with the most per-language cells, then the most models, in that column: transplant-v1 for
    bits_per_byte here) beside its
    tokenizer's values on the tokenizer suite holding the most of the models' tokenizers (core-v1:
    as many tokenizers as "other", more cells); a model without tokenizer rows gets dashes."""
    rows = [_row("gpt2", "*", "fertility", "in_context", 1.5, suite="core-v1"),
            _row("gpt2", "*", "bytes_per_token", "micro", 4.0, suite="core-v1"),
            _row("gpt2", "*", "fertility", "in_context", 9.9, suite="other")]   # not the default suite: ignored
    for suite, bpb in (("perplexity-v1", 0.8), ("transplant-v1", 1.2)):
        r = _row("gpt2", "*", "bits_per_byte", "micro", bpb, suite=suite)
        r["model"] = "m1"
        rows.append(r)
    for lang, acc in (("en", 0.5), ("tr", 0.25)):   # no "*" row: the mean over languages, marked
        r = _row("gpt2", lang, "char_task_accuracy", "all", acc, suite="charlevel-v1")
        r["model"] = "m1"
        rows.append(r)
    r = _row("newtok", "*", "bits_per_byte", "micro", 2.0, suite="transplant-v1")
    r["model"] = "m2"
    rows.append(r)
    md = render(pd.DataFrame(rows, columns=list(COLUMNS)), tmp_path)["markdown"].read_text(encoding="utf-8")
    table = md.split("### models: model-side scores and their tokenizers")[1].split("\n\n_")[0]
    lines = [ln for ln in table.splitlines() if ln.startswith("| m")]
    assert lines[0].startswith("| model [tokenizer] |")
    assert lines[1] == "| m1 [gpt2] | 1.200 | – | – | 0.375† | 1.500 | 4.000 |"
    assert lines[2] == "| m2 [newtok] | 2.000 | – | – | – | – | – |"
    assert "core-v1 suite" in md and "bits_per_byte/micro: transplant-v1 (0 cells, 2 models), perplexity-v1 (0 cells, 1 models)" in md
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    # the cell says which suite its value comes from (tooltip)
    assert '<td class="num best" data-value="1.2" title="lang=&quot;*&quot; row of transplant-v1">1.200</td>' in page


def test_plugin_metric_with_order_is_a_headline_column(tmp_path):
    """A metric the report has never heard of becomes a headline column, the sort key, a
    markdown drill-down and a plot, from its metadata alone; the direction is per variant."""
    info = {
        "fertility": METRIC_INFO["fertility"],
        "widgetness": {
            "unit": "widgets/word", "higher_is_better": False, "description": "a plug-in <metric>",
            "version": 1, "needs_reference": False, "computed_by": "a tokenizer suite",
            "variants": {
                "kept": {"unit": "share", "higher_is_better": True, "order": 5, "drilldown": True,
                         "models_table": False},
                "raw": {"unit": "widgets/word", "higher_is_better": False, "order": None, "drilldown": False,
                        "models_table": False}}}}
    rows = []
    for tok, base in (("alpha", 0.5), ("beta", 0.75), ("gamma", 0.25)):
        for lang, bump in (("en", 0.0), ("de", 0.1)):
            rows.append(_row(tok, lang, "widgetness", "kept", base + bump))
            rows.append(_row(tok, lang, "widgetness", "raw", 2.0 + base))
            rows.append(_row(tok, lang, "fertility", "in_context", 1.0 + base))
    out = render(pd.DataFrame(rows, columns=list(COLUMNS)), tmp_path, metric_info=info)
    md = out["markdown"].read_text(encoding="utf-8")
    head = _md_header(md, "core: summary")
    assert head == ["tokenizer", "widgetness/kept ↑", "fertility/in_context ↓"]   # order 5 before 10
    summary = _md_rows(md, "core: summary")
    assert list(summary) == ["beta", "alpha", "gamma"]            # first column, higher is better first
    assert summary["beta"] == ["0.800", "1.750"]
    assert "Sorted by widgetness/kept descending." in md
    assert _md_header(md, "widgetness/kept by language")[1:] == ["de ↑", "en ↑"]
    assert "widgetness/raw" in md.split("Also stored, not shown:")[1].splitlines()[0]
    assert "| widgetness | widgets/word | lower | a plug-in \\<metric\\> |" in md
    assert "widgetness_by_language.png" in {p.name for p in out["plots"]}
    page = out["html"].read_text(encoding="utf-8")
    assert "a plug-in &lt;metric&gt;" in page
    # the best value of a higher-is-better column is the largest
    best = re.findall(r'<td class="num best" data-value="([^"]+)"[^>]*>([^<]+)</td>', page)
    assert ("0.8", "0.800") in best or any(abs(float(v) - 0.8) < 1e-12 and t == "0.800" for v, t in best)
    assert not any(t == "0.500" for _, t in best)


def test_report_layer_imports_only_store_and_metadata():
    """tokbench.report reads the store (with its corpus text facts) and metric metadata only: no runner, registry, adapters,
    model-side packages or gate, and no import cycle between its modules."""
    import ast

    root = Path(__file__).resolve().parent.parent / "tokbench" / "report"
    # tokbench.textnorm: the corpus text facts stored beside the parts (a leaf module, no imports)
    allowed = {"tokbench.metrics", "tokbench.schema", "tokbench.store", "tokbench.textnorm"}
    graph: dict[str, set[str]] = {}
    for path in sorted(root.glob("*.py")):
        mod = path.stem
        graph[mod] = set()
        assert len(path.read_text(encoding="utf-8").splitlines()) < 500, path
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                assert f"tokbench.{node.module}" in allowed, (path.name, node.module)
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                graph[mod] |= {node.module} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tokbench"):
                assert any(node.module.startswith(a) for a in allowed), (path.name, node.module)

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        return any(n == b or (n not in seen and reaches(n, b, seen | {n})) for n in graph.get(a, ()))
    for mod in graph:
        assert not reaches(mod, mod, set()), f"import cycle through tokbench.report.{mod}"


# ----------------------------------------------------------------------------- like with like

def _best_cells(page: str, table_id_fragment: str = "summary") -> set[str]:
    """The texts of the best-marked cells of the first table whose data-table is ``summary``."""
    table = page.split(f'data-table="{table_id_fragment}"')[1].split("</table>")[0]
    return set(re.findall(r'<td class="num best"[^>]*>([^<]+)</td>', table))


def test_best_is_chosen_like_with_like(tmp_path):
    """The ‡ rule is the existing one: B, with rows for fewer (corpus, language) pairs than the
    column's fullest rows (A and C: en + tr), is the "fewer" cell and is marked ‡. However good,
    a ‡ value is never the best: the best is chosen among the cells over the full scope (A, C).
    D has as many languages as A and C but other ones (en + de): not marked, not competing."""
    rows = [_row("A", "en", "fertility", "in_context", 2.0), _row("A", "tr", "fertility", "in_context", 2.0),
            _row("C", "en", "fertility", "in_context", 2.5), _row("C", "tr", "fertility", "in_context", 2.5),
            _row("B", "en", "fertility", "in_context", 1.0),            # the lowest: would be "best"
            _row("D", "en", "fertility", "in_context", 1.5), _row("D", "de", "fertility", "in_context", 1.5)]
    out = render(pd.DataFrame(rows, columns=list(COLUMNS)), tmp_path)
    md = out["markdown"].read_text(encoding="utf-8")
    summary = _md_rows(md, "summary")
    assert summary["B"] == ["1.000‡"] and summary["A"] == ["2.000"] and summary["D"] == ["1.500"]
    assert list(summary) == ["B", "D", "A", "C"]                  # sorting still uses every value
    assert "Like with like" in md and "a value marked ‡ is never the best" in md
    page = out["html"].read_text(encoding="utf-8")
    assert _best_cells(page) == {"2.000"}                        # A: the best of the full-scope cells
    assert "compared like with like" in page                      # the legend line under the title


def test_mean_beside_all_language_rows_is_never_best(tmp_path):
    rows = [_row("a", ALL_LANGS, "fertility", "in_context", 1.5), _row("c", ALL_LANGS, "fertility", "in_context", 1.7),
            _row("b", "en", "fertility", "in_context", 1.2), _row("b", "de", "fertility", "in_context", 1.2)]
    page = render(pd.DataFrame(rows, columns=list(COLUMNS)), tmp_path)["html"].read_text(encoding="utf-8")
    assert _best_cells(page) == {"1.500"}
    assert "1.200†" in page


def test_best_rule():
    from tokbench.report.html import best

    nan = float("nan")
    assert best([1.0, 2.0, 3.0], False) == {0}
    assert best([1.0, 2.0, 3.0], True) == {2}
    assert best([1.0, 2.0, 3.0], False, [False, True, True]) == {1}
    assert best([1.0, 2.0, nan], False, [False, True, True]) == set()   # one competitor: no best
    assert best([1.0, 2.0, 3.0], None) == set()


# ----------------------------------------------------------------------------- lossy tokenizers

def _lossy_df() -> pd.DataFrame:
    rows = []
    for tok, rt, unk in (("exact", 1.0, 0.0), ("unky", 1.0, 0.0125), ("blank", float("nan"), 0.0)):
        rows += [_row(tok, ALL_LANGS, "roundtrip", "micro", rt), _row(tok, ALL_LANGS, "unk_rate", "micro", unk)]
    # no lang="*" rows: the mean over languages (0.9) is the value judged
    rows += [_row("meanie", "en", "roundtrip", "micro", 0.8), _row("meanie", "tr", "roundtrip", "micro", 1.0)]
    for tok, f in (("exact", 1.5), ("unky", 1.2), ("blank", 1.9), ("meanie", 1.7)):
        rows.append(_row(tok, ALL_LANGS, "fertility", "in_context", f))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_lossy_tokenizers_are_flagged(tmp_path):
    """A stored value of a ``lossless`` variant (roundtrip/micro, unk_rate/micro) that is not
    exact flags the row: ⚠ on its label and a footnote with its values, in markdown and HTML.
    A blank (NaN) value flags nothing."""
    out = render(_lossy_df(), tmp_path, metric_info=METRIC_INFO)
    md = out["markdown"].read_text(encoding="utf-8")
    summary = _md_rows(md, "summary")
    assert set(summary) == {"exact", "unky ⚠", "blank", "meanie ⚠"}
    assert list(summary) == ["unky ⚠", "exact", "meanie ⚠", "blank"]   # the rank is unchanged
    assert "⚠ unky: unk_rate/micro 0.0125 (exact: 0), roundtrip/micro 1 (exact: 1)" in md
    assert "⚠ meanie: roundtrip/micro 0.9 (exact: 1)" in md
    assert "⚠ exact" not in md and "⚠ blank" not in md
    page = out["html"].read_text(encoding="utf-8")
    assert re.search(r'<th scope="row" data-tokenizer="unky" class="flagged" title="not lossless: '
                     r'unk_rate/micro 0.0125 \(exact: 0\), roundtrip/micro 1 \(exact: 1\)">unky ⚠</th>', page)
    assert '<p class="caption footnote">⚠ meanie: roundtrip/micro 0.9 (exact: 1)</p>' in page
    assert '>exact</th>' in page


def test_lossy_flag_comes_from_the_metadata(tmp_path):
    """No metric name is built in: without ``lossless`` nothing is flagged; a plug-in variant
    with ``lossless`` (lower is better: 0 is exact) flags its rows."""
    import copy

    from tokbench.metrics import metric_info

    assert metric_info()["roundtrip"]["variants"]["micro"]["lossless"] is True
    assert metric_info()["unk_rate"]["variants"]["micro"]["lossless"] is True
    assert metric_info()["fertility"]["variants"]["in_context"]["lossless"] is False
    info = copy.deepcopy(METRIC_INFO)
    for m in ("roundtrip", "unk_rate"):
        info[m]["variants"]["micro"]["lossless"] = False
    md = render(_lossy_df(), tmp_path / "off", metric_info=info)["markdown"].read_text(encoding="utf-8")
    assert "⚠" not in md
    info["drops"] = {"unit": "share", "higher_is_better": False, "description": "dropped bytes",
                     "variants": {"all": {"unit": "share", "higher_is_better": False, "order": None,
                                          "lossless": True}}}
    df = pd.concat([_lossy_df(), pd.DataFrame([_row("exact", ALL_LANGS, "drops", "all", 0.5)], columns=list(COLUMNS))])
    md = render(df, tmp_path / "plugin", metric_info=info)["markdown"].read_text(encoding="utf-8")
    assert "exact ⚠" in _md_rows(md, "summary") and "⚠ exact: drops/all 0.5 (exact: 0)" in md


# ----------------------------------------------------------------------------- suite order, legend first

def _three_suites() -> pd.DataFrame:
    rows = [_row(t, ALL_LANGS, "fertility", "in_context", v, suite=s)
            for s in ("beta-suite", "alpha-suite", "core") for t, v in (("x", 1.0), ("y", 2.0))]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _order(text: str, pattern: str) -> list[str]:
    return re.findall(pattern, text)


def test_suite_order_lead_first_then_by_name(tmp_path):
    out = render(_three_suites(), tmp_path / "lead", lead=["core", "not-stored"])
    md = out["markdown"].read_text(encoding="utf-8")
    assert _order(md, r"(?m)^## (\S+) \(version") == ["core", "alpha-suite", "beta-suite"]
    page = out["html"].read_text(encoding="utf-8")
    assert _order(page, r'<h2 id="suite-([^"]+)"') == ["core", "alpha-suite", "beta-suite"]
    default = render(_three_suites(), tmp_path / "default")["markdown"].read_text(encoding="utf-8")
    assert _order(default, r"(?m)^## (\S+) \(version") == ["alpha-suite", "beta-suite", "core"]


def test_render_leaderboard_passes_lead(tmp_path):
    from tokbench.report import render_leaderboard
    from tokbench.store import write_part

    df = _three_suites()
    write_part(df.to_dict("records"), tmp_path, run_id="r0", seq=0)
    out = render_leaderboard(tmp_path, lead=["core"])
    md = out["markdown"].read_text(encoding="utf-8")
    assert _order(md, r"(?m)^## (\S+) \(version") == ["core", "alpha-suite", "beta-suite"]


def test_metric_legend_comes_first(tmp_path):
    out = render(_three_suites(), tmp_path, lead=["core"])
    md = out["markdown"].read_text(encoding="utf-8")
    heads = _order(md, r"(?m)^## (.+)$")
    assert heads[0] == "Metrics" and heads[1].startswith("core")
    jump = md.split("## Metrics")[0]           # the title and a jump list, nothing else
    assert "[core](#core-version-1), [alpha-suite](#alpha-suite-version-1)" in jump and "###" not in jump
    page = out["html"].read_text(encoding="utf-8")
    assert page.index('<h2 id="metrics">') < page.index('<h2 id="suite-core">') < page.index('<h2 id="suite-alpha-suite">')
    nav = page.split("<nav>")[1].split("</nav>")[0]
    assert nav.index("#suite-core") < nav.index("#suite-alpha-suite") < nav.index("#metrics")


def test_bar_plots_set_apart_values_on_other_scopes():
    """The bar chart compares like with like too: B (en only, ‡) and D (en + de) are drawn apart
    (grey, hatched, "(other scopes)"), A and C (en + tr) as comparable bars."""
    from tokbench.report.data import prepare
    from tokbench.report.plots import bar_items
    from tokbench.report.tables import summary_values

    rows = [_row("A", "en", "fertility", "in_context", 2.0), _row("A", "tr", "fertility", "in_context", 2.0),
            _row("C", "en", "fertility", "in_context", 2.5), _row("C", "tr", "fertility", "in_context", 2.5),
            _row("B", "en", "fertility", "in_context", 1.0),
            _row("D", "en", "fertility", "in_context", 1.5), _row("D", "de", "fertility", "in_context", 1.5)]
    sdf = prepare(pd.DataFrame(rows, columns=list(COLUMNS)))
    cells, _ = summary_values(sdf, ("fertility", "in_context"))
    assert bar_items(cells) == [("B (other scopes)", 1.0, True), ("D (other scopes)", 1.5, True), ("A", 2.0, False),
                                ("C", 2.5, False)]
