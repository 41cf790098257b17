"""Codebook refinement: each edit returns a new Codebook and how existing codings follow it.

Edits never change the Codebook they are given. ``apply_change`` validates the result, recodes
the project's codings in one transaction, and saves the YAML atomically.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .codebook import COLOR_RE, ID_RE, dump_codebook, parse_codebook, save_codebook
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


def _find(book: Codebook, code_id: str) -> Code:
    code = book.get(code_id)
    if code is None:
        raise CodebookEditError(f"no code {code_id!r} in the codebook", field="code")
    return code


def _siblings(book: Codebook, code_id: str) -> list[Code]:
    parent = book.parent_of(code_id)
    return parent.children if parent is not None else book.codes


def rename_code(book: Codebook, code_id: str, new_name: str | None = None,
                new_id: str | None = None) -> CodebookChange:
    """Rename a code; a new id moves its codings along with it."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    recode = {}
    if new_name is not None:
        if not new_name.strip():
            raise CodebookEditError("a code needs a name", field="name")
        code.name = new_name.strip()
    if new_id is not None and new_id != code_id:
        if not ID_RE.match(new_id):
            raise CodebookEditError(f"id {new_id!r} must be a lower-case slug", field="id")
        if new.get(new_id) is not None:
            raise CodebookEditError(f"a code with id {new_id!r} already exists", field="id")
        code.id = new_id
        recode[code_id] = new_id
    return CodebookChange(new, f"Renamed '{code_id}' to '{code.name}' ({code.id})", recode)


def recolour(book: Codebook, code_id: str, color: str) -> CodebookChange:
    new = copy.deepcopy(book)
    if not COLOR_RE.match(color or ""):
        raise CodebookEditError(f"colour {color!r} must be a hex value like #1f77b4",
                                field="color")
    _find(new, code_id).color = color.lower()
    return CodebookChange(new, f"Recoloured '{code_id}' to {color.lower()}")


EDITABLE = {"definition": str, "include": list, "exclude": list, "examples": list,
            "keywords": list}


def edit_code(book: Codebook, code_id: str, **fields: Any) -> CodebookChange:
    """Change a code's definition, include/exclude rules, examples or keywords."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    for key, value in fields.items():
        kind = EDITABLE.get(key)
        if kind is None:
            raise CodebookEditError(f"'{key}' cannot be edited here", field=key)
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                      for v in value):
                raise CodebookEditError(f"'{key}' must be a list of non-empty lines",
                                        field=key)
            value = [v.strip() for v in value]
        elif not isinstance(value, str):
            raise CodebookEditError(f"'{key}' must be text", field=key)
        setattr(code, key, value)
    return CodebookChange(new, f"Edited {', '.join(fields)} of '{code_id}'")


def move_code(book: Codebook, code_id: str, new_parent_id: str | None,
              position: int | None = None) -> CodebookChange:
    """Move a code (with its children) under another parent, or to the top level."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    if new_parent_id is not None:
        target = _find(new, new_parent_id)
        node, stack = None, [code]
        while stack:
            node = stack.pop()
            if node.id == target.id:
                raise CodebookEditError(f"cannot move '{code_id}' under itself or one of its "
                                        "own codes", field="parent")
            stack.extend(node.children)
    _siblings(new, code_id).remove(code)
    siblings = new.codes if new_parent_id is None else new.get(new_parent_id).children
    siblings.insert(len(siblings) if position is None else position, code)
    return CodebookChange(new, f"Moved '{code_id}' under '{new_parent_id or 'top level'}'")


def merge_codes(book: Codebook, source_ids: list[str], target_id: str) -> CodebookChange:
    """Merge codes into a target: their rules, examples and keywords join it, their children
    move under it, and their codings become the target's."""
    new = copy.deepcopy(book)
    target = _find(new, target_id)
    for source_id in source_ids:
        if source_id == target_id:
            continue
        source = _find(new, source_id)
        node, stack = None, [source]
        while stack:
            node = stack.pop()
            if node.id == target_id:
                raise CodebookEditError(f"cannot merge '{source_id}' into its own code "
                                        f"'{target_id}'")
            stack.extend(node.children)
        for key in ("include", "exclude", "examples", "keywords"):
            merged = getattr(target, key) + [v for v in getattr(source, key)
                                             if v not in getattr(target, key)]
            setattr(target, key, merged)
        target.patterns += [p for p in source.patterns if p not in target.patterns]
        target.children += source.children
        _siblings(new, source_id).remove(source)
    removed = [s for s in source_ids if s != target_id]
    return CodebookChange(new, f"Merged {', '.join(removed)} into '{target_id}'",
                          {s: target_id for s in removed}, removed)


def split_code(book: Codebook, code_id: str, new_codes: list[Code],
               as_children: bool = False) -> CodebookChange:
    """Add codes split off from one (as siblings, or as its children); its codings stay on it
    for the researcher to reassign."""
    change = CodebookChange(copy.deepcopy(book), "")
    for code in new_codes:
        parent = code_id if as_children else (book.parent_of(code_id).id
                                              if book.parent_of(code_id) else None)
        change = add_code(change.codebook, parent, code)
    change.description = (f"Split '{code_id}' into " + ", ".join(c.id for c in new_codes))
    return change


def delete_code(book: Codebook, code_id: str, reassign_to: str | None = None,
                counts: dict[str, int] | None = None) -> CodebookChange:
    """Remove a code; refused while codings use it unless they are reassigned."""
    used = (counts or {}).get(code_id, 0)
    if used and reassign_to is None:
        raise CodebookEditError(f"'{code_id}' still has {used} codings",
                                hint="reassign them to another code (merge) first")
    if reassign_to is not None:
        return merge_codes(book, [code_id], reassign_to)
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    if code.children:
        raise CodebookEditError(f"'{code_id}' has codes under it; move or delete them first")
    _siblings(new, code_id).remove(code)
    return CodebookChange(new, f"Deleted '{code_id}'", removed=[code_id])


def apply_change(project: Any, change: CodebookChange, actor: str,
                 base: Codebook | None = None) -> int:
    """Make the change real: validate, recode codings, save the YAML. Returns codings recoded.

    The YAML is validated before anything is touched; codings are recoded in one transaction;
    if saving the file then fails, the recoding is reversed, so the two never disagree. With
    ``base`` (the codebook the edit started from), a codebook changed meanwhile by someone
    else is not overwritten."""
    from .codebook import load_codebook
    from .errors import ConflictError

    if base is not None and project.codebook_path.exists():
        current = load_codebook(project.codebook_path, check_patterns=False)
        if dump_codebook(current) != dump_codebook(base):
            raise ConflictError("the codebook was changed by someone else since you opened it; "
                                "nothing was overwritten", hint="reload and make the change again")
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
