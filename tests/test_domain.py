"""domain-v1: the domain corpora (tokbench/domains.py) and metrics (tokbench/metrics/domain.py).

Expected values are recomputed here by direct methods: the archive files read again with
tarfile/zipfile, token counts with each tokenizer's own ``encode_batch``, token spans from the
cumulative lengths of ``token_bytes`` (exact for byte-level BPE), identifiers from Python's own
``tokenize`` module, indentation runs line by line, overlaps with a double loop.
"""
from __future__ import annotations

import functools
import io
import json
import tarfile
import tokenize as pytokenize

import numpy as np
import pytest

from tokbench.assets import fetch
from tokbench.cli import EXIT_BAD_INPUT, main
from tokbench.corpora import Corpus, load_corpus, load_domains
from tokbench.domains import DomainSpec, domain_specs, select_files
from tokbench.errors import CorpusError
from tokbench.kinds.tokenizer import metric_rows
from tokbench.metrics import get_metric
from tokbench.metrics.base import MetricInput, merge_stats
from tokbench.metrics.domain import overlap_counts
from tokbench.registry import get_tokenizer, resolve
from tokbench.suites import load_suite
from tokbench.tokenize import tokenize_corpus

SNIPPET = ("class Cache:\n"
           "    def get(self, key_name):\n"
           "\treturn self._store[key_name]\n"
           "\n"
           "    def put(self, k, v):\n"
           "        self._store[k] = v\n")


@functools.lru_cache(maxsize=None)
def tok(name: str):
    return get_tokenizer(name)


def tokenized(name: str, corpus: Corpus):
    return tokenize_corpus(lambda: tok(name), corpus, tokenizer_hash=resolve(name).fingerprint())


def rows(tc, metrics, params=None) -> dict:
    out = metric_rows(tc, metrics=list(metrics), reference_tc=None, reference_name=None,
                      metric_params=params or {}, segmenters={})
    return {(r["lang"], r["metric"], r["variant"]): r for r in out}


# --- the corpora ------------------------------------------------------------------------------------
def test_registry_domains_and_tags():
    specs = domain_specs()
    assert list(specs) == ["en", "zxx-x-python", "zxx-x-c", "en-x-legal", "en-x-man", "en-x-latex",
                           "zxx-x-json", "zxx-x-yaml"]
    assert specs["en"].source == "udhr"
    assert all(s.asset for lang, s in specs.items() if lang != "en")


def test_suite_loads_every_domain_within_budget():
    suite = load_suite("domain-v1")
    corpus = load_corpus("domain", suite.corpora["domain"])
    assert corpus.langs == list(domain_specs())
    size = {lang: sum(len(t.encode()) for l, t in zip(corpus.lang, corpus.text) if l == lang) for lang in corpus.langs}
    assert all(0 < size[lang] <= 300_000 for lang in corpus.langs)
    assert size["zxx-x-python"] > 250_000 and size["zxx-x-c"] > 200_000 and size["en-x-legal"] > 250_000
    assert all(t.strip() for t in corpus.text)
    # pinned content: the same documents every time
    assert corpus.hash == load_domains(name="other", langs=list(domain_specs())).hash


def test_python_documents_are_the_wheel_files():
    import zipfile

    corpus = load_domains(name="py", langs=["zxx-x-python"])
    with zipfile.ZipFile(fetch("domain-click")) as zf:
        files = {n: zf.read(n).decode() for n in zf.namelist() if n.startswith("click/") and n.endswith(".py")}
    assert corpus.key == sorted(k for k in corpus.key)  # sorted paths, all from click/
    for key, text in zip(corpus.key, corpus.text):
        assert files[key] == text
    left_out = sorted(set(files) - set(corpus.key))
    # the budget rule: a file is left out only when it no longer fits (or is empty)
    used = sum(len(t.encode()) for t in corpus.text)
    assert all(not files[n].strip() or used + len(files[n].encode()) > 300_000 for n in left_out)


def test_legal_texts_are_the_spdx_license_texts():
    corpus = load_domains(name="legal", langs=["en-x-legal"])
    with tarfile.open(fetch("domain-spdx-license-list")) as tf:
        first = tf.extractfile(f"package/{corpus.key[0]}").read()
    assert corpus.key[0] == "licenses/0BSD.json"
    assert corpus.text[0] == json.loads(first)["licenseText"]
    assert "Permission to use, copy, modify" in corpus.text[0]


def test_select_files_budget_rule():
    files = {"a/1.txt": b"x" * 40, "a/2.txt": b"y" * 70, "a/3.txt": b"z" * 50, "b/4.txt": b"  ", "a/0.bin": b"q"}
    spec = DomainSpec(lang="zxx-x-t", description="", asset="none", members=("a/*.txt", "b/*"), max_bytes=100)
    assert [p for p, _ in select_files(files, spec)] == ["a/1.txt", "a/3.txt"]  # 2.txt does not fit; 4 is blank
    spec = DomainSpec(lang="zxx-x-t", description="", asset="none", members=("a/*.txt",), exclude=("*1*",),
                      max_bytes=1000)
    assert [p for p, _ in select_files(files, spec)] == ["a/2.txt", "a/3.txt"]


