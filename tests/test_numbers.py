"""numbers-v1: the seeded number-context generator and the digit metrics (tokbench.metrics.digits).

Known answers (issue 15): llama3 and cl100k_base never emit a token of more than 3 digits and
chunk left to right; gpt2 emits longer digit tokens; a single-digit tokenizer has place-value
recall 1.0. Every metric is also recomputed here by a direct method: the tokens' bytes laid end
to end (tiktoken tokenizers: their bytes concatenate to the text) and a character loop.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from tokbench.corpora import Corpus, CorpusSpec, load_corpus
from tokbench.metrics import get_metric
from tokbench.metrics.base import MetricInput, merge_stats
from tokbench.metrics.digits import classify

DIGIT_METRICS = ("digit_chunking", "place_value_f1", "number_consistency", "tokens_per_digit")


@functools.lru_cache(maxsize=None)
def tok(name: str):
    from tokbench.registry import get_tokenizer, resolve

    return get_tokenizer(resolve(name))


@functools.lru_cache(maxsize=None)
def numbers_corpus(seed: int = 3, n: int = 6) -> Corpus:
    return load_corpus("numbers", CorpusSpec(source="numbers", seed=seed, n=n))


@functools.lru_cache(maxsize=None)
def tokenized(name: str, seed: int = 3, n: int = 6):
    from tokbench.tokenize import tokenize_corpus

    return tokenize_corpus(tok(name), numbers_corpus(seed, n), use_cache=False)


def values(name: str, metric: str, tc=None, **params):
    tc = tokenized(name) if tc is None else tc
    return get_metric(metric).compute(MetricInput(tc, params))


# ----------------------------------------------------------------------------- the generator
def test_generator_is_deterministic_and_its_parameters_are_hashed():
    a, b = numbers_corpus(3, 6), load_corpus("numbers", CorpusSpec(source="numbers", seed=3, n=6))
    assert a.text == b.text and a.hash == b.hash
    other_seed = load_corpus("numbers", CorpusSpec(source="numbers", seed=4, n=6))
    assert other_seed.hash != a.hash and other_seed.text != a.text
    more = load_corpus("numbers", CorpusSpec(source="numbers", seed=3, n=7))
    assert len(more) == len(a) // 6 * 7
    # adding documents never changes the earlier ones of a (language, family) stream
    assert more.text[:6] == a.text[:6]
    ctx = load_corpus("numbers", CorpusSpec(source="numbers", seed=3, n=6, contexts=2))
    assert ctx.hash != a.hash and all(t.count("\n") == 1 for t in ctx.text)
    assert a.key[0] == "v1.s3.c3.en.integer.0000"
    assert a.source == "numbers(v1, seed=3, n=6, contexts=3)"


def test_generator_covers_families_languages_and_scripts():
    from tokbench.corpora_numbers import FAMILIES, LANGS, group_digits

    c = numbers_corpus()
    assert c.langs == list(LANGS)
    fams = {(k.split(".")[3], k.split(".")[4]) for k in c.key}
    for lang in LANGS:
        for fam in FAMILIES[:-1]:
            assert (lang, fam) in fams
    assert {lang for lang, fam in fams if fam == "native_digits"} == {"hi", "ar", "fa", "ja", "zh"}
    text = "\n".join(c.text)
    for ch in ("\u202f", "\u2009", "\u066c", "\u0663", "\u06f3", "\u0969", "\uff13", "\u2212", "e", "%"):
        assert ch in text, ch
    # every line of a document holds the same generated item: the digits of its lines agree
    import re
    for t in c.text:
        lines = [re.findall(r"\d+", line) for line in t.split("\n")]
        assert all(x == lines[0] for x in lines) and lines[0]
    # integer lengths span 1..20 digits
    en = load_corpus("n", CorpusSpec(source="numbers", seed=0, n=200, langs=["en"]))
    ints = [t.split("\n")[0] for k, t in zip(en.key, en.text) if ".integer." in k]
    lens = {len(m) for line in ints for m in re.findall(r"\d+", line)}
    assert min(lens) == 1 and max(lens) == 20
    assert group_digits("123456789", ",", indian=True) == "12,34,56,789"
    assert group_digits("1234567", "\u202f") == "1\u202f234\u202f567"


def test_numbers_spec_bad_input():
    from pydantic import ValidationError

    from tokbench.errors import CorpusError

    with pytest.raises(ValidationError, match="`seed`, `n` and `contexts` are for `numbers` corpora"):
        CorpusSpec(source="udhr", seed=1)
    with pytest.raises(ValidationError, match="at least 1"):
        CorpusSpec(source="numbers", n=0)
    with pytest.raises(ValidationError, match="at most 5"):
        CorpusSpec(source="numbers", contexts=6)
    with pytest.raises(CorpusError, match=r"'eng' \(did you mean 'en'\?\)"):
        load_corpus("numbers", CorpusSpec(source="numbers", langs=["eng"]))


def test_bad_numbers_suite_exits_2(tmp_path, capsys):
    from tokbench.cli import main

    suite = tmp_path / "bad-numbers.toml"
    suite.write_text('[suite]\nname = "s"\ntokenizers = ["gpt2"]\nmetrics = ["digit_chunking"]\n'
                     '[corpora.numbers]\nsource = "numbers"\nn = 0\n')
    assert main(["run", str(suite), "--results-dir", str(tmp_path / "r"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokbench: error: ") and str(suite) in err and "at least 1" in err
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.parquet"))


# ----------------------------------------------------------------------------- known answers
def _digit_token_lengths(name: str) -> set[int]:
    """ASCII digits in each token the tokenizer emitted on the corpus, by decoding every id alone."""
    tc = tokenized(name)
    out = set()
    for i in np.unique(tc.ids).tolist():
        b = tok(name).token_bytes(int(i))
        run = max((len(x) for x in bytes(c if 48 <= c <= 57 else 32 for c in b).split()), default=0)
        out.add(run)
    return out


@pytest.mark.parametrize("name", ["llama3", "cl100k_base"])
def test_llama3_and_cl100k_chunk_left_to_right_in_threes(name):
    assert max(_digit_token_lengths(name)) == 3  # never a token of more than 3 digits
    v = values(name, "digit_chunking")
    assert v["pattern"].value == 3 and v["pattern"].params["pattern"] == "L2R-3"
    assert v["pattern"].params["share"] == 1.0 and not v["pattern"].params["undetermined_direction"]
    assert v["max_digits"].value == 3
    assert [t for t in (tok(name).token_bytes(i) for i in tok(name).encode_batch(["1234567"])[0])] == \
        [b"123", b"456", b"7"]


def test_gpt2_emits_longer_digit_tokens():
    assert max(_digit_token_lengths("gpt2")) >= 4
    v = values("gpt2", "digit_chunking")
    assert v["max_digits"].value >= 4 and v["pattern"].params["pattern"] == "irregular"
    assert v["share_4"].value > 0


@pytest.mark.parametrize("name", ["byt5", "llama2"])
def test_single_digit_tokenizers_have_place_value_recall_1(name):
    pv = values(name, "place_value_f1")
    assert pv["recall"].value == 1.0 and pv["recall"].n > 100
    ch = values(name, "digit_chunking")
    assert ch["pattern"].value == 1 and ch["pattern"].params["pattern"] == "single-digit"
    assert ch["share_1"].value == 1.0


def test_classify():
    z = np.zeros(6, np.int64)
    l2r, r2l = z.copy(), z.copy()
    l2r[3], r2l[3] = 97, 40
    assert classify(l2r, r2l, 100, 0.95) == ("L2R-3", 3, 0.97)
    assert classify(r2l, l2r, 100, 0.95) == ("R2L-3", -3, 0.97)
    assert classify(l2r, r2l, 100, 0.99) == ("irregular", 0, 0.97)
    ones = z.copy()
    ones[1:] = 50  # single digits fit k = 1 only ... and every longer k on runs shorter than k
    ones[1] = 100
    assert classify(ones, ones, 100, 0.95)[:2] == ("single-digit", 1)


# ----------------------------------------------------------------------------- independent recomputation
HAND = [
    ("en", "a", "Total: 1234567 and 89.\n1234567 people, ref #1234567"),
    ("en", "b", "Pi is 3.14159265 and 12,345,678.5 or 2024-03-05 at 12:30:45; 6.022e23"),
    ("de", "c", "Summe 98765432101234 und 98765432101234 sowie x98765432101234"),
]


def _direct(name: str, text: str):
    """(runs, token spans) by a direct method: tiktoken token bytes laid end to end, and a
    character loop for the digit runs (ASCII text only)."""
    ids = tok(name).encode_batch([text])[0]
    pieces = [tok(name).token_bytes(i) for i in ids]
    assert b"".join(pieces) == text.encode()
    spans, pos = [], 0
    for p in pieces:
        spans.append((pos, pos + len(p)))
        pos += len(p)
    runs, i = [], 0
    while i < len(text):
        if text[i].isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs, spans


def _expected(name: str):
    tp = fp = fn = 0
    hist: dict[int, int] = {}
    tokens = digits = 0
    numbers = consistent = 0
    for _, _, text in HAND:
        runs, spans = _direct(name, text)
        starts = {s for s, _ in spans}
        seen: dict[str, set] = {}
        counts: dict[str, int] = {}
        for a, b in runs:
            n = b - a
            cuts = [p for p in range(1, n) if a + p in starts]
            frac = a >= 2 and text[a - 1] in ".," and text[a - 2].isdigit()
            gold = [p for p in range(1, n) if (p % 3 == 0 if frac else (n - p) % 3 == 0)]
            tp += len(set(cuts) & set(gold))
            fp += len(set(cuts) - set(gold))
            fn += len(set(gold) - set(cuts))
            edges = [0, *cuts, n]
            for x, y in zip(edges, edges[1:]):
                hist[y - x] = hist.get(y - x, 0) + 1
            tokens += sum(1 for s, e in spans if s < b and e > a)
            digits += n
            seen.setdefault(text[a:b], set()).add(tuple(cuts))
            counts[text[a:b]] = counts.get(text[a:b], 0) + 1
        for num, pats in seen.items():
            if counts[num] >= 2:
                numbers += 1
                consistent += len(pats) == 1
    return {"f1": 2 * tp / (2 * tp + fp + fn), "recall": tp / (tp + fn), "precision": tp / (tp + fp),
            "hist": hist, "tpd": tokens / digits, "consistency": consistent / numbers, "numbers": numbers}


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "llama3"])
def test_metrics_match_a_direct_recomputation(name):
    from tokbench.tokenize import tokenize_corpus

    corpus = Corpus.from_records("hand", [{"lang": l, "key": k, "text": t} for l, k, t in HAND])
    tc = tokenize_corpus(tok(name), corpus, use_cache=False)
    exp = _expected(name)
    pv = values(name, "place_value_f1", tc)
    assert pv["f1"].value == pytest.approx(exp["f1"])
    assert pv["recall"].value == pytest.approx(exp["recall"])
    assert pv["precision"].value == pytest.approx(exp["precision"])
    ch = values(name, "digit_chunking", tc)
    total = sum(exp["hist"].values())
    assert ch["max_digits"].value == max(exp["hist"])
    for k in (1, 2, 3, 4):
        assert ch[f"share_{k}"].value == pytest.approx(exp["hist"].get(k, 0) / total)
    assert values(name, "tokens_per_digit", tc)["micro"].value == pytest.approx(exp["tpd"])
    cons = values(name, "number_consistency", tc)["micro"]
    assert cons.value == pytest.approx(exp["consistency"]) and cons.n == exp["numbers"]


def test_known_cuts_on_hand_text():
    """Fixed answers, written out: cl100k cuts 98765432101234 as 987|654|321|012|34 everywhere;
    gpt2 cuts it differently after a space than after a letter."""
    from tokbench.tokenize import tokenize_corpus

    corpus = Corpus.from_records("hand", [{"lang": "de", "text": HAND[2][2]}])
    cl = tokenize_corpus(tok("cl100k_base"), corpus, use_cache=False)
    v = values("cl100k_base", "place_value_f1", cl)
    # 3 runs of 14 digits: cuts {3,6,9,12} vs gold {2,5,8,11}: no hit
    assert (v["f1"].params["tp"], v["f1"].params["fp"], v["f1"].params["fn"]) == (0, 12, 12)
    assert values("cl100k_base", "number_consistency", cl)["micro"].value == 1.0
    g = tokenize_corpus(tok("gpt2"), corpus, use_cache=False)
    pieces = [tok("gpt2").token_bytes(i) for i in g.ids.tolist()]
    assert pieces == [b"Sum", b"me", b" 9", b"87", b"65", b"43", b"21", b"01", b"234",
                      b" und", b" 9", b"87", b"65", b"43", b"21", b"01", b"234",
                      b" sow", b"ie", b" x", b"98", b"765", b"43", b"21", b"01", b"234"]
    # cuts (1,3,5,7,9,11) twice and (2,5,7,9,11) after the letter; gold (2,5,8,11)
    v = values("gpt2", "place_value_f1", g)
    assert (v["f1"].params["tp"], v["f1"].params["fp"], v["f1"].params["fn"]) == (2 + 2 + 3, 4 + 4 + 2, 2 + 2 + 1)
    cons = values("gpt2", "number_consistency", g)
    assert cons["micro"].value == 0.0 and cons["occurrences"].value == pytest.approx(2 / 3)
    ch = values("gpt2", "digit_chunking", g)
    assert ch["mean_digits"].value == pytest.approx(42 / 20) and ch["max_digits"].value == 3
    assert values("gpt2", "tokens_per_digit", g)["micro"].value == pytest.approx(20 / 42)


# ----------------------------------------------------------------------------- additivity
@pytest.mark.parametrize("metric", DIGIT_METRICS)
def test_stats_add_up_over_shards(metric):
    tc = tokenized("gpt2")
    m = get_metric(metric)
    params = dict(m.default_params)
    half = tc.n_docs // 3
    a = m.stats(MetricInput(tc.select(np.arange(half)), params))
    b = m.stats(MetricInput(tc.select(np.arange(half, tc.n_docs)), params))
    whole = m.stats(MetricInput(tc.select(np.arange(tc.n_docs)), params))
    merged = merge_stats(a, b)
    assert merged.keys() == whole.keys()
    for k in whole:
        assert np.array_equal(np.asarray(merged[k]), np.asarray(whole[k])), k


def test_without_spans_values_are_nan_with_a_note():
    tc = tokenized("gpt2")
    from dataclasses import replace

    bare = replace(tc, tok_start=np.zeros(0, np.int64), tok_end=np.zeros(0, np.int64))
    for metric in DIGIT_METRICS:
        vals = values("gpt2", metric, bare)
        assert set(vals) == set(get_metric(metric).variants)
        assert all(np.isnan(v.value) and "no token spans" in v.params["note"] for v in vals.values())


def test_cache_roundtrip_keeps_spans_and_text(tmp_path):
    from tokbench.tokenized import TokenizedCorpus

    tc = tokenized("cl100k_base")
    tc.save(tmp_path / "tc.npz")
    back = TokenizedCorpus.load(tmp_path / "tc.npz")
    assert back.has_spans and back.has_text
    assert back.doc_text(5) == numbers_corpus().text[5]
    assert values("cl100k_base", "place_value_f1", back)["f1"].value == values("cl100k_base", "place_value_f1")["f1"].value


# ----------------------------------------------------------------------------- suite, rows, plot
def test_suite_runs_end_to_end_and_plots(tmp_path):
    from tokbench.cli import main
    from tokbench.store import load_results

    suite = tmp_path / "numbers-mini.toml"
    suite.write_text('[suite]\nname = "numbers-mini"\ntokenizers = ["cl100k_base", "byt5"]\n'
                     'metrics = ["digit_chunking", "place_value_f1", "number_consistency", "tokens_per_digit"]\n'
                     '[corpora.numbers]\nsource = "numbers"\nseed = 3\nn = 2\nlangs = ["en", "ar"]\n')
    results = tmp_path / "results"
    assert main(["run", str(suite), "--results-dir", str(results), "-q"]) == 0
    df = load_results(results)
    star = df[(df["lang"] == "*") & (df["metric"] == "digit_chunking") & (df["variant"] == "pattern")]
    assert dict(zip(star["tokenizer"], star["value"])) == {"cl100k_base": 3.0, "byt5": 1.0}
    assert '"pattern": "L2R-3"' in star[star["tokenizer"] == "cl100k_base"]["params"].iloc[0]
    ar = df[(df["lang"] == "ar") & (df["metric"] == "tokens_per_digit")]
    assert set(ar["variant"]) == {"micro", "ascii", "arabic_indic", "devanagari", "fullwidth"}
    assert ar[ar["variant"].isin(["devanagari", "fullwidth"])]["value"].isna().all()  # no such digits in ar
    assert float(ar[(ar["tokenizer"] == "byt5") & (ar["variant"] == "arabic_indic")]["value"].iloc[0]) == 2.0
    assert (results / "leaderboard" / "digit_chunking_stack.png").exists()
