"""The position rules of %LANG / %Pure (tokbench.metrics.lexicon_rules, metric version 2),
`tokbench explain`, and the acceptance checks of issue 11 part 4: byt5 ranks last, a root +
suffix tokenizer built from zemberek's lexicon scores clearly above byte-level BPE."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tokbench.cli import EXIT_BAD_INPUT, main
from tokbench.linguistic import is_excluded, normalize_token
from tokbench.metrics import METRICS
from tokbench.metrics.base import MetricInput
from tokbench.metrics.lexicon_rules import FINAL, INITIAL, token_positions, verdict
from tokbench.tokenized import TokenizedCorpus

pytest.importorskip("spylls")
pytest.importorskip("wordfreq")
MORPH = f"py:{Path(__file__).resolve().parent / 'fixtures' / 'pytok' / 'zemberek_morph.py'}:ZemberekMorph"
PARAMS = {"backend": "zemberek+hunspell"}
WHOLE, MED = INITIAL | FINAL, 0


def span_tc(text: str, cuts: list[int], ids: list[int], texts: dict[int, str]) -> TokenizedCorpus:
    """One document ``text`` cut at character offsets ``cuts`` into tokens ``ids``."""
    bounds = [0, *cuts, len(text)]
    byte = [len(text[:k].encode("utf-8")) for k in bounds]
    ids_a = np.asarray(ids, np.int64)
    type_ids = np.unique(ids_a)
    raw = text.encode("utf-8")
    return TokenizedCorpus(
        lang=np.asarray(["tr"]), doc_key=np.asarray(["d0"]), n_bytes=np.asarray([len(raw)]),
        n_chars=np.asarray([len(text)]), n_words=np.ones(1, np.int64), n_tokens=np.asarray([len(ids)]),
        roundtrip_ok=np.ones(1, bool), unk_chars=np.zeros(1, np.int64), ids=ids_a,
        tok_offsets=np.asarray([0, len(ids)]), tok_nwords=np.ones(len(ids), np.int64),
        word_ntok=np.zeros(0, np.int64), word_iso_ntok=np.zeros(0, np.int64), word_offsets=np.zeros(2, np.int64),
        type_ids=type_ids, type_text=np.asarray([texts[i] for i in type_ids.tolist()], dtype=str),
        tok_start=np.asarray(byte[:-1], np.int64), tok_end=np.asarray(byte[1:], np.int64),
        text_utf8=np.frombuffer(raw, np.uint8), meta={"vocab_size": max(ids) + 1},
    )


# "evlerde o Türkiye'nin ışığı": tokens ev|ler|de| o| Türkiye|'|nin| ı|ş|ığı
TEXT = "evlerde o Türkiye'nin ışığı"
CUTS = [2, 5, 7, 9, 17, 18, 21, 23, 24]
TOKS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
TOK_TEXT = {0: "ev", 1: "ler", 2: "de", 3: " o", 4: " Türkiye", 5: "'", 6: "nin", 7: " ı", 8: "ş", 9: "ığı"}


def test_positions_from_spans():
    flags, from_spans = token_positions(span_tc(TEXT, CUTS, TOKS, TOK_TEXT))
    assert from_spans
    # ev starts a word; ler inside; de ends it; " o" is a whole word; Türkiye starts a word (the
    # apostrophe between letters is inside the word, so Türkiye is not final); "'" has no letter;
    # nin ends the word after the apostrophe; ı starts, ş inside, ığı ends ışığı (2-byte letters)
    assert flags.tolist() == [INITIAL, MED, FINAL, WHOLE, INITIAL, 0, FINAL, INITIAL, MED, FINAL]


def test_positions_from_texts_without_spans():
    tc = span_tc(TEXT, CUTS, TOKS, TOK_TEXT)
    tc.tok_start, tc.tok_end = np.zeros(0, np.int64), np.zeros(0, np.int64)
    flags, from_spans = token_positions(tc)
    assert not from_spans
    # from the texts alone: the same, except that "'" before nin reads as a boundary (no context)
    # so Türkiye ends a word and nin starts one
    assert flags.tolist() == [INITIAL, MED, FINAL, WHOLE, WHOLE, 0, FINAL | INITIAL, INITIAL, MED, FINAL]
    wp = span_tc("evler", [2], [0, 1], {0: "ev", 1: "##ler"})
    wp.tok_start = np.zeros(0, np.int64)
    assert token_positions(wp)[0].tolist() == [INITIAL, FINAL]


@pytest.mark.parametrize("need, text, pos, ok", [
    ("morphemes", "ev", INITIAL, True),          # root at the start of a word
    ("morphemes", "ev", MED, False),             # the same string inside a word: a fragment
    ("morphemes", "ler", MED, True),             # plural suffix inside a word
    ("morphemes", "ler", FINAL, True),
    ("morphemes", "ler", INITIAL, False),        # an affix does not start a word
    ("morphemes", "i", FINAL, True),             # accusative -i, word-final
    ("morphemes", "i", MED, False),              # single letter inside a word
    ("morphemes", "ı", INITIAL, False),
    ("morphemes", "o", WHOLE, True),             # the pronoun o: a one-letter root as a whole word
    ("morphemes", "o", INITIAL, False),
    ("morphemes", "ını", FINAL, False),          # -ı + -nı: across a morpheme boundary
    ("morphemes", "evler", WHOLE, False),        # two morphemes
    ("words", "ev", INITIAL, True),
    ("words", "evler", WHOLE, True),
    ("words", "ev", MED, False),                 # a word string inside a word is not a word token
    ("words", "ler", FINAL, False),
    ("words", "o", WHOLE, True),
    ("words", "o", INITIAL, False),              # single letter that is not the whole word
    ("words", "e", MED, False),
])
def test_verdicts(tr, need, text, pos, ok):
    got, why = verdict(tr, need, text, pos)
    assert got is ok, why


def test_reasons_name_the_backend(tr):
    assert verdict(tr, "morphemes", " ev", INITIAL)[1] == "initial: root (zemberek)"
    assert verdict(tr, "morphemes", "ler", FINAL)[1] == "final: suffix (zemberek)"
    assert verdict(tr, "words", " Ev", WHOLE)[1] == "whole word: word (hunspell:tr_TR accepts 'ev')"
    assert tr.morpheme_kinds("de") == {"root": "zemberek", "affix": "zemberek"}
    assert tr.word_source("xqzt") is None


def test_type_verdict_is_the_majority_of_occurrences(tr):
    text = "ev evi sev biri iri"
    # tokens: ev| ev|i| s|ev| b|i|r|i| i|r|i  (spans give the positions; the texts only name the ids)
    cuts = [2, 5, 6, 8, 10, 12, 13, 14, 15, 17, 18]
    ids = [0, 0, 1, 2, 0, 3, 1, 4, 1, 1, 4, 1]
    tc = span_tc(text, cuts, ids, {0: "ev", 1: "i", 2: " s", 3: " b", 4: "r"})
    flags = token_positions(tc)[0].tolist()
    assert flags == [WHOLE, INITIAL, FINAL, INITIAL, FINAL, INITIAL, MED, MED, FINAL, INITIAL, MED, FINAL]
    pure = METRICS["pure_token_share"].compute(MetricInput(tc, PARAMS))
    # ev: root at a word start twice (pure), inside "sev" once (not): 2/3, a majority -> pure type.
    # i: word-final x3 (accusative: pure), inside "biri" x1 and starting "iri" x1 (single letters:
    # not): 3/5 -> pure type. s, b (single letters), r (a suffix only word-finally; here inside): not.
    # types 2/5; tokens (2 + 3) / 12
    assert pure["types"].value == pytest.approx(2 / 5) and pure["types"].params["pure_types"] == 2
    assert pure["tokens"].value == pytest.approx(5 / 12)
    lang = METRICS["lang_token_share"].compute(MetricInput(tc, PARAMS))
    # words: ev whole + ev initial (hunspell ev) = 2 of 3 -> type; i, s, b, r: single letters never
    # whole words here. types 1/5, tokens 2/12
    assert lang["types"].value == pytest.approx(1 / 5) and lang["tokens"].value == pytest.approx(2 / 12)


def _measure(name: str):
    from tokbench.corpora import load_udhr
    from tokbench.registry import get_tokenizer, resolve
    from tokbench.tokenize import tokenize_corpus

    spec = resolve(name)
    tc = tokenize_corpus(lambda: get_tokenizer(spec), load_udhr(langs=["tr"]), tokenizer_hash=spec.fingerprint(),
                         segmenters={"tr": "whitespace"})
    return tc, {m: METRICS[m].compute(MetricInput(tc, PARAMS)) for m in ("lang_token_share", "pure_token_share")}


@pytest.fixture(scope="module")
def udhr_scores(tr):
    return {n: _measure(n) for n in ("byt5", "gpt2", "cl100k_base", "llama3", "xlm-roberta", MORPH)}


def test_byt5_last_and_morph_tokenizer_clearly_above_byte_level_bpe(udhr_scores, capsys):
    val = {n: (r["lang_token_share"]["types"].value, r["pure_token_share"]["types"].value)
           for n, (_, r) in udhr_scores.items()}
    with capsys.disabled():
        print("\n" + "\n".join(f"{n[-12:]:>12}: %TR {a:.4f} %Pure {b:.4f}" for n, (a, b) in val.items()))
    for k in (0, 1):
        assert min(val, key=lambda n: val[n][k]) == "byt5"
        assert val["byt5"][k] == 0.0  # single bytes: no letter is a whole word or a word-final suffix by majority
        for bpe in ("gpt2", "cl100k_base", "llama3"):  # byte-level BPE
            assert val[MORPH][k] > val[bpe][k] + 0.25, (k, bpe)


def _direct_pure_types(tc, tr) -> tuple[int, int]:
    """%Pure types recomputed by walking each token's text in its document with str.isalpha."""
    from collections import Counter

    kept, hit = Counter(), Counter()
    type_text = dict(zip(tc.type_ids.tolist(), tc.type_text.tolist()))
    for d in range(tc.n_docs):
        raw = tc.doc_text(d).encode("utf-8")
        s, e = tc.doc_spans(d)
        for i, a, b in zip(tc.doc_ids(d).tolist(), s.tolist(), e.tolist()):
            if is_excluded(normalize_token(type_text[i], "tr")):
                continue
            before = raw[:a].decode("utf-8", "ignore")
            piece = raw[a:b].decode("utf-8", "ignore")
            after = raw[b:].decode("utf-8", "ignore")
            lead = piece[: len(piece) - len(piece.lstrip())]
            init = bool(lead) or not piece or not before or not (before[-1].isalpha() or (
                before[-1] in "'’" and len(before) > 1 and before[-2].isalpha() and piece[:1].isalpha()))
            fin = not after or not after[0].isalpha()
            pos = (INITIAL if init else 0) | (FINAL if fin else 0)
            kept[i] += 1
            hit[i] += verdict(tr, "morphemes", type_text[i], pos)[0]
    return sum(2 * hit[i] > kept[i] for i in kept), len(kept)


