"""The ``transplant`` model source (``tokbench.lm.models.MODEL_SOURCES``): a model given as
``transplant = {model, tokenizer, method, params}`` is built on first use and cached
(``ensure_transplant``); its identity (part of perplexity resume keys) is the entry itself and
``TRANSPLANT_VERSION``, so nothing is loaded or built to decide whether it is already scored."""
from __future__ import annotations

from typing import Any

from .build import TRANSPLANT_VERSION, ensure_transplant


class TransplantSource:
    def resolve(self, spec) -> tuple[str, str | None, str]:
        t = spec.transplant
        return str(ensure_transplant(t.model, t.tokenizer, t.method, dict(t.params))), None, ""

    def identity(self, spec) -> dict[str, Any]:
        return {"transplant": spec.transplant.model_dump(), "transplant_version": TRANSPLANT_VERSION}


TRANSPLANT = TransplantSource()
