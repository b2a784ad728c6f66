"""tokbench.lm.score against a direct forward pass and against lm-eval's own bits_per_byte.

A tiny random Llama and a tiny BPE tokenizer are built in the test (no downloads).
"""
from __future__ import annotations

import json
import math

import pytest
from helpers_tokbench import TINY_DOCS

# The scoring tests need the [lm] extra (torch, transformers, lm-eval); the registry/rows test does not.

DOCS = TINY_DOCS


@pytest.fixture(scope="module")
def tiny():
    torch = pytest.importorskip("torch")
    pytest.importorskip("lm_eval")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(DOCS * 3, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="</s>")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tk.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(cfg).eval().to(torch.float32)
    return model, tok


def _direct_ll(model, tok, text: str) -> float:
    """Sum of log p(token | prefix), the first token conditioned on BOS, one window."""
    import torch

    ids = tok.encode(text, add_special_tokens=False)
    inp = torch.tensor([[tok.bos_token_id] + ids[:-1]])
    with torch.no_grad():
        logp = torch.log_softmax(model(inp).logits[0].double(), dim=-1)
    return float(logp[torch.arange(len(ids)), torch.tensor(ids)].sum())


def test_bits_per_byte_matches_direct(tiny):
    from tokbench.lm.score import score_documents

    model, tok = tiny
    s = score_documents(model, tok, DOCS, batch_size=2, max_length=128)
    direct = [_direct_ll(model, tok, t) for t in DOCS]
    for d, ll in zip(s.docs, direct):
        assert d.ll == pytest.approx(ll, abs=1e-4)
        assert d.tokens == len(tok.encode(DOCS[s.docs.index(d)], add_special_tokens=False))
    nbytes = sum(len(t.encode()) for t in DOCS)
    bpb = -sum(direct) / (nbytes * math.log(2))
    assert s.bits_per_byte == pytest.approx(bpb, rel=1e-6)
    assert s.byte_perplexity == pytest.approx(math.exp(-sum(direct) / nbytes), rel=1e-6)
    assert s.word_perplexity == pytest.approx(math.exp(-sum(direct) / sum(len(t.split()) for t in DOCS)), rel=1e-6)
    assert s.char_perplexity == pytest.approx(math.exp(-sum(direct) / sum(len(t) for t in DOCS)), rel=1e-6)
    assert s.protocol["max_length"] == 128 and s.protocol["batch_size"] == 2


def test_bits_per_byte_matches_lm_eval(tiny, tmp_path):
    import lm_eval
    from lm_eval.tasks import TaskManager

    from tokbench.lm.score import make_lm, score_documents

    model, tok = tiny
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in DOCS), encoding="utf-8")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "tb_tiny.yaml").write_text(
        "task: tb_tiny\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: loglikelihood_rolling\n"
        "doc_to_text: \"\"\ndoc_to_target: \"{{text}}\"\n"
        "metric_list:\n  - metric: bits_per_byte\n  - metric: byte_perplexity\n  - metric: word_perplexity\n")
    lm = make_lm(model, tok, batch_size=2, max_length=128)
    out = lm_eval.simple_evaluate(model=lm, tasks=["tb_tiny"], task_manager=TaskManager(include_path=str(tasks)))
    res = out["results"]["tb_tiny"]
    s = score_documents(model, tok, DOCS, lm=lm)
    assert s.bits_per_byte == pytest.approx(res["bits_per_byte,none"], rel=1e-6)
    assert s.byte_perplexity == pytest.approx(res["byte_perplexity,none"], rel=1e-6)


def test_ppl_ratio():
    from tokbench.lm.score import DocScore, Scores, ppl_ratio

    a = Scores([DocScore(ll=-10.0, bytes=20, chars=20, words=4, tokens=5)])
    b = Scores([DocScore(ll=-5.0, bytes=20, chars=20, words=4, tokens=10)])
    assert ppl_ratio(a, b, "byte") == pytest.approx(math.exp(10 / 20) / math.exp(5 / 20))
    assert ppl_ratio(a, b, "token") == pytest.approx(math.exp(10 / 5) / math.exp(5 / 10))
    c = Scores([DocScore(ll=-5.0, bytes=21, chars=20, words=4, tokens=10)])
    with pytest.raises(ValueError):
        ppl_ratio(a, c, "byte")


