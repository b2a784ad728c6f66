"""`tokbench publish`: the static site from a real (tiny) store, checked without a browser.

No external URL in any file, every link resolves inside the site, the parquet download equals
``latest(load_results(store))``, every table cell's number comes from that parquet, an empty
store exits 2. The browser half (sorting, rendered values) is tests/test_publish_browser.py.
"""
from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest

from helpers_tokbench import intrinsic_headline, small_suite_toml

from tokbench.cli import EXIT_BAD_INPUT, EXIT_OK, main
from tokbench.report import latest
from tokbench.metrics import headline
from tokbench.store import load_results

# the headline columns an intrinsic-metrics suite shows (parallel/lexicon ones need other suites)
INTRINSIC_HEADLINE = intrinsic_headline()
HEADLINE = tuple(headline())    # (metric, variant) headline columns, from the metric metadata
SMALL_SUITE = small_suite_toml("pub-small", version="1", description="tiny suite for the publish tests")
MARKS = "†‡"


@pytest.fixture(scope="module")
def store(tmp_path_factory, tokbench_cache) -> Path:
    """A store with two suites: the small UDHR suite run twice (the second, forced run
    supersedes the first) and an ad-hoc single-language run (no lang="*" rows)."""
    tmp = tmp_path_factory.mktemp("publish")
    suite = tmp / "pub-small.toml"
    suite.write_text(SMALL_SUITE, encoding="utf-8")
    text = tmp / "notes.txt"
    text.write_text("All human beings are born free and equal in dignity and rights.\n"
                    "Everyone has the right to life, liberty and security of person.\n",
                    encoding="utf-8")
    results = tmp / "results"
    base = ["--results-dir", str(results), "-q", "--no-report"]
    assert main(["run", str(suite), *base]) == EXIT_OK
    assert main(["run", str(suite), "--force", *base]) == EXIT_OK
    assert main(["run", "--tokenizer", "gpt2", "--corpus", str(text), "--lang", "en", *base]) == EXIT_OK
    return results


@pytest.fixture(scope="module")
def site(store) -> Path:
    assert main(["publish", "--results-dir", str(store)]) == EXIT_OK
    return store / "site"


