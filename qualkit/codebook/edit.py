"""Codebook refinement: each edit returns a new Codebook and how existing codings follow it.

The edit functions are pure: they deep-copy the Codebook they are given, never change it, and
raise ``CodebookEditError`` (naming the code, the field and the fix) for an edit that would
break the codebook. Each returns a ``CodebookChange``: the new codebook, ``recode`` (old code
id -> new code id, for a rename with a new id, a merge or a delete with ``reassign_to``),
``removed`` (ids no longer in the codebook) and a one-line description.

``apply_change`` makes a change real for a project: it validates the new codebook, refuses to
drop a code that still has codings, and stores the new codebook version with the recoded codings
in one transaction with an audit event, so the codebook and the codings never disagree.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConflictError, QualkitError
from ..model import Code, Codebook
from .io import (
    LIST_FIELDS,
    InvalidValue,
    checked_color,
    checked_flag,
    checked_id,
    checked_language,
    checked_lines,
    checked_name,
    checked_text,
    dump_codebook,
    duplicate_id,
    exclusive_problem,
    parse_codebook,
)


class CodebookEditError(QualkitError):
    """An edit that would break the codebook (or lose codings); nothing was changed."""


@dataclass
class CodebookChange:
    """A new codebook and how existing codings follow it."""

    codebook: Codebook
    description: str
    recode: dict[str, str] = field(default_factory=dict)  # old code id -> new code id
    removed: list[str] = field(default_factory=list)  # code ids no longer in the codebook


EDITABLE = ("definition", *LIST_FIELDS, "speakers", "exclusive")
ELSEWHERE = {"name": "rename_code", "id": "rename_code", "color": "recolour",
             "children": "add_code, move_code or split_code"}


# -- helpers ---------------------------------------------------------------------------------
def _q(code: Code) -> str:
    return f"'{code.name}'"


def _find(book: Codebook, code_id: Any, what: str = "code") -> Code:
    code = book.get(code_id) if isinstance(code_id, str) else None
    if code is None:
        raise CodebookEditError(f"no code {code_id!r} in the codebook", field=what,
                                hint="give the id of an existing code (ids are lower-case)")
    return code


def _siblings(book: Codebook, code_id: str) -> list[Code]:
    parent = book.parent_of(code_id)
    return parent.children if parent is not None else book.codes


def _index(siblings: list[Code], code_id: str) -> int:
    return next(i for i, c in enumerate(siblings) if c.id == code_id)


def _position(siblings: list[Code], position: Any) -> int:
    if position is None:
        return len(siblings)
    if isinstance(position, bool) or not isinstance(position, int) or not (
            0 <= position <= len(siblings)):
        raise CodebookEditError(f"position {position!r} is out of range", field="position",
                                hint=f"give 0 to {len(siblings)}, or leave it out to add at the "
                                     "end")
    return position


def _checked(check: Callable[[Any], Any], value: Any, field: str, where: str = "") -> Any:
    """A value checked by the codebook's own rule for it (``io``), its message raised as a
    CodebookEditError; ``where`` (e.g. "keywords of 'upbeat'") starts the message."""
    try:
        return check(value)
    except InvalidValue as exc:
        item = f", item {exc.index + 1}," if exc.index is not None else ""
        raise CodebookEditError(f"{where}{item} {exc}" if where else str(exc),
                                field=field) from None


def _check_new_id(book: Codebook, code_id: Any, taken: frozenset[str] | set[str] = frozenset()
                  ) -> str:
    _checked(checked_id, code_id, "id")
    if book.get(code_id) is not None or code_id in taken:
        raise CodebookEditError(str(duplicate_id(code_id)), field="id")
    return code_id


def _name(value: Any) -> str:
    return _checked(checked_name, value, "name")


def _colour(value: Any) -> str:
    return _checked(checked_color, value, "color")


def _clean(code: Code, key: str, value: Any) -> Any:
    """A checked value for one editable field of ``code``."""
    where = f"{key} of '{code.id}'"
    if key == "definition":
        return _checked(checked_text, value, key, where)
    if key in LIST_FIELDS or key == "speakers":
        if key == "speakers" and value is None:
            return None  # inherit from the parent code or the codebook
        lines = _checked(checked_lines, value, key, where)
        return list(dict.fromkeys(v.strip() for v in lines))  # stripped, no duplicates
    if key == "exclusive":
        value = _checked(checked_flag, value, key, where)
        problem = exclusive_problem(Code(code.id, code.name, exclusive=value,
                                         children=code.children))
        if problem is not None:
            raise CodebookEditError(str(problem), field=key)
        return value
    use = ELSEWHERE.get(key)
    raise CodebookEditError(f"'{key}' cannot be edited with edit_code", field=key,
                            hint=f"use {use}" if use else
                            f"editable fields: {', '.join(EDITABLE)}")


def _checked_code(book: Codebook, code: Any) -> Code:
    """A deep copy of a new code (and any codes under it), every field checked."""
    if not isinstance(code, Code):
        raise CodebookEditError(f"expected a Code, got {type(code).__name__}", field="code")
    new = copy.deepcopy(code)
    taken: set[str] = set()
    for item in new.subtree():
        taken.add(_check_new_id(book, item.id, taken))
        item.name = _name(item.name)
        if item.color is not None:
            item.color = _colour(item.color)
        for key in EDITABLE:
            setattr(item, key, _clean(item, key, getattr(item, key)))
    return new


def _check_tree(book: Codebook) -> None:
    """Structure every edit must keep: some codes, and no exclusive code left empty."""
    if not book.codes:
        raise CodebookEditError("the codebook would have no codes left", field="codes",
                                hint="add another code first")
    for code in book.all_codes():
        if code.exclusive and not code.children:
            raise CodebookEditError(
                f"{_q(code)} ({code.id}) is exclusive (one of its codes per segment) and would "
                "be left with no codes under it", field="exclusive",
                hint=f"first make it non-exclusive: edit_code(book, '{code.id}', "
                     "exclusive=False)")


# -- edits -----------------------------------------------------------------------------------
def add_code(book: Codebook, parent_id: str | None, code: Code,
             position: int | None = None) -> CodebookChange:
    """Add a code (with any codes under it) at the top level or under a parent, at
    ``position`` among its siblings (default: last)."""
    new = copy.deepcopy(book)
    added = _checked_code(new, code)
    parent = None if parent_id is None else _find(new, parent_id, "parent")
    siblings = new.codes if parent is None else parent.children
    siblings.insert(_position(siblings, position), added)
    where = f" under {_q(parent)}" if parent is not None else ""
    return CodebookChange(new, f"Added {_q(added)} ({added.id}){where}")


def rename_code(book: Codebook, code_id: str, new_name: str | None = None,
                new_id: str | None = None) -> CodebookChange:
    """Rename a code; a new id moves its codings along with it (``recode``)."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    if new_name is None and new_id is None:
        raise CodebookEditError(f"nothing to rename for '{code_id}'", field="name",
                                hint="give new_name, new_id or both")
    old_name = code.name
    recode: dict[str, str] = {}
    if new_name is not None:
        code.name = _name(new_name)
    if new_id is not None and new_id != code_id:
        code.id = _check_new_id(new, new_id)
        recode[code_id] = new_id
    parts = []
    if code.name != old_name:
        parts.append(f"'{old_name}' to {_q(code)}")
    if recode:
        parts.append(f"id '{code_id}' to '{code.id}'")
    text = f"Renamed {' and '.join(parts)}" if parts else f"No change to {_q(code)}"
    return CodebookChange(new, text, recode)


