"""Corpus Unicode normalisation (issue 11 part 2): the per-corpus ``normalize`` form, the raw
text's facts stored with the corpus provenance and shown in the leaderboard, the UDHR default
(NFC) with the Vietnamese example, and the same behaviour on streamed (sharded) file corpora."""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from tokbench.cli import main
from tokbench.corpora import CorpusSpec, load_corpus, load_udhr
from tokbench.store import load_corpus_facts, load_results
from tokbench.textnorm import FIELDS, TextFacts, changed_chars

DECOMPOSED = "Vie\u0323\u0302t Nam"  # e + dot below + circumflex: NFC makes one code point of three


def test_changed_chars_counts_the_code_points_nfc_rewrites():
    assert changed_chars(DECOMPOSED) == 3
    assert changed_chars(unicodedata.normalize("NFC", DECOMPOSED)) == 0
    assert changed_chars("A\u030a and B") == 2  # A + ring above -> Å
    assert changed_chars("\ufb01ne", "NFC") == 0 and changed_chars("\ufb01ne", "NFKC") == 1  # the fi ligature
    assert changed_chars("\u0915\u093c", "NFC") == 0  # ka + nukta is already NFC
    assert changed_chars("\u0958", "NFC") == 1  # precomposed qa is a composition exclusion: NFC decomposes it


def test_text_facts_add_up_over_any_split():
    corpus = load_udhr(langs=["vi", "en", "hi"], unit="paragraph")
    whole = TextFacts.of(corpus.lang, corpus.text)
    parts = [TextFacts.of(corpus.lang[i::3], corpus.text[i::3]) for i in range(3)]
    summed = parts[0].merge(parts[1]).merge(parts[2])
    assert summed.counts == whole.counts
    # independently: documents that NFC changes, and characters
    for lang in ("vi", "en", "hi"):
        texts = [t for l, t in zip(corpus.lang, corpus.text) if l == lang]
        c = whole.counts[lang]
        assert c[0] == len(texts) and c[1] == sum(map(len, texts))
        assert c[2] == sum(unicodedata.normalize("NFC", t) != t for t in texts)
    assert whole.counts["en"][2:4] == [0, 0]
    assert whole.counts["vi"][2] > 0.9 * whole.counts["vi"][0]  # the UDHR Vietnamese text is decomposed


def test_udhr_is_nfc_by_default_and_none_keeps_the_raw_text():
    nfc = load_corpus("u", CorpusSpec(source="udhr", langs=["en", "vi"]))
    raw = load_corpus("u", CorpusSpec(source="udhr", langs=["en", "vi"], normalize="none"))
    assert all(unicodedata.is_normalized("NFC", t) for t in nfc.text)
    assert raw.text == load_udhr(langs=["en", "vi"]).text
    assert nfc.text == [unicodedata.normalize("NFC", t) for t in raw.text]
    assert nfc.hash != raw.hash  # the hash is that of the text that is tokenized
    assert nfc.facts.counts == raw.facts.counts  # facts describe the raw text either way
    assert (nfc.facts.form, raw.facts.form) == ("NFC", "none")
    en_nfc = load_corpus("u", CorpusSpec(source="udhr", langs=["en"]))
    en_raw = load_corpus("u", CorpusSpec(source="udhr", langs=["en"], normalize="none"))
    assert en_nfc.hash == en_raw.hash  # NFC changes nothing in English: same text, same rows
    nfkc = load_corpus("u", CorpusSpec(source="udhr", langs=["vi"], normalize="NFKC"))
    assert nfkc.text == [unicodedata.normalize("NFKC", t) for t in load_udhr(langs=["vi"]).text]


def test_other_sources_keep_their_text_by_default(tmp_path):
    f = tmp_path / "vi.txt"
    f.write_text(DECOMPOSED + "\n", encoding="utf-8")
    spec = CorpusSpec(source="file", path=str(f), lang="vi")
    assert spec.normalize_form == "none"
    assert load_corpus("c", spec).text == [DECOMPOSED]
    assert load_corpus("c", spec.model_copy(update={"normalize": "NFC"})).text == ["Việt Nam"]


def _suite(path: Path, corpora: str, tokenizers=("cl100k_base",)) -> Path:
    path.write_text(f"""[suite]
name = "norm-test"
version = "1"
tokenizers = {json.dumps(list(tokenizers))}
metrics = ["premium", "fertility", "bytes_per_token"]
{corpora}
""", encoding="utf-8")
    return path


