"""Vocabulary composition (suite kind ``vocab``): real tokenizers, values recomputed here from the
pinned vocabulary files themselves (gpt2.tiktoken, DeepSeek's and BERT's tokenizer.json)."""
from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest

from tokbench.assets import fetch
from tokbench.metrics import MODEL_METRICS, metric_info
from tokbench.metrics.composition import SCRIPT_VARIANTS, composition_values
from tokbench.registry import get_tokenizer, resolve
from tokbench.vocablist import vocab_listing


def _values(name: str):
    return composition_values(vocab_listing(get_tokenizer(resolve(name))))


def _gpt2_file_tokens() -> list[bytes]:
    lines = fetch("gpt2-tiktoken").read_bytes().split(b"\n")
    return [base64.b64decode(line.split()[0]) for line in lines if line.strip()]


def test_gpt2_vocabulary_from_the_tiktoken_file():
    toks = _gpt2_file_tokens()
    listing = vocab_listing(get_tokenizer(resolve("gpt2")))
    v = composition_values(listing)
    assert listing.size == 50257 and len(toks) == 50256 and listing.kind.count("special") == 1
    comp = v["vocab_composition"]
    assert comp["byte_tokens"].params["tokens"] == sum(len(t) == 1 for t in toks) == 256
    assert comp["word_initial"].value == sum(t.startswith(b" ") for t in toks) / 50256
    assert comp["word_initial"].params["tokens"] == 33135
    bad = 0
    texts = set()
    for t in toks:
        try:
            texts.add(t.decode("utf-8"))
        except UnicodeDecodeError:
            bad += 1
    assert comp["undecodable"].params["tokens"] == bad == v["vocab_script"]["undecodable"].params["tokens"]
    assert comp["case_duplicates"].params["tokens"] == sum(1 for t in texts if t != t.lower() and t.lower() in texts)
    assert comp["byte_fallback"].value == 0.0 and comp["special"].params["tokens"] == 1
    lens = np.array([len(t) for t in toks])
    length = v["vocab_token_length"]
    assert length["mean_bytes"].value == pytest.approx(lens.mean()) and length["max_bytes"].value == lens.max()
    assert v["vocab_length_hist"]["bytes_1"].params["tokens"] == 256
    assert v["vocab_length_hist"]["bytes_16"].params["tokens"] == int(np.count_nonzero(lens >= 16))


def test_byt5_script_shares_are_exact():
    s = {k: x.value for k, x in _values("byt5")["vocab_script"].items()}
    # 256 byte tokens: 52 ASCII letters, 76 other ASCII (controls, digits, punctuation, space),
    # 128 bytes >= 0x80 that are not UTF-8 on their own
    assert (s["latin"], s["common"], s["undecodable"]) == (52 / 256, 76 / 256, 128 / 256)
    assert sum(s.values()) == 1.0 and set(s) == set(SCRIPT_VARIANTS)


def test_deepseek_g_initial_share_from_tokenizer_json():
    cfg = json.loads(fetch("deepseek-v3-json").read_text(encoding="utf-8"))
    special = {t["id"] for t in cfg["added_tokens"] if t["special"]}
    vocab = {i: t for t, i in cfg["model"]["vocab"].items() if i not in special}
    # added tokens that are not special stand for their literal content (byte-level: a space is "Ġ")
    added = {t["id"]: t["content"].replace(" ", "\u0120") for t in cfg["added_tokens"] if not t["special"]}
    vocab.update(added)
    comp = _values("deepseek-v3")["vocab_composition"]
    assert len(added) == 53 and comp["word_initial"].params["regular_tokens"] == len(vocab) == 128050
    assert comp["word_initial"].value == sum(t.startswith("\u0120") for t in vocab.values()) / len(vocab)


