"""Codebook refinement: each edit returns a new Codebook and how existing codings follow it.

Edits never change the Codebook they are given. ``apply_change`` validates the result, recodes
the project's codings in one transaction, and saves the YAML atomically.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .codebook import ID_RE, dump_codebook, parse_codebook, save_codebook
from .errors import QualkitError
from .model import Code, Codebook


class CodebookEditError(QualkitError):
    """An edit that would break the codebook; nothing was changed."""


@dataclass
class CodebookChange:
    codebook: Codebook
    description: str
    recode: dict[str, str] = field(default_factory=dict)  # old code id -> new code id
    removed: list[str] = field(default_factory=list)


def add_code(book: Codebook, parent_id: str | None, code: Code,
             position: int | None = None) -> CodebookChange:
    """Add a code at the top level or under a parent (which becomes a theme)."""
    new = copy.deepcopy(book)
    if not ID_RE.match(code.id or ""):
        raise CodebookEditError(f"id {code.id!r} must be a lower-case slug, e.g. funding_worries",
                                field="id")
    if new.get(code.id) is not None:
        raise CodebookEditError(f"a code with id {code.id!r} already exists", field="id",
                                hint="choose another id")
    if parent_id is None:
        siblings = new.codes
    else:
        parent = new.get(parent_id)
        if parent is None:
            raise CodebookEditError(f"no code {parent_id!r} to add under", field="parent")
        siblings = parent.children
    siblings.insert(len(siblings) if position is None else position, copy.deepcopy(code))
    where = f" under '{parent_id}'" if parent_id else ""
    return CodebookChange(new, f"Added '{code.name}'{where}")


def apply_change(project: Any, change: CodebookChange, actor: str) -> int:
    """Make the change real: validate, recode codings, save the YAML. Returns codings recoded.

    The YAML is validated before anything is touched; codings are recoded in one transaction;
    if saving the file then fails, the recoding is reversed, so the two never disagree."""
    text = dump_codebook(change.codebook)
    parse_codebook(text, str(project.codebook_path))
    changed = 0
    if change.recode:
        changed = project.store.recode_codings(change.recode, actor, change.description)
    try:
        save_codebook(change.codebook, project.codebook_path)
    except Exception:
        if change.recode:
            project.store.recode_codings({v: k for k, v in change.recode.items()}, actor,
                                         "undo: " + change.description)
        raise
    project.store.set_meta("codebook_change", change.description, actor)
    return changed
