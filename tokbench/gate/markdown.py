"""The markdown summary of a comparison (``tokbench compare`` / ``tokbench check``): the
verdict, the failures with their worst scopes and examples, the thresholds, then every metric
on each corpus's pooled scope and the languages :func:`shown_langs` picks. Reads a
:class:`tokbench.gate.bootstrap.Comparison` (``Comparison.to_markdown`` calls
:func:`render_markdown`). Display only: nothing here changes a value or a check.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..schema import ALL_LANGS
from .fmt import fmt, interval, pct
from .results import RELATIVE_RULES, Check, Example, example_scopes
from .thresholds import rule_text


def _md(s: str) -> str:
    return s.replace("|", "\\|")


def _piece(p: str) -> str:
    p = p.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥").replace("`", "ˋ").replace("|", "\\|")
    return f"`{p}`" if p else "``"


def _pieces(ps: list[str] | None, limit: int = 24) -> str:
    if ps is None:
        return ""
    shown = " ".join(_piece(p) for p in ps[:limit])
    return shown + (f" … (+{len(ps) - limit})" if len(ps) > limit else "")


def _scope_label(c) -> str:
    return f"{c.corpus}:{c.lang}"


def _names(cmp: Any) -> tuple[str, str]:
    """The names the summary shows (``--name-baseline``/``--name-candidate``, a path as parent/file)."""
    m = cmp.meta or {}
    return m.get("baseline_name") or cmp.baseline, m.get("candidate_name") or cmp.candidate


MAX_DEFAULT_LANGS = 3  # a corpus with at most this many languages shows them all by default


def shown_langs(cmp: Any, *, lang_focus: Sequence[str] | None = None, all_langs: bool = False
                ) -> dict[str, tuple[list[str], str]]:
    """Per corpus, the scopes of the "All metrics" table and why (the text after their names in
    the summary; docs/gate.md, "Which languages the report shows").

    Always the pooled scope ("*", or the only language of a one-language corpus); besides it
    every language with ``all_langs``, else the ``lang_focus`` languages the corpus has (in that
    order), else every language when the corpus has at most 3, else the languages where a
    threshold check failed.
    """
    langs: dict[str, list[str]] = {}
    for c in cmp.cells:
        seen = langs.setdefault(c.corpus, [])
        if c.lang not in seen:
            seen.append(c.lang)
    failing = {(c.corpus, c.lang) for c in cmp.checks if c.status == "fail"}
    out = {}
    for corpus, scopes in langs.items():
        each = [l for l in scopes if l != ALL_LANGS]
        pooled = [ALL_LANGS] if ALL_LANGS in scopes else each[:1]
        n = len(each)
        more = "`--lang-focus CODE` or `--all-langs` shows others"
        if all_langs:
            pick, why = each, ": every language (`--all-langs`)"
        elif lang_focus:
            pick = [l for l in dict.fromkeys(lang_focus) if l in each]
            why = f": the pooled scope and the languages of `--lang-focus` ({len(pick)} of {n})"
        elif n <= MAX_DEFAULT_LANGS:
            pick, why = each, f": every language (the corpus has at most {MAX_DEFAULT_LANGS})"
        else:
            pick = [l for l in each if (corpus, l) in failing]
            why = (f": the pooled scope and the languages that fail a threshold ({len(pick)} of {n}; {more})" if pick
                   else f" only: no language of the {n} fails a threshold ({more})")
        out[corpus] = (pooled + [l for l in pick if l not in pooled], why)
    return out


def render_markdown(cmp: Any, *, mode: str = "check", max_rows: int = 10, lang_focus: Sequence[str] | None = None,
                    all_langs: bool = False) -> str:
    """The summary of ``cmp`` (a Comparison); ``mode`` "check" leads with the pass/fail verdict;
    ``lang_focus``/``all_langs``: the languages of the "All metrics" table (:func:`shown_langs`)."""
    out: list[str] = []
    checks = cmp.checks
    fails = cmp.failures
    rules: dict[tuple, list[Check]] = {}
    for c in checks:
        rules.setdefault(c.rule_key + (c.use_ci,), []).append(c)
    failed_rules = [k for k, v in rules.items() if any(c.status == "fail" for c in v)]
    if mode == "check":
        if not checks:
            verdict = "✅ PASS: no thresholds to check"
        elif fails:
            verdict = (f"❌ FAIL: {len(failed_rules)} of {len(rules)} threshold(s) failed "
                       f"({len(fails)} of {len(checks)} checks)")
        else:
            verdict = f"✅ PASS: {len(rules)} threshold(s), {len(checks)} checks, none failed"
        out.append(f"## tokbench check: {verdict}")
    else:
        out.append("## tokbench compare: `{}` → `{}`".format(*_names(cmp)))
    out.append("")
    out.extend(_header(cmp))
    if fails:
        out.extend(_failures(cmp, rules, failed_rules, max_rows))
    if checks:
        out.extend(_thresholds(rules, mode))
    out.extend(_all_metrics(cmp, shown_langs(cmp, lang_focus=lang_focus, all_langs=all_langs)))
    return "\n".join(out).rstrip() + "\n"


def _header(cmp: Any) -> list[str]:
    out = []
    m = cmp.meta
    bits = []
    for side, name in zip(("baseline", "candidate"), _names(cmp)):
        facts = [f"`{m[side + '_hash'][:12]}`"] if m.get(side + "_hash") else []
        if m.get(side + "_vocab_size") is not None:
            facts.append(f"vocabulary {m[side + '_vocab_size']:,}")
        bits.append(f"{side} **`{name}`**" + (f" ({', '.join(facts)})" if facts else ""))
    line = " → ".join(bits)
    if m.get("suite"):
        line += f" · suite `{m['suite']}`" + (f" v{m['suite_version']}" if m.get("suite_version") else "")
    for name, info in (m.get("corpora") or {}).items():
        line += f" · corpus `{name}`: {info.get('langs')} language(s), {info.get('docs')} documents"
        if info.get("limit_docs"):
            line += f" (at most {info['limit_docs']} per language)"
    out.append(line)
    out.append("")
    out.append(f"Paired bootstrap over documents (resampled within each language, the same documents for both "
               f"tokenizers): {cmp.resamples} resamples, seed {cmp.seed}, {cmp.confidence:.0%} percentile CI. "
               "Δ = candidate − baseline; Δ% = Δ / baseline. A threshold fails only when the whole CI lies "
               "beyond it.")
    out.append("")
    return out


def _failures(cmp: Any, rules: dict[tuple, list[Check]], failed_rules: list[tuple], max_rows: int) -> list[str]:
    out = ["### Failures", ""]
    for key in failed_rules:
        group = sorted((c for c in rules[key] if c.status == "fail"), key=lambda c: -c.excess)
        metric, variant, rule, limit, use_ci = key
        rel = rule in RELATIVE_RULES
        out.append(f"#### ❌ {rule_text(metric, variant, rule, limit, use_ci)}: failed in {len(group)} of "
                   f"{len(rules[key])} scope(s)")
        out.append("")
        head = "CI of Δ%" if rel else ("CI of the candidate" if rule in ("min_value", "max_value") else "CI of Δ")
        out.append(f"| corpus:lang | baseline | candidate | Δ | Δ% | {cmp.confidence:.0%} {head} |")
        out.append("|---|---:|---:|---:|---:|---|")
        for chk in group[:max_rows]:
            cell = cmp.cell(*chk.key)
            ci = interval(chk.low, chk.high, pct if rel else fmt) if use_ci else "(point estimate)"
            out.append(f"| {_md(_scope_label(chk))} | {fmt(cell.baseline)} | {fmt(cell.candidate)} | "
                       f"{fmt(cell.delta, sign=True)} | {pct(cell.rel_delta)} | {ci} |")
        if len(group) > max_rows:
            rest = ", ".join(_scope_label(c) for c in group[max_rows:])
            out.append("")
            out.append(f"… and {len(group) - max_rows} more: {_md(rest)}")
        out.append("")
        for chk in example_scopes(group):
            exs = cmp.examples.get(chk.key)
            if exs:
                out.extend(_examples_md(exs, chk, cmp))
    out.append("")
    return out


def _thresholds(rules: dict[tuple, list[Check]], mode: str) -> list[str]:
    out = ["### Thresholds" + (" (informational: `tokbench check` fails on these)" if mode != "check" else ""), "",
           "| threshold | checks | failed | n/a | worst |", "|---|---:|---:|---:|---|"]
    for key, group in rules.items():
        metric, variant, rule, limit, use_ci = key
        nfail = sum(c.status == "fail" for c in group)
        nna = sum(c.status == "n/a" for c in group)
        judged = [c for c in group if c.status != "n/a"]
        worst = max(judged, key=lambda c: c.excess) if judged else None
        rel = rule in RELATIVE_RULES
        wtxt = ""
        if worst is not None:
            wtxt = f"{_scope_label(worst)} " + (interval(worst.low, worst.high, pct if rel else fmt)
                                               if use_ci else (pct(worst.low) if rel else fmt(worst.low, sign=True)))
        mark = "❌" if nfail else "✅"
        out.append(f"| {mark} {_md(rule_text(metric, variant, rule, limit, use_ci))} | {len(group)} | {nfail} | "
                   f"{nna} | {_md(wtxt)} |")
    out.append("")
    return out


def _all_metrics(cmp: Any, shown: dict[str, tuple[list[str], str]]) -> list[str]:
    """The compact table: per corpus, every metric/variant on the scopes of ``shown``
    (:func:`shown_langs`), the pooled scope first."""
    out = ["### All metrics", ""]
    multi = len(shown) > 1
    scope_txt = []
    for corpus, (langs, why) in shown.items():
        named = ", ".join(f"`{corpus}:{l}`" + (" (all languages pooled)" if l == ALL_LANGS else "") for l in langs)
        scope_txt.append(f"{named}{why}.")
    out.append("Scope: " + " ".join(scope_txt) + " ▲/▼: the CI of Δ excludes 0 and the change is "
               "better/worse for the metric's direction.")
    out.append("")
    out.append(("| corpus " if multi else "") + f"| metric/variant | lang | baseline | candidate | Δ | Δ% | "
               f"{cmp.confidence:.0%} CI of Δ | |")
    out.append(("|---" if multi else "") + "|---|---|---:|---:|---:|---:|---|---|")
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}  # (corpus, metric, variant) -> lang -> cell
    for c in cmp.cells:
        if c.corpus in shown and c.lang in shown[c.corpus][0]:
            rows.setdefault((c.corpus, c.metric, c.variant), {})[c.lang] = c
    for (corpus, _m, _v), by_lang in rows.items():
        for lang in shown[corpus][0]:
            c = by_lang.get(lang)
            if c is None:
                continue
            mark = {"better": "▲ better", "worse": "▼ worse"}.get(c.verdict(), "")
            ci = interval(c.ci_low, c.ci_high) if c.has_ci else ("n/a" if c.note and "no CI" in c.note else "–")
            out.append((f"| {c.corpus} " if multi else "") + f"| {c.metric}/{c.variant} | {_md(c.lang)} | "
                       f"{fmt(c.baseline)} | {fmt(c.candidate)} | {fmt(c.delta, sign=True)} | {pct(c.rel_delta)} | "
                       f"{ci} | {mark} |")
    out.append("")
    if cmp.notes:
        out.append("Notes:")
        out.append("")
        for n in cmp.notes:
            out.append(f"* {n}")
        out.append("")
    return out


def _examples_md(exs: list[Example], chk: Check, cmp: Any) -> list[str]:
    out = []
    where = f"`{chk.corpus}:{chk.lang}`"
    if exs[0].kind == "word":
        how = "encoded alone" if exs[0].isolated else "in context"
        out.append(f"Words whose token count grew most in {where} ({how}):")
        out.append("")
        out.append("| word | × | `{}` tokens | `{}` tokens |".format(*(_md(n) for n in _names(cmp))))
        out.append("|---|---:|---|---|")
        for e in exs:
            word = e.text.replace("`", "ˋ").replace("|", "\\|")
            lang = f" ({e.lang})" if chk.lang == ALL_LANGS else ""
            out.append(f"| `{word}`{lang} | {e.occurrences} | {int(e.baseline)}: {_pieces(e.baseline_pieces)} | "
                       f"{int(e.candidate)}: {_pieces(e.candidate_pieces)} |")
    else:
        out.append(f"Documents that regressed most in {where} ({chk.metric}/{chk.variant}):")
        out.append("")
        out.append("| document | baseline | candidate | text |")
        out.append("|---|---:|---:|---|")
        for e in exs:
            out.append(f"| {_md(e.lang)}/{_md(e.doc_key)} | {fmt(e.baseline)} | {fmt(e.candidate)} | {_md(e.text)} |")
    out.append("")
    return out
