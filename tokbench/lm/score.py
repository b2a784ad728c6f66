"""Per-document summed log-likelihood through lm-eval's ``loglikelihood_rolling``, and the
byte / char / word / token normalisations of it (docs/perplexity.md, METRICS.md).

Protocol (recorded in every row's ``params``): documents are encoded WITHOUT special tokens
(``HFLM(add_bos_token=False)``); lm-eval conditions the first token on its prefix token (the
tokenizer's BOS, else EOS); documents longer than ``max_length`` are scored in lm-eval's
disjoint rolling windows (context_len 1, so stride = max_length).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

LN2 = math.log(2)


@dataclass
class DocScore:
    ll: float      # summed natural-log likelihood of the document
    bytes: int     # UTF-8 bytes
    chars: int     # code points
    words: int     # whitespace-separated words
    tokens: int    # model tokens (no special tokens)


@dataclass
class Scores:
    docs: list[DocScore]
    protocol: dict = field(default_factory=dict)

    def _sum(self, attr: str) -> float:
        return sum(getattr(d, attr) for d in self.docs)

    @property
    def nll(self) -> float:
        return -self._sum("ll")

    def ppl(self, unit: str) -> float:
        """exp(-sum ll / sum units) for unit in bytes, chars, words, tokens."""
        return math.exp(self.nll / self._sum(unit))

    @property
    def bits_per_byte(self) -> float:
        return self.nll / (self._sum("bytes") * LN2)

    @property
    def byte_perplexity(self) -> float:
        return self.ppl("bytes")

    @property
    def char_perplexity(self) -> float:
        return self.ppl("chars")

    @property
    def word_perplexity(self) -> float:
        return self.ppl("words")

    @property
    def token_perplexity(self) -> float:
        return self.ppl("tokens")

    def subset(self, idx) -> "Scores":
        return Scores([self.docs[i] for i in idx], dict(self.protocol))


def ppl_ratio(candidate: Scores, reference: Scores, variant: str = "byte") -> float:
    """Perplexity ratio candidate / reference; ``byte`` needs identical text (same byte counts)."""
    if variant == "byte":
        if candidate._sum("bytes") != reference._sum("bytes"):
            raise ValueError("ppl_ratio(byte): candidate and reference were scored on different text")
        return candidate.byte_perplexity / reference.byte_perplexity
    if variant == "token":
        return candidate.token_perplexity / reference.token_perplexity
    raise ValueError(f"unknown ppl_ratio variant {variant!r} (byte, token)")


def make_lm(model, tokenizer, *, batch_size: int = 1, max_length: int = 2048, device: str | None = None):
    """An lm-eval HFLM around an already loaded model object (no hub access)."""
    from lm_eval.models.huggingface import HFLM

    kw = {"device": device} if device else {}
    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length,
                add_bos_token=False, **kw)


def score_documents(model, tokenizer, texts: list[str], *, batch_size: int = 1, max_length: int = 2048,
                    device: str | None = None, lm=None, langs: list[str] | None = None, label: str = "corpus",
                    task_dir: str | None = None, disable_tqdm: bool = True) -> Scores:
    """Summed log-likelihood of each text plus its unit counts.

    The texts become an lm-eval task (`tasks.write_rolling_task`: a local JSONL file and a
    ``loglikelihood_rolling`` task YAML, kept in ``task_dir`` when given) run with
    ``lm_eval.simple_evaluate(log_samples=True)``; per-document log-likelihoods come from the
    logged samples, and lm-eval's own aggregate ``bits_per_byte`` is kept in the protocol.
    """
    from .tasks import first_response, run_generated_task, write_rolling_task

    if not texts:
        raise ValueError("score_documents: no documents to score")
    lm = lm or make_lm(model, tokenizer, batch_size=batch_size, max_length=max_length, device=device)
    name, samples, res = run_generated_task(lm, lambda d: write_rolling_task(d, texts, langs, label=label), task_dir)
    if len(samples) != len(texts):
        raise RuntimeError(f"lm-eval returned {len(samples)} samples for {len(texts)} documents")
    docs = []
    for t, smp in zip(texts, samples, strict=True):
        docs.append(DocScore(ll=float(first_response(smp)), bytes=len(t.encode("utf-8")), chars=len(t),
                             words=len(t.split()), tokens=len(tokenizer.encode(t, add_special_tokens=False))))
    protocol = {"max_length": lm.max_length, "stride": lm.max_length, "rolling": "lm-eval disjoint windows, context_len 1",
                "bos": f"document encoded without special tokens; first token conditioned on prefix token id "
                       f"{lm.prefix_token_id} (BOS, else EOS)",
                "dtype": str(getattr(model, "dtype", "")).replace("torch.", ""), "batch_size": batch_size,
                "lm_eval_task": name, "lm_eval_bits_per_byte": float(res["bits_per_byte,none"]),
                "lm_eval": _version("lm_eval"), "transformers": _version("transformers"), "torch": _version("torch")}
    return Scores(docs, protocol)


def _version(mod: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(mod.replace("_", "-"))
    except PackageNotFoundError:
        return ""
