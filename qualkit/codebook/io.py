"""Codebook YAML <-> Codebook, with validation that reports every problem with its line and field.

The YAML is composed into nodes first so each value keeps its line number; problems are collected
rather than raised one at a time, so a researcher fixes a broken codebook in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from .. import yaml12
from ..bundled import named
from ..errors import CodebookError, Problem
from ..fileio import atomic_write_text
from ..model import Code, Codebook
from ..yaml12 import Loader as Yaml12Loader

TOP_FIELDS = ("name", "version", "description", "language", "speakers", "codes")
CODE_FIELDS = ("id", "name", "definition", "include", "exclude", "examples", "keywords",
               "patterns", "color", "speakers", "exclusive", "children")
LIST_FIELDS = ("include", "exclude", "examples", "keywords")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")


# -- the rule for each value -----------------------------------------------------------------
# One home for what a code's fields may hold and for the one message saying so, wherever a
# codebook is read (``_Validator``, with the line), edited (``edit``, as CodebookEditError) or
# imported (``exchange``). Each check returns the value as stored, or raises InvalidValue.


class InvalidValue(ValueError):
    """A value a codebook cannot hold. ``str()`` is the message; ``index`` the list item at
    fault, if any."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def checked_id(value: Any) -> str:
    """A code id: a lower-case slug."""
    if isinstance(value, str) and ID_RE.fullmatch(value):
        return value
    raise InvalidValue(f"id {value!r} must be a lower-case slug (letters a-z, digits, '_' or "
                       "'-', e.g. working_alone)")


def checked_language(value: Any) -> str:
    """A codebook's language: an ISO 639-1 code (ISO 639-3 where a language has none)."""
    if isinstance(value, str) and LANGUAGE_RE.fullmatch(value.strip().lower()):
        return value.strip().lower()
    raise InvalidValue(f"language {value!r} must be a language code such as en, de, fr or es "
                       "(ISO 639-1): the language the keywords are written in")


def is_code_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def duplicate_id(code_id: str, first_line: int | None = None) -> InvalidValue:
    """The refusal of an id some other code already has."""
    where = f" (first used on line {first_line})" if first_line else ""
    return InvalidValue(f"duplicate id {code_id!r}{where}: ids must be unique across the "
                        "codebook; choose another id")