def _cl100k_tokens(texts: list[str], monkeypatch) -> int:
    """Tokens of tiktoken's own cl100k_base Encoding (not tokbench's adapter) on ``texts``."""
    import tiktoken

    from tokbench.assets import cache_dir
    from tokbench.registry import get_tokenizer

    get_tokenizer("cl100k_base")  # places the pinned ranks file where tiktoken's cache looks
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir() / "tiktoken"))
    enc = tiktoken.get_encoding("cl100k_base")
    return sum(len(enc.encode_ordinary(t)) for t in texts)


def test_vietnamese_premium_with_and_without_nfc(tmp_path, capsys, monkeypatch):
    """The worked example of docs/suites.md: cl100k_base's Vietnamese premium on the UDHR is 4.39
    on the raw (decomposed) text and 2.74 on its NFC form (recomputed here with tiktoken's own
    encoder); the facts stored with each corpus say how much of the raw text NFC changes."""
    suite = _suite(tmp_path / "s.toml", """
[corpora.udhr]
source = "udhr"
langs = ["en", "vi"]
[corpora.raw]
source = "udhr"
langs = ["en", "vi"]
normalize = "none"
""")
    res = tmp_path / "res"
    assert main(["run", str(suite), "--results", str(res), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "corpus 'raw': normalize none; NFC would change" in out and "normalize = \"NFC\"" in out
    assert "corpus 'udhr'" not in out  # normalised: nothing to warn about
    df = load_results(res)
    prem = df[(df.metric == "premium") & (df.variant == "corpus") & (df.lang == "vi")].set_index("corpus")["value"]
    raw = load_udhr(langs=["en", "vi"])
    en = [t for l, t in zip(raw.lang, raw.text) if l == "en"]
    vi = [t for l, t in zip(raw.lang, raw.text) if l == "vi"]
    assert prem["raw"] == pytest.approx(_cl100k_tokens(vi, monkeypatch) / _cl100k_tokens(en, monkeypatch), rel=1e-12)
    vi_nfc = [unicodedata.normalize("NFC", t) for t in vi]
    assert prem["udhr"] == pytest.approx(_cl100k_tokens(vi_nfc, monkeypatch) / _cl100k_tokens(en, monkeypatch), rel=1e-12)
    assert round(prem["raw"], 2) == 4.39 and round(prem["udhr"], 2) == 2.74

    facts = load_corpus_facts(res)
    assert set(facts["corpus"]) == {"udhr", "raw"}
    assert set(facts["corpus_hash"]) == set(df["corpus_hash"])
    by = facts.set_index(["corpus", "lang"])
    for corpus, form in (("udhr", "NFC"), ("raw", "none")):
        assert by.loc[(corpus, "vi"), "normalize"] == form
        assert by.loc[(corpus, "vi"), "nfc_docs"] == sum(unicodedata.normalize("NFC", t) != t for t in vi) == 31
        assert by.loc[(corpus, "vi"), "nfc_chars"] == sum(changed_chars(t) for t in vi)
        assert by.loc[(corpus, "en"), "nfc_chars"] == 0
        star = by.loc[(corpus, "*")]
        assert all(star[f] == by.loc[(corpus, "vi"), f] + by.loc[(corpus, "en"), f] for f in FIELDS)
    board = (res / "leaderboard" / "leaderboard.md").read_text(encoding="utf-8")
    assert "- corpus text: raw: normalize none; NFC would change" in board
    assert "udhr: normalize NFC; NFC would change" in board
    # a rerun writes nothing new, facts included
    before = sorted(p.name for p in (res / "corpora").iterdir())
    assert main(["run", str(suite), "--results", str(res), "--quiet"]) == 0
    assert sorted(p.name for p in (res / "corpora").iterdir()) == before


def test_a_streamed_corpus_is_normalised_shard_by_shard(tmp_path, capsys):
    """A file corpus cut into several shards: NFC applied as the shards are read gives the rows of
    the same documents normalised in memory; its facts are the sum of its shards'; its hash
    names the form (and differs from the raw run's)."""
    raw = load_udhr(langs=["en", "vi"], unit="paragraph")
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        with open(folder / f"p{i}.jsonl", "w", encoding="utf-8") as fh:
            for lang, key, text in list(zip(raw.lang, raw.key, raw.text))[i::3]:
                fh.write(json.dumps({"lang": lang, "id": key, "text": text}, ensure_ascii=False) + "\n")
    body = f"""
[corpora.docs]
source = "file"
path = "{folder}"
lang_field = "lang"
key_field = "id"
normalize = "NFC"
"""
    sharded = tmp_path / "sharded"
    suite = _suite(tmp_path / "s.toml", body, tokenizers=("cl100k_base", "gpt2"))
    assert main(["run", str(suite), "--results", str(sharded), "--quiet", "--shard-mb", "0.01"]) == 0
    # the same documents, normalised beforehand, read whole (max_docs_per_lang loads into memory)
    pre = tmp_path / "pre"
    pre.mkdir()
    with open(pre / "all.jsonl", "w", encoding="utf-8") as fh:
        for i in range(3):
            for line in (folder / f"p{i}.jsonl").read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                rec["text"] = unicodedata.normalize("NFC", rec["text"])
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    memory = tmp_path / "memory"
    suite2 = _suite(tmp_path / "s2.toml", body.replace(str(folder), str(pre / "all.jsonl")).replace(
        'normalize = "NFC"', 'normalize = "none"\nmax_docs_per_lang = 1000'), tokenizers=("cl100k_base", "gpt2"))
    assert main(["run", str(suite2), "--results", str(memory), "--quiet"]) == 0
    key = ["tokenizer", "lang", "metric", "variant"]
    a = load_results(sharded).sort_values(key).reset_index(drop=True)
    b = load_results(memory).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key + ["value", "n"]], b[key + ["value", "n"]])
    fa = load_corpus_facts(sharded)
    assert list(fa["normalize"].unique()) == ["NFC"]
    whole = TextFacts.of(raw.lang, raw.text)
    for lang in ("en", "vi"):
        row = fa[fa["lang"] == lang].iloc[0]
        assert [int(row[f]) for f in FIELDS] == whole.counts[lang]
    # the raw run of the same shards: another corpus hash, and a warning
    rawres = tmp_path / "raw"
    suite3 = _suite(tmp_path / "s3.toml", body.replace('normalize = "NFC"', ""), tokenizers=("cl100k_base", "gpt2"))
    capsys.readouterr()
    assert main(["run", str(suite3), "--results", str(rawres), "--quiet", "--shard-mb", "0.01"]) == 0
    assert "corpus 'docs': normalize none; NFC would change" in capsys.readouterr().out
    assert set(load_results(rawres)["corpus_hash"]).isdisjoint(set(a["corpus_hash"]))