class Page(HTMLParser):
    """Links, ids and the table cells (attributes and text) of one HTML page."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str]] = []   # (tag, attribute, url)
        self.ids: set[str] = set()
        self.cells: list[dict] = []                   # every <td data-value=...>
        self._cell: dict | None = None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src", "action", "srcset", "poster", "data"):
            if a.get(key) is not None:
                self.links.append((tag, key, a[key]))
        if tag == "td" and "data-value" in a:
            self._cell = {**a, "text": ""}

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            self.cells.append(self._cell)
            self._cell = None


def _pages(site: Path) -> dict[Path, Page]:
    return {p: Page(p) for p in sorted(site.rglob("*.html"))}


# ----------------------------------------------------------------------------- layout, exit codes

def test_layout(site, store):
    for rel in ("index.html", "metrics.html", "suite-pub-small.html", "suite-adhoc.html",
                "assets/sort.js", "assets/site.css", "data/results.parquet",
                "data/SHA256SUMS", ".nojekyll", "img/pub-small/fertility_by_language.png",
                "img/pub-small/bytes_per_token.png"):
        assert (site / rel).is_file(), rel
    assert not list(site.rglob("*.csv"))       # the rows are published once, as parquet
    index = (site / "index.html").read_text(encoding="utf-8")
    for suite in ("pub-small", "adhoc"):
        assert f'href="suite-{suite}.html"' in index
    # the scripts and styles are local files; nothing runs from elsewhere
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert '<script src="assets/sort.js"></script>' in text
        assert '<link rel="stylesheet" href="assets/site.css">' in text


def test_empty_store_exits_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "parts").mkdir(parents=True)
    assert main(["publish", "--results-dir", str(empty)]) == EXIT_BAD_INPUT
    assert "no results" in capsys.readouterr().err
    assert not (empty / "site").exists()
    assert main(["publish", "--results-dir", str(tmp_path / "missing")]) == EXIT_BAD_INPUT
    assert not (tmp_path / "missing").exists()


def test_out_folder_is_replaced_but_a_foreign_one_refused(store, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["publish", "--results-dir", str(store), "--out", str(out)]) == EXIT_OK
    (out / "stale.html").write_text("old", encoding="utf-8")
    assert main(["publish", "--results-dir", str(store), "--out", str(out)]) == EXIT_OK
    assert not (out / "stale.html").exists()
    assert (out / "index.html").is_file()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious", encoding="utf-8")
    capsys.readouterr()
    assert main(["publish", "--results-dir", str(store), "--out", str(foreign)]) == EXIT_BAD_INPUT
    assert "did not write" in capsys.readouterr().err
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp leftovers


def test_deterministic(store, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["publish", "--results-dir", str(store), "--out", str(out)]) == EXIT_OK
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


# ----------------------------------------------------------------------------- self-contained

URL = re.compile(rb"[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


def test_no_external_urls_in_any_file(site):
    files = [p for p in site.rglob("*") if p.is_file()]
    assert len(files) >= 10
    for path in files:
        data = path.read_bytes()
        assert b"http://" not in data.lower() and b"https://" not in data.lower(), path
        assert not URL.search(data), (path, URL.search(data))
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*//""", text), page   # protocol-relative
        assert "@import" not in text
    css = (site / "assets" / "site.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css


def test_every_link_resolves_inside_the_site(site):
    pages = _pages(site)
    root = site.resolve()
    checked = 0
    for page, parsed in pages.items():
        for tag, attr, url in parsed.links:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, (page, tag, url)
            assert not url.startswith("/"), (page, url)    # absolute paths break on file:// and sub-paths
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            assert target.is_file(), (page, url)
            assert root in target.parents, (page, url)
            if parts.fragment:
                assert target.suffix == ".html", (page, url)
                ids = pages[target].ids if target in pages else Page(target).ids
                assert parts.fragment in ids, (page, url)
            checked += 1
    assert checked > 20


# ----------------------------------------------------------------------------- the data download

def test_parquet_download_is_latest_of_the_store(site, store):
    stored = load_results(store, all_rows=True)     # the history: both runs of pub-small
    want = latest(stored).reset_index(drop=True)
    got = pd.read_parquet(site / "data" / "results.parquet")
    assert len(stored) > len(got) == len(want)        # the forced rerun superseded rows
    assert list(got.columns) == list(stored.columns)
    pd.testing.assert_frame_equal(got, want)
    # the rows are the second run's for the suite that ran twice
    runs = stored[stored["suite"] == "pub-small"].groupby("run_id")["created_at"].max()
    assert set(got.loc[got["suite"] == "pub-small", "run_id"]) == {runs.idxmax()}
    import hashlib

    sums = (site / "data" / "SHA256SUMS").read_text(encoding="utf-8").split()
    assert sums == [hashlib.sha256((site / "data" / "results.parquet").read_bytes()).hexdigest(), "results.parquet"]


# ----------------------------------------------------------------------------- numbers = parquet

def _check_cell(cell: dict, pub: pd.DataFrame) -> None:
    if cell["data-agg"] == "none":      # no stored row for this cell
        assert cell["data-rows"] == "" and cell["data-value"] == "NaN" and cell["text"] == "–"
        return
    rows = pub.iloc[[int(x) for x in cell["data-rows"].split(",")]]
    for attr, col in (("data-suite", "suite"), ("data-tokenizer", "tokenizer"),
                      ("data-metric", "metric"), ("data-variant", "variant"),
                      ("data-corpus", "corpus"), ("data-lang", "lang")):
        if attr in cell:
            assert set(rows[col]) == {cell[attr]}, (cell, col)
    vals = rows["value"].to_numpy(float)
    finite = vals[~np.isnan(vals)]
    want = float(finite.mean()) if len(finite) else math.nan
    got = float(cell["data-value"])
    if math.isnan(want):
        assert math.isnan(got) and cell["text"] == "–", cell
        return
    assert abs(got - want) <= 1e-9, (cell, want)
    if cell["data-agg"] == "row":
        assert len(rows) == 1 and got == want     # full precision: the stored float itself
    assert cell["text"].rstrip(MARKS) == f"{want:.3f}", (cell, want)


def test_every_table_number_comes_from_the_parquet(site):
    pub = pd.read_parquet(site / "data" / "results.parquet")
    seen = {"summary": 0, "drill": 0}
    for name in ("suite-pub-small.html", "suite-adhoc.html"):
        page = Page(site / name)
        for cell in page.cells:
            if "data-metric" not in cell:
                continue    # counts in the provenance tables
            _check_cell(cell, pub)
            seen["drill" if "data-corpus" in cell and cell.get("data-lang") != "*"
                 and cell["data-agg"] == "row" else "summary"] += 1
    assert seen["summary"] and seen["drill"]


def test_summary_cells_are_the_all_language_rows(site):
    """Independently of data-rows: each summary cell of pub-small is the unique lang="*" row
    of its (tokenizer, metric, variant); every tokenizer and headline metric is there."""
    pub = pd.read_parquet(site / "data" / "results.parquet")
    sub = pub[(pub["suite"] == "pub-small") & (pub["lang"] == "*")]
    page = Page(site / "suite-pub-small.html")
    cells = [c for c in page.cells if c.get("data-lang") == "*" and "data-metric" in c]
    present = {mv for mv in HEADLINE if ((sub["metric"] == mv[0]) & (sub["variant"] == mv[1])).any()}
    assert len(present) == len(INTRINSIC_HEADLINE)
    assert {(c["data-tokenizer"], c["data-metric"], c["data-variant"]) for c in cells} == \
        {(t, m, v) for t in ("gpt2", "byt5", "llama2") for m, v in present}
    assert len(cells) == 3 * len(present)
    for c in cells:
        row = sub[(sub["tokenizer"] == c["data-tokenizer"]) & (sub["metric"] == c["data-metric"])
                  & (sub["variant"] == c["data-variant"])]
        assert len(row) == 1
        v = float(row["value"].iloc[0])
        assert float(c["data-value"]) == v
        assert c["text"] == f"{v:.3f}"


def test_adhoc_summary_is_the_single_language(site):
    pub = pd.read_parquet(site / "data" / "results.parquet")
    page = Page(site / "suite-adhoc.html")
    cells = [c for c in page.cells if "data-metric" in c]
    assert cells and {c["data-tokenizer"] for c in cells} == {"gpt2"}
    assert set(pub.loc[pub["suite"] == "adhoc", "lang"]) == {"en"}
    for c in cells:
        assert c["data-lang"] == "en"
        _check_cell(c, pub)


def test_metric_descriptions_from_the_metric_objects(site):
    import html

    from tokbench.metrics import default_metrics, metric_info

    text = (site / "metrics.html").read_text(encoding="utf-8")
    intrinsic = default_metrics()
    for name, info in metric_info().items():
        if name not in intrinsic:  # the site lists the metrics its suites computed (the default suite's)
            continue
        assert f'id="metric-{name}"' in text
        assert html.escape(info["description"], quote=True) in text


def test_provenance_on_suite_pages(site):
    pub = pd.read_parquet(site / "data" / "results.parquet")
    for suite in ("pub-small", "adhoc"):
        text = (site / f"suite-{suite}.html").read_text(encoding="utf-8")
        sub = pub[pub["suite"] == suite]
        for h in set(sub["tokenizer_hash"]) | set(sub["corpus_hash"]) | set(sub["run_id"]):
            assert h in text, (suite, h)
        for v in set(sub["tokbench_version"]):
            assert f"tokbench version: {v}" in text
        lo = sub["created_at"].min().strftime("%Y-%m-%d %H:%M:%S UTC")
        assert lo in text


# ----------------------------------------------------------------------------- everything the leaderboard has

def _synthetic_store() -> pd.DataFrame:
    """Tokenizer rows with token premiums against en (suite "par"), and model rows of two
    suites (one model in both) whose tokenizers have rows in "par"."""
    import json

    from tokbench.schema import COLUMNS

    def row(suite, tok, lang, metric, variant, value, model=None, params=None):
        r = dict.fromkeys(COLUMNS)
        r.update(run_id="r1", suite=suite, suite_version="1", tokenizer=tok, tokenizer_hash=f"{tok}-hash",
                 model=model, corpus="udhr", corpus_hash="c0ffee", lang=lang, metric=metric, variant=variant,
                 value=value, n=10, params=json.dumps(params or {}), metric_version=1, tokbench_version="0.1.0",
                 schema_version=2, created_at=pd.Timestamp("2025-01-01", tz="UTC"))
        return r
    rows, ref = [], {"reference_lang": "en"}
    for k, tok in enumerate(("gpt2", "llama3")):
        for j, lang in enumerate(("en", "de", "tr", "fi")):
            rows.append(row("par", tok, lang, "premium", "corpus", 1.0 if lang == "en" else 1.2 + 0.3 * j - 0.1 * k,
                            params=ref))
            rows.append(row("par", tok, lang, "fertility", "in_context", 1.5 + 0.1 * j + k))
        rows.append(row("par", tok, "*", "parity", "mean", 1.5 - 0.1 * k, params=ref))
        rows.append(row("par", tok, "*", "fertility", "in_context", 1.6 + k))
        rows.append(row("par", tok, "*", "bytes_per_token", "micro", 4.0 - k))
    rows.append(row("ppl", "gpt2", "*", "bits_per_byte", "micro", 1.25, model="m-gpt2"))
    rows.append(row("ppl", "llama3", "*", "bits_per_byte", "micro", 1.5, model="m-llama3"))
    rows.append(row("chars", "gpt2", "*", "bits_per_byte", "micro", 2.0, model="m-gpt2"))
    for lang, acc in (("en", 0.5), ("tr", 0.25)):
        rows.append(row("chars", "gpt2", lang, "char_task_accuracy", "all", acc, model="m-gpt2"))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_site_has_the_models_table_and_premium_plots(tmp_path):
    from tokbench.metrics import metric_info
    from tokbench.report.publish import publish

    df = _synthetic_store()
    site = publish(df, tmp_path / "site", metric_info=metric_info())
    root = tmp_path / "site"
    assert site["models"] == root / "models.html"
    for name in ("premium_heatmap.png", "premium_worst_languages.png", "fertility_by_language.png",
                 "bytes_per_token.png"):
        png = root / "img" / "par" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f'src="img/par/{name}"' in (root / "suite-par.html").read_text(encoding="utf-8")
    assert 'href="models.html"' in (root / "index.html").read_text(encoding="utf-8")
    # the models table: one row per model, every number from the parquet, the suite it came from named
    pub = pd.read_parquet(root / "data" / "results.parquet")
    page = Page(root / "models.html")
    cells = [c for c in page.cells if "data-metric" in c]
    by = {(c["data-model"], c["data-metric"], c["data-variant"]): c for c in cells}
    assert {m for m, _, _ in by} == {"m-gpt2", "m-llama3"}
    for c in cells:
        _check_cell(c, pub)
    bpb = by["m-gpt2", "bits_per_byte", "micro"]
    assert bpb["data-suite"] == "ppl" and bpb["text"] == "1.250"     # ppl has the most models in this column
    assert "row of ppl" in bpb["title"]
    acc = by["m-gpt2", "char_task_accuracy", "all"]
    assert acc["data-suite"] == "chars" and acc["text"] == "0.375†" and acc["data-agg"] == "mean"
    fert = by["m-llama3", "fertility", "in_context"]              # the model's tokenizer, joined
    assert fert["data-suite"] == "par" and fert["data-tokenizer"] == "llama3" and fert["text"] == "2.600"
    # the leaderboard renders the same table from the same rows
    from tokbench.report import render

    lb = render(df, tmp_path / "lb", metric_info=metric_info())
    md = lb["markdown"].read_text(encoding="utf-8")
    assert "| m-gpt2 [gpt2] | 1.250 | – | – | 0.375† | 1.600 | 4.000 |" in md
    # the site's plots are the leaderboard's at a lower resolution, without an alpha channel
    from PIL import Image

    for name in ("premium_heatmap", "fertility_by_language"):
        with Image.open(root / "img" / "par" / f"{name}.png") as small, \
                Image.open(tmp_path / "lb" / f"{name}_par.png") as full:
            assert small.mode == "RGB" and small.width < 0.9 * full.width and small.height < 0.9 * full.height


# ----------------------------------------------------------------------------- progress, order, like with like

def test_progress_on_stderr_and_quiet(store, tmp_path, capsys):
    capsys.readouterr()
    assert main(["publish", "--results-dir", str(store), "--out", str(tmp_path / "a")]) == EXIT_OK
    err = capsys.readouterr().err
    assert "publish:" in err and "step" in err               # a tqdm bar over the steps
    assert main(["publish", "-q", "--results-dir", str(store), "--out", str(tmp_path / "b")]) == EXIT_OK
    out = capsys.readouterr()
    assert out.err == "" and "wrote" in out.out


def test_lead_suites_first_and_best_like_with_like(tmp_path):
    """``lead`` orders the index (then by name); a cell over fewer languages (‡) is never the
    best, however good, on the site as on the leaderboard."""
    import json

    from tokbench.metrics import metric_info
    from tokbench.report.publish import publish
    from tokbench.schema import COLUMNS

    df = _synthetic_store()
    extra = []
    for tok, vals in (("A", {"en": 2.0, "tr": 2.0}), ("C", {"en": 2.5, "tr": 2.5}), ("B", {"en": 1.0})):
        for lang, v in vals.items():
            r = dict.fromkeys(COLUMNS)
            r.update(run_id="r2", suite="fewer", suite_version="1", tokenizer=tok, tokenizer_hash=f"{tok}-hash",
                     corpus="udhr", corpus_hash="c0ffee", lang=lang, metric="fertility", variant="in_context",
                     value=v, n=10, params=json.dumps({}), metric_version=1, tokbench_version="0.1.0",
                     schema_version=2, created_at=pd.Timestamp("2025-01-01", tz="UTC"))
            extra.append(r)
    df = pd.concat([df, pd.DataFrame(extra, columns=list(COLUMNS))], ignore_index=True)
    root = tmp_path / "site"
    publish(df, root, metric_info=metric_info(), lead=["ppl", "fewer"])
    index = (root / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<tr data-suite="([^"]+)">', index) == ["ppl", "fewer", "chars", "par"]
    text = (root / "suite-fewer.html").read_text(encoding="utf-8")
    table = text.split('id="summary-table"')[1].split("</table>")[0]
    summary = {tok: (cls.split(), shown) for cls, tok, shown in
               re.findall(r'<td class="([^"]+)"[^>]* data-tokenizer="([^"]+)"[^>]*>([^<]+)</td>', table)}
    assert summary["B"] == (["num"], "1.000‡")                  # the lowest, but over fewer languages
    assert summary["A"] == (["num", "best"], "2.000") and summary["C"] == (["num"], "2.500")
    assert "a value marked ‡ is never the best" in text and "compared like with like" in text
