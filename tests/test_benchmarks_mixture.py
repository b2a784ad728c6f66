"""Data mixture inference benchmark (issue "Data mixture inference"), pytest-benchmark style.

Target: T = 3000 merges over 5 categories of about 10 MB each within 10 minutes on 2 cores; the
pair counting dominates, so it is measured alone too. Every time is also given as a ratio
against a baseline measured in the same run on the same text: pre-tokenising the samples
(``word_counts``: the tokenizer's own pre-tokeniser over every byte, the least any inference has
to do). Nothing is asserted about speed; the figures go to docs/mixture.md. Sanity is checked:
the inferred weights are a distribution close to the known truth.

The tokenizer inverted is trained here (HF ``tokenizers``, GPT-2-style byte-level BPE) on a known
mixture of the training halves of the five default self-test categories (local real text:
Python, C headers, English man pages, Perl, Debian changelogs); the samples are the disjoint
other halves. The ordinary test run uses 5 x 300 kB and T = 300 (about half a minute); the real
measurement (about 10 minutes on 2 idle cores)::

    TOKBENCH_BENCH_SCALE=1 python -m pytest tests/test_benchmarks_mixture.py -s --benchmark-enable
"""
from __future__ import annotations

import os
import random
import time

import numpy as np
import pytest

pytestmark = pytest.mark.benchmark

SCALE = os.environ.get("TOKBENCH_BENCH_SCALE") == "1"
SAMPLE = 10_000_000 if SCALE else 300_000
TRAIN = 10_000_000 if SCALE else 600_000
T = 3000 if SCALE else 300
ALPHA = np.array([0.35, 0.25, 0.2, 0.15, 0.05])


def test_mixture_inference_5_categories(benchmark):
    from tokbench.mixture.counts import record
    from tokbench.mixture.merges import from_hf_json, word_counts
    from tokbench.mixture.selftest import DEFAULT_CATEGORIES, _chunks, _take, category_docs, train_bpe
    from tokbench.mixture.solve import infer

    pools = {}
    for name, spec in DEFAULT_CATEGORIES.items():
        pieces = [p for d in category_docs(name, spec, budget=SAMPLE + TRAIN) for p in _chunks(d, 2000)]
        random.Random(0).shuffle(pieces)
        pools[name] = (pieces[1::2], pieces[0::2])
    train = [d for a, (tr, _) in zip(ALPHA, pools.values()) for d in _take(tr, int(a * TRAIN))]
    used = np.array([sum(len(d.encode()) for d in _take(tr, int(a * TRAIN))) for a, (tr, _) in zip(ALPHA, pools.values())])
    truth = used / used.sum()
    ml = from_hf_json("bench", tokenizer=train_bpe(train, T))
    samples = {name: _take(inf, SAMPLE) for name, (_, inf) in pools.items()}

    t0 = time.perf_counter()
    wc = {c: word_counts(ml, d) for c, d in samples.items()}
    pretok_s = time.perf_counter() - t0
    totals = {c: float(sum(len(x.encode()) for x in d)) for c, d in samples.items()}
    t0 = time.perf_counter()
    hist = record(wc, totals, ml.merges)
    count_s = time.perf_counter() - t0

    fit, info = benchmark.pedantic(lambda: infer(ml, samples, merges=T), rounds=1, iterations=1)
    total_s = info["seconds"]["total"]
    mse = float(np.mean((fit.alpha - truth) ** 2))
    assert abs(fit.alpha.sum() - 1) < 1e-9 and (fit.alpha >= 0).all()
    assert hist.steps == len(ml.merges) and mse < 1e-2, (fit.alpha, truth)
    extra = dict(sample_bytes=sum(totals.values()), merges=len(ml.merges), pretokenize_s=pretok_s,
                 pair_count_s=count_s, pair_count_vs_pretokenize=count_s / pretok_s, inference_s=total_s,
                 inference_vs_pretokenize=total_s / pretok_s, phases=info["seconds"], sweeps=info["passes"],
                 constraints=info["constraints"], unverified=fit.unverified, mse=mse,
                 distinct_words=sum(info["distinct_words"].values()))
    benchmark.extra_info.update(extra)
    print("\nmixture inference benchmark:", extra)
