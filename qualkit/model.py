"""Plain data for qualkit: transcripts, segments, codes, codebooks, suggestions and codings.

Every span is a pair of character offsets into ``Transcript.text`` (Python ``str`` indices, i.e.
Unicode code points from 0, end exclusive), so ``transcript.text[start:end]`` is always the quoted
passage. This module imports nothing from qualkit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Literal

INTERVIEWER = "interviewer"
PARTICIPANT = "participant"

Status = Literal["suggested", "accepted", "rejected"]
STATUSES: tuple[str, ...] = ("suggested", "accepted", "rejected")


def utcnow() -> datetime:
    """Timezone-aware now, so stored times compare correctly across machines."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) in a transcript's text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: "Span") -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass
class Segment:
    """One coding unit: a speaker turn (or utterance) located in its transcript's text."""

    index: int
    start: int
    end: int
    speaker: str
    text: str
    role: str = PARTICIPANT
    timestamp: str | None = None

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


@dataclass
class Transcript:
    """A document to code: its full text, its segments and the participant's attributes."""

    name: str
    text: str
    segments: list[Segment] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    format: str = ""

    def segment_at(self, offset: int) -> Segment | None:
        """The segment holding a character offset; in the gap before a turn (its speaker
        label), that turn."""
        from bisect import bisect_right

        i = bisect_right([s.start for s in self.segments], offset) - 1
        if i >= 0 and offset < self.segments[i].end:
            return self.segments[i]
        return self.segments[i + 1] if i + 1 < len(self.segments) else None

    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for seg in self.segments:
            seen.setdefault(seg.speaker, None)
        return list(seen)


@dataclass
class Code:
    """A codebook entry. A code with children is a theme."""

    id: str
    name: str
    definition: str = ""
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    patterns: list[list[dict[str, Any]]] = field(default_factory=list)
    color: str | None = None
    speakers: list[str] | None = None
    exclusive: bool = False
    children: list["Code"] = field(default_factory=list)

    @property
    def is_theme(self) -> bool:
        return bool(self.children)


@dataclass
class Codebook:
    """A named, versioned tree of codes plus which speakers' turns are coded."""

    name: str
    version: str = "1.0"
    description: str = ""
    speakers: list[str] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[Code, Code | None]]:
        """Every code depth-first with its parent (None for top-level codes)."""

        def rec(codes: list[Code], parent: Code | None) -> Iterator[tuple[Code, Code | None]]:
            for code in codes:
                yield code, parent
                yield from rec(code.children, code)

        return rec(self.codes, None)

    def all_codes(self) -> list[Code]:
        return [code for code, _ in self.walk()]

    def get(self, code_id: str) -> Code | None:
        return next((code for code, _ in self.walk() if code.id == code_id), None)

    def parent_of(self, code_id: str) -> Code | None:
        return next((parent for code, parent in self.walk() if code.id == code_id), None)

    def ids(self) -> list[str]:
        return [code.id for code, _ in self.walk()]

    def members(self, code_id: str) -> set[str]:
        """The code and, for a theme, every code under it (a theme is present wherever any of
        them is); an id the codebook lacks stands for itself."""
        out, todo = set(), [self.get(code_id)]
        while todo:
            code = todo.pop()
            if code is not None:
                out.add(code.id)
                todo.extend(code.children)
        return out or {code_id}

    def speakers_for(self, code_id: str) -> list[str]:
        """Speakers whose turns this code applies to: its own, else the nearest ancestor's, else the
        codebook's. An empty list means every speaker."""
        chain: list[Code] = []
        code = self.get(code_id)
        while code is not None:
            chain.append(code)
            code = self.parent_of(code.id)
        for item in chain:
            if item.speakers is not None:
                return item.speakers
        return self.speakers


def speaker_matches(allowed: list[str], segment: Segment) -> bool:
    """True if a segment's speaker name or role is among ``allowed`` (empty allows everyone)."""
    if not allowed:
        return True
    wanted = {s.casefold() for s in allowed}
    return segment.speaker.casefold() in wanted or segment.role.casefold() in wanted


@dataclass
class Suggestion:
    """A machine's proposal that a span carries a code; computed, never stored by its suggester."""

    code_id: str
    transcript: str
    segment_index: int
    start: int
    end: int
    score: float
    source: str
    rationale: str = ""


@dataclass
class Coding:
    """A code applied to a span, by a coder (a person, or a suggester while status is suggested)."""

    code_id: str
    transcript: str
    start: int
    end: int
    coder: str
    status: Status = "accepted"
    segment_index: int | None = None
    time: datetime = field(default_factory=utcnow)
    memo: str = ""
    source: str = "manual"
    score: float | None = None
    rationale: str = ""
    id: int | None = None
    version: int | None = None  # for optimistic locking: changes name the version they saw
    suggestion_id: int | None = None  # the machine suggestion this decision was made on


def segment_of(transcript: Transcript, coding: Coding) -> int | None:
    """The segment a coding belongs to: its own index, else the segment holding its start."""
    if coding.segment_index is not None:
        return coding.segment_index
    seg = transcript.segment_at(coding.start)
    return seg.index if seg is not None else None


@dataclass
class ImportedDocument:
    """What a reader yields: one transcript and any codings its file already carried."""

    transcript: Transcript
    codings: list[Coding] = field(default_factory=list)
