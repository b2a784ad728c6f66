"""Corpus files streamed in shards of bounded size, for corpus-scale runs.

A shard is one piece of one corpus file: a byte range of an uncompressed ``.txt``/``.jsonl``
file (it starts at a line start and ends just after a newline or at EOF), a run of consecutive
parquet row groups, or a whole ``.gz``/``.zst`` file (a stream cannot seek). Documents are those
of :func:`tokbench.corpora.load_file`: text, one per non-blank line; JSON, one object per line;
parquet, one per row. Shard ids are stable given the file's content and ``shard_bytes``:
``name@start-end`` (bytes), ``name#rgSTART-END`` (row groups) or ``name`` (compressed).
A shard's sha256 is that of its raw (decompressed) bytes, or for parquet of each row's
``lang \\x1f key \\x1f text \\x1e``, computed while the data streams; :func:`corpus_hash` chains
the shard hashes in order.
"""
from __future__ import annotations

import glob as globlib
import gzip
import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .errors import CorpusError
from .langtags import check_lang_tag

if TYPE_CHECKING:
    import pyarrow.parquet as pq

FORMATS = {".txt": "text", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}
COMPRESSIONS = {".gz": "gz", ".zst": "zst"}
KNOWN_HINT = ".txt, .jsonl, .json, .parquet, each optionally followed by .gz or .zst (not .parquet.gz)"
_BLOCK = 1 << 20  # bytes read at a time
_PARQUET_ROWS = 4096  # rows per arrow batch


class ShardReadError(CorpusError):
    """A shard could not be read; the message names the file and the byte offset / row group."""


@dataclass(frozen=True)
class ReadOptions:
    lang: str | None = None  # one language for every document
    lang_field: str | None = None  # or: the field holding each document's language tag
    text_field: str = "text"
    key_field: str | None = None  # alignment key field; default key: f"{shard.name}:{offset}"
    langs: tuple[str, ...] = ()  # keep only these languages (empty: all)
    # Unicode normalisation of every text (tokbench.textnorm), applied by the shard task after
    # reading (tokbench.sharded.shard_reader): the shard hash stays that of the raw bytes
    normalize: str = "none"


@dataclass(frozen=True)
class Shard:
    path: str  # absolute file path
    name: str  # path relative to the corpus root (posix separators)
    fmt: str  # "text" | "json" | "parquet"
    compression: str | None  # None | "gz" | "zst"
    start: int  # first byte / first row group; compressed: 0
    end: int  # exclusive byte / row group; compressed: -1 (whole file)
    size: int  # bytes covered
    stat: tuple[int, int]  # (st_size, st_mtime_ns) when planned

    @property
    def id(self) -> str:
        if self.compression:
            return self.name
        if self.fmt == "parquet":
            return f"{self.name}#rg{self.start}-{self.end}"
        return f"{self.name}@{self.start}-{self.end}"

    def identity(self) -> list:
        """What the shard caches are keyed by: the file, the range, and the file's size and mtime."""
        return [self.path, self.id, list(self.stat)]


def _split_ext(path: Path) -> tuple[str | None, str | None, str]:
    """(format, compression, suffix as written) from the file name."""
    suffixes = [s.lower() for s in path.suffixes]
    comp = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    rest = suffixes[:-1] if comp else suffixes
    ext = rest[-1] if rest else ""
    return FORMATS.get(ext), comp, ext + ("." + comp if comp else "")


def _is_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _find_files(path: str | Path, base_dir: Path | None) -> list[tuple[Path, str]]:
    """[(absolute file, name relative to the corpus root)], sorted by name."""
    raw, p = str(path), Path(path)
    rel = not p.is_absolute() and base_dir is not None
    if _is_glob(raw) and not p.exists():
        pattern = raw
        matches = globlib.glob(pattern, recursive=True)
        if not matches and rel:
            pattern = str(base_dir / raw)
            matches = globlib.glob(pattern, recursive=True)
        parts = Path(pattern).parts
        fixed = next((i for i, part in enumerate(parts) if _is_glob(part)), len(parts))
        root = os.path.abspath(Path(*parts[:fixed]) if fixed else ".")
        files = {Path(os.path.abspath(m)) for m in matches if os.path.isfile(m)}
        if not files:
            tried = f" (also tried under {base_dir})" if rel else ""
            raise CorpusError(f"corpus glob {raw!r} matches no files{tried}: check the pattern "
                              "(`**` matches folders recursively)")
        return sorted(((f, f.relative_to(root).as_posix()) for f in files), key=lambda t: t[1])
    if not p.exists() and rel:
        p = base_dir / p
    if not p.exists():
        raise CorpusError(f"corpus path not found: {raw}" + (f" (nor {p})" if rel else "")
                          + ": give an existing file, folder or glob")
    p = Path(os.path.abspath(p))
    if p.is_file():
        return [(p, p.name)]
    found = []
    for dirpath, dirnames, filenames in os.walk(p):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in filenames:
            f = Path(dirpath) / fn
            if not fn.startswith(".") and (_split_ext(f)[0] or _split_ext(f)[2] == ".parquet.gz"):
                found.append((f, f.relative_to(p).as_posix()))
    if not found:
        raise CorpusError(f"corpus folder {raw} holds no corpus files (known extensions: {KNOWN_HINT})")
    return sorted(found, key=lambda t: t[1])


