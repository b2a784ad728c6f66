"""What a new user meets in the first hour, through the real CLI in subprocesses: bad input is
exit 2 with one line naming the thing and the fix, checked before any work and writing nothing;
the main command on a fresh clone shows the stored leaderboard and how to recompute."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tokbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokbench.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def one_error_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("tokbench: error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


@pytest.fixture
def corpus(tmp_path) -> Path:
    f = tmp_path / "texts.txt"
    f.write_text("Every one has the right to education.\nHer biri eğitim hakkına sahiptir.\n", encoding="utf-8")
    return f


def test_a_directory_as_corpus(tmp_path):
    """A directory is a corpus of the files in it (docs/scale.md); one without corpus files
    says which extensions count."""
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "notes.csv").write_text("a,b\n")
    out = tmp_path / "out"
    line = one_error_line(tokbench("run", "--tokenizer", "gpt2", "--corpus", str(tmp_path / "shards"), "--lang", "en",
                                   "--results-dir", str(out), "-q"))
    assert "holds no corpus files" in line and ".txt" in line and ".jsonl" in line and ".parquet" in line
    assert not out.exists()


def test_a_file_as_results_dir(tmp_path, corpus):
    f = tmp_path / "results.txt"
    f.write_text("not a folder")
    line = one_error_line(tokbench("run", "--tokenizer", "gpt2", "--corpus", str(corpus), "--lang", "en",
                                   "--results-dir", str(f), "-q"))
    assert "is a file, not a directory" in line and f.read_text() == "not a folder"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_results_dir_that_cannot_be_written(tmp_path, corpus):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        line = one_error_line(tokbench("run", "--tokenizer", "gpt2", "--corpus", str(corpus), "--lang", "en",
                                       "--results-dir", str(ro / "results"), "-q"))
        assert "is not writable" in line
    finally:
        ro.chmod(0o700)


def test_validate_store_on_something_that_is_not_a_store(tmp_path):
    (tmp_path / "empty").mkdir()
    for target, what in ((tmp_path / "empty", "has no parts/ folder"), (tmp_path / "missing", "does not exist")):
        line = one_error_line(tokbench("validate-store", "--results-dir", str(target)))
        assert "is not a results store" in line and what in line


def test_json_that_is_not_a_tokenizer_is_bad_input_for_run_and_check(tmp_path, corpus):
    bad = tmp_path / "tok.json"
    bad.write_text('{"vocab": 1}', encoding="utf-8")
    out = tmp_path / "out"
    line = one_error_line(tokbench("run", "--tokenizer", "gpt2", "--tokenizer", str(bad), "--corpus", str(corpus),
                                   "--lang", "en", "--results-dir", str(out), "-q"))
    assert "is not a Hugging Face tokenizer.json" in line and str(bad) in line
    assert not (out / "parts").exists()  # gpt2 was not run either: the check comes first
    check = tokbench("check", "gpt2", str(bad), "--corpus", str(corpus), "--lang", "en")
    assert check.returncode == 2 and "is not a Hugging Face tokenizer.json" in check.stderr


@pytest.mark.parametrize("tag,hint", [("xx-NOTALANG-42", None), ("tr-TURKEY", "'tr'"), ("TR-tr!", None)])
def test_language_tags_are_bcp47(tag, hint, tmp_path, corpus):
    line = one_error_line(tokbench("run", "--tokenizer", "gpt2", "--corpus", str(corpus), "--lang", tag,
                                   "--results-dir", str(tmp_path / "out"), "-q"))
    assert f"{tag!r} is not a BCP 47 language tag" in line
    if hint:
        assert f"did you mean {hint}?" in line
    suite = tmp_path / "s.toml"
    suite.write_text(f'[suite]\nname = "s"\ntokenizers = ["gpt2"]\n[corpora.c]\nsource = "file"\npath = "{corpus}"\n'
                     f'lang = "{tag}"\n', encoding="utf-8")
    line = one_error_line(tokbench("validate", str(suite)))
    assert str(suite) in line and "corpora.c" in line and "BCP 47" in line


def test_the_main_command_on_a_fresh_clone_shows_the_stored_leaderboard(tmp_path):
    """`tokbench run` in a clone whose results/ already hold core-v1: nothing to compute, and
    it says so, shows the table, and names the two ways to compute."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "suites", clone / "suites")
    shutil.copytree(ROOT / "results" / "parts", clone / "results" / "parts")
    p = tokbench("run", "-q", "--no-report", cwd=clone)
    assert p.returncode == 0, p.stderr
    assert "0 rows in 0 part file(s)" in p.stdout and "19 (tokenizer, corpus) already stored and skipped" in p.stdout
    assert "--force recomputes" in p.stdout
    assert "fertility/in_context" in p.stdout and "gpt2" in p.stdout


