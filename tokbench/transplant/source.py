"""The source model of a transplant: a registry model (``tokbench/lm/models.toml``, GGUF weights
dequantised to float32) or a local transformers directory, as a plain (savable) transformers
model, its tokenizer and a hash of its weights."""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


@dataclass
class Source:
    name: str
    model: object          # transformers causal LM, float32, eval mode, savable
    tokenizer: object      # its transformers tokenizer
    weights_sha256: str
    info: dict


def _is_local_dir(model: str) -> bool:
    return Path(model).is_dir()


def weights_digest(model: str) -> str:
    """Hash of the source model's weights without loading it (the transplant cache key)."""
    if _is_local_dir(model):
        h = hashlib.sha256()
        root = Path(model)
        from ..assets import sha256_file

        files = sorted(f for f in root.rglob("*") if f.is_file() and (f.suffix in WEIGHT_SUFFIXES
                                                                      or f.name == "config.json"))
        if not files:
            raise FileNotFoundError(f"{model}: no model weights (*.safetensors, *.bin, *.gguf) found")
        for f in files:
            h.update(f"{f.relative_to(root)}={sha256_file(f)}\n".encode())
        return h.hexdigest()
    from ..lm.models import get_model_spec, resolve_source

    spec = get_model_spec(model)
    _, _, sha = resolve_source(spec)
    if not sha:
        raise ValueError(f"model {model!r} has no pinned weights hash (not an asset); give a local directory")
    return sha


def plain_copy(model):
    """A plain float32 transformers model with the weights of ``model`` (e.g. one loaded from a
    GGUF, which transformers 5.x cannot ``save_pretrained``): ``from_config`` + ``load_state_dict``."""
    import torch
    from transformers import AutoModelForCausalLM

    cfg = copy.deepcopy(model.config)
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    fresh = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    missing, unexpected = fresh.load_state_dict(model.state_dict(), strict=False)
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    allowed = {"lm_head.weight"} if tied else set()
    if set(missing) - allowed or unexpected:
        raise RuntimeError(f"rebuilding the model: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}")
    if tied:
        fresh.tie_weights()
    return fresh.eval()


def load_source(model: str) -> Source:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sha = weights_digest(model)
    if _is_local_dir(model):
        tok = AutoTokenizer.from_pretrained(model)
        m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        info = {"model": model, "source": str(Path(model).resolve()), "kind": "local transformers directory"}
    else:
        from ..lm.models import load_model

        q, tok, info = load_model(model, dtype="float32")
        m = plain_copy(q) if getattr(q.config, "quantization_config", None) is not None else q
        del q
        info = {**info, "kind": "tokbench model registry"}
    return Source(model, m, tok, sha, info)
