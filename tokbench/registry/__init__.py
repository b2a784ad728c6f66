"""The tokenizer registry: declarative TOML entries, validated at load time.

Built-in entries live in ``tokenizers.toml`` beside this file. Users add their own in a
TOML file (``--registry FILE``, ``$TOKBENCH_REGISTRY``, or a ``[tokenizers.NAME]`` table in a
suite) or pass a path (``--tokenizer path/to/tokenizer.json``).

Listing the registry imports nothing heavy; backends are imported by ``get_tokenizer``.

>>> spec = get_spec("gpt2")
>>> spec.backend, spec.files["ranks"]
('tiktoken', 'gpt2-tiktoken')
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import json
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

BUILTIN_TOML = Path(__file__).parent / "tokenizers.toml"

# backend -> "module:function" building a Tokenizer; imported lazily
BACKENDS: dict[str, str] = {
    "tiktoken": "tokbench.adapters.tiktoken_adapter:build",
    "tekken": "tokbench.adapters.tiktoken_adapter:build",
    "hf_json": "tokbench.adapters.hf:build_json",
    "transformers": "tokbench.adapters.hf:build_transformers",
    "sentencepiece": "tokbench.adapters.spm:build",
    "gguf": "tokbench.adapters.gguf:build",
    "byte": "tokbench.adapters.byte:build",
}


class RegistryError(ValueError):
    """A registry entry is malformed or unknown. The message names file, entry and fix."""


class TokenizerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    backend: Literal["tiktoken", "tekken", "hf_json", "transformers", "sentencepiece", "gguf", "byte"]
    files: dict[str, str] = {}  # role -> asset name (built-in) ...
    paths: dict[str, str] = {}  # ... or role -> local path (user entries)
    encoding: str | None = None  # tiktoken: OpenAI encoding whose pattern/specials apply
    pattern: str | None = None  # tiktoken: pre-tokenizer regex
    n_special: int = 0  # special ids appended after the ranks (counted in vocab_size)
    hub_id: str | None = None  # for online users (transformers backend)
    gguf_file: str | None = None  # transformers backend: load from a GGUF inside `paths.dir`
    family: str = ""
    description: str = ""
    vectors: str | None = None  # llama.cpp test-vector stem (tests)
    aliases: list[str] = []
    impl: str | None = None  # "module:function" overriding the backend's builder
    source: str = "builtin"  # file the entry came from (set by the loader)

    def fingerprint(self) -> str:
        """sha256 over the backend settings and the content of every file the tokenizer uses."""
        from ..assets import get_spec as asset_spec
        from ..assets import sha256_file

        h = hashlib.sha256()
        settings = self.model_dump(include={"backend", "encoding", "pattern", "n_special", "hub_id", "gguf_file", "impl"})
        h.update(json.dumps(settings, sort_keys=True).encode())
        if self.backend == "gguf":  # the vocabulary is rebuilt from the GGUF: a converter fix is a new tokenizer
            from ..adapters.gguf import CONVERTER_VERSION

            h.update(f"gguf_converter={CONVERTER_VERSION}".encode())
        for role, asset in sorted(self.files.items()):
            h.update(f"{role}={asset_spec(asset).sha256}".encode())
        for role, path in sorted(self.paths.items()):
            p = Path(path)
            digest = sha256_file(p) if p.is_file() else _dir_digest(p) if p.is_dir() else path
            h.update(f"{role}={digest}".encode())
        return h.hexdigest()


def _dir_digest(path: Path) -> str:
    from ..assets import sha256_file

    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".json", ".model", ".txt", ".tiktoken", ".gguf"}:
            h.update(f"{f.relative_to(path)}={sha256_file(f)}".encode())
    return h.hexdigest()


def parse_entries(raw: dict, *, source: str) -> dict[str, TokenizerSpec]:
    """Validate a mapping name -> entry (from TOML), naming file, entry and field on error."""
    out = {}
    base_dir = Path(source).parent if source != "builtin" else None
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise RegistryError(f"{source}: [{name}] must be a table of fields, got {type(entry).__name__}")
        entry = dict(entry)
        reserved = {"name", "source"} & set(entry)
        if reserved:
            raise RegistryError(f"{source}: tokenizer entry [{name}] sets {sorted(reserved)}, which tokbench "
                                "fills in itself (the table name is the tokenizer name); remove the field.")
        if "path" in entry:  # shorthand for user entries: path = "tok.json"
            entry.setdefault("paths", {})[_default_role(entry.get("backend"))] = entry.pop("path")
        if base_dir is not None:
            entry["paths"] = {k: str((base_dir / v).resolve()) if not Path(v).is_absolute() else v
                              for k, v in entry.get("paths", {}).items()}
        try:
            out[name] = TokenizerSpec(name=name, source=str(source), **entry)
        except ValidationError as e:
            problems = "; ".join(f"field `{'.'.join(map(str, err['loc']))}`: {err['msg']}" for err in e.errors())
            raise RegistryError(f"{source}: tokenizer entry [{name}] is invalid: {problems}. "
                                f"Fields are documented in docs/registry.md.") from None
    return out


def _default_role(backend: str | None) -> str:
    return {"tiktoken": "ranks", "tekken": "ranks", "hf_json": "tokenizer", "sentencepiece": "model",
            "gguf": "gguf", "transformers": "dir"}.get(backend or "", "file")


def load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RegistryError(f"registry file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{path}: malformed TOML: {e}") from None


@functools.lru_cache(maxsize=None)
def _builtin() -> dict[str, TokenizerSpec]:
    return parse_entries(load_toml(BUILTIN_TOML), source="builtin")


_user: dict[str, TokenizerSpec] = {}


def add_registry_file(path: str | Path) -> list[str]:
    """Register every tokenizer entry of a user TOML file; returns their names."""
    path = Path(path)
    raw = load_toml(path)
    raw = raw.get("tokenizers", raw)
    specs = parse_entries(raw, source=str(path))
    _user.update(specs)
    return list(specs)


def add_specs(specs: dict[str, TokenizerSpec]) -> None:
    _user.update(specs)


def all_specs() -> dict[str, TokenizerSpec]:
    env = os.environ.get("TOKBENCH_REGISTRY")
    if env and not getattr(all_specs, "_env_loaded", None) == env:
        for f in env.split(os.pathsep):
            if f:
                add_registry_file(f)
        all_specs._env_loaded = env  # type: ignore[attr-defined]
    return {**_builtin(), **_user}


def get_spec(name: str) -> TokenizerSpec:
    specs = all_specs()
    if name in specs:
        return specs[name]
    for spec in specs.values():
        if name in spec.aliases:
            return spec
    close = difflib.get_close_matches(name, list(specs) + [a for s in specs.values() for a in s.aliases], n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise RegistryError(f"unknown tokenizer {name!r}.{hint} `tokbench ls tokenizers` lists them; "
                        "a path to a tokenizer file also works.")


def spec_from_path(path: str | Path) -> TokenizerSpec:
    """Guess the backend of a tokenizer file/dir given on the command line."""
    p = Path(path)
    if not p.exists():
        raise RegistryError(f"tokenizer path does not exist: {p}")
    name = str(path)
    if p.is_dir():
        return TokenizerSpec(name=name, backend="transformers", paths={"dir": str(p.resolve())}, source=name)
    suffix = p.suffix.lower()
    if suffix == ".json":
        backend = "hf_json"
    elif suffix == ".model":
        backend = "sentencepiece"
    elif suffix == ".gguf":
        backend = "gguf"
    else:
        raise RegistryError(f"cannot tell the tokenizer type of {p} from its extension; add a registry entry "
                            "(docs/registry.md) with an explicit backend.")
    return TokenizerSpec(name=name, backend=backend, paths={_default_role(backend): str(p.resolve())}, source=name)


def resolve(name_or_path: str) -> TokenizerSpec:
    try:
        return get_spec(name_or_path)
    except RegistryError:
        if os.sep in name_or_path or Path(name_or_path).exists():
            return spec_from_path(name_or_path)
        raise


def get_tokenizer(name_or_spec: str | TokenizerSpec):
    """Build the tokenizer (fetching its pinned assets on first use).

    >>> tok = get_tokenizer("byt5")
    >>> tok.encode_batch(["hi"])
    [[107, 108]]
    """
    spec = resolve(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    from ..assets import fetch

    files = {role: fetch(asset) for role, asset in spec.files.items()}
    for role, path in spec.paths.items():
        if not Path(path).exists():
            raise RegistryError(f"{spec.source}: tokenizer [{spec.name}] file `{role}` not found: {path}")
        files[role] = Path(path)
    module, func = (spec.impl or BACKENDS[spec.backend]).split(":")
    build = getattr(importlib.import_module(module), func)
    kwargs: dict = {"name": spec.name, "files": files}
    if spec.backend == "tiktoken":
        kwargs.update(encoding=spec.encoding, pattern=spec.pattern, n_special=spec.n_special)
    elif spec.backend == "tekken":
        kwargs.update(tekken=True)
    elif spec.backend == "transformers":
        kwargs.update(hub_id=spec.hub_id, gguf_file=spec.gguf_file)
    try:
        return build(**kwargs)
    except (OSError, ValueError, RuntimeError) as e:
        raise RegistryError(f"tokenizer [{spec.name}] ({spec.source}) failed to load with backend "
                            f"{spec.backend!r}: {e}") from e
