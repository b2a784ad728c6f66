"""End-to-end CLI runs, bad input (exit 2, nothing written), failing tokenizers (exit 1) and suites."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers_tokbench import small_suite_toml, FAIL_MESSAGE, tree_snapshot

import tokbench
from tokbench.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main
from tokbench.corpora import load_udhr
from tokbench.metrics import METRICS, default_metrics
from tokbench.registry import get_spec, get_tokenizer
from tokbench.schema import COLUMNS
from tokbench.store import load_results, part_files

REQUIRED_COLUMNS = ["run_id", "suite", "suite_version", "tokenizer", "tokenizer_hash", "corpus", "corpus_hash",
                    "lang", "metric", "variant", "value", "n", "tokbench_version", "created_at"]

SMALL_SUITE = small_suite_toml("e2e-small", version="3", description="tiny end-to-end suite")


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def e2e_run(tmp_path_factory, tokbench_cache):
    """One run of a tiny suite (3 tokenizers x udhr en+tr, 3 docs each) through the CLI."""
    tmp = tmp_path_factory.mktemp("e2e")
    suite = write(tmp / "small.toml", SMALL_SUITE)
    results = tmp / "results"
    rc = main(["run", str(suite), "--results-dir", str(results), "-q"])
    return {"rc": rc, "results": results, "suite": suite}


def test_e2e_exit_code_and_part_files(e2e_run):
    assert e2e_run["rc"] == EXIT_OK
    parts = part_files(e2e_run["results"])
    assert len(parts) == 3  # one part per (tokenizer, corpus)
    assert not list((e2e_run["results"] / "parts").glob("*.tmp"))
    assert not [p for p in (e2e_run["results"] / "parts").iterdir() if p.name.startswith(".")]


def test_e2e_parquet_schema_and_provenance(e2e_run):
    parts = part_files(e2e_run["results"])
    for part in parts:
        names = pq.read_schema(part).names
        assert set(REQUIRED_COLUMNS) <= set(names), set(REQUIRED_COLUMNS) - set(names)
        assert names == list(COLUMNS)
    df = load_results(e2e_run["results"])
    assert list(df.columns) == list(COLUMNS)
    assert df["run_id"].nunique() == 1
    assert set(df["suite"]) == {"e2e-small"}
    assert set(df["suite_version"]) == {"3"}
    assert set(df["tokenizer"]) == {"gpt2", "byt5", "llama2"}
    assert set(df["corpus"]) == {"udhr"}
    assert set(df["tokbench_version"]) == {tokbench.__version__}
    for name in ("gpt2", "byt5", "llama2"):
        assert set(df.loc[df["tokenizer"] == name, "tokenizer_hash"]) == {get_spec(name).fingerprint()}
    corpus = load_udhr(langs=["en", "tr"]).limit_docs(3)
    assert set(df["corpus_hash"]) == {corpus.hash}
    assert df["created_at"].dt.tz is not None
    # every metric x variant for each language and for all languages together ("*")
    want = {(name, v) for name in default_metrics() for v in METRICS[name].variants}  # the default suite's metrics
    for (tok, lang), sub in df.groupby(["tokenizer", "lang"]):
        assert set(zip(sub["metric"], sub["variant"])) == want, (tok, lang)
        assert len(sub) == len(want)
    assert set(df["lang"]) == {"en", "tr", "*"}
    assert (df["n"] >= 0).all()


def test_e2e_values_match_an_independent_count(e2e_run):
    """bytes/token on the stored rows equals UTF-8 bytes / tokens counted here directly."""
    df = load_results(e2e_run["results"])
    corpus = load_udhr(langs=["en", "tr"]).limit_docs(3)
    gpt2 = get_tokenizer("gpt2")
    for lang in ("en", "tr", "*"):
        texts = [t for t, l in zip(corpus.text, corpus.lang) if lang in ("*", l)]
        n_tok = sum(len(x) for x in gpt2.enc.encode_ordinary_batch(texts))
        n_bytes = sum(len(t.encode("utf-8")) for t in texts)
        row = df[(df["tokenizer"] == "gpt2") & (df["lang"] == lang) & (df["metric"] == "bytes_per_token")
                 & (df["variant"] == "micro")]
        assert len(row) == 1
        assert row["value"].iloc[0] == pytest.approx(n_bytes / n_tok, rel=1e-12)
        assert row["n"].iloc[0] == n_tok
    byt5 = df[(df["tokenizer"] == "byt5") & (df["metric"] == "bytes_per_token")]
    assert np.allclose(byt5["value"], 1.0)
    # nsl against the reference (gpt2) is exactly 1 for gpt2 itself
    nsl = df[(df["tokenizer"] == "gpt2") & (df["metric"] == "nsl") & (df["variant"] == "micro")]
    assert np.allclose(nsl["value"], 1.0)
    assert (df[(df["metric"] == "roundtrip") & (df["tokenizer"] != "llama2")]["value"] == 1.0).all()


def test_e2e_leaderboard_files(e2e_run):
    lb = e2e_run["results"] / "leaderboard"
    md, html = lb / "leaderboard.md", lb / "index.html"
    assert md.is_file() and html.is_file()
    md_text = md.read_text(encoding="utf-8")
    html_text = html.read_text(encoding="utf-8")
    for name in ("gpt2", "byt5", "llama2"):
        assert name in md_text and name in html_text
    assert "<html" in html_text.lower()
    pngs = sorted(lb.glob("*.png"))
    assert pngs, "no plots rendered"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 1000


def test_report_subcommand_rerenders(e2e_run, capsys):
    rc = main(["report", "--results-dir", str(e2e_run["results"])])
    assert rc == EXIT_OK
    assert "leaderboard.md" in capsys.readouterr().out


def test_report_on_empty_store_is_bad_input(tmp_path, capsys):
    assert main(["report", "--results-dir", str(tmp_path / "none")]) == EXIT_BAD_INPUT
    assert "no results" in capsys.readouterr().err


def test_adhoc_run_via_console_script(tmp_path, tiny_corpus):
    """The installed `tokbench` command: an ad-hoc run, then bad input exits 2."""
    exe = Path(sys.executable).with_name("tokbench")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tokbench.cli"]
    results = tmp_path / "r"
    env = dict(os.environ)
    p = subprocess.run(cmd + ["run", "--tokenizer", "gpt2", "--tokenizer", "byt5", "--corpus", str(tiny_corpus),
                              "--lang", "en", "--results-dir", str(results), "-q"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "run " in p.stdout and "gpt2" in p.stdout and "byt5" in p.stdout
    df = load_results(results)
    assert set(df["tokenizer"]) == {"gpt2", "byt5"}
    assert set(df["suite"]) == {"adhoc"}
    assert set(df["corpus"]) == {"tiny"}
    assert set(df["lang"]) == {"en"}
    assert "nsl" not in set(df["metric"])  # no --reference given
    assert (results / "leaderboard" / "leaderboard.md").is_file()

    p = subprocess.run(cmd + ["run", "--tokenizer", "gtp2", "--corpus", str(tiny_corpus), "--lang", "en",
                              "--results-dir", str(results), "-q"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2
    assert "gtp2" in p.stderr and "did you mean 'gpt2'" in p.stderr.lower()


# ----------------------------------------------------------------------------- bad input


def _case_malformed_suite(tmp, corpus, results):
    suite = write(tmp / "broken.toml", '[suite]\nname = "x"\ntokenizers = ["gpt2"\n')
    return ["run", str(suite)], [str(suite), "malformed TOML"]


def _case_malformed_registry(tmp, corpus, results):
    reg = write(tmp / "my-registry.toml", '[mytok\nbackend = "byte"\n')
    return ["run", "--registry", str(reg), "--tokenizer", "gpt2", "--corpus", str(corpus), "--lang", "en"], \
        [str(reg), "malformed TOML"]


def _case_registry_unknown_field(tmp, corpus, results):
    reg = write(tmp / "reg-fields.toml", '[tokenizers.mytok]\nbackend = "byte"\ncolour = "red"\n')
    return ["run", "--registry", str(reg), "--tokenizer", "mytok", "--corpus", str(corpus), "--lang", "en"], \
        [str(reg), "[mytok]", "colour"]


def _case_registry_bad_backend(tmp, corpus, results):
    reg = write(tmp / "reg-backend.toml", '[tokenizers.other-tok]\nbackend = "wordpiece-magic"\n')
    return ["run", "--registry", str(reg), "--tokenizer", "other-tok", "--corpus", str(corpus), "--lang", "en"], \
        [str(reg), "[other-tok]", "backend"]


def _case_missing_registry_file(tmp, corpus, results):
    reg = tmp / "no-such-registry.toml"
    return ["run", "--registry", str(reg), "--tokenizer", "gpt2", "--corpus", str(corpus), "--lang", "en"], \
        [str(reg), "not found"]


def _case_unknown_tokenizer_adhoc(tmp, corpus, results):
    return ["run", "--tokenizer", "byt5", "--tokenizer", "gtp2", "--corpus", str(corpus), "--lang", "en"], \
        ["'gtp2'", "Did you mean 'gpt2'"]


def _case_unknown_tokenizer_in_suite(tmp, corpus, results):
    suite = write(tmp / "unknown-tok.toml", f"""