def test_pure_types_recomputed_directly(udhr_scores, tr):
    tc, r = udhr_scores["llama3"]
    hits, kept = _direct_pure_types(tc, tr)
    assert r["pure_token_share"]["types"].n == kept
    assert r["pure_token_share"]["types"].params["pure_types"] == hits


def test_explain_cli(udhr_scores, capsys):
    rc = main(["explain", "pure_token_share", "--tokenizer", "llama3", "--lang", "tr", "--limit", "0", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    want = udhr_scores["llama3"][1]["pure_token_share"]
    assert out["types"] == pytest.approx(want["types"].value) and out["kept_types"] == want["types"].n
    rows = {r["text"]: r for r in out["rows"]}
    assert sum(r["verdict"] is True for r in out["rows"]) == want["types"].params["pure_types"]
    assert [r["count"] for r in out["rows"]] == sorted((r["count"] for r in out["rows"]), reverse=True)
    ve = rows[" ve"]
    assert ve["verdict"] is True and ve["count"] == 88  # 87x the word ve, 1x starting "ver..."
    assert ve["reasons"] == [["whole word", 87, True, "root (zemberek)"], ["initial", 1, True, "root (zemberek)"]]
    assert rows["ını"]["verdict"] is False and rows["ını"]["reasons"][0][3] == "not a root or affix of any component"
    assert rows[","]["verdict"] is None
    rc = main(["explain", "%TR", "--tokenizer", "byt5", "--lang", "tr", "--suite", "turkish-v1", "--limit", "3"])
    text = capsys.readouterr().out
    assert rc == 0 and "lang_token_share of byt5 on udhr-tr [tr]: types 0.0000 (0/" in text
    assert "a single letter counts only as a whole word" in text and "... " in text


@pytest.mark.parametrize("argv, says", [
    (["explain", "fertility", "--tokenizer", "gpt2", "--lang", "tr"], "unknown metric 'fertility'"),
    (["explain", "%Pure", "--tokenizer", "gpt2", "--lang", "de", "--suite", "turkish-v1"], "has no corpus declaring"),
    (["explain", "%Pure", "--tokenizer", "gpt2", "--lang", "tr", "--limit", "-1"], "--limit must be >= 0"),
    (["explain", "%Pure", "--tokenizer", "no-such-tok", "--lang", "tr"], "no-such-tok"),
])
def test_explain_bad_input(argv, says, capsys):
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
