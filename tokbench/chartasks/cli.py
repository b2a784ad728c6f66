"""``tokbench chartasks``: generate character-level items and store the tokenizer-side analysis.

One part file per tokenizer (all its languages), rows with full provenance:
suite ``chartasks`` / suite_version ``1``, corpus ``chartasks-<lang>`` whose corpus_hash is
the sha256 of that language's canonical items jsonl (``generate.to_jsonl``).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

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
    p.set_defaults(func=cmd_chartasks)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(tokenizers: list[str], langs: list[str], *, items: int = 200, seed: int = 0, families=None,
        results_dir: Path = Path("results"), out: Path | None = None, log=print):
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
            r.update(run_id=run_id, suite=SUITE, suite_version=SUITE_VERSION, tokenizer=name, tokenizer_hash=tok_hash,
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
