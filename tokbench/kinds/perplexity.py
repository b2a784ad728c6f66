"""The ``perplexity`` suite kind: zero-shot perplexity of causal LMs (docs/perplexity.md).

Units: (model, corpus) scoring units, each scoring every document once with lm-eval's
``loglikelihood_rolling`` (rows per language and for "*"), in chunks that are cached as they
finish (``tokbench.lm.chunks``: a killed run resumes at the first unfinished chunk), then, when the suite names a
``reference_model``, one ``ppl_ratio`` unit per (candidate, corpus) computed from the stored
scores of both. Models come from the model registry (``tokbench/lm/models.toml``) or the
suite's ``[models.NAME]`` tables (the same schema; a ``transplant`` source builds a
transplanted model on first use, docs/transplant.md).

Resume key of a scoring unit: a stored ``bits_per_byte`` row of the suite with the same model,
corpus hash and ``config_hash`` (model identity, protocol, corpus hash, metric version and the
lm-eval / transformers / torch versions). Of a ratio unit: a ``ppl_ratio`` row of the suite
and model whose ``config_hash`` joins the two scoring keys.
"""
from __future__ import annotations

import gc
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..corpora import CorpusSpec, load_corpus
from ..suites import SuiteError, validation_problems
from .base import KindMeta, RunOptions, SuiteKind, Unit, UnitContext

METRIC_VERSION = 1
PPL_METRICS = ["bits_per_byte", "byte_perplexity", "char_perplexity", "word_perplexity", "token_perplexity"]
UNITS = {"bits_per_byte": "bytes", "byte_perplexity": "bytes", "char_perplexity": "chars",
         "word_perplexity": "words", "token_perplexity": "tokens"}


class PplSuiteMeta(KindMeta):
    kind: Literal["perplexity"]
    models: list[str]
    reference_model: str | None = None


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_length: int = 2048
    batch_size: int = 4
    dtype: str = "float32"


