"""A code's Description in REFI-QDA: qualkit's fields written readably, and read back.

REFI-QDA gives a code only a name, a colour and one free-text Description. qualkit packs the
definition, include/exclude rules, examples and keywords into it so people in NVivo, ATLAS.ti,
MAXQDA or QualCoder can read them::

    Definition: Doing the job without colleagues nearby.
      (a second line of the definition is indented by two spaces)
    Include:
    - talk about working on their own
    Exclude:
    - lone hobbies
    Examples:
    - "I'm on my own most days"
    Keywords: work alone; on my own; lone worker

    qualkit id: working_alone
    qualkit patterns: [[{"LOWER": "nobody"}, {"LOWER": "else"}]]
    qualkit exclusive: true
    qualkit speakers: ["participant"]

The trailing ``qualkit ...`` lines (after a blank line) hold what only qualkit uses, so a round
trip through a .qdpx loses nothing. A description written by another program (no such headings)
becomes the code's definition, and its id is made from its name.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..codebook.io import is_code_id
from ..model import Code
from .common import ExchangeError

LIST_SECTIONS = {"include": "Include", "exclude": "Exclude", "examples": "Examples"}
HEADER_RE = re.compile(r"^(definition|include|includes|exclude|excludes|examples?|keywords?):"
                       r"(?: (.*)|\s*)$", re.I)
QUALKIT_RE = re.compile(r"^qualkit ([a-z_]+): (.*)$")
INDENT = "  "


def _field_lines(prefix: str, text: str) -> list[str]:
    first, *rest = text.split("\n")
    return [prefix + first] + [INDENT + line for line in rest]


def _simple_keyword(word: str) -> bool:
    return bool(word) and word == word.strip() and ";" not in word and "\n" not in word


def pack_code(code: Code) -> str:
    """The Description text for a code (readable fields, then the qualkit lines)."""
    lines: list[str] = []
    if code.definition:
        lines += _field_lines("Definition: ", code.definition)
    for attr, label in LIST_SECTIONS.items():
        items = getattr(code, attr)
        if items:
            lines.append(f"{label}:")
            for item in items:
                lines += _field_lines("- ", item)
    if code.keywords:
        if all(_simple_keyword(k) for k in code.keywords):
            lines.append("Keywords: " + "; ".join(code.keywords))
        else:
            lines.append("Keywords:")
            for word in code.keywords:
                lines += _field_lines("- ", word)
    block = [f"qualkit id: {code.id}"]
    if code.patterns:
        block.append("qualkit patterns: " + json.dumps(code.patterns, ensure_ascii=False))
    if code.exclusive:
        block.append("qualkit exclusive: true")
    if code.speakers is not None:
        block.append("qualkit speakers: " + json.dumps(code.speakers, ensure_ascii=False))
    return "\n".join(lines + ([""] if lines else []) + block)


def split_qualkit_block(text: str) -> tuple[str, dict[str, str]]:
    """Separate the trailing ``qualkit key: value`` lines from the readable part."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = len(lines)
    while start > 0 and QUALKIT_RE.match(lines[start - 1]):
        start -= 1
    if start == len(lines) or (start > 0 and lines[start - 1].strip()):
        return text, {}  # no block, or qualkit-looking lines glued to other text
    block: dict[str, str] = {}
    for line in lines[start:]:
        m = QUALKIT_RE.match(line)
        assert m is not None
        block[m.group(1)] = m.group(2)
    readable = lines[:start]
    if readable and readable[-1] == "":
        readable = readable[:-1]
    return "\n".join(readable), block


