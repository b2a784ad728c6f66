"""The ``charlevel`` suite kind: character-level tasks (CharBench/CUTE), docs/chartasks.md.

``[tokenizer_side]``: one unit per tokenizer; seeded items per language, and where each
queried character falls in the word's tokens (``tokbench.chartasks.analysis``); corpus
``chartasks-<lang>`` hashed from the language's canonical items. ``[model_side]``: one unit per
model; few-shot generation through lm-eval, accuracy and point-biserial correlation rows.

Resume keys: tokenizer side, a ``char_task_tokens_per_word`` row of the suite with the same
tokenizer, tokenizer hash, analysis version and items hash for every language; model side, a
row of the suite and model with the same ``config_hash`` (items, seed, protocol, versions).
``RunOptions.extra["lm_factory"]``: ``model name -> (lm, info)`` replaces model loading (tests).
"""
from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..suites import SuiteError, check_tokenizers, validation_problems
from .base import KindMeta, RunOptions, SuiteKind, Unit, UnitContext


class CharSuiteMeta(KindMeta):
    kind: Literal["charlevel"]
    seed: int = 0


class TokenizerSide(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokenizers: list[str] | str = "core-v1"   # a list, or the name of a tokenizer suite to take them from
    langs: list[str]
    items: int = Field(200, ge=1)             # per language x family
    families: list[str] | None = None         # default: every family


class ModelSide(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str]
    langs: list[str]
    items: int = Field(10, ge=1)              # per language x family
    k_shot: int = Field(3, ge=0)
    max_gen_toks: int = Field(32, ge=1)
    batch_size: int = Field(8, ge=1)
    dtype: str = "float32"


class CharSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: CharSuiteMeta
    tokenizer_side: TokenizerSide | None = None
    model_side: ModelSide | None = None


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_char_suite(path: Path, raw: dict | None = None) -> CharSuite:
    from ..chartasks.generate import FAMILIES, SCRIPTS

    if raw is None:
        from ..suites import read_toml

        raw = read_toml(Path(path))
    try:
        s = CharSuite.model_validate(raw)
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid charlevel suite: {validation_problems(e)}") from None
    for side, langs in (("tokenizer_side", s.tokenizer_side and s.tokenizer_side.langs),
                        ("model_side", s.model_side and s.model_side.langs)):
        for lang in langs or []:
            if lang not in SCRIPTS:
                raise SuiteError(f"{path}: [{side}].langs: no word list for {lang!r} (choose from {', '.join(SCRIPTS)})")
    for f in (s.tokenizer_side and s.tokenizer_side.families) or []:
        if f not in FAMILIES:
            raise SuiteError(f"{path}: [tokenizer_side].families: unknown family {f!r} (choose from {', '.join(FAMILIES)})")
    if s.model_side:
        from ..lm.models import ModelError, get_model_spec

        for m in s.model_side.models:
            try:
                get_model_spec(m)
            except ModelError as e:
                raise SuiteError(f"{path}: [model_side].models: {e}") from None
    if not (s.tokenizer_side or s.model_side):
        raise SuiteError(f"{path}: a charlevel suite needs [tokenizer_side] and/or [model_side]")
    if s.tokenizer_side:
        check_tokenizers(path, "[tokenizer_side].tokenizers", side_tokenizers(s.tokenizer_side))
    return s


def side_tokenizers(ts: TokenizerSide) -> list[str]:
    if isinstance(ts.tokenizers, str):
        from ..suites import load_suite

        return list(load_suite(ts.tokenizers).suite.tokenizers)
    return list(ts.tokenizers)


class CharlevelKind(SuiteKind):
    name = "charlevel"
    metrics = ("char_task_accuracy", "char_task_correlation", "char_task_tokens_per_word",
               "char_task_inside_multichar", "char_task_token_len", "char_task_pos_in_token",
               "char_task_starts_token", "char_task_char_split")

    def load(self, path: Path, raw: dict) -> CharSuite:
        return load_char_suite(path, raw)

    def describe(self, s: CharSuite) -> str:
        parts = []
        if s.tokenizer_side:
            parts.append(f"tokenizer side {len(side_tokenizers(s.tokenizer_side))} tokenizers x "
                         f"{len(s.tokenizer_side.langs)} languages")
        if s.model_side:
            parts.append(f"model side {', '.join(s.model_side.models)} on {', '.join(s.model_side.langs)}")
        return f"charlevel suite v{s.suite.version}: {'; '.join(parts)}. {s.suite.description}"

    def plan(self, s: CharSuite, options: RunOptions) -> list[Unit]:
        from ..chartasks import analysis
        from ..chartasks.generate import FAMILIES, GENERATOR_VERSION, WORDLIST_N, generate_all, to_jsonl
        from ..registry import resolve

        units, limit, name = [], options.limit_docs, s.suite.name
        if s.tokenizer_side:
            import wordfreq

            ts = s.tokenizer_side
            items = min(ts.items, limit or ts.items)
            families = list(ts.families or FAMILIES)
            per_lang = {lang: generate_all([lang], families, items, s.suite.seed) for lang in ts.langs}
            hashes = {lang: sha(to_jsonl(its)) for lang, its in per_lang.items()}
            params = {"seed": s.suite.seed, "items_per_family": items, "generator_version": GENERATOR_VERSION,
                      "wordlist": f"wordfreq.top_n_list(lang, {WORDLIST_N})",
                      "wordfreq_version": getattr(wordfreq, "__version__", None)}
            for tok in side_tokenizers(ts):
                th = resolve(tok).fingerprint()
                units.append(Unit(
                    label=f"tokenizer {tok!r}", scope="on the char tasks", size=sum(map(len, per_lang.values())),
                    done_when=[{"suite": name, "suite_version": s.suite.version, "tokenizer": tok,
                                "tokenizer_hash": th, "corpus_hash": h, "metric": "char_task_tokens_per_word",
                                "metric_version": str(analysis.ANALYSIS_VERSION)} for h in hashes.values()],
                    provenance={"tokenizer": tok, "tokenizer_hash": th},
                    payload={"side": "tokenizer", "per_lang": per_lang, "hashes": hashes, "params": params}))
        if s.model_side:
            from ..chartasks import modelside
            from ..lm import LM_INSTALL_HINT, missing_packages

            missing = [] if options.extra.get("lm_factory") else missing_packages("scipy")
            if missing:
                raise SuiteError(f"{s.suite.name}: the model side needs {', '.join(missing)}: {LM_INSTALL_HINT}")
            ms = s.model_side
            n = min(ms.items, limit or ms.items)
            items = generate_all(list(ms.langs), FAMILIES, n, s.suite.seed)
            hashes = {lang: sha(to_jsonl([it for it in items if it["lang"] == lang])) for lang in ms.langs}
            for mname in options.models or ms.models:
                key = {"model": mname, "items": n, "seed": s.suite.seed, "k_shot": ms.k_shot,
                       "max_gen_toks": ms.max_gen_toks, "dtype": ms.dtype, "generator_version": GENERATOR_VERSION,
                       "langs": hashes, "modelside_version": modelside.MODELSIDE_VERSION}
                chash = sha(json.dumps(key, sort_keys=True))
                units.append(Unit(
                    label=f"model {mname!r}", scope="on the char tasks", size=len(items),
                    done_when=[{"suite": name, "model": mname, "config_hash": chash}],
                    provenance={"model": mname, "config_hash": chash, "metric_version": modelside.MODELSIDE_VERSION},
                    payload={"side": "model", "items": items, "hashes": hashes, "n": n}))
        return units

    def execute(self, s: CharSuite, unit: Unit, ctx: UnitContext) -> list[dict]:
        if unit.payload["side"] == "tokenizer":
            return self._tokenizer_side(unit, ctx)
        return self._model_side(s, unit, ctx)

    def _tokenizer_side(self, unit: Unit, ctx: UnitContext) -> list[dict]:
        from ..chartasks import analysis
        from ..registry import get_tokenizer

        p = unit.payload
        tok = get_tokenizer(unit.provenance["tokenizer"])
        rows = []
        for lang, its in p["per_lang"].items():
            for r in analysis.analyse(tok, its, p["params"]):
                r.update(corpus=f"chartasks-{lang}", corpus_hash=p["hashes"][lang], note=None,
                         metric_version=analysis.ANALYSIS_VERSION, config_hash=sha(r["params"]))
                rows.append(r)
            ctx.advance(len(its))
        cc = {r["lang"]: r["value"] for r in rows
              if r["metric"] == "char_task_inside_multichar" and r["variant"] == "count_char"}
        ctx.state.setdefault("lines", []).append(
            f"{unit.provenance['tokenizer']}: {len(rows)} rows; inside multi-char token (count_char): "
            + ", ".join(f"{k}={v:.3f}" for k, v in cc.items()))
        return rows

    def _model_side(self, s: CharSuite, unit: Unit, ctx: UnitContext) -> list[dict]:
        from ..chartasks import analysis, modelside
        from ..chartasks.generate import GENERATOR_VERSION
        from ..registry import get_tokenizer, resolve

        ms, p, mname = s.model_side, unit.payload, unit.provenance["model"]
        items, n = p["items"], p["n"]
        factory = ctx.options.extra.get("lm_factory")
        try:
            if factory is None:
                from ..lm.models import load_model

                model, hf_tok, info = load_model(mname, dtype=ms.dtype, device=ctx.options.device)
                lm, bos = modelside.make_generation_lm(model, hf_tok, batch_size=ms.batch_size)
                info = {**info, "bos": bos}
                del model, hf_tok
            else:
                lm, info = factory(mname)
            answers, protocol = modelside.generate_answers(lm, items, k=ms.k_shot, seed=s.suite.seed,
                                                           max_gen_toks=ms.max_gen_toks)
        finally:
            lm = None
            gc.collect()
        ctx.advance(unit.size)
        correct = modelside.correct_flags(items, answers)
        tok_name = info["tokenizer"]
        tspec = resolve(tok_name)
        records = analysis.analyse_items(get_tokenizer(tspec), items)
        params = {**protocol, "seed": s.suite.seed, "items_per_family": n, "generator_version": GENERATOR_VERSION,
                  "dtype": ms.dtype, "batch_size": ms.batch_size, "word_analysis": "word encoded alone, no leading "
                  "space (the prompt shows it in double quotes)", "weights_sha256": info.get("weights_sha256"),
                  "bos": info.get("bos"), "tokenizer_source": info.get("tokenizer_source")}
        rows = modelside.accuracy_rows(items, correct, params, answers) + \
            modelside.correlation_rows(items, correct, records, params)
        for r in rows:
            r.update(tokenizer=tok_name, tokenizer_hash=tspec.fingerprint(), corpus=f"chartasks-{r['lang']}",
                     corpus_hash=p["hashes"][r["lang"]])
        acc = ctx.state.setdefault("accuracy", {})
        for lang in ms.langs:
            acc[(mname, lang)] = {r["variant"]: r["value"] for r in rows
                                  if r["metric"] == "char_task_accuracy" and r["lang"] == lang}
        return rows

    def finish(self, s: CharSuite, ctx: UnitContext) -> list[str]:
        lines = list(ctx.state.get("lines", []))
        for (m, lang), acc in sorted(ctx.state.get("accuracy", {}).items()):
            lines.append(f"{m:16s} {lang}: " + "  ".join(f"{f} {v:.2f}" for f, v in acc.items()))
        return lines
