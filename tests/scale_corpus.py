"""Real-text corpora of a requested size for the corpus-scale benchmarks.

A corpus is a directory of ``.jsonl`` files (``part-00000.jsonl`` ...; about 64 MB each), one
document per line: ``{"text": ..., "source": ...}``, one document per source file of this
machine, never random filler. The material, in this fixed order, each root walked in sorted
order of the relative path:

1. ``stdlib/``: the Python standard library's sources (``sysconfig`` ``stdlib``, without its
   ``site-packages``),
2. ``venv/``: the installed packages' sources (the running interpreter's ``purelib`` and
   ``platlib``: the project's ``.venv``),
3. ``man/``: the man pages, ``/usr/share/man/**/*.gz`` decompressed (roff source, several
   languages).

From 1 and 2 only ``.py``, ``.pyi``, ``.c``, ``.h``, ``.md``, ``.rst``, ``.txt`` files are taken.
A file that is not UTF-8, larger than 1 MB (decompressed), blank, a symbolic link or inside
``__pycache__`` / a hidden folder is skipped. The corpus is deterministic on one machine (the
same files give the same bytes); it differs between machines with other Python installs,
packages or man pages.

Distinct text (MB = 2**20 bytes here and in the sizes): on the machine these benchmarks were
written on (CPython 3.11.7 from pyenv, the project's .venv, Debian man pages) the material
above is 526,649,410 bytes (502.2 MB) as JSONL, 499,310,175 bytes (476.2 MB) of UTF-8 text,
in 51,725 documents (measure it again with ``python tests/scale_corpus.py --measure``): stdlib
31.9 MB (1,863 files), venv 357.5 MB (28,547 files), man 112.9 MB (21,315 pages). Corpora up
to that size hold each document once; the first 31.9 MB are the standard library's sources, so
the small corpora (4-20 MB) are Python code and the 100 MB one mostly code. A larger corpus
cycles over the material again (documents of the second pass are labelled
``"source": "cycle2/..."``, and so on): the 1 GB corpus holds every document about twice (two
passes and 19.6 MB of a third). Its repeated passes bring no new words, so the tokenizer's
per-word memo stops growing after the first; 1 GB of distinct text would grow it further (up
to its bound of 2 million words per worker).

Build a corpus with :func:`build_corpus` (idempotent: once per size, into
``$TOKBENCH_BENCH_DIR/corpus-<size>`` or ``~/.cache/tokbench-bench/corpus-<size>``; a half-built
corpus is never used, a finished one is found by its ``MANIFEST`` file (JSON)), or from the command
line: ``python tests/scale_corpus.py 100MB``.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Iterator

VERSION = 1  # bump when the material or the layout changes: corpora are built again
SUFFIXES = frozenset({".py", ".pyi", ".c", ".h", ".md", ".rst", ".txt"})
MAX_FILE_BYTES = 1 << 20
FILE_BYTES = 64 << 20  # bytes per corpus file (one JSONL line never straddles two files)
MAN_DIR = Path("/usr/share/man")
MANIFEST = "MANIFEST"  # JSON; no corpus-file extension, so `tokbench run --corpus DIR` ignores it
MB = 1 << 20


def material_roots() -> list[tuple[str, Path, str]]:
    """(label, root folder, kind) in corpus order; kind is "source" or "man"."""
    paths = sysconfig.get_paths()
    roots = [("stdlib", Path(paths["stdlib"]), "source")]
    venv = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    roots += [("venv" if i == 0 else f"venv{i + 1}", Path(p), "source") for i, p in enumerate(venv)]
    roots.append(("man", MAN_DIR, "man"))
    return [r for r in roots if r[1].is_dir()]


def _walk(root: Path, skip: set[Path]) -> Iterator[Path]:
    """Regular files under ``root`` in sorted order of their relative path (no symlinks)."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__"
                             and here / d not in skip and not os.path.islink(here / d))
        for fn in sorted(filenames):
            p = here / fn
            if not fn.startswith(".") and not p.is_symlink():
                yield p


def _read_text(path: Path, kind: str) -> str | None:
    """The file's text, or None when it is skipped (see the module docstring)."""
    try:
        if kind == "man":
            if path.suffix != ".gz":
                return None
            with gzip.open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        else:
            if path.suffix not in SUFFIXES or path.stat().st_size > MAX_FILE_BYTES:
                return None
            raw = path.read_bytes()
        if len(raw) > MAX_FILE_BYTES:
            return None
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return None
    return text if text.strip() else None


def documents() -> Iterator[tuple[str, str]]:
    """(source label, text) of every usable file, in corpus order (one pass)."""
    roots = material_roots()
    for label, root, kind in roots:
        # another root below this one (a venv inside the stdlib tree ...) is walked on its own
        skip = {r for _, r, _ in roots if r != root and root in r.parents}
        if label == "stdlib":
            skip |= {root / "site-packages", root / "dist-packages"}
        for path in _walk(root, skip):
            text = _read_text(path, kind)
            if text is not None:
                yield f"{label}/{path.relative_to(root).as_posix()}", text


