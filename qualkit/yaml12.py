"""The one YAML loader for what people write by hand: codebooks and transcript front matter.

YAML 1.2 booleans: only true/false (any capitalisation PyYAML knows). Under YAML 1.1, which
PyYAML's ``safe_load`` follows, a keyword ``no``, a pattern value ``{LOWER: on}`` or a
participant attribute ``works_alone: yes`` would silently turn into booleans; here they stay
text. Everything else (numbers, dates, null) is read as ``safe_load`` reads it.

Bounded: a hand-written file needs few aliases and little nesting, so ``Loader`` refuses more
than ``MAX_ALIASES`` alias uses, aliases that would expand to more than ``MAX_ALIAS_NODES``
nodes (a "billion laughs" alias bomb), an alias inside the node it names, nesting deeper than
``MAX_DEPTH`` (aliases counted as expanded) and text longer than ``MAX_YAML_CHARS``. Each is a
``YamlLimitError``; a character YAML cannot hold (a control character such as NUL or a form
feed) is a ``YamlCharacterError``. Both are ``yaml.MarkedYAMLError``s whose ``problem`` is one
line and whose ``problem_mark`` names the line and column, like any other YAML syntax error,
so every caller reports all of them the same way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_ALIASES = 100
"""Alias uses (``*name``) in one document: a hand-written codebook uses a few, if any."""

MAX_ALIAS_NODES = 10_000
"""Nodes that all alias uses together may add when expanded. Without it, 100 aliases nested
ten deep expand to 10^10 nodes (an alias bomb) and any walk over the data never ends."""

MAX_DEPTH = 50
"""Nesting of collections (aliases counted as expanded). A deep codebook has codes five or six
levels down (~15 YAML levels); thousands of levels only exhaust Python's recursion."""

MAX_YAML_CHARS = 4_000_000
"""Characters in one codebook or front-matter block: the largest real codebooks are tens of
kilobytes, and PyYAML reads about a megabyte a second."""


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document beyond one of the limits above."""


class YamlCharacterError(yaml.MarkedYAMLError):
    """A character YAML cannot hold (PyYAML's ReaderError, with a line and column)."""


def _mark(text: str, index: int) -> yaml.Mark:
    line = text.count("\n", 0, index)
    column = index - (text.rfind("\n", 0, index) + 1)
    return yaml.Mark("<yaml>", index, line, column, None, None)  # type: ignore[arg-type]


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans (only true/false) and the limits above."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._alias_nodes = 0
        self._depth = 0
        self._size: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)

    def _limit(self, problem: str, mark: yaml.Mark | None) -> YamlLimitError:
        return YamlLimitError(None, None, problem, mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise self._limit(f"more than {MAX_ALIASES} aliases (*name); qualkit reads at "
                                  "most that many in one file: write the values out",
                                  event.start_mark)
            target = self.anchors.get(event.anchor) if event.anchor is not None else None
            if target is not None:
                if id(target) not in self._size:  # measured once composed: still open
                    raise self._limit(f"alias *{event.anchor} is inside the node it names "
                                      "(a recursive structure)", event.start_mark)
                size, height = self._size.get(id(target), (1, 1))
                self._alias_nodes += size
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise self._limit(f"aliases expand to more than {MAX_ALIAS_NODES:,} values "
                                      "(an alias bomb?); write the values out",
                                      event.start_mark)
                if self._depth + height > MAX_DEPTH:
                    raise self._limit(f"nested more than {MAX_DEPTH} levels deep (with alias "
                                      f"*{event.anchor} expanded)", event.start_mark)
            return super().compose_node(parent, index)  # the target (or PyYAML's own error)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._limit(f"nested more than {MAX_DEPTH} levels deep",
                              self.peek_event().start_mark)
        node = None
        try:
            node = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1
            if node is not None:
                self._measure(node)

    def _measure(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            self._size[id(node)] = (1, 1)
            return
        sizes = [self._size.get(id(child), (1, 1)) for child in children]
        self._size[id(node)] = (1 + sum(s for s, _ in sizes),
                                1 + max((h for _, h in sizes), default=0))


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "tTfF":
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                 re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])


def _character_error(text: str, exc: yaml.reader.ReaderError) -> YamlCharacterError:
    index = exc.position if isinstance(exc.position, int) else 0
    char = exc.character
    point = ord(char) if isinstance(char, str) else int(char)
    if exc.encoding != "unicode":  # bytes input: PyYAML reports the byte
        what = f"byte 0x{point:02x}"
    else:
        control = point < 0x20 or 0x7F <= point < 0xA0
        what = f"character U+{point:04X}" + (" (a control character)" if control else "")
    return YamlCharacterError(
        None, None, f"{what} is not allowed in YAML; remove it (an editor that shows "
        "invisible characters finds it)", _mark(text, index))


def load_node(text: str, loader_class: type[Loader] = Loader
              ) -> tuple[yaml.Node | None, Any]:
    """One YAML document as its node tree (for line numbers) and its data, within the limits.

    Raises ``yaml.MarkedYAMLError`` (with ``problem`` and ``problem_mark``) for every syntax
    error, character error and limit, and ``yaml.YAMLError`` for anything else PyYAML finds.
    """
    if len(text) > MAX_YAML_CHARS:
        raise YamlLimitError(None, None, f"the YAML is {len(text):,} characters long; qualkit "
                             f"reads at most {MAX_YAML_CHARS:,}", _mark(text, 0))
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:
        raise _character_error(text, exc) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        raise _character_error(text, exc) from None
    except RecursionError:
        raise YamlLimitError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                             None) from None
    finally:
        loader.dispose()
    return node, data


def load(text: str) -> Any:
    """One YAML document read with YAML 1.2 booleans and the limits above; raises
    ``yaml.YAMLError`` (``yaml.MarkedYAMLError`` with a line for syntax, characters and
    limits) as ``yaml.safe_load`` does."""
    return load_node(text)[1]