def plan_shards(path: str | Path, *, fmt: str | None = None, base_dir: Path | None = None,
                shard_bytes: int = 64 << 20, opts: ReadOptions = ReadOptions()) -> list[Shard]:
    """The shards of a corpus file, folder or glob, in order; every check that needs no full read
    (paths, extensions, emptiness, the first record of each file, the language) is done here."""
    if shard_bytes < 1:
        raise ValueError(f"shard_bytes must be positive, not {shard_bytes}")
    if fmt is not None and fmt not in ("text", "json", "parquet"):
        raise CorpusError(f"corpus format must be 'text', 'json' or 'parquet', not {fmt!r}")
    asked, files = str(path), _find_files(path, base_dir)
    if opts.lang is None and opts.lang_field is None:
        raise CorpusError(f"{asked}: give the language: `--lang CODE` (or `lang`/`lang_field` in the suite)")
    typed = []
    for f, name in files:
        ffmt, comp, ext = _split_ext(f)
        ffmt = fmt or ffmt
        if ffmt is None:
            raise CorpusError(f"{f}: unknown corpus file extension {ext or f.name!r}; known: {KNOWN_HINT} "
                              "(or set `format` in the suite)")
        if ffmt == "parquet" and comp:
            raise CorpusError(f"{f}: a parquet file is compressed inside; use a plain .parquet, not {ext!r}")
        if ffmt == "text" and opts.lang is None:
            raise CorpusError(f"{f}: a text file has no fields for `lang_field` {opts.lang_field!r}; "
                              "give `--lang CODE` (or `lang` in the suite)")
        typed.append((f, name, ffmt, comp, f.stat()))
    typed = [t for t in typed if t[-1].st_size > 0]
    if not typed:
        raise CorpusError(f"corpus {asked} is empty: every matched file has size 0")
    pfiles = {}
    for f, _, ffmt, comp, _ in typed:  # every check first, then the cuts
        if ffmt == "parquet":
            pfiles[f] = _parquet_file(f, opts)
        else:
            _check_first_record(f, ffmt, comp, opts)
    shards: list[Shard] = []
    for f, name, ffmt, comp, st in typed:
        stat = (st.st_size, st.st_mtime_ns)
        if ffmt == "parquet":
            shards += _parquet_shards(pfiles[f], f, name, stat, shard_bytes)
        elif comp:
            shards.append(Shard(str(f), name, ffmt, comp, 0, -1, st.st_size, stat))
        else:
            shards += [Shard(str(f), name, ffmt, None, a, b, b - a, stat)
                       for a, b in _byte_ranges(f, st.st_size, shard_bytes)]
    if not shards:
        raise CorpusError(f"corpus {asked} is empty: its files have no documents")
    return shards


