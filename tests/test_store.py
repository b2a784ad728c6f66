"""The parquet results store: atomic parts, corrupt parts, old schemas, resume and the tokenization cache."""
from __future__ import annotations

import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_tokbench import make_rows, tree_snapshot

from tokbench.cli import EXIT_OK, main
from tokbench.schema import COLUMNS, RESULT_SCHEMA
from tokbench.store import StoreWarning, completed_keys, load_results, part_files, write_part


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize("make", ["missing", "empty", "empty-parts"])
def test_load_results_without_parts_is_empty_with_schema_columns(make, tmp_path):
    root = tmp_path / "store"
    if make != "missing":
        root.mkdir()
    if make == "empty-parts":
        (root / "parts").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        df = load_results(root)
    assert df.empty
    assert list(df.columns) == list(COLUMNS)
    assert df["value"].dtype == "float64"


def test_write_part_roundtrip(results_dir):
    rows = make_rows(5)
    path = write_part(rows, results_dir, run_id="abc123def456", seq=7)
    assert path.parent == results_dir / "parts"
    assert path.name.endswith("-abc123def456-0007.parquet")
    assert pq.read_schema(path).equals(RESULT_SCHEMA, check_metadata=False)
    assert [p.name for p in (results_dir / "parts").iterdir()] == [path.name]  # no temp file left
    df = load_results(results_dir)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 5
    assert df["variant"].tolist() == [r["variant"] for r in rows]
    assert df["value"].tolist() == [r["value"] for r in rows]
    assert df["n"].tolist() == [r["n"] for r in rows]
    assert df["created_at"].iloc[0] == pd.Timestamp(rows[0]["created_at"])
    assert df["model"].isna().all() and df["ci_low"].isna().all()


def test_write_part_refuses_no_rows(results_dir):
    with pytest.raises(ValueError, match="no rows"):
        write_part([], results_dir, run_id="x", seq=1)
    assert not part_files(results_dir)


def test_write_part_failure_leaves_nothing(results_dir, monkeypatch):
    """A write that dies half way leaves neither a part nor a temp file behind."""
    write_part(make_rows(2), results_dir, run_id="first0000000", seq=1)
    before = tree_snapshot(results_dir)

    def dying_write(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(pq, "write_table", dying_write)
    with pytest.raises(OSError, match="disk full"):
        write_part(make_rows(3), results_dir, run_id="second000000", seq=1)
    assert tree_snapshot(results_dir) == before


def test_write_part_rejects_rows_that_break_the_schema(results_dir):
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError)):
        write_part(make_rows(2, value="not a number"), results_dir, run_id="bad000000000", seq=1)
    assert tree_snapshot(results_dir / "parts") == {}


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty-file"])
def test_corrupt_part_is_skipped_with_a_warning(damage, results_dir):
    good1 = write_part(make_rows(3, tokenizer="good-a"), results_dir, run_id="good00000001", seq=1)
    victim = write_part(make_rows(4, tokenizer="victim"), results_dir, run_id="victim000000", seq=1)
    good2 = write_part(make_rows(2, tokenizer="good-b"), results_dir, run_id="good00000002", seq=1)
    data = victim.read_bytes()
    victim.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"this is not parquet" * 10,
                        "empty-file": b""}[damage])
    with pytest.warns(StoreWarning) as record:
        df = load_results(results_dir)
    messages = [str(w.message) for w in record if issubclass(w.category, StoreWarning)]
    assert len(messages) == 1
    assert str(victim) in messages[0]
    assert good1.name not in messages[0] and good2.name not in messages[0]
    assert sorted(set(df["tokenizer"])) == ["good-a", "good-b"]
    assert len(df) == 5
    # quiet mode skips it too, without warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_results(results_dir, warn=False)) == 5


def test_part_of_an_older_schema_is_upgraded(results_dir):
    """A part without the newer columns still loads; the missing columns read as null."""
    old_cols = ["run_id", "suite", "suite_version", "tokenizer", "tokenizer_hash", "corpus", "corpus_hash",
                "lang", "metric", "variant", "value", "n"]
    rows = make_rows(3)
    old = pa.table({c: [r[c] for r in rows] for c in old_cols})
    (results_dir / "parts").mkdir(parents=True)
    pq.write_table(old, results_dir / "parts" / "20200101T000000-old000000000-0001.parquet")
    write_part(make_rows(2, tokenizer="new", run_id="new000000000"), results_dir, run_id="new000000000", seq=1)
    df = load_results(results_dir)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 5
    old_rows = df[df["run_id"] == rows[0]["run_id"]]
    assert old_rows["value"].tolist() == [r["value"] for r in rows]
    assert old_rows["tokbench_version"].isna().all()


