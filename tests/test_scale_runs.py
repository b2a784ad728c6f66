"""Corpus-scale runs end to end: file corpora stream in shards, a killed run resumes from the
shards it finished, an unreadable shard fails its (tokenizer, corpus) without storing anything
half-made, and a rerun over unchanged files knows what is stored without reading them."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tokbench.cli import main
from tokbench.corpora import load_udhr
from tokbench.store import load_results

KEY = ["tokenizer", "lang", "metric", "variant"]


def _udhr_dir(root: Path, langs=("en", "tr", "de-1996", "fr"), files: int = 3) -> Path:
    """UDHR paragraphs as jsonl files (language and alignment key fields), split over ``files``."""
    corpus = load_udhr(langs=list(langs), unit="paragraph")
    root.mkdir(parents=True, exist_ok=True)
    docs = list(zip(corpus.lang, corpus.key, corpus.text))
    for i in range(files):
        with open(root / f"part-{i}.jsonl", "w", encoding="utf-8") as fh:
            for lang, key, text in docs[i::files]:
                fh.write(json.dumps({"lang": lang, "id": key, "text": text}, ensure_ascii=False) + "\n")
    return root


def _suite(path: Path, corpus_dir: Path, *, extra: str = "") -> Path:
    path.write_text(f"""[suite]
name = "scale-test"
version = "1"
tokenizers = ["gpt2", "byt5"]
reference_tokenizer = "gpt2"
metrics = ["fertility", "pcw", "bytes_per_token", "nsl", "vocab_utilization", "renyi_efficiency",
           "roundtrip", "premium", "parity"]

[corpora.docs]
source = "file"
path = "{corpus_dir}"
lang_field = "lang"
key_field = "id"
{extra}
""")
    return path


def _rows(results: Path):
    df = load_results(results)
    return df.sort_values(KEY).reset_index(drop=True)


def test_file_corpus_equals_the_same_documents_in_memory(tmp_path, fresh_cache):
    """Streamed in many shards (3 files, 8 kB shards) or loaded whole (max_docs_per_lang makes
    it an in-memory corpus): the same values, counts and languages."""
    docs = _udhr_dir(tmp_path / "docs")
    streamed = _suite(tmp_path / "a.toml", docs)
    whole = _suite(tmp_path / "b.toml", docs / "*.jsonl", extra="max_docs_per_lang = 100000")
    assert main(["run", str(streamed), "--results-dir", str(tmp_path / "ra"), "-q", "--no-report",
                 "--shard-mb", "0.008", "--executor", "serial"]) == 0
    assert main(["run", str(whole), "--results-dir", str(tmp_path / "rb"), "-q", "--no-report"]) == 0
    a, b = _rows(tmp_path / "ra"), _rows(tmp_path / "rb")
    assert len(a) == len(b) > 100
    assert (a[KEY].values == b[KEY].values).all() and (a["n"].values == b["n"].values).all()
    np.testing.assert_allclose(a["value"].to_numpy(float), b["value"].to_numpy(float), rtol=1e-12, equal_nan=True)
    assert a["corpus_hash"].nunique() == 1
    prem = a[(a.metric == "premium") & (a.lang == "tr") & (a.variant == "corpus")]
    assert (prem["n"] > 20).all()  # aligned through key_field across files and shards


def test_killed_run_resumes_from_finished_shards(tmp_path, fresh_cache):
    docs = _udhr_dir(tmp_path / "docs", langs=("en", "tr", "de-1996", "fr", "es", "ru"))
    suite = _suite(tmp_path / "s.toml", docs)
    args = [sys.executable, "-m", "tokbench.cli", "run", str(suite), "-q", "--no-report", "--shard-mb", "0.004",
            "--executor", "serial"]
    proc = subprocess.Popen(args + ["--results-dir", str(tmp_path / "killed")], env=dict(os.environ))
    shards = fresh_cache / "shards"
    deadline = time.time() + 120
    while len(list(shards.glob("??/*.npz"))) < 4:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p: p.stat().st_mtime_ns for p in shards.glob("??/*.npz")}
    # rerun: finishes from the shards it has (they are not recomputed) ...
    assert subprocess.run(args + ["--results-dir", str(tmp_path / "killed")], env=dict(os.environ)).returncode == 0
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    # ... and its rows equal an uninterrupted run's (another store, no shard cache)
    assert subprocess.run(args + ["--results-dir", str(tmp_path / "clean"), "--no-cache"],
                          env=dict(os.environ)).returncode == 0
    a, b = _rows(tmp_path / "killed"), _rows(tmp_path / "clean")
    assert (a[KEY].values == b[KEY].values).all()
    assert np.array_equal(a["value"].to_numpy(float), b["value"].to_numpy(float), equal_nan=True)
    assert (a["corpus_hash"].values == b["corpus_hash"].values).all()


def test_unreadable_shard_fails_its_unit_and_keeps_the_rest(tmp_path, fresh_cache, capsys):
    docs = _udhr_dir(tmp_path / "docs")
    bad = docs / "part-1.jsonl"
    good_bytes = bad.read_bytes()
    cut = good_bytes.index(b"\n", len(good_bytes) // 2) + 1
    head = b'{"lang": "en", "id": "x", "text": "caf'
    bad.write_bytes(good_bytes[:cut] + head + b'\xe9"}\n' + good_bytes[cut:])
    suite = _suite(tmp_path / "s.toml", docs)
    store = tmp_path / "r"
    rc = main(["run", str(suite), "--results-dir", str(store), "--no-report", "--shard-mb", "0.01",
               "--executor", "serial", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{bad}: byte {cut + len(head)}: not valid UTF-8" in err, err
    assert "tokenizer 'gpt2' failed on corpus 'docs'" in err
    assert not (store / "parts").exists() or not list((store / "parts").glob("*.parquet"))
    cached = set((fresh_cache / "shards").glob("??/*.npz"))
    assert cached  # the readable shards are kept
    # fixing the file recomputes only that file's shards
    bad.write_bytes(good_bytes)
    calls = []
    import tokbench.kinds.shardrun as shardrun

    real = shardrun.run_shard

    def counting(task):
        calls.append(task.shard.name)
        return real(task)

    shardrun.run_shard = counting
    try:
        assert main(["run", str(suite), "--results-dir", str(store), "--no-report", "--shard-mb", "0.01",
                     "--executor", "serial", "-q"]) == 0
    finally:
        shardrun.run_shard = real
    assert calls and set(calls) == {"part-1.jsonl"}
    assert len(_rows(store)) > 100


def test_rerun_over_unchanged_files_reads_nothing(tmp_path, fresh_cache, monkeypatch):
    docs = _udhr_dir(tmp_path / "docs")
    suite = _suite(tmp_path / "s.toml", docs)
    store = tmp_path / "r"
    assert main(["run", str(suite), "--results-dir", str(store), "-q", "--no-report", "--shard-mb", "0.01"]) == 0
    n = len(_rows(store))
    import tokbench.stream as stream

    def no_reading(*a, **k):
        raise AssertionError("a rerun read a shard")

    real = stream.read_shard
    monkeypatch.setattr(stream, "read_shard", no_reading)
    assert main(["run", str(suite), "--results-dir", str(store), "-q", "--no-report", "--shard-mb", "0.01"]) == 0
    assert len(_rows(store)) == n
    # a touched file is read again (its shards' hashes are unknown until then), the rest is not
    read = []
    monkeypatch.setattr(stream, "read_shard", lambda shard, *a, **k: read.append(shard.name) or real(shard, *a, **k))
    os.utime(docs / "part-0.jsonl", ns=(time.time_ns(), time.time_ns()))
    assert main(["run", str(suite), "--results-dir", str(store), "-q", "--no-report", "--shard-mb", "0.01",
                 "--executor", "serial"]) == 0
    assert read and set(read) == {"part-0.jsonl"}


@pytest.mark.parametrize("content, needle", [
    ("not json\n", "not valid JSON"),
    ('{"lang": "en", "body": "x"}\n', "'text'"),
])
def test_bad_first_record_is_exit_2_before_any_work(tmp_path, fresh_cache, capsys, content, needle):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"lang": "en", "id": "1", "text": "All human beings are born free."}\n')
    (docs / "b.jsonl").write_text(content)
    suite = _suite(tmp_path / "s.toml", docs)
    rc = main(["run", str(suite), "--results-dir", str(tmp_path / "r"), "-q", "--no-report"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "b.jsonl" in err and needle in err, err
    assert not (tmp_path / "r" / "parts").exists()


def test_hub_dataset_streams_in_shards_like_files(tmp_path, fresh_cache):
    """``source = "hub"`` with ``streaming = true``: one shard per data file of the streamed
    ``datasets`` IterableDataset (here the generic "json" builder on local files, the same code
    path as a hub id), the same rows as the file corpus of those files, and a rerun that knows
    the corpus without reading it."""
    docs = _udhr_dir(tmp_path / "docs")
    files = sorted(str(p) for p in docs.glob("*.jsonl"))
    hub = tmp_path / "hub.toml"
    hub.write_text(_suite(tmp_path / "tmp.toml", docs).read_text().split("[corpora.docs]")[0] + f"""
