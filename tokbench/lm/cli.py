"""`tokbench perplexity [SUITE]`: zero-shot perplexity of registry causal LMs (docs/perplexity.md).

A small runner of its own (run_suite is for tokenizers): for each model, score every document
once with lm-eval's loglikelihood_rolling, then write one part per (model, corpus) with rows
per language and for "*".
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import tomllib
from pathlib import Path

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..suites import CorpusSpec

METRIC_VERSION = 1
PPL_METRICS = ["bits_per_byte", "byte_perplexity", "char_perplexity", "word_perplexity", "token_perplexity"]
DEFAULT_SUITE = "perplexity-v1"


class PplSuiteMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["perplexity"]
    version: str = "1"
    description: str = ""
    models: list[str]
    reference_model: str | None = None


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_length: int = 2048
    batch_size: int = 4
    dtype: str = "float32"


class PplSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: PplSuiteMeta
    protocol: Protocol = Protocol()
    corpora: dict[str, CorpusSpec]


def find_suite(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".toml" and p.exists():
        return p
    from ..suites import suites_dir

    f = suites_dir() / f"{name}.toml"
    if not f.exists():
        raise FileNotFoundError(f"no perplexity suite {name!r} ({f} does not exist)")
    return f


def load_ppl_suite(name: str) -> tuple[PplSuite, Path]:
    """Load and check a perplexity suite; errors name the file, the field and the fix."""
    from ..suites import SuiteError, read_toml
    from .models import ModelError, get_model_spec

    path = find_suite(name)
    try:
        suite = PplSuite.model_validate(read_toml(path))
    except ValidationError as e:
        problems = "; ".join(f"`{'.'.join(map(str, err['loc']))}`: {err['msg']}" for err in e.errors())
        raise SuiteError(f"{path}: invalid perplexity suite: {problems}") from None
    for m in suite.suite.models:
        try:
            get_model_spec(m)
        except ModelError as e:
            raise SuiteError(f"{path}: [suite].models: {e}") from None
    ref = suite.suite.reference_model
    if ref and ref not in suite.suite.models:
        raise SuiteError(f"{path}: [suite].reference_model = {ref!r} is not one of [suite].models")
    return suite, path


def describe_suite(path: Path) -> str:
    s, _ = load_ppl_suite(str(path))
    langs = sorted({l for c in s.corpora.values() for l in (c.langs or [c.lang] if c.lang else c.langs or [])})
    return (f"perplexity suite v{s.suite.version}: models {', '.join(s.suite.models)}, corpora {', '.join(s.corpora)}"
            f" ({len(langs)} languages). {s.suite.description}")


def run_suite_file(path: Path, args) -> int:
    """`tokbench run NAME` on a perplexity suite."""
    ns = argparse.Namespace(suite=str(path), model=None, device=None, limit_docs=getattr(args, "limit_docs", None),
                            results_dir=args.results_dir, quiet=getattr(args, "quiet", False), export_task=None,
                            no_report=getattr(args, "no_report", False))
    return cmd_perplexity(ns)


def score_rows(scores, langs: list[str], ref_scores=None, *, protocol: dict, reference: str | None) -> list[dict]:
    """Rows (without provenance) for every metric per language and for "*" (pooled sums)."""
    from ..schema import ALL_LANGS
    from .score import ppl_ratio

    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    scopes = list(by_lang.items())
    if len(scopes) > 1:
        scopes.append((ALL_LANGS, list(range(len(langs)))))
    rows = []
    for lang, idx in scopes:
        sub = scores.subset(idx)
        units = {"bits_per_byte": "bytes", "byte_perplexity": "bytes", "char_perplexity": "chars",
                 "word_perplexity": "words", "token_perplexity": "tokens"}
        for m in PPL_METRICS:
            params = {**protocol, "docs": len(idx), "denominator": units[m], "word_split": "whitespace",
                      "sum_ll": sub._sum("ll")}
            rows.append({"lang": lang, "metric": m, "variant": "micro", "value": float(getattr(sub, m)),
                         "n": int(sub._sum(units[m])), "params": json.dumps(params, sort_keys=True),
                         "note": None, "metric_version": METRIC_VERSION})
        if ref_scores is not None:
            ref = ref_scores.subset(idx)
            for variant in ("byte", "token"):
                params = {**protocol, "reference": reference, "docs": len(idx)}
                rows.append({"lang": lang, "metric": "ppl_ratio", "variant": variant,
                             "value": float(ppl_ratio(sub, ref, variant)),
                             "n": int(sub._sum("bytes" if variant == "byte" else "tokens")),
                             "params": json.dumps(params, sort_keys=True), "note": None,
                             "metric_version": METRIC_VERSION})
    return rows


def run_perplexity(suite: PplSuite, *, results_dir: Path, device: str | None = None, limit_docs: int | None = None,
                   models: list[str] | None = None, quiet: bool = False, export_task: str | None = None) -> dict:
    from .. import __version__
    from ..runner import load_corpus
    from ..schema import SCHEMA_VERSION
    from ..store import new_run_id, now_utc, write_part
    from .models import load_model
    from .score import score_documents

    log = (lambda *a: None) if quiet else (lambda *a: print("tokbench:", *a, file=sys.stderr))
    names = models or suite.suite.models
    ref_name = suite.suite.reference_model
    order = ([ref_name] if ref_name in names else []) + [m for m in names if m != ref_name]
    run_id, seq, out = new_run_id(), 0, {"parts": [], "scores": {}, "timings": {}}
    corpora = {}
    for cname, spec in suite.corpora.items():
        c = load_corpus(cname, spec)
        corpora[cname] = c.limit_docs(limit_docs) if limit_docs else c
    ref_scores: dict[str, object] = {}
    p = suite.protocol
    for mname in order:
        t0 = time.time()
        model, tok, info = load_model(mname, dtype=p.dtype, device=device)
        log(f"loaded {mname} in {time.time() - t0:.1f}s")
        for cname, corpus in corpora.items():
            t1 = time.time()
            scores = score_documents(model, tok, list(corpus.text), batch_size=p.batch_size, max_length=p.max_length,
                                     device=device, langs=list(corpus.lang), label=f"{suite.suite.name}_{cname}",
                                     task_dir=export_task, disable_tqdm=quiet)
            out["timings"][(mname, cname)] = time.time() - t1
            log(f"scored {mname} on {cname} ({len(corpus)} docs) in {time.time() - t1:.1f}s")
            out["scores"][(mname, cname)] = scores
            if mname == ref_name:
                ref_scores[cname] = scores
            protocol = {**scores.protocol, "device": device or "auto", "model_source": info["source"],
                        "gguf_file": info["gguf_file"], "weights_sha256": info["weights_sha256"],
                        "tokenizer_source": "the model's own tokenizer (transformers)"}
            rows = score_rows(scores, list(corpus.lang), ref_scores.get(cname), protocol=protocol, reference=ref_name)
            chash = hashlib.sha256(json.dumps({k: v for k, v in protocol.items() if k != "device"},
                                              sort_keys=True).encode()).hexdigest()[:16]
            created = now_utc()
            for r in rows:
                r.update(run_id=run_id, suite=suite.suite.name, suite_version=suite.suite.version,
                         tokenizer=info["tokenizer"], tokenizer_hash=info["weights_sha256"] or None, model=mname,
                         corpus=cname, corpus_hash=corpus.hash, ci_low=None, ci_high=None, config_hash=chash,
                         tokbench_version=__version__, schema_version=SCHEMA_VERSION, created_at=created)
            seq += 1
            out["parts"].append(write_part(rows, results_dir, run_id=run_id, seq=seq))
        out["timings"][(mname, "load")] = time.time() - t0
        del model
    return out


def cmd_perplexity(args) -> int:
    try:
        suite, path = load_ppl_suite(args.suite or DEFAULT_SUITE)
    except Exception as e:
        print(f"tokbench: error: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    out = run_perplexity(suite, results_dir=Path(args.results_dir), device=args.device, limit_docs=args.limit_docs,
                         models=args.model, quiet=args.quiet)
    for (m, c), s in out["scores"].items():
        print(f"{m:16s} {c:8s} bits/byte {s.bits_per_byte:.4f}  byte ppl {s.byte_perplexity:.4f}  "
              f"word ppl {s.word_perplexity:.2f}  ({len(s.docs)} docs)")
    print(f"{len(out['parts'])} part(s) in {args.results_dir}; {time.time() - t0:.1f}s")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("perplexity", help="zero-shot perplexity of causal LMs (bits/byte, ppl ratios)",
                              description="Score registry causal LMs with lm-eval loglikelihood_rolling and store "
                                          "bits/byte, byte/char/word/token perplexity and ppl_ratio rows. "
                                          "Needs the [lm] extra (torch, transformers, lm-eval).")
    p.add_argument("suite", nargs="?", help=f"perplexity suite name or TOML (default {DEFAULT_SUITE})")
    p.add_argument("--model", action="append", help="only this model (repeatable)")
    p.add_argument("--device", help="torch device, e.g. cuda (default: lm-eval's choice)")
    p.add_argument("--limit-docs", type=int, help="at most N documents per language")
    p.add_argument("--results-dir", default="results")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_perplexity)
