"""Tokenizer backends as records (tokbench.adapters.BACKENDS), plug-in registry TOMLs, and the
linguistic / transplant-method registries."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tokbench.adapters import BACKENDS
from tokbench.adapters.base import Backend, BaseTokenizer
from tokbench.registry import RegistryError, add_registry_file, get_tokenizer, parse_entries, spec_from_path

BUILTIN = ["tiktoken", "tekken", "hf_json", "transformers", "sentencepiece", "gguf", "byte"]
HEAVY = ["tiktoken", "sentencepiece", "tokenizers", "transformers", "gguf", "torch"]


def test_builtin_backends_listed_without_heavy_imports():
    code = (
        "import json, sys\n"
        "import tokbench.registry\n"
        "specs = tokbench.registry.all_specs()\n"
        "names = tokbench.registry.BACKENDS.names()\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'names': names, 'heavy': heavy, 'n': len(specs)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["names"][:len(BUILTIN)] == BUILTIN
    assert res["heavy"] == []
    assert res["n"] > 0


def test_backend_records():
    for name in BUILTIN:
        rec = BACKENDS.get(name)
        assert isinstance(rec, Backend) and rec.name == name and rec.description
    assert BACKENDS.get("tiktoken").spec_fields == ("encoding", "pattern", "n_special")
    assert dict(BACKENDS.get("tekken").fixed_kwargs) == {"tekken": True}
    assert BACKENDS.get("transformers").handles_dirs
    assert BACKENDS.get("gguf").fingerprint_strings(None)[0].startswith("gguf_converter=")


def test_spec_from_path_uses_suffixes(tmp_path):
    for suffix, backend, role in ((".json", "hf_json", "tokenizer"), (".model", "sentencepiece", "model"),
                                  (".gguf", "gguf", "gguf")):
        f = tmp_path / f"tok{suffix}"
        f.write_bytes(b"")
        spec = spec_from_path(f)
        assert (spec.backend, list(spec.paths)) == (backend, [role])
    assert spec_from_path(tmp_path).backend == "transformers"
    (tmp_path / "tok.xyz").write_bytes(b"")
    with pytest.raises(RegistryError, match=r"\.gguf"):
        spec_from_path(tmp_path / "tok.xyz")


def test_unknown_backend_in_user_toml(tmp_path):
    f = tmp_path / "reg.toml"
    f.write_text('[tokenizers.mine]\nbackend = "tiktokn"\npath = "x.tiktoken"\n', encoding="utf-8")
    with pytest.raises(RegistryError) as ei:
        add_registry_file(f)
    msg = str(ei.value)
    assert str(f) in msg and "[mine]" in msg and "`backend`" in msg
    assert "did you mean 'tiktoken'" in msg
    assert "sentencepiece" in msg  # the known backends are listed


class _CharTokenizer(BaseTokenizer):
    """One id per character of a fixed alphabet read from a file (the test plug-in backend)."""

    def __init__(self, *, name: str, alphabet: str, shout: bool):
        self.name = name
        self.alphabet = alphabet.upper() if shout else alphabet
        self.vocab_size = len(self.alphabet)

    def encode_batch(self, texts):
        return [[self.alphabet.index(c) for c in t] for t in texts]

    def decode(self, ids):
        return "".join(self.alphabet[i] for i in ids)

    def token_bytes(self, token_id):
        return self.alphabet[token_id].encode()


def _build_chars(*, name: str, files: dict[str, Path], family: str, shout: bool = False) -> _CharTokenizer:
    alphabet = files["alphabet"].read_text(encoding="utf-8").strip()
    assert family == "toy"  # a spec field passed through spec_fields
    return _CharTokenizer(name=name, alphabet=alphabet, shout=shout)


def _extra(spec) -> list[str]:
    return ["chars-v1"]


def test_runtime_backend_builds_from_user_toml(tmp_path):
    rec = Backend("test_chars", _build_chars, default_role="alphabet", suffixes=(".alphabet",),
                  spec_fields=("family",), fixed_kwargs={"shout": True}, fingerprint_extra=_extra,
                  description="test: one id per character")
    BACKENDS.add(rec.name, rec)
    try:
        (tmp_path / "abc.alphabet").write_text("abc\n", encoding="utf-8")
        f = tmp_path / "reg.toml"
        f.write_text('[tokenizers.chars]\nbackend = "test_chars"\npath = "abc.alphabet"\nfamily = "toy"\n',
                     encoding="utf-8")
        spec = parse_entries({"chars": {"backend": "test_chars", "path": "abc.alphabet", "family": "toy"}},
                             source=str(f))["chars"]
        assert spec.paths == {"alphabet": str((tmp_path / "abc.alphabet").resolve())}
        tok = get_tokenizer(spec)
        assert tok.name == "chars" and tok.vocab_size == 3
        assert tok.encode_batch(["CAB"]) == [[2, 0, 1]]
        assert spec.fingerprint() != spec.model_copy(update={"backend": "hf_json"}).fingerprint()
        assert spec_from_path(tmp_path / "abc.alphabet").backend == "test_chars"
        # the same entry through a user registry file
        assert add_registry_file(f) == ["chars"]
        assert get_tokenizer("chars").decode([0, 1]) == "AB"
    finally:
        BACKENDS.remove(rec.name)
        from tokbench import registry

        registry._user.pop("chars", None)
    assert "test_chars" not in BACKENDS


def test_registry_toml_entry_points(tmp_path, monkeypatch):
    """A ``tokbench.registries`` entry point (path or callable) adds its TOML's tokenizers."""
    import importlib.metadata as md

    from tokbench import registry

    toml = tmp_path / "plug.toml"
    toml.write_text('[tokenizers.plug-byte]\nbackend = "byte"\ndescription = "from a plug-in"\n', encoding="utf-8")

    class EP:
        def __init__(self, name, obj):
            self.name, self.value, self._obj = name, f"plugpkg:{name}", obj

        def load(self):
            return self._obj

    def fake(eps):
        def entry_points(*, group=None, **kw):
            return eps if group == "tokbench.registries" else []
        return entry_points

    try:
        monkeypatch.setattr(md, "entry_points", fake([EP("reg", lambda: toml)]))
        registry._plugin_specs.cache_clear()
        specs = registry.all_specs()
        assert specs["plug-byte"].source == str(toml) and specs["plug-byte"].description == "from a plug-in"
        assert get_tokenizer("plug-byte").encode_batch(["a"]) == [[100]]

        bad = tmp_path / "bad.toml"
        bad.write_text('[tokenizers.x]\nbackend = "nope"\n', encoding="utf-8")
        monkeypatch.setattr(md, "entry_points", fake([EP("broken", str(bad))]))
        registry._plugin_specs.cache_clear()
        with pytest.raises(RegistryError, match=r"entry point tokbench\.registries:broken.*\[x\]"):
            registry.all_specs()
        monkeypatch.setattr(md, "entry_points", fake([EP("clash", str(toml)), EP("clash2", str(toml))]))
        registry._plugin_specs.cache_clear()
        with pytest.raises(RegistryError, match="clash2.*already defined by entry point tokbench.registries:clash "):
            registry.all_specs()
    finally:
        monkeypatch.undo()
        registry._plugin_specs.cache_clear()
    assert "plug-byte" not in registry.all_specs()


