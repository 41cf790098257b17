"""The one CSV formula-injection policy (OWASP "CSV injection"), for every CSV qualkit writes.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula. ``csv_guard`` puts an apostrophe in front of such text, and also in front
of text that already starts with apostrophes followed by one of those characters, so that
``csv_unguard`` (used where qualkit reads its own CSV tables back) can take exactly one
apostrophe off every cell of the form ``'...'`` + trigger character and give back the text
exactly. A cell starting with an apostrophe followed by anything else (``'cause``) is never
changed either way. Numbers are not text and are written as they are.
"""

from __future__ import annotations

import re
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_GUARD_NEEDED = re.compile(r"'*[=+\-@\t\r]")
_GUARDED = re.compile(r"'+[=+\-@\t\r]")


def csv_guard(value: Any) -> Any:
    """A CSV cell's value made safe to open in a spreadsheet (text only; others unchanged)."""
    if isinstance(value, str) and _GUARD_NEEDED.match(value):
        return "'" + value
    return value


def csv_unguard(value: str) -> str:
    """The text ``csv_guard`` was given: one apostrophe off a guarded cell, else unchanged."""
    return value[1:] if _GUARDED.match(value) else value
