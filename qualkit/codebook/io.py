"""Codebook YAML <-> Codebook, with validation that reports every problem with its line and field.

The YAML is composed into nodes first so each value keeps its line number; problems are collected
rather than raised one at a time, so a researcher fixes a broken codebook in one pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import CodebookError, Problem
from ..fileio import atomic_write_text
from ..model import Code, Codebook

TOP_FIELDS = ("name", "version", "description", "speakers", "codes")
CODE_FIELDS = ("id", "name", "definition", "include", "exclude", "examples", "keywords",
               "patterns", "color", "speakers", "exclusive", "children")
LIST_FIELDS = ("include", "exclude", "examples", "keywords")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

PathKey = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. Under YAML 1.1 the keyword `no`, the pattern value
    `on` and the answer `yes` would silently turn into booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "tTfF":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                  re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])


def _line_index(node: yaml.Node | None, path: PathKey, lines: dict[PathKey, int],
                problems: list[Problem]) -> None:
    """Record the 1-based line of every node by its path, and flag duplicate mapping keys."""
    if node is None:
        return
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(f"duplicate key (first given on line {seen[key]}); "
                                        "remove one of them", line, _dotted(path + (key,))))
            seen[key] = line
            lines[path + (key, "__key__")] = line
            _line_index(value_node, path + (key,), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), lines, problems)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        if part == "__key__":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Validator:
    def __init__(self, lines: dict[PathKey, int], check_patterns: bool = True) -> None:
        self.lines = lines
        self.check_patterns = check_patterns
        self.problems: list[Problem] = []
        self.seen_ids: dict[str, int | None] = {}

    def line(self, path: PathKey) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def add(self, path: PathKey, message: str, key_line: bool = False) -> None:
        line = self.lines.get(path + ("__key__",)) if key_line else None
        self.problems.append(Problem(message, line or self.line(path), _dotted(path)))

    def text(self, data: dict[str, Any], key: str, path: PathKey, required: bool = False) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.add(path + (key,), f"'{key}' is required and must not be empty")
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.add(path + (key,), f"must be text, got {type(value).__name__}")
            return ""
        if required and not value.strip():
            self.add(path + (key,), f"'{key}' must not be empty")
        return value.strip() if key in ("id", "name") else value

    def strings(self, data: dict[str, Any], key: str, path: PathKey) -> list[str]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path + (key,), "must be a list (one '- item' per line)")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.add(path + (key, i), "must be non-empty text")
                continue
            out.append(item)
        return out

    def unknown(self, data: dict[str, Any], allowed: tuple[str, ...], path: PathKey) -> None:
        for key in data:
            if key not in allowed:
                self.add(path + (key,), f"unknown field '{key}'; allowed: {', '.join(allowed)}",
                         key_line=True)

    def codebook(self, data: Any) -> Codebook:
        if not isinstance(data, dict):
            self.add((), "a codebook must be a mapping with 'name' and 'codes'")
            return Codebook(name="")
        self.unknown(data, TOP_FIELDS, ())
        book = Codebook(
            name=self.text(data, "name", (), required=True),
            version=self.text(data, "version", ()) or "1.0",
            description=self.text(data, "description", ()),
            speakers=self.strings(data, "speakers", ()),
        )
        codes = data.get("codes")
        if not isinstance(codes, list) or not codes:
            self.add(("codes",), "'codes' must be a non-empty list of codes")
        else:
            book.codes = self.code_list(codes, ("codes",))
        return book

    def code_list(self, items: list[Any], path: PathKey) -> list[Code]:
        out = []
        for i, item in enumerate(items):
            code = self.code(item, path + (i,))
            if code is not None:
                out.append(code)
        return out

    def code(self, data: Any, path: PathKey) -> Code | None:
        if not isinstance(data, dict):
            self.add(path, "each code must be a mapping with at least 'id' and 'name'")
            return None
        self.unknown(data, CODE_FIELDS, path)
        code_id = self.text(data, "id", path, required=True)
        if code_id:
            if not ID_RE.match(code_id):
                self.add(path + ("id",), f"id '{code_id}' must be a lower-case slug "
                         "(letters a-z, digits, '_' or '-', e.g. working_alone)")
            line = self.line(path + ("id",))
            if code_id in self.seen_ids:
                self.add(path + ("id",), f"duplicate id '{code_id}' (first used on line "
                         f"{self.seen_ids[code_id]}); ids must be unique across the codebook")
            else:
                self.seen_ids[code_id] = line
        code = Code(
            id=code_id,
            name=self.text(data, "name", path, required=True),
            definition=self.text(data, "definition", path),
            include=self.strings(data, "include", path),
            exclude=self.strings(data, "exclude", path),
            examples=self.strings(data, "examples", path),
            keywords=self.strings(data, "keywords", path),
            patterns=self.patterns(data.get("patterns"), path + ("patterns",)),
        )
        color = data.get("color")
        if color is not None:
            if isinstance(color, str) and COLOR_RE.match(color):
                code.color = color.lower()
            else:
                self.add(path + ("color",), f"colour {color!r} must be a hex value like "
                         "\"#1f77b4\" (quote it: '#' starts a YAML comment)")
        if "speakers" in data:
            code.speakers = self.strings(data, "speakers", path)
        exclusive = data.get("exclusive", False)
        if not isinstance(exclusive, bool):
            self.add(path + ("exclusive",), "must be true or false")
        code.exclusive = exclusive is True
        children = data.get("children")
        if children is not None:
            if not isinstance(children, list):
                self.add(path + ("children",), "must be a list of codes")
            else:
                code.children = self.code_list(children, path + ("children",))
        if code.exclusive and not children:
            self.add(path + ("exclusive",), "only a code with children can be exclusive")
        return code

    def patterns(self, value: Any, path: PathKey) -> list[list[dict[str, Any]]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, "must be a list of spaCy Matcher patterns (each a list of token dicts)")
            return []
        good = []
        for i, pattern in enumerate(value):
            if not isinstance(pattern, list) or not pattern or not all(
                    isinstance(tok, dict) for tok in pattern):
                self.add(path + (i,), "a pattern must be a non-empty list of token dicts, "
                         "e.g. [{LOWER: on}, {LOWER: my}, {LOWER: own}]")
                continue
            errors = _pattern_errors(pattern) if self.check_patterns else []
            for err in errors:
                self.add(path + (i,), f"invalid spaCy pattern: {err}")
            if not errors:
                good.append(pattern)
        return good


def _pattern_errors(pattern: list[dict[str, Any]]) -> list[str]:
    """spaCy's own token-pattern schema, so qualkit accepts exactly what the Matcher accepts."""
    from spacy.schemas import validate_token_pattern

    return [str(e) for e in validate_token_pattern(pattern)]


