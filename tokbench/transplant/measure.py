"""Measure zero-shot perplexity ratios of transplants against the source model (docs/transplant.md).

    python -m tokbench.transplant.measure --model smollm2-135m --tokenizer trained:tr-bpe-16k \\
        --tokenizer llama3 --tokenizer gpt2 --langs en tr --docs 5 --out /tmp/transplant.json

Per (tokenizer, method, language) and pooled over the languages: byte-level ratio =
byte_perplexity(transplant) / byte_perplexity(source) on identical text, token-level ratio =
token_perplexity(transplant) / token_perplexity(source) (the TokenAdapt paper's variant), plus
bits/byte and the build time. Scores come from ``tokbench.lm.score.score_documents`` (lm-eval
``loglikelihood_rolling``); the reference is the registry model exactly as ``tokbench
perplexity`` loads it.
"""
from __future__ import annotations

import argparse
import json
import time


def _score(model, tok, texts, *, batch_size=1, max_length=2048):
    from ..lm.score import score_documents

    return score_documents(model, tok, texts, batch_size=batch_size, max_length=max_length)


def measure(model: str, tokenizers: list[str], methods: list[str], langs: list[str], docs: int,
            params: dict | None = None, log=print) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..lm.score import ppl_ratio
    from ..corpora import load_corpus
    from ..suites import CorpusSpec
    from .build import META_FILE, get_source
    from .build import ensure_transplant

    corpus = load_corpus("udhr", CorpusSpec(source="udhr", langs=langs, unit="article", max_docs_per_lang=docs))
    by_lang = {lg: [t for t, l in zip(corpus.text, corpus.lang) if l == lg] for lg in langs}
    t0 = time.time()
    src = get_source(model)
    t_src = time.time() - t0
    ref = {lg: _score(src.model, src.tokenizer, txt) for lg, txt in by_lang.items()}
    log(f"reference {model}: " + ", ".join(f"{lg} bpb {s.bits_per_byte:.4f}" for lg, s in ref.items())
        + f" (source load {t_src:.1f}s)")
    rows = []
    for tok in tokenizers:
        for method in methods:
            p = (params or {}).get(method)
            t1 = time.time()
            out = ensure_transplant(model, tok, method, p)
            t_build = time.time() - t1
            meta = json.loads((out / META_FILE).read_text())
            m = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
            ht = AutoTokenizer.from_pretrained(out)
            t2 = time.time()
            cand = {lg: _score(m, ht, txt) for lg, txt in by_lang.items()}
            t_score = time.time() - t2
            from ..lm.score import Scores

            pooled_c = Scores([d for s in cand.values() for d in s.docs])
            pooled_r = Scores([d for s in ref.values() for d in s.docs])
            row = {"tokenizer": tok, "method": method, "params": meta["params"], "dir": str(out),
                   "build_s": round(t_build, 1), "build_s_recorded": meta["timing_s"], "score_s": round(t_score, 1),
                   "counts": meta["counts"], "init": meta["init"], "langs": {}}
            for lg in list(by_lang) + ["*"]:
                c, r = (cand[lg], ref[lg]) if lg != "*" else (pooled_c, pooled_r)
                row["langs"][lg] = {"byte_ratio": ppl_ratio(c, r, "byte"), "token_ratio": ppl_ratio(c, r, "token"),
                                    "bpb": c.bits_per_byte, "ref_bpb": r.bits_per_byte,
                                    "tokens": int(c._sum("tokens")), "ref_tokens": int(r._sum("tokens")),
                                    "bytes": int(c._sum("bytes"))}
            rows.append(row)
            log(f"{tok:22s} {method:8s} build {t_build:6.1f}s  " + "  ".join(
                f"{lg}: byte {v['byte_ratio']:.3f} token {v['token_ratio']:.3f}" for lg, v in row["langs"].items()))
            del m
    return {"model": model, "langs": langs, "docs_per_lang": docs, "source_load_s": round(t_src, 1),
            "reference": {lg: {"bpb": s.bits_per_byte, "byte_perplexity": s.byte_perplexity,
                               "token_perplexity": s.token_perplexity, "tokens": int(s._sum("tokens")),
                               "bytes": int(s._sum("bytes"))} for lg, s in ref.items()},
            "protocol": next(iter(ref.values())).protocol, "rows": rows}


def markdown(res: dict) -> str:
    langs = res["langs"] + ["*"]
    head = "| tokenizer | method | " + " | ".join(f"{lg} byte | {lg} token" for lg in langs) + " | build s |"
    sep = "|" + "---|" * (3 + 2 * len(langs))
    lines = [head, sep]
    for r in res["rows"]:
        cells = " | ".join(f"{r['langs'][lg]['byte_ratio']:.3f} | {r['langs'][lg]['token_ratio']:.3f}" for lg in langs)
        lines.append(f"| {r['tokenizer']} | {r['method']} | {cells} | {r['build_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tokenizer", action="append")
    ap.add_argument("--method", action="append")
    ap.add_argument("--langs", nargs="+", default=["en", "tr"])
    ap.add_argument("--docs", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    from .methods import METHODS

    res = measure(a.model, a.tokenizer or ["trained:tr-bpe-16k", "llama3", "gpt2"], a.method or list(METHODS),
                  a.langs, a.docs)
    md = markdown(res)
    print(md)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({**res, "markdown": md}, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
