"""The published site in a real browser: headless Chromium through selenium.

The site of a tiny real store is served from 127.0.0.1 (http.server in a thread, ephemeral
port) and opened in headless Chromium (Debian ``chromium`` + ``chromium-driver``). Checks:
clicking a column header sorts the rows by that column (both directions), every rendered
value of the summary tables equals the parquet download (``data-value`` to 1e-9, the text to
the 3-decimal rounding), the page loads nothing but its own files, the site also works from
``file://``. A screenshot is saved to ``$TOKBENCH_SCREENSHOT`` if set, else under pytest's
``tmp_path``, and its path printed.

Without chromium, chromedriver or selenium the tests skip, except when ``CI=true``: then
they fail, so CI cannot pass without running them (``.ci/run`` installs the browser).
"""
from __future__ import annotations

import functools
import http.server
import math
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pandas as pd
import pytest

from helpers_tokbench import intrinsic_headline, small_suite_toml

from tokbench.cli import EXIT_OK, main
from tokbench.metrics import headline

# the headline columns an intrinsic-metrics suite shows (parallel/lexicon ones need other suites)
INTRINSIC_HEADLINE = intrinsic_headline()
HEADLINE = tuple(headline())    # (metric, variant) headline columns, from the metric metadata
SMALL_SUITE = small_suite_toml("browser-small", version="1", description="tiny suite for the browser test of the published site")
SUITE_PAGE = "suite-browser-small.html"
CHROMIUM = os.environ.get("TOKBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("TOKBENCH_CHROMEDRIVER") or shutil.which("chromedriver") or \
    "/usr/bin/chromedriver"
MARKS = "†‡"


def _unavailable(why: str) -> None:
    msg = (f"browser test needs Chromium, chromedriver and selenium: {why} "
           "(apt-get install chromium chromium-driver; pip install -e '.[test]')")
    if os.environ.get("CI") == "true":
        pytest.fail(f"{msg}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(msg)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def site(tmp_path_factory, tokbench_cache) -> Path:
    tmp = tmp_path_factory.mktemp("publish-browser")
    suite = tmp / "browser-small.toml"
    suite.write_text(SMALL_SUITE, encoding="utf-8")
    text = tmp / "notes.txt"
    text.write_text("All human beings are born free and equal in dignity and rights.\n",
                    encoding="utf-8")
    results = tmp / "results"
    base = ["--results-dir", str(results), "-q", "--no-report"]
    assert main(["run", str(suite), *base]) == EXIT_OK
    assert main(["run", "--tokenizer", "gpt2", "--corpus", str(text), "--lang", "en", *base]) == EXIT_OK
    assert main(["publish", "--results-dir", str(results)]) == EXIT_OK
    return results / "site"


@pytest.fixture(scope="module")
def parquet(site) -> pd.DataFrame:
    return pd.read_parquet(site / "data" / "results.parquet")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):   # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def server(site):
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        _unavailable(f"selenium is not installed ({e})")
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            _unavailable(f"no {what} at {path}")
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path_factory.mktemp("chromium"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


# ----------------------------------------------------------------------------- helpers

COLUMN_JS = """
var table = document.querySelector(arguments[0]), idx = arguments[1];
return Array.prototype.map.call(table.tBodies[0].rows, function (tr) {
  var td = tr.cells[idx];
  return {row: tr.getAttribute("data-tokenizer"), tokenizer: td.getAttribute("data-tokenizer"),
          value: td.getAttribute("data-value"), text: td.innerText.trim()};
});
"""

CELLS_JS = """
var out = [];
document.querySelectorAll(arguments[0]).forEach(function (table) {
  Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
    tr.querySelectorAll("td[data-metric]").forEach(function (td) {
      var d = {row: tr.getAttribute("data-tokenizer"), shown: td.innerText.trim(),
               content: td.textContent.trim()};
      for (var i = 0; i < td.attributes.length; i++) { d[td.attributes[i].name] = td.attributes[i].value; }
      out.push(d);
    });
  });
});
return out;
"""


def _open(driver, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    # get() can return a moment before readyState flips on a loaded 2-core machine: wait for it
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.get_log("browser")   # start each page with an empty console log


def _header(driver, table: str, **attrs):
    from selenium.webdriver.common.by import By

    sel = table + " thead th" + "".join(f'[data-{k}="{v}"]' for k, v in attrs.items())
    th = driver.find_element(By.CSS_SELECTOR, sel)
    idx = driver.execute_script("return Array.prototype.indexOf.call(arguments[0].parentNode.children, arguments[0])", th)
    return th, idx


def _click_and_wait(driver, th, state: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    th.click()
    WebDriverWait(driver, 10).until(lambda d: th.get_attribute("aria-sort") == state)


def _values(col: list[dict]) -> list[float]:
    return [float(c["value"]) for c in col]


def _is_sorted(vals: list[float], ascending: bool) -> bool:
    finite = [v for v in vals if not math.isnan(v)]
    n = len(finite)
    if any(not math.isnan(v) for v in vals[n:]):      # NaN always last
        return False
    pairs = zip(finite, finite[1:])
    return all(a <= b for a, b in pairs) if ascending else all(a >= b for a, b in pairs)


def _no_console_errors(driver) -> None:
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe


def _screenshot_path(tmp_path: Path) -> Path:
    env = os.environ.get("TOKBENCH_SCREENSHOT")
    path = Path(env) if env else tmp_path / "publish-screenshot.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ----------------------------------------------------------------------------- tests

def test_click_header_sorts_summary(driver, server, tmp_path):
    _open(driver, server + SUITE_PAGE)
    table = "#summary-table"
    th, idx = _header(driver, table, metric="bytes_per_token", variant="micro")
    before = [c["row"] for c in driver.execute_script(COLUMN_JS, table, idx)]
    _click_and_wait(driver, th, "ascending")
    col = driver.execute_script(COLUMN_JS, table, idx)
    assert all(c["row"] == c["tokenizer"] for c in col)          # cells moved with their rows
    assert _is_sorted(_values(col), ascending=True), col
    asc_order = [c["row"] for c in col]
    assert asc_order != before          # initial order is by fertility; bytes/token reverses it
    _click_and_wait(driver, th, "descending")
    col = driver.execute_script(COLUMN_JS, table, idx)
    assert _is_sorted(_values(col), ascending=False), col
    assert [c["row"] for c in col] == asc_order[::-1]
    # the tokenizer column sorts by name; only the clicked header carries the sort state
    name_th, name_idx = _header(driver, table, key="tokenizer")
    _click_and_wait(driver, name_th, "ascending")
    rows = [c["row"] for c in driver.execute_script(COLUMN_JS, table, name_idx)]
    assert rows == sorted(rows)
    assert th.get_attribute("aria-sort") == "none"
    _click_and_wait(driver, th, "ascending")   # leave it sorted by bytes/token for the picture
    _no_console_errors(driver)

    path = _screenshot_path(tmp_path)
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    print(f"\nscreenshot of the published site: {path}")


def test_rendered_summary_values_equal_the_parquet(driver, server, parquet):
    _open(driver, server + SUITE_PAGE)
    cells = driver.execute_script(CELLS_JS, "#summary-table")
    sub = parquet[(parquet["suite"] == "browser-small") & (parquet["lang"] == "*")]
    present = [mv for mv in HEADLINE if ((sub["metric"] == mv[0]) & (sub["variant"] == mv[1])).any()]
    assert len(present) == len(INTRINSIC_HEADLINE)
    assert len(cells) == 3 * len(present)                    # every tokenizer x headline metric
    assert {(c["data-tokenizer"], c["data-metric"], c["data-variant"]) for c in cells} == \
        {(t, m, v) for t in ("gpt2", "byt5", "llama2") for m, v in present}
    for c in cells:
        row = sub[(sub["tokenizer"] == c["data-tokenizer"]) & (sub["metric"] == c["data-metric"])
                  & (sub["variant"] == c["data-variant"])]
        assert len(row) == 1, c
        want = float(row["value"].iloc[0])
        got = float(c["data-value"])
        assert c["data-lang"] == "*" and c["data-suite"] == "browser-small"
        assert int(c["data-rows"]) == row.index[0]           # position in results.parquet
        if math.isnan(want):
            assert math.isnan(got) and c["shown"] == "–"
        else:
            assert abs(got - want) <= 1e-9, (c, want)
            assert c["shown"] == f"{want:.3f}", (c, want)    # what the browser displays
    _no_console_errors(driver)


def test_rendered_drilldown_and_adhoc_values_equal_the_parquet(driver, server, parquet):
    _open(driver, server + SUITE_PAGE)
    cells = driver.execute_script(CELLS_JS, "table.drill")
    assert len(cells) == 3 * 2 * len(INTRINSIC_HEADLINE)                # tokenizers x languages x metrics
    for c in cells:
        row = parquet[(parquet["suite"] == c["data-suite"]) & (parquet["tokenizer"] == c["data-tokenizer"])
                      & (parquet["corpus"] == c["data-corpus"]) & (parquet["lang"] == c["data-lang"])
                      & (parquet["metric"] == c["data-metric"]) & (parquet["variant"] == c["data-variant"])]
        assert len(row) == 1, c
        want = float(row["value"].iloc[0])
        assert abs(float(c["data-value"]) - want) <= 1e-9, c
        assert c["content"] == f"{want:.3f}", c
    # the drill-down tables sort too (the first one is open)
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.CSS_SELECTOR, "details[open] table.drill")
    th = table.find_element(By.CSS_SELECTOR, 'thead th[data-lang="tr"]')
    idx = driver.execute_script("return Array.prototype.indexOf.call(arguments[0].parentNode.children, arguments[0])", th)
    _click_and_wait(driver, th, "ascending")
    col = driver.execute_script(COLUMN_JS, "details[open] table.drill", idx)
    assert _is_sorted(_values(col), ascending=True)

    # the ad-hoc suite: one language, so its summary is the per-language row
    _open(driver, server + "suite-adhoc.html")
    cells = driver.execute_script(CELLS_JS, "#summary-table")
    assert cells
    for c in cells:
        row = parquet[(parquet["suite"] == "adhoc") & (parquet["tokenizer"] == c["data-tokenizer"])
                      & (parquet["lang"] == "en") & (parquet["metric"] == c["data-metric"])
                      & (parquet["variant"] == c["data-variant"])]
        want = float(row["value"].iloc[0])
        assert len(row) == 1 and abs(float(c["data-value"]) - want) <= 1e-9
        assert c["shown"].rstrip(MARKS) == f"{want:.3f}"
    _no_console_errors(driver)


def test_loads_only_its_own_files(driver, server):
    for page in ("index.html", SUITE_PAGE, "metrics.html"):
        _open(driver, server + page)
        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
        assert all(u.startswith(server) for u in urls), urls
        images = driver.execute_script(
            "return Array.prototype.map.call(document.images, function (i) {"
            " return [i.getAttribute('src'), i.complete && i.naturalWidth > 0]; })")
        assert all(ok for _, ok in images), images
        _no_console_errors(driver)


def test_works_from_file_url(driver, site):
    _open(driver, (site / SUITE_PAGE).resolve().as_uri())
    th, idx = _header(driver, "#summary-table", metric="chars_per_token", variant="micro")
    _click_and_wait(driver, th, "ascending")        # sort.js and site.css load from file:// too
    col = driver.execute_script(COLUMN_JS, "#summary-table", idx)
    assert _is_sorted(_values(col), ascending=True)
    assert [c["row"] for c in col][0] == "byt5"      # fewest characters per token
    _no_console_errors(driver)
