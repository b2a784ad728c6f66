"""robustness-v1: the perturbation generator, its derived tables, the tokenizer-side metrics
(recomputed here by plain direct methods) and the suite kind end to end."""
from __future__ import annotations

import json
import random
import re
import unicodedata

import numpy as np
import pytest

from tokbench import perturb as P
from tokbench import perturb_tables as T
from tokbench.metrics import robustness as R

SENTENCES = [("en", "a1.p1", "Everyone has the right to life, liberty and security of person."),
             ("tr", "a1.p1", "Herkesin yaşamaya, özgürlüğe ve kişi güvenliğine hakkı vardır."),
             ("ru", "a1.p1", "Каждый человек имеет право на жизнь, на свободу и на личную неприкосновенность."),
             ("vi", "a1.p1", "Mọi người đều có quyền sống, tự do và an toàn cá nhân."),
             ("zh", "a1.p1", "人人有权享有生命、自由和人身安全。")]


# --- independent plain implementations ----------------------------------------------------------
def dp_distance(a, b) -> int:
    """Textbook O(n*m) Levenshtein."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def token_spans(tok, text: str) -> list[tuple[int, int]]:
    """Byte spans of the tokens by concatenating each token's own bytes (byte-level BPE only)."""
    out, pos = [], 0
    for i in tok.encode_batch([text])[0]:
        n = len(tok.token_bytes(i))
        out.append((pos, pos + n))
        pos += n
    assert pos == len(text.encode("utf-8"))
    return out


def words_changed_direct(clean: str, text: str, edits, cspans, pspans) -> int:
    """The definition read literally, with Python sets and a per-byte offset table."""
    cb = clean.encode("utf-8")
    # clean byte offset of every perturbed byte offset (None strictly inside an edit's new text)
    table, pos_c, pos_p = {}, 0, 0
    zones = []
    char_b = [len(clean[:i].encode("utf-8")) for i in range(len(clean) + 1)]
    for s, e, new in edits:
        cs, ce, nl = char_b[s], char_b[e], len(new.encode("utf-8"))
        while pos_c < cs:
            table[pos_p] = pos_c
            pos_c, pos_p = pos_c + 1, pos_p + 1
        table[pos_p] = cs
        for k in range(1, nl):
            table[pos_p + k] = None
        table[pos_p + nl] = ce
        pos_c, pos_p = ce, pos_p + nl
        zones.append((cs, ce))
    while pos_c <= len(cb):
        table.setdefault(pos_p, pos_c)
        pos_c, pos_p = pos_c + 1, pos_p + 1
    bc = {x for s, e in cspans if e > s for x in (s, e)}
    bp = {table[x] for s, e in pspans if e > s for x in (s, e)} - {None}
    changed = 0
    for m in re.finditer(r"\S+", clean):
        ws, we = char_b[m.start()], char_b[m.end()]
        keep = {x for x in range(ws + 1, we) if not any(a <= x <= b for a, b in zones)}
        changed += (bc & keep) != (bp & keep)
    return changed


# --- the generator ----------------------------------------------------------------------------------
def test_generator_is_deterministic_and_seeded():
    a = P.generate(SENTENCES, seed=3)
    assert a == P.generate(SENTENCES, seed=3)
    assert a != P.generate(SENTENCES, seed=4)
    assert P.items_hash(a, {"seed": 3}) == P.items_hash(P.generate(SENTENCES, seed=3), {"seed": 3})
    assert P.items_hash(a, {"seed": 3}) != P.items_hash(a, {"seed": 3, "word_rate": 0.5})
    assert P.items_hash(a, {"seed": 3}) != P.items_hash(P.generate(SENTENCES, seed=4), {"seed": 3})


