"""Streamed corpus shards (tokbench.stream): same documents as load_file, stable ids and hashes."""
from __future__ import annotations

import gzip
import hashlib
import inspect
import json
import shutil
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from tokbench.corpora import CorpusError, load_file
from tokbench.stream import ReadOptions, Shard, ShardReadError, corpus_hash, plan_shards, read_shard

REPO = Path(__file__).resolve().parents[1]
EN = ReadOptions(lang="en")
BY_FIELD = ReadOptions(lang_field="lang", key_field="id")


def doc_lines() -> list[str]:
    """Every line (blank ones too) of this repository's docs, in file order."""
    return [line for f in sorted((REPO / "docs").glob("*.md")) for line in f.read_text(encoding="utf-8").splitlines()]


def code_lines() -> list[str]:
    return inspect.getsource(textwrap).splitlines()


def records() -> list[dict]:
    """Docs lines tagged "en" and Python source lines tagged "zxx" (no linguistic content), interleaved."""
    en = [t for t in doc_lines() if t.strip()]
    zxx = [t for t in code_lines() if t.strip()]
    out = []
    for i in range(max(len(en), len(zxx))):
        for lang, pool in (("en", en), ("zxx", zxx)):
            if i < len(pool):
                out.append({"id": len(out), "lang": lang, "text": pool[i]})
    return out


