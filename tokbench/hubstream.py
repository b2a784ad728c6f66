"""Hub datasets streamed in shards (``source = "hub"`` with ``streaming = true``).

``datasets.load_dataset(hub_id, config, split=split, data_files=..., streaming=True)`` gives an
``IterableDataset`` made of ``n_shards`` data files; each of them is one :class:`HubShard`
(``ds.shard(num_shards, index)``), read record by record in bounded batches on whichever worker
runs it. Nothing is downloaded whole. A hub dataset has no file size or modification time to
watch, so a shard is identified by (hub id, config, split, data files, revision, index): pin
``revision`` for reproducible runs; ``--force`` re-reads a dataset that changed under the same
revision. The same code reads local files through the generic builders (``hub_id = "json"``,
``"parquet"``, ``"text"`` with ``data_files``), which is how it is tested offline.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

from .errors import CorpusError


class _Offline:
    """``HF_DATASETS_OFFLINE=1`` while only local files are read (``data_files`` on disk)."""

    def __init__(self, local: bool) -> None:
        self.local, self.old = local, None

    def __enter__(self):
        if self.local:
            self.old = os.environ.get("HF_DATASETS_OFFLINE")
            os.environ["HF_DATASETS_OFFLINE"] = "1"

    def __exit__(self, *exc):
        if self.local:
            if self.old is None:
                os.environ.pop("HF_DATASETS_OFFLINE", None)
            else:
                os.environ["HF_DATASETS_OFFLINE"] = self.old


@dataclass(frozen=True)
class HubShard:
    hub_id: str
    config: str | None
    split: str
    data_files: tuple[str, ...]
    revision: str | None
    index: int
    count: int
    text_field: str = "text"
    lang: str | None = None
    lang_field: str | None = None
    key_field: str | None = None
    langs: tuple[str, ...] = ()
    size: int = 1 << 20  # nominal: a streamed shard's size is not known before it is read
    normalize: str = "none"  # Unicode normalisation of the texts (tokbench.sharded.shard_reader)

    @property
    def id(self) -> str:
        return f"{self.hub_id}/{self.split}#{self.index}of{self.count}"

    def identity(self) -> list:
        return ["hub", self.hub_id, self.config, self.split, list(self.data_files), self.revision, self.index,
                self.count, self.text_field, self.lang, self.lang_field, self.key_field, list(self.langs),
                *([self.normalize] if self.normalize != "none" else [])]

    def dataset(self):
        import datasets

        datasets.disable_progress_bars()
        kw: dict[str, Any] = {"split": self.split, "streaming": True}
        if self.data_files:
            kw["data_files"] = list(self.data_files)
        if self.revision:
            kw["revision"] = self.revision
        with _Offline(bool(self.data_files) and all(os.path.exists(f) for f in self.data_files)):
            return datasets.load_dataset(self.hub_id, self.config, **kw)

    def open(self, batch_bytes: int) -> "_HubReader":
        return _HubReader(self, batch_bytes)


class _HubReader:
    def __init__(self, shard: HubShard, batch_bytes: int) -> None:
        self.shard, self.batch_bytes = shard, batch_bytes
        self._sha: str | None = None

    @property
    def sha256(self) -> str:
        if self._sha is None:
            raise RuntimeError("the shard has not been read to its end")
        return self._sha

    def __iter__(self) -> Iterator[list[tuple[str, str, str]]]:
        from .langtags import check_lang_tag

        sh = self.shard
        h = hashlib.sha256()
        batch, size, checked = [], 0, set()
        try:
            records = sh.dataset().shard(num_shards=sh.count, index=sh.index)
            for i, rec in enumerate(records):
                where = f"hub dataset {sh.hub_id!r} shard {sh.index} record {i}"
                if sh.text_field not in rec:
                    raise CorpusError(f"{where}: no field {sh.text_field!r} (fields: {sorted(rec)})")
                lang = sh.lang if sh.lang_field is None else rec.get(sh.lang_field)
                if lang is None:
                    raise CorpusError(f"{where}: no language field {sh.lang_field!r}")
                lang = str(lang)
                if lang not in checked:
                    check_lang_tag(lang, where=f"{where} field {sh.lang_field!r}")
                    checked.add(lang)
                if sh.langs and lang not in sh.langs:
                    continue
                text = str(rec[sh.text_field])
                key = str(rec[sh.key_field]) if sh.key_field and rec.get(sh.key_field) is not None \
                    else f"{sh.index}:{i}"
                h.update(f"{lang}\x1f{key}\x1f".encode())
                h.update(text.encode("utf-8", "surrogatepass"))
                h.update(b"\x1e")
                batch.append((lang, key, text))
                size += len(text)
                if size >= self.batch_bytes:
                    yield batch
                    batch, size = [], 0
        except CorpusError:
            raise
        except Exception as e:  # network, parse and schema errors of `datasets`
            raise CorpusError(f"hub dataset {sh.hub_id!r} shard {sh.index}: {type(e).__name__}: {e}") from None
        if batch:
            yield batch
        self._sha = h.hexdigest()


def plan_hub_shards(spec: Any) -> list[HubShard]:
    """One shard per data file of the streamed dataset (CorpusError when it cannot be opened)."""
    if spec.lang is None and spec.lang_field is None:
        raise CorpusError(f"hub dataset {spec.hub_id!r}: give the language: `lang` or `lang_field`")
    files = (spec.data_files,) if isinstance(spec.data_files, str) else tuple(spec.data_files or ())
    probe = HubShard(spec.hub_id, spec.config, spec.split, files, spec.revision, 0, 1)
    try:
        n = int(probe.dataset().n_shards)
    except Exception as e:
        raise CorpusError(f"hub dataset {spec.hub_id!r} could not be opened for streaming ({type(e).__name__}: {e}). "
                          "The hub needs network access; offline, use a `file` corpus or local `data_files`.") \
            from None
    return [HubShard(spec.hub_id, spec.config, spec.split, files, spec.revision, i, n, spec.text_field, spec.lang,
                     spec.lang_field, spec.key_field, tuple(spec.langs), normalize=spec.normalize_form)
            for i in range(n)]


__all__ = ["HubShard", "plan_hub_shards"]
