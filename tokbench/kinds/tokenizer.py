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

from ..sources import corpus_source
from ..metrics import METRICS
from ..segment import segmenters_for
from ..suites import Suite, parse_suite
from .base import RunOptions, SuiteKind, Unit, UnitContext
from .shardrun import forget_shards, run_shards


def metric_rows(tc, *, metrics: list[str], reference_tc=None, reference_name: str | None,
                metric_params: dict, segmenters: dict[str, str]) -> list[dict]:
    """Rows (without provenance columns) for every metric x variant x language (and "*") of a
    whole in-memory TokenizedCorpus: one shard through :func:`tokbench.sharded.finalize_rows`."""
    from ..sharded import ReducePlan, documents, finalize_rows, reduce_tc

    plan = ReducePlan(metrics=tuple(metrics), metric_params=metric_params, segmenters=segmenters,
                      reference_name=reference_name)
    return finalize_rows(reduce_tc(tc, plan), plan, documents(reference_tc) if reference_tc is not None else None)


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
    progress_unit = "B"

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
        from ..sharded import ReducePlan

        metrics = suite.metric_names()
        base_dir = Path(suite.path).parent if suite.path != "<memory>" else None
        hashes = {name: resolve(name).fingerprint() for name in suite.suite.tokenizers}
        built = _load_path_tokenizers(suite.suite.tokenizers)
        ref_name = suite.suite.reference_tokenizer
        ref_hash = hashes.get(ref_name) or (resolve(ref_name).fingerprint() if ref_name else None)
        units = []
        # open (and so check) every corpus before writing anything: a bad corpus file is bad
        # input (exit 2) and must not leave the parts of the corpora listed before it behind
        for corpus_name, cspec in suite.corpora.items():
            src = corpus_source(corpus_name, cspec, base_dir=base_dir, limit_docs=options.limit_docs,
                                shard_bytes=options.shard_bytes)
            segs = segmenters_for(src.langs, suite.segmenters) if src.langs else dict(suite.segmenters)
            configs = {m: config_hash(m, suite.metric_params, segs, ref_hash) for m in metrics}
            plan = ReducePlan(metrics=tuple(metrics), metric_params=suite.metric_params, segmenters=segs,
                              reference_name=ref_name, all_scope=not src.one_language)
            shared = {"source": src, "plan": plan, "ref_hash": ref_hash, "ref_stats": None, "ref_failed": False,
                      "ref_done": False}
            for name in suite.suite.tokenizers:
                keys = [{"suite": suite.name, "suite_version": suite.version, "tokenizer": name,
                         "tokenizer_hash": hashes[name], "corpus_hash": src.hash, "metric": m,
                         "metric_version": str(METRICS[m].version), "config_hash": configs[m]} for m in metrics]
                units.append(Unit(
                    label=f"tokenizer {name!r}", scope=f"on corpus {corpus_name!r}", size=src.size,
                    done_when=keys if src.hash else [],  # an unread file corpus: its hash comes with its shards
                    provenance={"tokenizer": name, "tokenizer_hash": hashes[name], "corpus": corpus_name,
                                "corpus_hash": src.hash},
                    corpus_facts=(src.hash, corpus_name, src.facts) if src.facts is not None else None,
                    payload={"tokenizer": name, "corpus_name": corpus_name, "shared": shared, "configs": configs,
                             "metrics": metrics, "built": built}))
        return units

    def _reference(self, suite: Suite, p: dict, ctx: UnitContext):
        """The reference tokenization's statistics on the unit's corpus, once per corpus (None if it failed)."""
        shared, ref_name = p["shared"], suite.suite.reference_tokenizer
        if not shared["ref_done"]:
            shared["ref_done"] = True
            try:
                shared["ref_stats"], _ = run_shards(ref_name, shared["ref_hash"], shared["source"], shared["plan"],
                                                    ctx, prebuilt=p["built"].get(ref_name), progress=False)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # reported like any failing tokenizer; the others run without it
                shared["ref_failed"] = True
                ctx.failures.append((f"tokenizer {ref_name!r} failed on corpus {p['corpus_name']!r}",
                                     f"(reference tokenizer) {type(e).__name__}: {e}"))
        return shared["ref_stats"]

    def execute(self, suite: Suite, unit: Unit, ctx: UnitContext) -> list[dict]:
        from dataclasses import replace

        from ..sharded import finalize_rows

        p = unit.payload
        name, shared, metrics = p["tokenizer"], p["shared"], p["metrics"]
        plan = shared["plan"]
        ref_name = suite.suite.reference_tokenizer
        ref_stats = None
        if ref_name and any(METRICS[m].needs_reference for m in metrics):
            ref_stats = self._reference(suite, p, ctx)
            if shared["ref_failed"]:
                if name == ref_name:
                    ctx.advance(unit.size)
                    return []  # already reported
                metrics = [m for m in metrics if not METRICS[m].needs_reference]
        stats, corpus_hash = run_shards(name, unit.provenance["tokenizer_hash"], shared["source"], plan, ctx,
                                        prebuilt=p["built"].get(name))
        rows = finalize_rows(stats, replace(plan, metrics=tuple(metrics)), ref_stats)
        if any(r.get("incomplete") for r in rows):
            forget_shards(name, unit.provenance["tokenizer_hash"], shared["source"], plan, ctx)
        for r in rows:
            r["config_hash"] = p["configs"][r["metric"]]
            r["corpus_hash"] = corpus_hash
        if stats.facts is not None:  # a streamed corpus: its text facts came with its shards
            ctx.facts.setdefault(corpus_hash, (p["corpus_name"], stats.facts))
        return rows

    def finish(self, suite: Suite, ctx: UnitContext) -> list[str]:
        pool = ctx.state.pop("pool", None)
        if pool is not None:
            pool.close()
        # a corpus measured as given although NFC would change some of it: say so (docs/suites.md)
        return [f"corpus {name!r}: {facts.summary()}; to measure canonical text set normalize = \"NFC\" in "
                f"[corpora.{name}] (ad hoc: --normalize NFC)" for name, facts in dict(ctx.facts.values()).items()
                if facts.form == "none" and facts.total()[3]]


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