def jsonl_bytes(recs: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode("utf-8")


def txt_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def compress(data: bytes, comp: str) -> bytes:
    return gzip.compress(data) if comp == "gz" else zstandard.ZstdCompressor().compress(data)


def read_all(shards: list[Shard], opts: ReadOptions, **kw) -> tuple[list[tuple[str, str, str]], list[str], int]:
    """(every document, the shard hashes, the summed n_docs)."""
    docs, hashes, n = [], [], 0
    for shard in shards:
        reader = read_shard(shard, opts, **kw)
        for batch in reader:
            assert batch
            docs += batch
        hashes.append(reader.sha256)
        n += reader.n_docs
        assert reader.n_bytes == sum(len(t.encode("utf-8")) for _, _, t in docs[len(docs) - reader.n_docs:])
    return docs, hashes, n


def write_parquet(path: Path, recs: list[dict], row_group_size: int = 200) -> None:
    pq.write_table(pa.Table.from_pylist(recs), path, row_group_size=row_group_size)


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict:
    """load_file's (lang, text) documents of the uncompressed txt / jsonl / parquet corpora."""
    d = tmp_path_factory.mktemp("expected")
    (d / "c.txt").write_bytes(txt_bytes(doc_lines()))
    (d / "c.jsonl").write_bytes(jsonl_bytes(records()))
    write_parquet(d / "c.parquet", records())
    out = {"dir": d}
    for ext, kw in (("txt", dict(lang="en")), ("jsonl", dict(lang_field="lang", key_field="id")),
                    ("parquet", dict(lang_field="lang", key_field="id"))):
        c = load_file(d / f"c.{ext}", **kw)
        out[ext] = list(zip(c.lang, c.text))
    return out


@pytest.mark.parametrize("ext,comp", [("txt", None), ("txt", "gz"), ("txt", "zst"), ("jsonl", None),
                                      ("jsonl", "gz"), ("jsonl", "zst"), ("parquet", None)])
def test_shards_read_the_documents_of_load_file(tmp_path, expected, ext, comp):
    src = expected["dir"] / f"c.{ext}"
    opts = EN if ext == "txt" else BY_FIELD
    if comp is None:
        shards = plan_shards(src, shard_bytes=20_000, opts=opts)
        assert len(shards) > 3
        assert [s.name for s in shards] == [src.name] * len(shards)
    else:  # compressed files are one shard each: a folder of three compressed parts
        lines = src.read_bytes().splitlines(keepends=True)
        cut = [0, len(lines) // 3, 2 * len(lines) // 3, len(lines)]
        for i in range(3):
            part = tmp_path / "parts" / f"part-{i}.{ext}.{comp}"
            part.parent.mkdir(exist_ok=True)
            part.write_bytes(compress(b"".join(lines[cut[i]:cut[i + 1]]), comp))
        shards = plan_shards(tmp_path / "parts", shard_bytes=100, opts=opts)
        assert [s.id for s in shards] == [f"part-{i}.{ext}.{comp}" for i in range(3)]
        assert all(s.compression == comp and (s.start, s.end) == (0, -1) for s in shards)
    docs, _, n = read_all(shards, opts, batch_bytes=2_000)
    assert [(lang, text) for lang, _, text in docs] == expected[ext]
    assert n == len(expected[ext])


def test_batches_are_bounded_by_batch_bytes(expected):
    shard, = plan_shards(expected["dir"] / "c.txt", opts=EN)
    reader = read_shard(shard, EN, batch_bytes=3_000)
    sizes = [(len(b), sum(len(t.encode("utf-8")) for _, _, t in b)) for b in reader]
    assert len(sizes) > 10
    assert all(n == 1 or size <= 3_000 for n, size in sizes)
    assert sum(n for n, _ in sizes) == reader.n_docs


def variants() -> dict[str, bytes]:
    lines = doc_lines()[:120] + ["\t", "   "] + code_lines()[:80]
    return {"lf": txt_bytes(lines), "no-final-newline": "\n".join(lines).encode("utf-8"),
            "crlf": ("\r\n".join(lines) + "\r\n").encode("utf-8"), "crlf-no-final": "\r\n".join(lines).encode("utf-8")}


@pytest.mark.parametrize("variant", ["lf", "no-final-newline", "crlf", "crlf-no-final"])
def test_every_document_once_for_any_shard_size(tmp_path, variant):
    data = variants()[variant]
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    want = [line.removesuffix("\r") for line in data.decode("utf-8").split("\n")]
    want = [t for t in want if t.strip()]
    for shard_bytes in (1, 7, 100, 4096, 1 << 20):
        shards = plan_shards(path, shard_bytes=shard_bytes, opts=EN)
        assert shards[0].start == 0 and shards[-1].end == len(data)
        assert all(a.end == b.start for a, b in zip(shards, shards[1:]))
        assert all(s.start == 0 or data[s.start - 1:s.start] == b"\n" for s in shards)
        assert len(shards) > 20 if shard_bytes <= 100 else len(shards) >= 1
        assert len(shards) == 1 or shard_bytes < len(data)
        docs, hashes, n = read_all(shards, EN)
        assert [t for _, _, t in docs] == want and n == len(want)
        assert hashes == [hashlib.sha256(data[s.start:s.end]).hexdigest() for s in shards]
        for _, key, text in docs:  # the default key points at the document's first byte
            name, offset = key.rsplit(":", 1)
            assert name == "c.txt" and data[int(offset):].startswith(text.encode("utf-8"))


@pytest.mark.parametrize("block", [1, 2, 7, 64])
def test_lines_split_across_read_blocks(tmp_path, monkeypatch, block):
    import tokbench.stream

    monkeypatch.setattr(tokbench.stream, "_BLOCK", block)  # a "\r\n" and long lines span several reads
    data = variants()["crlf-no-final"]
    want = [t for t in (line.removesuffix("\r") for line in data.decode("utf-8").split("\n")) if t.strip()]
    (tmp_path / "c.txt").write_bytes(data)
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(data))
    for name, shard_bytes in (("c.txt", 1), ("c.txt", 500), ("c.txt.gz", 500)):
        shards = plan_shards(tmp_path / name, shard_bytes=shard_bytes, opts=EN)
        docs, hashes, _ = read_all(shards, EN)
        assert [t for _, _, t in docs] == want
        assert all(data[int(k.rsplit(":", 1)[1]):].startswith(t.encode("utf-8")) for _, k, t in docs)
        assert hashes == [hashlib.sha256(data[s.start:] if s.end < 0 else data[s.start:s.end]).hexdigest()
                          for s in shards]


def test_jsonl_boundaries(tmp_path):
    data = jsonl_bytes(records()[:300])
    path = tmp_path / "c.jsonl"
    path.write_bytes(data)
    for shard_bytes in (1, 333, 1 << 20):
        shards = plan_shards(path, shard_bytes=shard_bytes, opts=BY_FIELD)
        docs, _, _ = read_all(shards, BY_FIELD)
        assert [(l, k, t) for l, k, t in docs] == [(r["lang"], str(r["id"]), r["text"]) for r in records()[:300]]


def test_parquet_row_groups_are_grouped(tmp_path):
    recs = records()[:700]
    path = tmp_path / "c.parquet"
    write_parquet(path, recs, row_group_size=50)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 14
    for shard_bytes, n_shards in ((1, 14), (3 * meta.row_group(0).total_byte_size, None), (1 << 30, 1)):
        shards = plan_shards(path, shard_bytes=shard_bytes, opts=BY_FIELD)
        assert (shards[0].start, shards[-1].end) == (0, 14)
        assert all(a.end == b.start and a.end > a.start for a, b in zip(shards, shards[1:]))
        assert n_shards is None and 1 < len(shards) < 14 or len(shards) == n_shards
        assert shards[0].id == f"c.parquet#rg0-{shards[0].end}"
        assert shards[0].size == sum(meta.row_group(i).total_byte_size for i in range(shards[0].end))
        docs, _, n = read_all(shards, BY_FIELD)
        assert docs == [(r["lang"], str(r["id"]), r["text"]) for r in recs] and n == len(recs)
    # without key_field: the key is the row index in the file
    by_lang = ReadOptions(lang_field="lang")
    docs, _, _ = read_all(plan_shards(path, shard_bytes=1, opts=by_lang), by_lang)
    assert [k for _, k, _ in docs] == [f"c.parquet:{i}" for i in range(len(recs))]


def test_hashes_are_stable_and_local(tmp_path):
    data = txt_bytes(doc_lines()[:600])
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "c.txt").write_bytes(data)
    plans = [plan_shards(tmp_path / d / "c.txt", shard_bytes=5_000, opts=EN) for d in ("x", "y")]
    hashes = [read_all(p, EN)[1] for p in plans]
    assert [s.id for s in plans[0]] == [s.id for s in plans[1]] and len(plans[0]) >= 3
    assert corpus_hash(plans[0], hashes[0]) == corpus_hash(plans[1], hashes[1])
    # one character changed (same length) in the middle shard: only that shard's hash moves
    mid = plans[0][1]
    i = data.index(b"e", mid.start)
    (tmp_path / "y" / "c.txt").write_bytes(data[:i] + b"a" + data[i + 1:])
    plan = plan_shards(tmp_path / "y" / "c.txt", shard_bytes=5_000, opts=EN)
    changed = read_all(plan, EN)[1]
    assert [s.id for s in plan] == [s.id for s in plans[0]]
    assert [a != b for a, b in zip(hashes[0], changed)] == [s is plan[1] for s in plan]
    assert corpus_hash(plan, changed) != corpus_hash(plans[0], hashes[0])
    # the hash needs a complete iteration
    reader = read_shard(plan[0], EN, batch_bytes=100)
    with pytest.raises(RuntimeError):
        reader.sha256
    next(iter(reader))
    with pytest.raises(RuntimeError):
        reader.sha256
    # a compressed shard hashes its decompressed bytes: .gz and .zst of one file agree
    for comp in ("gz", "zst"):
        (tmp_path / f"c.txt.{comp}").write_bytes(compress(data, comp))
        assert read_all(plan_shards(tmp_path / f"c.txt.{comp}", opts=EN), EN)[1] == [hashlib.sha256(data).hexdigest()]


