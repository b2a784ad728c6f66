"""``tokbench chartasks``: generate character-level items and store the tokenizer-side analysis.

One part file per tokenizer (all its languages), rows with full provenance:
suite ``chartasks`` / suite_version ``1``, corpus ``chartasks-<lang>`` whose corpus_hash is
the sha256 of that language's canonical items jsonl (``generate.to_jsonl``).
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SUITE, SUITE_VERSION = "chartasks", "1"
DEFAULT_LANGS = ("en", "tr", "ru")


def add_parser(subparsers) -> None:
    from .generate import FAMILIES, SCRIPTS

    p = subparsers.add_parser(
        "chartasks", help="character-level tasks (CharBench/CUTE): generate items, tokenizer-side analysis",
        description="Generate seeded character-level task items per language and store, per tokenizer, where "
                    "the queried character falls in the word's tokens (docs/chartasks.md).")
    p.add_argument("--tokenizer", action="append", metavar="NAME",
                   help="tokenizer (repeatable; default: the core-v1 suite's tokenizers)")
    p.add_argument("--lang", action="append", metavar="CODE", choices=sorted(SCRIPTS),
                   help=f"language (repeatable; default: {' '.join(DEFAULT_LANGS)})")
    p.add_argument("--family", action="append", choices=FAMILIES, help="task family (repeatable; default: all)")
    p.add_argument("--items", type=int, default=200, metavar="N", help="items per language x family (default 200)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="generator seed (default 0)")
    p.add_argument("--out", type=Path, metavar="FILE.jsonl", help="also write the items as JSON lines")
    p.add_argument("--results-dir", type=Path, default=Path("results"), metavar="DIR",
                   help="results store (default results/)")
    p.add_argument("--suite", metavar="NAME",
                   help="run a `kind = \"charlevel\"` suite (tokenizer side and model side) instead of the options above")
    p.add_argument("--limit-items", type=int, metavar="N", help="with --suite: at most N items per family on both sides")
    p.add_argument("--force", action="store_true", help="with --suite: rerun model-side work already stored")
    p.set_defaults(func=cmd_chartasks)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(tokenizers: list[str], langs: list[str], *, items: int = 200, seed: int = 0, families=None,
        results_dir: Path = Path("results"), out: Path | None = None, log=print, suite: str = SUITE,
        suite_version: str = SUITE_VERSION):
    """Generate, analyse, store. Returns (run_id, part paths, failures [(tokenizer, error)])."""
    from .. import __version__
    from ..registry import get_tokenizer, resolve
    from ..schema import SCHEMA_VERSION
    from ..store import new_run_id, now_utc, write_part
    from . import analysis
    from .generate import FAMILIES, GENERATOR_VERSION, WORDLIST_N, generate_all, to_jsonl

    families = list(families or FAMILIES)
    per_lang = {lang: generate_all([lang], families, items, seed) for lang in langs}
    hashes = {lang: _sha(to_jsonl(its)) for lang, its in per_lang.items()}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(to_jsonl(its) for its in per_lang.values()), encoding="utf-8")
        log(f"wrote {sum(map(len, per_lang.values()))} items to {out}")
    import wordfreq

    params = {"seed": seed, "items_per_family": items, "generator_version": GENERATOR_VERSION,
              "wordlist": f"wordfreq.top_n_list(lang, {WORDLIST_N})",
              "wordfreq_version": getattr(wordfreq, "__version__", None)}
    run_id, parts, failed = new_run_id(), [], []
    for seq, name in enumerate(tokenizers, 1):
        try:
            spec = resolve(name)
            tok_hash = spec.fingerprint()
            tok = get_tokenizer(spec)
            rows = []
            for lang, its in per_lang.items():
                for r in analysis.analyse(tok, its, params):
                    r.update(corpus=f"chartasks-{lang}", corpus_hash=hashes[lang])
                    rows.append(r)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one failing tokenizer is reported; the others still run
            failed.append((name, f"{type(e).__name__}: {e}"))
            log(f"tokbench chartasks: {name} failed: {type(e).__name__}: {e}")
            continue
        created = now_utc()
        for r in rows:
            r.update(run_id=run_id, suite=suite, suite_version=suite_version, tokenizer=name, tokenizer_hash=tok_hash,
                     model=None, ci_low=None, ci_high=None, note=None, metric_version=analysis.ANALYSIS_VERSION,
                     config_hash=_sha(r["params"]), tokbench_version=__version__, schema_version=SCHEMA_VERSION,
                     created_at=created)
        parts.append(write_part(rows, results_dir, run_id=run_id, seq=seq))
        cc = {r["lang"]: r["value"] for r in rows
              if r["metric"] == "char_task_inside_multichar" and r["variant"] == "count_char"}
        log(f"{name}: {len(rows)} rows; inside multi-char token (count_char): "
            + ", ".join(f"{k}={v:.3f}" for k, v in cc.items()))
    return run_id, parts, failed


def cmd_chartasks(args) -> int:
    if args.suite:
        from ..suites import find_suite

        return run_suite_file(find_suite(args.suite), argparse.Namespace(
            results_dir=args.results_dir, limit_docs=args.limit_items, quiet=False, no_report=False, force=args.force))
    tokenizers = args.tokenizer
    if not tokenizers:
        from ..suites import load_suite

        tokenizers = list(load_suite("core-v1").suite.tokenizers)
    langs = list(dict.fromkeys(args.lang or DEFAULT_LANGS))
    if args.items < 1:
        print("tokbench: error: --items must be at least 1", file=sys.stderr)
        return 2
    run_id, parts, failed = run(tokenizers, langs, items=args.items, seed=args.seed, families=args.family,
                                results_dir=args.results_dir, out=args.out)
    print(f"run {run_id}: {len(parts)} part file(s) in {args.results_dir}"
          + (f"; {len(failed)} tokenizer(s) failed" if failed else ""))
    return 1 if failed else 0


# --- `kind = "charlevel"` suites ------------------------------------------------------------------------
class CharSuiteMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["charlevel"]
    version: str = "1"
    description: str = ""
    seed: int = 0


class TokenizerSide(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokenizers: list[str] | str = "core-v1"   # a list, or the name of a tokenizer suite to take them from
    langs: list[str]
    items: int = Field(200, ge=1)             # per language x family


class ModelSide(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str]
    langs: list[str]
    items: int = Field(10, ge=1)              # per language x family
    k_shot: int = Field(3, ge=0)
    max_gen_toks: int = Field(32, ge=1)
    batch_size: int = Field(8, ge=1)
    dtype: str = "float32"


class CharSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: CharSuiteMeta
    tokenizer_side: TokenizerSide | None = None
    model_side: ModelSide | None = None


def load_char_suite(path: Path) -> CharSuite:
    from ..suites import SuiteError, read_toml, validation_problems
    from .generate import SCRIPTS

    try:
        s = CharSuite.model_validate(read_toml(Path(path)))
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid charlevel suite: {validation_problems(e)}") from None
    for side, langs in (("tokenizer_side", s.tokenizer_side and s.tokenizer_side.langs),
                        ("model_side", s.model_side and s.model_side.langs)):
        for lang in langs or []:
            if lang not in SCRIPTS:
                raise SuiteError(f"{path}: [{side}].langs: no word list for {lang!r} (choose from {', '.join(SCRIPTS)})")
    if s.model_side:
        from ..lm.models import ModelError, get_model_spec

        for m in s.model_side.models:
            try:
                get_model_spec(m)
            except ModelError as e:
                raise SuiteError(f"{path}: [model_side].models: {e}") from None
    if not (s.tokenizer_side or s.model_side):
        raise SuiteError(f"{path}: a charlevel suite needs [tokenizer_side] and/or [model_side]")
    return s


def _side_tokenizers(ts: TokenizerSide) -> list[str]:
    if isinstance(ts.tokenizers, str):
        from ..suites import load_suite

        return list(load_suite(ts.tokenizers).suite.tokenizers)
    return list(ts.tokenizers)


def describe_suite(path: Path) -> str:
    s = load_char_suite(path)
    parts = []
    if s.tokenizer_side:
        parts.append(f"tokenizer side {len(_side_tokenizers(s.tokenizer_side))} tokenizers x "
                     f"{len(s.tokenizer_side.langs)} languages")
    if s.model_side:
        parts.append(f"model side {', '.join(s.model_side.models)} on {', '.join(s.model_side.langs)}")
    return f"charlevel suite v{s.suite.version}: {'; '.join(parts)}. {s.suite.description}"


def run_suite_file(path: Path, args) -> int:
    """`tokbench run NAME` / `tokbench chartasks --suite NAME` on a charlevel suite."""
    from ..suites import SuiteError

    try:
        s = load_char_suite(path)
    except SuiteError as e:
        print(f"tokbench: error: {e}", file=sys.stderr)
        return 2
    results_dir = Path(args.results_dir)
    limit = getattr(args, "limit_docs", None)
    quiet = getattr(args, "quiet", False)
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    failed = []
    t0 = time.time()
    if s.tokenizer_side:
        ts = s.tokenizer_side
        _, parts, failed = run(_side_tokenizers(ts), list(ts.langs), items=min(ts.items, limit or ts.items),
                               seed=s.suite.seed, results_dir=results_dir, log=log, suite=s.suite.name,
                               suite_version=s.suite.version)
        print(f"tokenizer side: {len(parts)} part(s); {time.time() - t0:.1f}s")
    if s.model_side:
        from ..lm import LM_INSTALL_HINT, missing_packages

        missing = missing_packages("scipy")
        if missing:
            print(f"tokbench: error: the model side needs {', '.join(missing)}: {LM_INSTALL_HINT}", file=sys.stderr)
            return 2
        t1 = time.time()
        res = run_model_side(s, results_dir=results_dir, limit=limit, force=getattr(args, "force", False), log=log)
        for (m, lang), acc in sorted(res["accuracy"].items()):
            print(f"{m:16s} {lang}: " + "  ".join(f"{f} {v:.2f}" for f, v in acc.items()))
        print(f"model side: {len(res['parts'])} part(s), {len(res['skipped'])} model(s) already stored"
              + (f", {len(res['failed'])} model(s) failed" if res["failed"] else "") + f"; {time.time() - t1:.1f}s")
        failed = failed + res["failed"]
    if not getattr(args, "no_report", False):
        from ..report import render_leaderboard

        lb = render_leaderboard(results_dir)
        if lb:
            print(f"leaderboard: {lb['markdown']} and {lb['html']}")
    return 1 if failed else 0


def run_model_side(s: CharSuite, *, results_dir: Path, limit: int | None = None, force: bool = False,
                   log=print, lm_factory=None) -> dict:
    """Generate the model-side items, ask each model, store accuracy and correlation rows.

    ``lm_factory(model_name) -> (lm, info)`` (info has at least ``tokenizer``, the model's
    registry tokenizer) replaces model loading (tests pass stub LMs);
    by default the registry model is loaded and wrapped in lm-eval's HFLM
    (``modelside.make_generation_lm``). A model that fails to load or run is reported in
    ``out["failed"]`` and the others still run."""
    from .. import __version__
    from ..registry import get_tokenizer, resolve
    from ..schema import SCHEMA_VERSION
    from ..store import load_results, new_run_id, now_utc, write_part
    from . import analysis, modelside
    from .generate import FAMILIES, GENERATOR_VERSION, generate_all, to_jsonl

    ms = s.model_side
    n = min(ms.items, limit or ms.items)
    items = generate_all(list(ms.langs), FAMILIES, n, s.suite.seed)
    hashes = {lang: _sha(to_jsonl([it for it in items if it["lang"] == lang])) for lang in ms.langs}
    stored = load_results(results_dir)
    run_id, seq = new_run_id(), 0
    out = {"parts": [], "skipped": [], "failed": [], "accuracy": {}, "answers": {}}
    for mname in ms.models:
        key = {"model": mname, "items": n, "seed": s.suite.seed, "k_shot": ms.k_shot, "max_gen_toks": ms.max_gen_toks,
               "dtype": ms.dtype, "generator_version": GENERATOR_VERSION, "langs": hashes,
               "modelside_version": modelside.MODELSIDE_VERSION}
        chash = _sha(json.dumps(key, sort_keys=True))
        if not force and not stored.empty and ((stored["suite"] == s.suite.name) & (stored["model"] == mname)
                                               & (stored["config_hash"] == chash)).any():
            out["skipped"].append(mname)
            log(f"{mname}: model side already in {results_dir}, skipped (--force to rerun)")
            continue
        t0 = time.time()
        try:
            if lm_factory is None:
                from ..lm.models import load_model

                model, hf_tok, info = load_model(mname, dtype=ms.dtype)
                lm, bos = modelside.make_generation_lm(model, hf_tok, batch_size=ms.batch_size)
                info = {**info, "bos": bos}
                del model, hf_tok
            else:
                lm, info = lm_factory(mname)
            tok_name = info["tokenizer"]
            answers, protocol = modelside.generate_answers(lm, items, k=ms.k_shot, seed=s.suite.seed,
                                                           max_gen_toks=ms.max_gen_toks)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # a model that fails to load or run is reported; the others still run
            out["failed"].append((mname, f"{type(e).__name__}: {e}"))
            print(f"tokbench: error: model {mname!r} failed: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        finally:
            lm = None
            gc.collect()
        correct = modelside.correct_flags(items, answers)
        out["answers"][mname] = answers
        log(f"{mname}: {len(items)} items answered in {time.time() - t0:.1f}s")
        tspec = resolve(tok_name)
        records = analysis.analyse_items(get_tokenizer(tspec), items)
        params = {**protocol, "seed": s.suite.seed, "items_per_family": n, "generator_version": GENERATOR_VERSION,
                  "dtype": ms.dtype, "batch_size": ms.batch_size, "word_analysis": "word encoded alone, no leading "
                  "space (the prompt shows it in double quotes)", "weights_sha256": info.get("weights_sha256"),
                  "bos": info.get("bos"), "tokenizer_source": info.get("tokenizer_source")}
        rows = modelside.accuracy_rows(items, correct, params, answers) + \
            modelside.correlation_rows(items, correct, records, params)
        created = now_utc()
        for r in rows:
            r.update(run_id=run_id, suite=s.suite.name, suite_version=s.suite.version, tokenizer=tok_name,
                     tokenizer_hash=tspec.fingerprint(), model=mname, corpus=f"chartasks-{r['lang']}",
                     corpus_hash=hashes[r["lang"]], ci_low=None, ci_high=None,
                     metric_version=modelside.MODELSIDE_VERSION, config_hash=chash, tokbench_version=__version__,
                     schema_version=SCHEMA_VERSION, created_at=created)
        seq += 1
        out["parts"].append(write_part(rows, results_dir, run_id=run_id, seq=seq))
        for lang in ms.langs:
            out["accuracy"][(mname, lang)] = {r["variant"]: r["value"] for r in rows
                                              if r["metric"] == "char_task_accuracy" and r["lang"] == lang}
    return out
