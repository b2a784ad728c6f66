"""``tokbench transplant``: a model with a new tokenizer's vocabulary, initialised without training
(docs/transplant.md)."""
from __future__ import annotations

import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    from .methods import METHODS

    h = METHODS.get("hybrid").defaults
    p = subparsers.add_parser(
        "transplant", help="transplant a tokenizer onto a causal LM (zero-shot embedding initialisation)",
        description="Write a transformers model directory whose embeddings (and untied output head) cover the "
                    "target tokenizer's vocabulary: shared tokens copy their rows, new tokens are initialised by "
                    "METHOD. Without --out the directory is built in (or taken from) the tokbench cache, as "
                    "ensure_transplant() does, and its path is printed (docs/transplant.md).")
    p.add_argument("--model", required=True, metavar="M",
                   help="registry model (tokbench/lm/models.toml: smollm2-135m, gemma3-270m) or a local "
                        "transformers directory")
    p.add_argument("--tokenizer", required=True, metavar="T",
                   help="target tokenizer: a registry name (gpt2, llama3, ...), a tokenizer.json path, "
                        "trained:NAME (trained by tokbench: tr-bpe-16k, tr-bpe-8k), or 'self'")
    p.add_argument("--method", required=True, choices=METHODS.names(), help="initialisation of new tokens")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: the tokbench cache)")
    p.add_argument("--force", action="store_true", help="replace an existing --out directory")
    p.add_argument("--k", type=int, metavar="K", help=f"hybrid: neighbours of the global estimate (default {h['k']})")
    p.add_argument("--temperature", type=float, metavar="TAU",
                   help=f"hybrid: softmax temperature over neighbour cosines (default {h['temperature']})")
    p.add_argument("--mix", type=float, metavar="W",
                   help=f"hybrid: weight of the global estimate (default {h['mix']})")
    p.add_argument("--length-weighted", action="store_true",
                   help="subword/hybrid: weight old pieces by their byte length instead of equally")
    p.set_defaults(func=cmd_transplant)


def _params(args) -> dict:
    params = {}
    for name in ("k", "temperature", "mix"):
        v = getattr(args, name)
        if v is not None:
            params[name] = v
    if args.length_weighted:
        params["length_weighted"] = True
    return params


def cmd_transplant(args) -> int:
    import json

    from ..lm.models import ModelError
    from .build import META_FILE, TransplantError, build_atomic, cache_key, ensure_transplant
    from .methods import MethodError, normalise_params

    params = _params(args)
    try:
        params = normalise_params(args.method, params)
    except MethodError as e:
        print(f"tokbench: error: {e}", file=sys.stderr)
        return 2
    try:
        if args.out is None:
            out = ensure_transplant(args.model, args.tokenizer, args.method, params)
            meta = json.loads((out / META_FILE).read_text())
        else:
            out = args.out
            if out.exists() and any(out.iterdir()) and not args.force:
                print(f"tokbench: error: {out} exists and is not empty (use --force to replace it)", file=sys.stderr)
                return 2
            key, parts = cache_key(args.model, args.tokenizer, args.method, params)
            meta = build_atomic(args.model, args.tokenizer, args.method, params, out, key=key, key_parts=parts,
                                force=True, log=lambda m: print(m, file=sys.stderr))
    except (ValueError, FileNotFoundError, ModelError) as e:
        print(f"tokbench: error: {e}", file=sys.stderr)
        return 2
    except TransplantError as e:
        print(f"tokbench: error: transplant failed: {e}", file=sys.stderr)
        return 1
    c = meta["counts"]
    print(f"{out}\n  {args.model} -> {args.tokenizer} ({args.method} {json.dumps(meta['params'])}): "
          f"{c['target_ids']} ids, {c['shared']} shared, {c['new']} new, {c['special_matched']} special matched, "
          f"{c['special_unmatched']} special + {c['unused_ids']} unused set to the mean row")
    return 0
