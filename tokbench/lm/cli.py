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

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

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


class TransplantEntry(BaseModel):
    """``transplant = {model, tokenizer, method, params}``: `model` with `tokenizer`'s vocabulary
    (tokbench.transplant, docs/transplant.md), built and cached on first use."""
    model_config = ConfigDict(extra="forbid")
    model: str
    tokenizer: str
    method: str
    params: dict = {}


class SuiteModel(BaseModel):
    """A model defined in the suite (``[models.NAME]``): a source like a models.toml entry, or a transplant."""
    model_config = ConfigDict(extra="forbid")
    tokenizer: str = ""
    asset: str = ""
    path: str = ""
    gguf_file: str = ""
    hub_id: str = ""
    description: str = ""
    transplant: TransplantEntry | None = None

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("asset", "path", "hub_id", "transplant") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of asset, path, hub_id, transplant (got {given or 'none'})")
        if not self.transplant and not self.tokenizer:
            raise ValueError("`tokenizer` (the registry tokenizer of the model) is required")
        return self


class PplSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: PplSuiteMeta
    protocol: Protocol = Protocol()
    models: dict[str, SuiteModel] = {}
    corpora: dict[str, CorpusSpec]


def load_ppl_suite(name: str) -> tuple[PplSuite, Path]:
    """Load and check a perplexity suite; errors name the file, the field and the fix."""
    from ..suites import SuiteError, find_suite, read_toml, validation_problems
    from .models import ModelError, get_model_spec

    path = find_suite(name)
    try:
        suite = PplSuite.model_validate(read_toml(path))
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid perplexity suite: {validation_problems(e)}") from None
    for m in suite.suite.models:
        if m in suite.models:
            t = suite.models[m].transplant
            if t:
                try:
                    get_model_spec(t.model)
                except ModelError as e:
                    raise SuiteError(f"{path}: [models.{m}].transplant.model: {e}") from None
            continue
        try:
            get_model_spec(m)
        except ModelError as e:
            raise SuiteError(f"{path}: [suite].models: {e} (or define it in a [models.{m}] table)") from None
    unused = sorted(set(suite.models) - set(suite.suite.models))
    if unused:
        raise SuiteError(f"{path}: [models.{unused[0]}] is defined but not listed in [suite].models")
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
                            all_docs=False, batch_size=None, force=getattr(args, "force", False),
                            results_dir=args.results_dir, quiet=getattr(args, "quiet", False), export_task=None,
                            no_report=getattr(args, "no_report", False))
    return cmd_perplexity(ns)


def score_rows(scores, langs: list[str], *, protocol: dict) -> list[dict]:
    """Rows (without provenance) for every metric per language and for "*" (pooled sums)."""
    from ..schema import ALL_LANGS

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
    return rows


def model_spec(suite: PplSuite, name: str):
    """The ModelSpec of a suite model (a [models.NAME] entry, built if it is a transplant) or a registry model."""
    from .models import ModelSpec, get_model_spec

    entry = suite.models.get(name)
    if entry is None:
        return get_model_spec(name)
    if entry.transplant:
        from ..transplant import ensure_transplant

        t = entry.transplant
        out = ensure_transplant(t.model, t.tokenizer, t.method, dict(t.params))
        return ModelSpec(name=name, tokenizer=t.tokenizer, path=str(out),
                         description=entry.description or f"{t.model} transplanted to {t.tokenizer} ({t.method})")
    return ModelSpec(name=name, **entry.model_dump(exclude={"transplant"}))


def model_identity(suite: PplSuite, name: str) -> dict:
    """What identifies a model's weights without loading them (part of the resume key)."""
    entry = suite.models.get(name)
    if entry is not None and entry.transplant:
        from .. import transplant

        return {"transplant": entry.transplant.model_dump(),
                "transplant_version": getattr(transplant, "TRANSPLANT_VERSION", None)}
    from .models import get_model_spec

    spec = get_model_spec(name) if entry is None else None
    if spec is not None and spec.asset:
        from ..assets import get_spec

        return {"asset": spec.asset, "sha256": get_spec(spec.asset).sha256}
    src = entry if entry is not None else spec
    return {"path": src.path, "gguf_file": src.gguf_file, "hub_id": src.hub_id}