def test_nfc_tokenizers_lose_the_raw_documents_nfc_changes(tmp_path):
    """qwen2_5 normalises to NFC itself (registry ``normalize = "NFC"``): on the raw UDHR text its
    round trip fails on exactly the documents NFC changes; on the default (NFC) corpus, on none."""
    suite = _suite(tmp_path / "s.toml", """
[corpora.udhr]
source = "udhr"
langs = ["en", "vi", "hi"]
[corpora.raw]
source = "udhr"
langs = ["en", "vi", "hi"]
normalize = "none"
""", tokenizers=("qwen2_5",))
    suite.write_text(suite.read_text().replace('"premium", ', '"roundtrip", '))
    res = tmp_path / "res"
    assert main(["run", str(suite), "--results", str(res), "--quiet", "--no-report"]) == 0
    df = load_results(res)
    rt = df[(df.metric == "roundtrip") & (df.variant == "micro") & (df.lang == "*")].set_index("corpus")["value"]
    texts = load_udhr(langs=["en", "vi", "hi"]).text
    unchanged = sum(unicodedata.normalize("NFC", t) == t for t in texts)
    assert 0 < unchanged < len(texts)
    assert rt["raw"] == pytest.approx(unchanged / len(texts), abs=1e-12)
    assert rt["udhr"] == 1.0


def test_an_unknown_form_is_bad_input(tmp_path, capsys):
    suite = _suite(tmp_path / "s.toml", """
[corpora.udhr]
source = "udhr"
langs = ["en"]
normalize = "NFD"
""")
    res = tmp_path / "res"
    assert main(["run", str(suite), "--results", str(res), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "normalize" in err and "NFC" in err and str(suite) in err
    assert not res.exists() or not any((res / "parts").glob("*.parquet"))
