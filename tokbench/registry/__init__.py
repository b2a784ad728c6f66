"""The tokenizer registry: declarative TOML entries, validated at load time.

Built-in entries live in ``tokenizers.toml`` beside this file. Users add their own in a
TOML file (``--registry FILE``, ``$TOKBENCH_REGISTRY``, or a ``[tokenizers.NAME]`` table in a
suite) or pass a path (``--tokenizer path/to/tokenizer.json``).

Plug-in packages add registry TOMLs through the ``tokbench.registries`` entry-point group.

A backend is a :class:`tokbench.adapters.base.Backend` record in :data:`BACKENDS` (built-ins in
``tokbench/adapters``; plug-ins through ``tokbench.backends``): its builder, the role of the
``path`` shorthand, the file suffixes it claims, the entry fields its builder takes and any
extra fingerprint strings. Listing the registry imports nothing heavy; a backend's module is
imported when a record is needed, its library by ``get_tokenizer``.

>>> spec = get_spec("gpt2")
>>> spec.backend, spec.files["ranks"]
('tiktoken', 'gpt2-tiktoken')
"""
from __future__ import annotations

from ..errors import BadInput

import difflib
import functools
import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..adapters import BACKENDS as _BACKENDS
from ..plugins import GROUPS, UnknownName, load_object

BUILTIN_TOML = Path(__file__).parent / "tokenizers.toml"

NORMALIZE_FORMS = ("NFC", "NFKC", "NFD", "NFKD")  # the `normalize` field (tokbench/adapters/normalize.py)

# backend name -> Backend record (tokbench/adapters/*.py; plug-ins: the tokbench.backends group)
BACKENDS = _BACKENDS


class RegistryError(BadInput, ValueError):
    """A registry entry is malformed or unknown. The message names file, entry and fix."""


class TokenizerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    backend: str  # a name in BACKENDS
    files: dict[str, str] = {}  # role -> asset name (built-in) ...
    paths: dict[str, str] = {}  # ... or role -> local path (user entries)
    encoding: str | None = None  # tiktoken: OpenAI encoding whose pattern/specials apply
    pattern: str | None = None  # tiktoken: pre-tokenizer regex
    n_special: int = 0  # special ids appended after the ranks (counted in vocab_size)
    hub_id: str | None = None  # for online users (transformers backend)
    gguf_file: str | None = None  # transformers backend: load from a GGUF inside `paths.dir`
    normalize: str | None = None  # Unicode form applied before encoding ("NFC" ...; adapters/normalize.py)
    family: str = ""
    description: str = ""
    vectors: str | None = None  # llama.cpp test-vector stem (tests)
    aliases: list[str] = []
    impl: str | None = None  # "module:function" overriding the backend's builder
    object: str | None = None  # python backend: "module:attr" (or "path/file.py:attr") of the tokenizer object
    source: str = "builtin"  # file the entry came from (set by the loader)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        try:
            return BACKENDS.canonical(v)
        except UnknownName as e:
            hint = str(e).partition("; ")[2]
            hint = f"{hint} " if hint.startswith("did you mean") else ""
            raise ValueError(f"unknown tokenizer backend {v!r}; {hint}known backends: "
                             f"{', '.join(BACKENDS.names())}") from None

    @model_validator(mode="after")
    def _object_for_python(self) -> "TokenizerSpec":
        if (self.backend == "python") != (self.object is not None):
            raise ValueError("`object = \"module:attr\"` is required with backend = \"python\" and allowed only "
                             "with it (docs/registry.md#python-tokenizers)")
        return self

    @field_validator("normalize")
    @classmethod
    def _known_form(cls, v: str | None) -> str | None:
        if v is not None and v not in NORMALIZE_FORMS:
            raise ValueError(f"unknown Unicode normalisation form {v!r}; use one of {', '.join(NORMALIZE_FORMS)}")
        return v

    def backend_record(self):
        """The :class:`~tokbench.adapters.base.Backend` record of this entry's backend."""
        return BACKENDS.get(self.backend)

    def fingerprint(self) -> str:
        """sha256 over the backend settings and the content of every file the tokenizer uses."""
        from ..assets import get_spec as asset_spec
        from ..assets import sha256_file

        h = hashlib.sha256()
        settings = self.model_dump(include={"backend", "encoding", "pattern", "n_special", "hub_id", "gguf_file", "impl"})
        h.update(json.dumps(settings, sort_keys=True).encode())
        if self.normalize:  # only when set, so entries without it keep their hash
            h.update(f"normalize={self.normalize}".encode())
        for extra in self.backend_record().fingerprint_strings(self):  # gguf: the converter version
            h.update(extra.encode())
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
    """The file role of the ``path = "..."`` shorthand (an unknown backend fails validation later)."""
    if not backend or backend not in BACKENDS:
        return "file"
    return BACKENDS.get(backend).default_role


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


