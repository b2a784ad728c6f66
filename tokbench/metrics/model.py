"""Metrics computed outside the tokenizer-suite runner: model-side scores and the char-task analysis.

Their values come from the commands named in ``computed_by``; this registry gives the
leaderboard, `tokbench ls metrics` and the regression gate their unit, direction and variants.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .base import Described, Show


@dataclass(frozen=True)
class ModelMetric(Described):
    """A metric whose rows a suite kind other than ``tokenizer`` writes (its ``computed_by``).

    Plug-in suite kinds declare theirs the same way, under the ``tokbench.metrics`` entry-point
    group (docs/plugins.md)."""

    name: str
    variants: tuple[str, ...]
    unit: str
    higher_is_better: bool | None
    description: str
    computed_by: str
    display: Mapping[str, Show] = field(default_factory=dict)


_FAMILIES = ("count_char", "count_unique", "first_index", "last_index", "spell", "contains", "insert", "delete",
             "substitute", "swap")
_PPL = "tokbench perplexity (a `kind = \"perplexity\"` suite)"
_CHAR = "tokbench chartasks / a `kind = \"charlevel\"` suite"

BUILTIN_MODEL_METRICS: tuple[ModelMetric, ...] = (
    ModelMetric("bits_per_byte", ("micro",), "bits/byte", False,
                "Summed negative log2-likelihood of the documents over their UTF-8 bytes (lm-eval "
                "loglikelihood_rolling); comparable across tokenizers.", _PPL,
                {"micro": Show(order=210, drilldown=True, models_table=True)}),
    ModelMetric("byte_perplexity", ("micro",), "perplexity", False,
                "exp(-sum ll / sum UTF-8 bytes).", _PPL),
    ModelMetric("char_perplexity", ("micro",), "perplexity", False,
                "exp(-sum ll / sum code points).", _PPL),
    ModelMetric("word_perplexity", ("micro",), "perplexity", False,
                "exp(-sum ll / sum whitespace-separated words).", _PPL, {"micro": Show(order=240)}),
    ModelMetric("token_perplexity", ("micro",), "perplexity", False,
                "exp(-sum ll / sum model tokens); depends on the tokenizer, not comparable across models "
                "with different tokenizers.", _PPL),
    ModelMetric("ppl_ratio", ("byte", "token"), "ratio", False,
                "Perplexity of the model over that of the suite's reference model on identical text: byte "
                "(byte perplexities) and token (token perplexities, as TokenAdapt reports it).", _PPL,
                {"byte": Show(order=220, drilldown=True, models_table=True),
                 "token": Show(order=230, drilldown=True, models_table=True)}),
    ModelMetric("char_task_accuracy", _FAMILIES + ("all",),
                "share", True,
                "Exact-match accuracy of the model's answers on character-level task items (CharBench, CUTE), "
                "per task family.", _CHAR, {"all": Show(order=250, drilldown=True, models_table=True)}),
    ModelMetric("char_task_correlation", ("tokens", "token_len", "pos_in_token", "inside_multichar",
                                          "starts_token", "char_split"), "r", None,
                "Point-biserial correlation between item correctness and a tokenizer-side property of the "
                "item (variant = property), pooled over task families.", _CHAR),
    # tokenizer side of the character-level tasks (tokbench/chartasks/analysis.py); variant = task family
    ModelMetric("char_task_tokens_per_word", _FAMILIES + ("all",), "tokens", None,
                "Mean tokens in the task word (variant all: over each language's distinct words).", _CHAR,
                {"all": Show(order=270)}),
    ModelMetric("char_task_inside_multichar", _FAMILIES, "share", None,
                "Share of queried characters inside a multi-character token.", _CHAR,
                {"count_char": Show(order=260)}),
    ModelMetric("char_task_token_len", _FAMILIES, "chars", None,
                "Mean length in characters of the token holding the queried character.", _CHAR),
    ModelMetric("char_task_pos_in_token", _FAMILIES, "chars", None,
                "Mean 0-based position of the queried character in its token.", _CHAR),
    ModelMetric("char_task_starts_token", _FAMILIES, "share", None,
                "Share of queried characters that start a token.", _CHAR),
    ModelMetric("char_task_char_split", _FAMILIES, "share", None,
                "Share of queried characters whose bytes are split over several tokens.", _CHAR),
    ModelMetric("mixture_weight", ("weight",), "share", None,
                "Inferred share of the tokenizer's BPE training bytes from a category (row corpus = the category), "
                "solved from the order of its merge list (Hayase, Liu et al. 2024).",
                "tokbench infer-mixture / a kind = \"mixture\" suite", {"weight": Show(by_corpus=True)}),
)