def test_items_keep_clean_text_and_edits():
    items = P.generate(SENTENCES, seed=0)
    by = {(it["lang"], it["perturbation"]): it for it in items}
    for it in items:
        assert P.apply_edits(it["clean"], [tuple(e) for e in it["edits"]]) == it["text"]
        pos = P.perturbed_positions(it)
        assert "".join(it["text"][i] for i in pos) == "".join(e[2] for e in it["edits"])
        if it["perturbation"] != "double_space":
            assert len(it["clean"].split()) == len(it["text"].split())
        starts = [e[0] for e in it["edits"]]
        assert starts == sorted(starts)
        assert all(e[1] <= f[0] for e, f in zip(it["edits"], it["edits"][1:]))
    for lang, _, clean in SENTENCES:
        ident = by[(lang, "identity")]
        assert ident["text"] == clean and ident["edits"] == []
    # casing / diacritics / spaces do not apply to Chinese: no item rather than an unchanged one
    assert {p for (l, p) in by if l == "zh"} >= {"identity", "typo_swap", "typo_delete"}
    assert not {("zh", p) for p in ("upper", "title", "no_diacritics", "double_space", "fullwidth", "math_bold")} \
        & set(by)  # the Chinese sentence has no ASCII, no cased or marked letter, no space
    en = {p: by[("en", p)]["text"] for (l, p) in by if l == "en"}
    assert en["upper"] == SENTENCES[0][2].upper()
    assert en["title"] == "Everyone Has The Right To Life, Liberty And Security Of Person."
    assert en["fullwidth"].startswith("Ｅｖｅｒｙｏｎｅ ｈａｓ") and en["fullwidth"].endswith("．")
    assert en["math_bold"].startswith("𝐄𝐯𝐞𝐫𝐲𝐨𝐧𝐞 𝐡𝐚𝐬")
    assert unicodedata.normalize("NFKC", en["math_bold"]) == SENTENCES[0][2]
    assert unicodedata.normalize("NFKC", en["math_italic"]) == SENTENCES[0][2]
    assert en["double_space"].replace("  ", " ") == SENTENCES[0][2]
    assert by[("tr", "no_diacritics")]["text"] == "Herkesin yasamaya, ozgurluge ve kisi guvenligine hakki vardir."
    assert by[("vi", "no_diacritics")]["text"] == "Moi nguoi deu co quyen song, tu do va an toan ca nhan."
    assert unicodedata.normalize("NFKC", by[("vi", "math_bold")]["text"]) == SENTENCES[3][2]


def test_typos_change_one_letter_per_chosen_word():
    clean = "Everyone has the right to life, liberty and security of person."
    for kind, delta in (("typo_swap", 0), ("typo_delete", -1), ("typo_insert", 1), ("typo_substitute", 0)):
        for seed in range(20):
            text, edits = P.apply(clean, kind, seed=seed, word_rate=0.2)
            assert edits and len(text) == len(clean) + delta * len(edits)
            assert sorted(text) != sorted(clean) or kind == "typo_swap"
            for (s, e, new), w in zip(edits, edits):
                assert e - s <= 2 and all(unicodedata.category(c).startswith("L") for c in new)


def test_derived_tables():
    h = T.homoglyphs()
    assert "\u0430" in h["a"] and "a" in h["\u0430"]            # Latin a / Cyrillic a
    assert set(h["P"]) == {"\u03a1", "\u0420"}                   # Greek Rho, Cyrillic Er
    assert "b" not in h and all(T.script_of(c) != T.script_of(k) for k, v in h.items() for c in v)
    ocr = T.ocr_confusions()
    assert "m" in ocr["rn"] and "rn" in ocr["m"]
    assert "0" in ocr["O"] and "l" in ocr["I"]
    assert "p" not in ocr.get("b", ())                           # different ink extent: not confused
    assert all(a in ocr[b] for a, bs in ocr.items() for b in bs)   # symmetric
    assert [T.strip_diacritics(c) for c in "łıéşğệøÅж"] == list("lıesgeoAж".replace("ı", "i"))
    assert T.math_style("a", "BOLD") == "\U0001d41a" and T.math_style("h", "ITALIC") == "h"
    assert T.fullwidth("A") == "\uff21" and T.fullwidth(" ") == " "
    assert len(T.tables_hash()) == 64


# --- the metrics against direct recomputation -------------------------------------------------
def test_levenshtein_matches_textbook():
    rng = random.Random(7)
    for _ in range(500):
        a = [rng.randrange(5) for _ in range(rng.randrange(0, 70))]
        b = [rng.randrange(5) for _ in range(rng.randrange(0, 70))]
        assert R.levenshtein(a, b) == dp_distance(a, b)
    long_a = [rng.randrange(300) for _ in range(400)]
    long_b = long_a[:100] + [7, 7] + long_a[150:]
    assert R.levenshtein(long_a, long_b) == dp_distance(long_a, long_b)


def _rows(tok, items):
    from tokbench.kinds.robustness import tokenizer_rows

    return {(r["lang"], r["metric"], r["variant"]): r for r in tokenizer_rows(tok, items, {"seed": 0})}


@pytest.fixture(scope="module")
def items():
    return P.generate(SENTENCES, seed=0)