def checked_name(value: Any) -> str:
    """A code's name: non-empty text, stripped."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidValue("a code needs a name (non-empty text)")


def checked_color(value: Any) -> str:
    """A colour: '#' and 3 or 6 hex digits, stored in lower case."""
    if isinstance(value, str) and COLOR_RE.fullmatch(value):
        return value.lower()
    raise InvalidValue(f"colour {value!r} must be a hex value like \"#1f77b4\": '#' and 3 or 6 "
                       "hex digits (in YAML, quote it: '#' starts a comment)")


def is_color(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and COLOR_RE.fullmatch(value) is not None


def checked_text(value: Any) -> str:
    """Free text, such as a definition."""
    if isinstance(value, str):
        return value
    raise InvalidValue(f"must be text, got {type(value).__name__}")


def checked_line(value: Any) -> str:
    """One item of a list field (include, exclude, examples, keywords, speakers)."""
    if isinstance(value, str) and value.strip():
        return value
    raise InvalidValue("must be non-empty text")


def checked_lines(value: Any) -> list[str]:
    """A list field: a list of non-empty lines (``index`` names the first bad item)."""
    if not isinstance(value, (list, tuple)):
        raise InvalidValue("must be a list of non-empty lines (in YAML, one '- item' per line)")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(checked_line(item))
        except InvalidValue as exc:
            raise InvalidValue(str(exc), index=i) from None
    return out


def checked_flag(value: Any) -> bool:
    """A yes/no setting such as ``exclusive``."""
    if isinstance(value, bool):
        return value
    raise InvalidValue("must be true or false")


def exclusive_problem(code: Code) -> InvalidValue | None:
    """An exclusive code (one of its codes per segment) needs codes under it."""
    if code.exclusive and not code.children:
        return InvalidValue(f"only a code with codes under it can be exclusive; '{code.id}' has "
                            "none (add codes under it first)")
    return None

PathKey = tuple[Any, ...]


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


def _scalar(value: Any) -> Any:
    """YAML numbers where text is expected (``name: 2020``, ``- 3``) read as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


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

    def check(self, path: PathKey, check: Callable[[Any], Any], value: Any) -> Any:
        """``check(value)`` (one of the value rules above), or None with its problem
        recorded at ``path``."""
        try:
            return check(value)
        except InvalidValue as exc:
            self.add(path if exc.index is None else path + (exc.index,), str(exc))
            return None

    def text(self, data: dict[str, Any], key: str, path: PathKey, required: bool = False) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.add(path + (key,), f"'{key}' is required and must not be empty")
            return ""
        value = self.check(path + (key,), checked_text, _scalar(value))
        if value is None:
            return ""
        if required and not value.strip():
            self.add(path + (key,), f"'{key}' must not be empty")
        return value.strip() if key in ("id", "name") else value

    def strings(self, data: dict[str, Any], key: str, path: PathKey) -> list[str]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.check(path + (key,), checked_lines, value)  # records why
            return []
        items = [self.check(path + (key, i), checked_line, _scalar(item))
                 for i, item in enumerate(value)]
        return [item for item in items if item is not None]

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
        if data.get("language") is not None:
            book.language = self.check(("language",), checked_language,
                                       _scalar(data["language"])) or book.language
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
            self.check(path + ("id",), checked_id, code_id)
            line = self.line(path + ("id",))
            if code_id in self.seen_ids:
                self.add(path + ("id",), str(duplicate_id(code_id, self.seen_ids[code_id])))
            else:
                self.seen_ids[code_id] = line
        code = Code(
            id=code_id,
            name=self.check(path + ("name",), checked_name, _scalar(data.get("name"))) or "",
            definition=self.text(data, "definition", path),
            include=self.strings(data, "include", path),
            exclude=self.strings(data, "exclude", path),
            examples=self.strings(data, "examples", path),
            keywords=self.strings(data, "keywords", path),
            patterns=self.patterns(data.get("patterns"), path + ("patterns",)),
        )
        color = data.get("color")
        if color is not None:
            code.color = self.check(path + ("color",), checked_color, color)
        if "speakers" in data:
            code.speakers = self.strings(data, "speakers", path)
        code.exclusive = self.check(path + ("exclusive",), checked_flag,
                                    data.get("exclusive", False)) is True
        children = data.get("children")
        if children is not None:
            if not isinstance(children, list):
                self.add(path + ("children",), "must be a list of codes")
            else:
                code.children = self.code_list(children, path + ("children",))
        problem = exclusive_problem(code) if not children else None
        if problem is not None:
            self.add(path + ("exclusive",), str(problem))
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
    try:  # YAML 1.2 booleans (`no`, `on`, `yes` stay text), aliases, depth and size bounded
        node, data = yaml12.load_node(text, Yaml12Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f" (column {mark.column + 1})" if mark and isinstance(
            exc, yaml12.YamlCharacterError) else ""
        raise CodebookError([Problem(f"not valid YAML: {exc.problem or exc}{column}", line)],
                            path) from None
    except yaml.YAMLError as exc:
        raise CodebookError([Problem(f"not valid YAML: {' '.join(str(exc).split())}")],
                            path) from None
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
    p = named(path) or Path(path)
    try:
        with p.open("rb") as handle:  # never more than the YAML limit into memory
            data = handle.read(yaml12.MAX_YAML_CHARS * 4 + 1)
        if len(data) > yaml12.MAX_YAML_CHARS * 4:
            raise CodebookError([Problem(f"the file is larger than "
                                         f"{yaml12.MAX_YAML_CHARS * 4 // 1024 ** 2} MB, too "
                                         "large to be a codebook")], str(p))
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        raise CodebookError([Problem("file not found; check the path")], str(p)) from None
    except UnicodeDecodeError as exc:
        raise CodebookError([Problem(f"not UTF-8 text (byte {exc.start}); save it as UTF-8")],
                            str(p)) from None
    except OSError as exc:
        raise CodebookError([Problem(f"cannot read: {exc.strerror}")], str(p)) from None
    return parse_codebook(text, str(p), check_patterns)


class _FlowList(list):
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
                            "description": book.description}
    if book.language != "en":
        data["language"] = book.language
    data |= {"speakers": list(book.speakers), "codes": [code_to_dict(c) for c in book.codes]}
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def save_codebook(book: Codebook, path: str | Path) -> Path:
    """Validate by re-parsing, then write atomically: a bad edit never replaces a good file."""
    text = dump_codebook(book)
    parse_codebook(text, str(path))
    return atomic_write_text(path, text)
