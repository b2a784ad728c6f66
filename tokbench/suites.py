"""Suite files (``suites/*.toml``): which tokenizers, corpora and metrics a run covers.

Validated at load time with unknown fields rejected; an error names the file, the table and
the field. Format (docs/suites.md)::

    [suite]
    name = "core-v1"
    version = "1"
    tokenizers = ["gpt2", "llama3"]
    metrics = ["fertility", "bytes_per_token"]      # default: every intrinsic metric
    reference_tokenizer = "gpt2"                    # for nsl

    [metric_params.renyi_efficiency]
    alpha = 2.5

    [corpora.udhr]
    source = "udhr"
    langs = ["en", "tr"]

    [segmenters]                                    # per-language overrides
    vi = "unicode_words"

    [tokenizers.my-bpe]                             # optional user tokenizer entries
    backend = "hf_json"
    path = "my-bpe/tokenizer.json"

    [thresholds.fertility]                          # regression gate (`tokbench check`, docs/gate.md)
    variant = "in_context"
    max_relative_increase = 0.02
"""
from __future__ import annotations

from .errors import BadInput

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .corpora import CorpusSpec  # noqa: F401  (re-exported: suites name their corpora with it)

DEFAULT_SUITE = "core-v1"

class SuiteError(BadInput, ValueError):
    """A suite file is malformed; the message names the file, table and field."""


class SuiteMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["tokenizer"] = "tokenizer"
    version: str = "1"
    description: str = ""
    tokenizers: list[str]
    metrics: list[str] | None = None
    reference_tokenizer: str | None = None


THRESHOLD_RULES = ("max_relative_increase", "max_relative_decrease", "max_absolute_increase",
                   "max_absolute_decrease", "min_value", "max_value")