def recolour(book: Codebook, code_id: str, color: str) -> CodebookChange:
    """Give a code a colour (hex, e.g. #1f77b4; stored in lower case)."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    code.color = _colour(color)
    return CodebookChange(new, f"Recoloured {_q(code)} to {code.color}")


def edit_code(book: Codebook, code_id: str, **fields: Any) -> CodebookChange:
    """Change a code's definition, include/exclude rules, examples, keywords, speakers (a list,
    or None to inherit) or whether it is exclusive. List items are stripped and de-duplicated."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    if not fields:
        raise CodebookEditError(f"nothing to edit for '{code_id}'",
                                hint=f"give one or more of: {', '.join(EDITABLE)}")
    cleaned = {key: _clean(code, key, value) for key, value in fields.items()}
    for key, value in cleaned.items():
        setattr(code, key, value)
    return CodebookChange(new, f"Edited {', '.join(fields)} of {_q(code)}")


class NothingChanged(CodebookEditError):
    """An update whose values are the code's current ones: nothing to save."""


def update_code(book: Codebook, code_id: str, **changes: Any) -> CodebookChange:
    """Save a code's form in one change: ``name``, ``id``, ``color`` and any field
    ``edit_code`` takes. Only values that differ from the code's current ones change; every
    value is checked before anything changes, and a new id moves the codings (``recode``).

    ``color`` is a hex value, or None to inherit. A code without a colour of its own keeps
    inheriting when given back the colour it shows (``Codebook.color_of``: its nearest
    coloured ancestor's, else the default grey). Raises ``NothingChanged`` when every value is
    the current one."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    for key in changes:
        if key not in ("name", "id", "color", *EDITABLE):
            use = ELSEWHERE.get(key)
            raise CodebookEditError(f"'{key}' cannot be changed with update_code", field=key,
                                    hint=f"use {use}" if use else "fields: name, id, color, "
                                    + ", ".join(EDITABLE))
    # Check every value first: a refused value leaves nothing half-changed.
    wanted: dict[str, Any] = {}
    if "name" in changes:
        wanted["name"] = _name(changes.pop("name"))
    new_id = changes.pop("id", None)
    if isinstance(new_id, str):
        new_id = new_id.strip() or None
    if new_id is not None and new_id != code_id:
        wanted["id"] = _check_new_id(new, new_id)
    if "color" in changes:
        color = changes.pop("color")
        color = None if color is None else _colour(color)
        if code.color is None and color == _colour(new.color_of(code_id)):
            color = None  # the picker was left at the inherited colour: keep inheriting
        wanted["color"] = color
    wanted.update({key: _clean(code, key, value) for key, value in changes.items()})
    current = {key: getattr(code, key) for key in wanted}
    if current.get("color"):
        current["color"] = current["color"].lower()
    changed = [key for key, value in wanted.items() if current[key] != value]
    if not changed:
        raise NothingChanged(f"nothing changed in {_q(code)}: every value is the current one",
                             field="code", hint="change a field before saving")
    old_name = code.name
    for key in changed:
        setattr(code, key, wanted[key])
    if "exclusive" in changed or "id" in changed:
        _check_tree(new)
    recode = {code_id: code.id} if "id" in changed else {}
    parts = []
    if "name" in changed or recode:
        parts.append("renamed " + " and ".join(
            ([f"'{old_name}' to {_q(code)}"] if "name" in changed else [])
            + ([f"id '{code_id}' to '{code.id}'"] if recode else [])))
    if "color" in changed:
        parts.append(f"recoloured to {code.color}" if code.color else "colour inherited")
    fields = [key for key in changed if key not in ("name", "id", "color")]
    if fields:
        parts.append("edited " + ", ".join(fields))
    text = "; ".join(parts)
    return CodebookChange(new, f"Saved {_q(code)}: {text}", recode)


def set_language(book: Codebook, language: Any) -> CodebookChange:
    """Say which language the codebook's keywords are written in (ISO 639-1, e.g. de): its
    keywords are then matched on that language's lemmas. Raises ``NothingChanged`` for the
    current language."""
    wanted = _checked(checked_language, language, "language")
    if wanted == book.language:
        raise NothingChanged(f"the codebook's language is already {wanted}", field="language",
                             hint="give another language code to change it")
    new = copy.deepcopy(book)
    new.language = wanted
    return CodebookChange(new, f"Set the codebook's language to {wanted} (was {book.language})")


def parse_split_lines(text: str) -> list[Code]:
    """The new codes of a split, written one per line as ``id: name`` (a line without a colon
    is both); blank lines are skipped. The codes are checked when the split is made."""
    codes = []
    for line in text.splitlines():
        if not line.strip():
            continue
        code_id, sep, name = line.partition(":")
        codes.append(Code(id=code_id.strip(), name=(name if sep else code_id).strip()))
    if not codes:
        raise CodebookEditError("give the new codes, one per line as id: name",
                                field="new_codes", hint="e.g. funding_worries: Funding worries")
    return codes


def move_code(book: Codebook, code_id: str, new_parent_id: str | None,
              position: int | None = None) -> CodebookChange:
    """Move a code (with the codes under it) under another parent or to the top level, at
    ``position`` among its new siblings (counted without it; default: last)."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    parent = None
    if new_parent_id is not None:
        parent = _find(new, new_parent_id, "parent")
        if any(item.id == new_parent_id for item in code.subtree()):
            raise CodebookEditError(
                f"cannot move {_q(code)} under itself or one of its own codes "
                f"('{new_parent_id}')", field="parent",
                hint="choose a parent outside it, or move that code out first")
    siblings = _siblings(new, code_id)
    del siblings[_index(siblings, code_id)]
    target = new.codes if parent is None else parent.children
    target.insert(_position(target, position), code)
    _check_tree(new)
    where = f"under {_q(parent)}" if parent is not None else "to the top level"
    return CodebookChange(new, f"Moved {_q(code)} {where}")


