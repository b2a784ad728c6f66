"""Build a transplanted model directory, and the cached ``ensure_transplant`` (docs/transplant.md)."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from .methods import METHODS, normalise_params

# Bump when the output of a transplant changes (matching rules, formulas, file layout), so
# cached directories are rebuilt.
TRANSPLANT_VERSION = "2"
META_FILE = "tokbench_transplant.json"


class TransplantError(RuntimeError):
    pass


_SOURCE_CACHE: dict = {}


def get_source(model: str):
    """The loaded source model, kept in-process (one at a time) so several transplants of the
    same model load it once."""
    from .source import load_source, weights_digest

    sha = weights_digest(model)
    hit = _SOURCE_CACHE.get("src")
    if hit is not None and hit.name == model and hit.weights_sha256 == sha:
        return hit
    _SOURCE_CACHE.clear()
    src = load_source(model)
    _SOURCE_CACHE["src"] = src
    return src


def clear_source_cache() -> None:
    _SOURCE_CACHE.clear()


def tokenizer_fingerprint(tokenizer: str, weights_sha: str) -> str:
    """Identifies the target vocabulary and its encoding without loading the source model."""
    from .target import CONVERT_VERSION

    if tokenizer == "self":
        return f"self:{weights_sha}"
    if tokenizer.startswith("trained:"):
        from .train import load_trained

        path, _ = load_trained(tokenizer.split(":", 1)[1])
        return "trained:" + hashlib.sha256(path.read_bytes()).hexdigest()
    from ..registry import resolve

    return f"{resolve(tokenizer).fingerprint()}+convert{CONVERT_VERSION}"


def cache_key(model: str, tokenizer: str, method: str, params: dict | None) -> tuple[str, dict]:
    from .source import weights_digest

    params = normalise_params(method, params)
    sha = weights_digest(model)
    parts = {"model_weights_sha256": sha, "tokenizer": tokenizer_fingerprint(tokenizer, sha), "method": method,
             "params": params, "transplant_version": TRANSPLANT_VERSION}
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return key, parts


def transplant_dir(model: str, tokenizer: str, method: str, key: str) -> Path:
    from ..assets import cache_dir
    from .target import safe_name

    stem = Path(model).name if Path(model).is_dir() else model
    name = f"{safe_name(stem)}--{safe_name(tokenizer)}--{method}-{key[:16]}"
    return cache_dir() / "transplant" / name


def ensure_transplant(model: str, tokenizer: str, method: str, params: dict | None = None) -> Path:
    """The directory of ``model`` transplanted to ``tokenizer`` with ``method`` (and ``params``),
    built on first use under ``<tokbench cache>/transplant/``.

    The directory is complete or absent: it is built in a temporary sibling and renamed into
    place; an interrupted build leaves only a ``.tmp-*`` folder, which is never used (and is
    removed by the next build of the same key). Load it with ``AutoModelForCausalLM.from_pretrained``
    and ``AutoTokenizer.from_pretrained``; ``tokbench_transplant.json`` says how it was made.
    """
    key, parts = cache_key(model, tokenizer, method, params)
    out = transplant_dir(model, tokenizer, method, key)
    if (out / META_FILE).exists():
        return out
    build_atomic(model, tokenizer, method, parts["params"], out, key=key, key_parts=parts)
    return out


def build_atomic(model: str, tokenizer: str, method: str, params: dict, out: Path, *, key: str = "",
                 key_parts: dict | None = None, force: bool = False, log=None) -> dict:
    """Build into ``out`` through a temporary sibling folder renamed into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        try:
            pid = int(stale.name.rsplit("-", 1)[1])
            os.kill(pid, 0)  # raises ProcessLookupError when the build's process is gone
            continue  # a live build of the same directory: leave it alone
        except (ValueError, ProcessLookupError):
            shutil.rmtree(stale, ignore_errors=True)
        except OSError:  # PermissionError: the process exists (another user)
            continue
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        meta = build(model, tokenizer, method, params, tmp, key=key, key_parts=key_parts, log=log)
        if out.exists():
            if (out / META_FILE).exists() and not force:
                shutil.rmtree(tmp)  # someone else finished first
                return json.loads((out / META_FILE).read_text())
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _param_keys(model, weight) -> list[str]:
    return [k for k, v in model.state_dict(keep_vars=True).items() if v is weight]