[suite]
name = "s"
tokenizers = ["gpt2", "lama2"]
metrics = ["fertility"]
[corpora.c]
source = "file"
path = "{corpus.as_posix()}"
lang = "en"
""")
    return ["run", str(suite)], [str(suite), "'lama2'", "Did you mean", "'llama2'"]


def _case_missing_corpus_file(tmp, corpus, results):
    missing = tmp / "no-such-corpus.txt"
    return ["run", "--tokenizer", "gpt2", "--corpus", str(missing), "--lang", "en"], [str(missing), "not found"]


def _case_non_utf8_line(tmp, corpus, results):
    bad = write(tmp / "latin1.txt", "first line\nsecond line\n".encode() + "caf\u00e9 au lait\n".encode("latin-1"))
    return ["run", "--tokenizer", "gpt2", "--corpus", str(bad), "--lang", "fr"], [str(bad), "byte 26", "UTF-8"]


def _case_non_utf8_jsonl(tmp, corpus, results):
    bad = write(tmp / "docs.jsonl", b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    return ["run", "--tokenizer", "gpt2", "--corpus", str(bad), "--lang", "en"], [str(bad), "byte 25"]


def _case_empty_corpus(tmp, corpus, results):
    empty = write(tmp / "empty.txt", "")
    return ["run", "--tokenizer", "gpt2", "--corpus", str(empty), "--lang", "en"], [str(empty), "empty"]


def _case_blank_corpus(tmp, corpus, results):
    blank = write(tmp / "blank.txt", "\n   \n\t\n")
    return ["run", "--tokenizer", "gpt2", "--corpus", str(blank), "--lang", "en"], [str(blank), "empty"]


def _case_jsonl_without_text_field(tmp, corpus, results):
    f = write(tmp / "fields.jsonl", '{"body": "hello"}\n{"body": "world"}\n')
    return ["run", "--tokenizer", "gpt2", "--corpus", str(f), "--lang", "en"], [str(f), "'text'", "body"]


def _case_second_corpus_missing(tmp, corpus, results):
    """A good corpus listed first must not be run (and stored) before the bad one is found."""
    suite = write(tmp / "two-corpora.toml", f"""
