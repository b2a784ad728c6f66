"""The ``mixture`` suite kind: data mixture inference from BPE merge lists (docs/mixture.md).

Suite file::

    [suite]
    name = "mixture-demo"
    kind = "mixture"
    tokenizers = ["gpt2", "cl100k_base"]
    merges = 1000                 # use the first T merges
    [categories.python]
    files = ["/usr/lib/python3*/**/*.py"]
    bytes = 300000

One unit per tokenizer: its merge list against every category's sample, one LP. Rows: metric
``mixture_weight``, variant ``weight``, corpus = the category, lang ``*``. Resume key: suite,
tokenizer, tokenizer hash and ``config_hash`` = sha256(categories hash, T, solver version).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..suites import SuiteError, check_tokenizers, validation_problems
from .base import KindMeta, RunOptions, SuiteKind, Unit, UnitContext

MIXTURE_VERSION = 2  # 2: exact lazy constraints over every pair (count history), pair slack in the check


CAVEAT = ("a share among the suite's categories only: training text of kinds not listed "
          "(e.g. web prose, other languages) shifts every weight")


class MixtureMeta(KindMeta):
    kind: Literal["mixture"]
    tokenizers: list[str]
    merges: int | None = Field(1000, ge=1)
    competitors: int = Field(30, ge=1)


class MixtureSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: MixtureMeta
    categories: dict[str, dict]


def load_mixture_suite(path: Path, raw: dict):
    from ..errors import BadInput
    from ..mixture.selftest import parse_categories

    try:
        s = MixtureSuite.model_validate(raw)
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid mixture suite: {validation_problems(e)}") from None
    try:
        cats = parse_categories(raw, str(path))
    except BadInput as e:
        raise SuiteError(str(e)) from None
    check_tokenizers(path, "[suite].tokenizers", s.suite.tokenizers)
    return s, cats


class MixtureKind(SuiteKind):
    name = "mixture"
    unit_noun = "tokenizer(s)"
    metrics = ("mixture_weight",)
    extras = ("highspy",)
    install_hint = "pip install 'tokbench[mixture]'"

    def load(self, path: Path, raw: dict):
        return load_mixture_suite(path, raw)

    def identity(self, suite) -> tuple[str, str]:
        return suite[0].suite.name, suite[0].suite.version

    def describe(self, suite) -> str:
        s, cats = suite
        return (f"mixture suite v{s.suite.version}: {len(s.suite.tokenizers)} tokenizers x categories "
                f"{', '.join(cats)} (T={s.suite.merges}). {s.suite.description}")

    def plan(self, suite, options: RunOptions) -> list[Unit]:
        from ..mixture.merges import load_merges
        from ..mixture.selftest import categories_hash, category_docs
        from ..registry import resolve

        s, cats = suite
        samples = {name: category_docs(name, spec) for name, spec in cats.items()}
        chash = categories_hash(cats, samples)
        key = {"categories": chash, "merges": s.suite.merges, "competitors": s.suite.competitors,
               "version": MIXTURE_VERSION}
        config_hash = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        units = []
        for tok in s.suite.tokenizers:
            th = resolve(tok).fingerprint()
            # a tokenizer without merges is bad input: fail before any work
            merge_list = load_merges(tok, s.suite.merges)
            units.append(Unit(
                label=f"tokenizer {tok!r}", scope="on the mixture categories", size=len(merge_list.merges),
                done_when=[{"suite": s.suite.name, "tokenizer": tok, "tokenizer_hash": th,
                            "config_hash": config_hash, "metric": "mixture_weight"}],
                provenance={"tokenizer": tok, "tokenizer_hash": th, "config_hash": config_hash},
                payload={"samples": samples, "categories_hash": chash, "merges": merge_list}))
        return units

    def execute(self, suite, unit: Unit, ctx: UnitContext) -> list[dict]:
        from ..mixture.solve import infer

        s, _ = suite
        p = unit.payload
        ml = p["merges"]
        fit, info = infer(ml, p["samples"], merges=s.suite.merges, k=s.suite.competitors, progress=ctx.advance)
        params = {"merges": info["merges"], "total_slack": fit.slack, "sample_bytes": info["sample_bytes"],
                  "unverified_steps": fit.unverified, "competitors": s.suite.competitors,
                  "missing_merges": info["missing_merges"], "sweeps": info["passes"], "constraints": info["constraints"],
                  "categories_hash": p["categories_hash"], "normalisation": "pair counts / sample bytes"}
        ptxt = json.dumps(params, sort_keys=True)
        rows = [{"lang": "*", "metric": "mixture_weight", "variant": "weight", "value": w,
                 "n": info["sample_bytes"][c], "corpus": c, "corpus_hash": p["categories_hash"],
                 "params": ptxt, "note": CAVEAT, "metric_version": MIXTURE_VERSION}
                for c, w in fit.weights().items()]
        ctx.state.setdefault("lines", []).append(
            f"{unit.provenance['tokenizer']}: " + "  ".join(f"{c} {w:.3f}" for c, w in fit.weights().items())
            + f"  (T={info['merges']}, slack {fit.slack:.3g})")
        return rows

    def finish(self, suite, ctx: UnitContext) -> list[str]:
        return list(ctx.state.get("lines", []))
