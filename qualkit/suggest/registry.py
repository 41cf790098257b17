"""The suggesters by name: the one list that batch coding, the combined suggester, the command
line (help and checks) and the app's Project page read.

Each entry has a one-line description and a factory that fits it on a codebook (and, for
those that learn, a person's decisions) and returns its scored parts by name (usually one; the
semantic suggester gives its codebook similarity and, once something is accepted, similarity to
accepted extracts as two parts). Adding a suggester means adding an entry here (and, if it
changes how scores merge, teaching ``combine`` to use it). The suggester classes are imported
inside the factories, so reading this list costs nothing.

``rules`` is always on: the combined suggester merges the others onto the rule scores, so
choosing ``semantic`` alone runs rules and semantic (as ``qualkit code`` always has).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import QualkitError

if TYPE_CHECKING:
    from ..embed import Embedder
    from ..model import Codebook
    from .base import Example

# (embedder, codebook, examples) -> {part name: fitted part}; empty to leave it out
Factory = Callable[["Embedder", "Codebook", "Sequence[Example]"], "dict[str, Any]"]


@dataclass(frozen=True)
class SuggesterInfo:
    name: str
    description: str  # one line, for help texts and the app
    fit: Factory
    embeds: bool = False  # reads sentence embeddings (batch coding embeds the texts first)
    learns: bool = False  # learns from a person's decisions (batch coding gathers them)
    always: bool = False  # on whether chosen or not


def _rules(embedder: Embedder, codebook: Codebook, examples: Sequence[Example]
           ) -> dict[str, Any]:
    from .rules import RuleSuggester

    return {"rules": RuleSuggester().fit(codebook)}


def _semantic(embedder: Embedder, codebook: Codebook, examples: Sequence[Example]
              ) -> dict[str, Any]:
    from .semantic import SemanticSuggester

    parts = {"semantic": SemanticSuggester(embedder, extracts=False).fit(codebook, examples)}
    if any(ex.positive for ex in examples):
        parts["extracts"] = SemanticSuggester(embedder, codebook=False).fit(codebook, examples)
    return parts


def _learned(embedder: Embedder, codebook: Codebook, examples: Sequence[Example]
             ) -> dict[str, Any]:
    if not examples:
        return {}
    from .learned import LearnedSuggester

    learned = LearnedSuggester(embedder).fit(codebook, examples)
    return {"learned": learned} if learned.fitted else {}


SUGGESTERS: dict[str, SuggesterInfo] = {s.name: s for s in (
    SuggesterInfo("rules", "the codebook's keywords and patterns; always on", _rules,
                  always=True),
    SuggesterInfo("semantic", "similarity of sentence embeddings to each code's definition, "
                  "examples and accepted extracts", _semantic, embeds=True),
    SuggesterInfo("learned", "models trained on the decisions made so far in the project",
                  _learned, embeds=True, learns=True),
)}


def chosen(names: Iterable[str] | str | None = None) -> tuple[str, ...]:
    """The suggesters to run, in ``SUGGESTERS`` order: every one by default; a comma-separated
    text or a list of names otherwise, always-on ones added. An unknown name is refused with
    one message."""
    if names is None:
        return tuple(SUGGESTERS)
    if isinstance(names, str):
        names = names.split(",")
    wanted = {n.strip() for n in names if n.strip()}
    unknown = sorted(wanted - set(SUGGESTERS))
    if unknown:
        raise QualkitError(f"unknown suggester {unknown[0]!r}", field="--suggesters",
                           hint=f"choose from {', '.join(SUGGESTERS)}")
    return tuple(n for n, s in SUGGESTERS.items() if n in wanted or s.always)


def help_text() -> str:
    """The help line for a ``--suggesters`` option."""
    return "Comma-separated: " + "; ".join(
        f"{s.name} ({s.description})" for s in SUGGESTERS.values()) + "."
