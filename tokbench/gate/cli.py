"""``tokbench compare`` and ``tokbench check``: the regression gate (docs/gate.md).

Orchestration only: resolve the two tokenizers (registry names, tokenizer paths, or
``run:<run_id>[:<tokenizer>]`` for the tokenizer of a stored run), load the suite's corpora
(``tokbench.corpora.load_corpus``) or one ``--corpus`` file, tokenize with both (through the
tokenization cache), and hand the pairs to :func:`tokbench.gate.bootstrap.compare`. For
failed thresholds it fills in the decoded pieces of the example words, then writes the
markdown summary. Metrics with ``needs_reference`` get the suite's ``reference_tokenizer``
(left out, with a note, when the suite names none or it fails).

Exit codes (``check``): 0 every threshold passed; 1 a threshold failed; 2 could not run (bad
input: unknown tokenizer, suite or corpus; a tokenizer that fails to load or encode).
``compare`` exits 0 whatever the deltas, 2 when it cannot run.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .results import GateError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
RUN_PREFIX = "run:"


def _err(msg: str) -> None:
    print(f"tokbench: error: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------------------
# tokenizers

@dataclass
class Side:
    """One side of the comparison: what was typed, the tokenizer name, its spec and fingerprint."""

    label: str
    name: str
    hash: str
    spec: Any = None  # TokenizerSpec, or None when it cannot be rebuilt (run:<id> with changed files)
    run_id: str | None = None
    rebuild_error: str | None = None
    path: str | None = None  # the absolute path of a tokenizer given as a path
    display: str = ""  # the name the summary shows (default: the label; parent/name for a path)
    _tok: Any = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        return self.display or self.label

    def vocab_size(self, tc) -> int | None:
        """The vocabulary size: the tokenizer's when it was built, else the one its tokenization
        recorded (a cached tokenization never builds the tokenizer, and this does not either)."""
        if self._tok is not None:
            return int(self._tok.vocab_size)
        v = (tc.meta or {}).get("vocab_size") if tc is not None else None
        return int(v) if v is not None else None

    def build(self):
        """The tokenizer (built once); raises GateError when it cannot be rebuilt."""
        if self._tok is None:
            if self.spec is None:
                raise GateError(self.rebuild_error or f"tokenizer {self.label!r} cannot be rebuilt")
            from ..registry import get_tokenizer

            self._tok = get_tokenizer(self.spec)
        return self._tok


def resolve_side(arg: str, *, results_dir: str | Path = "results") -> Side:
    """A registry name or alias, a tokenizer path, or ``run:<run_id>[:<tokenizer>]``."""
    from ..registry import resolve

    if not arg.startswith(RUN_PREFIX):
        spec = resolve(arg)  # RegistryError (exit 2) with a did-you-mean
        path = None
        if spec.source == arg and spec.name == arg and len(spec.paths) == 1:  # a path, not a registry entry
            path = str(next(iter(spec.paths.values())))
        return Side(label=arg, name=arg, hash=spec.fingerprint(), spec=spec, path=path,
                    display=short_path(path) if path else "")
    return _resolve_run(arg, Path(results_dir))


def short_path(path: str | Path, parts: int = 2) -> str:
    """How the summary names a tokenizer path: its last ``parts`` components (``parent/name``)."""
    p = Path(path)
    return "/".join(p.parts[-parts:]) if len(p.parts) > parts else str(p)


def name_sides(b: Side, c: Side, baseline_name: str | None = None, candidate_name: str | None = None) -> None:
    """Apply ``--name-baseline``/``--name-candidate``; two default path names that read the same
    (``a/x/tokenizer.json`` and ``b/x/tokenizer.json``) get more of their paths until they differ."""
    if b.path and c.path and b.path != c.path and not (baseline_name or candidate_name):
        n = 2
        while short_path(b.path, n) == short_path(c.path, n) and n < max(len(Path(b.path).parts),
                                                                       len(Path(c.path).parts)):
            n += 1
        b.display, c.display = short_path(b.path, n), short_path(c.path, n)
    for side, name in ((b, baseline_name), (c, candidate_name)):
        if name is not None:
            if not name.strip():
                raise GateError("--name-baseline/--name-candidate: give a non-empty name")
            side.display = name


def _resolve_run(arg: str, results_dir: Path) -> Side:
    from ..registry import RegistryError, resolve
    from ..store import load_results

    rest = arg[len(RUN_PREFIX):]
    run_id, _, tok_name = rest.partition(":")
    if not run_id:
        raise GateError(f"{arg!r}: give a run id, `run:<run_id>` or `run:<run_id>:<tokenizer>`")
    df = load_results(results_dir, warn=False, all_rows=True)
    if df.empty:
        raise GateError(f"{arg!r}: the results store {results_dir} is empty (use --results-dir)")
    ids = sorted(i for i in df["run_id"].dropna().astype(str).unique() if i.startswith(run_id))
    if not ids:
        raise GateError(f"{arg!r}: no run {run_id!r} in {results_dir}")
    if len(ids) > 1:
        raise GateError(f"{arg!r}: the prefix {run_id!r} matches several runs: {', '.join(ids)}")
    rows = df[df["run_id"].astype(str) == ids[0]]
    pairs = sorted(set(zip(rows["tokenizer"].astype(str), rows["tokenizer_hash"].astype(str))))
    if tok_name:
        pairs = [p for p in pairs if p[0] == tok_name]
        if not pairs:
            have = sorted(set(rows["tokenizer"].astype(str)))
            raise GateError(f"{arg!r}: run {ids[0]} has no tokenizer {tok_name!r} (it has: {', '.join(have)})")
    if len(pairs) > 1:
        raise GateError(f"{arg!r}: run {ids[0]} covers several tokenizers; pick one with "
                        f"`run:{ids[0]}:<tokenizer>` ({', '.join(p[0] for p in pairs)})")
    name, stored_hash = pairs[0]
    label = f"{name} (run {ids[0]})"
    try:
        spec = resolve(name)
    except RegistryError as e:
        return Side(label=label, name=name, hash=stored_hash, run_id=ids[0],
                    rebuild_error=f"{arg!r}: tokenizer {name!r} of run {ids[0]} no longer resolves ({e}) and its "
                                  "tokenization of this corpus is not in the cache")
    if spec.fingerprint() == stored_hash:
        return Side(label=label, name=name, hash=stored_hash, spec=spec, run_id=ids[0])
    # the files changed since that run: only a cached tokenization (keyed by the old hash) can stand in
    return Side(label=label, name=name, hash=stored_hash, run_id=ids[0],
                rebuild_error=f"{arg!r}: tokenizer {name!r} changed since run {ids[0]} (fingerprint "
                              f"{stored_hash[:12]} then, {spec.fingerprint()[:12]} now) and its tokenization of "
                              "this corpus is not in the cache, so it cannot be reproduced")


# --------------------------------------------------------------------------------------
# the gate

def run_gate(baseline: str, candidate: str, *, suite: str | None = None, corpus: str | None = None,
             lang: str | None = None, limit_docs: int | None = None, resamples: int = 1000, seed: int = 0,
             full_ci: bool = False, examples: int = 5, results_dir: str | Path = "results",
             use_cache: bool = True, progress: bool = False, baseline_name: str | None = None,
             candidate_name: str | None = None, lang_focus: list[str] | None = None, shard_bytes: int = 64 << 20,
             executor: str = "auto", workers: int | None = None, scheduler: str | None = None):
    """Compare ``candidate`` against ``baseline`` on a suite's corpora (or one file); returns a
    :class:`tokbench.gate.bootstrap.Comparison` with the suite's thresholds evaluated.

    ``baseline_name``/``candidate_name``: the names the summary shows (``meta``); ``lang_focus``
    is only checked here (exit 2 for a language no corpus has), the summary uses it. A file
    corpus of more than one shard (``shard_bytes``) runs sharded (:mod:`tokbench.gate.sharded`)
    on ``executor`` / ``workers`` / ``scheduler``, as ``tokbench run`` does."""
    from ..corpora import CorpusError, load_corpus
    from ..metrics import get_metric
    from ..registry import RegistryError
    from ..segment import segmenters_for
    from ..suites import CorpusSpec, load_suite
    from ..tokenize import tokenize_corpus
    from .bootstrap import compare
    from .results import GateError, CorpusPair

    if resamples < 1:
        raise GateError("--resamples must be at least 1")
    if limit_docs is not None and limit_docs < 1:
        raise GateError("--limit-docs must be at least 1")
    if (corpus is None) != (lang is None):
        raise GateError("--corpus needs --lang CODE (and --lang needs --corpus)")
    s = load_suite(suite)
    base_dir = Path(s.path).parent if s.path != "<memory>" else None
    if corpus is not None:
        from ..stream import default_corpus_name

        specs = {default_corpus_name(corpus): CorpusSpec(source="file", path=str(corpus), lang=lang)}
        base_dir = None
    else:
        specs = dict(s.corpora)
    from ..corpora import check_lang_tag

    lang_focus = [code for code in lang_focus or [] if code != "*"]  # the pooled scope is always shown
    for code in lang_focus:
        check_lang_tag(code, where="--lang-focus")
    b_side = resolve_side(baseline, results_dir=results_dir)
    c_side = resolve_side(candidate, results_dir=results_dir)
    name_sides(b_side, c_side, baseline_name, candidate_name)
    metrics = s.metric_names()
    notes: list[str] = []
    ref_name = s.suite.reference_tokenizer
    ref_side = None
    ref_metrics = [m for m in metrics if get_metric(m).needs_reference]

    def drop_ref_metrics(why: str) -> None:
        nonlocal metrics
        dropped = [m for m in metrics if m in ref_metrics]
        if dropped:
            metrics = [m for m in metrics if m not in ref_metrics]
            notes.append(f"{', '.join(dropped)} left out: {why}")

    if ref_metrics:
        if ref_name:
            ref_side = resolve_side(ref_name, results_dir=results_dir)
        else:
            drop_ref_metrics("the suite names no reference_tokenizer")
    from .sharded import sharded_sources

    sharded = sharded_sources(specs, base_dir, limit_docs, shard_bytes)
    corpora = [(name, load_corpus(name, spec, base_dir=base_dir, limit_docs=limit_docs))
               for name, spec in specs.items() if name not in sharded]
    have = {l for _, corp in corpora for l in corp.langs} | {l for src in sharded.values() for l in src.langs or ()}
    if any(src.langs is None for src in sharded.values()):
        have |= set(lang_focus)  # languages found while streaming: nothing to check them against yet
    missing = [code for code in lang_focus if code not in have]
    if missing:
        langs = "; ".join(f"{name}: {', '.join(corp.langs)}" for name, corp in corpora)
        raise GateError(f"--lang-focus {', '.join(missing)}: no corpus has this language ({langs})")

    def tokenize(side: Side, corp, segs):
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(corp), desc=f"{side.shown}/{corp.name}", unit="doc", file=sys.stderr)
        try:
            return tokenize_corpus(side.build, corp, tokenizer_hash=side.hash, segmenters=segs,
                                   use_cache=use_cache, progress=bar.update if bar else None)
        except (GateError, RegistryError, CorpusError, KeyboardInterrupt):
            raise
        except Exception as e:  # a tokenizer that cannot encode: the gate cannot run
            raise GateError(f"tokenizer {side.label!r} failed on corpus {corp.name!r}: {type(e).__name__}: {e}") \
                from e
        finally:
            if bar:
                bar.close()

    pairs = []
    corpora_meta = {}
    vocab: dict[str, int | None] = {}
    for name, corp in corpora:
        segs = segmenters_for(corp.langs, s.segmenters)
        tc_b = tokenize(b_side, corp, segs)
        tc_c = tc_b if c_side.hash == b_side.hash else tokenize(c_side, corp, segs)
        tc_r = None
        if ref_side is not None and any(m in ref_metrics for m in metrics):
            if ref_side.hash == b_side.hash:
                tc_r = tc_b
            elif ref_side.hash == c_side.hash:
                tc_r = tc_c
            else:
                try:
                    tc_r = tokenize(ref_side, corp, segs)
                except GateError as e:
                    drop_ref_metrics(f"the reference tokenizer failed ({e})")
        pairs.append(CorpusPair(name=name, baseline=tc_b, candidate=tc_c, texts=corp.text, reference=tc_r,
                                segmenters=segs))
        if not vocab:
            vocab = {"b": b_side.vocab_size(tc_b), "c": c_side.vocab_size(tc_c)}
        corpora_meta[name] = {"langs": len(corp.langs), "docs": len(corp), "hash": corp.hash,
                              "limit_docs": limit_docs}
    extra_cells = []
    if sharded:
        from .sharded import run_sharded

        extra_cells = run_sharded(sharded, b_side, c_side, metrics, s, corpora_meta, notes, resamples=resamples,
                                   seed=seed, executor=executor, workers=workers, scheduler=scheduler,
                                   progress=progress)
    meta = {"suite": s.name, "suite_version": s.version, "suite_path": s.path,
            "baseline_hash": b_side.hash, "candidate_hash": c_side.hash,
            "baseline_run": b_side.run_id, "candidate_run": c_side.run_id,
            "baseline_name": b_side.shown, "candidate_name": c_side.shown,
            "baseline_path": b_side.path, "candidate_path": c_side.path,
            "baseline_vocab_size": vocab.get("b"), "candidate_vocab_size": vocab.get("c"),
            "reference": ref_name if any(m in ref_metrics for m in metrics) else None, "corpora": corpora_meta}
    result = compare(pairs, metrics=metrics, metric_params=s.metric_params, thresholds=s.thresholds,
                     resamples=resamples, seed=seed, full_ci=full_ci, baseline=b_side.label,
                     candidate=c_side.label, reference_name=ref_name, examples=examples, meta=meta,
                     extra_cells=extra_cells)
    if b_side.hash == c_side.hash:
        notes.append("baseline and candidate have the same fingerprint: identical tokenizers")
    result.notes = notes + result.notes
    if result.examples:
        add_pieces(result, {p.name: p for p in pairs}, b_side, c_side)
    return result


def add_pieces(result, pairs: dict, b_side: Side, c_side: Side) -> None:
    """Fill in the decoded token pieces of word examples (needs the tokenizers; skipped when one
    cannot be built, e.g. a stored run's tokenizer whose files changed)."""
    cache: dict[tuple[str, str, int], tuple] = {}

    def pieces(side: Side, key: str, pair, ex) -> list[str] | None:
        try:
            tok = side.build()
        except Exception as e:
            result.notes.append(f"no token pieces for {side.label}: {e}")
            return None
        try:
            if ex.isolated:
                ids = tok.encode_batch([ex.text])[0]
                return [_piece_text(tok, int(i)) for i in ids]
            text = pair.texts[ex.doc]
            ck = (key, pair.name, ex.doc)
            if ck not in cache:
                al = tok.encode_aligned([text])
                cache[ck] = (al.ids, al.starts, al.ends, al.unit)
            ids, starts, ends, unit = cache[ck]
            a, b = ex.span
            if unit == "byte":
                a, b = len(text[:a].encode("utf-8")), len(text[:b].encode("utf-8"))
            sel = [i for i in range(len(ids)) if a < ends[i] and starts[i] < b]
            return [_piece_text(tok, int(ids[i])) for i in sel]
        except Exception as e:  # examples are a convenience; never fail the gate on them
            result.notes.append(f"no token pieces for {side.label}: {type(e).__name__}: {e}")
            return None

    failed_sides: set[str] = set()
    for exs in result.examples.values():
        for ex in exs:
            if ex.kind != "word":
                continue
            pair = pairs[ex.corpus]
            for key, side in (("b", b_side), ("c", c_side)):
                if key in failed_sides:
                    continue
                p = pieces(side, key, pair, ex)
                if p is None:
                    failed_sides.add(key)
                elif key == "b":
                    ex.baseline_pieces = p
                else:
                    ex.candidate_pieces = p
    result.notes = list(dict.fromkeys(result.notes))


def _piece_text(tok, token_id: int) -> str:
    bs = tok.token_bytes(token_id)
    if not bs:
        return "⟨UNK⟩" if token_id in getattr(tok, "unk_ids", ()) else f"⟨{token_id}⟩"
    return bs.decode("utf-8", errors="backslashreplace")


# --------------------------------------------------------------------------------------
# command line

def _write_outputs(result, args, mode: str) -> None:
    md = result.to_markdown(mode=mode, lang_focus=args.lang_focus, all_langs=args.all_langs)
    if args.summary and args.summary != "-":
        path = Path(args.summary)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(md, encoding="utf-8")
    else:
        sys.stdout.write(md)
        sys.stdout.flush()
        step = os.environ.get("GITHUB_STEP_SUMMARY")
        if step:
            with open(step, "a", encoding="utf-8") as fh:
                fh.write(md + "\n")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_dict(), indent=1, default=str), encoding="utf-8")
    if args.summary and args.summary != "-":
        n_fail = len(result.failures)
        verdict = ("PASS" if result.ok else f"FAIL ({n_fail} failed checks)") if mode == "check" else "done"
        print(f"tokbench {mode}: {verdict}; summary written to {args.summary}")