def test_suite_registry_and_rows(tmp_path):
    from tokbench.kinds import load_any
    from tokbench.kinds.perplexity import ratio_rows, score_rows
    from tokbench.kinds.perplexity import stored_scores as _stored
    from tokbench.lm.models import get_model_spec, load_model_specs
    from tokbench.lm.score import DocScore, Scores
    from tokbench.store import load_results, write_part

    _, suite = load_any("perplexity-v1")
    assert set(suite.suite.models) <= set(load_model_specs())
    assert len(suite.corpora["udhr"].langs) >= 10
    assert get_model_spec("gemma3-270m").tokenizer == "gemma3"
    s = Scores([DocScore(-10.0, 20, 18, 4, 5), DocScore(-30.0, 40, 30, 6, 12)])
    r = Scores([DocScore(-12.0, 20, 18, 4, 6), DocScore(-20.0, 40, 30, 6, 10)])
    for name, sc in (("cand", s), ("ref", r)):
        rows = score_rows(sc, ["en", "tr"], protocol={"max_length": 8})
        for x in rows:
            x.update(run_id="r", suite="s", tokenizer=f"tok-{name}", model=name, corpus="c", corpus_hash="h",
                     config_hash=f"c-{name}")
        write_part(rows, tmp_path, run_id="r", seq=1 if name == "cand" else 2)
    df = load_results(tmp_path)
    got = {(x.model, x.lang, x.metric): x.value for x in df.itertuples()}
    assert got[("cand", "*", "bits_per_byte")] == pytest.approx(40 / (60 * math.log(2)))
    assert got[("cand", "tr", "word_perplexity")] == pytest.approx(math.exp(30 / 6))
    assert got[("ref", "en", "token_perplexity")] == pytest.approx(math.exp(12 / 6))
    ratios = ratio_rows(_stored(df, "s", "cand", "h", "c-cand"), _stored(df, "s", "ref", "h", "c-ref"),
                        reference="ref")
    rat = {(x["lang"], x["variant"]): x["value"] for x in ratios}
    assert rat[("tr", "byte")] == pytest.approx(math.exp(30 / 40) / math.exp(20 / 40))
    assert rat[("*", "token")] == pytest.approx(math.exp(40 / 17) / math.exp(32 / 16))
    assert rat[("en", "byte")] == pytest.approx(math.exp(10 / 20) / math.exp(12 / 20))
    assert len(ratios) == 6
    # the candidate's tokenizer has no registry fingerprint (stored null, read back as NaN): the
    # ratio rows still carry the tokenizer name and a null hash, and write
    cand = _stored(df, "s", "cand", "h", "c-cand")
    assert cand["_tokenizer"] == "tok-cand" and cand["_tokenizer_hash"] is None
    for x in ratios:
        x.update(run_id="r2", suite="s", tokenizer=cand["_tokenizer"], tokenizer_hash=cand["_tokenizer_hash"],
                 model="cand", corpus="c", corpus_hash="h")
    write_part(ratios, tmp_path, run_id="r2", seq=1)
    assert (load_results(tmp_path)["metric"] == "ppl_ratio").sum() == 6


def test_ratio_rows_refuse_different_text():
    from tokbench.kinds.perplexity import ratio_rows

    cand = {"en": {"byte_perplexity": (2.0, 100, {}), "token_perplexity": (5.0, 30, {})}}
    ref = {"en": {"byte_perplexity": (1.5, 101, {}), "token_perplexity": (4.0, 25, {})}}
    with pytest.raises(ValueError, match="different text"):
        ratio_rows(cand, ref, reference="ref")