def _entry_point_path(origin: str, obj: Any) -> Path:
    if callable(obj) and not isinstance(obj, (str, os.PathLike)):
        try:
            obj = obj()
        except Exception as e:
            raise RegistryError(f"{origin}: calling it failed: {type(e).__name__}: {e}") from e
    if not isinstance(obj, (str, os.PathLike)):
        raise RegistryError(f"{origin} gives {type(obj).__name__}, not the path of a tokenizer registry TOML "
                            "(or a callable returning one)")
    return Path(obj)


@functools.lru_cache(maxsize=None)
def _plugin_specs() -> dict[str, TokenizerSpec]:
    """Every tokenizer entry of the registry TOMLs named by the ``tokbench.registries`` group."""
    from importlib.metadata import entry_points

    out: dict[str, TokenizerSpec] = {}
    owner: dict[str, str] = {}
    builtin = _builtin()
    for ep in entry_points(group=GROUPS["registries"]):
        origin = f"entry point {GROUPS['registries']}:{ep.name} = {ep.value}"
        try:
            obj = ep.load()
        except Exception as e:
            raise RegistryError(f"{origin} failed to load: {type(e).__name__}: {e}") from e
        path = _entry_point_path(origin, obj)
        try:
            raw = load_toml(path)
            specs = parse_entries(raw.get("tokenizers", raw), source=str(path))
        except RegistryError as e:
            raise RegistryError(f"{origin}: {e}") from None
        for name in specs:
            if name in builtin or name in out:
                other = "a built-in tokenizer" if name in builtin else owner[name]
                raise RegistryError(f"{origin}: tokenizer [{name}] in {path} is already defined by {other}; "
                                    "rename it.")
            owner[name] = origin
        out.update(specs)
    return out


def reload_plugins() -> None:
    """Read the ``tokbench.registries`` and ``tokbench.backends`` groups again (after installing a
    plug-in in a running process)."""
    BACKENDS.reload_plugins()
    _plugin_specs.cache_clear()


def all_specs() -> dict[str, TokenizerSpec]:
    """Built-in entries, then those of plug-in registries (``tokbench.registries`` entry points),
    then user files (``TOKBENCH_REGISTRY``, ``--registry``, suite tables); later ones win."""
    env = os.environ.get("TOKBENCH_REGISTRY")
    if env and not getattr(all_specs, "_env_loaded", None) == env:
        for f in env.split(os.pathsep):
            if f:
                add_registry_file(f)
        all_specs._env_loaded = env  # type: ignore[attr-defined]
    return {**_builtin(), **_plugin_specs(), **_user}


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
    records = BACKENDS.values()
    if p.is_dir():
        backend = next((r for r in records if r.handles_dirs), None)
        what = "a directory"
    else:
        backend = next((r for r in records if p.suffix.lower() in r.suffixes), None)
        what = f"a {p.suffix or 'suffix-less'} file"
    if backend is None:
        known = ", ".join(sorted({s for r in records for s in r.suffixes if s != "/"}))
        raise RegistryError(f"cannot tell the tokenizer type of {p} ({what}) from its extension (known: {known}); "
                            "add a registry entry (docs/registry.md) with an explicit backend.")
    return TokenizerSpec(name=name, backend=backend.name, paths={backend.default_role: str(p.resolve())}, source=name)


def resolve(name_or_path: str) -> TokenizerSpec:
    if name_or_path.startswith("py:"):  # a Python object: py:MODULE:ATTR (tokbench.adapters.python)
        module, _, attr = name_or_path[3:].rpartition(":")
        if not module or not attr:
            raise RegistryError(f"--tokenizer {name_or_path}: {name_or_path[3:]!r} is not MODULE:ATTR (e.g. "
                                "`py:mypkg.tok:MyTokenizer` or `py:path/to/tok.py:MyTokenizer`)")
        return TokenizerSpec(name=name_or_path, backend="python", object=name_or_path[3:], source=name_or_path,
                             family="python", description="a Python tokenizer object")
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
    record = spec.backend_record()
    try:
        build = load_object(spec.impl) if spec.impl else record.build_function()
        kwargs: dict = {"name": spec.name, "files": files, **record.builder_kwargs(spec)}
    except (ImportError, AttributeError, ValueError) as e:
        raise RegistryError(f"tokenizer [{spec.name}] ({spec.source}): cannot find the builder of backend "
                            f"{spec.backend!r} ({spec.impl or record.builder}): {e}") from e
    try:
        tok = build(**kwargs)
    except (OSError, ValueError, RuntimeError) as e:
        raise RegistryError(f"tokenizer [{spec.name}] ({spec.source}) failed to load with backend "
                            f"{spec.backend!r}: {e}") from e
    if spec.normalize:
        from ..adapters.normalize import apply_normalization

        tok = apply_normalization(tok, spec.normalize)
    return tok
