"""The runner: the only place that connects registry -> corpora -> tokenize -> metrics -> store.

For each corpus and tokenizer it skips work the store already holds (same suite version,
tokenizer hash, corpus hash and metric versions), tokenizes once (cached), computes every
metric per language and over all languages (``lang = "*"``), and writes one part file per
(tokenizer, corpus) as soon as it is done, so an interrupted run keeps what finished.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .corpora import load_corpus
from .metrics import METRICS
from .metrics.base import MetricInput
from .schema import ALL_LANGS, SCHEMA_VERSION
from .store import completed_keys, load_results, new_run_id, now_utc, write_part
from .suites import CorpusSpec, Suite
from .tokenize import tokenize_corpus


@dataclass
class RunSummary:
    run_id: str
    results_dir: Path
    parts: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (tokenizer, corpus) already stored
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (tokenizer, corpus, error)
    rows: int = 0
    leaderboard: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else float("nan")


def metric_rows(tc, *, metrics: list[str], reference_tc=None, reference_name: str | None,
                metric_params: dict, segmenters: dict[str, str]) -> list[dict]:
    """Rows (without provenance columns) for every metric x variant x language (and "*")."""
    rows = []
    langs = list(dict.fromkeys(tc.lang.tolist()))
    scopes = [(lang, tc.for_lang(lang), reference_tc.for_lang(lang) if reference_tc is not None else None)
              for lang in langs]
    if len(langs) > 1:
        scopes.append((ALL_LANGS, tc, reference_tc))
    for lang, sub, ref in scopes:
        seg = segmenters.get(lang) if lang != ALL_LANGS else "per-language"
        for name in metrics:
            metric = METRICS[name]
            if ("all" if lang == ALL_LANGS else "lang") not in metric.scopes:
                continue
            params = {"segmenter": seg, **metric_params.get(name, {})}
            if metric.needs_reference:
                params["reference"] = reference_name
            values = metric.compute(MetricInput(sub, params, ref if metric.needs_reference else None, context=tc))
            for variant, v in values.items():
                p = {k: val for k, val in {**params, **v.params}.items() if k != "note"}
                rows.append({
                    "lang": lang, "metric": name, "variant": variant, "value": _finite(v.value),
                    "n": int(v.n), "params": json.dumps(p, sort_keys=True, default=str),
                    "note": v.params.get("note"), "metric_version": metric.version,
                })
    return rows


def run_suite(suite: Suite, *, results_dir: str | Path = "results", use_cache: bool = True, force: bool = False,
              progress: bool = True, render: bool = True, limit_docs: int | None = None) -> RunSummary:
    """Run every (tokenizer, corpus) of ``suite`` that the store does not already hold."""
    from tqdm.auto import tqdm

    from .registry import get_tokenizer, resolve

    results_dir = Path(results_dir)
    run_id = new_run_id()
    summary = RunSummary(run_id=run_id, results_dir=results_dir)
    metrics = suite.metric_names()
    stored = set() if force else completed_keys(load_results(results_dir))
    base_dir = Path(suite.path).parent if suite.path != "<memory>" else None

    specs = {name: resolve(name) for name in suite.suite.tokenizers}
    hashes = {name: spec.fingerprint() for name, spec in specs.items()}
    ref_name = suite.suite.reference_tokenizer
    needs_ref = any(METRICS[m].needs_reference for m in metrics)
    built: dict[str, object] = {}

    def build(name: str):
        if name not in built:
            built[name] = get_tokenizer(resolve(name))
        return built[name]

    # load (and so check) every corpus before writing anything: a bad corpus file is bad
    # input (exit 2) and must not leave the parts of the corpora listed before it behind
    corpora = [(corpus_name, load_corpus(corpus_name, cspec, base_dir=base_dir).limit_docs(limit_docs))
               for corpus_name, cspec in suite.corpora.items()]
    seq = 0
    for corpus_name, corpus in corpora:
        segs = {lang: suite.segmenters.get(lang) or _default_seg(lang) for lang in corpus.langs}
        todo = []
        ref_hash = hashes.get(ref_name) or (resolve(ref_name).fingerprint() if ref_name else None)
        configs = {m: config_hash(m, suite.metric_params, segs, ref_hash) for m in metrics}
        for name in suite.suite.tokenizers:
            keys = {(suite.name, suite.version, name, hashes[name], corpus.hash, m, str(METRICS[m].version),
                     configs[m]) for m in metrics}
            if keys <= stored:
                summary.skipped.append((name, corpus_name))
            else:
                todo.append(name)
        if not todo:
            continue
        ref_tc = None
        ref_failed = False
        corpus_metrics = metrics
        if needs_ref and ref_name:
            try:
                ref_spec = resolve(ref_name)
                ref_tc = tokenize_corpus(lambda: build(ref_name), corpus, tokenizer_hash=ref_spec.fingerprint(),
                                         segmenters=segs, use_cache=use_cache)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # a failing reference is reported like any failing tokenizer; the
                # others still run, without the metrics that need it (so a rerun computes those)
                summary.failed.append((ref_name, corpus_name, f"(reference tokenizer) {type(e).__name__}: {e}"))
                ref_failed = True
                corpus_metrics = [m for m in metrics if not METRICS[m].needs_reference]
        bar = tqdm(total=len(todo) * len(corpus), desc=f"{suite.name}/{corpus_name}", unit="doc",
                   disable=not progress, file=sys.stderr)
        for name in todo:
            bar.set_postfix_str(name)
            if ref_failed and name == ref_name:
                bar.update(len(corpus))
                continue  # already reported
            try:
                if ref_tc is not None and name == ref_name:
                    tc = ref_tc  # tokenize once: the reference was just tokenized
                    bar.update(len(corpus))
                else:
                    tc = tokenize_corpus(lambda: build(name), corpus, tokenizer_hash=hashes[name], segmenters=segs,
                                         use_cache=use_cache, progress=bar.update)
                rows = metric_rows(tc, metrics=corpus_metrics, reference_tc=ref_tc, reference_name=ref_name,
                                   metric_params=suite.metric_params, segmenters=segs)
            except KeyboardInterrupt:
                bar.close()
                raise
            except Exception as e:  # a tokenizer that raises is reported, the others still run
                summary.failed.append((name, corpus_name, f"{type(e).__name__}: {e}"))
                continue
            if not rows:  # every metric of the suite needs the failed reference
                continue
            created = now_utc()
            for r in rows:
                r.update(config_hash=configs[r["metric"]], run_id=run_id, suite=suite.name, suite_version=suite.version, tokenizer=name,
                         tokenizer_hash=hashes[name], model=None, corpus=corpus_name, corpus_hash=corpus.hash,
                         ci_low=None, ci_high=None, tokbench_version=__version__,
                         schema_version=SCHEMA_VERSION, created_at=created)
            seq += 1
            summary.parts.append(write_part(rows, results_dir, run_id=run_id, seq=seq))
            summary.rows += len(rows)
            _test_pause_after_part()
        bar.close()
    if render:
        from .report import render_leaderboard

        summary.leaderboard = render_leaderboard(results_dir)
    return summary


def _test_pause_after_part() -> None:
    """Test hook: with ``TOKBENCH_TEST_SLEEP_AFTER_PART=SECONDS`` in the environment, sleep after
    each part file is written, so tests/test_store_robustness.py can kill a run (SIGKILL) or
    overlap two runs at a known point. Unset (always, outside those tests): does nothing."""
    import os

    pause = os.environ.get("TOKBENCH_TEST_SLEEP_AFTER_PART")
    if pause:
        import time

        time.sleep(float(pause))


def config_hash(metric: str, metric_params: dict, segmenters: dict[str, str], reference_hash: str | None) -> str:
    """Everything besides tokenizer, corpus and metric version that changes a metric's values:
    its parameters, the segmenters, the reference tokenizer (for metrics that need one) and
    the tokenization procedure. Part of the resume key, so changing any of them recomputes."""
    import hashlib

    from .tokenize import TOKENIZE_VERSION

    payload = {"params": metric_params.get(metric, {}), "segmenters": sorted(segmenters.items()),
               "reference": reference_hash if METRICS[metric].needs_reference else None,
               "tokenize_version": TOKENIZE_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _default_seg(lang: str) -> str:
    from .segment import default_segmenter

    return default_segmenter(lang)