[suite]
name = "two"
tokenizers = ["gpt2"]
metrics = ["fertility", "bytes_per_token"]
[corpora.good]
source = "file"
path = "{corpus.as_posix()}"
lang = "en"
[corpora.bad]
source = "file"
path = "missing-second.txt"
lang = "en"
""")
    return ["run", str(suite)], ["missing-second.txt", "not found"]


def _case_second_corpus_unknown_udhr_lang(tmp, corpus, results):
    suite = write(tmp / "udhr-lang.toml", f"""
[suite]
name = "two"
tokenizers = ["byt5"]
metrics = ["fertility"]
[corpora.good]
source = "file"
path = "{corpus.as_posix()}"
lang = "en"
[corpora.udhr]
source = "udhr"
langs = ["en", "zz-notalanguage"]
""")
    return ["run", str(suite)], ["'udhr'", "zz-notalanguage"]


def _case_suite_unknown_field(tmp, corpus, results):
    suite = write(tmp / "extra-field.toml",
                  '[suite]\nname = "s"\ntokenizers = ["gpt2"]\ncolour = "blue"\n'
                  '[corpora.u]\nsource = "udhr"\nlangs = ["en"]\n')
    return ["run", str(suite)], [str(suite), "suite.colour"]


def _case_suite_unknown_metric(tmp, corpus, results):
    suite = write(tmp / "bad-metric.toml",
                  '[suite]\nname = "s"\ntokenizers = ["gpt2"]\nmetrics = ["fertilty"]\n'
                  '[corpora.u]\nsource = "udhr"\nlangs = ["en"]\n')
    return ["run", str(suite)], [str(suite), "'fertilty'", "did you mean 'fertility'"]


def _case_suite_file_missing(tmp, corpus, results):
    return ["run", str(tmp / "nope.toml")], [str(tmp / "nope.toml"), "not found"]


BAD_INPUT_CASES = {name.removeprefix("_case_"): fn for name, fn in list(globals().items())
                   if name.startswith("_case_")}


@pytest.mark.parametrize("case", sorted(BAD_INPUT_CASES))
def test_bad_input_exits_2_and_writes_nothing(case, tmp_path, seeded_results, tiny_corpus, capsys):
    args, must_mention = BAD_INPUT_CASES[case](tmp_path, tiny_corpus, seeded_results)
    before = tree_snapshot(seeded_results)
    assert len(before) == 1  # the pre-existing part file
    rc = main(args + ["--results-dir", str(seeded_results), "-q"])
    out, err = capsys.readouterr()
    assert rc == EXIT_BAD_INPUT, (out, err)
    assert err.startswith("tokbench: error: "), err
    for text in must_mention:
        assert text in err, f"{text!r} not in stderr: {err!r}"
    assert "Traceback" not in err
    # nothing half-written: no new part, no temp file, no leaderboard; the old part byte-identical
    assert tree_snapshot(seeded_results) == before
    assert not list(seeded_results.rglob("*.tmp"))


# ----------------------------------------------------------------------------- failing tokenizers


def _failing_registry(tmp: Path, name: str, builder: str) -> Path:
    return write(tmp / f"{name}.toml", f'[tokenizers.{name}]\nbackend = "byte"\nimpl = "helpers_tokbench:{builder}"\n'
                                       f'description = "raises on purpose"\n')


@pytest.mark.parametrize("name,builder,message", [
    ("failing-encode", "build", FAIL_MESSAGE),
    ("failing-build", "build_broken", "cannot be built"),
])
def test_failing_tokenizer_is_reported_and_others_are_stored(name, builder, message, tmp_path, tiny_corpus,
                                                            results_dir, capsys):
    reg = _failing_registry(tmp_path, name, builder)
    args = ["run", "--registry", str(reg), "--tokenizer", name, "--tokenizer", "gpt2", "--tokenizer", "byt5",
            "--corpus", str(tiny_corpus), "--lang", "en", "--results-dir", str(results_dir), "-q", "--no-report"]
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == EXIT_FAILED
    assert f"tokenizer {name!r} failed on corpus 'tiny'" in err
    assert message in err
    parts = part_files(results_dir)
    assert len(parts) == 2
    df = load_results(results_dir)
    assert set(df["tokenizer"]) == {"gpt2", "byt5"}
    assert not list(results_dir.rglob("*.tmp"))

    # a rerun retries only what failed: the stored tokenizers are skipped, nothing new is written
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == EXIT_FAILED
    assert "2 (tokenizer, corpus) already stored and skipped" in out
    assert part_files(results_dir) == parts


def test_failing_tokenizer_in_a_suite(tmp_path, results_dir, capsys):
    suite = write(tmp_path / "with-failing.toml", """
