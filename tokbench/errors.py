"""The one base of every "bad input" error: the CLI turns any of them into one line on stderr and
exit 2 (a malformed suite, an unknown tokenizer, a corpus that is not there, a results folder
that is a file, a broken plug-in, ...). Light on purpose: the CLI imports it at start."""
from __future__ import annotations


class BadInput(Exception):
    """Raised for input the user can fix; the message names the file, entry or option and the fix."""


class CorpusError(BadInput, ValueError):
    """A corpus could not be loaded; the message names the file/entry and the fix."""
