"""Memos on codes and themes, and the project journal: the researcher's own writing about the
analysis, kept in the project database and carried into the report's methods appendix.

- A code memo belongs to one coder and one code id (a theme is a code with codes under it);
  writing an empty memo clears it. Others' memos on the same code stay theirs.
- The journal is append-only: entries are added (who and when), never edited, so it stays a
  record of how the analysis went.

Every write is one store transaction with an audit event. Search is plain text: every word of
the query must appear (case-insensitive) in an entry, its author, or a memo's code name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import QualkitError
from .model import Codebook

MAX_TEXT = 20_000  # characters in one entry or memo


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class CodeMemo:
    code_id: str
    name: str  # the code's display name (``Codebook.display_name``), else its id
    coder: str
    text: str
    updated_at: datetime


def _who(who: str, what: str) -> str:
    if not who or not who.strip():
        raise QualkitError(f"say who is writing the {what} first", field="coder",
                           hint="enter your name (or pass --coder)")
    return who.strip()


def _text(text: str, what: str, allow_empty: bool = False) -> str:
    text = (text or "").strip()
    if not text and not allow_empty:
        raise QualkitError(f"the {what} is empty", field="text", hint="write something first")
    if len(text) > MAX_TEXT:
        raise QualkitError(f"the {what} is {len(text):,} characters long; at most "
                           f"{MAX_TEXT:,} fit", field="text", hint="split it into several")
    return text


def add_entry(store: Any, author: str, text: str) -> Entry:
    """Add an entry to the project journal."""
    author = _who(author, "journal entry")
    text = _text(text, "journal entry")
    entry_id = store.add_journal_entry(author, text)
    return next(e for e in entries(store) if e.id == entry_id)


def entries(store: Any) -> list[Entry]:
    """Every journal entry, oldest first."""
    return [Entry(*row) for row in store.journal_entries()]


def _matches(query: str, *fields: str) -> bool:
    words = query.casefold().split()
    haystack = "\n".join(fields).casefold()
    return all(w in haystack for w in words)


def search_entries(store: Any, query: str = "") -> list[Entry]:
    """Journal entries holding every word of ``query`` (in the text or the author); all of
    them for an empty query. Newest first, as a journal is read."""
    found = [e for e in entries(store) if _matches(query, e.text, e.author)]
    return sorted(found, key=lambda e: (e.at, e.id), reverse=True)


def set_code_memo(store: Any, code_id: str, coder: str, text: str,
                  codebook: Codebook | None = None) -> None:
    """Write ``coder``'s memo on a code or theme; an empty text clears it."""
    coder = _who(coder, "memo")
    if codebook is not None and codebook.get(code_id) is None:
        raise QualkitError(f"no code {code_id!r} in the codebook", field="code",
                           hint="pick a code or theme from the codebook")
    store.set_code_memo(code_id, coder, _text(text, "memo", allow_empty=True))


def code_memo(store: Any, code_id: str, coder: str) -> str:
    """``coder``'s memo on a code ("" when they have written none)."""
    return next((text for _, who, text, _ in store.code_memos(code_id) if who == coder), "")


def code_memos(store: Any, codebook: Codebook | None = None, code_id: str | None = None,
               coders: list[str] | None = None) -> list[CodeMemo]:
    """Memos on codes (one code's with ``code_id``; only these coders' with ``coders``), in
    codebook order, then memos on codes the codebook no longer has."""
    order = {cid: i for i, cid in enumerate(codebook.ids())} if codebook else {}
    name = codebook.display_name if codebook else str
    out = [CodeMemo(cid, name(cid), who, text, at)
           for cid, who, text, at in store.code_memos(code_id)
           if coders is None or who in coders]
    return sorted(out, key=lambda m: (order.get(m.code_id, len(order)), m.code_id, m.coder))


def search_memos(store: Any, query: str = "", codebook: Codebook | None = None,
                 coders: list[str] | None = None) -> list[CodeMemo]:
    """Code memos holding every word of ``query`` (in the text, the coder or the code's
    name)."""
    return [m for m in code_memos(store, codebook, coders=coders)
            if _matches(query, m.text, m.coder, m.name, m.code_id)]