[suite]
name = "fails"
tokenizers = ["bad-one", "byt5"]
metrics = ["fertility", "bytes_per_token", "roundtrip"]

[tokenizers.bad-one]
backend = "byte"
impl = "helpers_tokbench:build"

[corpora.udhr]
source = "udhr"
langs = ["en", "tr"]
max_docs_per_lang = 2
""")
    rc = main(["run", str(suite), "--results-dir", str(results_dir), "-q"])
    out, err = capsys.readouterr()
    assert rc == EXIT_FAILED
    assert "'bad-one' failed" in err and FAIL_MESSAGE in err
    df = load_results(results_dir)
    assert set(df["tokenizer"]) == {"byt5"}
    assert (results_dir / "leaderboard" / "leaderboard.md").is_file()


@pytest.mark.parametrize("also_listed", [False, True])
def test_failing_reference_tokenizer(also_listed, tmp_path, results_dir, capsys):
    """A reference tokenizer that raises is reported (exit 1, no traceback); the others are
    stored without the reference metrics, so a rerun still has nsl to compute."""
    listed = '"ref-bad", ' if also_listed else ""
    suite = write(tmp_path / "ref-fails.toml", f"""
[suite]
name = "ref-fails"
tokenizers = [{listed}"byt5", "gpt2"]
metrics = ["fertility", "nsl", "bytes_per_token"]
reference_tokenizer = "ref-bad"

[tokenizers.ref-bad]
backend = "byte"
impl = "helpers_tokbench:build"