def _byte_ranges(path: Path, size: int, shard_bytes: int) -> list[tuple[int, int]]:
    """[start, end) ranges cut just after the first newline at or after each k*shard_bytes - 1."""
    cuts = [0]
    with open(path, "rb") as fh:
        k = 1
        while k * shard_bytes < size:
            pos = k * shard_bytes - 1
            fh.seek(pos)
            while (block := fh.read(1 << 16)) and (j := block.find(b"\n")) < 0:
                pos += len(block)
            cut = pos + j + 1 if block else size
            if cut >= size:
                break
            cuts.append(cut)
            k = max(k + 1, cut // shard_bytes + 1)  # skip boundaries inside the line just passed
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _parquet_file(f: Path, opts: ReadOptions) -> pq.ParquetFile:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(f)
    except Exception as e:
        raise CorpusError(f"{f}: not a readable parquet file ({type(e).__name__}: {e})") from None
    cols = set(pf.schema_arrow.names)
    for what, field in (("text", opts.text_field), ("language", opts.lang_field)):
        if field is not None and field not in cols:
            raise CorpusError(f"{f}: the parquet schema has no {what} column {field!r} (columns: {sorted(cols)})")
    return pf


def _parquet_shards(pf: pq.ParquetFile, f: Path, name: str, stat: tuple[int, int], shard_bytes: int) -> list[Shard]:
    shards, first, size = [], 0, 0
    n = pf.metadata.num_row_groups
    for rg in range(n):
        size += pf.metadata.row_group(rg).total_byte_size
        if size >= shard_bytes or rg == n - 1:
            shards.append(Shard(str(f), name, "parquet", None, first, rg + 1, size, stat))
            first, size = rg + 1, 0
    return shards


def _check_first_record(f: Path, fmt: str, comp: str | None, opts: ReadOptions) -> None:
    """CorpusError if the first (non-blank) line is not UTF-8 or, for JSON, not a usable record."""
    try:
        lines = itertools.chain.from_iterable(_iter_lines(_blocks(f, comp), 0, None))
        for lineno, (offset, raw) in enumerate(lines, 1):
            line = _decode(raw, offset, f, CorpusError)
            if fmt == "text" or line.strip():
                break
        else:
            return
    except _StreamError as e:
        raise CorpusError(f"{f}: {e}") from None
    if fmt == "json":
        rec = _record(line, f"{f}: line {lineno}", opts, CorpusError)
        if opts.lang_field is not None:
            check_lang_tag(str(rec[opts.lang_field]), where=f"{f}: line {lineno} field {opts.lang_field!r}")


def _decode(raw: bytes, offset: int, path: str | Path, exc: type[CorpusError]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise exc(f"{path}: byte {offset + e.start}: not valid UTF-8 ({raw[e.start:e.end]!r}); "
                  "re-encode the file as UTF-8") from None


def _record(line: str, where: str, opts: ReadOptions, exc: type[CorpusError], offset: int | None = None) -> dict:
    """The JSON object on ``line`` with its text (and language) field, else ``exc`` naming ``where``."""
    try:
        rec = json.loads(line)
    except ValueError as e:
        pos = getattr(e, "pos", 0)
        at = f"column {pos + 1}" if offset is None else f"byte {offset + len(line[:pos].encode('utf-8'))}"
        raise exc(f"{where}: not valid JSON at {at} ({getattr(e, 'msg', e)}); expected one JSON object "
                  "per line (JSON Lines)") from None
    if not isinstance(rec, dict):
        raise exc(f"{where}: a JSON {type(rec).__name__}, not an object; expected one JSON object per line "
                  "(JSON Lines)")
    for what, field in (("text", opts.text_field), ("lang", opts.lang_field)):
        if field is not None and rec.get(field) is None:
            raise exc(f"{where}: the record has no field {field!r} (fields: {sorted(rec)}); "
                      f"set `{what}_field` to the field that holds the {what}")
    return rec


# ---------------------------------------------------------------------------- reading


class _StreamError(Exception):
    """The bytes ran out or could not be decompressed (the message says where)."""


def _blocks(path: str | Path, comp: str | None, start: int = 0, limit: int | None = None) -> Iterator[bytes]:
    """The file's (decompressed) bytes from ``start``, ``limit`` of them (None: to EOF), in blocks."""
    with open(path, "rb") as fh:
        if comp is None:
            fh.seek(start)
            pos, stop = start, None if limit is None else start + limit
            while stop is None or pos < stop:
                block = fh.read(_BLOCK if stop is None else min(_BLOCK, stop - pos))
                if not block:
                    if stop is not None:
                        raise _StreamError(f"the file ends at byte {pos}, before the shard's end {stop}: "
                                           "it changed since the shards were planned; plan them again")
                    return
                pos += len(block)
                yield block
            return
        done = 0
        try:
            if comp == "gz":
                with gzip.open(fh, "rb") as gz:
                    while block := gz.read1(_BLOCK):  # read1: an error surfaces at its own offset
                        done += len(block)
                        yield block
                return
            import zstandard

            dobj, fed = zstandard.ZstdDecompressor().decompressobj(), False
            while chunk := fh.read(1 << 16):
                while chunk:  # a file may hold several frames
                    block, fed, chunk = dobj.decompress(chunk), True, b""
                    if dobj.eof:
                        chunk, fed = dobj.unused_data, False
                        dobj = zstandard.ZstdDecompressor().decompressobj()
                    if block:
                        done += len(block)
                        yield block
            if fed:
                raise EOFError("the stream ends inside a frame")
        except Exception as e:  # EOFError, OSError, zlib.error, zstandard.ZstdError, ...
            raise _StreamError(f"truncated or corrupt {'gzip' if comp == 'gz' else 'zstd'} stream after "
                               f"{done} bytes ({e}); re-create the file") from None


def _iter_lines(blocks: Iterator[bytes], start: int, hasher: "hashlib._Hash | None"
                ) -> Iterator[list[tuple[int, bytes]]]:
    """Per block, its complete lines: (offset of the line's first byte, the line without "\\n" or "\\r\\n").
    Every block goes into ``hasher``; a last line without a newline counts."""
    line_start, pending = start, []
    for block in blocks:
        if hasher is not None:
            hasher.update(block)
        parts = block.split(b"\n")
        if pending and len(parts) > 1:
            parts[0] = b"".join(pending + [parts[0]])
            pending = []
        if parts[-1]:
            pending.append(parts[-1])
        lines = []
        for part in parts[:-1]:
            lines.append((line_start, part[:-1] if part[-1:] == b"\r" else part))
            line_start += len(part) + 1
        if lines:
            yield lines
    if pending:
        last = b"".join(pending)
        yield [(line_start, last[:-1] if last[-1:] == b"\r" else last)]


class ShardReader:
    """Iterate for batches of (lang, key, text); ``sha256``, ``n_docs``, ``n_bytes`` after that."""

    def __init__(self, shard: Shard, opts: ReadOptions, batch_bytes: int = 1 << 20):
        self.shard, self.opts, self.batch_bytes = shard, opts, max(1, batch_bytes)
        self.n_docs = self.n_bytes = 0
        self._sha256: str | None = None
        self._checked: set[str] = set()

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            raise RuntimeError(f"{self.shard.id}: the shard hash is known only once iteration is complete")
        return self._sha256

    def __iter__(self) -> Iterator[list[tuple[str, str, str]]]:
        self.n_docs = self.n_bytes = 0
        self._sha256 = None
        hasher = hashlib.sha256()
        self._check_unchanged()
        chunks = self._parquet_docs(hasher) if self.shard.fmt == "parquet" else self._line_docs(hasher)
        batch: list[tuple[str, str, str]] = []
        size = 0
        langs, limit = set(self.opts.langs), self.batch_bytes
        for docs in chunks:
            for lang, key, text, n in docs:
                if langs and lang not in langs:
                    continue
                if batch and size + n > limit:
                    yield batch
                    batch, size = [], 0
                batch.append((lang, key, text))
                size += n
                self.n_docs += 1
                self.n_bytes += n
        if batch:
            yield batch
        self._sha256 = hasher.hexdigest()

    def _check_unchanged(self) -> None:
        s = self.shard
        try:
            st = os.stat(s.path)
        except OSError as e:
            raise ShardReadError(f"{s.path}: cannot be read ({e})") from None
        if (st.st_size, st.st_mtime_ns) != tuple(s.stat):
            raise ShardReadError(f"{s.path}: changed since the shards were planned (size/mtime "
                                 f"{s.stat} -> {(st.st_size, st.st_mtime_ns)}): plan the shards again")

    def _lang(self, tag: object, where: str) -> str:
        lang = str(tag)
        if lang not in self._checked:
            try:
                check_lang_tag(lang, where=where)
            except CorpusError as e:
                raise ShardReadError(str(e)) from None
            self._checked.add(lang)
        return lang

    def _line_docs(self, hasher: "hashlib._Hash") -> Iterator[list[tuple[str, str, str, int]]]:
        s, o = self.shard, self.opts
        limit = None if s.compression else s.end - s.start
        try:
            for lines in _iter_lines(_blocks(s.path, s.compression, s.start, limit), s.start, hasher):
                docs = []
                for offset, raw in lines:
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        line = _decode(raw, offset, s.path, ShardReadError)  # raises, naming the byte
                    if not line.strip():
                        continue
                    docs.append((o.lang, f"{s.name}:{offset}", line, len(raw)) if s.fmt == "text" else
                                self._json_doc(line, offset))
                yield docs
        except _StreamError as e:
            raise ShardReadError(f"{s.path}: {e}") from None

    def _json_doc(self, line: str, offset: int) -> tuple[str, str, str, int]:
        s, o = self.shard, self.opts
        rec = _record(line, f"{s.path}: byte {offset}", o, ShardReadError, offset)
        lang = o.lang if o.lang_field is None else \
            self._lang(rec[o.lang_field], f"{s.path}: byte {offset} field {o.lang_field!r}")
        key = str(rec[o.key_field]) if o.key_field is not None and o.key_field in rec else f"{s.name}:{offset}"
        text = rec[o.text_field] if isinstance(rec[o.text_field], str) else str(rec[o.text_field])
        return lang, key, text, len(text.encode("utf-8"))

    def _parquet_docs(self, hasher: "hashlib._Hash") -> Iterator[list[tuple[str, str, str, int]]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        s, o = self.shard, self.opts
        try:
            pf = pq.ParquetFile(s.path)
            names = set(pf.schema_arrow.names)
            row = sum(pf.metadata.row_group(i).num_rows for i in range(s.start))
        except Exception as e:
            raise ShardReadError(f"{s.path}: row group {s.start}: could not be read "
                                 f"({type(e).__name__}: {e})") from None
        key_field = o.key_field if o.key_field is not None and o.key_field in names else None
        cols = list(dict.fromkeys(c for c in (o.text_field, o.lang_field, key_field) if c is not None))
        for rg in range(s.start, s.end):
            try:
                for batch in pf.iter_batches(batch_size=_PARQUET_ROWS, row_groups=[rg], columns=cols):
                    data, docs = {c: batch.column(c).to_pylist() for c in cols}, []
                    for i in range(batch.num_rows):
                        text, tag = data[o.text_field][i], data[o.lang_field][i] if o.lang_field else o.lang
                        if text is None or tag is None:
                            raise ShardReadError(f"{s.path}: row group {rg}, row {row}: null "
                                                 f"{'text' if text is None else 'language'}")
                        text = text if isinstance(text, str) else str(text)
                        lang = self._lang(tag, f"{s.path}: row group {rg}, row {row} field {o.lang_field!r}") \
                            if o.lang_field else tag
                        key = str(data[key_field][i]) if key_field else f"{s.name}:{row}"
                        encoded = text.encode("utf-8")
                        hasher.update(f"{lang}\x1f{key}\x1f".encode("utf-8") + encoded + b"\x1e")
                        row += 1
                        docs.append((lang, key, text, len(encoded)))
                    yield docs
            except (pa.ArrowException, OSError) as e:
                raise ShardReadError(f"{s.path}: row group {rg}: could not be read ({type(e).__name__}: {e})") from None


def read_shard(shard: Shard, opts: ReadOptions, *, batch_bytes: int = 1 << 20) -> ShardReader:
    """A reader over one shard's documents (nothing is read until it is iterated)."""
    return ShardReader(shard, opts, batch_bytes)


def corpus_hash(shards: list[Shard], shard_hashes: list[str], normalize: str = "none") -> str:
    """sha256 over one ``"{shard.id} {shard hash}\\n"`` line per shard, in shard order, after a
    ``"normalize {form}\\n"`` line when the text is normalised (the shard hashes are of raw bytes)."""
    if len(shards) != len(shard_hashes):
        raise ValueError(f"{len(shards)} shards but {len(shard_hashes)} shard hashes")
    h = hashlib.sha256()
    if normalize != "none":
        h.update(f"normalize {normalize}\n".encode("utf-8"))
    for shard, sh in zip(shards, shard_hashes):
        h.update(f"{shard.id} {sh}\n".encode("utf-8"))
    return h.hexdigest()


def default_corpus_name(path: str) -> str:
    """The ad hoc corpus name of ``--corpus PATH``: the file name without its extensions
    (``texts.jsonl.zst`` -> ``texts``), a directory's name, or the folder a glob starts in.

    >>> default_corpus_name("data/news.jsonl.gz"), default_corpus_name("data/shards/"), default_corpus_name("data/**/*.txt")
    ('news', 'shards', 'data')
    """
    parts = Path(path).parts
    fixed = []
    for part in parts:
        if any(c in part for c in "*?["):
            return Path(*fixed).name if fixed else "corpus"
        fixed.append(part)
    name = Path(path).name
    return name.split(".")[0] or name
