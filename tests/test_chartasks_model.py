"""Model side of the character-level tasks: the generated lm-eval generate_until task, exact-match
scoring, accuracy rows and point-biserial correlations (tokbench/chartasks/modelside.py).

Stub lm-eval LMs (an oracle answering from the gold and constant answerers) run through the
real generated task, so the whole path (task YAML, lm-eval, logged samples, scoring) is
exercised without a model; one slow test runs the real SmolLM2-135M.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from tokbench.chartasks.generate import FAMILIES, generate_all

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.api.model import LM  # noqa: E402


class _StubLM(LM):
    def __init__(self, answer):
        super().__init__()
        self.answer = answer
        self.seen = []

    def generate_until(self, requests, disable_tqdm: bool = False):
        out = []
        for r in requests:
            context, kwargs = r.args
            assert kwargs["until"] == ["\n"] and kwargs["max_gen_toks"] == 16
            self.seen.append(context)
            out.append(self.answer(context))
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def _last_question(context: str) -> str:
    assert context.endswith("\nA:")
    return context.rsplit("Q: ", 1)[1][: -len("\nA:")]


@pytest.fixture(scope="module")
def items():
    return generate_all(["en", "tr"], FAMILIES, 6, seed=3)


def test_oracle_scores_one_and_fewshot_is_disjoint(items):
    from tokbench.chartasks.modelside import accuracy_rows, correct_flags, generate_answers

    gold = {it["prompt"]: it["gold"] for it in items}
    lm = _StubLM(lambda ctx: " " + gold[_last_question(ctx)] + ".")
    answers, protocol = generate_answers(lm, items, k=2, seed=3, max_gen_toks=16)
    assert len(answers) == len(items) == len(lm.seen)
    assert all(correct_flags(items, answers))
    rows = accuracy_rows(items, correct_flags(items, answers), {})
    assert {(r["lang"], r["variant"]) for r in rows} == {(lang, f) for lang in ("en", "tr") for f in (*FAMILIES, "all")}
    assert all(r["value"] == 1.0 and r["n"] == (60 if r["variant"] == "all" else 6) for r in rows)
    assert protocol["k_shot"] == 2 and protocol["max_gen_toks"] == 16
    # every input holds exactly 2 solved examples of the same family, none about a test word
    test_words = {(it["lang"], it["word"]) for it in items}
    for it, ctx in zip(items, lm.seen):
        shots = re.findall(r"Q: (.*?)\nA: (.*?)\n\n", ctx)
        assert len(shots) == 2
        for q, _ in shots:
            w = re.findall(r'the word "([^"]+)"', q)[0]
            assert (it["lang"], w) not in test_words


def test_constant_answers_score_the_chance_rate(items):
    from tokbench.chartasks.modelside import accuracy_rows, correct_flags, generate_answers

    for const in ("yes", "0", "1"):
        answers, protocol = generate_answers(_StubLM(lambda ctx, c=const: f" {c}\t"), items, k=0, max_gen_toks=16)
        correct = correct_flags(items, answers)
        rows = accuracy_rows(items, correct, {}, answers)
        assert all(json.loads(r["params"])["top_answer"] == const and json.loads(r["params"])["distinct_answers"] == 1
                   for r in rows if r["variant"] != "all")
        # lm-eval's own exact_match (case and surrounding whitespace ignored) agrees on these answers
        assert protocol["lm_eval_exact_match"] == pytest.approx(sum(correct) / len(items))
        got = {(r["lang"], r["variant"]): r["value"] for r in rows}
        for lang in ("en", "tr"):
            for fam in FAMILIES:
                sel = [it for it in items if it["lang"] == lang and it["family"] == fam]
                expected = sum(it["gold"] == const for it in sel) / len(sel)
                assert got[(lang, fam)] == pytest.approx(expected)
            sel = [it for it in items if it["lang"] == lang]
            assert got[(lang, "all")] == pytest.approx(sum(it["gold"] == const for it in sel) / len(sel))
        if const == "yes":  # the contains family is balanced: exactly the 0.5 chance rate
            assert got[("en", "contains")] == 0.5 and got[("tr", "contains")] == 0.5


def test_point_biserial_rows_recomputed(items):
    from tokbench.chartasks import analysis
    from tokbench.chartasks.modelside import PROPERTIES, correlation_rows
    from tokbench.registry import get_tokenizer

    rng = np.random.default_rng(0)
    correct = [bool(x) for x in rng.integers(0, 2, len(items))]
    records = analysis.analyse_items(get_tokenizer("gpt2"), items)
    rows = correlation_rows(items, correct, records, {"k_shot": 0})
    assert {r["variant"] for r in rows} == set(PROPERTIES)
    for r in rows:
        use = [i for i, it in enumerate(items) if it["lang"] == r["lang"] and records[i].get(r["variant"]) is not None]
        x = np.array([float(records[i][r["variant"]]) for i in use])
        y = np.array([1.0 if correct[i] else 0.0 for i in use])
        assert r["n"] == len(use)
        if np.all(x == x[0]):
            assert math.isnan(r["value"]) and r["note"]
            continue
        # point-biserial r = (M1 - M0) / s_x * sqrt(p q), s_x the population standard deviation
        m1, m0, p = x[y == 1].mean(), x[y == 0].mean(), y.mean()
        expected = (m1 - m0) / x.std() * math.sqrt(p * (1 - p))
        assert r["value"] == pytest.approx(expected, abs=1e-12)
        assert r["value"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
        assert 0.0 <= json.loads(r["params"])["p_value"] <= 1.0


def run_model_side(suite: dict, *, results_dir, lm_factory):
    """Run an in-memory charlevel suite through the executor with stub LMs."""
    from tokbench.executor import execute
    from tokbench.kinds import RunOptions, get_kind

    kind = get_kind("charlevel")
    return execute(kind, kind.load("<test>", suite), RunOptions(results_dir=results_dir, progress=False, render=False,
                                                               extra={"lm_factory": lm_factory}))


def test_model_side_rows_in_store(tmp_path):
    from tokbench.store import load_results

    suite = {"suite": {"name": "cl-test", "kind": "charlevel", "seed": 1},
             "model_side": {"models": ["smollm2-135m"], "langs": ["en"], "items": 4, "k_shot": 1, "max_gen_toks": 16}}
    gold = {it["prompt"]: it["gold"] for it in generate_all(["en"], FAMILIES, 4, seed=1)}
    factory = lambda m: (_StubLM(lambda ctx: gold[_last_question(ctx)]), {"tokenizer": "smollm2"})  # noqa: E731
    out = run_model_side(suite, results_dir=tmp_path, lm_factory=factory)
    df = load_results(tmp_path)
    acc = df[df["metric"] == "char_task_accuracy"]
    assert set(acc["variant"]) == set(FAMILIES) | {"all"} and (acc["value"] == 1.0).all()
    assert set(df["model"]) == {"smollm2-135m"} and set(df["tokenizer"]) == {"smollm2"}
    line = next(x for x in out.lines if x.startswith("smollm2-135m"))
    assert line.split()[1] == "en:" and line.endswith(" all 1.00")
    # a rerun with the same settings is skipped
    again = run_model_side(suite, results_dir=tmp_path, lm_factory=factory)
    assert again.skipped == ["model 'smollm2-135m' on the char tasks"] and not again.parts


def test_charlevel_suite_validation(tmp_path):
    from tokbench.kinds.charlevel import load_char_suite
    from tokbench.suites import SuiteError

    s = load_char_suite("suites/charlevel-v1.toml")
    assert len(s.tokenizer_side.langs) >= 5 and set(s.model_side.langs) == {"en", "tr"}
    assert set(s.model_side.models) == {"smollm2-135m", "gemma3-270m"}
    base = '[suite]\nname = "x"\nkind = "charlevel"\n[model_side]\nmodels = ["smollm2-135m"]\nlangs = ["en"]\n'
    f = tmp_path / "bad.toml"
    for extra, msg in (("itemz = 3\n", "model_side.itemz"), ('[tokenizer_side]\nlangs = ["xx"]\n', "no word list"),
                       ('[tokenizer_side]\nlangs = ["en"]\nitems = 0\n', "tokenizer_side.items")):
        f.write_text(base + extra)
        with pytest.raises(SuiteError, match=msg) as e:
            load_char_suite(f)
        assert str(f) in str(e.value)
    f.write_text(base.replace("smollm2-135m", "smollm2-135"))
    with pytest.raises(SuiteError, match="smollm2-135m"):  # "did you mean"
        load_char_suite(f)


def test_charlevel_suite_cli(capsys):
    from tokbench.cli import main

    assert main(["validate", "charlevel-v1"]) == 0
    assert "charlevel suite" in capsys.readouterr().out
    assert main(["ls", "suites"]) == 0
    assert "charlevel-v1" in capsys.readouterr().out


def test_a_failing_model_is_reported_and_the_others_run(tmp_path, capsys):
    from tokbench.store import load_results

    suite = {"suite": {"name": "cl-test", "kind": "charlevel"},
             "model_side": {"models": ["smollm2-135m", "gemma3-270m"], "langs": ["en"], "items": 2, "k_shot": 0,
                            "max_gen_toks": 16}}

    def factory(m):
        if m == "smollm2-135m":
            raise OSError("no weights here")
        return _StubLM(lambda ctx: "yes"), {"tokenizer": "gemma3"}

    out = run_model_side(suite, results_dir=tmp_path, lm_factory=factory)
    assert out.failed == [("model 'smollm2-135m' failed on the char tasks", "OSError: no weights here")]
    assert set(load_results(tmp_path)["model"]) == {"gemma3-270m"}


def test_generation_lm_uses_the_tokenizers_bos_default():
    """Generation prompts get a BOS exactly when the tokenizer adds one by default (Gemma yes,
    SmolLM2 no); tokbench.lm.score.make_lm (perplexity) never adds one."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from tokbench.chartasks.modelside import bos_protocol, make_generation_lm

    vocab = {"<s>": 0, "</s>": 1, **{c: i + 2 for i, c in enumerate("QA: abcdefghijklmnopqrstuvwxyz")}}
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=64, bos_token_id=0, eos_token_id=1)).eval()
    for adds_bos in (True, False):
        tk = Tokenizer(models.WordLevel(vocab, unk_token="</s>"))
        tk.pre_tokenizer = pre_tokenizers.Split("", "isolated")
        if adds_bos:
            tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
        tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="</s>")
        lm, bos = make_generation_lm(model, tok, batch_size=1)
        assert bos == bos_protocol(tok) and ("BOS '<s>'" in bos) == adds_bos
        ids, _ = lm.tok_batch_encode(["Q: ab"])
        assert ids[0].tolist() == ([0] if adds_bos else []) + tok.encode("Q: ab", add_special_tokens=False)


@pytest.mark.slow
def test_real_model_answers_every_item():
    pytest.importorskip("torch")
    from tokbench.chartasks.modelside import accuracy_rows, correct_flags, generate_answers
    from tokbench.lm.models import load_model
    from tokbench.lm.score import make_lm

    model, tok, _ = load_model("smollm2-135m")
    its = generate_all(["en"], ["contains", "count_char", "spell"], 2, seed=0)
    answers, _ = generate_answers(make_lm(model, tok, batch_size=4), its, k=2, max_gen_toks=16)
    assert len(answers) == len(its) and all(isinstance(a, str) for a in answers)
    rows = accuracy_rows(its, correct_flags(its, answers), {})
    assert all(0.0 <= r["value"] <= 1.0 for r in rows)