def _versions() -> dict:
    from .score import _version

    return {"lm_eval": _version("lm_eval"), "transformers": _version("transformers"), "torch": _version("torch")}


def run_perplexity(suite: PplSuite, *, results_dir: Path, device: str | None = None, limit_docs: int | None = None,
                   models: list[str] | None = None, quiet: bool = False, export_task: str | None = None,
                   force: bool = False, all_docs: bool = False, batch_size: int | None = None) -> dict:
    """Score every (model, corpus) not already in the store, then the ppl_ratio rows.

    A part file is written per (model, corpus) as soon as it is scored, so an interrupted run
    keeps what it finished and a rerun skips it (resume key: suite, model identity, protocol,
    corpus hash, library versions -> ``config_hash``).
    """
    from .. import __version__
    from ..corpora import load_corpus
    from ..schema import SCHEMA_VERSION
    from ..store import load_results, new_run_id, now_utc, write_part
    from .models import load_model_spec
    from .score import score_documents

    log = (lambda *a: None) if quiet else (lambda *a: print("tokbench:", *a, file=sys.stderr))
    if quiet:
        _quiet_libraries()
    names = models or suite.suite.models
    ref_name = suite.suite.reference_model
    order = ([ref_name] if ref_name in names else []) + [m for m in names if m != ref_name]
    run_id, seq, out = new_run_id(), 0, {"parts": [], "scores": {}, "timings": {}, "skipped": [], "failed": []}
    p = suite.protocol
    bs = batch_size or p.batch_size
    corpora = {}
    for cname, spec in suite.corpora.items():
        if all_docs:
            spec = spec.model_copy(update={"max_docs_per_lang": None})
        c = load_corpus(cname, spec)
        corpora[cname] = c.limit_docs(limit_docs) if limit_docs else c
    stored = load_results(results_dir)
    done = set()
    if not stored.empty:
        sel = stored[(stored["suite"] == suite.suite.name) & (stored["metric"] == "bits_per_byte")]
        done = set(zip(sel["model"], sel["corpus_hash"], sel["config_hash"]))
    chash: dict[tuple[str, str], str] = {}
    for mname in order:
        ident = model_identity(suite, mname)
        todo = []
        for cname, corpus in corpora.items():
            key = {"model": ident, "max_length": p.max_length, "batch_size": bs, "dtype": p.dtype,
                   "corpus_hash": corpus.hash, "metric_version": METRIC_VERSION, **_versions()}
            h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
            chash[(mname, cname)] = h
            if (mname, corpus.hash, h) in done and not force:
                out["skipped"].append((mname, cname))
                log(f"{mname} on {cname}: already in {results_dir}, skipped (--force to recompute)")
            else:
                todo.append(cname)
        if not todo:
            continue
        t0 = time.time()
        try:
            spec = model_spec(suite, mname)
            model, tok, info = load_model_spec(spec, dtype=p.dtype, device=device)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one model that cannot be built or loaded is reported; the others still run
            out["failed"].append((mname, f"{type(e).__name__}: {e}"))
            print(f"tokbench: error: model {mname!r} could not be loaded: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        log(f"loaded {mname} in {time.time() - t0:.1f}s")
        for cname in todo:
            corpus = corpora[cname]
            t1 = time.time()
            scores = score_documents(model, tok, list(corpus.text), batch_size=bs, max_length=p.max_length,
                                     device=device, langs=list(corpus.lang), label=f"{suite.suite.name}_{cname}",
                                     task_dir=export_task, disable_tqdm=quiet)
            out["timings"][(mname, cname)] = time.time() - t1
            log(f"scored {mname} on {cname} ({len(corpus)} docs) in {time.time() - t1:.1f}s")
            out["scores"][(mname, cname)] = scores
            protocol = {**scores.protocol, "device": device or "auto", "model_source": info["source"],
                        "gguf_file": info["gguf_file"], "weights_sha256": info["weights_sha256"],
                        "tokenizer_source": info.get("tokenizer_source")}
            if suite.models.get(mname) is not None and suite.models[mname].transplant:
                protocol["transplant"] = suite.models[mname].transplant.model_dump()
            rows = score_rows(scores, list(corpus.lang), protocol=protocol)
            seq += 1
            out["parts"].append(write_part(_provenance(rows, run_id, suite, info["tokenizer"],
                                                       _tokenizer_hash(info["tokenizer"]), mname, cname, corpus.hash,
                                                       chash[(mname, cname)], __version__, SCHEMA_VERSION, now_utc()),
                                           results_dir, run_id=run_id, seq=seq))
        out["timings"][(mname, "load")] = time.time() - t0
        del model
    if ref_name:
        stored = load_results(results_dir)
        for cname, corpus in corpora.items():
            if (ref_name, cname) not in chash:
                continue
            ref = _stored(stored, suite.suite.name, ref_name, corpus.hash, chash[(ref_name, cname)])
            for mname in order:
                if mname == ref_name or (mname, cname) not in chash:
                    continue
                cand = _stored(stored, suite.suite.name, mname, corpus.hash, chash[(mname, cname)])
                rh = hashlib.sha256(f"{chash[(mname, cname)]}/{chash[(ref_name, cname)]}".encode()).hexdigest()[:16]
                if not force and not stored.empty and ((stored["metric"] == "ppl_ratio") & (stored["model"] == mname)
                                                       & (stored["config_hash"] == rh)
                                                       & (stored["suite"] == suite.suite.name)).any():
                    continue
                rows = ratio_rows(cand, ref, reference=ref_name)
                if not rows:
                    continue
                tok_name = cand["_tokenizer"]
                seq += 1
                out["parts"].append(write_part(_provenance(rows, run_id, suite, tok_name, cand["_tokenizer_hash"],
                                                           mname, cname, corpus.hash, rh, __version__,
                                                           SCHEMA_VERSION, now_utc()),
                                               results_dir, run_id=run_id, seq=seq))
    return out


def _quiet_libraries() -> None:
    """-q: silence the progress bars of datasets and lm-eval (tqdm reads TQDM_DISABLE) and their info logs."""
    import logging
    import os

    os.environ["TQDM_DISABLE"] = "1"
    for name in ("lm-eval", "lm_eval", "datasets", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


def _tokenizer_hash(name: str) -> str | None:
    """The registry fingerprint of a model's tokenizer (the key that joins model rows to tokenizer rows)."""
    from ..registry import RegistryError, resolve

    try:
        return resolve(name).fingerprint()
    except (RegistryError, OSError, ValueError):
        return None


def _provenance(rows, run_id, suite, tokenizer, tokenizer_hash, model, corpus, corpus_hash, config_hash, version,
                schema_version, created):
    for r in rows:
        r.update(run_id=run_id, suite=suite.suite.name, suite_version=suite.suite.version, tokenizer=tokenizer,
                 tokenizer_hash=tokenizer_hash, model=model, corpus=corpus, corpus_hash=corpus_hash, ci_low=None,
                 ci_high=None, config_hash=config_hash, tokbench_version=version, schema_version=schema_version,
                 created_at=created)
    return rows


def _stored(df, suite: str, model: str, corpus_hash: str, config_hash: str) -> dict:
    """lang -> {metric: (value, n)} of the newest stored perplexity rows of one (model, corpus, config)."""
    sel = df[(df["suite"] == suite) & (df["model"] == model) & (df["corpus_hash"] == corpus_hash)
             & (df["config_hash"] == config_hash) & (df["metric"].isin(PPL_METRICS))]
    sel = sel.sort_values("created_at").drop_duplicates(["lang", "metric", "variant"], keep="last")
    out: dict = {"_tokenizer": None, "_tokenizer_hash": None}
    for r in sel.itertuples(index=False):
        out.setdefault(r.lang, {})[r.metric] = (float(r.value), int(r.n), json.loads(r.params))
        out["_tokenizer"] = r.tokenizer
        out["_tokenizer_hash"] = r.tokenizer_hash if isinstance(r.tokenizer_hash, str) else None  # null reads as NaN
    return out


def ratio_rows(cand: dict, ref: dict, *, reference: str) -> list[dict]:
    """``ppl_ratio`` rows (byte, token) per language both sides have: candidate perplexity over the
    reference's. The byte variant requires identical text (equal byte counts)."""
    rows = []
    for lang in sorted(k for k in cand if not k.startswith("_") and k in ref):
        c, r = cand[lang], ref[lang]
        for variant, metric in (("byte", "byte_perplexity"), ("token", "token_perplexity")):
            if metric not in c or metric not in r:
                continue
            if variant == "byte" and c[metric][1] != r[metric][1]:
                raise ValueError(f"ppl_ratio({lang}): candidate and reference scored different text "
                                 f"({c[metric][1]} vs {r[metric][1]} bytes)")
            params = {"reference": reference, "candidate_" + metric: c[metric][0], "reference_" + metric: r[metric][0],
                      "candidate_tokens": c["token_perplexity"][1], "reference_tokens": r["token_perplexity"][1],
                      "bytes": c["byte_perplexity"][1], "max_length": c[metric][2].get("max_length"),
                      "dtype": c[metric][2].get("dtype"), "batch_size": c[metric][2].get("batch_size"),
                      "bos": c[metric][2].get("bos"), "stride": c[metric][2].get("stride")}
            rows.append({"lang": lang, "metric": "ppl_ratio", "variant": variant, "value": c[metric][0] / r[metric][0],
                         "n": int(c[metric][1]), "params": json.dumps(params, sort_keys=True), "note": None,
                         "metric_version": METRIC_VERSION})
    return rows


def cmd_perplexity(args) -> int:
    from ..suites import SuiteError

    try:
        suite, path = load_ppl_suite(args.suite or DEFAULT_SUITE)
    except (SuiteError, FileNotFoundError) as e:
        print(f"tokbench: error: {e}", file=sys.stderr)
        return 2
    from . import LM_INSTALL_HINT, missing_packages

    missing = missing_packages()
    if missing:
        print(f"tokbench: error: {path.name} needs {', '.join(missing)}: {LM_INSTALL_HINT}", file=sys.stderr)
        return 2
    t0 = time.time()
    out = run_perplexity(suite, results_dir=Path(args.results_dir), device=args.device, limit_docs=args.limit_docs,
                         models=args.model, quiet=args.quiet, export_task=args.export_task, force=args.force,
                         all_docs=args.all_docs, batch_size=args.batch_size)
    for (m, c), s in out["scores"].items():
        print(f"{m:24s} {c:8s} bits/byte {s.bits_per_byte:.4f}  byte ppl {s.byte_perplexity:.4f}  "
              f"word ppl {s.word_perplexity:.2f}  ({len(s.docs)} docs)")
    print(f"{len(out['parts'])} part(s) written to {args.results_dir}, {len(out['skipped'])} (model, corpus) already "
          f"stored; {time.time() - t0:.1f}s")
    if not args.no_report:
        from ..report import render_leaderboard

        lb = render_leaderboard(Path(args.results_dir))
        if lb:
            print(f"leaderboard: {lb['markdown']} and {lb['html']}")
    for m, err in out["failed"]:
        print(f"tokbench: error: model {m!r} failed: {err}", file=sys.stderr)
    return 1 if out["failed"] else 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("perplexity", help="zero-shot perplexity of causal LMs (bits/byte, ppl ratios)",
                              description="Score registry causal LMs with lm-eval loglikelihood_rolling and store "
                                          "bits/byte, byte/char/word/token perplexity and ppl_ratio rows. "
                                          "Needs the [lm] extra (torch, transformers, lm-eval).")
    p.add_argument("suite", nargs="?", help=f"perplexity suite name or TOML (default {DEFAULT_SUITE})")
    p.add_argument("--model", action="append", help="only this model (repeatable)")
    p.add_argument("--device", help="torch device, e.g. cuda (default: lm-eval's choice)")
    p.add_argument("--limit-docs", type=int, help="at most N documents per language")
    p.add_argument("--all-docs", action="store_true",
                   help="ignore the suite's max_docs_per_lang and score every document (GPU scale)")
    p.add_argument("--batch-size", type=int, help="override [protocol] batch_size (e.g. 32 on a GPU)")
    p.add_argument("--export-task", metavar="DIR",
                   help="keep the generated lm-eval task YAML and JSONL in DIR (rerun them with lm_eval --include_path)")
    p.add_argument("--force", action="store_true", help="rescore what the store already holds")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--no-report", action="store_true", help="do not render the leaderboard afterwards")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_perplexity)