def pack_extra(text: str, values: dict[str, Any]) -> str:
    """Free text followed by qualkit lines (JSON values), e.g. for the project Description."""
    block = [f"qualkit {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    return "\n".join(([text, ""] if text else []) + block)


def unpack_extra(text: str) -> tuple[str, dict[str, Any]]:
    readable, block = split_qualkit_block(text)
    values: dict[str, Any] = {}
    for key, raw in block.items():
        try:
            values[key] = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            values[key] = raw
    return readable, values


@dataclass
class CodeFields:
    """What a Description says about a code."""

    definition: str = ""
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    id: str | None = None
    patterns: list[list[dict[str, Any]]] = field(default_factory=list)
    exclusive: bool = False
    speakers: list[str] | None = None


def _section(name: str) -> str:
    name = name.lower()
    if name.startswith("include"):
        return "include"
    if name.startswith("exclude"):
        return "exclude"
    if name.startswith("example"):
        return "examples"
    return "keywords" if name.startswith("keyword") else "definition"


def _readable(text: str, out: CodeFields) -> None:
    lines = text.split("\n")
    if not any(HEADER_RE.match(line) for line in lines):
        out.definition = text.strip("\n") if text.strip() else ""
        return
    preamble: list[str] = []
    definition: list[str] | None = None
    lists: dict[str, list[list[str]]] = {"include": [], "exclude": [], "examples": [],
                                         "keywords": []}
    target: list[str] | None = None  # the lines of the field being continued
    section: str | None = None
    blanks = 0
    for line in lines:
        header = HEADER_RE.match(line)
        if header:
            blanks, section = 0, _section(header.group(1))
            rest = header.group(2)
            if section == "definition":
                if definition is None:
                    definition = [rest or ""]
                else:
                    definition.append(rest or "")
                target = definition
            elif rest is not None and rest.strip():
                if section == "keywords":
                    lists["keywords"] += [[w.strip()] for w in rest.split(";") if w.strip()]
                    target = None
                else:
                    lists[section].append([rest])
                    target = lists[section][-1]
            else:
                target = None
            continue
        if line.startswith(INDENT) and target is not None:
            target.extend([""] * blanks)
            target.append(line[len(INDENT):])
            blanks = 0
            continue
        if not line.strip():
            blanks += 1
            continue
        if line.startswith("- ") and section in lists:
            lists[section].append([line[2:]])
            target, blanks = lists[section][-1], 0
            continue
        if target is None:
            if section is None:
                target = preamble
                target.extend([""] * blanks)
                target.append(line)
            blanks = 0
            continue
        target.extend([""] * blanks)
        target.append(line)
        blanks = 0
    parts = [p for p in ("\n".join(preamble).strip("\n"), "\n".join(definition or [])) if p]
    out.definition = "\n".join(parts)
    for key, items in lists.items():
        setattr(out, key, [t for t in ("\n".join(item) for item in items) if t.strip()])


def unpack_code(text: str, code_name: str, where: str) -> CodeFields:
    """Read a Description back (qualkit's own or another program's free text)."""
    readable, block = split_qualkit_block((text or "").replace("\r\n", "\n"))
    out = CodeFields()
    _readable(readable, out)
    field_name = f"code {code_name!r} Description"

    def bad(key: str, why: str) -> ExchangeError:
        return ExchangeError(f"'qualkit {key}:' {why}", path=where, field=field_name,
                             hint=f"fix or delete the 'qualkit {key}:' line in that code's "
                                  "description and export again")

    if "id" in block:
        out.id = block["id"].strip()
    if "patterns" in block:
        try:
            patterns = json.loads(block["patterns"])
        except (json.JSONDecodeError, RecursionError) as exc:
            raise bad("patterns", f"is not valid JSON ({getattr(exc, 'msg', exc)})") from None
        if not isinstance(patterns, list) or not all(
                isinstance(p, list) and p and all(isinstance(t, dict) for t in p)
                for p in patterns):
            raise bad("patterns", "must be a JSON list of spaCy patterns (lists of objects)")
        out.patterns = patterns
    if "exclusive" in block:
        value = block["exclusive"].strip().lower()
        if value not in ("true", "false"):
            raise bad("exclusive", "must be true or false")
        out.exclusive = value == "true"
    if "speakers" in block:
        try:
            speakers = json.loads(block["speakers"])
        except (json.JSONDecodeError, RecursionError) as exc:
            raise bad("speakers", f"is not valid JSON ({getattr(exc, 'msg', exc)})") from None
        if speakers is not None and not (isinstance(speakers, list) and all(
                isinstance(s, str) and s.strip() for s in speakers)):
            raise bad("speakers", "must be a JSON list of speaker names or roles")
        out.speakers = speakers
    return out


def slug(name: str) -> str:
    """A codebook id from a code name: lower-case ASCII letters, digits and '_'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    return text or "code"


class IdMaker:
    """Unique, valid code ids: the wanted id if it is valid and still free, else a slug of the
    name that avoids every id some other code wants (``reserved``)."""

    def __init__(self, reserved: list[str] | None = None) -> None:
        self.used: set[str] = set()
        self.reserved = {r for r in reserved or () if is_code_id(r)}

    def make(self, wanted: str | None, name: str) -> str:
        if is_code_id(wanted) and wanted not in self.used:
            self.used.add(wanted)
            return wanted
        base = slug(name)
        candidate, n = base, 2
        while candidate in self.used or candidate in self.reserved:
            candidate, n = f"{base}_{n}", n + 1
        self.used.add(candidate)
        return candidate
