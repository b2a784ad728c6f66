"""Domain corpora: real text of one domain each (code, legal, technical prose, LaTeX, configuration).

A suite's ``[corpora.NAME]`` with ``source = "domain"`` loads the domains named in ``langs``
(default: all; :func:`tokbench.corpora.load_domains`) from ``tokbench/registry/domains.toml``. Each domain is a language tag (a BCP 47
tag with a private-use subtag naming the domain: ``zxx-x-python``, ``en-x-legal``) and a set of
files inside one pinned package archive (``assets.toml``, ``member = "*"``: the archive's
sha256 pins every file in it). One document per file, keyed by its path in the archive, chosen
deterministically: globs in order, matches sorted, a file kept while it fits the byte budget.
``en`` (``source = "udhr"``) is the general-English reference of the domain premium: the UDHR's
English articles. Nothing is generated, and the corpus hash covers every document's text.

>>> sorted(domain_specs())[:3]
['en', 'en-x-latex', 'en-x-legal']
"""
from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

DOMAINS_TOML = Path(__file__).parent / "registry" / "domains.toml"
DOMAIN_VERSION = 1  # bump when the selection rule changes: cached domain corpora are rebuilt
_FIELDS = {"source", "asset", "members", "exclude", "json_field", "max_bytes", "description"}


@dataclass(frozen=True)
class DomainSpec:
    lang: str
    description: str
    source: str = "asset"  # "asset" | "udhr"
    asset: str = ""
    members: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    json_field: str | None = None
    max_bytes: int = 300_000


@functools.lru_cache(maxsize=None)
def domain_specs(path: Path = DOMAINS_TOML) -> dict[str, DomainSpec]:
    """The domains of ``domains.toml`` by language tag (CorpusError naming the entry if malformed)."""
    from .langtags import check_lang_tag

    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    out = {}
    for lang, entry in raw.items():
        unknown = set(entry) - _FIELDS
        if unknown:
            raise CorpusError(f"{path}: domain [{lang}] has unknown field(s) {sorted(unknown)}")
        check_lang_tag(lang, where=f"{path}: domain [{lang}]")
        source = entry.get("source", "asset")
        if source not in ("asset", "udhr") or (source == "asset" and not (entry.get("asset") and entry.get("members"))):
            raise CorpusError(f"{path}: domain [{lang}] needs `asset` and `members` (or source = \"udhr\")")
        out[lang] = DomainSpec(lang=lang, description=entry.get("description", ""), source=source,
                               asset=entry.get("asset", ""), members=tuple(entry.get("members", ())),
                               exclude=tuple(entry.get("exclude", ())), json_field=entry.get("json_field"),
                               max_bytes=int(entry.get("max_bytes", 300_000)))
    return out


def archive_files(archive: Path) -> dict[str, bytes]:
    """Every regular file of a wheel/zip or an sdist/npm tarball, by path (a tarball's top folder removed)."""
    out: dict[str, bytes] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    out[info.filename] = zf.read(info)
        return out
    with tarfile.open(archive) as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[m.name.split("/", 1)[-1]] = tf.extractfile(m).read()
    return out


def select_files(files: dict[str, bytes], spec: DomainSpec) -> list[tuple[str, str]]:
    """(path, text) of the domain's documents: ``members`` globs in order, the matches of each
    sorted, excluded globs and already chosen paths skipped; a file is kept if the total still
    fits in ``max_bytes`` (UTF-8 bytes of its text), else skipped. Empty texts are skipped."""
    chosen: list[tuple[str, str]] = []
    seen: set[str] = set()
    total = 0
    for pattern in spec.members:
        for path in sorted(p for p in files if fnmatch.fnmatchcase(p, pattern)):
            if path in seen or any(fnmatch.fnmatchcase(path, x) for x in spec.exclude):
                continue
            seen.add(path)
            text = _text(path, files[path], spec)
            size = len(text.encode("utf-8"))
            if not text.strip() or total + size > spec.max_bytes:
                continue
            chosen.append((path, text))
            total += size
    return chosen


def _text(path: str, data: bytes, spec: DomainSpec) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"domain {spec.lang!r}: {path} in asset {spec.asset!r} is not UTF-8 ({e})") from None
    if spec.json_field:
        try:
            value = json.loads(text)[spec.json_field]
        except (ValueError, KeyError, TypeError) as e:
            raise CorpusError(f"domain {spec.lang!r}: {path} has no string field {spec.json_field!r} ({e})") from None
        text = str(value)
    return text


def domain_records(spec: DomainSpec) -> list[dict]:
    """An asset domain's documents as corpus records (cached per spec and asset hash). The
    ``udhr`` domain is read by :func:`tokbench.corpora.load_domains`."""
    from .assets import cache_dir, fetch, get_spec

    asset = get_spec(spec.asset)
    ident = json.dumps([DOMAIN_VERSION, spec.lang, spec.asset, asset.sha256, spec.members, spec.exclude,
                        spec.json_field, spec.max_bytes])
    out = cache_dir() / "corpora" / f"domain-{hashlib.sha256(ident.encode()).hexdigest()[:24]}.json"
    if out.exists():
        try:
            return json.loads(out.read_text(encoding="utf-8"))
        except ValueError:
            out.unlink(missing_ok=True)
    files = archive_files(fetch(spec.asset))
    docs = select_files(files, spec)
    if not docs:
        raise CorpusError(f"domain {spec.lang!r}: no file of asset {spec.asset!r} matches {list(spec.members)} "
                          f"within {spec.max_bytes} bytes; fix `members` in {DOMAINS_TOML}")
    records = [{"lang": spec.lang, "key": path, "text": text} for path, text in docs]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out)
    return records


__all__ = ["DOMAINS_TOML", "DomainSpec", "archive_files", "domain_records", "domain_specs", "select_files"]
