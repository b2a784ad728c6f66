"""Small deterministic tokenizers trained by tokbench, usable as transplant targets
(``--tokenizer trained:NAME``) and anywhere a tokenizer path works (the file is a tokenizer.json).

``tr-bpe-16k`` (and ``tr-bpe-8k``): byte-level BPE (GPT-2 byte alphabet and pre-tokenizer
regex, no normaliser) trained with the ``tokenizers`` library on the Turkish word-frequency
list of ``wordfreq`` (offline, ships with the package): the top ``n_words`` words without
digits (wordfreq writes every digit as 0) of ``wordfreq.get_frequency_dict("tr")``, each
repeated ``max(1, round(freq * scale))`` times as `` word`` (leading space, as inside running
text), plus its Turkish-capitalised form (İ for i, I for ı) at ``cap_share`` of that count
(sentence starts; wordfreq lists are lower-case).

The training data is a word list, not running text, and does not contain UDHR. But wordfreq's
Turkish list is built from large web/Wikipedia/subtitle corpora, so most word types of the UDHR
evaluation text are in it (``word_overlap`` measures the share): the evaluation text is unseen
as text, its vocabulary is not.

The result is cached under ``<cache>/derived/trained-<name>-<key>.json``; the key covers the
recipe, this module's version and the versions of wordfreq and tokenizers.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

TRAIN_VERSION = "1"

RECIPES: dict[str, dict] = {
    "tr-bpe-16k": {"lang": "tr", "vocab_size": 16000, "n_words": 50000, "scale": 1e6, "cap_share": 0.1},
    "tr-bpe-8k": {"lang": "tr", "vocab_size": 8000, "n_words": 50000, "scale": 1e6, "cap_share": 0.1},
}
SPECIAL = "<|endoftext|>"  # id 0; the tokenizer's BOS, EOS and pad


def _versions() -> dict:
    from importlib.metadata import version

    return {"wordfreq": version("wordfreq"), "tokenizers": version("tokenizers")}


def capitalise(word: str, lang: str) -> str:
    if not word:
        return word
    first = word[0]
    if lang in ("tr", "az"):
        first = {"i": "İ", "ı": "I"}.get(first, first.upper())
    else:
        first = first.upper()
    return first + word[1:]


def _top_words(freqs: dict[str, float], n: int) -> list[tuple[str, float]]:
    """The ``n`` most frequent words without digits (wordfreq smashes every digit to 0)."""
    words = [(w, f) for w, f in freqs.items() if not any(ch.isdigit() for ch in w)]
    return sorted(words, key=lambda kv: (-kv[1], kv[0]))[:n]


def word_counts(recipe: dict) -> list[tuple[str, int]]:
    """(pre-token, count) pairs the trainer sees, in a fixed order."""
    import wordfreq

    freqs = wordfreq.get_frequency_dict(recipe["lang"])
    top = _top_words(freqs, recipe["n_words"])
    out = []
    for w, f in top:
        c = max(1, round(f * recipe["scale"]))
        out.append((" " + w, c))
        cap = capitalise(w, recipe["lang"])
        if cap != w and recipe["cap_share"] > 0:
            out.append((" " + cap, max(1, round(c * recipe["cap_share"]))))
    return out


def train(recipe: dict):
    """A ``tokenizers.Tokenizer`` trained on ``word_counts(recipe)``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=recipe["vocab_size"], min_frequency=2, show_progress=False,
                                  special_tokens=[AddedToken(SPECIAL, special=True, normalized=False)],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())

    def lines():
        # each pre-token repeated `count` times, in chunks, so the word counts are exact
        for tok, c in word_counts(recipe):
            while c > 0:
                n = min(c, 4096)
                yield tok * n
                c -= n

    tk.train_from_iterator(lines(), trainer=trainer)
    return tk


def trained_path(name: str) -> Path:
    from ..assets import cache_dir

    if name not in RECIPES:
        raise ValueError(f"unknown trained tokenizer {name!r} (known: {', '.join(RECIPES)})")
    blob = json.dumps({"name": name, "recipe": RECIPES[name], "version": TRAIN_VERSION, **_versions()}, sort_keys=True)
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return cache_dir() / "derived" / f"trained-{name}-{key}.json"


def load_trained(name: str) -> tuple[Path, dict]:
    """(tokenizer.json path, description) of the trained tokenizer ``name``, training it on first use."""
    path = trained_path(name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tk = train(RECIPES[name])
        tmp = path.with_name(path.name + ".tmp")
        tk.save(str(tmp))
        tmp.replace(path)
    info = {"trained": name, "recipe": RECIPES[name], "train_version": TRAIN_VERSION, **_versions(),
            "training_data": f"wordfreq.get_frequency_dict({RECIPES[name]['lang']!r}) top {RECIPES[name]['n_words']} "
                             "words (word list with frequencies, no running text; not UDHR)"}
    return path, info


def word_overlap(texts: list[str], recipe: dict) -> dict:
    """Share of the evaluation texts' words (lower-cased, letters only) that are training words."""
    import re

    import wordfreq

    freqs = wordfreq.get_frequency_dict(recipe["lang"])
    top = {w for w, _ in _top_words(freqs, recipe["n_words"])}
    words = [w for t in texts for w in re.findall(r"[^\W\d_]+", t.replace("I", "ı").replace("İ", "i").lower())]
    inside = sum(w in top for w in words)
    return {"words": len(words), "in_training_list": inside, "share": inside / max(1, len(words)),
            "types": len(set(words)), "types_in_training_list": len(set(words) & top)}
