"""Language tags: BCP 47 checks with a hint at the tag that was probably meant."""
from __future__ import annotations

from .errors import CorpusError


def check_lang_tag(tag: str, *, where: str) -> str:
    """``tag`` if it is a well-formed BCP 47 language tag (``langcodes``), else a CorpusError
    naming ``where`` and, when one is close, the tag that was probably meant."""
    import langcodes

    if langcodes.tag_is_valid(tag):
        return tag
    hint = ""
    head = tag.replace("_", "-").split("-")[0]
    if head != tag and langcodes.tag_is_valid(head):
        hint = f"; did you mean {head!r}?"
    elif tag.lower() != tag and langcodes.tag_is_valid(tag.lower()):
        hint = f"; did you mean {tag.lower()!r}?"
    raise CorpusError(f"{where}: {tag!r} is not a BCP 47 language tag (e.g. en, tr, de-1996, zh-Hans, pt-BR){hint}")


__all__ = ["check_lang_tag"]