def build(model: str, tokenizer: str, method: str, params: dict | None, out: Path, *, key: str = "",
          key_parts: dict | None = None, log=None) -> dict:
    """Write the transplanted model, its tokenizer and ``tokbench_transplant.json`` into ``out``."""
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .. import __version__
    from .methods import decompose, match, plan_rows
    from .target import (ROLES, hf_byte_fallback_ids, hf_token_bytes, load_target, roles_from_hf, verification_texts,
                         verify)

    log = log or (lambda *a: None)
    if method not in METHODS:
        raise TransplantError(f"unknown method {method!r} (choose one of {', '.join(METHODS)})")
    params = normalise_params(method, params)
    # the target first: an unsupported tokenizer fails before the (slow) model load
    tgt = None if tokenizer == "self" else load_target(tokenizer)
    t0 = time.time()
    src = get_source(model)
    t_load = time.time() - t0
    old_tok = src.tokenizer
    if tgt is None:
        tgt = load_target(tokenizer, source_tokenizer=old_tok, source_key=src.weights_sha256)
    log(f"source {model} ({t_load:.1f}s), target {tokenizer}: {tgt.vocab_size} ids")

    from tokenizers import Tokenizer

    old_tk = Tokenizer.from_str(old_tok.backend_tokenizer.to_str())
    old_tk.no_padding()
    old_tk.no_truncation()
    E_old = src.model.get_input_embeddings().weight.detach()
    head = src.model.get_output_embeddings()
    tied = head is None or head.weight is src.model.get_input_embeddings().weight
    H_old = None if tied else head.weight.detach()
    if not tied and getattr(head, "bias", None) is not None:
        raise TransplantError("output heads with a bias are not supported")
    V_old, d = E_old.shape
    old_bytes, old_specials = hf_token_bytes(old_tk)
    old_bytes = (old_bytes + [None] * V_old)[:V_old]
    old_roles = roles_from_hf(old_tok)

    plan = match(tgt.token_bytes, tgt.specials, tgt.roles, tgt.prefix_id, old_bytes, old_specials, old_roles,
                 hf_byte_fallback_ids(old_tk))
    if tokenizer == "self":
        # the identity transplant keeps rows the tokenizer does not reach (vocabulary padding) by id
        V_self = max(tgt.vocab_size, V_old)
        if V_self > tgt.vocab_size:
            tgt.token_bytes = tgt.token_bytes + [None] * (V_self - tgt.vocab_size)
            tgt.vocab_size = V_self
            plan = match(tgt.token_bytes, tgt.specials, tgt.roles, tgt.prefix_id, old_bytes, old_specials,
                         old_roles, hf_byte_fallback_ids(old_tk))
        for i in range(min(V_self, V_old)):
            if plan.copy_from[i] < 0 and plan.kind[i] == "unused":
                plan.copy_from[i] = i
                plan.kind[i] = "special-same" if i in tgt.specials else "shared"
    copy_ids = np.nonzero(plan.copy_from >= 0)[0]
    init_ids = np.nonzero(plan.copy_from < 0)[0].tolist()
    new_ids = [i for i in init_ids if plan.kind[i] == "new"]
    pieces = {}
    if METHODS.get(method).uses_pieces:
        def enc(texts):
            return [e.ids for e in old_tk.encode_batch(texts, add_special_tokens=False)]
        pieces = decompose(new_ids, tgt.token_bytes, enc, old_bytes)
    candidates = np.array([i for i, b in enumerate(old_bytes) if b and i not in old_specials], dtype=np.int64)
    t1 = time.time()
    comb = plan_rows(method, params, init_ids, pieces, old_bytes, E_old, candidates)
    V_new = tgt.vocab_size
    E_new = torch.empty(V_new, d, dtype=E_old.dtype)
    ci = torch.from_numpy(copy_ids)
    E_new[ci] = E_old[torch.from_numpy(plan.copy_from[copy_ids])]
    comb.apply(E_old, E_new)
    H_new = None
    if not tied:
        H_new = torch.empty(V_new, H_old.shape[1], dtype=H_old.dtype)
        H_new[ci] = H_old[torch.from_numpy(plan.copy_from[copy_ids])]
        comb.apply(H_old, H_new)
    t_init = time.time() - t1
    log(f"rows: {plan.counts()} ({t_init:.1f}s)")

    # the new model: the source's weights with the new embedding (and head) matrices
    cfg = copy.deepcopy(src.model.config)
    cfg.vocab_size = V_new
    for r in ("bos", "eos", "pad"):
        setattr(cfg, f"{r}_token_id", tgt.roles.get(r))
    with torch.device("meta"):
        new = AutoModelForCausalLM.from_config(cfg, dtype=E_old.dtype)
    sd = src.model.state_dict()
    emb_keys = set(_param_keys(src.model, src.model.get_input_embeddings().weight))
    head_keys = set() if tied else set(_param_keys(src.model, head.weight))
    sd = {k: v for k, v in sd.items() if k not in emb_keys | head_keys}
    missing, unexpected = new.load_state_dict(sd, strict=False, assign=True)
    if unexpected or set(missing) - emb_keys - head_keys:
        raise TransplantError(f"state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    # keep the architecture's own embedding module (Gemma scales its embeddings, for instance):
    # from_config already made it V_new rows; only its weight is set
    emb = new.get_input_embeddings()
    if tuple(emb.weight.shape) != (V_new, d):
        raise TransplantError(f"embedding shape {tuple(emb.weight.shape)} != {(V_new, d)}")
    emb.weight = torch.nn.Parameter(E_new)
    if tied:
        new.tie_weights()
    else:
        out_emb = new.get_output_embeddings()
        if tuple(out_emb.weight.shape) != tuple(H_new.shape):
            raise TransplantError(f"output head shape {tuple(out_emb.weight.shape)} != {tuple(H_new.shape)}")
        out_emb.weight = torch.nn.Parameter(H_new)
    # buffers the meta device left unmaterialised (rotary inv_freq ...): recompute from config
    _materialise_buffers(new, src.model)
    new.eval()
    if getattr(new, "generation_config", None) is not None:
        for r in ("bos", "eos", "pad"):
            setattr(new.generation_config, f"{r}_token_id", tgt.roles.get(r))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    new.save_pretrained(out)
    tgt.hf.save_pretrained(out)

    # check what was written: the tokenizer encodes like the target, the weights are the rows
    loaded = AutoTokenizer.from_pretrained(out)
    texts, what = verification_texts()
    reference = tgt.adapter if tgt.adapter is not None else old_tok
    bad = verify(loaded, reference, texts)
    if bad:
        raise TransplantError(f"the exported tokenizer encodes {len(bad)} of {len(texts)} verification texts "
                              f"differently from {tokenizer!r} (first: {texts[bad[0]][:60]!r})")
    for r in ("bos", "eos"):
        if r in tgt.roles and getattr(loaded, f"{r}_token_id") != tgt.roles[r]:
            raise TransplantError(f"exported tokenizer: {r} id {getattr(loaded, f'{r}_token_id')} != {tgt.roles[r]}")

    specials = []
    old_inv = {**{i: c for i, c in old_specials.items()}}
    for i, c in sorted(tgt.specials.items()):
        o = int(plan.copy_from[i])
        rule = plan.special_map.get(i, (None, "no match: initialised like a new token (mean row)"))[1]
        specials.append({"id": i, "content": c, "source_id": o if o >= 0 else None,
                         "source_content": old_inv.get(o) if o >= 0 else None, "rule": rule})
    if len(specials) > 40:  # llama3's 256 reserved tokens: keep the matched ones and a count
        kept = [s for s in specials if s["source_id"] is not None]
        specials = kept + [{"unmatched_specials": len(specials) - len(kept), "rule": "mean row"}]
    from importlib.metadata import version as _v

    counts = plan.counts()
    meta = {
        "tokbench_transplant_version": TRANSPLANT_VERSION, "tokbench_version": __version__,
        "method": method, "params": params,
        "source_model": {"name": model, "kind": src.info.get("kind"), "source": src.info.get("source"),
                         "gguf_file": src.info.get("gguf_file"), "weights_sha256": src.weights_sha256,
                         "vocab_size": V_old, "hidden_size": d, "tied_embeddings": tied, "dtype": str(E_old.dtype)},
        "source_tokenizer": {"name": src.info.get("tokenizer") or model,
                             "note": "the source model's own tokenizer as transformers loads it",
                             "hash": hashlib.sha256(old_tk.to_str().encode()).hexdigest(),
                             "roles": {r: [i, old_specials.get(i)] for r, i in old_roles.items()}},
        "target_tokenizer": {"name": tokenizer, "hash": tgt.fingerprint, "vocab_size": V_new,
                             "roles": {r: [i, tgt.specials.get(i)] for r, i in tgt.roles.items() if r in ROLES},
                             **tgt.info},
        "counts": {"target_ids": V_new, "shared": counts.get("shared", 0), "new": counts.get("new", 0),
                   "special_matched": counts.get("special-role", 0) + counts.get("special-same", 0),
                   "special_unmatched": counts.get("special-new", 0), "unused_ids": counts.get("unused", 0),
                   "initialised_rows": len(init_ids)},
        "init": comb.stats, "special_tokens": specials,
        "output_head": "tied to the input embeddings" if tied else "untied: copied / initialised with the same rule",
        "verification": {"texts": what, "n_texts": len(texts), "mismatches": 0},
        "cache_key": key, "cache_key_parts": key_parts,
        "timing_s": {"load_source": round(t_load, 2), "init_rows": round(t_init, 2),
                     "total": round(time.time() - t0, 2)},
        "versions": {"transformers": _v("transformers"), "torch": _v("torch"), "tokenizers": _v("tokenizers")},
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _materialise_buffers(new, ref) -> None:
    """Copy non-persistent buffers (rotary inv_freq ...) from the source model, whose
    architecture is identical apart from the vocabulary."""
    import torch

    ref_bufs = dict(ref.named_buffers())
    for name, buf in list(new.named_buffers()):
        if buf.device.type == "meta":
            if name not in ref_bufs:
                raise TransplantError(f"cannot materialise buffer {name}")
            mod_name, _, attr = name.rpartition(".")
            mod = new.get_submodule(mod_name) if mod_name else new
            persistent = attr not in getattr(mod, "_non_persistent_buffers_set", set())
            mod.register_buffer(attr, ref_bufs[name].clone(), persistent=persistent)
    for name, p in new.named_parameters():
        if p.device.type == "meta":
            raise TransplantError(f"parameter {name} was not loaded")
    for mod in new.modules():  # rotary embeddings keep an original copy of inv_freq as an attribute
        for attr in ("original_inv_freq",):
            v = getattr(mod, attr, None)
            if isinstance(v, torch.Tensor) and v.device.type == "meta":
                setattr(mod, attr, getattr(mod, "inv_freq").clone())
