"""Themes across participants: frequencies, coverage, framework matrices, co-occurrence and
extracts. Pure functions over plain data; ``AnalysisData.from_store`` gathers that data once.

A participant is a transcript; N is every transcript in the project, coded or not. Only
accepted codings count unless asked otherwise (``INCLUDE``: the one table of ``--include``
choices every export, report and page reads). A theme counts a segment or participant where
any of its codes appears. pandas is imported inside the functions that build tables, so the
command line can read ``INCLUDE`` for its help without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import QualkitError
from .model import Codebook, Coding, attribute_value, participant_label

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Extract:
    transcript: str
    participant: str
    speaker: str
    start: int
    end: int
    text: str
    code_id: str
    coder: str
    memo: str


@dataclass
class AnalysisData:
    codings: list[Coding]
    attributes: dict[str, dict[str, Any]]  # transcript -> attributes
    codebook: Codebook | None = None
    text_of: Callable[[str], str] | None = field(default=None, repr=False)

    @classmethod
    def from_store(cls, store: Any, codebook: Codebook | None,
                   statuses: Sequence[str] = ("accepted",),
                   coders: Sequence[str] | None = None) -> AnalysisData:
        codings = counted(store.codings(), statuses, coders)
        attributes = {t.name: dict(t.attributes) for t in store.transcripts()}
        cache: dict[str, str] = {}

        def text_of(name: str) -> str:
            if name not in cache:
                cache[name] = store.load_transcript(name).text
            return cache[name]

        return cls(codings, attributes, codebook, text_of)

    def code_order(self) -> list[str]:
        ids = self.codebook.ids() if self.codebook else []
        return ids + sorted({c.code_id for c in self.codings} - set(ids))

    def leaf_order(self) -> list[str]:
        """The leaf codes (``Codebook.leaves``) in codebook order, then codes coded but not in
        the codebook (which have no codes under them either)."""
        if not self.codebook:
            return self.code_order()
        known = set(self.codebook.ids())
        return [c.id for c in self.codebook.leaves()] + [
            c for c in self.code_order() if c not in known]

    def name(self, code_id: str) -> str:
        """A code's display name (``Codebook.display_name``)."""
        return self.codebook.display_name(code_id) if self.codebook else code_id

    def participant(self, transcript: str) -> str:
        """A transcript's participant label (``model.participant_label``)."""
        return participant_label(transcript, self.attributes.get(transcript, {}))

    def groups(self, by: str | None) -> dict[str, str]:
        """Transcript -> its row: itself, or (``by``) its value of that attribute, with
        ``NO_VALUE`` for transcripts without one."""
        return {name: attribute_value(attrs, by) if by else name
                for name, attrs in self.attributes.items()}

    def members(self, code_id: str) -> set[str]:
        """The code and, for a theme, every code under it."""
        return self.codebook.members(code_id) if self.codebook else {code_id}

    def units(self, code_id: str) -> set[tuple[str, int | None, int]]:
        """(transcript, segment, start) units carrying the code (one per segment when known)."""
        ids = self.members(code_id)
        return {(c.transcript, c.segment_index, -1 if c.segment_index is not None else c.start)
                for c in self.codings if c.code_id in ids}


@dataclass(frozen=True)
class Include:
    """One ``--include`` choice: the coding statuses it counts, and how it is described."""

    statuses: tuple[str, ...]
    description: str


INCLUDE: dict[str, Include] = {
    "accepted": Include(("accepted",), "accepted codings only"),
    "suggested": Include(("suggested",), "machine suggestions not yet decided by anyone"),
    "all": Include(("accepted", "suggested"),
                   "accepted codings and machine suggestions not yet decided by anyone"),
}


def include_choice(include: str, choices: Sequence[str] = tuple(INCLUDE)) -> Include:
    """The ``--include`` choice by name. A caller may offer fewer ``choices`` (a report or a
    REFI-QDA export: accepted or all); anything else is refused with one message."""
    if include not in choices or include not in INCLUDE:
        raise QualkitError(f"unknown choice {include!r}", field="--include",
                           hint="use " + _either(choices))
    return INCLUDE[include]