class PplSuite(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    suite: PplSuiteMeta
    protocol: Protocol = Protocol()
    models: dict[str, dict] = {}  # [models.NAME]: tokbench.lm.models.ModelSpec tables
    corpora: dict[str, CorpusSpec]
    path: str = "<memory>"

    def model(self, name: str):
        """The ModelSpec of a suite model ([models.NAME]) or a registry model."""
        from ..lm.models import get_model_spec, parse_model

        if name in self.models:
            return parse_model(name, self.models[name], where=self.path)
        return get_model_spec(name)


def load_ppl_suite(path: Path, raw: dict) -> PplSuite:
    """Validate a perplexity suite; errors name the file, the field and the fix."""
    from ..lm.models import ModelError, get_model_spec, parse_model

    try:
        suite = PplSuite.model_validate({**raw, "path": str(path)})
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid perplexity suite: {validation_problems(e)}") from None
    for m in suite.suite.models:
        try:
            if m in suite.models:
                spec = parse_model(m, suite.models[m], where=str(path))
                if spec.transplant:
                    get_model_spec(spec.transplant.model)
            else:
                get_model_spec(m)
        except ModelError as e:
            hint = "" if m in suite.models else f" (or define it in a [models.{m}] table)"
            raise SuiteError(f"{path}: [suite].models: {e}{hint}") from None
    unused = sorted(set(suite.models) - set(suite.suite.models))
    if unused:
        raise SuiteError(f"{path}: [models.{unused[0]}] is defined but not listed in [suite].models")
    ref = suite.suite.reference_model
    if ref and ref not in suite.suite.models:
        raise SuiteError(f"{path}: [suite].reference_model = {ref!r} is not one of [suite].models")
    return suite


def score_rows(scores, langs: list[str], *, protocol: dict) -> list[dict]:
    """Rows (without provenance) for every metric per language and for "*" (pooled sums)."""
    from ..schema import ALL_LANGS

    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    scopes = list(by_lang.items())
    if len(scopes) > 1:
        scopes.append((ALL_LANGS, list(range(len(langs)))))
    rows = []
    for lang, idx in scopes:
        sub = scores.subset(idx)
        for m in PPL_METRICS:
            params = {**protocol, "docs": len(idx), "denominator": UNITS[m], "word_split": "whitespace",
                      "sum_ll": sub._sum("ll")}
            rows.append({"lang": lang, "metric": m, "variant": "micro", "value": float(getattr(sub, m)),
                         "n": int(sub._sum(UNITS[m])), "params": json.dumps(params, sort_keys=True),
                         "note": None, "metric_version": METRIC_VERSION})
    return rows


def stored_scores(df, suite: str, model: str, corpus_hash: str, config_hash: str) -> dict:
    """lang -> {metric: (value, n, params)} of the newest stored perplexity rows of one (model, corpus, config)."""
    sel = df[(df["suite"] == suite) & (df["model"] == model) & (df["corpus_hash"] == corpus_hash)
             & (df["config_hash"] == config_hash) & (df["metric"].isin(PPL_METRICS))]
    sel = sel.sort_values("created_at").drop_duplicates(["lang", "metric", "variant"], keep="last")
    out: dict = {"_tokenizer": None, "_tokenizer_hash": None}
    for r in sel.itertuples(index=False):
        out.setdefault(r.lang, {})[r.metric] = (float(r.value), int(r.n), json.loads(r.params))
        out["_tokenizer"] = r.tokenizer
        out["_tokenizer_hash"] = r.tokenizer_hash if isinstance(r.tokenizer_hash, str) else None  # null reads as NaN
    return out


def ratio_rows(cand: dict, ref: dict, *, reference: str) -> list[dict]:
    """``ppl_ratio`` rows (byte, token) per language both sides have: candidate perplexity over the
    reference's. The byte variant requires identical text (equal byte counts)."""
    rows = []
    for lang in sorted(k for k in cand if not k.startswith("_") and k in ref):
        c, r = cand[lang], ref[lang]
        for variant, metric in (("byte", "byte_perplexity"), ("token", "token_perplexity")):
            if metric not in c or metric not in r:
                continue
            if variant == "byte" and c[metric][1] != r[metric][1]:
                raise ValueError(f"ppl_ratio({lang}): candidate and reference scored different text "
                                 f"({c[metric][1]} vs {r[metric][1]} bytes)")
            params = {"reference": reference, "candidate_" + metric: c[metric][0], "reference_" + metric: r[metric][0],
                      "candidate_tokens": c["token_perplexity"][1], "reference_tokens": r["token_perplexity"][1],
                      "bytes": c["byte_perplexity"][1], "max_length": c[metric][2].get("max_length"),
                      "dtype": c[metric][2].get("dtype"), "batch_size": c[metric][2].get("batch_size"),
                      "bos": c[metric][2].get("bos"), "stride": c[metric][2].get("stride")}
            rows.append({"lang": lang, "metric": "ppl_ratio", "variant": variant, "value": c[metric][0] / r[metric][0],
                         "n": int(c[metric][1]), "params": json.dumps(params, sort_keys=True), "note": None,
                         "metric_version": METRIC_VERSION})
    return rows


def library_versions() -> dict:
    from ..lm.score import _version

    return {"lm_eval": _version("lm_eval"), "transformers": _version("transformers"), "torch": _version("torch")}


def quiet_libraries() -> None:
    """No progress: silence the progress bars of datasets and lm-eval (tqdm reads TQDM_DISABLE) and their logs."""
    import logging
    import os

    os.environ["TQDM_DISABLE"] = "1"
    for name in ("lm-eval", "lm_eval", "datasets", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


def tokenizer_hash(name: str) -> str | None:
    """The registry fingerprint of a model's tokenizer (the key that joins model rows to tokenizer rows)."""
    from ..registry import RegistryError, resolve

    try:
        return resolve(name).fingerprint()
    except (RegistryError, OSError, ValueError):
        return None


def _sha16(obj) -> str:
    data = obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


class PerplexityKind(SuiteKind):
    name = "perplexity"
    unit_noun = "(model, corpus) unit(s)"
    metrics = (*PPL_METRICS, "ppl_ratio")
    extras = ("torch", "transformers", "lm_eval")

    @property
    def install_hint(self) -> str:  # type: ignore[override]
        from ..lm import LM_INSTALL_HINT

        return LM_INSTALL_HINT

    def load(self, path: Path, raw: dict) -> PplSuite:
        return load_ppl_suite(path, raw)

    def describe(self, s: PplSuite) -> str:
        langs = sorted({l for c in s.corpora.values() for l in (c.langs or [c.lang] if c.lang else c.langs or [])})
        return (f"perplexity suite v{s.suite.version}: models {', '.join(s.suite.models)}, corpora "
                f"{', '.join(s.corpora)} ({len(langs)} languages). {s.suite.description}")

    def plan(self, suite: PplSuite, options: RunOptions) -> list[Unit]:
        from ..lm.models import model_identity

        if not options.progress:
            quiet_libraries()
        names = options.models or suite.suite.models
        for m in names:
            if m not in suite.suite.models:
                raise SuiteError(f"{suite.path}: --model {m!r} is not one of [suite].models "
                                 f"({', '.join(suite.suite.models)})")
        ref_name = suite.suite.reference_model
        order = ([ref_name] if ref_name in names else []) + [m for m in names if m != ref_name]
        p = suite.protocol
        bs = options.batch_size or p.batch_size
        corpora = {}
        for cname, spec in suite.corpora.items():
            if options.all_docs:
                spec = spec.model_copy(update={"max_docs_per_lang": None})
            corpora[cname] = load_corpus(cname, spec, limit_docs=options.limit_docs)
        versions = library_versions()
        units, chash = [], {}
        for mname in order:
            ident = model_identity(suite.model(mname))
            for cname, corpus in corpora.items():
                key = {"model": ident, "max_length": p.max_length, "batch_size": bs, "dtype": p.dtype,
                       "corpus_hash": corpus.hash, "metric_version": METRIC_VERSION}
                h = chash[(mname, cname)] = self._score_key(suite, key, versions, mname, cname, options)
                units.append(Unit(
                    label=f"model {mname!r}", scope=f"on corpus {cname!r}", size=len(corpus),
                    done_when=[{"suite": suite.suite.name, "metric": "bits_per_byte", "model": mname,
                                "corpus_hash": corpus.hash, "config_hash": h}],
                    provenance={"model": mname, "corpus": cname, "corpus_hash": corpus.hash, "config_hash": h},
                    corpus_facts=(corpus.hash, cname, corpus.facts),
                    payload={"step": "score", "model": mname, "corpus": corpus, "batch_size": bs}))
        if ref_name in order:
            for cname, corpus in corpora.items():
                for mname in order:
                    if mname == ref_name:
                        continue
                    rh = _sha16(f"{chash[(mname, cname)]}/{chash[(ref_name, cname)]}")
                    units.append(Unit(
                        label=f"ppl_ratio of model {mname!r}", scope=f"over {ref_name!r} on corpus {cname!r}", size=0,
                        done_when=[{"suite": suite.suite.name, "metric": "ppl_ratio", "model": mname,
                                    "config_hash": rh}],
                        provenance={"model": mname, "corpus": cname, "corpus_hash": corpus.hash, "config_hash": rh},
                        payload={"step": "ratio", "model": mname, "corpus": corpus,
                                 "cand_hash": chash[(mname, cname)], "ref_hash": chash[(ref_name, cname)]}))
        return units

    def _score_key(self, suite: PplSuite, key: dict, versions: dict, mname: str, cname: str,
                   options: RunOptions) -> str:
        """The scoring unit's ``config_hash``: with the installed library versions; when only scores
        made with other versions are stored, say which versions changed, and with
        ``--reuse-scores`` take the stored key (the scores are kept, nothing is rescored)."""
        h = _sha16({**key, **versions})
        df = options.store
        if df is None or df.empty:
            return h
        sel = df[(df["suite"] == suite.suite.name) & (df["model"] == mname) & (df["metric"] == "bits_per_byte")
                 & (df["corpus_hash"] == key["corpus_hash"])]
        if sel.empty or (sel["config_hash"] == h).any():
            return h
        for params, stored_h in zip(sel["params"][::-1], sel["config_hash"][::-1]):  # newest first
            old = {k: json.loads(params).get(k) for k in versions}
            if _sha16({**key, **old}) != stored_h:
                continue  # another model, protocol or corpus: not a version change
            changed = ", ".join(f"{k} {old[k]} -> {versions[k]}" for k in versions if old[k] != versions[k])
            if options.reuse_scores:
                print(f"tokbench: model {mname!r} on corpus {cname!r}: reusing the stored scores ({changed}; "
                      "--reuse-scores)", file=sys.stderr)
                return stored_h
            print(f"tokbench: model {mname!r} on corpus {cname!r}: the stored scores were made with other "
                  f"library versions ({changed}): rescoring. --reuse-scores keeps the stored scores instead",
                  file=sys.stderr)
            return h
        return h

    def _load(self, suite: PplSuite, mname: str, ctx: UnitContext):
        """The loaded (model, tokenizer, info) of ``mname``; one model in memory at a time."""
        from ..lm.models import load_model_spec

        held = ctx.state.get("model")
        if held is None or held[0] != mname:
            ctx.state["model"] = None
            gc.collect()
            t0 = time.time()
            try:
                loaded = load_model_spec(suite.model(mname), dtype=suite.protocol.dtype, device=ctx.options.device)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # every unit of this model reports it; the other models run
                loaded = RuntimeError(f"model {mname!r} could not be loaded: {type(e).__name__}: {e}")
            ctx.state["model"] = held = (mname, loaded)
            ctx.log(f"loaded {mname} in {time.time() - t0:.1f}s")
        if isinstance(held[1], Exception):
            raise held[1]
        return held[1]

    def execute(self, suite: PplSuite, unit: Unit, ctx: UnitContext) -> list[dict]:
        p = unit.payload
        mname, corpus = p["model"], p["corpus"]
        if p["step"] == "ratio":
            stored = ctx.load_store()
            if stored.empty:
                return []
            ref_name = suite.suite.reference_model
            cand = stored_scores(stored, suite.suite.name, mname, corpus.hash, p["cand_hash"])
            ref = stored_scores(stored, suite.suite.name, ref_name, corpus.hash, p["ref_hash"])
            rows = ratio_rows(cand, ref, reference=ref_name)
            for r in rows:
                r.update(tokenizer=cand["_tokenizer"], tokenizer_hash=cand["_tokenizer_hash"])
            return rows
        from ..lm.chunks import score_in_chunks
        from ..lm.score import score_documents

        model, tok, info = self._load(suite, mname, ctx)
        t1 = time.time()
        pr = suite.protocol

        def score(texts: list[str], langs: list[str], label: str):
            return score_documents(model, tok, texts, batch_size=p["batch_size"], max_length=pr.max_length,
                                   device=ctx.options.device, langs=langs, label=label,
                                   task_dir=ctx.options.export_task, disable_tqdm=not ctx.options.progress)

        scores = score_in_chunks(score, list(corpus.text), list(corpus.lang),
                                 config_hash=unit.provenance["config_hash"],
                                 label=f"{suite.suite.name}_{unit.provenance['corpus']}",
                                 use_cache=ctx.options.use_cache, reuse=not ctx.options.force, progress=ctx.advance)
        ctx.log(f"scored {mname} on {unit.provenance['corpus']} ({len(corpus)} docs) in {time.time() - t1:.1f}s")
        ctx.state.setdefault("scores", {})[(mname, unit.provenance["corpus"])] = scores
        protocol = {**scores.protocol, "device": ctx.options.device or "auto", "model_source": info["source"],
                    "gguf_file": info["gguf_file"], "weights_sha256": info["weights_sha256"],
                    "tokenizer_source": info.get("tokenizer_source")}
        spec = suite.model(mname)
        if mname in suite.models and spec.transplant:
            protocol["transplant"] = spec.transplant.model_dump()
        rows = score_rows(scores, list(corpus.lang), protocol=protocol)
        for r in rows:
            r.update(tokenizer=info["tokenizer"], tokenizer_hash=tokenizer_hash(info["tokenizer"]))
        return rows

    def finish(self, suite: PplSuite, ctx: UnitContext) -> list[str]:
        ctx.state["model"] = None
        gc.collect()
        return [f"{m:24s} {c:8s} bits/byte {s.bits_per_byte:.4f}  byte ppl {s.byte_perplexity:.4f}  "
                f"word ppl {s.word_perplexity:.2f}  ({len(s.docs)} docs)"
                for (m, c), s in ctx.state.get("scores", {}).items()]