def test_completed_keys():
    assert completed_keys(load_results("/nonexistent/store")) == set()
    df = pd.DataFrame(make_rows(3) + make_rows(2, metric="pcw", metric_version=2))
    keys = completed_keys(df)
    assert keys == {("store-test", "1", "gpt2", "t" * 64, "c" * 64, "fertility", "1", "f" * 16),
                    ("store-test", "1", "gpt2", "t" * 64, "c" * 64, "pcw", "2", "f" * 16)}


# ----------------------------------------------------------------------------- resume


def _adhoc(corpus, results, *extra):
    return ["run", "--tokenizer", "gpt2", "--tokenizer", "byt5", "--corpus", str(corpus), "--lang", "en",
            "--results-dir", str(results), "-q", "--no-report", *extra]


def test_rerun_skips_everything_and_force_writes_again(tiny_corpus, results_dir, capsys):
    assert main(_adhoc(tiny_corpus, results_dir)) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 (tokenizer, corpus) already stored and skipped" in out
    first = tree_snapshot(results_dir)
    assert len(part_files(results_dir)) == 2

    # same suite, same tokenizers, same corpus: nothing to do
    assert main(_adhoc(tiny_corpus, results_dir)) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 rows in 0 part file(s)" in out
    assert "2 (tokenizer, corpus) already stored and skipped" in out
    assert tree_snapshot(results_dir) == first

    # --force recomputes and stores a new run
    assert main(_adhoc(tiny_corpus, results_dir, "--force")) == EXIT_OK
    out = capsys.readouterr().out
    assert "in 2 part file(s)" in out and "0 (tokenizer, corpus) already stored" in out
    assert len(part_files(results_dir)) == 4
    df = load_results(results_dir, all_rows=True)  # the history: both runs
    assert df["run_id"].nunique() == 2
    current = load_results(results_dir)  # one row per result: the newest run's
    assert len(current) * 2 == len(df) and set(current["run_id"]) == {df.sort_values("created_at")["run_id"].iloc[-1]}
    for name in first:  # the earlier parts are untouched
        assert (results_dir / name).read_bytes() == first[name]
    # both runs computed the same numbers
    a, b = (g.sort_values(["tokenizer", "metric", "variant"])["value"].to_numpy()
            for _, g in df.groupby("run_id"))
    assert ((a == b) | (pd.isna(a) & pd.isna(b))).all()


def test_suite_rerun_resumes(tmp_path, results_dir, capsys):
    suite = tmp_path / "resume.toml"
    suite.write_text("""
[suite]
name = "resume"
tokenizers = ["byt5", "gpt2"]
reference_tokenizer = "gpt2"

[corpora.udhr]
source = "udhr"
langs = ["en", "tr"]
max_docs_per_lang = 2
""", encoding="utf-8")
    args = ["run", str(suite), "--results-dir", str(results_dir), "-q", "--no-report"]
    assert main(args) == EXIT_OK
    first = tree_snapshot(results_dir)
    assert len(first) == 3 and sum(k.startswith("parts/") for k in first) == 2  # + the corpus's text facts
    capsys.readouterr()
    assert main(args) == EXIT_OK
    assert "0 rows in 0 part file(s)" in capsys.readouterr().out
    assert tree_snapshot(results_dir) == first
    # a new suite version is new work
    suite.write_text(suite.read_text(encoding="utf-8").replace('name = "resume"', 'name = "resume"\nversion = "2"'),
                     encoding="utf-8")
    assert main(args) == EXIT_OK
    assert len(part_files(results_dir)) == 4
    assert set(load_results(results_dir, all_rows=True)["suite_version"]) == {"1", "2"}
    assert set(load_results(results_dir)["suite_version"]) == {"2"}  # the current rows


def test_rerun_with_a_changed_corpus_is_not_skipped(tiny_corpus, results_dir, capsys):
    assert main(_adhoc(tiny_corpus, results_dir)) == EXIT_OK
    tiny_corpus.write_text(tiny_corpus.read_text(encoding="utf-8") + "One more line.\n", encoding="utf-8")
    capsys.readouterr()
    assert main(_adhoc(tiny_corpus, results_dir)) == EXIT_OK
    assert "0 (tokenizer, corpus) already stored and skipped" in capsys.readouterr().out
    df = load_results(results_dir, all_rows=True)
    assert df["corpus_hash"].nunique() == 2
    assert len(part_files(results_dir)) == 4
    assert load_results(results_dir)["corpus_hash"].nunique() == 1  # the current rows: the changed corpus