[corpora.udhr]
source = "udhr"
langs = ["en"]
max_docs_per_lang = 2
""")
    args = ["run", str(suite), "--results-dir", str(results_dir), "-q", "--no-report"]
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == EXIT_FAILED
    assert err.count("'ref-bad' failed on corpus 'udhr'") == 1
    assert FAIL_MESSAGE in err and "Traceback" not in err
    df = load_results(results_dir)
    assert set(df["tokenizer"]) == {"byt5", "gpt2"}
    assert set(df["metric"]) == {"fertility", "bytes_per_token"}
    assert len(part_files(results_dir)) == 2
    # nsl is still missing, so a rerun does the work again (and fails again the same way)
    assert main(args) == EXIT_FAILED
    assert "0 (tokenizer, corpus) already stored and skipped" in capsys.readouterr().out


# ----------------------------------------------------------------------------- suites


def test_validate_core_suite(core_suite_path, capsys):
    assert main(["validate", str(core_suite_path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "OK" in out and "core-v1" in out and "19 tokenizers" in out


def test_validate_suite_by_name(capsys):
    assert main(["validate", "core-v1"]) == EXIT_OK
    assert main(["validate", "core-v2"]) == EXIT_BAD_INPUT
    assert "Did you mean 'core-v1'" in capsys.readouterr().err


@pytest.mark.parametrize("table,body,mentions", [
    ("suite", 'name = "s"\ntokenizers = ["gpt2"]\ntokenisers = ["byt5"]', ["suite.tokenisers", "Extra inputs"]),
    ("corpora", None, ["corpora.u.langz"]),
    ("metric", 'name = "s"\ntokenizers = ["gpt2"]\nmetrics = ["fertility", "byte_per_token"]',
     ["'byte_per_token'", "did you mean 'bytes_per_token'"]),
    ("segmenter", None, ["[segmenters].th", "'charz'"]),
    ("nsl", 'name = "s"\ntokenizers = ["gpt2"]\nmetrics = ["nsl"]', ["nsl", "reference_tokenizer"]),
    ("top-level", None, ["`extra`"]),
])
def test_validate_rejects_bad_suites(table, body, mentions, tmp_path, capsys):
    corpus = '[corpora.u]\nsource = "udhr"\nlangs = ["en"]\n'
    if table == "corpora":
        text = '[suite]\nname = "s"\ntokenizers = ["gpt2"]\n[corpora.u]\nsource = "udhr"\nlangz = ["en"]\n'
    elif table == "segmenter":
        text = '[suite]\nname = "s"\ntokenizers = ["gpt2"]\n' + corpus + '[segmenters]\nth = "charz"\n'
    elif table == "top-level":
        text = '[suite]\nname = "s"\ntokenizers = ["gpt2"]\n' + corpus + '[extra]\nx = 1\n'
    else:
        text = f"[suite]\n{body}\n" + corpus
    suite = write(tmp_path / f"{table}.toml", text)
    assert main(["validate", str(suite)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(suite) in err
    for m in mentions:
        assert m in err, f"{m!r} not in {err!r}"


def test_ls_commands(capsys):
    assert main(["ls", "tokenizers"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "gpt2" in out and "llama2" in out and "byt5" in out
    assert main(["ls", "metrics"]) == EXIT_OK
    out = capsys.readouterr().out
    assert all(name in out for name in METRICS)
    assert main(["ls", "suites"]) == EXIT_OK
    assert "core-v1" in capsys.readouterr().out


# --- suite kinds -------------------------------------------------------------------------------------
def test_suite_kinds_dispatch(tmp_path, capsys):
    from tokbench.suites import SuiteError, load_suite

    assert main(["validate", "perplexity-v1"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "perplexity suite" in out and "smollm2-135m" in out and "12 languages" in out
    assert main(["ls", "suites"]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "INVALID" not in listing
    assert "perplexity-v1        perplexity suite" in listing and "core-v1              tokenizer suite" in listing
    with pytest.raises(SuiteError, match="tokbench run perplexity-v1"):
        load_suite("perplexity-v1")
    bad = tmp_path / "bad-kind.toml"
    bad.write_text('[suite]\nname = "x"\nkind = "perplexitty"\nmodels = ["smollm2-135m"]\n')
    assert main(["validate", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "bad-kind.toml" in err and "kind = 'perplexitty'" in err and "perplexity" in err
    assert main(["run", str(bad), "--results-dir", str(tmp_path / "r")]) == EXIT_BAD_INPUT
    assert not (tmp_path / "r").exists()


def test_model_metrics_are_named_not_computed_by_tokenizer_suites(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nname = "s"\ntokenizers = ["byt5"]\nmetrics = ["bits_per_byte"]\n'
                     '[corpora.u]\nsource = "udhr"\nlangs = ["en"]\n')
    assert main(["validate", str(suite)]) == EXIT_BAD_INPUT
    assert "computed by tokbench perplexity" in capsys.readouterr().err
    assert main(["ls", "metrics"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "bits_per_byte" in out and "char_task_accuracy" in out and "ppl_ratio" in out
