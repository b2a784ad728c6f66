"""tokbench.transplant: tokenizer transplantation (docs/transplant.md).

Tiny random Llamas and tiny BPE tokenizers are built in the tests (no downloads); the cache is a
temporary folder. Each method's new rows are checked against an independent computation written
here from the formulas; the identity transplant must reproduce the source logits exactly.
"""
from __future__ import annotations

import json
import math
import os
import re

import pytest
from helpers_tokbench import TINY_DOCS

DOCS = TINY_DOCS
# the user's cache (the slow test uses the real pinned model); the fixtures switch to a temporary one
_USER_CACHE = os.environ.get("TOKBENCH_CACHE")
NEW_DOCS = [d.lower() for d in DOCS] + ["Herkes yaşama, özgürlüğe ve kişi güvenliğine hakkı vardır.",
                                        "hello world 12345 ğüşıöç"]


def _bpe(docs, size, specials):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(docs * 3, trainers.BpeTrainer(
        vocab_size=size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    return tk


def _tiny_model(path, tied: bool, pad: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = _bpe(DOCS, 300, ["<s>", "</s>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tk.get_vocab_size() + pad, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=tied)
    model = LlamaForCausalLM(cfg).eval().to(torch.float32)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return model, tok


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("transplant")
    mp = pytest.MonkeyPatch()
    mp.setenv("TOKBENCH_CACHE", str(root / "cache"))
    from tokbench.transplant.build import clear_source_cache

    clear_source_cache()
    out = {"root": root}
    for tied in (True, False):
        name = "tied" if tied else "untied"
        model, tok = _tiny_model(root / name, tied)
        out[name] = (str(root / name), model, tok)
    model, tok = _tiny_model(root / "padded", True, pad=5)  # embedding rows beyond the tokenizer
    out["padded"] = (str(root / "padded"), model, tok)
    new = _bpe(NEW_DOCS, 280, ["<|endoftext|>"])
    new.save(str(root / "new.json"))
    out["new"] = str(root / "new.json")
    yield out
    clear_source_cache()
    mp.undo()


def _load(path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(path)


def _old_bytes(tok):
    """Bytes of each source id, computed independently (GPT-2 byte table)."""
    from tokbench.adapters.hf import _byte_decoder

    table = _byte_decoder()
    specials = set(tok.all_special_ids)
    out = {}
    for t, i in tok.get_vocab().items():
        if i not in specials:
            out[i] = bytes(table[c] for c in t)
    return out


def _new_bytes(path):
    from tokenizers import Tokenizer

    from tokbench.adapters.hf import _byte_decoder

    tk = Tokenizer.from_file(path)
    table = _byte_decoder()
    specials = {i for i, t in tk.get_added_tokens_decoder().items() if t.special}
    return {i: bytes(table[c] for c in t) for t, i in tk.get_vocab().items() if i not in specials}, specials


@pytest.mark.parametrize("kind", ["tied", "untied", "padded"])
def test_identity_transplant_reproduces_logits(env, kind):
    import torch

    from tokbench.transplant import META_FILE, ensure_transplant

    path, model, tok = env[kind]
    out = ensure_transplant(path, "self", "hybrid", {"k": 2})
    m2, tok2 = _load(out)
    assert m2.config.vocab_size == model.config.vocab_size
    assert torch.equal(m2.get_input_embeddings().weight, model.get_input_embeddings().weight)
    assert torch.equal(m2.get_output_embeddings().weight, model.get_output_embeddings().weight)
    ids = torch.tensor([tok.encode(" ".join(DOCS))])
    with torch.no_grad():
        assert torch.equal(m2(ids).logits, model(ids).logits)
    assert tok2(DOCS, add_special_tokens=False)["input_ids"] == tok(DOCS, add_special_tokens=False)["input_ids"]
    assert tok2.bos_token_id == tok.bos_token_id and tok2.eos_token_id == tok.eos_token_id
    meta = json.loads((out / META_FILE).read_text())
    assert meta["counts"]["new"] == 0 and meta["counts"]["initialised_rows"] == 0


def _check_rows(env, kind, method, params):
    import torch

    from tokbench.transplant import META_FILE, ensure_transplant

    path, model, tok = env[kind]
    out = ensure_transplant(path, env["new"], method, params)
    m2, tok2 = _load(out)
    meta = json.loads((out / META_FILE).read_text())
    E, E2 = model.get_input_embeddings().weight.detach(), m2.get_input_embeddings().weight.detach()
    H, H2 = model.get_output_embeddings().weight.detach(), m2.get_output_embeddings().weight.detach()
    if kind == "tied":
        assert m2.get_output_embeddings().weight.data_ptr() == m2.get_input_embeddings().weight.data_ptr()
    old = _old_bytes(tok)
    by_bytes = {}
    for i, b in sorted(old.items()):
        by_bytes.setdefault(b, i)
    new, new_specials = _new_bytes(env["new"])
    shared = {i: by_bytes[b] for i, b in new.items() if b in by_bytes}
    fresh = sorted(i for i in new if i not in shared)
    assert shared and fresh
    # shared tokens copy their rows exactly (embedding and head)
    for i, o in shared.items():
        assert torch.equal(E2[i], E[o]) and torch.equal(H2[i], H[o])
    # the new tokenizer's only special (<|endoftext|>, its BOS/EOS) takes the source BOS row
    (sp,) = new_specials
    assert torch.equal(E2[sp], E[tok.bos_token_id])
    assert meta["counts"]["shared"] == len(shared) and meta["counts"]["new"] == len(fresh)
    assert meta["method"] == method and meta["source_model"]["name"] == path
    assert meta["target_tokenizer"]["name"] == env["new"] and len(meta["target_tokenizer"]["hash"]) >= 64
    assert meta["source_model"]["tied_embeddings"] == (kind == "tied")
    # independent expectation of each new row
    lw = params.get("length_weighted", False)
    for i in fresh:
        text = new[i].decode("utf-8", errors="surrogateescape")
        pieces = []  # valid UTF-8 runs through the old tokenizer, stray bytes as single-byte tokens
        for run in re.findall(r"[\udc80-\udcff]|[^\udc80-\udcff]+", text):
            if len(run) == 1 and 0xDC80 <= ord(run) <= 0xDCFF:
                pieces.append(by_bytes[bytes([ord(run) - 0xDC00])])
            else:
                pieces += tok.encode(run, add_special_tokens=False)
        assert pieces
        if method == "mean":
            want_E, want_H = E.double().mean(0), H.double().mean(0)
        else:
            if lw:
                w = torch.tensor([len(old[p]) for p in pieces], dtype=torch.float64)
                w = w / w.sum()
            else:
                w = torch.full((len(pieces),), 1.0 / len(pieces), dtype=torch.float64)
            loc_E = (w[:, None] * E[pieces].double()).sum(0)
            loc_H = (w[:, None] * H[pieces].double()).sum(0)
            want_E, want_H = loc_E, loc_H
            if method == "hybrid":
                cand = sorted(old)  # every non-special source token
                sims = torch.nn.functional.cosine_similarity(loc_E[None, :], E[cand].double(), dim=1)
                top = torch.topk(sims, params["k"])
                g = torch.softmax(top.values / params["temperature"], dim=0)
                nb = [cand[j] for j in top.indices.tolist()]
                glob_E = (g[:, None] * E[nb].double()).sum(0)
                glob_H = (g[:, None] * H[nb].double()).sum(0)
                want_E = (1 - params["mix"]) * loc_E + params["mix"] * glob_E
                want_H = (1 - params["mix"]) * loc_H + params["mix"] * glob_H
        assert torch.allclose(E2[i].double(), want_E, atol=1e-6), (method, i, text)
        assert torch.allclose(H2[i].double(), want_H, atol=1e-6), (method, i, text)
    # the exported tokenizer encodes like the source tokenizer file
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(env["new"])
    texts = DOCS + NEW_DOCS + ["  spaces\n\nand\ttabs ğ 😀"]
    assert tok2(texts, add_special_tokens=False)["input_ids"] == [e.ids for e in ref.encode_batch(
        texts, add_special_tokens=False)]
    assert tok2.bos_token == tok2.eos_token == "<|endoftext|>"
    return meta


@pytest.mark.parametrize("kind", ["tied", "untied"])
@pytest.mark.parametrize("method,params", [
    ("mean", {}),
    ("subword", {}),
    ("subword", {"length_weighted": True}),
    ("hybrid", {"k": 3, "temperature": 0.3, "mix": 0.3}),
    ("hybrid", {"k": 5, "temperature": 1.0, "mix": 0.7, "length_weighted": True}),
])
def test_method_rows(env, kind, method, params):
    meta = _check_rows(env, kind, method, params)
    from tokbench.transplant import normalise_params

    assert meta["params"] == normalise_params(method, params)


def test_perplexity_ratio(env):
    """Scored through tokbench.lm.score (lm-eval): the identity transplant has ratio exactly 1.0;
    a transplant to another tokenizer scores finite bits/byte on the same text."""
    pytest.importorskip("lm_eval")
    from tokbench.lm.score import ppl_ratio, score_documents
    from tokbench.transplant import ensure_transplant

    path, model, tok = env["untied"]
    ref = score_documents(model, tok, DOCS, max_length=128)
    m1, tok1 = _load(ensure_transplant(path, "self", "mean"))
    same = score_documents(m1, tok1, DOCS, max_length=128)
    assert [d.ll for d in same.docs] == [d.ll for d in ref.docs]
    assert ppl_ratio(same, ref, "byte") == 1.0 and ppl_ratio(same, ref, "token") == 1.0
    m2, tok2 = _load(ensure_transplant(path, env["new"], "subword"))
    s = score_documents(m2, tok2, DOCS, max_length=128)
    assert math.isfinite(s.bits_per_byte) and math.isfinite(ppl_ratio(s, ref, "byte"))


def test_cache_atomic_and_keyed(env, monkeypatch):
    from tokbench.transplant import build as b
    from tokbench.transplant import ensure_transplant

    path = env["tied"][0]
    out = ensure_transplant(path, env["new"], "mean")
    assert ensure_transplant(path, env["new"], "mean") == out  # cached
    assert ensure_transplant(path, env["new"], "mean", {}) == out
    other = ensure_transplant(path, env["new"], "subword", {"length_weighted": True})
    assert other != out and other != ensure_transplant(path, env["new"], "subword")
    # an interrupted build leaves no directory behind
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(b, "build", boom)
    with pytest.raises(KeyboardInterrupt):
        ensure_transplant(path, env["new"], "hybrid", {"k": 7})
    key, _ = b.cache_key(path, env["new"], "hybrid", {"k": 7})
    target = b.transplant_dir(path, env["new"], "hybrid", key)
    assert not target.exists()
    assert not list(target.parent.glob(f".{target.name}.tmp-*"))


def test_params_validation():
    from tokbench.transplant import normalise_params
    from tokbench.transplant.methods import MethodError

    assert normalise_params("hybrid", None) == {"k": 3, "temperature": 0.3, "mix": 0.3, "length_weighted": False}
    with pytest.raises(MethodError):
        normalise_params("mean", {"k": 3})
    with pytest.raises(MethodError):
        normalise_params("hybrid", {"mix": 1.5})
    with pytest.raises(MethodError):
        normalise_params("fvt", {})


def test_decompose_invalid_utf8():
    from tokbench.transplant.methods import decompose

    old = [b"a", b"\xc3", b"\xbc", b"ab"]
    enc = {"a": [0], "ab": [3]}
    got = decompose([0, 1], [b"ab\xc3", b"\xbca"], lambda texts: [enc[t] for t in texts], old)
    assert got == {0: [3, 1], 1: [2, 0]}


def test_onig_pattern():
    from tokbench.transplant.target import onig_pattern

    assert onig_pattern(r"\p{N}{1,3}+|\s++$|[a\]]{2,}+") == r"(?>\p{N}{1,3})|\s++$|(?>[a\]]{2,})"
    assert onig_pattern(r"\p{N}{1,3}| ?\p{L}+") == r"\p{N}{1,3}| ?\p{L}+"


def test_tiktoken_conversion_matches_tiktoken():
    tiktoken = pytest.importorskip("tiktoken")
    pytest.importorskip("tokenizers")
    from tokbench.transplant.target import tiktoken_to_tokenizers

    # a small tiktoken vocabulary: the 256 bytes plus merges learned from DOCS
    enc_ranks = {bytes([i]): i for i in range(256)}
    for w in ["th", "the", " t", " the", "in", "an", "and", " and", "ri", "rig", "right", "ght", "er", "ver",
              " ev", "ery", "12", "123"]:
        enc_ranks.setdefault(w.encode(), len(enc_ranks))
    pat = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    enc = tiktoken.Encoding(name="t", pat_str=pat, mergeable_ranks=enc_ranks, special_tokens={"<|e|>": len(enc_ranks)})
    tk = tiktoken_to_tokenizers(enc_ranks, pat, {"<|e|>": len(enc_ranks)})
    texts = DOCS + ["12345 everything and the right", "  x\n\ny"]
    assert [e.ids for e in tk.encode_batch(texts, add_special_tokens=False)] == [enc.encode_ordinary(t) for t in texts]
    assert tk.token_to_id("<|e|>") == len(enc_ranks)


def test_exported_target_keeps_the_registry_normalisation():
    """qwen2_5 is scored with NFC applied first (registry ``normalize = "NFC"``); the tokenizer a
    transplant exports for it carries the same step: decomposed and precomposed Vietnamese get
    the ids the scored adapter gives the precomposed text."""
    pytest.importorskip("tokenizers")
    from tokbench.registry import get_tokenizer
    from tokbench.transplant.target import load_target

    target = load_target("qwen2_5")
    assert target.info["normalize"] == "NFC"
    nfd, nfc = "Vie\u0323\u0302t Nam la\u0300 mo\u0323\u0302t", "Việt Nam là một"
    want = get_tokenizer("qwen2_5").encode_batch([nfc])[0]
    assert list(want) == target.hf.encode(nfd, add_special_tokens=False) == target.hf.encode(nfc, add_special_tokens=False)


def test_trained_tokenizer_deterministic():
    pytest.importorskip("wordfreq")
    from tokbench.transplant.train import RECIPES, capitalise, train, word_counts

    small = {**RECIPES["tr-bpe-8k"], "vocab_size": 600, "n_words": 2000}
    a, b = train(small), train(small)
    assert a.to_str() == b.to_str()
    assert a.get_vocab_size() == 600 and a.token_to_id("<|endoftext|>") == 0
    assert capitalise("istanbul", "tr") == "İstanbul" and capitalise("ılık", "tr") == "Ilık"
    wc = word_counts(small)
    assert all(not any(ch.isdigit() for ch in w) for w, _ in wc)


def test_cli_registered():
    from tokbench.cli import SUBCOMMANDS, build_parser

    assert "transplant" in SUBCOMMANDS
    args = build_parser("transplant").parse_args(["transplant", "--model", "m", "--tokenizer", "gpt2", "--method", "hybrid",
                                      "--k", "4", "--mix", "0.5"])
    assert args.k == 4 and args.mix == 0.5


def test_cli_builds_out_dir(env, tmp_path):
    from tokbench.cli import main
    from tokbench.transplant import META_FILE

    out = tmp_path / "tp"
    rc = main(["transplant", "--model", env["tied"][0], "--tokenizer", env["new"], "--method", "subword",
               "--length-weighted", "--out", str(out)])
    assert rc == 0
    meta = json.loads((out / META_FILE).read_text())
    assert meta["params"] == {"length_weighted": True}
    assert main(["transplant", "--model", env["tied"][0], "--tokenizer", env["new"], "--method", "mean",
                 "--out", str(out)]) == 2  # exists: needs --force


@pytest.mark.slow
def test_real_smollm2_to_gpt2_mean(monkeypatch):
    """The real SmolLM2-135M (pinned GGUF asset) transplanted to GPT-2 with `mean`: loads and
    scores one English text with finite bits/byte. Uses the user's tokbench cache."""
    pytest.importorskip("torch")
    pytest.importorskip("lm_eval")
    from tokbench.lm.score import score_documents
    from tokbench.transplant import META_FILE, ensure_transplant
    from tokbench.transplant.build import clear_source_cache

    if _USER_CACHE is None:
        monkeypatch.delenv("TOKBENCH_CACHE", raising=False)
    else:
        monkeypatch.setenv("TOKBENCH_CACHE", _USER_CACHE)
    clear_source_cache()

    out = ensure_transplant("smollm2-135m", "gpt2", "mean")
    meta = json.loads((out / META_FILE).read_text())
    assert meta["target_tokenizer"]["vocab_size"] == 50257 and meta["counts"]["shared"] > 30000
    model, tok = _load(out)
    assert tok.bos_token_id == 50256 and model.config.vocab_size == 50257
    s = score_documents(model, tok, ["All human beings are born free and equal in dignity and rights."])
    assert math.isfinite(s.bits_per_byte) and s.bits_per_byte > 0
    clear_source_cache()


def test_match_rules_and_spm_bytes():
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, decoders, models, normalizers

    from tokbench.transplant.methods import match
    from tokbench.transplant.target import hf_byte_fallback_ids, hf_token_bytes

    # a SentencePiece-style (Gemma-like) source: "▁" for spaces, <0xNN> byte fallback
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x61>": 3, "a": 4, "▁the": 5, "▁": 6, "t": 7, "h": 8, "e": 9}
    tk = Tokenizer(models.BPE(vocab, [], byte_fallback=True, unk_token="<unk>"))
    tk.normalizer = normalizers.Replace(" ", "\u2581")
    tk.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tk.add_special_tokens(["<s>", "</s>"])
    old_bytes, old_specials = hf_token_bytes(tk)
    assert old_bytes[3] == b"a" and old_bytes[5] == b" the" and old_bytes[6] == b" "
    assert old_specials == {1: "<s>", 2: "</s>"} and hf_byte_fallback_ids(tk) == {3}
    new_bytes = [None, b"a", b" the", b"xyz", None, None]
    new_specials = {0: "<|endoftext|>", 4: "</s>", 5: "<|other|>"}
    plan = match(new_bytes, new_specials, {"bos": 0, "eos": 0}, 0, old_bytes, old_specials,
                 {"bos": 1, "eos": 2}, hf_byte_fallback_ids(tk))
    assert plan.copy_from.tolist() == [1, 4, 5, -1, 2, -1]  # "a" -> piece "a", not <0x61>
    assert plan.kind == ["special-role", "shared", "shared", "new", "special-same", "special-new"]