def test_linguistic_registry(tmp_path):
    from tokbench.linguistic import LINGUISTIC, BackendUnavailable, get_backend

    assert {"zemberek", "hunspell", "wordfreq", "file"} <= set(LINGUISTIC.names())
    with pytest.raises(BackendUnavailable, match="did you mean 'wordfreq'"):
        get_backend("wordfrq", "en")
    f = tmp_path / "roots.txt"
    f.write_text("kitap\n-lar\n", encoding="utf-8")
    assert get_backend(f"file:{f}", "tr").is_morpheme("lar")

    class Toy:
        name, version, has_words, has_morphemes = "toy", "1", True, False

        def __init__(self, arg):
            self.words = set((arg or "").split(","))

        def is_word(self, s):
            return s in self.words

        def is_morpheme(self, s):
            return False

    LINGUISTIC.add("toy", lambda lang, arg, min_zipf: Toy(arg))
    try:
        b = get_backend("toy:kedi,ev", "tr")
        assert b.is_word("Kedi") and not b.is_word("köpek")
    finally:
        LINGUISTIC.remove("toy")


def test_transplant_methods_registry():
    from tokbench.transplant import METHODS, normalise_params

    assert METHODS.names() == ["mean", "subword", "hybrid"]
    assert not METHODS.get("mean").uses_pieces and METHODS.get("hybrid").uses_pieces
    assert normalise_params("subword", None) == {"length_weighted": False}
