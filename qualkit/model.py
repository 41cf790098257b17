"""Plain data for qualkit: transcripts, segments, codes, codebooks, suggestions and codings.

Every span is a pair of character offsets into ``Transcript.text`` (Python ``str`` indices, i.e.
Unicode code points from 0, end exclusive), so ``transcript.text[start:end]`` is always the quoted
passage. This module imports nothing from qualkit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, overload

INTERVIEWER = "interviewer"
PARTICIPANT = "participant"

Status = Literal["suggested", "accepted", "rejected"]
STATUSES: tuple[str, ...] = ("suggested", "accepted", "rejected")

DEFAULT_COLOR = "#888888"  # a code nobody coloured (nor any code above it): neutral grey
NO_VALUE = "(none)"  # the group of transcripts without a value for an attribute


def utcnow() -> datetime:
    """Timezone-aware now, so stored times compare correctly across machines."""
    return datetime.now(UTC)


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

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
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
    # where each page starts (a character offset), for a paged source such as a PDF, so a
    # quote can cite its page; None for a document without pages
    pages: list[int] | None = None
    # how the text was cut into segments: "transcript" (speaker turns) or "document"
    # (paragraphs); "" when the reader did not choose (a coded table, a REFI-QDA project)
    layout: str = ""

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

    @property
    def participant(self) -> str:
        """The participant's label (``participant_label``)."""
        return participant_label(self.name, self.attributes)


def page_of(transcript: Transcript, offset: int) -> int | None:
    """The page (from 1) holding a character offset of a paged transcript; None without pages."""
    from bisect import bisect_right

    if not transcript.pages:
        return None
    return max(bisect_right(transcript.pages, offset), 1)


def participant_label(name: str, attributes: Mapping[str, Any]) -> str:
    """How a transcript's participant is shown everywhere (extracts, sheets, reports, the app):
    the pseudonym if there is one, else the participant id, else the transcript's name."""
    for key in ("pseudonym", "participant"):
        value = attributes.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return name


def attribute_value(attributes: Mapping[str, Any], key: str) -> str:
    """A participant attribute's value as a group label (framework rows, coverage columns,
    report groups): its text, or ``NO_VALUE`` when the transcript has none (missing, null or
    empty)."""
    value = attributes.get(key)
    return NO_VALUE if value is None or str(value) == "" else str(value)


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
    children: list[Code] = field(default_factory=list)

    @property
    def is_theme(self) -> bool:
        return bool(self.children)

    def subtree(self) -> list[Code]:
        """This code and every code under it, depth-first (the code itself first)."""
        out = [self]
        for child in self.children:
            out.extend(child.subtree())
        return out


@dataclass
class Codebook:
    """A named, versioned tree of codes plus which speakers' turns are coded."""

    name: str
    version: str = "1.0"
    description: str = ""
    speakers: list[str] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    language: str = "en"  # ISO 639-1: the language its keywords are written (and matched) in

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
        return {code.id for code in self.subtree(code_id)} or {code_id}

    def subtree(self, code_id: str) -> list[Code]:
        """The code and every code under it, depth-first (empty for an id the codebook
        lacks)."""
        code = self.get(code_id)
        return code.subtree() if code is not None else []

    def ancestors(self, code_id: str) -> list[Code]:
        """The codes above a code, nearest first (its parent, its parent's parent, ...);
        empty for a top-level code or an id the codebook lacks."""
        parents = {code.id: parent for code, parent in self.walk()}
        out: list[Code] = []
        parent = parents.get(code_id)
        while parent is not None:
            out.append(parent)
            parent = parents.get(parent.id)
        return out

    def depth(self, code_id: str) -> int:
        """0 for a top-level code, 1 for a code under it, and so on."""
        return len(self.ancestors(code_id))

    def leaves(self) -> list[Code]:
        """The leaf codes: every code without codes under it, at any depth, in codebook order
        (depth-first). A top-level code without children is a leaf too, so in a codebook mixing
        themes and plain top-level codes both kinds of leaf are counted, charted and offered;
        themes (codes with children) never are."""
        return [code for code, _ in self.walk() if not code.children]

    def display_name(self, code_id: str) -> str:
        """The name to show for a code id: the code's name, else (a code the codebook no longer
        has) the id itself."""
        code = self.get(code_id)
        return code.name if code is not None else code_id

    @overload
    def color_of(self, code_id: str) -> str: ...
    @overload
    def color_of(self, code_id: str, default: str) -> str: ...
    @overload
    def color_of(self, code_id: str, default: None) -> str | None: ...

    def color_of(self, code_id: str, default: str | None = DEFAULT_COLOR) -> str | None:
        """The colour a code shows: its own, else its nearest coloured ancestor's, else
        ``default`` (``DEFAULT_COLOR``; pass None to learn that nothing above it is
        coloured)."""
        code = self.get(code_id)
        for item in ([code] + self.ancestors(code_id)) if code is not None else []:
            if item.color:
                return item.color
        return default

    def speakers_for(self, code_id: str) -> list[str]:
        """Speakers whose turns this code applies to: its own, else the nearest ancestor's, else the
        codebook's. An empty list means every speaker."""
        code = self.get(code_id)
        for item in ([code] + self.ancestors(code_id)) if code is not None else []:
            if item.speakers is not None:
                return item.speakers
        return self.speakers


def speaker_matches(allowed: list[str], segment: Segment) -> bool:
    """True if a segment's speaker name or role is among ``allowed`` (empty allows everyone)."""
    if not allowed:
        return True
    wanted = {s.casefold() for s in allowed}
    return segment.speaker.casefold() in wanted or segment.role.casefold() in wanted


MAX_PER_TURN = 3  # suggestions a turn shows at once; the others wait, one click away


@dataclass
class Suggestion:
    """A machine's proposal that a span carries a code; computed, never stored by its suggester."""

    code_id: str
    transcript: str
    segment_index: int
    start: int
    end: int
    score: float  # strength of the evidence, for ranking (not a probability)
    source: str
    rationale: str = ""
    # A calibrated probability that the code is right here, only where the project's own
    # decisions on this code support one; None: show the evidence, not a number.
    confidence: float | None = None
    rank: int = 1  # place among the suggestions on its turn (1 = strongest); past the limit: held


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
    confidence: float | None = None  # a suggestion's calibrated probability, if it has one
    suggestion_id: int | None = None  # the machine suggestion this decision was made on


def strength(score: float | None, confidence: float | None) -> str:
    """How sure a suggestion may claim to be: a percentage only when it is a calibrated
    probability, else a plain word for the strength of its evidence."""
    if confidence is not None:
        return f"{confidence:.0%}"
    if score is None:
        return ""
    return "strong evidence" if score >= 0.8 else "some evidence" if score >= 0.65 \
        else "weak evidence"


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
    # the turns each coder went through, codes or none (a coded-segments table has a row for
    # every turn a coder coded, empty where they applied nothing): {coder: [segment index]}
    coded: dict[str, list[int]] = field(default_factory=dict)
