"""`tokbench explain`: the token types behind %LANG / %Pure, with each verdict and its reason.

    tokbench explain pure_token_share --tokenizer llama3 --lang tr
    tokbench explain %TR --tokenizer byt5 --lang tr --suite turkish-v1 --limit 0 --json

Lists the token types of one tokenizer on one language, most frequent first: the text each
id decodes to alone, its normalised form, how often it occurs in each position of a word
(start, inside, end, the whole word), the verdict in each position and why (which root or
affix matched, which lexicon accepted the word and in which form), and the type's verdict
(most of its occurrences; docs/metrics.md "%LANG and %Pure: the position rules"). The text is
the suite's corpus for the language (``--suite``), a file (``--corpus``), or UDHR by default;
the backend is the suite's (or ``--backend``, or the language default).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import BadInput

ALIASES = {"%lang": "lang_token_share", "%tr": "lang_token_share", "%pure": "pure_token_share",
           "lang_token_share": "lang_token_share", "pure_token_share": "pure_token_share"}
NEED = {"lang_token_share": "words", "pure_token_share": "morphemes"}


def _metric(name: str) -> str:
    got = ALIASES.get(name.lower())
    if got is None:
        raise BadInput(f"explain: unknown metric {name!r}: use lang_token_share (%LANG, %TR) or "
                       "pure_token_share (%Pure)")
    return got


def _corpus_and_params(args, metric: str):
    """(corpus, metric params, segmenters) for the language."""
    from .corpora import load_corpus, load_file, load_udhr

    lang = args.lang
    if args.suite and args.corpus:
        raise BadInput("explain: give --suite or --corpus, not both")
    params: dict = {}
    segmenters: dict[str, str] = {}
    if args.suite:
        from .suites import load_suite

        suite = load_suite(args.suite)
        params = dict(suite.metric_params.get(metric, {}))
        segmenters = dict(suite.segmenters)
        for name, spec in suite.corpora.items():
            langs = list(spec.langs or []) or ([spec.lang] if getattr(spec, "lang", None) else [])
            if lang in langs:
                corpus = load_corpus(name, spec, base_dir=Path(suite.path).parent)
                break
        else:
            raise BadInput(f"explain: suite {suite.name!r} ({suite.path}) has no corpus declaring language "
                           f"{lang!r}; pick --lang from its corpora or drop --suite (UDHR {lang})")
    elif args.corpus:
        corpus = load_file(args.corpus, lang=lang)
    else:
        corpus = load_udhr(langs=[lang], name=f"udhr-{lang}")
    if lang in corpus.langs:
        corpus = corpus.select_langs([lang]) if len(corpus.langs) > 1 else corpus
    else:
        raise BadInput(f"explain: the corpus {corpus.name!r} has no {lang!r} documents")
    if args.backend:
        params["backend"] = args.backend
    return corpus, params, segmenters


def _fmt_row(rank: int, r: dict) -> str:
    v = {True: "yes", False: "no", None: "excl"}[r["verdict"]]
    why = " | ".join(f"{n}x {pos}: {'+' if ok else '-'} {reason}" for pos, n, ok, reason in r["reasons"])
    if r["verdict"] is None:
        why = "no letter: left out of the share"
    return f"{rank:>5} {r['count']:>7}  {r['text']!r:<16} {r['normalized']:<14} {v:<4}  {why}"


def cmd_explain(args) -> int:
    from .linguistic import get_backend, resolve_spec, BackendUnavailable, DEFAULT_MIN_ZIPF
    from .metrics import METRICS
    from .metrics.base import MetricInput
    from .metrics.lexicon_rules import explain_types
    from .registry import get_tokenizer, resolve
    from .segment import segmenters_for
    from .tokenize import tokenize_corpus

    if args.limit < 0:
        raise BadInput(f"explain: --limit must be >= 0 (0 lists every type), got {args.limit}")
    metric = _metric(args.metric)
    need = NEED[metric]
    corpus, params, segmenters = _corpus_and_params(args, metric)
    spec_str = resolve_spec(params, args.lang, need=need)
    if spec_str is None:
        raise BadInput(f"explain: no linguistic backend for {args.lang!r} ({metric}); pass --backend SPEC "
                       "(docs/metrics.md: hunspell, wordfreq, zemberek, or a root/affix list file)")
    try:
        backend = get_backend(spec_str, args.lang, min_zipf=float(params.get("min_zipf", DEFAULT_MIN_ZIPF)))
    except BackendUnavailable as e:
        raise BadInput(f"explain: backend {spec_str!r} unavailable for {args.lang}: {e}") from None
    if need == "words" and not backend.has_words:
        raise BadInput(f"explain: backend {spec_str!r} has no word lexicon for {args.lang} (%LANG needs one)")
    if need == "morphemes" and not backend.has_morphemes:
        raise BadInput(f"explain: backend {spec_str!r} has no roots or affixes for {args.lang} (%Pure needs them)")
    tspec = resolve(args.tokenizer)
    tc = tokenize_corpus(lambda: get_tokenizer(tspec), corpus, tokenizer_hash=tspec.fingerprint(),
                         segmenters=segmenters_for(corpus.langs, segmenters))
    values = METRICS[metric].compute(MetricInput(tc, {**params, "lang": args.lang}))
    rows = explain_types(tc, args.lang, backend, need)
    shown = rows if args.limit == 0 else rows[:args.limit]
    t, k = values["types"], values["tokens"]
    head = {"metric": metric, "tokenizer": args.tokenizer, "lang": args.lang, "corpus": corpus.name,
            "backend": backend.spec, "backend_version": backend.version, "types": t.value,
            "kept_types": t.n, "tokens": k.value, "kept_tokens": k.n}
    if args.json:
        json.dump({**head, "rows": shown}, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    print(f"{metric} of {args.tokenizer} on {corpus.name} [{args.lang}]: types {t.value:.4f} "
          f"({t.params.get('word_types', t.params.get('pure_types'))}/{t.n} kept types), tokens {k.value:.4f} "
          f"({k.n} kept tokens)")
    print(f"backend {backend.spec}: {backend.version}")
    print(f"{'rank':>5} {'count':>7}  {'token':<16} {'normalised':<14} {'type':<4}  occurrences by position: "
          "+/- verdict, reason")
    for n, r in enumerate(shown, 1):
        print(_fmt_row(n, r))
    if len(shown) < len(rows):
        print(f"... {len(rows) - len(shown)} more types (--limit 0 lists all)")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("explain", help="list the token types behind %LANG / %Pure with verdicts and reasons",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("metric", help="lang_token_share (%%LANG, %%TR) or pure_token_share (%%Pure)")
    p.add_argument("--tokenizer", required=True, help="registry name, tokenizer path or py:MODULE:ATTR")
    p.add_argument("--lang", required=True, help="language tag, e.g. tr")
    p.add_argument("--suite", help="take the corpus and backend params of this suite (default: UDHR LANG)")
    p.add_argument("--corpus", help="a text file (.txt/.jsonl/...) in LANG instead of UDHR")
    p.add_argument("--backend", help="linguistic backend spec, e.g. zemberek+hunspell (default: suite's or language's)")
    p.add_argument("--limit", type=int, default=40, help="types listed (most frequent first; 0 = all; default 40)")
    p.add_argument("--json", action="store_true", help="JSON with every listed type instead of a table")
    p.set_defaults(func=cmd_explain)


if __name__ == "__main__":  # pragma: no cover
    from .cli import main

    sys.exit(main(["explain", *sys.argv[1:]]))