def test_a_value_that_cannot_be_computed_is_not_stored_as_done(tmp_path):
    """%Pure with a root list that is not there yet: a warning, exit 1, and the rows are kept for
    the record without a resume key; once the file exists, the same command computes them."""
    from tokbench.store import load_results

    roots = tmp_path / "roots.txt"
    suite = tmp_path / "pure.toml"
    suite.write_text(f"""
[suite]
name = "pure"
tokenizers = ["gpt2"]
metrics = ["fertility", "pure_token_share"]

[metric_params.pure_token_share]
backend = "file:{roots}"

[corpora.udhr]
source = "udhr"
langs = ["en"]
max_docs_per_lang = 2
""", encoding="utf-8")
    out = tmp_path / "out"
    first = tokbench("run", str(suite), "--results-dir", str(out), "-q", "--no-report")
    assert first.returncode == 1, first.stderr
    assert "tokbench: warning: not computed for 1 unit(s) (tokenizer 'gpt2' on corpus 'udhr')" in first.stderr
    assert "root/affix list file not found" in first.stderr and "rerun the same command" in first.stderr
    df = load_results(out)
    pure = df[df["metric"] == "pure_token_share"]
    assert pure["value"].isna().all() and pure["config_hash"].isna().all() and pure["note"].notna().all()
    assert df[df["metric"] == "fertility"]["config_hash"].notna().all()

    roots.write_text("right\nevery\n-s\n-ed\n", encoding="utf-8")
    second = tokbench("run", str(suite), "--results-dir", str(out), "-q", "--no-report")
    assert second.returncode == 0 and "warning" not in second.stderr, second.stderr
    assert "0 (tokenizer, corpus) already stored" in second.stdout
    from tokbench.report import latest

    now = latest(load_results(out))
    value = now[(now["metric"] == "pure_token_share") & (now["variant"] == "types")]["value"]
    assert len(value) == 1 and 0 < float(value.iloc[0]) < 1
    third = tokbench("run", str(suite), "--results-dir", str(out), "-q", "--no-report")
    assert third.returncode == 0 and "1 (tokenizer, corpus) already stored" in third.stdout


def test_version_and_help_import_no_subcommand_module():
    """`tokbench --version` and `--help` build the parser without importing any subcommand
    module or heavy library (they start in a few tens of milliseconds)."""
    code = ("import sys\nfrom tokbench.cli import main\n"
            "for argv in (['--version'], ['--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'pyarrow', 'numpy', 'torch', "
            "'pydantic') or m.startswith(('tokbench.report', 'tokbench.gate', 'tokbench.lm', 'tokbench.chartasks', "
            "'tokbench.transplant', 'tokbench.kinds')))\n"
            "print('HEAVY', heavy)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    assert "reproduce" in p.stdout and "perplexity" in p.stdout  # every subcommand is listed


def test_ad_hoc_runs_are_named_and_the_summary_says_when_it_is_not_like_with_like(tmp_path, corpus):
    from tokbench.store import load_results

    tr = tmp_path / "tr.txt"
    tr.write_text("Herkes eğitim hakkına sahiptir.\n", encoding="utf-8")
    out = tmp_path / "out"
    common = ["--results-dir", str(out), "-q", "--no-report", "--suite-name", "my-eval"]
    assert tokbench("run", "--tokenizer", "gpt2", "--tokenizer", "byt5", "--corpus", str(corpus), "--lang", "en",
                    *common).returncode == 0
    p = tokbench("run", "--tokenizer", "gpt2", "--corpus", str(tr), "--lang", "tr", *common)
    assert p.returncode == 0, p.stderr
    assert set(load_results(out)["suite"]) == {"my-eval"}
    rows = {line.split()[0]: line.split() for line in p.stdout.splitlines() if line.startswith(("gpt2 ", "byt5 "))}
    assert rows["gpt2"][-1] == "2" and rows["byt5"][-1] == "1"  # the scopes column
    assert "note: not like with like: byt5 cover fewer (corpus, language) scopes than the others (2)" in p.stdout


def test_the_summary_flags_lossy_tokenizers_next_to_their_rank(tmp_path):
    """bert-base-uncased lowercases (round trip far below 1) and has UNKs: flagged in the run's
    summary table with the values; byt5 is exact and not flagged."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "suites", clone / "suites")
    shutil.copytree(ROOT / "results" / "parts", clone / "results" / "parts")
    p = tokbench("run", "-q", "--no-report", cwd=clone)
    assert p.returncode == 0, p.stderr
    assert any(line.startswith("bert-base-uncased ⚠ ") for line in p.stdout.splitlines())
    assert any(line.startswith("byt5 ") for line in p.stdout.splitlines())
    assert "⚠ bert-base-uncased: not lossless: unk_rate/micro" in p.stdout and "roundtrip/micro 0.0126" in p.stdout