def test_parquet_hash_changes_with_one_row(tmp_path):
    recs = records()[:300]
    write_parquet(tmp_path / "a.parquet", recs, row_group_size=100)
    recs[150] = dict(recs[150], text=recs[150]["text"].replace("e", "a", 1))
    write_parquet(tmp_path / "b.parquet", recs, row_group_size=100)
    ha = read_all(plan_shards(tmp_path / "a.parquet", shard_bytes=1, opts=BY_FIELD), BY_FIELD)[1]
    hb = read_all(plan_shards(tmp_path / "b.parquet", shard_bytes=1, opts=BY_FIELD), BY_FIELD)[1]
    assert [a != b for a, b in zip(ha, hb)] == [False, True, False]


def test_folder_and_glob_planning(tmp_path, monkeypatch):
    root = tmp_path / "corpus"
    en = [t for t in doc_lines() if t.strip()]
    files = {"b/two.jsonl": jsonl_bytes(records()[:40]), "a.txt": txt_bytes(en[:30]),
             "a/one.jsonl.zst": compress(jsonl_bytes(records()[40:80]), "zst"),
             ".hidden/x.jsonl": jsonl_bytes(records()[:5]),
             "b/.y.jsonl": jsonl_bytes(records()[:5]), "empty.jsonl": b"", "README.md": txt_bytes(en[:3])}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    opts = ReadOptions(lang="en", lang_field="lang")
    shards = plan_shards(root, shard_bytes=1 << 20, opts=opts)
    assert [s.name for s in shards] == ["a.txt", "a/one.jsonl.zst", "b/two.jsonl"]
    assert all(Path(s.path).is_absolute() and Path(s.path) == root / s.name for s in shards)
    assert [(s.fmt, s.compression) for s in shards] == [("text", None), ("json", "zst"), ("json", None)]
    assert shards[1].stat == ((root / "a/one.jsonl.zst").stat().st_size, (root / "a/one.jsonl.zst").stat().st_mtime_ns)
    assert read_all(shards, opts)[2] == 30 + 40 + 40
    assert [s.name for s in plan_shards(str(root / "**" / "*.jsonl*"), opts=opts)] == ["a/one.jsonl.zst", "b/two.jsonl"]
    assert [s.name for s in plan_shards(str(root / "b" / "*.jsonl"), opts=opts)] == ["two.jsonl"]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # a relative glob / path that does not exist here resolves under base_dir
    assert [s.name for s in plan_shards("**/*.jsonl", base_dir=root, opts=opts)] == ["b/two.jsonl"]
    assert [s.name for s in plan_shards("b/two.jsonl", base_dir=root, opts=opts)] == ["two.jsonl"]