def test_perplexity_suite_errors(tmp_path):
    from tokbench.kinds import load_any
    from tokbench.suites import SuiteError

    base = ('[suite]\nname = "x"\nkind = "perplexity"\nmodels = [{models}]\n{extra}\n'
            '[corpora.u]\nsource = "udhr"\nlangs = ["en"]\n')
    cases = {
        "unknown model": (base.format(models='"smolm2-135m"', extra=""), "Did you mean 'smollm2-135m'"),
        "bad reference": (base.format(models='"smollm2-135m"', extra='reference_model = "gemma3-270m"'),
                          "reference_model"),
        "two sources": (base.format(models='"m"', extra='[models.m]\nasset = "a"\npath = "p"\ntokenizer = "gpt2"'),
                        "exactly one of"),
        "unlisted": (base.format(models='"smollm2-135m"', extra='[models.m]\npath = "p"\ntokenizer = "gpt2"'),
                     "not listed"),
        "typo": (base.format(models='"smollm2-135m"', extra="max_lenght = 3"), "max_lenght"),
    }
    for what, (text, msg) in cases.items():
        f = tmp_path / f"{what.replace(' ', '_')}.toml"
        f.write_text(text)
        with pytest.raises(SuiteError, match=msg):
            load_any(str(f))


def test_a_model_that_cannot_load_is_reported(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("lm_eval")
    from tokbench.cli import main

    suite = tmp_path / "bad-model.toml"
    suite.write_text('[suite]\nname = "bad"\nkind = "perplexity"\nmodels = ["broken"]\n'
                     f'[models.broken]\npath = "{tmp_path / "no-such-model"}"\ntokenizer = "gpt2"\n'
                     '[corpora.u]\nsource = "udhr"\nlangs = ["en"]\nmax_docs_per_lang = 1\n')
    assert main(["run", str(suite), "--results-dir", str(tmp_path / "r"), "-q", "--no-report"]) == 1
    err = capsys.readouterr().err
    assert "model 'broken' could not be loaded" in err
    assert not list((tmp_path / "r").glob("parts/*.parquet"))


def test_chunked_scoring_resumes_and_equals_one_call(tiny, fresh_cache):
    """A corpus scored in chunks (each cached when done) gives the scores of one call; a run
    that stops after the first chunk resumes at the second, rescoring nothing."""
    from tokbench.lm.chunks import chunk_bounds, score_in_chunks
    from tokbench.lm.score import score_documents

    model, tok = tiny
    langs = ["en"] * len(DOCS)
    calls = []

    def score(texts, ls, label):
        calls.append(len(texts))
        return score_documents(model, tok, texts, batch_size=2, max_length=128, langs=ls, label=label)

    whole = score_documents(model, tok, DOCS, batch_size=2, max_length=128)
    chunk = max(len(t.encode()) for t in DOCS)  # about one document per chunk
    n_chunks = len(chunk_bounds(DOCS, chunk))
    assert n_chunks >= 3

    def stop_after_first(texts, ls, label):
        if calls:
            raise KeyboardInterrupt
        return score(texts, ls, label)

    with pytest.raises(KeyboardInterrupt):
        score_in_chunks(stop_after_first, DOCS, langs, config_hash="h1", label="t", chunk_bytes=chunk)
    assert len(calls) == 1
    resumed = score_in_chunks(score, DOCS, langs, config_hash="h1", label="t", chunk_bytes=chunk)
    assert len(calls) == n_chunks  # the first chunk came from the cache
    for a, b in zip(resumed.docs, whole.docs):
        assert (a.bytes, a.chars, a.words, a.tokens) == (b.bytes, b.chars, b.words, b.tokens)
        assert a.ll == pytest.approx(b.ll, abs=1e-4)
    assert resumed.bits_per_byte == pytest.approx(whole.bits_per_byte, rel=1e-5)
    assert resumed.protocol["chunks"] == n_chunks
    assert resumed.protocol["lm_eval_bits_per_byte"] == pytest.approx(whole.protocol["lm_eval_bits_per_byte"],
                                                                      rel=1e-5)
    again = score_in_chunks(lambda *a: pytest.fail("rescored a cached chunk"), DOCS, langs, config_hash="h1",
                            label="t", chunk_bytes=chunk)
    assert [d.ll for d in again.docs] == [d.ll for d in resumed.docs]
