"""The causal-LM registry (``models.toml``) and its loader.

>>> sorted(load_model_specs())
['gemma3-270m', 'smollm2-135m']
"""
from __future__ import annotations

import difflib
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

MODELS_TOML = Path(__file__).parent / "models.toml"


class ModelError(RuntimeError):
    """Unknown model or a model that cannot be loaded."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    tokenizer: str
    asset: str = ""      # pinned GGUF asset
    path: str = ""       # local transformers folder
    gguf_file: str = ""  # GGUF file name inside `path`
    hub_id: str = ""     # online users only
    description: str = ""


@functools.lru_cache(maxsize=None)
def load_model_specs(path: Path = MODELS_TOML) -> dict[str, ModelSpec]:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    fields = set(ModelSpec.__dataclass_fields__) - {"name"}
    out = {}
    for name, entry in raw.items():
        unknown = set(entry) - fields
        if unknown:
            raise ModelError(f"{path}: model [{name}] has unknown field(s) {sorted(unknown)}")
        out[name] = ModelSpec(name=name, **entry)
    return out


def get_model_spec(name: str) -> ModelSpec:
    specs = load_model_specs()
    if name not in specs:
        close = difflib.get_close_matches(name, specs, n=1)
        raise ModelError(f"unknown model {name!r} (known: {', '.join(sorted(specs))})"
                         + (f". Did you mean {close[0]!r}?" if close else ""))
    return specs[name]


def resolve_source(spec: ModelSpec) -> tuple[str, str | None, str]:
    """(folder or hub id, gguf file name or None, hash of the weights) for from_pretrained."""
    if spec.asset:
        from ..assets import fetch, get_spec

        f = fetch(spec.asset)
        return str(f.parent), f.name, get_spec(spec.asset).sha256
    if spec.path:
        return spec.path, spec.gguf_file or None, ""
    if spec.hub_id:
        return spec.hub_id, None, ""
    raise ModelError(f"model {spec.name!r} has no asset, path or hub_id")


def load_model(name: str, *, dtype: str = "float32", device: str | None = None):
    """(model, tokenizer, info) for a registry model; GGUF weights are dequantised to ``dtype``."""
    return load_model_spec(get_model_spec(name), dtype=dtype, device=device)


def load_model_spec(spec: ModelSpec, *, dtype: str = "float32", device: str | None = None):
    """(model, tokenizer, info) for a ModelSpec (registry or suite-defined)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = spec.name
    src, gguf, sha = resolve_source(spec)
    kw = {"gguf_file": gguf} if gguf else {}
    tok = AutoTokenizer.from_pretrained(src, **kw)
    tokenizer_source = "transformers (AutoTokenizer from the model source)"
    if gguf:
        tok, tokenizer_source = registry_tokenizer_for(spec, tok)
    model = AutoModelForCausalLM.from_pretrained(src, dtype=getattr(torch, dtype), **kw).eval()
    if device:
        model = model.to(device)
    info = {"model": name, "tokenizer": spec.tokenizer, "source": spec.asset or spec.path or spec.hub_id,
            "gguf_file": gguf, "weights_sha256": sha, "dtype": dtype, "tokenizer_source": tokenizer_source}
    return model, tok, info


def registry_tokenizer_for(spec: ModelSpec, hf_tok):
    """For a GGUF model whose registry tokenizer is a `tokenizers` object, score with that object
    (wrapped for transformers, special tokens from ``hf_tok``), so model rows use exactly the
    tokenization of the tokenizer rows. transformers' GGUF converter differs from the original
    SmolLM2 pre-tokenizer on non-digit number characters (tests/test_tokenizers_exact.py);
    Gemma's SentencePiece vocabulary is left to transformers (identical on the tested text)."""
    from transformers import PreTrainedTokenizerFast

    from ..registry import RegistryError, get_tokenizer

    try:
        reg = get_tokenizer(spec.tokenizer)
    except RegistryError:
        return hf_tok, "transformers (GGUF converter)"
    tk = getattr(reg, "tk", None)
    if tk is None:
        return hf_tok, "transformers (GGUF converter)"
    special = {k: getattr(hf_tok, k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")
               if getattr(hf_tok, k, None) is not None}
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tk, **special)
    return wrapped, f"tokbench registry tokenizer {spec.tokenizer!r} (tokenizers object)"