def test_byt5_token_distance_is_byte_distance(items):
    from tokbench.registry import get_tokenizer

    rows = _rows(get_tokenizer("byt5"), items)
    for lang, _, _ in SENTENCES:
        for kind in {it["perturbation"] for it in items if it["lang"] == lang}:
            mine = [it for it in items if it["lang"] == lang and it["perturbation"] == kind]
            direct = np.mean([dp_distance(it["clean"].encode(), it["text"].encode())
                              / max(len(it["clean"].encode()), len(it["text"].encode())) for it in mine])
            assert rows[(lang, "robust_token_edit_distance", kind)]["value"] == pytest.approx(direct, abs=1e-12)
            infl = sum(len(it["text"].encode()) for it in mine) / sum(len(it["clean"].encode()) for it in mine)
            assert rows[(lang, "robust_token_inflation", kind)]["value"] == pytest.approx(infl, abs=1e-12)
            assert rows[(lang, "robust_word_change", kind)]["value"] == 0.0  # every byte is its own token


@pytest.mark.parametrize("name", ["gpt2", "llama3", "xlm-roberta", "byt5"])
def test_identity_is_zero_everywhere(items, name):
    from tokbench.registry import get_tokenizer

    rows = _rows(get_tokenizer(name), items)
    for lang in [s[0] for s in SENTENCES] + ["*"]:
        assert rows[(lang, "robust_token_edit_distance", "identity")]["value"] == 0.0
        assert rows[(lang, "robust_word_change", "identity")]["value"] == 0.0
        assert rows[(lang, "robust_token_inflation", "identity")]["value"] == 1.0
    assert rows[("*", "robust_token_edit_distance", "all")]["value"] > 0


def test_gpt2_fixed_sentence_recomputed():
    """One sentence, four hand-made edits, gpt2: tokens, distance and word changes by hand."""
    from tokbench.registry import get_tokenizer

    tok = get_tokenizer("gpt2")
    clean = "Everyone has the right to education."
    assert [tok.decode([i]) for i in tok.encode_batch([clean])[0]] == \
        ["Everyone", " has", " the", " right", " to", " education", "."]
    cases = [([[26, 27, ""]], ["Everyone", " has", " the", " right", " to", " d", "uc", "ation", "."], 3, 1),
             ([[17, 17, "x"]], ["Everyone", " has", " the", " x", "right", " to", " education", "."], 2, 0),
             ([[13, 15, "ir"]], ["Everyone", " has", " ire", " right", " to", " education", "."], 1, 0),
             ([[23, 25, "ud"]], ["Everyone", " has", " the", " right", " u", "d", " education", "."], 2, 0)]
    items = []
    for k, (edits, pieces, dist, changed) in enumerate(cases):
        text = P.apply_edits(clean, [tuple(e) for e in edits])
        ids_c, ids_p = tok.encode_batch([clean])[0], tok.encode_batch([text])[0]
        assert [tok.decode([i]) for i in ids_p] == pieces
        assert dp_distance(ids_c, ids_p) == dist
        assert words_changed_direct(clean, text, [tuple(e) for e in edits], token_spans(tok, clean),
                                    token_spans(tok, text)) == changed
        items.append({"id": f"en/k{k}/typo", "lang": "en", "key": f"k{k}", "perturbation": "typo_delete",
                      "clean": clean, "text": text, "edits": edits})
    rows = _rows(tok, items)
    assert rows[("en", "robust_token_edit_distance", "typo_delete")]["value"] == pytest.approx(
        np.mean([3 / 9, 2 / 8, 1 / 7, 2 / 8]))
    assert rows[("en", "robust_word_change", "typo_delete")]["value"] == pytest.approx(1 / 24)
    assert rows[("en", "robust_token_inflation", "typo_delete")]["value"] == pytest.approx((9 + 8 + 7 + 8) / 28)


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base"])
def test_word_change_matches_direct_definition(items, name):
    from tokbench.registry import get_tokenizer

    tok = get_tokenizer(name)
    for it in items:
        edits = [tuple(e) for e in it["edits"]]
        direct = words_changed_direct(it["clean"], it["text"], edits, token_spans(tok, it["clean"]),
                                      token_spans(tok, it["text"]))
        al = tok.encode_aligned([it["clean"], it["text"]])
        sp = [(al.starts[al.offsets[d]:al.offsets[d + 1]], al.ends[al.offsets[d]:al.offsets[d + 1]]) for d in (0, 1)]
        _, changed, _ = R.word_changes(it["clean"], R.byte_edits(it["clean"], edits), sp[0], sp[1])
        assert changed == direct, it["id"]


