"""The ``vocab`` suite kind: vocabulary composition of each tokenizer, no corpus (docs/vocab.md).

Suite file::

    [suite]
    name = "vocab-v1"
    kind = "vocab"
    tokenizers = ["gpt2", "cl100k_base", "bert-base-uncased", "byt5"]

One unit per tokenizer: list its vocabulary (``tokbench.vocablist``, every backend) and compute
the ``tokbench.metrics.composition`` metrics. Rows: lang ``*``, corpus ``vocab``, corpus_hash =
sha256 of the vocabulary listing. Resume key: suite, suite version, tokenizer, tokenizer hash,
metric and ``config_hash`` (the composition version and the script list).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..suites import SuiteError, check_tokenizers, validation_problems
from .base import KindMeta, RunOptions, SuiteKind, Unit, UnitContext

CORPUS = "vocab"


class VocabMeta(KindMeta):
    kind: Literal["vocab"]
    tokenizers: list[str]


class VocabSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: VocabMeta


def _config_hash() -> str:
    from ..metrics.composition import COMPOSITION_VERSION, HIST_MAX, SCRIPTS

    payload = {"version": COMPOSITION_VERSION, "scripts": SCRIPTS, "hist_max": HIST_MAX}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class VocabKind(SuiteKind):
    name = "vocab"
    unit_noun = "tokenizer(s)"
    progress_unit = "tokenizer"
    metrics = ("vocab_script", "vocab_composition", "vocab_token_length", "vocab_length_hist")

    def load(self, path: Path, raw: dict) -> VocabSuite:

        try:
            s = VocabSuite.model_validate(raw)
        except ValidationError as e:
            raise SuiteError(f"{path}: invalid vocab suite: {validation_problems(e)}") from None
        if not s.suite.tokenizers:
            raise SuiteError(f"{path}: [suite].tokenizers is empty; list at least one tokenizer (tokbench ls tokenizers)")
        check_tokenizers(path, "[suite].tokenizers", s.suite.tokenizers)
        return s

    def describe(self, s: VocabSuite) -> str:
        return (f"vocab suite v{s.suite.version}: {len(s.suite.tokenizers)} tokenizers, vocabulary composition "
                f"(no corpus). {s.suite.description}")

    def plan(self, s: VocabSuite, options: RunOptions) -> list[Unit]:
        from ..registry import resolve

        ch = _config_hash()
        units = []
        for tok in s.suite.tokenizers:
            th = resolve(tok).fingerprint()
            units.append(Unit(
                label=f"tokenizer {tok!r}", scope="on its vocabulary", size=1,
                done_when=[{"suite": s.suite.name, "suite_version": s.suite.version, "tokenizer": tok,
                            "tokenizer_hash": th, "config_hash": ch, "metric": m} for m in self.metrics],
                provenance={"tokenizer": tok, "tokenizer_hash": th, "corpus": CORPUS, "config_hash": ch},
                payload=tok))
        return units

    def execute(self, s: VocabSuite, unit: Unit, ctx: UnitContext) -> list[dict]:
        from ..metrics.composition import COMPOSITION_VERSION, composition_values
        from ..registry import get_tokenizer, resolve
        from ..schema import ALL_LANGS
        from ..vocablist import vocab_listing

        listing = vocab_listing(get_tokenizer(resolve(unit.payload)))
        chash = listing.content_hash()
        rows = []
        for metric, values in composition_values(listing).items():
            for variant, v in values.items():
                rows.append({"lang": ALL_LANGS, "metric": metric, "variant": variant, "value": v.value,
                             "n": int(v.n), "params": json.dumps(dict(v.params), sort_keys=True, default=str),
                             "note": None, "metric_version": COMPOSITION_VERSION, "corpus_hash": chash})
        top = sorted(((r["value"], r["variant"]) for r in rows if r["metric"] == "vocab_script"), reverse=True)[:3]
        ctx.state.setdefault("lines", []).append(
            f"{unit.payload}: {listing.size} ids; " + ", ".join(f"{v} {x:.3f}" for x, v in top))
        ctx.advance(1)
        return rows

    def finish(self, s: VocabSuite, ctx: UnitContext) -> list[str]:
        return list(ctx.state.get("lines", []))