def _cmd(args, mode: str) -> int:
    from ..workers import options_of
    from ..assets import AssetError
    from ..corpora import CorpusError
    from ..registry import RegistryError, add_registry_file
    from ..suites import SuiteError

    try:
        for f in args.registry or []:
            add_registry_file(f)
        result = run_gate(args.baseline, args.candidate, suite=args.suite, corpus=args.corpus, lang=args.lang,
                          limit_docs=args.limit_docs, resamples=args.resamples, seed=args.seed,
                          full_ci=args.full_ci, examples=args.examples, results_dir=args.results_dir,
                          use_cache=not args.no_cache, progress=not args.quiet,
                          baseline_name=args.name_baseline, candidate_name=args.name_candidate,
                          lang_focus=args.lang_focus, **options_of(args))
    except (GateError, SuiteError, RegistryError, CorpusError, AssetError) as e:
        _err(str(e))
        return EXIT_BAD_INPUT
    _write_outputs(result, args, mode)
    if mode == "check" and not result.ok:
        return EXIT_FAILED
    return EXIT_OK


def cmd_compare(args) -> int:
    return _cmd(args, "compare")


def cmd_check(args) -> int:
    return _cmd(args, "check")


def _add_common(p) -> None:
    from ..workers import add_arguments

    p.add_argument("baseline", help="registry name or alias, tokenizer path, or run:<run_id>[:<tokenizer>]")
    p.add_argument("candidate", help="registry name or alias, tokenizer path, or run:<run_id>[:<tokenizer>]")
    p.add_argument("--suite", help="suite name or TOML path whose corpora, metrics and [thresholds] are used "
                                   "(default: core-v1)")
    p.add_argument("--corpus", help="compare on this .txt/.jsonl/.parquet file instead of the suite's corpora")
    p.add_argument("--lang", help="language tag of --corpus")
    p.add_argument("--limit-docs", type=int, help="at most N documents per language (quick runs)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--full-ci", action="store_true",
                   help="also bootstrap the vocabulary-histogram metrics that no threshold names (slower)")
    p.add_argument("--examples", type=int, default=5, help="example words/documents per failure (default 5)")
    p.add_argument("--name-baseline", metavar="NAME",
                   help="name BASELINE in the summary (default: its registry name; a path as parent/file, "
                        "e.g. my-bpe/tokenizer.json; the JSON keeps the full path)")
    p.add_argument("--name-candidate", metavar="NAME", help="name CANDIDATE in the summary (as --name-baseline)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--lang-focus", action="append", metavar="CODE",
                       help="the 'All metrics' table shows these languages besides the pooled '*' rows "
                            "(repeatable). Default: every language of a corpus with at most 3, else only the "
                            "languages that fail a threshold. Display only: every language is still checked")
    shown.add_argument("--all-langs", action="store_true",
                       help="the 'All metrics' table shows every language")
    p.add_argument("--summary", help="write the markdown summary here (default: stdout, and appended to "
                                     "$GITHUB_STEP_SUMMARY when set)")
    p.add_argument("--json", help="also write every value, CI and check as JSON")
    p.add_argument("--registry", action="append", help="extra tokenizer registry TOML (repeatable)")
    p.add_argument("--results-dir", default="results", help="results store for run:<run_id> (default: results/)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the tokenization cache")
    add_arguments(p, shard_help="a file corpus larger than this (MB) is compared shard by shard (default 64; "
                                "docs/scale.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_parser(subparsers) -> None:
    c = subparsers.add_parser(
        "compare", help="compare two tokenizers: per metric x language deltas with paired bootstrap CIs",
        description="Tokenize the suite's corpora with BASELINE and CANDIDATE and report, per metric x variant "
                    "x language, both values, the delta and its 95% CI (paired bootstrap over documents). "
                    "Exits 0 unless it cannot run (2). See docs/gate.md.")
    _add_common(c)
    c.set_defaults(func=cmd_compare)
    k = subparsers.add_parser(
        "check", help="regression gate: compare and fail (exit 1) when a suite [thresholds] rule is violated",
        description="Like `compare`, then apply the suite's [thresholds]: exit 0 when all pass, 1 when one "
                    "fails (its whole 95% CI beyond the limit), 2 when the check cannot run. Writes a markdown "
                    "summary, failures first. See docs/gate.md.")
    _add_common(k)
    k.set_defaults(func=cmd_check)
