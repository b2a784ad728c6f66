"""The ``tokenizer`` suite kind (the default): tokenizer x corpus -> intrinsic metrics.

Units are (tokenizer, corpus) pairs. Each tokenizes the corpus once (cached by content hash)
and computes every metric of the suite per language and over all languages (``lang = "*"``).
A suite with a ``reference_tokenizer`` and a metric that ``needs_reference`` tokenizes the
reference once per corpus; if the reference fails, it is reported and the other tokenizers
run without those metrics (so a rerun computes them).

Resume key of a unit (unchanged since schema 2): for every metric, a stored row with the same
suite, suite version, tokenizer, tokenizer hash, corpus hash, metric, metric version and
``config_hash`` (:func:`config_hash`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..corpora import load_corpus
from ..metrics import METRICS
from ..metrics.base import MetricInput
from ..schema import ALL_LANGS, finite
from ..segment import segmenters_for
from ..suites import Suite, parse_suite
from .base import RunOptions, SuiteKind, Unit, UnitContext


def metric_rows(tc, *, metrics: list[str], reference_tc=None, reference_name: str | None,
                metric_params: dict, segmenters: dict[str, str]) -> list[dict]:
    """Rows (without provenance columns) for every metric x variant x language (and "*")."""
    rows = []
    langs = list(dict.fromkeys(tc.lang.tolist()))
    scopes = [(lang, tc.for_lang(lang), reference_tc.for_lang(lang) if reference_tc is not None else None)
              for lang in langs]
    if len(langs) > 1:
        scopes.append((ALL_LANGS, tc, reference_tc))
    for lang, sub, ref in scopes:
        seg = segmenters.get(lang) if lang != ALL_LANGS else "per-language"
        for name in metrics:
            metric = METRICS[name]
            if ("all" if lang == ALL_LANGS else "lang") not in metric.scopes:
                continue
            params = {"segmenter": seg, **metric_params.get(name, {})}
            if metric.needs_reference:
                params["reference"] = reference_name
            values = metric.compute(MetricInput(sub, params, ref if metric.needs_reference else None, context=tc))
            for variant, v in values.items():
                p = {k: val for k, val in {**params, **v.params}.items() if k != "note"}
                row = {"lang": lang, "metric": name, "variant": variant, "value": finite(v.value),
                       "n": int(v.n), "params": json.dumps(p, sort_keys=True, default=str),
                       "note": v.params.get("note"), "metric_version": metric.version}
                if v.params.get("unavailable"):
                    row["incomplete"] = v.params["unavailable"]
                rows.append(row)
    return rows


def config_hash(metric: str, metric_params: dict, segmenters: dict[str, str], reference_hash: str | None) -> str:
    """Everything besides tokenizer, corpus and metric version that changes a metric's values:
    its parameters, the segmenters, the reference tokenizer (for metrics that need one) and
    the tokenization procedure. Part of the resume key, so changing any of them recomputes."""
    from ..tokenize import TOKENIZE_VERSION

    payload = {"params": metric_params.get(metric, {}), "segmenters": sorted(segmenters.items()),
               "reference": reference_hash if METRICS[metric].needs_reference else None,
               "tokenize_version": TOKENIZE_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class TokenizerKind(SuiteKind):
    name = "tokenizer"
    unit_noun = "(tokenizer, corpus)"

    @property
    def metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(METRICS.names())

    def load(self, path: Path, raw: dict) -> Suite:
        return parse_suite(path, raw)

    def describe(self, s: Suite) -> str:
        return (f"tokenizer suite v{s.version}: {len(s.suite.tokenizers)} tokenizers, {len(s.metric_names())} "
                f"metrics, corpora {', '.join(s.corpora)}. {s.suite.description}")

    def plan(self, suite: Suite, options: RunOptions) -> list[Unit]:
        from ..registry import resolve

        metrics = suite.metric_names()
        base_dir = Path(suite.path).parent if suite.path != "<memory>" else None
        hashes = {name: resolve(name).fingerprint() for name in suite.suite.tokenizers}
        built = _load_path_tokenizers(suite.suite.tokenizers)
        ref_name = suite.suite.reference_tokenizer
        ref_hash = hashes.get(ref_name) or (resolve(ref_name).fingerprint() if ref_name else None)
        units = []
        # load (and so check) every corpus before writing anything: a bad corpus file is bad
        # input (exit 2) and must not leave the parts of the corpora listed before it behind
        for corpus_name, cspec in suite.corpora.items():
            corpus = load_corpus(corpus_name, cspec, base_dir=base_dir).limit_docs(options.limit_docs)
            segs = segmenters_for(corpus.langs, suite.segmenters)
            configs = {m: config_hash(m, suite.metric_params, segs, ref_hash) for m in metrics}
            shared = {"corpus": corpus, "segs": segs, "ref_hash": ref_hash, "ref_tc": None, "ref_failed": False,
                      "ref_done": False}
            for name in suite.suite.tokenizers:
                keys = [{"suite": suite.name, "suite_version": suite.version, "tokenizer": name,
                         "tokenizer_hash": hashes[name], "corpus_hash": corpus.hash, "metric": m,
                         "metric_version": str(METRICS[m].version), "config_hash": configs[m]} for m in metrics]
                units.append(Unit(
                    label=f"tokenizer {name!r}", scope=f"on corpus {corpus_name!r}", done_when=keys, size=len(corpus),
                    provenance={"tokenizer": name, "tokenizer_hash": hashes[name], "corpus": corpus_name,
                                "corpus_hash": corpus.hash},
                    payload={"tokenizer": name, "corpus_name": corpus_name, "shared": shared, "configs": configs,
                             "metrics": metrics, "built": built}))
        return units

    def _reference(self, suite: Suite, p: dict, ctx: UnitContext):
        """The reference tokenization of the unit's corpus, once per corpus (None if it failed)."""
        from ..tokenize import tokenize_corpus

        shared, ref_name = p["shared"], suite.suite.reference_tokenizer
        if not shared["ref_done"]:
            shared["ref_done"] = True
            try:
                shared["ref_tc"] = tokenize_corpus(lambda: _build(ctx, ref_name), shared["corpus"],
                                                   tokenizer_hash=shared["ref_hash"], segmenters=shared["segs"],
                                                   use_cache=ctx.options.use_cache)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # reported like any failing tokenizer; the others run without it
                shared["ref_failed"] = True
                ctx.failures.append((f"tokenizer {ref_name!r} failed on corpus {p['corpus_name']!r}",
                                     f"(reference tokenizer) {type(e).__name__}: {e}"))
        return shared["ref_tc"]

    def execute(self, suite: Suite, unit: Unit, ctx: UnitContext) -> list[dict]:
        from ..tokenize import tokenize_corpus

        p = unit.payload
        name, shared, metrics = p["tokenizer"], p["shared"], p["metrics"]
        ref_name = suite.suite.reference_tokenizer
        ref_tc = None
        if ref_name and any(METRICS[m].needs_reference for m in metrics):
            ref_tc = self._reference(suite, p, ctx)
            if shared["ref_failed"]:
                if name == ref_name:
                    ctx.advance(unit.size)
                    return []  # already reported
                metrics = [m for m in metrics if not METRICS[m].needs_reference]
        if ref_tc is not None and name == ref_name:
            tc = ref_tc  # tokenize once: the reference was just tokenized
            ctx.advance(unit.size)
        else:
            tc = tokenize_corpus(lambda: p["built"].get(name) or _build(ctx, name), shared["corpus"], tokenizer_hash=unit.provenance[
                "tokenizer_hash"], segmenters=shared["segs"], use_cache=ctx.options.use_cache, progress=ctx.advance)
        rows = metric_rows(tc, metrics=metrics, reference_tc=ref_tc, reference_name=ref_name,
                           metric_params=suite.metric_params, segmenters=shared["segs"])
        for r in rows:
            r["config_hash"] = p["configs"][r["metric"]]
        return rows


def _load_path_tokenizers(names: list[str]) -> dict[str, Any]:
    """Tokenizers given as file paths are the user's input: one that does not load is bad input
    (exit 2, before any work), not a failing unit. Registry entries load when first used."""
    from ..registry import RegistryError, get_tokenizer, resolve

    built = {}
    for name in names:
        spec = resolve(name)
        if spec.source != name:  # a registry entry, not a path given on the command line
            continue
        try:
            built[name] = get_tokenizer(spec)
        except RegistryError:
            raise
        except Exception as e:
            raise RegistryError(f"tokenizer file {name}: cannot be loaded as a {spec.backend!r} tokenizer: "
                                f"{type(e).__name__}: {e}") from None
    return built


def _build(ctx: UnitContext, name: str) -> Any:
    """Build a tokenizer once per run (the reference is shared by every unit of a corpus)."""
    from ..registry import get_tokenizer, resolve

    built = ctx.state.setdefault("tokenizers", {})
    if name not in built:
        built[name] = get_tokenizer(resolve(name))
    return built[name]