def test_unknown_domain_is_bad_input(tmp_path, capsys):
    with pytest.raises(CorpusError, match=r"'zxx-x-pyhton' \(did you mean 'zxx-x-python'\?\)"):
        load_domains(name="d", langs=["zxx-x-pyhton"])
    suite = tmp_path / "bad.toml"
    suite.write_text('[suite]\nname = "bad"\ntokenizers = ["gpt2"]\nmetrics = ["bytes_per_token"]\n'
                     '[corpora.d]\nsource = "domain"\nlangs = ["en", "zxx-x-pyhton"]\n')
    assert main(["run", str(suite), "--results-dir", str(tmp_path / "res"), "-q"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "zxx-x-pyhton" in err[0] and "zxx-x-python" in err[0]
    assert not (tmp_path / "res" / "parts").exists() or not any((tmp_path / "res" / "parts").iterdir())


# --- domain premium -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "llama3"])
def test_domain_premium_recomputed(name):
    from tokbench.corpora import load_udhr

    en = load_udhr(langs=["en"])
    records = [{"lang": "en", "key": k, "text": t} for k, t in zip(en.key[:5], en.text[:5])]
    records += [{"lang": "zxx-x-python", "key": "snippet", "text": SNIPPET}]
    corpus = Corpus.from_records("dp", records)
    table = rows(tokenized(name, corpus), ["domain_premium"])
    count = lambda texts: sum(len(ids) for ids in tok(name).encode_batch(texts))
    en_texts = [r["text"] for r in records[:5]]
    en_tpb = count(en_texts) / sum(len(t.encode()) for t in en_texts)
    py_tpb = count([SNIPPET]) / len(SNIPPET.encode())
    assert table[("zxx-x-python", "domain_premium", "per_byte")]["value"] == pytest.approx(py_tpb / en_tpb, rel=1e-12)
    en_tpc = count(en_texts) / sum(len(t) for t in en_texts)
    assert table[("zxx-x-python", "domain_premium", "per_char")]["value"] == pytest.approx(
        count([SNIPPET]) / len(SNIPPET) / en_tpc, rel=1e-12)
    assert table[("en", "domain_premium", "per_byte")]["value"] == 1.0
    assert ("*", "domain_premium", "per_byte") not in table  # per language only


def test_domain_premium_without_reference_is_blank():
    corpus = Corpus.from_records("dp", [{"lang": "zxx-x-python", "text": SNIPPET}])
    r = rows(tokenized("gpt2", corpus), ["domain_premium"])[("zxx-x-python", "domain_premium", "per_byte")]
    assert r["value"] is None or np.isnan(r["value"])
    assert "reference language 'en'" in r["note"]


# --- tokens per identifier and per indentation run ---------------------------------------------------------
def direct_code_units(name: str, text: str) -> tuple[int, int, int, int, int]:
    """(identifiers, tokens on identifiers, split identifiers, indentation runs, tokens on runs)."""
    t = tok(name)
    ids = t.encode_batch([text])[0]
    lens = [len(t.token_bytes(i)) for i in ids]
    assert b"".join(t.token_bytes(i) for i in ids) == text.encode()  # byte-level: spans are exact
    ends = np.cumsum(lens).tolist()
    spans = list(zip([0] + ends[:-1], ends))
    names = []  # identifiers by Python's tokenizer (the snippet has no comments or strings)
    line_start = np.concatenate([[0], np.cumsum([len(x.encode()) for x in text.splitlines(True)])]).tolist()
    for tk in pytokenize.generate_tokens(io.StringIO(text).readline):
        if tk.type == pytokenize.NAME:
            (row, col), (_, col2) = tk.start, tk.end
            names.append((line_start[row - 1] + col, line_start[row - 1] + col2))
    runs, pos = [], 0
    for line in text.splitlines(True):
        lead = len(line) - len(line.lstrip(" \t"))
        if line.strip() and lead:
            runs.append((pos, pos + lead))
        pos += len(line.encode())
    over = lambda a, b: sum(1 for s, e in spans if s < b and e > a)
    n_names = [over(a, b) for a, b in names]
    n_runs = [over(a, b) for a, b in runs]
    return len(names), sum(n_names), sum(n >= 2 for n in n_names), len(runs), sum(n_runs)


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "llama3", "starcoder"])
def test_code_units_recomputed(name):
    corpus = Corpus.from_records("cu", [{"lang": "zxx-x-python", "text": SNIPPET}])
    v = get_metric("code_units").compute(MetricInput(tokenized(name, corpus)))
    n_id, id_tok, split, n_runs, run_tok = direct_code_units(name, SNIPPET)
    assert (n_id, n_runs) == (19, 4)
    assert v["per_identifier"].n == n_id and v["per_indent_run"].n == n_runs
    assert v["per_identifier"].value == id_tok / n_id
    assert v["split_identifiers"].value == split / n_id
    assert v["per_indent_run"].value == run_tok / n_runs