def test_bert_wordpiece_marks_the_other_way_round():
    cfg = json.loads(fetch("bert-base-uncased-json").read_text(encoding="utf-8"))
    special = {t["id"] for t in cfg["added_tokens"] if t["special"]}
    vocab = [t for t, i in cfg["model"]["vocab"].items() if i not in special]
    v = _values("bert-base-uncased")
    assert v["vocab_composition"]["word_initial"].params["convention"] == "wordpiece"
    assert v["vocab_composition"]["word_initial"].params["tokens"] == sum(not t.startswith("##") for t in vocab)
    # the ## prefix is not part of a token's length: "##s" is one byte
    surf = [t[2:] if t.startswith("##") else t for t in vocab]
    assert v["vocab_token_length"]["mean_chars"].value == pytest.approx(np.mean([len(t) for t in surf]))


@pytest.mark.parametrize("name", ["gpt2", "mistral-tekken", "bert-base-uncased", "mistral-v3", "llama2",
                                  "starcoder", "byt5"])
def test_every_backend_partitions_its_vocabulary(name):
    """tiktoken, tekken, hf_json, sentencepiece, gguf (SentencePiece and HF BPE rebuilds), byte."""
    tok = get_tokenizer(resolve(name))
    listing = vocab_listing(tok)
    v = composition_values(listing)
    assert listing.size == tok.vocab_size
    assert sum(x.value for x in v["vocab_script"].values()) == pytest.approx(1.0, abs=1e-12)
    assert sum(v["vocab_length_hist"][f"bytes_{k}"].value for k in range(1, 17)) == pytest.approx(1.0)
    n_fb = len(tok.byte_fallback_ids)
    assert v["vocab_composition"]["byte_fallback"].params["tokens"] == n_fb
    if name in ("llama2", "mistral-v3"):  # <0x00>..<0xFF>: the 128 high bytes are not UTF-8 alone
        assert n_fb == 256 and v["vocab_composition"]["undecodable"].params["tokens"] == 128


def test_metrics_declared_with_a_stack():
    info = metric_info()
    assert {"vocab_script", "vocab_composition", "vocab_token_length", "vocab_length_hist"} <= set(MODEL_METRICS.names())
    assert {v["stack"] for v in info["vocab_script"]["variants"].values()} == {"script"}


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tokbench.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_vocab_suite_end_to_end(tmp_path):
    from tokbench.store import load_results

    suite = tmp_path / "vocab-mini.toml"
    suite.write_text('[suite]\nname = "vocab-mini"\nkind = "vocab"\ntokenizers = ["gpt2", "byt5"]\n', encoding="utf-8")
    res = tmp_path / "results"
    r = _run("run", str(suite), "--results-dir", str(res), "--no-report", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    df = load_results(res)
    assert set(df["lang"]) == {"*"} and set(df["corpus"]) == {"vocab"} and set(df["tokenizer"]) == {"gpt2", "byt5"}
    byt5 = df[(df["tokenizer"] == "byt5") & (df["metric"] == "vocab_script") & (df["variant"] == "latin")]
    assert byt5["value"].tolist() == [52 / 256] and byt5["n"].tolist() == [256]
    again = _run("run", str(suite), "--results-dir", str(res), "--no-report", "-q", cwd=tmp_path)
    assert again.returncode == 0 and "already stored and skipped" in again.stdout + again.stderr
    scripts = df[df["metric"] == "vocab_script"].groupby("tokenizer")["value"].sum()
    assert np.allclose(scripts.to_numpy(), 1.0) and len(scripts) == 2  # one stacked bar per tokenizer


def test_bad_tokenizer_name_exits_2(tmp_path):
    suite = tmp_path / "bad.toml"
    suite.write_text('[suite]\nname = "bad"\nkind = "vocab"\ntokenizers = ["gtp2"]\n', encoding="utf-8")
    r = _run("run", str(suite), "--results-dir", str(tmp_path / "res"), "--no-report", cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.toml" in r.stderr and "gtp2" in r.stderr and "gpt2" in r.stderr
    empty = tmp_path / "empty.toml"
    empty.write_text('[suite]\nname = "e"\nkind = "vocab"\ntokenizers = []\n', encoding="utf-8")
    r = _run("run", str(empty), "--results-dir", str(tmp_path / "res"), "--no-report", cwd=tmp_path)
    assert r.returncode == 2 and "tokenizers is empty" in r.stderr
