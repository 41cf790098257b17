"""What every suggester shares: the fit/score contract, segment views, and the decision step.

The contract follows scikit-learn's estimators: ``__init__`` only stores settings; ``fit``
validates and learns, setting attributes that end in ``_``; ``score`` refuses to run before
``fit``. Suggesters compute and never write: the store and the review module are the only
places that change a project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..errors import QualkitError
from ..model import MAX_PER_TURN, Codebook, Segment, Suggestion, Transcript, speaker_matches


class NotFittedError(QualkitError):
    """A suggester was asked for scores before it was fitted."""


def check_fitted(suggester: object, attribute: str) -> None:
    if not hasattr(suggester, attribute):
        raise NotFittedError(f"{type(suggester).__name__} is not fitted yet; call fit() first")


@dataclass
class SegmentView:
    """A segment with the context suggesters may look at (neighbouring turns, position).

    ``segments`` is the whole transcript (shared by all its views, never copied), so a
    suggester can also reach the other speaker's neighbouring turns and the session as a
    whole; ``at`` is this segment's place in it. Views built by hand may leave both out.
    """

    transcript: str
    segment: Segment
    previous: Segment | None = None
    following: Segment | None = None
    position: float = 0.0  # 0 at the first segment, 1 at the last
    segments: Sequence[Segment] = field(default=(), repr=False, compare=False)
    at: int = -1

    def nearest(self, step: int, same_speaker: bool) -> Segment | None:
        """The closest segment before (step -1) or after (step 1) by the same or another speaker."""
        if self.at < 0 or not self.segments:
            near = self.previous if step < 0 else self.following
            if near is None or (near.speaker == self.segment.speaker) != same_speaker:
                return None
            return near
        i = self.at + step
        while 0 <= i < len(self.segments):
            if (self.segments[i].speaker == self.segment.speaker) == same_speaker:
                return self.segments[i]
            i += step
        return None

    @property
    def other_before(self) -> Segment | None:
        """The other speaker's last turn before this one (what is being answered)."""
        return self.nearest(-1, False)

    @property
    def other_after(self) -> Segment | None:
        """The other speaker's next turn (how this one was taken up)."""
        return self.nearest(1, False)

    @property
    def same_before(self) -> Segment | None:
        return self.nearest(-1, True)

    @property
    def same_after(self) -> Segment | None:
        return self.nearest(1, True)


@dataclass
class Example:
    """A segment with a person's decisions: codes applied (positive) and ruled out (negative)."""

    view: SegmentView
    positive: frozenset[str] = frozenset()
    negative: frozenset[str] = frozenset()
    rejected: frozenset[str] = frozenset()  # of the negatives, those a person rejected explicitly


def views_of(transcript: Transcript) -> list[SegmentView]:
    segs = transcript.segments
    n = max(len(segs) - 1, 1)
    return [SegmentView(transcript.name, s, segs[i - 1] if i > 0 else None,
                        segs[i + 1] if i + 1 < len(segs) else None, i / n, segs, i)
            for i, s in enumerate(segs)]


@dataclass
class Scores:
    """Per segment and code, a score in [0, 1] with the evidence behind it."""

    codes: list[str]
    values: np.ndarray  # shape (n_views, n_codes)
    rationale: dict[tuple[int, int], str] = field(default_factory=dict)
    spans: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    # Calibrated probabilities where the project's decisions support them, NaN elsewhere.
    confidence: np.ndarray | None = None
    # The evidence's strength, where ``values`` is on another scale (calibrated): suggestions
    # keep it as their score and are ranked on their turn by it.
    strength: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, codes: list[str]) -> Scores:
        return cls(list(codes), np.zeros((n, len(codes)), dtype=np.float64))


class Suggester(Protocol):
    name: str

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> Suggester: ...

    def score(self, views: Sequence[SegmentView]) -> Scores: ...


@dataclass
class Scope:
    """Which codes may be suggested for which segments, from the codebook."""

    codebook: Codebook
    codes: list[str] = field(init=False)
    exclusive: dict[str, list[str]] = field(init=False)  # parent id -> child ids

    def __post_init__(self) -> None:
        self.codes = self.codebook.ids()
        self._speakers = {c: self.codebook.speakers_for(c) for c in self.codes}
        self.exclusive = {c.id: [k.id for k in c.children] for c in self.codebook.all_codes()
                          if c.exclusive}
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def mask(self, segment: Segment) -> np.ndarray:
        """Boolean row: the codes that apply to this segment's speaker."""
        key = (segment.speaker, segment.role)
        row = self._cache.get(key)
        if row is None:
            row = np.array([speaker_matches(self._speakers[c], segment) for c in self.codes])
            self._cache[key] = row
        return row


def decide(scores: Scores, views: Sequence[SegmentView], scope: Scope, source: str,
           thresholds: dict[str, float] | None = None, exhaustive: Iterable[str] = (),
           default_threshold: float = 0.5) -> list[Suggestion]:
    """Turn scores into suggestions: in-scope codes over their threshold; one child at most per
    exclusive parent (the best); exactly one for parents known to be exhaustive. Each turn's
    suggestions are ranked by the strength of their evidence (``rank``, 1 = strongest); past
    ``MAX_PER_TURN`` they are held (``shown``)."""
    if scores.codes != scope.codes:
        raise ValueError("scores must cover the codebook's codes in codebook order")
    thresholds = thresholds or {}
    index = {c: i for i, c in enumerate(scores.codes)}
    limit = np.array([thresholds.get(c, default_threshold) for c in scores.codes])
    exhaustive = set(exhaustive)
    grouped = {c for kids in scope.exclusive.values() for c in kids}
    n = len(views)
    if not n:
        return []
    values = scores.values
    allowed = np.array([scope.mask(v.segment) for v in views]).reshape(n, len(index))
    allowed &= np.array([bool(v.segment.text.strip()) for v in views])[:, None]
    free = np.array([c not in grouped for c in scores.codes])
    chosen = allowed & free & (values > 0) & (values >= limit)
    rows_all = np.arange(n)
    for parent, kids in scope.exclusive.items():
        cols = np.array([index[k] for k in kids])
        sub = np.where(allowed[:, cols], values[:, cols], -1.0)
        best = sub.argmax(axis=1)
        top = sub[rows_all, best]
        ok = (top >= 0) & ((top >= limit[cols][best]) | ((parent in exhaustive) & (top > 0)))
        chosen[rows_all[ok], cols[best[ok]]] = True
    confidence = scores.confidence
    strength = values if scores.strength is None else scores.strength
    out: list[Suggestion] = []
    for hit in np.flatnonzero(chosen.any(axis=1)):
        row = int(hit)
        cols = np.flatnonzero(chosen[row])
        seg = views[row].segment
        for rank, col in enumerate(sorted(cols, key=lambda c: -strength[row, c]), start=1):
            j = int(col)
            start, end = scores.spans.get((row, j), (seg.start, seg.end))
            p = None if confidence is None or np.isnan(confidence[row, j]) else \
                round(float(confidence[row, j]), 4)
            out.append(Suggestion(code_id=scores.codes[j], transcript=views[row].transcript,
                                  segment_index=seg.index, start=start, end=end,
                                  score=round(float(strength[row, j]), 4), source=source,
                                  rationale=scores.rationale.get((row, j), ""), confidence=p,
                                  rank=rank))
    return out


def shown(suggestions: Iterable[Suggestion], max_per_turn: int = MAX_PER_TURN
          ) -> list[Suggestion]:
    """The suggestions a turn shows at first (the others are held, one click away)."""
    return [s for s in suggestions if s.rank <= max_per_turn]