def error(tmp_path: Path, name: str, data: bytes | None, opts: ReadOptions = BY_FIELD, **kw) -> str:
    path = tmp_path / name
    if data is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    with pytest.raises(CorpusError) as e:
        plan_shards(path, opts=opts, **kw)
    assert not isinstance(e.value, ShardReadError)
    return str(e.value)


def test_planning_errors_name_the_path(tmp_path):
    good = jsonl_bytes(records()[:20])
    msg = error(tmp_path, "missing.jsonl", None)
    assert "not found" in msg and "missing.jsonl" in msg
    (tmp_path / "empty-dir").mkdir()
    msg = error(tmp_path, "empty-dir", None)
    assert "empty-dir" in msg and ".jsonl" in msg and ".zst" in msg
    msg = error(tmp_path, "c.csv", good)
    assert "c.csv" in msg and "'.csv'" in msg
    msg = error(tmp_path, "glob-none/*.jsonl", None)
    assert "glob-none" in msg and "matches no files" in msg
    (tmp_path / "all-empty").mkdir()
    (tmp_path / "all-empty" / "a.txt").write_bytes(b"")
    (tmp_path / "all-empty" / "b.jsonl").write_bytes(b"")
    msg = error(tmp_path, "all-empty", None, opts=EN)
    assert "all-empty" in msg and "empty" in msg
    msg = error(tmp_path, "array.json", json.dumps(records()[:3], indent=1).encode())
    assert "array.json" in msg and "line 1" in msg and "JSON Lines" in msg
    msg = error(tmp_path, "body.jsonl", jsonl_bytes([{"body": r["text"], "lang": r["lang"]} for r in records()[:3]]))
    assert "body.jsonl" in msg and "line 1" in msg and "'text'" in msg
    msg = error(tmp_path, "nolang.jsonl", jsonl_bytes([{"text": r["text"]} for r in records()[:3]]))
    assert "nolang.jsonl" in msg and "'lang'" in msg
    msg = error(tmp_path, "c.jsonl", good, opts=ReadOptions())
    assert "c.jsonl" in msg and "--lang CODE" in msg
    msg = error(tmp_path, "t.txt", txt_bytes(doc_lines()[:5]), opts=ReadOptions(lang_field="lang"))
    assert "t.txt" in msg and "--lang" in msg
    msg = error(tmp_path, "latin.txt", "Café, naïve résumé".encode("latin-1") + b"\n", opts=EN)
    assert "latin.txt" in msg and "byte 3" in msg and "UTF-8" in msg
    msg = error(tmp_path, "badtag.jsonl", jsonl_bytes([dict(r, lang="english") for r in records()[:3]]))
    assert "badtag.jsonl" in msg and "'english'" in msg
    write_parquet(tmp_path / "p.parquet", records()[:10])
    (tmp_path / "p.parquet.gz").write_bytes(gzip.compress((tmp_path / "p.parquet").read_bytes()))
    msg = error(tmp_path, "p.parquet.gz", None)
    assert "p.parquet.gz" in msg and "parquet" in msg
    msg = error(tmp_path, "p.parquet", None, opts=ReadOptions(lang="en", text_field="body"))
    assert "p.parquet" in msg and "'body'" in msg


