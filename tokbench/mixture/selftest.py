"""Categories (files/globs or UDHR languages, with a byte budget) and the self-test: train
byte-level BPE tokenizers on known random mixtures of real text and infer the mixture back
(docs/mixture.md).

A categories TOML::

    [categories.python]
    files = ["/usr/lib/python3*/**/*.py"]   # globs; .gz files are decompressed
    bytes = 300000                          # the sample's byte budget
    [categories.russian]
    udhr = ["ru"]                           # UDHR articles of these languages, pooled
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import json
import random
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import BadInput

SEED = 0


class CategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = []
    udhr: list[str] = []
    bytes: int = Field(1_000_000, ge=1)


def parse_categories(raw: dict, where: str) -> dict[str, CategorySpec]:
    cats = raw.get("categories") if isinstance(raw, dict) else None
    if not isinstance(cats, dict) or len(cats) < 2:
        raise BadInput(f"{where}: needs a [categories.NAME] table for at least two categories")
    out = {}
    for name, spec in cats.items():
        try:
            s = CategorySpec.model_validate(spec)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            raise BadInput(f"{where}: [categories.{name}]: {problems}") from None
        if not (s.files or s.udhr):
            raise BadInput(f"{where}: [categories.{name}] names no `files` and no `udhr` languages")
        out[name] = s
    return out


def read_categories(path: Path | str) -> dict[str, CategorySpec]:
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise BadInput(f"categories file not found: {p}")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{p}: not valid TOML: {e}") from None
    return parse_categories(raw, str(p))


def _read(path: str) -> str:
    data = Path(path).read_bytes()
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except OSError:
            return ""
    return data.decode("utf-8", errors="replace")


def _files(name: str, spec: CategorySpec) -> list[str]:
    out = []
    for pattern in spec.files:
        hits = sorted(h for h in glob.glob(pattern, recursive=True) if Path(h).is_file())
        if not hits:
            raise BadInput(f"category {name!r}: no file matches {pattern!r}")
        out += hits
    return list(dict.fromkeys(out))


def category_docs(name: str, spec: CategorySpec, budget: int | None = None, seed: int = SEED) -> list[str]:
    """The category's documents in a seeded order, up to ``budget`` bytes (default the spec's);
    the last one cut to fit. BadInput if there is no text."""
    budget = spec.bytes if budget is None else budget
    docs: list[str] = []
    if spec.udhr:
        from ..corpora import load_udhr

        c = load_udhr(langs=list(spec.udhr))
        docs += [t for t in c.text if t]
    files = _files(name, spec)
    random.Random(seed).shuffle(files)
    out, used, fi = [], 0, 0
    random.Random(seed).shuffle(docs)
    pending = docs
    while used < budget:
        if pending:
            text = pending.pop()
        elif fi < len(files):
            text, fi = _read(files[fi]), fi + 1
        else:
            break
        if not text:
            continue
        b = text.encode("utf-8")
        if used + len(b) > budget:
            text = b[: budget - used].decode("utf-8", errors="ignore")
            b = text.encode("utf-8")
        out.append(text)
        used += len(b)
    if used == 0:
        raise BadInput(f"category {name!r}: no text (empty files)")
    return out


def categories_hash(cats: dict[str, CategorySpec], samples: dict[str, list[str]]) -> str:
    h = hashlib.sha256()
    for name in sorted(cats):
        h.update(json.dumps([name, cats[name].model_dump()], sort_keys=True).encode())
        for d in samples[name]:
            h.update(hashlib.sha256(d.encode("utf-8")).digest())
    return h.hexdigest()


# local text of five kinds with at least ~17 MB each on a Debian machine with Python, C headers, Perl
DEFAULT_CATEGORIES = {
    "python": CategorySpec(files=["/usr/lib/python3*/**/*.py"]),
    "c": CategorySpec(files=["/usr/include/**/*.h"]),
    "man-en": CategorySpec(files=["/usr/share/man/man[1-8]/*.gz"]),
    "perl": CategorySpec(files=["/usr/share/perl/**/*.pm", "/usr/share/perl5/**/*.pm", "/usr/lib/*/perl/**/*.pm"]),
    "changelog": CategorySpec(files=["/usr/share/doc/*/changelog*.gz"]),
}


def _take(docs: list[str], budget: int) -> list[str]:
    out, used = [], 0
    for d in docs:
        if used >= budget:
            break
        b = d.encode("utf-8")[: budget - used]
        out.append(b.decode("utf-8", errors="ignore"))
        used += len(b)
    return out


def _chunks(text: str, size: int) -> list[str]:
    out, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        n += len(line)
        if n >= size:
            out.append("".join(cur))
            cur, n = [], 0
    if cur:
        out.append("".join(cur))
    return out


def train_bpe(texts: list[str], merges: int):
    """A GPT-2-style byte-level BPE (HF ``tokenizers``) with ``merges`` merges, trained on texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + merges, initial_alphabet=alphabet,
                                  show_progress=False, min_frequency=1)
    tk.train_from_iterator(texts, trainer=trainer)
    return tk


