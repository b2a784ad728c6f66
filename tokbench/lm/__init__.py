"""Model-side metrics: zero-shot perplexity of causal LMs through lm-eval (optional extra ``[lm]``).

Nothing here is imported by ``import tokbench``; torch, transformers and lm-eval load lazily.
"""
from __future__ import annotations

import importlib.util

LM_INSTALL_HINT = "install the [lm] extra (pip install torch==2.13.0 && pip install -e '.[lm]')"


def missing_packages(*extra: str) -> list[str]:
    """The model-side packages (torch, transformers, lm_eval, plus ``extra``) that are not installed."""
    return [m for m in ("torch", "transformers", "lm_eval", *extra) if importlib.util.find_spec(m) is None]