def test_invalid_utf8_fails_only_its_shard(tmp_path):
    lines = [t for t in doc_lines() if t.strip()][:300]
    head, tail = txt_bytes(lines[:150]), txt_bytes(lines[151:])
    data = head + ("Café " + lines[150]).encode("latin-1", errors="replace") + b"\n" + tail
    bad = len(head) + 3
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    shards = plan_shards(path, shard_bytes=len(data) // 3 + 1, opts=EN)
    assert len(shards) == 3 and shards[1].start <= bad < shards[1].end
    for i, shard in enumerate(shards):
        if i == 1:
            with pytest.raises(ShardReadError, match=rf"c\.txt: byte {bad}: not valid UTF-8"):
                read_all([shard], EN)
        else:
            assert read_all([shard], EN)[2] > 50


@pytest.mark.parametrize("comp", ["gz", "zst"])
def test_truncated_stream_fails_reading(tmp_path, comp):
    import argparse, dataclasses, typing  # noqa: E401 - their sources: enough text for several zstd blocks

    sources = [line for m in (argparse, inspect, typing, dataclasses) for line in inspect.getsource(m).splitlines()]
    full = compress(txt_bytes(doc_lines() + sources), comp)
    path = tmp_path / f"c.txt.{comp}"
    path.write_bytes(full[: len(full) // 2])
    shard, = plan_shards(path, opts=EN)  # the first line still decompresses
    with pytest.raises(ShardReadError, match="truncated or corrupt") as e:
        read_all([shard], EN)
    assert str(path) in str(e.value) and "bytes" in str(e.value)


def test_bad_records_later_in_the_file(tmp_path):
    recs = records()[:100]
    data = jsonl_bytes(recs[:60]) + jsonl_bytes([dict(recs[60], lang="english")]) + jsonl_bytes(recs[61:])
    offset = len(jsonl_bytes(recs[:60]))
    (tmp_path / "tag.jsonl").write_bytes(data)
    with pytest.raises(ShardReadError, match=rf"tag\.jsonl: byte {offset} field 'lang'.*'english'"):
        read_all(plan_shards(tmp_path / "tag.jsonl", opts=BY_FIELD), BY_FIELD)
    cut = jsonl_bytes(recs[:60]) + jsonl_bytes(recs[60:61])[:-10] + b"\n" + jsonl_bytes(recs[61:])
    (tmp_path / "cut.jsonl").write_bytes(cut)
    with pytest.raises(ShardReadError, match=rf"cut\.jsonl: byte {offset}: not valid JSON at byte \d+"):
        read_all(plan_shards(tmp_path / "cut.jsonl", opts=BY_FIELD), BY_FIELD)
    body = jsonl_bytes(recs[:60]) + jsonl_bytes([{"body": recs[60]["text"], "lang": "en"}]) + jsonl_bytes(recs[61:])
    (tmp_path / "body.jsonl").write_bytes(body)
    with pytest.raises(ShardReadError, match=rf"body\.jsonl: byte {offset}: .*no field 'text'"):
        read_all(plan_shards(tmp_path / "body.jsonl", opts=BY_FIELD), BY_FIELD)


def test_keys_and_language_filter(tmp_path):
    recs = records()[:200]
    data = b"\n" + jsonl_bytes(recs[:100]) + b"\n\n" + jsonl_bytes(recs[100:])  # blank lines are skipped
    path = tmp_path / "c.jsonl"
    path.write_bytes(data)
    docs, _, _ = read_all(plan_shards(path, shard_bytes=3_000, opts=BY_FIELD), BY_FIELD)
    assert [k for _, k, _ in docs] == [str(r["id"]) for r in recs]
    opts = ReadOptions(lang_field="lang", key_field="no-such-field", langs=("zxx",))
    docs, _, n = read_all(plan_shards(path, shard_bytes=3_000, opts=opts), opts)
    want = [r for r in recs if r["lang"] == "zxx"]
    assert [t for _, _, t in docs] == [r["text"] for r in want] and n == len(want) > 10
    for (_, key, text), rec in zip(docs, want):
        name, offset = key.rsplit(":", 1)
        line = data[int(offset):].split(b"\n", 1)[0]
        assert name == "c.jsonl" and json.loads(line) == rec
    # a text that is not a string is read as its str()
    (tmp_path / "n.jsonl").write_bytes(jsonl_bytes([{"id": "art-1", "lang": "en", "text": 1948}]))
    assert read_all(plan_shards(tmp_path / "n.jsonl", opts=BY_FIELD), BY_FIELD)[0] == [("en", "art-1", "1948")]
    # compressed: the offset is in the decompressed stream
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(data))
    docs, _, _ = read_all(plan_shards(tmp_path / "c.jsonl.gz", opts=opts), opts)
    assert [k.replace(".gz:", ":") for _, k, _ in docs] == [f"c.jsonl:{int(k.rsplit(':', 1)[1])}" for _, k, _ in docs]
    assert all(json.loads(data[int(k.rsplit(":", 1)[1]):].split(b"\n", 1)[0])["text"] == t for _, k, t in docs)


def test_a_file_changed_after_planning_is_refused(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(txt_bytes(doc_lines()[:100]))
    shards = plan_shards(path, shard_bytes=1_000, opts=EN)
    path.write_bytes(txt_bytes(doc_lines()[:90]))
    with pytest.raises(ShardReadError, match="plan the shards again"):
        read_all(shards[-1:], EN)
    shutil.rmtree(tmp_path)
    with pytest.raises(ShardReadError, match="c.txt"):
        read_all(shards[:1], EN)


def test_corrupt_parquet_row_group_fails_only_its_shard(tmp_path):
    lines = [t for t in inspect.getsource(inspect).splitlines() if t.strip()][:2500]
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": lines}), path, row_group_size=1000, compression="snappy")
    col = pq.ParquetFile(path).metadata.row_group(1).column(0)
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    data = bytearray(path.read_bytes())
    mid = start + col.total_compressed_size // 2
    data[mid:mid + 64] = bytes(64)
    path.write_bytes(bytes(data))
    shards = plan_shards(path, shard_bytes=1, opts=EN)
    assert [s.id for s in shards] == ["c.parquet#rg0-1", "c.parquet#rg1-2", "c.parquet#rg2-3"]
    assert read_all(shards[:1], EN)[2] == 1000 and read_all(shards[2:], EN)[2] == 500
    with pytest.raises(ShardReadError, match=r"c\.parquet: row group 1: could not be read"):
        read_all(shards[1:2], EN)