class Threshold(BaseModel):
    """One regression-gate rule for one metric (``[thresholds.METRIC]``; docs/gate.md).

    Increases and decreases are of the value itself, whatever the metric's direction:
    candidate minus baseline (relative: over the baseline). A rule fails only when the whole
    95% bootstrap CI (of the delta, or of the candidate's value for ``min_value``/``max_value``)
    lies beyond its limit; ``use_ci = false`` decides on the point estimate instead.
    """

    model_config = ConfigDict(extra="forbid")

    variant: str | None = None  # default: the metric's first (headline) variant; "*" = every variant
    langs: list[str] | None = None  # default: every language and "*"
    max_relative_increase: float | None = None
    max_relative_decrease: float | None = None
    max_absolute_increase: float | None = None
    max_absolute_decrease: float | None = None
    min_value: float | None = None
    max_value: float | None = None
    use_ci: bool = True

    @model_validator(mode="after")
    def _check(self):
        given = self.rules()
        if not given:
            raise ValueError(f"a threshold needs at least one of {', '.join(THRESHOLD_RULES)}")
        for rule, limit in given.items():
            if rule.startswith(("max_relative", "max_absolute")) and limit < 0:
                raise ValueError(f"`{rule}` must be >= 0 (an allowed change), got {limit}")
        return self

    def rules(self) -> dict[str, float]:
        """The bounds that are set, in THRESHOLD_RULES order."""
        return {r: float(getattr(self, r)) for r in THRESHOLD_RULES if getattr(self, r) is not None}


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: SuiteMeta
    corpora: dict[str, CorpusSpec]
    metric_params: dict[str, dict[str, Any]] = {}
    segmenters: dict[str, str] = {}
    tokenizers: dict[str, dict[str, Any]] = {}
    thresholds: dict[str, list[Threshold]] = {}  # [thresholds.METRIC] (a table or an array of tables)
    path: str = "<memory>"

    @field_validator("thresholds", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        if isinstance(v, dict):
            return {k: [x] if isinstance(x, dict) else x for k, x in v.items()}
        return v

    @property
    def name(self) -> str:
        return self.suite.name

    @property
    def version(self) -> str:
        return self.suite.version

    def metric_names(self) -> list[str]:
        from .metrics import default_metrics, get_metric

        names = self.suite.metrics or list(default_metrics())
        for n in names:
            get_metric(n)  # raises with a did-you-mean
        return names


def suites_dir() -> Path:
    """The top-level ``suites/`` folder (of the checkout, or the current directory)."""
    here = Path(__file__).resolve().parent.parent / "suites"
    return here if here.is_dir() else Path("suites")


def find_suite(name_or_path: str | None) -> Path:
    if not name_or_path:
        name_or_path = DEFAULT_SUITE
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise SuiteError(f"suite file not found: {p}")
        return p
    cand = suites_dir() / f"{name_or_path}.toml"
    if cand.exists():
        return cand
    import difflib

    known = sorted(f.stem for f in suites_dir().glob("*.toml"))
    close = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SuiteError(f"no suite named {name_or_path!r} in {suites_dir()} (known: {', '.join(known)}).{hint}")


def validation_problems(e: ValidationError) -> str:
    """A pydantic error as "`table.field`: message; ..." for suite error messages."""
    return "; ".join(f"`{'.'.join(map(str, err['loc']))}`: {err['msg']}" for err in e.errors())


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{path}: malformed TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise SuiteError(f"{path}: not UTF-8 text: {e}") from None


def load_suite(name_or_path: str | Path | None = None) -> Suite:
    """Load and validate a tokenizer suite (``[suite] kind`` absent or ``"tokenizer"``)."""
    path = find_suite(str(name_or_path) if name_or_path else None)
    return parse_suite(path, read_toml(path))


def parse_suite(path: Path, raw: dict) -> Suite:
    meta = raw.get("suite")
    kind = meta.get("kind", "tokenizer") if isinstance(meta, dict) else "tokenizer"
    if kind != "tokenizer":
        raise SuiteError(f"{path}: a {kind} suite, not a tokenizer suite: run it with `tokbench run {path.stem if path.parent == suites_dir() else path}`")
    try:
        suite = Suite(**raw, path=str(path))
    except ValidationError as e:
        raise SuiteError(f"{path}: invalid suite: {validation_problems(e)}") from None
    except TypeError as e:
        raise SuiteError(f"{path}: invalid suite: {e}") from None
    validate(suite)
    return suite


def validate(suite: Suite) -> None:
    """Check every name the suite refers to (tokenizers, metrics, segmenters) before running."""
    from . import registry
    from .segment import SEGMENTERS

    where = suite.path
    if suite.tokenizers:
        try:
            registry.add_specs(registry.parse_entries(suite.tokenizers, source=where))
        except registry.RegistryError as e:
            raise SuiteError(str(e)) from None
    check_tokenizers(where, "[suite].tokenizers", suite.suite.tokenizers
                     + ([suite.suite.reference_tokenizer] if suite.suite.reference_tokenizer else []))
    try:
        names = suite.metric_names()
    except ValueError as e:
        raise SuiteError(f"{where}: [suite].metrics: {e}") from None
    for m in suite.metric_params:
        if m not in names:
            raise SuiteError(f"{where}: [metric_params.{m}] names a metric the suite does not compute")
    for lang, seg in suite.segmenters.items():
        if seg not in SEGMENTERS:
            raise SuiteError(f"{where}: [segmenters].{lang} = {seg!r}: choose one of {', '.join(SEGMENTERS)}")
    from .metrics import get_metric

    for m in names:
        if get_metric(m).needs_reference and not suite.suite.reference_tokenizer:
            raise SuiteError(f"{where}: metric `{m}` needs `reference_tokenizer` in [suite]")
    validate_thresholds(suite.thresholds, names, where=where)


def validate_thresholds(thresholds: dict[str, list[Threshold]], metric_names: list[str], *, where: str) -> None:
    """Every threshold names a metric the suite computes and one of its variants."""
    from .metrics import get_metric

    for m, rules in thresholds.items():
        try:
            metric = get_metric(m)
        except ValueError as e:
            raise SuiteError(f"{where}: [thresholds.{m}]: {e}") from None
        if m not in metric_names:
            raise SuiteError(f"{where}: [thresholds.{m}] names a metric the suite does not compute "
                             f"(add it to [suite].metrics)")
        for t in rules:
            if t.variant is not None and t.variant != "*" and t.variant not in metric.variants:
                raise SuiteError(f"{where}: [thresholds.{m}].variant = {t.variant!r}: `{m}` has the variants "
                                 f"{', '.join(metric.variants)} (or \"*\" for all)")


def check_tokenizers(path, field: str, names) -> None:
    """Every registry name (or tokenizer path) of a suite's ``field`` resolves; else a SuiteError
    naming the suite file and the field (checked while loading, before any work). Every suite
    kind checks its tokenizer lists with this."""
    from . import registry

    for t in names:
        try:
            registry.resolve(t)
        except registry.RegistryError as e:
            raise SuiteError(f"{path}: {field}: {e}") from None