def merge_codes(book: Codebook, source_ids: list[str], target_id: str) -> CodebookChange:
    """Merge codes into a target: the sources go; their include/exclude rules, examples,
    keywords and patterns join the target's (without duplicates), the codes under them move
    under the target, and their codings become the target's. The target's own name, definition
    and settings stay. A target listed among the sources is skipped."""
    if isinstance(source_ids, str) or not isinstance(source_ids, (list, tuple)):
        raise CodebookEditError("source_ids must be a list of code ids", field="source_ids",
                                hint="e.g. merge_codes(book, ['a', 'b'], 'c')")
    new = copy.deepcopy(book)
    target = _find(new, target_id, "target")
    removed = [s for s in dict.fromkeys(source_ids) if s != target_id]
    if not removed:
        raise CodebookEditError(f"nothing to merge into '{target_id}'", field="source_ids",
                                hint="choose one or more codes other than the target")
    sources = [_find(new, s, "source_ids") for s in removed]
    for source in sources:
        if any(item.id == target_id for item in source.subtree()):
            raise CodebookEditError(
                f"cannot merge {_q(source)} into '{target_id}', which is one of its own codes",
                field="target", hint="move the target out of it first, or merge the other way")
    for source in sources:
        for key in LIST_FIELDS:
            have = getattr(target, key)
            for value in getattr(source, key):
                if value not in have:
                    have.append(value)
        target.patterns += [p for p in source.patterns if p not in target.patterns]
        siblings = _siblings(new, source.id)
        del siblings[_index(siblings, source.id)]
        target.children += source.children
    _check_tree(new)
    return CodebookChange(new, f"Merged {', '.join(removed)} into '{target_id}'",
                          {s: target_id for s in removed}, removed)