def self_test(cats: dict[str, CategorySpec] | None = None, *, n_cats: int | None = None, seeds: int = 3,
              merges: int = 1000, train_bytes: int = 4_000_000, sample_bytes: int = 2_000_000, k: int = 30, chunk: int = 2000,
              log=print) -> dict:
    """Per seed: draw ``alpha ~ Dirichlet(1)``, train a BPE on ``alpha_i * train_bytes`` bytes of
    each category's training half, infer from a disjoint sample of ``sample_bytes`` per
    category (the halves: the category's text cut into ~``chunk``-byte pieces at line ends,
    shuffled, alternating), and report the MSE of the inferred byte shares against the true ones."""
    from .merges import from_hf_json
    from .solve import infer

    cats = dict(cats or DEFAULT_CATEGORIES)
    if n_cats:
        cats = dict(list(cats.items())[:n_cats])
    pools = {}
    for name, spec in cats.items():
        docs = category_docs(name, spec, budget=2 * max(train_bytes, sample_bytes))
        held = sum(len(d.encode("utf-8")) for d in docs)
        if held < sample_bytes + 10_000:
            raise BadInput(f"category {name!r}: only {held} bytes of text, fewer than the sample needs")
        # documents cut into ~chunk-byte pieces at line ends, shuffled, every other piece to the
        # inference sample: disjoint halves of one pool, drawn from the same distribution
        pieces = [p for d in docs for p in _chunks(d, chunk)]
        random.Random(SEED).shuffle(pieces)
        pools[name] = (pieces[1::2], pieces[0::2])
    per_seed = []
    for seed in range(seeds):
        t0 = time.time()
        rng = np.random.default_rng(seed)
        alpha = rng.dirichlet(np.ones(len(cats)))
        train: list[str] = []
        used = {}
        for a, (name, (tr, _)) in zip(alpha, pools.items()):
            part = _take(tr, int(round(a * train_bytes)))
            used[name] = sum(len(d.encode("utf-8")) for d in part)
            train += part
        truth = np.array([used[c] for c in cats], dtype=float)
        truth /= truth.sum()
        random.Random(seed).shuffle(train)
        tk = train_bpe(train, merges)
        ml = from_hf_json(f"selftest-{seed}", tokenizer=tk)
        samples = {name: _take(inf, sample_bytes) for name, (_, inf) in pools.items()}
        fit, info = infer(ml, samples, k=k)
        mse = float(np.mean((fit.alpha - truth) ** 2))
        row = {"seed": seed, "truth": truth.round(4).tolist(), "inferred": fit.alpha.round(4).tolist(),
               "mse": mse, "slack": fit.slack, "merges": info["merges"], "unverified": fit.unverified,
               "seconds": round(time.time() - t0, 1)}
        per_seed.append(row)
        log(f"seed {seed}: mse {mse:.2e}  truth {row['truth']}  inferred {row['inferred']}  "
            f"({row['merges']} merges, {row['seconds']}s)")
    mean = float(np.mean([r["mse"] for r in per_seed]))
    log(f"{len(cats)} categories ({', '.join(cats)}), {seeds} seeds, T={merges}, train {train_bytes} bytes, "
        f"sample {sample_bytes} bytes per category: mean MSE {mean:.2e}")
    return {"categories": list(cats), "per_seed": per_seed, "mean_mse": mean}