def _line(source: str, text: str) -> bytes:
    return (json.dumps({"text": text, "source": source}, ensure_ascii=False) + "\n").encode("utf-8")


def measure() -> dict:
    """Distinct material: JSONL bytes and files per root, and in total."""
    out: dict[str, dict[str, int]] = {}
    for source, text in documents():
        root = source.split("/", 1)[0]
        d = out.setdefault(root, {"files": 0, "bytes": 0, "text_bytes": 0})
        d["files"] += 1
        d["bytes"] += len(_line(source, text))
        d["text_bytes"] += len(text.encode("utf-8"))
    total = {k: sum(d[k] for d in out.values()) for k in ("files", "bytes", "text_bytes")}
    return {**out, "total": total}


def parse_size(size: int | str) -> int:
    """``"100MB"``, ``"1GB"``, ``"4M"`` or a number of bytes (MB = 2**20 bytes)."""
    if isinstance(size, int):
        return size
    s = size.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def size_label(n: int) -> str:
    for unit, m in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= m and n % m == 0:
            return f"{n // m}{unit}"
    return f"{n}B"


def bench_dir() -> Path:
    return Path(os.environ.get("TOKBENCH_BENCH_DIR") or Path.home() / ".cache" / "tokbench-bench")


def _manifest(path: Path) -> dict | None:
    try:
        return json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def build_corpus(size: int | str, root: Path | None = None, *, file_bytes: int = FILE_BYTES) -> Path:
    """The corpus folder of ``size`` bytes, built once: whole documents in corpus order while
    the next one still fits (so at most ``size`` bytes, within one document of it; a corpus
    smaller than its first document holds that document). When the material runs out it
    starts again from the first document (``cycle2/...``)."""
    n = parse_size(size)
    if n < 1:
        raise ValueError(f"corpus size must be positive, not {size!r}")
    root = Path(root) if root is not None else bench_dir()
    out = root / f"corpus-{size_label(n)}"
    want = {"version": VERSION, "size": n, "file_bytes": file_bytes}
    found = _manifest(out)
    if found is not None and all(found.get(k) == v for k, v in want.items()):
        return out
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=root))
    tmp.chmod(0o755)
    try:
        info = _write(tmp, n, file_bytes)
        (tmp / MANIFEST).write_text(json.dumps({**want, **info}, indent=1) + "\n")
        if out.exists():  # an older version, or a half-built folder of a killed build
            if _manifest(out) == _manifest(tmp):  # another process finished the same build
                return out
            shutil.rmtree(out)
        try:
            os.replace(tmp, out)
        except OSError:  # another process put its finished corpus there first
            if _manifest(out) is None:
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _write(folder: Path, n: int, file_bytes: int) -> dict:
    written = docs = distinct = passes = 0
    part, fh, in_file = 0, None, 0
    cycle = 0
    try:
        while True:
            cycle += 1
            any_doc = False
            for source, text in documents():
                line = _line(source if cycle == 1 else f"cycle{cycle}/{source}", text)
                if written + len(line) > n and written > 0:  # full (the first document always goes in)
                    return _info(written, docs, passes, distinct, part + 1)
                any_doc = True
                if fh is None or in_file + len(line) > file_bytes and in_file > 0:
                    if fh is not None:
                        fh.close()
                        part += 1
                    fh, in_file = open(folder / f"part-{part:05d}.jsonl", "wb"), 0
                fh.write(line)
                in_file += len(line)
                written += len(line)
                docs += 1
                passes = cycle
                if cycle == 1:
                    distinct += len(line)
            if not any_doc:
                raise RuntimeError("no usable text files found for the benchmark corpus")
    finally:
        if fh is not None:
            fh.close()


def _info(written: int, docs: int, cycles: int, distinct: int, files: int) -> dict:
    return {"bytes": written, "documents": docs, "passes": cycles, "distinct_bytes": distinct, "files": files}


def corpus_info(path: Path) -> dict:
    """The MANIFEST of a built corpus (size, documents, passes, distinct bytes, files)."""
    info = _manifest(Path(path))
    if info is None:
        raise FileNotFoundError(f"{path}: not a finished benchmark corpus (no MANIFEST)")
    return info


if __name__ == "__main__":  # python tests/scale_corpus.py [--measure] [SIZE ...]
    args = sys.argv[1:]
    if not args or "--measure" in args:
        print(json.dumps(measure(), indent=1))
    for a in args:
        if a != "--measure":
            p = build_corpus(a)
            print(p, json.dumps(corpus_info(p)))
