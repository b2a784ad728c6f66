"""The default suite end to end (slow): 19 real tokenizers x 40 UDHR languages x every metric.

Checks the shape of the store, the leaderboard, and properties that must hold on real
tokenizers: byte-level BPEs round-trip exactly, ByT5 has exactly one byte per token, the NSL
reference against itself is 1, and values recomputed here independently of the pipeline.
"""
from __future__ import annotations

import json

import pytest

from tokbench import cli, load_results
from tokbench.metrics import default_metrics
from tokbench.suites import load_suite

pytestmark = pytest.mark.slow

BYTE_LEVEL_BPE = ["gpt2", "cl100k_base", "o200k_base", "llama3", "mistral-tekken", "deepseek-v3",
                  "starcoder", "falcon"]
# byte-level BPEs that NFC-normalise their input first (registry `normalize = "NFC"`, as their own
# tokenizer classes do): lossless on text already in NFC, as the default suite's UDHR corpus is
# (its `normalize` default); on raw text they lose the documents NFC changes (test_normalization)
NFC_BPE = ["qwen2_5", "gpt-neox", "command-r"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The README's main command as a new user meets it: a cold start, with an empty
    ``TOKBENCH_CACHE`` (every pinned asset fetched from the registries, nothing tokenized yet),
    in a fresh interpreter."""
    import os
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("default-suite")
    cache = tmp_path_factory.mktemp("empty-cache")
    env = {**os.environ, "TOKBENCH_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "tokbench.cli", "run", "-q", "--results-dir", str(out)], env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "0 (tokenizer, corpus) already stored and skipped" in proc.stdout
    assert (cache / "assets").is_dir() and any((cache / "shards").glob("??/*.npz"))
    return out, load_results(out)


def test_every_tokenizer_language_metric_is_stored(store):
    out, df = store
    suite = load_suite("core-v1")
    langs = suite.corpora["udhr"].langs
    assert len(suite.suite.tokenizers) == 19 and len(langs) >= 30
    per_lang = df[df["lang"] != "*"]
    cells = per_lang.groupby(["tokenizer", "lang"])["metric"].nunique()
    assert len(cells) == 19 * len(langs)
    assert (cells == len(default_metrics())).all()
    assert set(df["tokenizer"]) == set(suite.suite.tokenizers)
    assert df["tokenizer_hash"].str.len().eq(64).all() and df["corpus_hash"].nunique() == 1
    board = out / "leaderboard"
    assert (board / "leaderboard.md").read_text().count("| gpt2 |") >= 1
    assert (board / "index.html").stat().st_size > 10_000
    assert (board / "fertility_by_language.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _value(df, tok, lang, metric, variant):
    sel = df[(df.tokenizer == tok) & (df.lang == lang) & (df.metric == metric) & (df.variant == variant)]
    assert len(sel) == 1, (tok, lang, metric, variant, len(sel))
    return float(sel["value"].iloc[0])


@pytest.mark.parametrize("tok", BYTE_LEVEL_BPE + NFC_BPE)
def test_byte_level_bpe_round_trips_exactly(store, tok):
    _, df = store
    assert _value(df, tok, "*", "roundtrip", "micro") == 1.0


def test_the_corpus_text_provenance_is_stored(store):
    """The UDHR corpus is tokenized in NFC (its default); the store says so and how much of the
    raw text NFC changed, recounted here from the raw declarations."""
    import unicodedata

    from tokbench.corpora import load_udhr
    from tokbench.store import load_corpus_facts

    out, df = store
    spec = load_suite("core-v1").corpora["udhr"]
    raw = load_udhr(langs=list(spec.langs), unit=spec.unit)
    facts = load_corpus_facts(out)
    assert set(facts["corpus_hash"]) == set(df["corpus_hash"]) and set(facts["normalize"]) == {"NFC"}
    star = facts[facts["lang"] == "*"].iloc[0]
    changed = sum(unicodedata.normalize("NFC", t) != t for t in raw.text)
    assert (star["docs"], star["nfc_docs"]) == (len(raw.text), changed) and 0 < changed < len(raw.text)
    assert "- corpus text: udhr: normalize NFC; NFC would change" in (out / "leaderboard" / "leaderboard.md").read_text()


def test_byte_tokenizer_has_one_byte_per_token(store):
    _, df = store
    sel = df[(df.tokenizer == "byt5") & (df.metric == "bytes_per_token")]
    n_langs = len(load_suite("core-v1").corpora["udhr"].langs)
    assert len(sel) == 2 * (n_langs + 1) and (sel["value"] == 1.0).all()


def test_reference_nsl_is_one_and_params_name_it(store):
    _, df = store
    sel = df[(df.tokenizer == "gpt2") & (df.metric == "nsl")]
    assert (sel["value"] == 1.0).all()
    assert all(json.loads(p)["reference"] == "gpt2" for p in sel["params"])


def test_values_match_an_independent_recomputation(store):
    """gpt2 on English: tokens / whitespace words, counted here with tiktoken directly."""
    import tiktoken
    from tiktoken_ext import openai_public

    from tokbench.assets import fetch
    from tokbench.corpora import load_udhr

    _, df = store
    ranks = {}
    import base64

    for line in fetch("gpt2-tiktoken").read_bytes().splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    enc = tiktoken.Encoding(name="r50k_check", pat_str=openai_public.r50k_pat_str, mergeable_ranks=ranks,
                            special_tokens={})
    en = load_udhr(langs=["en"])
    tokens = sum(len(enc.encode_ordinary(t)) for t in en.text)
    words = sum(len(t.split()) for t in en.text)
    n_bytes = sum(len(t.encode()) for t in en.text)
    assert _value(df, "gpt2", "en", "fertility", "in_context") == pytest.approx(tokens / words, rel=1e-12)
    assert _value(df, "gpt2", "en", "bytes_per_token", "micro") == pytest.approx(n_bytes / tokens, rel=1e-12)


def test_rerun_skips_everything(store, capsys):
    out, df = store
    assert cli.main(["run", "-q", "--no-report", "--results-dir", str(out)]) == 0
    assert "19 (tokenizer, corpus) already stored and skipped" in capsys.readouterr().out
    assert len(load_results(out)) == len(df)


def test_the_committed_leaderboard_reproduces(store):
    """The fresh run equals the committed results/ cell for cell (values, variants, n): what the
    executor computes is what the run loop it replaced stored."""
    from pathlib import Path

    from tokbench.reproduce import compare_rows

    _, df = store
    committed = load_results(Path(__file__).resolve().parent.parent / "results")
    res = compare_rows(committed, df, suite="core-v1")
    assert res.compared > 18_000  # 19 tokenizers x 41 languages (and "*") x every variant
    assert (res.differences[:5], res.missing[:5], res.extra[:5]) == ([], [], [])