def test_pooled_rows_are_sums(items):
    from tokbench.registry import get_tokenizer

    rows = _rows(get_tokenizer("gpt2"), items)
    for kind in ("typo_swap", "all"):
        per = [json.loads(r["params"]) for (l, m, v), r in rows.items()
               if l != "*" and m == "robust_token_inflation" and v == kind]
        star = rows[("*", "robust_token_inflation", kind)]
        assert star["value"] == pytest.approx(sum(p["tokens_perturbed"] for p in per) / sum(p["tokens_clean"] for p in per))


def test_model_side_ratio_rows():
    from tokbench.kinds.robustness_lm import ratio_rows

    items = P.generate(SENTENCES[:2], perturbations=["identity", "upper"], seed=0)
    score = {}
    for k, it in enumerate(items):  # made-up log-likelihoods: 1 nat per byte clean, 2 perturbed
        score[it["clean"]] = (-len(it["clean"].encode()), len(it["clean"].encode()))
        if it["text"] != it["clean"]:
            score[it["text"]] = (-2.0 * len(it["text"].encode()), len(it["text"].encode()))
    rows = {(r["lang"], r["variant"]): r["value"] for r in ratio_rows(items, score, {})}
    assert rows[("*", "identity")] == 1.0 and rows[("en", "upper")] == pytest.approx(2.0)
    assert rows[("*", "all")] == pytest.approx(2.0)


# --- the suite kind ------------------------------------------------------------------------------
SUITE = """
[suite]
name = "robust-test"
kind = "robustness"
seed = 1
[perturbation]
langs = ["en", "ru"]
sentences = 2
perturbations = {perts}
[tokenizer_side]
tokenizers = ["gpt2", "byt5"]
"""


def test_cli_run_and_resume(tmp_path):
    from tokbench.cli import main
    from tokbench.store import load_results

    path = tmp_path / "robust-test.toml"
    path.write_text(SUITE.format(perts='["identity", "typo_swap", "homoglyph"]'), encoding="utf-8")
    res = tmp_path / "results"
    assert main(["run", str(path), "--results-dir", str(res), "--quiet"]) == 0
    df = load_results(res)
    assert set(df.tokenizer) == {"gpt2", "byt5"} and set(df.lang) == {"en", "ru", "*"}
    assert set(df.variant) == {"identity", "typo_swap", "homoglyph", "all"}
    assert set(df.corpus) == {"udhr-perturbed"} and df.corpus_hash.nunique() == 1
    assert (df[df.variant == "identity"].groupby("metric").value.max() <= 1.0).all()
    assert (res / "leaderboard" / "robustness_by_perturbation.png").exists()
    n_parts = len(list((res / "parts").glob("*.parquet")))
    assert main(["run", str(path), "--results-dir", str(res), "--quiet"]) == 0
    assert len(list((res / "parts").glob("*.parquet"))) == n_parts  # everything was stored: nothing reruns


def test_bad_suites_exit_2(tmp_path, capsys):
    from tokbench.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(SUITE.format(perts='["identity", "typo_swapp"]'), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "typo_swapp" in err[0] and "typo_swap" in err[0] and str(path) in err[0]
    path.write_text(SUITE.format(perts='["identity"]').replace('"ru"]', '"xx-nope"]'), encoding="utf-8")
    assert main(["run", str(path), "--results-dir", str(tmp_path / "r")]) == 2
    assert "xx-nope" in capsys.readouterr().err
    path.write_text(SUITE.format(perts='["identity"]') + '[model_side]\nmodels = ["smollm2-135m"]\nlangs = ["tr"]\n',
                    encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert "[model_side].langs" in capsys.readouterr().err


def test_plot_matrices():
    import pandas as pd

    from tokbench.metrics import metric_info
    from tokbench.report.data import Meta
    from tokbench.report.robustness_plots import perturbation_matrices

    rows = [{"_row": t, "lang": "*", "metric": "robust_token_edit_distance", "variant": v, "value": x,
             "params": json.dumps({"perturbation": v})}
            for t, vals in (("a", (0.0, 0.5, 0.3)), ("b", (0.0, 0.2, 0.1)))
            for v, x in zip(("identity", "upper", "all"), vals)]
    mats = perturbation_matrices(pd.DataFrame(rows), Meta(metric_info()))
    assert [m for m, _ in mats] == ["robust_token_edit_distance"]
    mat = mats[0][1]
    assert list(mat.index) == ["b", "a"] and list(mat.columns) == ["all", "upper"]
    assert mat.loc["a", "upper"] == 0.5
