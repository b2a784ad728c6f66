"""Character-level tasks: generators vs an independent gold, determinism, scorer, and the
tokenizer-side analysis on real tokenizers (byt5, gpt2), plus the CLI end to end."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from tokbench.chartasks import gold as gold_mod
from tokbench.chartasks.analysis import analyse, analyse_items
from tokbench.chartasks.generate import FAMILIES, SCRIPTS, generate, generate_all, lower, to_jsonl, word_list
from tokbench.chartasks.score import accuracy, chance_rate, normalise

LANGS = ("en", "tr", "ru", "de")


@pytest.fixture(scope="module")
def many():
    return {lang: generate_all([lang], FAMILIES, 300, seed=7) for lang in LANGS}


@pytest.mark.parametrize("lang", LANGS)
def test_gold_matches_independent_implementation(many, lang):
    items = many[lang]
    assert Counter(it["family"] for it in items) == {f: 300 for f in FAMILIES}
    for it in items:
        assert it["gold"] == gold_mod.gold(it), it


@pytest.mark.parametrize("lang", LANGS)
def test_item_fields(many, lang):
    import regex

    script = regex.compile(rf"\p{{{SCRIPTS[lang]}}}+")
    for it in many[lang]:
        w, q, c = it["word"], it["query_index"], it["char"]
        assert 3 <= len(w) <= 12 and w.isalpha() and script.fullmatch(w) and w == lower(w, lang)
        assert set(it) == {"id", "lang", "family", "seed", "word", "char", "positions", "prompt", "gold", "query_index"}
        assert it["seed"] == 7 and it["lang"] == lang and w in it["prompt"]
        fam = it["family"]
        if fam in ("count_char", "first_index"):
            assert q == w.index(c)
        elif fam == "last_index":
            assert q == w.rindex(c)
        elif fam == "contains":
            assert q == (w.index(c) if c in w else None)
        elif fam in ("insert", "delete", "substitute", "swap"):
            assert q == it["positions"][0] and 0 <= q < len(w)
        else:
            assert q is None
        if fam == "swap":
            i, j = it["positions"]
            assert i < j and w[i] != w[j]
        if fam == "substitute":
            assert c != w[it["positions"][0]]
    assert len({it["id"] for it in many[lang]}) == len(many[lang])


def test_turkish_lowercasing():
    assert lower("IŞIK", "tr") == "ışık" and lower("İSTANBUL", "tr") == "istanbul"
    assert lower("ISTANBUL", "en") == "istanbul"
    words = word_list("tr")
    assert all("\u0307" not in w and "I" not in w for w in words)
    assert any("ı" in w for w in words)
    ru = word_list("ru")
    assert ru and all(not any("a" <= ch <= "z" for ch in w) for w in ru)


def test_determinism():
    a = generate_all(["en", "tr"], FAMILIES, 50, seed=3)
    b = generate_all(["en", "tr"], FAMILIES, 50, seed=3)
    c = generate_all(["en", "tr"], FAMILIES, 50, seed=4)
    assert a == b and to_jsonl(a) == to_jsonl(b)
    assert [x["word"] for x in a] != [x["word"] for x in c]
    # a family's stream does not depend on which other families are generated
    assert generate("en", "swap", 50, seed=3) == [it for it in a if it["lang"] == "en" and it["family"] == "swap"]


def test_contains_balanced():
    for n in (2, 100, 301):
        items = generate("tr", "contains", n, seed=1)
        yes = sum(it["gold"] == "yes" for it in items)
        assert yes == (n + 1) // 2


def test_oracle_and_constant_models(many):
    items = [it for lang in ("en", "tr", "ru") for it in many[lang]]
    acc = accuracy(items, [it["gold"] for it in items])
    assert acc == {f: (1.0, 900) for f in FAMILIES}
    # answers by id, with formatting noise the normaliser removes
    def upper(s, lang):  # Turkish: i -> İ, ı -> I
        return (s.replace("i", "İ").replace("ı", "I") if lang == "tr" else s).upper()

    noisy = {it["id"]: f"  {upper(it['gold'], it['lang'])}. " for it in items}
    assert all(v == 1.0 for v, _ in accuracy(items, noisy).values())
    consts = {"contains": "yes", "count_char": "1", "count_unique": "5", "first_index": "0", "last_index": "0",
              "spell": "a", "insert": "x", "delete": "x", "substitute": "x", "swap": "x"}
    acc = accuracy(items, [consts[it["family"]] for it in items])
    for fam in FAMILIES:
        fam_items = [it for it in items if it["family"] == fam]
        expected = sum(it["gold"] == consts[fam] for it in fam_items) / len(fam_items)
        assert acc[fam] == (pytest.approx(expected), len(fam_items))
    assert acc["contains"][0] == 0.5 == chance_rate("contains")
    assert chance_rate("spell") is None
    assert accuracy(items[:2], {}) == {items[0]["family"]: (0.0, 2)}


def test_normalise():
    assert normalise(" S  T r ", "spell") == "str" == normalise("str", "spell")
    assert normalise("s-t-r", "spell") != "str"
    assert normalise(' "Yes." ', "contains") == "yes"
    assert normalise("a  b", "insert") == "a b"
    assert normalise("IŞIK", "spell", "tr") == "ışık" and normalise("IŞIK", "spell") == "işik"


@pytest.fixture(scope="module")
def byt5():
    from tokbench.registry import get_tokenizer

    return get_tokenizer("byt5")


@pytest.fixture(scope="module")
def gpt2():
    from tokbench.registry import get_tokenizer

    return get_tokenizer("gpt2")


def test_byt5_every_char_is_its_own_token(byt5, many):
    items = many["en"] + many["tr"]
    recs = analyse_items(byt5, items)
    for it, r in zip(items, recs):
        assert r["tokens"] == len(it["word"].encode("utf-8"))
        if it["query_index"] is not None:
            c = it["word"][it["query_index"]]
            assert r["inside_multichar"] is False and r["token_len"] == 1 and r["pos_in_token"] == 0
            assert r["starts_token"] is True
            assert r["char_split"] is (len(c.encode("utf-8")) > 1)
    rows = analyse(byt5, many["en"])
    en_words = {it["word"] for it in many["en"]}
    assert all(w.isascii() for w in en_words)
    for r in rows:
        if r["metric"] == "char_task_inside_multichar":
            assert r["value"] == 0.0
    per_word = {r["variant"]: r for r in rows if r["metric"] == "char_task_tokens_per_word"}
    assert per_word["all"]["value"] == pytest.approx(sum(map(len, en_words)) / len(en_words))
    assert per_word["all"]["n"] == len(en_words)


def _expected(tok, word, q):
    """Hand computation from token_bytes: holding token of character q of an ASCII word."""
    pieces = [tok.token_bytes(i).decode("utf-8") for i in tok.encode_batch([word])[0]]
    assert "".join(pieces) == word
    pos = 0
    for p in pieces:
        if pos <= q < pos + len(p):
            return len(pieces), p, len(p), q - pos
        pos += len(p)
    raise AssertionError


@pytest.mark.parametrize("word,char,nth", [("strawberry", "r", 3), ("strawberry", "r", 1), ("mississippi", "s", 4),
                                           ("bookkeeper", "e", 2), ("banana", "a", 3)])
def test_gpt2_hand_checked(gpt2, word, char, nth):
    q = [k for k, c in enumerate(word) if c == char][nth - 1]
    n_tok, piece, plen, pos = _expected(gpt2, word, q)
    rec = analyse_items(gpt2, [{"id": "x-y-0-0", "lang": "en", "family": "first_index", "word": word,
                                "query_index": q}])[0]
    assert rec["tokens"] == n_tok and rec["token_len"] == plen and rec["pos_in_token"] == pos
    assert rec["inside_multichar"] == (plen > 1) and rec["starts_token"] == (pos == 0)
    if word == "strawberry" and nth == 3:  # gpt2: st|raw|berry -> the 3rd r is "berry"[3]
        assert (piece, pos) == ("berry", 3)


def test_gpt2_turkish_multibyte(gpt2):
    # 'ı' (2 bytes) is one gpt2 token in "ışık"; every char is a 1-char token there
    rec = analyse_items(gpt2, [{"id": "a-b-0-0", "lang": "tr", "family": "first_index", "word": "ışık",
                                "query_index": 2}])[0]
    assert rec["tokens"] == len(gpt2.encode_batch(["ışık"])[0])
    assert rec["token_len"] >= 1 and rec["char_split"] in (True, False)


def test_cli_end_to_end(tmp_path):
    from tokbench.cli import main
    from tokbench.schema import COLUMNS, SCHEMA_VERSION
    from tokbench.store import load_results

    out, res = tmp_path / "items.jsonl", tmp_path / "results"
    rc = main(["chartasks", "--tokenizer", "gpt2", "--tokenizer", "byt5", "--lang", "en", "--lang", "tr",
               "--items", "20", "--seed", "5", "--out", str(out), "--results-dir", str(res)])
    assert rc == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 * len(FAMILIES) * 20
    items = [json.loads(x) for x in lines]
    assert items == generate_all(["en"], FAMILIES, 20, 5) + generate_all(["tr"], FAMILIES, 20, 5)
    df = load_results(res)
    assert list(df.columns) == list(COLUMNS)
    assert set(df.tokenizer) == {"gpt2", "byt5"} and set(df.lang) == {"en", "tr"}
    assert set(df.corpus) == {"chartasks-en", "chartasks-tr"}
    assert (df.suite == "chartasks").all() and (df.suite_version == "1").all()
    assert (df.schema_version == SCHEMA_VERSION).all() and df.run_id.nunique() == 1
    required = [c for c in COLUMNS if c not in ("model", "ci_low", "ci_high", "note")]
    assert not df[required].isna().any().any()
    import hashlib

    en_hash = hashlib.sha256(to_jsonl(generate_all(["en"], FAMILIES, 20, 5)).encode()).hexdigest()
    assert set(df[df.corpus == "chartasks-en"].corpus_hash) == {en_hash}
    from tokbench.registry import resolve

    assert set(df[df.tokenizer == "gpt2"].tokenizer_hash) == {resolve("gpt2").fingerprint()}
    b = df[(df.tokenizer == "byt5") & (df.metric == "char_task_inside_multichar")]
    assert set(b.variant) == set(FAMILIES) - {"count_unique", "spell"} and (b.value == 0).all()
    assert {"char_task_tokens_per_word", "char_task_inside_multichar", "char_task_token_len"} <= set(df.metric)
    assert json.loads(df.params.iloc[0])["seed"] == 5
