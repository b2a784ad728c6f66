"""Model side of the ``robustness`` kind: bits/byte on perturbed over clean text, per perturbation.

Scoring is the perplexity kind's (``tokbench.lm.score.score_documents``: lm-eval
``loglikelihood_rolling``, documents without special tokens, recorded protocol; models loaded by
``tokbench.lm.models.load_model_spec``). Every distinct text is scored once, so an ``identity``
item has exactly the score of its clean text (ratio 1). For a (language, perturbation) scope the
ratio is ``(sum nll_perturbed / sum bytes_perturbed) / (sum nll_clean / sum bytes_clean)`` over
the scope's items and *their* clean texts (a perturbation that left a sentence unchanged has no
item there, and its clean text is not counted either).
"""
from __future__ import annotations

import gc
import hashlib
import json
import math
import time

from ..schema import ALL_LANGS
from .base import RunOptions, Unit, UnitContext

LN2 = math.log(2)


def plan_units(s, items: list[dict], chash: str, params: dict, options: RunOptions, *, corpus: str) -> list[Unit]:
    from ..lm import LM_INSTALL_HINT, missing_packages
    from ..lm.models import model_identity
    from ..metrics.robustness import METRIC_VERSION
    from ..suites import SuiteError
    from .perplexity import library_versions, quiet_libraries, tokenizer_hash

    missing = missing_packages()
    if missing:
        raise SuiteError(f"{s.suite.name}: the model side needs {', '.join(missing)}: {LM_INSTALL_HINT}")
    if not options.progress:
        quiet_libraries()
    ms = s.model_side
    n = min(ms.sentences, options.limit_docs or ms.sentences)
    keys: dict[str, list[str]] = {}
    for it in items:
        if it["lang"] in ms.langs and it["key"] not in keys.setdefault(it["lang"], []):
            keys[it["lang"]].append(it["key"])
    chosen = {(lang, k) for lang, ks in keys.items() for k in ks[:n]}
    mitems = [it for it in items if (it["lang"], it["key"]) in chosen]
    versions = library_versions()
    units = []
    for mname in options.models or ms.models:
        from ..lm.models import get_model_spec

        spec = get_model_spec(mname)
        key = {"model": model_identity(spec), "items": chash, "langs": list(ms.langs), "sentences": n,
               "max_length": ms.max_length, "batch_size": options.batch_size or ms.batch_size, "dtype": ms.dtype,
               "version": METRIC_VERSION, **versions}
        h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        units.append(Unit(
            label=f"model {mname!r}", scope="on the perturbed sentences", size=len(mitems),
            done_when=[{"suite": s.suite.name, "model": mname, "metric": "robust_bpb_ratio", "config_hash": h}],
            provenance={"model": mname, "corpus": corpus, "corpus_hash": chash, "config_hash": h,
                        "tokenizer": spec.tokenizer, "tokenizer_hash": tokenizer_hash(spec.tokenizer)},
            payload={"side": "model", "items": mitems, "params": {**params, "model_sentences_per_lang": n},
                     "batch_size": key["batch_size"]}))
    return units


def ratio_rows(items: list[dict], score: dict[str, tuple[float, int]], params: dict) -> list[dict]:
    """``robust_bpb_ratio`` rows from per-text (summed ll, bytes); variants as the tokenizer side."""
    from ..metrics.robustness import METRIC_VERSION, add, scopes

    sums: dict = {}
    for it in items:
        (llc, bc), (llp, bp) = score[it["clean"]], score[it["text"]]
        add(sums, (it["lang"], it["perturbation"]),
            {"items": 1, "nll_clean": -llc, "bytes_clean": bc, "nll_perturbed": -llp, "bytes_perturbed": bp})
    rows = []
    for (lang, p), s in sorted(scopes(sums).items()):
        clean = s["nll_clean"] / (s["bytes_clean"] * LN2)
        pert = s["nll_perturbed"] / (s["bytes_perturbed"] * LN2)
        pr = {**params, "perturbation": p, "items": int(s["items"]), "bpb_clean": clean, "bpb_perturbed": pert,
              "bytes_clean": int(s["bytes_clean"]), "bytes_perturbed": int(s["bytes_perturbed"])}
        rows.append({"lang": lang, "metric": "robust_bpb_ratio", "variant": p, "value": pert / clean,
                     "n": int(s["items"]), "params": json.dumps(pr, sort_keys=True), "note": None,
                     "metric_version": METRIC_VERSION})
    return rows


def execute(s, unit: Unit, ctx: UnitContext) -> list[dict]:
    from ..lm.models import get_model_spec, load_model_spec
    from ..lm.score import score_documents

    ms, p, mname = s.model_side, unit.payload, unit.provenance["model"]
    t0 = time.time()
    model, tok, info = load_model_spec(get_model_spec(mname), dtype=ms.dtype, device=ctx.options.device)
    ctx.log(f"loaded {mname} in {time.time() - t0:.1f}s")
    try:
        texts = list(dict.fromkeys([it["clean"] for it in p["items"]] + [it["text"] for it in p["items"]]))
        langs = {}
        for it in p["items"]:
            langs.setdefault(it["clean"], it["lang"])
            langs.setdefault(it["text"], it["lang"])
        scores = score_documents(model, tok, texts, batch_size=p["batch_size"], max_length=ms.max_length,
                                 device=ctx.options.device, langs=[langs[t] for t in texts],
                                 label=f"{s.suite.name}_{mname}", disable_tqdm=not ctx.options.progress)
    finally:
        model = tok = None
        gc.collect()
    ctx.advance(unit.size)
    score = {t: (d.ll, d.bytes) for t, d in zip(texts, scores.docs)}
    protocol = {**scores.protocol, "device": ctx.options.device or "auto", "model_source": info["source"],
                "gguf_file": info["gguf_file"], "weights_sha256": info["weights_sha256"],
                "tokenizer_source": info.get("tokenizer_source"), "texts_scored": len(texts)}
    rows = ratio_rows(p["items"], score, {**p["params"], **protocol})
    allr = {r["variant"]: r["value"] for r in rows if r["lang"] == ALL_LANGS}
    ctx.state.setdefault("lines", []).append(
        f"{mname}: bits/byte ratio " + "  ".join(f"{k} {v:.3f}" for k, v in allr.items()))
    return rows
