"""Data mixture inference (tokbench/mixture, kinds/mixture.py; docs/mixture.md)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tokbench.errors import BadInput
from tokbench.mixture.counts import StepCounts
from tokbench.mixture.merges import MergeError, apply_merges, from_hf_json, load_merges, merge_ranks
from tokbench.mixture.solve import solve

PY_GLOB = "/usr/lib/python3*/**/*.py"


@pytest.fixture(scope="module")
def gpt2_merges():
    return load_merges("gpt2")


def test_merges_from_tiktoken_ranks_reproduce_gpt2(gpt2_merges):
    from tokbench.registry import get_tokenizer

    enc = get_tokenizer("gpt2").enc
    assert len(gpt2_merges.merges) == 50000
    ranks = merge_ranks(gpt2_merges.merges)
    text = ("The quick brown fox jumps over the lazy dog. def encode(self, text):\n\treturn [x for x in text]\n"
            "Türkçe metin, русский текст, 日本語のテキスト, 1234567 ...!!! internationalisation")
    words = gpt2_merges.split(text)
    assert len(words) > 20
    for w in words:
        ids = [enc._mergeable_ranks[p] for p in apply_merges(w.encode("utf-8"), ranks)]
        assert ids == enc.encode_ordinary(w), w


def _tiny_tokenizer(tmp_path: Path):
    from tokbench.mixture.selftest import train_bpe

    texts = [Path(p).read_text(encoding="utf-8", errors="replace")
             for p in sorted(Path("/usr/lib/python3.11").glob("*.py"))[:20]]
    tk = train_bpe(texts, 120)
    path = tmp_path / "tiny.json"
    tk.save(str(path))
    return tk, path, texts


def test_hf_json_merges_both_forms(tmp_path):
    tk, path, texts = _tiny_tokenizer(tmp_path)
    ml = from_hf_json("tiny", path)
    assert 100 <= len(ml.merges) <= 120
    cfg = json.loads(path.read_text(encoding="utf-8"))
    m = cfg["model"]["merges"]
    cfg["model"]["merges"] = [x.split(" ") if isinstance(x, str) else " ".join(x) for x in m]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(cfg), encoding="utf-8")
    assert from_hf_json("other", other).merges == ml.merges
    # applying the merges with the file's own pre-tokenizer gives the tokenizer's tokens
    vocab = tk.get_vocab()
    from tokbench.adapters.hf import bytes_to_unicode

    b2u = bytes_to_unicode()
    ranks = merge_ranks(ml.merges)
    sample = texts[0][:2000]
    ours = [vocab["".join(b2u[b] for b in p)] for w in ml.words(sample) for p in apply_merges(w, ranks)]
    assert ours == tk.encode(sample).ids


@pytest.mark.parametrize("name", ["byt5", "bert-base-uncased"])
def test_no_merge_list(name):
    with pytest.raises(MergeError, match="has no merge list"):
        load_merges(name)


def synthetic(alpha: np.ndarray, T: int = 60, n: int = 8, seed: int = 0) -> StepCounts:
    """Counts where the merge is each step's argmax under ``alpha``, plus pairs that tie with it
    exactly along directions orthogonal to alpha (so alpha is the LP's only zero-slack point)."""
    rng = np.random.default_rng(seed)
    K = len(alpha)
    totals = rng.uniform(1e5, 1e6, K)
    merge, comp, ids = np.zeros((T, K)), [], []
    for t in range(T):
        c = rng.uniform(0, 100, (n, K)) * totals / 1e5  # raw counts
        mixed = (c / totals) @ alpha
        best = int(np.argmax(mixed))
        merge[t] = c[best]
        others = [c[j] for j in range(n) if j != best]
        e = rng.normal(size=K)
        e -= (e @ alpha) / (alpha @ alpha) * alpha  # e . alpha = 0
        tie = (merge[t] / totals + 0.2 * e / np.abs(e).max() * (merge[t] / totals).min()) * totals
        others.append(np.clip(tie, 0, None) if (tie >= 0).all() else merge[t])
        comp.append(np.array(others))
        ids.append(np.arange(len(others)) + t * (n + 1))
    return StepCounts(categories=[f"c{i}" for i in range(K)], totals=totals, merge=merge, comp_ids=ids, comp=comp)


@pytest.mark.parametrize("alpha", [[0.5, 0.3, 0.2], [0.1, 0.2, 0.3, 0.15, 0.25]])
def test_lp_recovers_known_alpha(alpha):
    alpha = np.array(alpha)
    fit = solve(synthetic(alpha))
    assert fit.slack < 1e-9
    assert np.abs(fit.alpha - alpha).max() < 1e-6


def test_small_self_test():
    from tokbench.mixture.selftest import CategorySpec, self_test

    cats = {"python": CategorySpec(files=[PY_GLOB]), "c": CategorySpec(files=["/usr/include/**/*.h"])}
    out = self_test(cats, seeds=1, merges=200, train_bytes=200_000, sample_bytes=100_000, log=lambda *a: None)
    assert out["mean_mse"] < 5e-3, out


def test_self_test_meets_the_target_on_five_categories():
    """The issue's validation target: MSE <= 1e-4 for 3-5 categories at the data sizes available
    here (the documented default: 5 local categories, T = 1000, 4 MB training, 2 MB samples)."""
    from tokbench.mixture.selftest import self_test

    out = self_test(seeds=1, log=lambda *a: None)
    row = out["per_seed"][0]
    assert len(out["categories"]) == 5 and row["merges"] == 1000 and row["unverified"] == 0
    assert out["mean_mse"] < 1e-4, out


def _suite(tmp_path: Path, cats: str, tokenizers='["gpt2"]') -> Path:
    p = tmp_path / "mix.toml"
    p.write_text(f'[suite]\nname = "mixtest"\nkind = "mixture"\ntokenizers = {tokenizers}\nmerges = 200\n{cats}',
                 encoding="utf-8")
    return p


def _cat_files(tmp_path: Path) -> str:
    code = tmp_path / "code.txt"
    code.write_text("".join(Path(p).read_text(encoding="utf-8", errors="replace")
                            for p in sorted(Path("/usr/lib/python3.11").glob("*.py"))[:15]), encoding="utf-8")
    return (f'[categories.code]\nfiles = ["{code}"]\nbytes = 60000\n'
            f'[categories.russian]\nudhr = ["ru"]\nbytes = 60000\n')


def test_suite_kind_through_executor(tmp_path):
    from tokbench.executor import execute
    from tokbench.kinds import RunOptions, load_any
    from tokbench.store import load_results

    kind, suite = load_any(_suite(tmp_path, _cat_files(tmp_path)))
    assert kind.name == "mixture"
    opts = RunOptions(results_dir=tmp_path / "res", progress=False, render=False)
    summary = execute(kind, suite, opts)
    assert summary.failed == [] and summary.rows == 2
    df = load_results(tmp_path / "res")
    df = df[df.metric == "mixture_weight"]
    assert sorted(df.corpus) == ["code", "russian"]
    assert set(df.variant) == {"weight"} and set(df.lang) == {"*"} and set(df.tokenizer) == {"gpt2"}
    assert abs(df.value.sum() - 1) < 1e-9
    params = json.loads(df.params.iloc[0])
    assert params["merges"] == 200 and "total_slack" in params and set(params["sample_bytes"]) == {"code", "russian"}
    again = execute(kind, suite, RunOptions(results_dir=tmp_path / "res", progress=False, render=False))
    assert again.rows == 0 and len(again.skipped) == 1


def test_bad_input(tmp_path):
    from tokbench.cli import EXIT_BAD_INPUT, main
    from tokbench.kinds import load_any
    from tokbench.mixture.selftest import CategorySpec, category_docs, read_categories

    cats = tmp_path / "cats.toml"
    cats.write_text('[categories.a]\nfiles = ["/nonexistent/*.txt"]\n[categories.b]\nudhr = ["en"]\n')
    with pytest.raises(BadInput, match="no file matches"):
        category_docs("a", read_categories(cats)["a"])
    assert main(["infer-mixture", "gpt2", "--categories", str(cats)]) == EXIT_BAD_INPUT
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(BadInput, match="no text"):
        category_docs("e", CategorySpec(files=[str(empty)]))
    assert main(["infer-mixture", "gpt2", "--categories", str(tmp_path / "missing.toml")]) == EXIT_BAD_INPUT
    good = tmp_path / "good.toml"
    good.write_text(_cat_files(tmp_path))
    assert main(["infer-mixture", "byt5", "--categories", str(good)]) == EXIT_BAD_INPUT
    with pytest.raises(BadInput, match="has no merge list"):
        load_any(_suite(tmp_path, _cat_files(tmp_path), tokenizers='["byt5"]'))[0].plan(
            load_any(_suite(tmp_path, _cat_files(tmp_path), tokenizers='["byt5"]'))[1], None)


def test_cli_infer_prints_weights(tmp_path, capsys):
    from tokbench.cli import main

    good = tmp_path / "good.toml"
    good.write_text(_cat_files(tmp_path))
    assert main(["infer-mixture", "gpt2", "--categories", str(good), "--merges", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["weights"]) == {"code", "russian"} and abs(sum(out["weights"].values()) - 1) < 1e-9
    # the lazy constraints converged: no pair beats a merge beyond the slack the LP paid for
    assert out["unverified_steps"] == 0 and out["merges"] == 100


def _brute_counts(words: dict[str, dict[tuple[bytes, ...], int]], merges, t: int) -> dict:
    """Pair -> per-category counts after applying merges[:t] left to right, written independently."""
    from collections import defaultdict

    out: dict = defaultdict(lambda: np.zeros(len(words)))
    for i, wc in enumerate(words.values()):
        for w, n in wc.items():
            sym = list(w)
            for a, b in merges[:t]:
                j, merged = 0, []
                while j < len(sym):
                    if j + 1 < len(sym) and sym[j] == a and sym[j + 1] == b:
                        merged.append(a + b)
                        j += 2
                    else:
                        merged.append(sym[j])
                        j += 1
                sym = merged
            for p in zip(sym, sym[1:]):
                out[p][i] += n
    return out


def test_history_sweep_finds_exactly_the_violating_pairs():
    """The count history replayed by ``sweep`` equals a recount from scratch at every step, and
    under a given mixture it returns exactly the pairs whose mixed count beats the merge's."""
    from tokbench.mixture.counts import record, sweep
    from tokbench.mixture.merges import word_counts
    from tokbench.mixture.selftest import train_bpe

    texts = {"py": [Path(p).read_text(encoding="utf-8", errors="replace")[:3000]
                    for p in sorted(Path("/usr/lib/python3.11").glob("*.py"))[:6]],
             "ru": ["Все люди рождаются свободными и равными в своем достоинстве и правах. " * 20]}
    ml = from_hf_json("tiny", tokenizer=train_bpe(texts["py"] + texts["ru"], 60))
    words = {c: word_counts(ml, d) for c, d in texts.items()}
    totals = {c: float(sum(len(x.encode()) for x in d)) for c, d in texts.items()}
    h = record(words, totals, ml.merges)
    assert h.steps == len(ml.merges) and (h.merge_id >= 0).all()
    alpha = np.array([0.3, 0.7])
    ids, counts, violated = sweep(h, k=10**6, alpha=alpha, slack_t=np.zeros(h.steps))
    tot = np.array(list(totals.values()))
    seen_violation = 0
    for t in range(h.steps):
        brute = _brute_counts(words, ml.merges, t)
        assert np.array_equal(h.merge[t], brute[ml.merges[t]])
        mixed_m = brute[ml.merges[t]] / tot @ alpha
        want = {p for p, c in brute.items() if p != ml.merges[t] and c / tot @ alpha > mixed_m * (1 + 1e-9)}
        got = {h.pairs[j] for j in ids[t]}
        assert got == want, t
        for j, c in zip(ids[t], counts[t]):
            assert np.array_equal(c, brute[h.pairs[j]])
        seen_violation += bool(want)
    assert violated == seen_violation > 0
    # initial constraints: per step the k pairs with the largest max_i c_i / B_i
    ids0, _, _ = sweep(h, k=3)
    brute = _brute_counts(words, ml.merges, 5)
    score = {p: (c / tot).max() for p, c in brute.items() if p != ml.merges[5] and c.max() > 0}
    best = sorted(score.values(), reverse=True)[:3]
    assert sorted((score[h.pairs[j]] for j in ids0[5]), reverse=True) == pytest.approx(best)