def split_code(book: Codebook, code_id: str, new_codes: list[Code],
               as_children: bool = False) -> CodebookChange:
    """Add codes split off from one: as its siblings right after it, or (``as_children``)
    under it. The original stays and keeps its codings, for the researcher to reassign."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    if not isinstance(new_codes, (list, tuple)) or not new_codes:
        raise CodebookEditError(f"give the codes to split '{code_id}' into", field="new_codes",
                                hint="a list of one or more Code(id=..., name=...)")
    parts: list[Code] = []
    for item in new_codes:
        # Each new code is checked against the codebook as it grows, so ids stay unique.
        parts.append(_checked_code(new, item))
        if as_children:
            code.children.append(parts[-1])
        else:
            siblings = _siblings(new, code_id)
            siblings.insert(_index(siblings, code_id) + len(parts), parts[-1])
    names = ", ".join(_q(p) for p in parts)
    return CodebookChange(new, f"Split {_q(code)} into {names}"
                          + (" (under it)" if as_children else ""))


def delete_code(book: Codebook, code_id: str, reassign_to: str | None = None,
                counts: dict[str, Any] | None = None) -> CodebookChange:
    """Remove a code that has no codes under it. Its codings move to ``reassign_to``; without
    it, a code that still has codings is refused (here when ``counts`` - codings per code id,
    as totals or per status - is given, and always in ``apply_change``)."""
    new = copy.deepcopy(book)
    code = _find(new, code_id)
    if code.children:
        raise CodebookEditError(
            f"{_q(code)} ({code_id}) has codes under it: "
            + ", ".join(c.id for c in code.children), field="code",
            hint="move them elsewhere first, or merge it into another code to keep them")
    if reassign_to is None:
        used = _total((counts or {}).get(code_id, 0))
        if used:
            raise _still_used(code, used, (counts or {}).get(code_id))
    else:
        target = _find(new, reassign_to, "reassign_to")
        if target.id == code_id:
            raise CodebookEditError("cannot reassign a code's codings to itself",
                                    field="reassign_to", hint="choose another code")
    siblings = _siblings(new, code_id)
    del siblings[_index(siblings, code_id)]
    _check_tree(new)
    if reassign_to is None:
        return CodebookChange(new, f"Deleted {_q(code)} ({code_id})", removed=[code_id])
    return CodebookChange(new, f"Deleted {_q(code)} ({code_id}); its codings move to "
                               f"'{reassign_to}'", {code_id: reassign_to}, [code_id])


def _total(n: Any) -> int:
    return sum(n.values()) if isinstance(n, dict) else int(n or 0)


def _still_used(code: Code, used: int,
                by_status: dict[str, int] | None = None) -> CodebookEditError:
    detail = ""
    if isinstance(by_status, dict):
        detail = " (" + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()) if n) + ")"
    return CodebookEditError(
        f"cannot delete {_q(code)} ({code.id}): it still has {used} coding"
        f"{'s' if used != 1 else ''}{detail}", field="code",
        hint="move them to another code (delete_code(..., reassign_to='other_id'), or 'Move its "
             "codings to' in the app) or merge it into another code")


# -- applying a change to a project ----------------------------------------------------------
def apply_change(project: Any, change: CodebookChange, actor: str,
                 base: Codebook | None = None) -> int:
    """Make a change real for a project; returns how many codings were recoded.

    In order:

    1. With ``base`` (the codebook the edit started from), refuse if the project's codebook
       was changed by someone else since (``ConflictError``; nothing is overwritten).
    2. Validate: dump the new codebook and parse it back (every field, spaCy patterns too).
    3. Refuse to drop a code that still has codings (any status) unless ``recode`` moves them,
       saying how many it has; check every recode target is in the new codebook.
    4. In ONE store transaction (``Store.recode_codings``): recode the codings, store the new
       codebook as the next version (refused if another change got there first), and write
       the audit event (action ``refine``, entity ``codebook``: description, mapping,
       counts). The codebook and the codings commit together or not at all.
    5. Write codebook.yaml, the view of the new version (a crash before this leaves a stale
       view, which the project rewrites the next time it is opened).

    Every change, recoding or not, writes exactly one audit event. Saving writes the YAML in
    qualkit's layout: comments in a hand-written codebook.yaml are not kept.
    """
    store = project.store
    state = project.codebook_state()
    current = project.codebook(check_patterns=False) if state is not None else None
    if base is not None and current is not None and dump_codebook(current) != dump_codebook(base):
        raise ConflictError("the codebook was changed by someone else since you opened it; "
                            "nothing was overwritten", path=str(project.codebook_path),
                            hint="reload and make the change again")

    text = dump_codebook(change.codebook)
    book = parse_codebook(text, str(project.codebook_path))  # raises CodebookError listing all
    new_ids = set(book.ids())
    for old, new in change.recode.items():
        if new not in new_ids:
            raise CodebookEditError(f"codings of '{old}' would move to '{new}', which is not in "
                                    "the new codebook", field="recode",
                                    hint="recode to a code the codebook keeps")
    if current is not None:
        counts = store.code_counts()
        for code in current.all_codes():
            if code.id not in new_ids and code.id not in change.recode:
                used = _total(counts.get(code.id, {}))
                if used:
                    raise _still_used(code, used, counts.get(code.id))
    changed = store.recode_codings(change.recode, actor, change.description,
                                   codebook=(text, None if state is None else state[0]))
    project.codebook_state()  # writes the view of the new version
    return changed