[corpora.docs]
source = "hub"
hub_id = "json"
split = "train"
streaming = true
data_files = {json.dumps(files)}
lang_field = "lang"
key_field = "id"
""")
    assert main(["run", str(hub), "--results-dir", str(tmp_path / "rh"), "-q", "--no-report"]) == 0
    assert main(["run", str(_suite(tmp_path / "f.toml", docs)), "--results-dir", str(tmp_path / "rf"), "-q",
                 "--no-report", "--executor", "serial"]) == 0
    a, b = _rows(tmp_path / "rh"), _rows(tmp_path / "rf")
    assert len(a) == len(b) > 100 and (a[KEY].values == b[KEY].values).all()
    assert (a["n"].values == b["n"].values).all()
    np.testing.assert_allclose(a["value"].to_numpy(float), b["value"].to_numpy(float), rtol=1e-12, equal_nan=True)
    from tokbench.corpora import CorpusSpec
    from tokbench.hubstream import plan_hub_shards

    spec = CorpusSpec(source="hub", hub_id="json", split="train", streaming=True, data_files=files, lang_field="lang")
    assert len(plan_hub_shards(spec)) == 3
    import tokbench.hubstream as hs

    real = hs._HubReader.__iter__
    hs._HubReader.__iter__ = lambda self: (_ for _ in ()).throw(AssertionError("a rerun read the dataset"))
    try:
        assert main(["run", str(hub), "--results-dir", str(tmp_path / "rh"), "-q", "--no-report"]) == 0
    finally:
        hs._HubReader.__iter__ = real
    assert len(_rows(tmp_path / "rh")) == len(a)
