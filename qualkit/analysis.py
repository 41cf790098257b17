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
from .model import DEFAULT_COLOR, Code, Codebook, Coding, attribute_value, participant_label

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


Unit = tuple[str, int | None, int]  # (transcript, segment, start): see ``AnalysisData.units``


class CodeIndex:
    """The codebook's rules for every code at once, from one walk of the tree.

    ``Codebook.display_name``, ``members``, ``ancestors`` and ``color_of`` each walk the whole
    codebook for one code, so asking them for every code of a 5,000-code codebook is 25 million
    steps per rule. This gives the same answers (a test compares them code by code) from one
    walk: the first code with an id, as ``Codebook.get`` finds it; members from
    ``Code.subtree``; ancestors nearest first; the colour is the code's own, else its nearest
    coloured ancestor's, else ``DEFAULT_COLOR``."""

    def __init__(self, codebook: Codebook) -> None:
        self._code: dict[str, Code] = {}
        self._parent: dict[str, Code | None] = {}
        for code, parent in codebook.walk():
            self._code.setdefault(code.id, code)
            self._parent[code.id] = parent  # the last, as Codebook.ancestors reads it
        self._members: dict[str, set[str]] = {}

    def get(self, code_id: str) -> Code | None:
        return self._code.get(code_id)

    def name(self, code_id: str) -> str:
        code = self._code.get(code_id)
        return code.name if code is not None else code_id

    def members(self, code_id: str) -> set[str]:
        if code_id not in self._members:
            code = self._code.get(code_id)
            self._members[code_id] = ({c.id for c in code.subtree()} if code is not None
                                      else set()) or {code_id}
        return set(self._members[code_id])

    def ancestors(self, code_id: str) -> list[Code]:
        out: list[Code] = []
        parent = self._parent.get(code_id)
        while parent is not None:
            out.append(parent)
            parent = self._parent.get(parent.id)
        return out

    def color_of(self, code_id: str, default: str = DEFAULT_COLOR) -> str:
        code = self._code.get(code_id)
        for item in ([code] + self.ancestors(code_id)) if code is not None else []:
            if item.color:
                return item.color
        return default


@dataclass
class AnalysisData:
    codings: list[Coding]
    attributes: dict[str, dict[str, Any]]  # transcript -> attributes
    codebook: Codebook | None = None
    text_of: Callable[[str], str] | None = field(default=None, repr=False)
    # Built once on first use (and again if ``codings`` or ``codebook`` is replaced): the
    # codings grouped by code, and the codebook's rules for every code.
    _by_code: tuple[int, int, dict[str, list[Coding]]] | None = field(
        default=None, init=False, repr=False, compare=False)
    _index: tuple[int, CodeIndex] | None = field(default=None, init=False, repr=False,
                                                 compare=False)

    @classmethod
    def from_store(cls, store: Any, codebook: Codebook | None,
                   statuses: Sequence[str] = ("accepted",),
                   coders: Sequence[str] | None = None) -> AnalysisData:
        # selected by the database (``counted``'s rule in SQL): the work follows what is
        # counted, not every pending suggestion of the project
        codings = store.counted_codings(statuses, coders)
        attributes = store.transcript_attributes()
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

    def index(self) -> CodeIndex | None:
        """The codebook's rules for every code, from one walk (``CodeIndex``)."""
        if self.codebook is None:
            return None
        if self._index is None or self._index[0] != id(self.codebook):
            self._index = (id(self.codebook), CodeIndex(self.codebook))
        return self._index[1]

    def by_code(self) -> dict[str, list[Coding]]:
        """The codings of each code (exactly that code, not the codes under it), in the order
        of ``codings``; grouped once, so per-code work never rescans every coding."""
        key = (id(self.codings), len(self.codings))
        if self._by_code is None or self._by_code[:2] != key:
            groups: dict[str, list[Coding]] = {}
            for c in self.codings:
                groups.setdefault(c.code_id, []).append(c)
            self._by_code = (*key, groups)
        return self._by_code[2]

    def name(self, code_id: str) -> str:
        """A code's display name (``Codebook.display_name``)."""
        index = self.index()
        return index.name(code_id) if index is not None else code_id

    def participant(self, transcript: str) -> str:
        """A transcript's participant label (``model.participant_label``)."""
        return participant_label(transcript, self.attributes.get(transcript, {}))

    def groups(self, by: str | None) -> dict[str, str]:
        """Transcript -> its row: itself, or (``by``) its value of that attribute, with
        ``NO_VALUE`` for transcripts without one."""
        return {name: attribute_value(attrs, by) if by else name
                for name, attrs in self.attributes.items()}

    def members(self, code_id: str) -> set[str]:
        """The code and, for a theme, every code under it (``Codebook.members``)."""
        index = self.index()
        return index.members(code_id) if index is not None else {code_id}

    def codings_of(self, code_id: str) -> list[Coding]:
        """The codings carrying the code: its own and, for a theme, those of every code under
        it (each group in the order of ``codings``)."""
        groups = self.by_code()
        return [c for member in sorted(self.members(code_id)) for c in groups.get(member, ())]

    def units(self, code_id: str) -> set[Unit]:
        """(transcript, segment, start) units carrying the code (one per segment when known)."""
        return {(c.transcript, c.segment_index, -1 if c.segment_index is not None else c.start)
                for c in self.codings_of(code_id)}


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
    row = {value: i for i, value in enumerate(index)}
    order = data.code_order()
    counts = [[0] * len(order) for _ in index]
    for j, code in enumerate(order):
        for transcript, _, _ in data.units(code):
            if transcript in groups:
                counts[row[groups[transcript]]][j] += 1
    table = pd.DataFrame(counts, index=index, columns=order, dtype="int64")
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


