"""``tokbench reproduce SUITE``: rerun a suite from scratch and compare with a stored result set.

The fresh run goes to a temporary store (``--out`` keeps it); then, for every cell of the
fresh run (suite, tokenizer, model, corpus, lang, metric, variant; newest row of each), the
stored value and ``n`` must match: ``n`` exactly, values within ``--rtol`` (NaN equals NaN).
A full run (no ``--model``) also reports stored cells the fresh run did not produce.
Exit 0: identical; 1: differences (listed); 2: bad input.

This is how the refactors of tokbench are checked against the committed ``results/``
(docs/architecture.md), and how a user checks that a published leaderboard reproduces.
"""
from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CELL = ["suite", "tokenizer", "model", "corpus", "lang", "metric", "variant"]


@dataclass
class Reproduction:
    compared: int = 0
    differences: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # stored cells that the fresh run lacks
    extra: list[str] = field(default_factory=list)  # fresh cells that the store lacks

    @property
    def ok(self) -> bool:
        return not (self.differences or self.missing or self.extra)


def _cells(df):
    from .report import latest

    df = latest(df).copy()
    for c in CELL:
        df[c] = df[c].where(df[c].notna(), None)
    return {tuple(r[c] for c in CELL): (float(r["value"]), int(r["n"])) for _, r in df.iterrows()}


def compare_rows(stored, fresh, *, suite: str, rtol: float = 1e-9, full: bool = True) -> Reproduction:
    """Cell-by-cell comparison of the ``suite`` rows of two result frames."""
    s = _cells(stored[stored["suite"] == suite]) if not stored.empty else {}
    f = _cells(fresh[fresh["suite"] == suite]) if not fresh.empty else {}
    out = Reproduction()
    for key, (fv, fn) in f.items():
        if key not in s:
            out.extra.append("/".join(str(k) for k in key))
            continue
        sv, sn = s[key]
        out.compared += 1
        same_value = (math.isnan(sv) and math.isnan(fv)) or (not math.isnan(sv) and not math.isnan(fv)
                                                                and math.isclose(sv, fv, rel_tol=rtol, abs_tol=0.0))
        if not same_value or sn != fn:
            out.differences.append(f"{'/'.join(str(k) for k in key)}: stored {sv!r} (n {sn}), fresh {fv!r} (n {fn})")
    if full:
        out.missing = ["/".join(str(k) for k in key) for key in s if key not in f]
    return out


def reproduce(name_or_path: str, *, results_dir: Path, out: Path | None = None, rtol: float = 1e-9,
              models: list[str] | None = None, device: str | None = None, progress: bool = True) -> Reproduction:
    from .executor import execute
    from .kinds import RunOptions, load_any
    from .store import load_results

    kind, suite = load_any(name_or_path)
    stored = load_results(results_dir)
    with tempfile.TemporaryDirectory(prefix="tokbench-reproduce-") as tmp:
        target = Path(out) if out else Path(tmp)
        execute(kind, suite, RunOptions(results_dir=target, progress=progress, render=False, models=models,
                                        device=device))
        fresh = load_results(target)
    return compare_rows(stored, fresh, suite=kind.identity(suite)[0], rtol=rtol, full=not models)


def cmd_reproduce(args) -> int:
    res = reproduce(args.suite, results_dir=Path(args.results_dir), out=args.out, rtol=args.rtol, models=args.model,
                    device=args.device, progress=not args.quiet)
    print(f"{args.suite}: {res.compared} cell(s) compared with {args.results_dir}; {len(res.differences)} differ, "
          f"{len(res.missing)} stored but not reproduced, {len(res.extra)} new")
    for kind, lines in (("DIFF", res.differences), ("MISSING", res.missing), ("NEW", res.extra)):
        for line in lines[:args.show]:
            print(f"{kind} {line}")
        if len(lines) > args.show:
            print(f"{kind} ... and {len(lines) - args.show} more")
    return 0 if res.ok else 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("reproduce", help="rerun a suite from scratch and compare with a stored result set",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("suite", help="suite name or TOML")
    p.add_argument("--results-dir", default="results", help="the stored results to compare with (default results/)")
    p.add_argument("--out", type=Path, help="keep the fresh run's store here (default: a temporary folder)")
    p.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance of values (default 1e-9)")
    p.add_argument("--model", action="append", help="model suites: only this model (repeatable)")
    p.add_argument("--device", help="model suites: torch device, e.g. cuda")
    p.add_argument("--show", type=int, default=20, help="differences listed per kind (default 20)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_reproduce)


if __name__ == "__main__":  # pragma: no cover
    from .cli import main

    sys.exit(main(["reproduce", *sys.argv[1:]]))