def test_cached_shard_statistics_give_identical_values(tmp_path, monkeypatch, capsys, fresh_cache):
    """--no-cache, a first cached run (writes the shard cache) and a run served from it agree exactly."""
    corpus = tmp_path / "cachetest.txt"
    corpus.write_text("All human beings are born free.\n"
                      "Tüm insanlar özgür doğar. Все люди рождаются свободными.\n", encoding="utf-8")
    shards = fresh_cache / "shards"

    def run(results, *extra):
        args = ["run", "--tokenizer", "gpt2", "--corpus", str(corpus), "--lang", "en",
                "--results-dir", str(results), "-q", "--no-report", *extra]
        assert main(args) == EXIT_OK, capsys.readouterr().err
        df = load_results(results)
        return df.set_index(["metric", "variant"]).sort_index()[["value", "n"]]

    no_cache = run(tmp_path / "r-nocache", "--no-cache")
    assert not list(shards.glob("??/*.npz"))  # --no-cache neither reads nor writes it
    first = run(tmp_path / "r-first")
    assert len(list(shards.glob("??/*.npz"))) == 1

    def must_not_tokenize(*a, **k):
        raise AssertionError("the cached run tokenized again")

    import tokbench.kinds.shardrun

    monkeypatch.setattr(tokbench.kinds.shardrun, "run_shard", must_not_tokenize)
    cached = run(tmp_path / "r-cached")
    pd.testing.assert_frame_equal(no_cache, first)
    pd.testing.assert_frame_equal(no_cache, cached)
    assert len(no_cache) > 20


def test_damaged_cache_entry_is_recomputed(tmp_path, fresh_cache):
    corpus = tmp_path / "damaged.txt"
    corpus.write_text("Hello world.\nAll human beings are born free.\n", encoding="utf-8")
    args = ["run", "--tokenizer", "byt5", "--corpus", str(corpus), "--lang", "en", "-q", "--no-report"]
    assert main(args + ["--results-dir", str(tmp_path / "a")]) == EXIT_OK
    [entry] = (fresh_cache / "shards").glob("??/*.npz")
    entry.write_bytes(b"not an npz file")
    assert main(args + ["--results-dir", str(tmp_path / "b")]) == EXIT_OK
    assert main(args + ["--results-dir", str(tmp_path / "c"), "--no-cache"]) == EXIT_OK
    a, b, c = (load_results(tmp_path / d).set_index(["metric", "variant"]).sort_index()["value"] for d in "abc")
    pd.testing.assert_series_equal(a, b)
    pd.testing.assert_series_equal(a, c)
    assert entry.read_bytes()[:2] == b"PK"  # rewritten as a real npz (zip) entry


def test_validate_store_reports_and_quarantines_a_corrupt_part(tmp_path, capsys):
    from helpers_tokbench import make_rows

    from tokbench import cli
    from tokbench.store import load_results, part_files, write_part

    root = tmp_path / "store"
    good = write_part(make_rows(3), root, run_id="good00000000", seq=1)
    bad = write_part(make_rows(3), root, run_id="bad000000000", seq=2)
    bad.write_bytes(bad.read_bytes()[:40])  # truncated mid-file
    assert cli.main(["validate-store", "--results-dir", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"BAD {bad}" in out and "1 of 2 part file(s) OK" in out
    assert cli.main(["validate-store", "--results-dir", str(root), "--quarantine"]) == 0
    assert part_files(root) == [good]
    assert (root / "quarantine" / bad.name).exists()
    assert len(load_results(root)) == 3


def test_load_results_gives_one_current_row_per_result(tmp_path):
    """Two runs (concurrent or not) that store the same results: load_results returns the newer
    row of each, all_rows=True the history; rows of other results are untouched."""
    import datetime as dt

    from helpers_tokbench import make_rows

    later = dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc)
    write_part(make_rows(3), tmp_path, run_id="runa00000000", seq=1)
    write_part(make_rows(2, run_id="runb00000000", value=9.0, created_at=later), tmp_path, run_id="runb00000000", seq=1)
    history = load_results(tmp_path, all_rows=True)
    current = load_results(tmp_path)
    assert len(history) == 5 and len(current) == 3
    got = current.set_index("variant")
    assert got.loc["v0", "value"] == 9.0 and got.loc["v1", "value"] == 9.0 and got.loc["v2", "value"] == 2.5
    assert set(got.loc[["v0", "v1"], "run_id"]) == {"runb00000000"}


def test_validate_store_counts_superseded_rows(tmp_path, capsys):
    import datetime as dt

    from helpers_tokbench import make_rows

    from tokbench.cli import main

    write_part(make_rows(3), tmp_path, run_id="runa00000000", seq=1)
    write_part(make_rows(2, created_at=dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)), tmp_path,
               run_id="runb00000000", seq=1)
    assert main(["validate-store", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 part file(s) OK" in out and "2 of 5 row(s) superseded by a newer row" in out