def cooccurring(data: AnalysisData, codes: Sequence[str] | None = None
                ) -> dict[str, dict[str, int]]:
    """``cooccurrence`` without its zeros: code -> {other code: segments carrying both} for
    the pairs that share a segment (a code's own entry: segments carrying it). The work grows
    with the codes each segment carries, not with the number of codes squared."""
    codes = list(dict.fromkeys(codes or data.code_order()))
    carried: dict[tuple[str, int | None], list[str]] = {}
    for code in codes:
        for segment in {(u[0], u[1]) for u in data.units(code)}:
            carried.setdefault(segment, []).append(code)
    out: dict[str, dict[str, int]] = {c: {} for c in codes}
    for together in carried.values():
        for a in together:
            row = out[a]
            for b in together:
                row[b] = row.get(b, 0) + 1
    return out


def cooccurrence(data: AnalysisData, codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Segments carrying both codes (diagonal: segments carrying the code)."""
    import numpy as np
    import pandas as pd

    codes = list(codes or data.code_order())
    unique = list(dict.fromkeys(codes))
    where = {c: i for i, c in enumerate(unique)}
    values = np.zeros((len(unique), len(unique)), dtype="int64")
    for a, row in cooccurring(data, unique).items():
        for b, n in row.items():
            values[where[a], where[b]] = n
    if len(unique) < len(codes):  # a code listed twice: its rows and columns alike
        at = [where[c] for c in codes]
        values = values[np.ix_(at, at)]
    return pd.DataFrame(values, index=codes, columns=codes)


def extracts(data: AnalysisData, code_id: str, other: str | None = None,
             limit: int | None = None) -> list[Extract]:
    """The passages coded with a code (with ``other``: in segments that carry both)."""
    both = {(u[0], u[1]) for u in data.units(other)} if other else None
    mine = {id(c) for c in data.codings_of(code_id)}
    out = []
    for c in sorted((c for c in data.codings if id(c) in mine),
                    key=lambda c: (c.transcript, c.start)):
        if both is not None and (c.transcript, c.segment_index) not in both:
            continue
        text = data.text_of(c.transcript)[c.start:c.end] if data.text_of else ""
        out.append(Extract(c.transcript, data.participant(c.transcript), "", c.start, c.end,
                           text, c.code_id, c.coder, c.memo))
        if limit and len(out) >= limit:
            break
    return out
