"""The markdown summary of a comparison (``tokbench compare`` / ``tokbench check``): the
verdict, the failures with their worst scopes and examples, the thresholds, then every metric
on each corpus's pooled scope. Reads a :class:`tokbench.gate.bootstrap.Comparison`
(``Comparison.to_markdown`` calls :func:`render_markdown`).
"""
from __future__ import annotations

from typing import Any

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


def render_markdown(cmp: Any, *, mode: str = "check", max_rows: int = 10) -> str:
    """The summary of ``cmp`` (a Comparison); ``mode`` "check" leads with the pass/fail verdict."""
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
        out.append(f"## tokbench compare: `{cmp.baseline}` → `{cmp.candidate}`")
    out.append("")
    out.extend(_header(cmp))
    if fails:
        out.extend(_failures(cmp, rules, failed_rules, max_rows))
    if checks:
        out.extend(_thresholds(rules, mode))
    out.extend(_all_metrics(cmp))
    return "\n".join(out).rstrip() + "\n"


def _header(cmp: Any) -> list[str]:
    out = []
    m = cmp.meta
    bits = [f"baseline **`{cmp.baseline}`**" + (f" (`{m['baseline_hash'][:12]}`)" if m.get("baseline_hash") else ""),
            f"candidate **`{cmp.candidate}`**" + (f" (`{m['candidate_hash'][:12]}`)" if m.get("candidate_hash") else "")]
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


def _all_metrics(cmp: Any) -> list[str]:
    """The compact table: the pooled scope of every corpus ("*", or its only language)."""
    out = ["### All metrics", ""]
    scopes: dict[str, str] = {}
    for c in cmp.cells:  # "*" where the corpus has it, else its (only) language
        if c.corpus not in scopes or c.lang == ALL_LANGS:
            scopes[c.corpus] = c.lang
    multi = len(scopes) > 1
    out.append("Scope: " + ", ".join(f"`{k}:{v}`" + (" (all languages pooled)" if v == ALL_LANGS else "")
                                      for k, v in scopes.items()) + ". ▲/▼: the CI of Δ excludes 0 "
               "and the change is better/worse for the metric's direction.")
    out.append("")
    out.append(("| corpus " if multi else "") + f"| metric/variant | baseline | candidate | Δ | Δ% | "
               f"{cmp.confidence:.0%} CI of Δ | |")
    out.append(("|---" if multi else "") + "|---|---:|---:|---:|---:|---|---|")
    for c in cmp.cells:
        if scopes.get(c.corpus) != c.lang:
            continue
        v = c.verdict()
        mark = {"better": "▲ better", "worse": "▼ worse"}.get(v, "")
        ci = interval(c.ci_low, c.ci_high) if c.has_ci else ("n/a" if c.note and "no CI" in c.note else "–")
        out.append((f"| {c.corpus} " if multi else "") + f"| {c.metric}/{c.variant} | {fmt(c.baseline)} | "
                   f"{fmt(c.candidate)} | {fmt(c.delta, sign=True)} | {pct(c.rel_delta)} | {ci} | {mark} |")
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
        out.append(f"| word | × | `{cmp.baseline}` tokens | `{cmp.candidate}` tokens |")
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
