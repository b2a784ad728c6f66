"""Tokenizers from the vocabulary stored in a GGUF file (llama.cpp's vocab-only files, or a
full model GGUF such as Gemma-3-270M).

``tokenizer.ggml.model`` says what the vocabulary is:

* ``llama`` (SentencePiece BPE) and ``t5`` (SentencePiece Unigram) are rebuilt as a
  SentencePiece ``ModelProto`` and run by ``sentencepiece`` itself;
* ``gpt2`` (byte-level BPE) is rebuilt as a ``tokenizers`` BPE with the pre-tokenizer
  regexes llama.cpp applies for the file's ``tokenizer.ggml.pre``.

The rebuilt file is cached under the tokbench cache, keyed by the GGUF's sha256, so the
(possibly large) GGUF is parsed once. Exactness is checked against llama.cpp's own test
vectors in tests/test_tokenizers_exact.py.
"""
from __future__ import annotations

from pathlib import Path

from ..assets import derived_path, sha256_file
from .base import Backend

_GPT2_RX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_LLAMA3_RX = (r"""(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
              r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
# Sequential pre-tokenizer regexes per tokenizer.ggml.pre, as llama.cpp's llama-vocab.cpp applies them.
PRE_REGEXES: dict[str | None, list[str]] = {
    None: [_GPT2_RX], "default": [_GPT2_RX], "gpt-2": [_GPT2_RX], "mpt": [_GPT2_RX], "olmo": [_GPT2_RX],
    "starcoder": [r"\p{N}", _GPT2_RX], "refact": [r"\p{N}", _GPT2_RX],
    "command-r": [r"\p{N}", _GPT2_RX], "smollm": [r"\p{N}", _GPT2_RX],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", _GPT2_RX, r"[0-9][0-9][0-9]"],
    "llama3": [_LLAMA3_RX], "llama-bpe": [_LLAMA3_RX],
}

_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6


# GGUF metadata value types (gguf.GGUFValueType)
_NUMERIC = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1", 10: "<u8",
            11: "<i8", 12: "<f8"}
_STRING, _ARRAY = 8, 9


def read_metadata(path: Path, *, prefix: str = "") -> dict:
    """The key/value metadata of a GGUF file (v2/v3), without its tensors.

    Strings come back as ``str``, numeric arrays as numpy arrays, string arrays as lists.
    Only keys starting with ``prefix`` are decoded. A small reader of our own: the ``gguf``
    package's reader builds one numpy view per array element, which takes tens of seconds
    on a 250k-token vocabulary; this one reads it in well under a second.
    """
    import mmap
    import struct

    import numpy as np

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm[:4] != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        version, _n_tensors, n_kv = struct.unpack_from("<IQQ", mm, 4)
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version} is not supported (2 and 3 are)")
        pos = 24
        u64 = struct.Struct("<Q")

        def string(pos: int) -> tuple[bytes, int]:
            (n,) = u64.unpack_from(mm, pos)
            return mm[pos + 8:pos + 8 + n], pos + 8 + n

        def value(vtype: int, pos: int, keep: bool):
            if vtype == _STRING:
                raw, pos = string(pos)
                return (raw.decode("utf-8") if keep else None), pos
            if vtype in _NUMERIC:
                dt = np.dtype(_NUMERIC[vtype])
                return (np.frombuffer(mm, dt, 1, pos)[0].item() if keep else None), pos + dt.itemsize
            if vtype == _ARRAY:
                etype, count = struct.unpack_from("<IQ", mm, pos)
                pos += 12
                if etype in _NUMERIC:
                    dt = np.dtype(_NUMERIC[etype])
                    arr = np.frombuffer(mm, dt, count, pos).copy() if keep else None
                    return arr, pos + dt.itemsize * count
                if etype == _STRING:
                    out = []
                    for _ in range(count):
                        (n,) = u64.unpack_from(mm, pos)
                        if keep:
                            out.append(mm[pos + 8:pos + 8 + n].decode("utf-8", errors="surrogatepass"))
                        pos += 8 + n
                    return (out if keep else None), pos
                out = []
                for _ in range(count):
                    v, pos = value(etype, pos, keep)
                    out.append(v)
                return (out if keep else None), pos
            raise ValueError(f"{path}: unknown GGUF value type {vtype}")

        meta = {}
        for _ in range(n_kv):
            raw_key, pos = string(pos)
            key = raw_key.decode("utf-8")
            (vtype,) = struct.unpack_from("<I", mm, pos)
            keep = key.startswith(prefix)
            v, pos = value(vtype, pos + 4, keep)
            if keep:
                meta[key] = v
        return meta


def _tokenizer_meta(path: Path) -> dict:
    return read_metadata(path, prefix="tokenizer.")


def gguf_kind(path: Path) -> str:
    return _tokenizer_meta(path).get("tokenizer.ggml.model")


def spm_proto_from_gguf(path: Path) -> bytes:
    """A serialized SentencePiece ModelProto rebuilt from a llama/t5 GGUF vocabulary."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    meta = _tokenizer_meta(path)
    kind = meta.get("tokenizer.ggml.model")
    if kind not in ("llama", "t5"):
        raise ValueError(f"{path}: tokenizer.ggml.model is {kind!r}, not a SentencePiece vocabulary")
    tokens = meta["tokenizer.ggml.tokens"]
    scores = meta.get("tokenizer.ggml.scores")
    scores = scores.tolist() if scores is not None else [0.0] * len(tokens)
    types = meta.get("tokenizer.ggml.token_type")
    types = types.tolist() if types is not None else [_NORMAL] * len(tokens)
    m = pb.ModelProto()
    seen_unknown = False
    for tok, score, typ in zip(tokens, scores, types):
        piece = m.pieces.add()
        piece.piece, piece.score = tok, float(score)
        if typ == _UNKNOWN:
            # sentencepiece allows one UNK piece; further ones become user-defined
            piece.type = pb.ModelProto.SentencePiece.USER_DEFINED if seen_unknown else pb.ModelProto.SentencePiece.UNKNOWN
            seen_unknown = True
        else:
            piece.type = typ
            if typ == pb.ModelProto.SentencePiece.USER_DEFINED and " " in tok:
                # llama.cpp matches user-defined tokens in the raw text, so Gemma's "  " (two
                # spaces) matches a run of spaces; sentencepiece matches them after whitespace
                # became "▁", so the piece is written in that form
                piece.piece = tok.replace(" ", "\u2581")
    spec = m.trainer_spec
    spec.model_type = pb.TrainerSpec.BPE if kind == "llama" else pb.TrainerSpec.UNIGRAM
    spec.vocab_size = len(tokens)
    spec.byte_fallback = _BYTE in types
    spec.unk_id = int(meta.get("tokenizer.ggml.unknown_token_id", 0))
    spec.bos_id = int(meta.get("tokenizer.ggml.bos_token_id", -1))
    spec.eos_id = int(meta.get("tokenizer.ggml.eos_token_id", -1))
    spec.pad_id = int(meta.get("tokenizer.ggml.padding_token_id", -1))
    # llama.cpp's SPM tokenizer merges over the whole text by piece score, never splitting at
    # whitespace first, so runs of spaces become "▁▁" pieces (Gemma) and a piece may end in "▁"
    spec.split_by_whitespace = False
    norm = m.normalizer_spec
    charsmap = meta.get("tokenizer.ggml.precompiled_charsmap")
    if charsmap is not None:
        norm.name = "nmt_nfkc"
        norm.precompiled_charsmap = bytes(bytearray(int(x) & 0xFF for x in charsmap))  # stored as u8 or i8
    else:
        norm.name = "identity"
    norm.add_dummy_prefix = bool(meta.get("tokenizer.ggml.add_space_prefix", True))
    norm.remove_extra_whitespaces = bool(meta.get("tokenizer.ggml.remove_extra_whitespaces", False))
    norm.escape_whitespaces = True
    return m.SerializeToString()


def hf_bpe_from_gguf(path: Path):
    """A ``tokenizers.Tokenizer`` (byte-level BPE) rebuilt from a gpt2-type GGUF vocabulary."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    meta = _tokenizer_meta(path)
    kind = meta.get("tokenizer.ggml.model")
    if kind != "gpt2":
        raise ValueError(f"{path}: tokenizer.ggml.model is {kind!r}, not a byte-level BPE (gpt2)")
    pre = meta.get("tokenizer.ggml.pre")
    if pre not in PRE_REGEXES:
        raise ValueError(f"{path}: no pre-tokenizer known for tokenizer.ggml.pre = {pre!r}; "
                         f"known: {', '.join(str(k) for k in PRE_REGEXES)}")
    tokens = meta["tokenizer.ggml.tokens"]
    types = meta.get("tokenizer.ggml.token_type")
    types = types.tolist() if types is not None else [_NORMAL] * len(tokens)
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    vocab = {t: i for i, t in enumerate(tokens)}
    tk = Tokenizer(models.BPE(vocab, merges, ignore_merges=False))
    splits = [pre_tokenizers.Split(Regex(rx), behavior="isolated") for rx in PRE_REGEXES[pre]]
    tk.pre_tokenizer = pre_tokenizers.Sequence(splits + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == _CONTROL])
    tk.add_tokens([AddedToken(t, normalized=False) for t, ty in zip(tokens, types) if ty == _USER_DEFINED])
    return tk


# Bump when a conversion changes (regexes, piece types ...) so stale rebuilt files are not reused.
CONVERTER_VERSION = "5"


def _digest(path: Path) -> str:
    """sha256 of ``path``, reusing the stamp the asset fetcher leaves beside verified files."""
    stamp = path.with_name(path.name + ".sha256")
    try:
        sha, size, mtime = stamp.read_text().split()
        st = path.stat()
        if int(size) == st.st_size and int(mtime) == st.st_mtime_ns and len(sha) == 64:
            return sha
    except (OSError, ValueError):
        pass
    return sha256_file(path)


def build(*, name: str, files: dict[str, Path], **_: object):
    """A tokbench tokenizer from a GGUF vocabulary (conversion cached by the GGUF's hash).

    Parsing a GGUF with a large vocabulary takes seconds, so a cached conversion is used
    without opening the GGUF at all.
    """
    src = Path(files["gguf"])
    digest = _digest(src)
    spm_out = derived_path("gguf-spm", digest, CONVERTER_VERSION, suffix=".model")
    bpe_out = derived_path("gguf-bpe", digest, CONVERTER_VERSION, suffix=".json")
    if spm_out.exists():
        kind = "llama"
    elif bpe_out.exists():
        kind = "gpt2"
    else:
        kind = gguf_kind(src)
    if kind in ("llama", "t5"):
        from .spm import SentencePieceTokenizer

        if not spm_out.exists():
            tmp = spm_out.with_suffix(".tmp")
            tmp.write_bytes(spm_proto_from_gguf(src))
            tmp.replace(spm_out)
        return SentencePieceTokenizer(name=name, model_file=spm_out)
    if kind == "gpt2":
        from .hf import HFJsonTokenizer

        if not bpe_out.exists():
            tmp = bpe_out.with_suffix(".tmp")
            hf_bpe_from_gguf(src).save(str(tmp))
            tmp.replace(bpe_out)
        return HFJsonTokenizer(name=name, tokenizer_file=bpe_out)
    raise ValueError(f"tokenizer {name!r}: GGUF vocabulary type {kind!r} is not supported (llama, t5, gpt2 are)")


def fingerprint_extra(spec) -> list[str]:
    """The vocabulary is rebuilt from the GGUF: a converter fix is a new tokenizer."""
    return [f"gguf_converter={CONVERTER_VERSION}"]


GGUF = Backend("gguf", "tokbench.adapters.gguf:build", default_role="gguf", suffixes=(".gguf",),
               fingerprint_extra=fingerprint_extra, hf_export="gguf",
               description="the vocabulary of a GGUF file, rebuilt for sentencepiece or tokenizers")
