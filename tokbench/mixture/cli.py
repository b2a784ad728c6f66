"""``tokbench infer-mixture``: data mixture inference from a BPE merge list (docs/mixture.md).

``tokbench infer-mixture TOKENIZER --categories CATS.toml [--merges T]`` prints the inferred
weights (nothing is stored; a ``kind = "mixture"`` suite stores rows through ``tokbench run``).
``--self-test`` trains BPE tokenizers on known mixtures of real text on this machine and
reports the MSE of the inferred weights per seed and on average.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "infer-mixture", help="data mixture inference from a BPE merge list (LP; --self-test)",
        description="Infer which share of a BPE tokenizer's training bytes came from each category, from the "
                    "order of its merge list (Hayase, Liu et al., NeurIPS 2024; docs/mixture.md).")
    p.add_argument("tokenizer", nargs="?", help="registry name or tokenizer file (not with --self-test)")
    p.add_argument("--categories", type=Path, metavar="FILE.toml",
                   help="[categories.NAME] tables: files (globs) and/or udhr (languages), bytes (budget)")
    p.add_argument("--merges", type=int, metavar="T", help="use the first T merges (default: 1000)")
    p.add_argument("--competitors", type=int, default=30, metavar="K",
                   help="competing pairs recorded per step before the lazy checks (default 30)")
    p.add_argument("--self-test", action="store_true",
                   help="train BPEs on known random mixtures of the categories (default: local text) and infer them")
    p.add_argument("--seeds", type=int, default=3, metavar="N", help="self-test: mixtures drawn (default 3)")
    p.add_argument("--n-categories", type=int, metavar="N", help="self-test: only the first N categories")
    p.add_argument("--train-bytes", type=int, default=4_000_000, metavar="B",
                   help="self-test: training bytes per tokenizer (default 4000000)")
    p.add_argument("--sample-bytes", type=int, default=2_000_000, metavar="B",
                   help="self-test: inference sample bytes per category (default 2000000)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_infer_mixture)


def cmd_infer_mixture(args) -> int:
    from ..errors import BadInput
    from .selftest import read_categories

    for opt in ("merges", "seeds", "train_bytes", "sample_bytes", "competitors", "n_categories"):
        v = getattr(args, opt, None)
        if v is not None and v < 1:
            raise BadInput(f"--{opt.replace('_', '-')} must be at least 1")
    try:
        import highspy  # noqa: F401
    except ImportError:
        raise BadInput("infer-mixture needs the HiGHS LP solver: pip install 'tokbench[mixture]'") from None
    cats = read_categories(args.categories) if args.categories else None
    if args.self_test:
        from .selftest import self_test

        if args.tokenizer:
            raise BadInput("--self-test trains its own tokenizers: give no TOKENIZER")
        log = (lambda *a: None) if args.json else print
        out = self_test(cats, n_cats=args.n_categories, seeds=args.seeds, merges=args.merges or 1000,
                        train_bytes=args.train_bytes, sample_bytes=args.sample_bytes, k=args.competitors, log=log)
        if args.json:
            print(json.dumps(out, indent=1))
        return 0
    if not args.tokenizer or cats is None:
        raise BadInput("infer-mixture needs TOKENIZER and --categories FILE.toml (or --self-test)")
    from .merges import load_merges
    from .selftest import category_docs
    from .solve import infer

    t0 = time.time()
    ml = load_merges(args.tokenizer, args.merges or 1000)
    samples = {name: category_docs(name, spec) for name, spec in cats.items()}
    fit, info = infer(ml, samples, merges=args.merges or 1000, k=args.competitors)
    if args.json:
        print(json.dumps({"tokenizer": args.tokenizer, "weights": fit.weights(), "total_slack": fit.slack,
                          "unverified_steps": fit.unverified, **info}, indent=1))
        return 0
    print(f"{args.tokenizer}: first {info['merges']} of {len(ml.merges)} merges, "
          f"{len(cats)} categories, {time.time() - t0:.1f}s")
    for c, w in sorted(fit.weights().items(), key=lambda kv: -kv[1]):
        print(f"  {c:20s} {w:.4f}   ({info['sample_bytes'][c]} sample bytes)")
    print(f"total slack {fit.slack:.4g}; steps still violated after the checks: {fit.unverified}")
    print("caveat: the weights are shares among these categories only; text of kinds not listed shifts them",
          file=sys.stderr)
    return 0
