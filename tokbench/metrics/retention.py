"""Single-token retention rate (STRR) as TokLens defines it: words encoded ALONE.

TokLens (``src/toklens/metrics.py``, ``compute_strr``) splits the text on whitespace, encodes
every word occurrence by itself and reports ``#{words encoded as exactly one token} / #words``:
weighted by occurrences (a word that occurs ten times counts ten times), not by distinct
words. tokbench already encodes each distinct word alone for isolated fertility
(``TokenizedCorpus.word_iso_ntok``, one entry per word occurrence), so the statistic is two
sums that add across shards. Words are the units of the language's declared segmenter
(whitespace words for space-delimited scripts, as in TokLens; characters for Han, Thai, ...).
Encoding is without special tokens (TokLens' ``tokenizer.encode(word)`` adds them for
tokenizers whose post-processor does, e.g. BERT's [CLS]/[SEP]; tokbench does not).

The running-text counterpart (a word covered by one token in context) is ``pcw/unsplit``.

>>> import numpy as np
>>> from tokbench.tokenized import TokenizedCorpus
>>> from tokbench.metrics.base import MetricInput
>>> i = lambda *v: np.array(v, dtype=np.int64)
>>> tc = TokenizedCorpus(lang=np.array(["en"]), doc_key=np.array(["d0"]), n_bytes=i(9), n_chars=i(9),
...     n_words=i(3), n_tokens=i(3), roundtrip_ok=np.array([True]), unk_chars=i(0), ids=i(5, 6, 7),
...     tok_offsets=i(0, 3), tok_nwords=i(1, 1, 1), word_ntok=i(1, 1, 1), word_iso_ntok=i(1, 2, 1),
...     word_offsets=i(0, 3), meta={"vocab_size": 10})
>>> round(STRR.compute(MetricInput(tc))["isolated"].value, 4)
0.6667
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Metric, MetricInput, Show, Stats, Value, ratio
from .fertility import word_params


def _stats(inp: MetricInput) -> Stats:
    iso = np.asarray(inp.tc.word_iso_ntok)
    return {"single_token_words": int(np.count_nonzero(iso == 1)), "words": int(len(iso))}


def _finalize(s: Stats, params: Mapping[str, Any]) -> dict[str, Value]:
    single, words = int(s["single_token_words"]), int(s["words"])
    return {"isolated": Value(ratio(single, words), words,
                              {**word_params(params), "single_token_words": single, "words": words,
                               "weighting": "occurrences"})}


STRR = Metric(
    name="strr",
    variants=("isolated",),
    unit="share",
    higher_is_better=True,
    description="Single-token retention rate: share of word occurrences that are one token when each word is "
                "encoded alone (TokLens; Nayeem et al. 2025).",
    version=1,
    stats=_stats,
    finalize=_finalize,
    display={"isolated": Show(order=35)},
    word_examples=True,  # the gate shows the words that split (variant "isolated": encoded alone)
)