def statuses_for(include: str, choices: Sequence[str] = tuple(INCLUDE)) -> tuple[str, ...]:
    """The coding statuses an ``--include`` choice counts (see ``include_choice``)."""
    return include_choice(include, choices).statuses


def include_help(choices: Sequence[str] = tuple(INCLUDE)) -> str:
    """The help line for an ``--include`` option offering ``choices``."""
    return "Which codings count: " + "; ".join(
        f"{name} ({INCLUDE[name].description})" for name in choices) + "."


def _either(choices: Sequence[str]) -> str:
    names = list(choices)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def counted(codings: Sequence[Coding], statuses: Sequence[str] = ("accepted",),
            coders: Sequence[str] | None = None) -> list[Coding]:
    """The codings with these statuses. A suggestion counts only while nobody has decided on
    it: once accepted it counts as the person's coding, once rejected not at all."""
    decided = {c.suggestion_id for c in codings if c.suggestion_id is not None}
    return [c for c in codings if c.status in statuses
            and not (c.status == "suggested" and c.id in decided)
            and (coders is None or c.coder in coders)]


def frequencies(data: AnalysisData) -> pd.DataFrame:
    """Per code: coded segments, transcripts, and coverage (participants out of N)."""
    import pandas as pd

    n = len(data.attributes)
    rows = []
    for code in data.code_order():
        units = data.units(code)
        people = {u[0] for u in units}
        rows.append({"code": code, "name": data.name(code), "segments": len(units),
                     "participants": len(people), "of": n,
                     "coverage": round(len(people) / n, 3) if n else 0.0})
    return pd.DataFrame(rows)


def framework_matrix(data: AnalysisData, by: str | None = None) -> pd.DataFrame:
    """Rows: transcripts (or values of an attribute); columns: codes; cells: coded segments."""
    import pandas as pd

    groups = data.groups(by)
    index = sorted(set(groups.values()))
    table = pd.DataFrame(0, index=index, columns=data.code_order())
    for code in data.code_order():
        for transcript, _, _ in data.units(code):
            if transcript in groups:
                table.loc[groups[transcript], code] += 1
    table.index.name = by or "transcript"
    return table


def coverage_by_attribute(data: AnalysisData, attribute: str) -> pd.DataFrame:
    """For each code and attribute value: participants mentioning it out of those with that
    value (e.g. 5 of 6 who work alone)."""
    import pandas as pd

    values: dict[str, set[str]] = {}
    for name, value in data.groups(attribute).items():
        values.setdefault(value, set()).add(name)
    rows = []
    for code in data.code_order():
        people = {u[0] for u in data.units(code)}
        row: dict[str, Any] = {"code": code, "name": data.name(code)}
        for value, names in sorted(values.items()):
            row[f"{attribute}={value}"] = f"{len(people & names)}/{len(names)}"
        rows.append(row)
    return pd.DataFrame(rows)


def cooccurrence(data: AnalysisData, codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Segments carrying both codes (diagonal: segments carrying the code)."""
    import pandas as pd

    codes = list(codes or data.code_order())
    units = {c: {(u[0], u[1]) for u in data.units(c)} for c in codes}
    return pd.DataFrame([[len(units[a] & units[b]) for b in codes] for a in codes],
                        index=codes, columns=codes)


def extracts(data: AnalysisData, code_id: str, other: str | None = None,
             limit: int | None = None) -> list[Extract]:
    """The passages coded with a code (with ``other``: in segments that carry both)."""
    ids = data.members(code_id)
    both = {(u[0], u[1]) for u in data.units(other)} if other else None
    out = []
    for c in sorted(data.codings, key=lambda c: (c.transcript, c.start)):
        if c.code_id not in ids or (both is not None and (c.transcript, c.segment_index)
                                    not in both):
            continue
        text = data.text_of(c.transcript)[c.start:c.end] if data.text_of else ""
        out.append(Extract(c.transcript, data.participant(c.transcript), "", c.start, c.end,
                           text, c.code_id, c.coder, c.memo))
        if limit and len(out) >= limit:
            break
    return out
