"""The plain model of a theme report: what ``build`` gathers and every renderer shows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date


@dataclass
class Quote:
    """A representative extract and where to find it."""

    text: str
    pseudonym: str  # the participant's label (model.participant_label)
    transcript: str
    turn: int | None  # 1-based turn number (segment index + 1)
    timestamp: str | None
    code_id: str
    page: int | None = None  # the page of a paged source (a PDF), from 1

    @property
    def location(self) -> str:
        parts = [self.transcript]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.turn is not None:
            parts.append(f"turn {self.turn}")
        if self.timestamp:
            parts.append(self.timestamp)
        return ", ".join(parts)

    @property
    def attribution(self) -> str:
        """Who and where: "Dana, p01_dana, turn 3"; a participant known only by the
        transcript's name is not named twice ("p21_kerry, turn 3")."""
        if self.pseudonym == self.transcript:
            return self.location
        return f"{self.pseudonym}, {self.location}"


@dataclass
class GroupCount:
    """Participants with one value of the split attribute who mention a code, of all with it."""

    value: str
    participants: int
    of: int


@dataclass
class CodeSummary:
    id: str
    name: str
    definition: str
    color: str
    depth: int  # 0 for a top-level code (a theme when it has children)
    is_theme: bool
    segments: int
    participants: int
    of: int
    leaf: bool = False  # one of the leaf codes (Codebook.leaves), which charts and heatmap show
    groups: list[GroupCount] = field(default_factory=list)
    cooccurring: list[tuple[str, int]] = field(default_factory=list)  # (code name, segments)
    extracts: list[Quote] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.participants / self.of if self.of else 0.0


@dataclass
class Section:
    """A top-level theme and the codes under it (depth-first)."""

    theme: CodeSummary
    codes: list[CodeSummary]


@dataclass
class CoderWork:
    """What one person did: accepted (some with another code) or rejected machine
    suggestions, and codings made by hand or imported already coded."""

    coder: str
    accepted: int = 0
    recoded: int = 0
    rejected: int = 0
    by_hand: int = 0
    imported: int = 0

    @property
    def decisions(self) -> int:
        return self.accepted + self.rejected + self.by_hand + self.imported


@dataclass
class AgreementRow:
    name: str
    units: int
    percent: float
    kappa: float  # mean pairwise Cohen's kappa
    alpha: float  # Krippendorff's alpha (nominal)


@dataclass
class MemoNote:
    """A person's memo on a code or theme (``qualkit.journal``), for the methods appendix."""

    code: str  # the code's name
    coder: str
    updated: date
    text: str


@dataclass
class JournalNote:
    """An entry of the project journal (``qualkit.journal``), for the methods appendix."""

    at: date
    author: str
    text: str


@dataclass
class Methods:
    codebook: str
    version: str
    include: str
    coders: list[CoderWork]
    suggested: int  # machine suggestions made
    sources: dict[str, int]  # suggestions by suggester
    accepted: int  # decisions accepting a suggestion (recoded included)
    recoded: int
    rejected: int
    pending: int  # suggestions no person has decided on
    by_hand: int
    imported: int
    agreement_coders: list[str]
    agreement_units: int
    agreement: list[AgreementRow]
    agreement_note: str
    memos: list[MemoNote] = field(default_factory=list)  # on codes and themes, codebook order
    journal: list[JournalNote] = field(default_factory=list)  # oldest first


@dataclass
class Report:
    title: str
    project: str
    generated: date
    include: str
    participants: int  # N: every transcript in the project
    coded_segments: int  # segments carrying at least one counted coding
    by: str | None
    group_sizes: list[GroupCount]  # per value of ``by``: participants (``of``) with it
    sections: list[Section]
    heatmap_codes: list[str]  # code names, for the co-occurrence matrix
    heatmap: list[list[int]]
    methods: Methods
    notes: list[str] = field(default_factory=list)  # plain warnings shown near the top
    # leaf codes that occur, of which the heatmap shows at most CHART_CODES (``top_codes``);
    # 0: as many as it shows
    heatmap_of: int = 0

    def all_codes(self) -> list[CodeSummary]:
        return [c for s in self.sections for c in [s.theme, *s.codes]]

    def leaves(self) -> list[CodeSummary]:
        """The leaf codes (``Codebook.leaves``, then codes not in the codebook), in order."""
        return [c for c in self.all_codes() if c.leaf]

    def charted(self) -> list[CodeSummary]:
        """The leaf codes the charts show: every one, or with more than ``CHART_CODES`` those
        ``top_codes`` picks (the overview table still lists every code)."""
        return top_codes(self.leaves(), CHART_CODES)


CHART_CODES = 30  # a chart (bars or heatmap) shows at most this many codes


def top_codes(codes: list[CodeSummary], limit: int = CHART_CODES) -> list[CodeSummary]:
    """At most ``limit`` codes, kept in their order: those mentioned by the most participants,
    then on the most segments (ties go to the earlier code)."""
    if len(codes) <= limit:
        return list(codes)
    ranked = sorted(range(len(codes)), key=lambda i: (-codes[i].participants,
                                                       -codes[i].segments, i))
    keep = set(ranked[:limit])
    return [c for i, c in enumerate(codes) if i in keep]


def number(value: float, digits: int = 2) -> str:
    """A statistic for a table; undefined (NaN) shows as a dash."""
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"
