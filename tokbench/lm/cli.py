"""`tokbench perplexity [SUITE]`: run a perplexity suite (docs/perplexity.md).

Argument parsing only: the suite kind (tokbench.kinds.perplexity) plans and scores, the
executor (tokbench.executor) skips stored work, writes parts and renders; ``tokbench run
SUITE`` does the same.
"""
from __future__ import annotations

from pathlib import Path

DEFAULT_SUITE = "perplexity-v1"


def cmd_perplexity(args) -> int:
    from ..cli import run_and_report
    from ..kinds import RunOptions, load_any

    kind, suite = load_any(args.suite or DEFAULT_SUITE)
    if kind.name != "perplexity":
        from ..suites import SuiteError

        raise SuiteError(f"{args.suite}: a {kind.name} suite, not a perplexity suite: run it with `tokbench run`")
    options = RunOptions(results_dir=Path(args.results_dir), force=args.force, progress=not args.quiet,
                         render=not args.no_report, limit_docs=args.limit_docs, device=args.device,
                         models=args.model, batch_size=args.batch_size, all_docs=args.all_docs,
                         export_task=args.export_task, reuse_scores=args.reuse_scores)
    return run_and_report(kind, suite, options)


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
    p.add_argument("--reuse-scores", action="store_true",
                   help="keep stored scores made with other lm-eval/transformers/torch versions (else: rescored, "
                        "with a line naming the versions that changed)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--no-report", action="store_true", help="do not render the leaderboard afterwards")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_perplexity)
