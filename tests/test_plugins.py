"""Plug-ins from outside the package: the example package of docs/plugins.md, installed as a
real distribution (dist-info with entry_points.txt on sys.path), adds a tokenizer backend, two
metrics, a suite kind, a linguistic backend and a registry file; `tokbench ls` lists them and
suites use them, in a fresh interpreter that knows nothing of this test."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tokbench.store import load_results

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "plugins.md"
BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """(site dir with tbplug + its dist-info, folder with the two suites)."""
    root = tmp_path_factory.mktemp("plugin")
    site, suites = root / "site", root / "suites"
    files = {m["path"]: m["body"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))}
    assert {"tbplug/__init__.py", "tbplug/tokenizers.toml", "tbplug-0.1.dist-info/entry_points.txt",
            "plugin-suite.toml", "doclen-suite.toml"} <= set(files)
    for rel, body in files.items():
        dest = (suites if rel.endswith("-suite.toml") else site) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(body, encoding="utf-8")
    return site, suites


def tokbench(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "tokbench.cli", *args], env=env, text=True, capture_output=True,
                          timeout=600)


def test_ls_shows_every_plugin_entry(plugin):
    site, _ = plugin
    listings = {w: tokbench(site, "ls", w) for w in ("backends", "metrics", "kinds", "linguistic", "tokenizers")}
    for what, p in listings.items():
        assert p.returncode == 0, (what, p.stderr)
    assert "latin1-chars" in listings["backends"].stdout
    assert "entry point tokbench.backends:latin1-chars = tbplug:BACKEND" in listings["backends"].stdout
    assert re.search(r"^tokens_per_doc .*entry point tokbench.metrics", listings["metrics"].stdout, re.M)
    assert re.search(r"^doc_chars .*computed by a `kind = \"doclen\"` suite", listings["metrics"].stdout, re.M)
    assert re.search(r"^doclen +metrics: doc_chars", listings["kinds"].stdout, re.M)
    assert "tbplug-words" in listings["linguistic"].stdout
    assert re.search(r"^latin1 +latin1-chars", listings["tokenizers"].stdout, re.M)
    # without the plug-in on the path, none of it exists
    bare = subprocess.run([sys.executable, "-m", "tokbench.cli", "ls", "backends"], text=True, capture_output=True)
    assert bare.returncode == 0 and "latin1-chars" not in bare.stdout


def test_a_suite_uses_the_plugin_backend_metric_and_lexicon(plugin, tmp_path):
    site, suites = plugin
    out = tmp_path / "results"
    p = tokbench(site, "run", str(suites / "plugin-suite.toml"), "--results-dir", str(out), "-q")
    assert p.returncode == 0, p.stderr
    df = load_results(out)
    en = df[df["lang"] == "en"]
    tpd = en[(en["metric"] == "tokens_per_doc")].set_index("tokenizer")["value"]
    # recomputed here: every character is one token (Latin-1, else <unk>), so tokens/doc = characters/doc
    from tokbench.corpora import CorpusSpec, load_corpus

    corpus = load_corpus("udhr", CorpusSpec(source="udhr", langs=["en"], max_docs_per_lang=5))
    assert tpd["latin1"] == pytest.approx(sum(map(len, corpus.text)) / len(corpus.text), rel=1e-12)
    assert tpd["gpt2"] < tpd["latin1"] / 3
    lang = en[(en["metric"] == "lang_token_share") & (en["variant"] == "types")].set_index("tokenizer")
    assert json.loads(lang.loc["gpt2", "params"])["backend"] == "tbplug-words"
    assert 0 < lang.loc["gpt2", "value"] < 1 and lang.loc["latin1", "value"] == 0  # single letters are no words
    # the plug-in metric's Show(order=5) makes it the first headline column, no report change needed
    board = (out / "leaderboard" / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in board.splitlines() if line.startswith("| tokenizer |") and "tokens_per_doc" in line)
    assert header.index("tokens_per_doc") < header.index("fertility")


def test_a_plugin_suite_kind_runs_through_the_executor(plugin, tmp_path):
    site, suites = plugin
    out = tmp_path / "results"
    p = tokbench(site, "run", str(suites / "doclen-suite.toml"), "--results-dir", str(out), "-q", "--no-report")
    assert p.returncode == 0, p.stderr
    df = load_results(out)
    assert set(df["lang"]) == {"en", "tr"} and set(df["metric"]) == {"doc_chars"}
    assert (df["n"] == 4).all() and df["run_id"].nunique() == 1 and df["suite"].eq("doclen-demo").all()
    again = tokbench(site, "run", str(suites / "doclen-suite.toml"), "--results-dir", str(out), "-q", "--no-report")
    assert again.returncode == 0 and "0 rows in 0 part file(s)" in again.stdout
    assert "1 unit(s) already stored and skipped" in again.stdout
    valid = tokbench(site, "validate", str(suites / "doclen-suite.toml"))
    assert valid.returncode == 0 and "doclen suite" in valid.stdout


def test_a_broken_plugin_is_named(tmp_path):
    site = tmp_path / "site"
    (site / "brokenplug-0.1.dist-info").mkdir(parents=True)
    (site / "brokenplug-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 0.1\n")
    (site / "brokenplug-0.1.dist-info" / "entry_points.txt").write_text("[tokbench.metrics]\nbad = nosuchmodule:X\n")
    p = tokbench(site, "ls", "metrics")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("tokbench: error: entry point tokbench.metrics:bad = nosuchmodule:X failed to load")
