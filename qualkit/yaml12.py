"""The one YAML loader for what people write by hand: codebooks and transcript front matter.

YAML 1.2 booleans: only true/false (any capitalisation PyYAML knows). Under YAML 1.1, which
PyYAML's ``safe_load`` follows, a keyword ``no``, a pattern value ``{LOWER: on}`` or a
participant attribute ``works_alone: yes`` would silently turn into booleans; here they stay
text. Everything else (numbers, dates, null) is read as ``safe_load`` reads it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans: only true/false."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "tTfF":
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                 re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])


def load(text: str) -> Any:
    """One YAML document read with YAML 1.2 booleans; raises ``yaml.YAMLError`` as
    ``yaml.safe_load`` does."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