def parse_codebook(text: str, path: str | None = None, check_patterns: bool = True) -> Codebook:
    """Parse and validate codebook YAML; raise CodebookError listing every problem.

    ``check_patterns=False`` skips spaCy's token-pattern schema, whose import (spaCy, and
    through thinc, torch) costs seconds: for reading an already validated codebook to show it.
    """
    problems: list[Problem] = []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise CodebookError([Problem(f"not valid YAML: {exc.problem or exc}", line)], path) from None
    except yaml.YAMLError as exc:
        raise CodebookError([Problem(f"not valid YAML: {exc}")], path) from None
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {}
    _line_index(node, (), lines, problems)
    if data is None:
        raise CodebookError([Problem("the file is empty; a codebook needs 'name' and 'codes'")],
                            path)
    validator = _Validator(lines, check_patterns)
    book = validator.codebook(data)
    problems.extend(validator.problems)
    if problems:
        problems.sort(key=lambda p: (p.line or 0))
        raise CodebookError(problems, path)
    return book


def load_codebook(path: str | Path, check_patterns: bool = True) -> Codebook:
    """Read a codebook file, or a bundled one by name (``keyworker``); unreadable files become
    CodebookError too."""
    p = Path(path)
    if not p.exists() and len(p.parts) == 1 and not p.suffix:
        from ..bundled import codebooks

        p = codebooks().get(str(p), p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodebookError([Problem("file not found; check the path")], str(p)) from None
    except UnicodeDecodeError as exc:
        raise CodebookError([Problem(f"not UTF-8 text (byte {exc.start}); save it as UTF-8")],
                            str(p)) from None
    except OSError as exc:
        raise CodebookError([Problem(f"cannot read: {exc.strerror}")], str(p)) from None
    return parse_codebook(text, str(p), check_patterns)


class _FlowList(list):  # type: ignore[type-arg]
    """A list dumped inline, used for token patterns so each reads on one line."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as people write YAML by hand.
        super().increase_indent(flow, False)


_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence(
    "tag:yaml.org,2002:seq", v, flow_style=True))


def code_to_dict(code: Code) -> dict[str, Any]:
    out: dict[str, Any] = {"id": code.id, "name": code.name, "definition": code.definition,
                           "include": list(code.include), "exclude": list(code.exclude),
                           "examples": list(code.examples), "keywords": list(code.keywords)}
    if code.patterns:
        out["patterns"] = [_FlowList(p) for p in code.patterns]
    if code.color:
        out["color"] = code.color
    if code.speakers is not None:
        out["speakers"] = list(code.speakers)
    if code.exclusive:
        out["exclusive"] = True
    if code.children:
        out["children"] = [code_to_dict(child) for child in code.children]
    return out


def dump_codebook(book: Codebook) -> str:
    data: dict[str, Any] = {"name": book.name, "version": book.version,
                            "description": book.description, "speakers": list(book.speakers),
                            "codes": [code_to_dict(c) for c in book.codes]}
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def save_codebook(book: Codebook, path: str | Path) -> Path:
    """Validate by re-parsing, then write atomically: a bad edit never replaces a good file."""
    text = dump_codebook(book)
    parse_codebook(text, str(path))
    return atomic_write_text(path, text)
