"""The causal-LM registry (``models.toml``) and its loader.

>>> sorted(load_model_specs())
['gemma3-270m', 'smollm2-135m']
"""
from __future__ import annotations

import difflib
import functools
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..plugins import Registry

MODELS_TOML = Path(__file__).parent / "models.toml"


class ModelError(RuntimeError):
    """Unknown model or a model that cannot be loaded."""


class TransplantEntry(BaseModel):
    """``transplant = {model, tokenizer, method, params}``: `model` with `tokenizer`'s vocabulary
    (tokbench.transplant, docs/transplant.md), built and cached on first use."""
    model_config = ConfigDict(extra="forbid")
    model: str
    tokenizer: str
    method: str
    params: dict = {}


class ModelSpec(BaseModel):
    """One causal LM: a ``models.toml`` entry or a suite's ``[models.NAME]`` table (one schema).

    Sources, first given wins (``MODEL_SOURCES``): ``asset`` (a pinned GGUF), ``path`` (a local
    transformers folder, optionally with ``gguf_file``), ``hub_id`` (online users), or
    ``transplant`` (built by tokbench.transplant; then ``tokenizer`` defaults to its tokenizer).
    """
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = ""
    tokenizer: str = ""
    asset: str = ""
    path: str = ""
    gguf_file: str = ""
    hub_id: str = ""
    description: str = ""
    transplant: TransplantEntry | None = None

    @model_validator(mode="after")
    def _source(self):
        given = [k for k in MODEL_SOURCES.names() if getattr(self, k, None)]
        local = [k for k in given if k != "hub_id"]  # hub_id may accompany a local source (online fallback)
        if not given or len(local) > 1 or (self.transplant and len(given) > 1):
            raise ValueError(f"give exactly one of {', '.join(MODEL_SOURCES.names())} (hub_id may also be given "
                             f"beside asset or path, as the source for online users); got {given or 'none'}")
        if not self.transplant and not self.tokenizer:
            raise ValueError("`tokenizer` (the registry tokenizer of the model) is required")
        return self

    @property
    def source(self) -> str:
        return next(k for k in MODEL_SOURCES.names() if getattr(self, k, None))


# --- model sources: how a spec becomes weights on disk, and what identifies them -------------------
class _Asset:
    def resolve(self, spec: ModelSpec) -> tuple[str, str | None, str]:
        from ..assets import fetch, get_spec

        f = fetch(spec.asset)
        return str(f.parent), f.name, get_spec(spec.asset).sha256

    def identity(self, spec: ModelSpec) -> dict[str, Any]:
        from ..assets import get_spec

        return {"asset": spec.asset, "sha256": get_spec(spec.asset).sha256}


class _Local:
    def resolve(self, spec: ModelSpec) -> tuple[str, str | None, str]:
        return (spec.path or spec.hub_id), (spec.gguf_file or None) if spec.path else None, ""

    def identity(self, spec: ModelSpec) -> dict[str, Any]:
        return {"path": spec.path, "gguf_file": spec.gguf_file, "hub_id": spec.hub_id}


MODEL_SOURCES: Registry[Any] = Registry("model source", group=None)
MODEL_SOURCES.add("asset", _Asset())
MODEL_SOURCES.add("path", _Local())
MODEL_SOURCES.add("hub_id", _Local())
MODEL_SOURCES.add("transplant", "tokbench.transplant.model_source:TRANSPLANT")  # lazy: transplant imports lm


def parse_model(name: str, entry: Any, *, where: str) -> ModelSpec:
    """Validate one model table; errors name the file, the entry and the field."""
    if not isinstance(entry, dict):
        raise ModelError(f"{where}: model [{name}] must be a table of fields")
    try:
        spec = ModelSpec(name=name, **entry)
    except ValidationError as e:
        problems = "; ".join(f"`{'.'.join(map(str, err['loc'])) or 'entry'}`: {err['msg']}" for err in e.errors())
        raise ModelError(f"{where}: model [{name}] is invalid: {problems}") from None
    if spec.transplant and not spec.tokenizer:
        spec = spec.model_copy(update={"tokenizer": spec.transplant.tokenizer})
    return spec


@functools.lru_cache(maxsize=None)
def load_model_specs(path: Path = MODELS_TOML) -> dict[str, ModelSpec]:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return {name: parse_model(name, entry, where=str(path)) for name, entry in raw.items()}


def get_model_spec(name: str) -> ModelSpec:
    specs = load_model_specs()
    if name not in specs:
        close = difflib.get_close_matches(name, specs, n=1)
        raise ModelError(f"unknown model {name!r} (known: {', '.join(sorted(specs))})"
                         + (f". Did you mean {close[0]!r}?" if close else ""))
    return specs[name]


def model_identity(spec: ModelSpec) -> dict[str, Any]:
    """What identifies a model's weights without loading them (part of resume keys)."""
    return MODEL_SOURCES.get(spec.source).identity(spec)


def resolve_source(spec: ModelSpec) -> tuple[str, str | None, str]:
    """(folder or hub id, gguf file name or None, hash of the weights) for from_pretrained."""
    return MODEL_SOURCES.get(spec.source).resolve(spec)


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
    info = {"model": name, "tokenizer": spec.tokenizer, "source": spec.asset or spec.path or spec.hub_id or src,
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