def test_code_units_known_counts():
    """gpt2 has no whitespace-run tokens: '    def' is ' ', ' ', ' ', ' def' (4 tokens overlap the
    4-space run); starcoder merges runs of spaces (fewer tokens per run)."""
    corpus = Corpus.from_records("cu", [{"lang": "zxx-x-python", "text": SNIPPET}])
    g = get_metric("code_units").compute(MetricInput(tokenized("gpt2", corpus)))
    s = get_metric("code_units").compute(MetricInput(tokenized("starcoder", corpus)))
    assert g["per_indent_run"].params["indent_tokens"] == 4 + 1 + 4 + 8
    assert s["per_indent_run"].value < g["per_indent_run"].value


def test_code_units_stats_add_up_over_documents():
    docs = [SNIPPET, "int main(void) {\n    return zstd_compress(dst, src);\n}\n", "no code here"]
    corpus = Corpus.from_records("cu", [{"lang": "zxx-x-c", "text": t} for t in docs])
    tc = tokenized("llama3", corpus)
    metric = get_metric("code_units")
    whole = metric.stats(MetricInput(tc))
    parts = merge_stats(metric.stats(MetricInput(tc.select(np.array([0])))),
                        metric.stats(MetricInput(tc.select(np.array([1, 2])))))
    assert {k: int(v) for k, v in parts.items()} == {k: int(v) for k, v in whole.items()}


def test_overlap_counts_matches_double_loop():
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, 200), size=60, replace=False))
    ts, te = np.concatenate([[0], cuts]), np.concatenate([cuts, [200]])
    a = rng.integers(0, 199, size=50)
    b = a + rng.integers(1, 20, size=50)
    direct = [sum(1 for s, e in zip(ts, te) if s < y and e > x) for x, y in zip(a, b)]
    assert overlap_counts(a, b, ts[::-1], te[::-1]).tolist() == direct


# --- the known answer of the issue ---------------------------------------------------------------------
def test_starcoder_beats_gpt2_on_python_source():
    corpus = load_domains(name="py", langs=["zxx-x-python"])
    bpt = {}
    for name in ("gpt2", "starcoder"):
        r = rows(tokenized(name, corpus), ["bytes_per_token"])[("zxx-x-python", "bytes_per_token", "micro")]
        direct = sum(len(t.encode()) for t in corpus.text) / sum(len(x) for x in tok(name).encode_batch(corpus.text))
        assert r["value"] == pytest.approx(direct, rel=1e-12)
        bpt[name] = r["value"]
    assert bpt["starcoder"] > 1.3 * bpt["gpt2"]


# --- the leaderboard's premium bars --------------------------------------------------------------------
def test_premium_bars_plot(tmp_path):
    import pandas as pd

    from tokbench.corpora import load_udhr
    from tokbench.metrics import metric_info
    from tokbench.report.data import Meta, prepare
    from tokbench.report.domain_plots import plot_premium_bars
    from tokbench.report.premium_plots import premium_matrix
    from tokbench.schema import COLUMNS

    en = load_udhr(langs=["en"])
    records = [{"lang": "en", "key": k, "text": t} for k, t in zip(en.key[:5], en.text[:5])]
    records += [{"lang": "zxx-x-python", "key": "py", "text": SNIPPET},
                {"lang": "zxx-x-c", "key": "c", "text": "int main(void) {\n    return zstd_compress(dst, src);\n}\n"}]
    corpus = Corpus.from_records("dp", records)
    rows_ = []
    for name in ("gpt2", "starcoder", "byt5"):
        for r in metric_rows(tokenized(name, corpus), metrics=["bytes_per_token", "domain_premium"], reference_tc=None,
                             reference_name=None, metric_params={}, segmenters={}):
            row = dict.fromkeys(COLUMNS)
            row.update(r, suite="dom", suite_version="1", tokenizer=name, tokenizer_hash="ab" * 32, corpus="domain",
                       corpus_hash="cd" * 32, run_id="r", tokbench_version="0", schema_version=1,
                       created_at=pd.Timestamp("2025-01-01", tz="UTC"))
            rows_.append(row)
    sdf = prepare(pd.DataFrame(rows_))
    meta = Meta(metric_info())
    mat, ref = premium_matrix(sdf, meta)
    assert ref == "en" and sorted(mat.columns) == ["zxx-x-c", "zxx-x-python"]
    assert mat.loc["byt5"].tolist() == [1.0, 1.0]  # one token per byte everywhere
    paths = plot_premium_bars(sdf, tmp_path, "dom", meta)
    assert [p.name for p in paths] == ["domain_premium_bars.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a suite without a reference-measured column draws nothing
    assert plot_premium_bars(sdf[sdf["metric"] != "domain_premium"], tmp_path / "none", "dom", meta) == []
