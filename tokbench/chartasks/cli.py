"""``tokbench chartasks``: generate character-level items and store the tokenizer-side analysis.

Argument parsing only. Without ``--suite`` the options make an in-memory ``charlevel`` suite
named ``chartasks`` (version 1) with a tokenizer side; the suite kind
(tokbench.kinds.charlevel) and the executor do the rest: one part file per tokenizer (all its
languages), corpus ``chartasks-<lang>`` whose corpus_hash is the sha256 of that language's
canonical items jsonl (``generate.to_jsonl``).
"""
from __future__ import annotations

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
    p.add_argument("--suite", metavar="NAME",
                   help="run a `kind = \"charlevel\"` suite (tokenizer side and model side) instead of the options above")
    p.add_argument("--limit-items", type=int, metavar="N", help="with --suite: at most N items per family on both sides")
    p.add_argument("--force", action="store_true", help="recompute what the store already holds")
    p.add_argument("--no-report", action="store_true", help="do not render the leaderboard afterwards")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_chartasks)


def cmd_chartasks(args) -> int:
    from ..cli import EXIT_BAD_INPUT, run_and_report
    from ..kinds import RunOptions, get_kind, load_any
    from ..kinds.charlevel import load_char_suite

    options = RunOptions(results_dir=Path(args.results_dir), force=args.force, limit_docs=args.limit_items,
                         progress=not args.quiet, render=not args.no_report)
    if args.suite:
        kind, suite = load_any(args.suite)
        if kind.name != "charlevel":
            from ..suites import SuiteError

            raise SuiteError(f"{args.suite}: a {kind.name} suite, not a charlevel suite: run it with `tokbench run`")
        return run_and_report(kind, suite, options)
    if args.items < 1:
        print("tokbench: error: --items must be at least 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    langs = list(dict.fromkeys(args.lang or DEFAULT_LANGS))
    side = {"tokenizers": args.tokenizer or "core-v1", "langs": langs, "items": args.items}
    if args.family:
        side["families"] = list(dict.fromkeys(args.family))
    suite = load_char_suite(Path("<command line>"), {
        "suite": {"name": SUITE, "version": SUITE_VERSION, "kind": "charlevel", "seed": args.seed},
        "tokenizer_side": side})
    if args.out is not None:
        from .generate import FAMILIES, generate_all, to_jsonl

        fams = side.get("families") or FAMILIES
        text = "".join(to_jsonl(generate_all([lang], fams, args.items, args.seed)) for lang in langs)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10))} items to {args.out}")
    return run_and_report(get_kind("charlevel"), suite, options)
