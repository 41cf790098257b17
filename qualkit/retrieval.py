"""Retrieval: every passage coded with a code (a theme: any code under it), with a second code
in the same turn, or within one group of participants, each with its place in the transcript
and, on demand, the turns around it.

Which codings count is ``analysis.INCLUDE`` (accepted, suggested or all); a suggestion counts
only while nobody has decided on it (``analysis.counted``), and is marked as pending. Each
passage carries the coding's id and version, so the edges change it through ``qualkit.review``
(recode, uncode, memo) and a change made elsewhere meanwhile is refused, not overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .analysis import AnalysisData, statuses_for
from .errors import QualkitError
from .model import Codebook, Coding, Transcript, attribute_value, participant_label

MAX_CONTEXT = 10  # turns before and after a passage, at most


@dataclass(frozen=True)
class Turn:
    """A speaker turn shown around a passage."""

    index: int  # segment index (0-based)
    speaker: str
    text: str


@dataclass
class Passage:
    coding_id: int | None
    version: int | None
    transcript: str
    participant: str  # ``model.participant_label``
    turn: int | None  # segment index (0-based); shown to people as turn + 1
    speaker: str
    start: int
    end: int
    text: str  # exactly transcript.text[start:end]
    code_id: str
    status: str  # accepted, or suggested (a pending machine suggestion)
    coder: str
    memo: str
    before: list[Turn] = field(default_factory=list)
    after: list[Turn] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """A machine suggestion nobody has decided on yet."""
        return self.status == "suggested"

    @property
    def location(self) -> str:
        return (f"{self.transcript}, turn {self.turn + 1}" if self.turn is not None
                else self.transcript)


def passages(store: Any, codebook: Codebook | None, code: str, with_code: str | None = None,
             attribute: str | None = None, value: str | None = None,
             include: str = "accepted", context: int = 0,
             coders: Sequence[str] | None = None,
             attributes: dict[str, dict[str, Any]] | None = None) -> list[Passage]:
    """The passages coded with ``code`` (a theme: with any code under it), in transcript
    order.

    - ``with_code``: only passages in a turn that also carries this code (or theme);
    - ``attribute`` and ``value``: only participants with that value (``model.NO_VALUE`` for
      those without one), as the framework matrix and coverage group them;
    - ``include``: ``analysis.INCLUDE``'s choice of which codings count;
    - ``context``: that many turns before and after each passage (at most ``MAX_CONTEXT``);
    - ``coders``: only these people's codings (blind coding); pending suggestions stay;
    - ``attributes``: each transcript's attributes (``Store.transcript_attributes``) when
      the caller has read them already, so a page reads them once.
    """
    statuses = statuses_for(include)
    if context < 0 or context > MAX_CONTEXT:
        raise QualkitError(f"context must be 0 to {MAX_CONTEXT} turns", field="context")
    if (attribute is None) != (value is None):
        raise QualkitError("give an attribute and one of its values, or neither",
                           field="attribute")
    if codebook is not None:
        for name in (code, with_code):
            if name is not None and codebook.get(name) is None:
                raise QualkitError(f"no code {name!r} in the codebook", field="code",
                                   hint="pick a code or theme from the codebook")
    every = store.counted_codings(statuses)  # ``counted``'s rule, in SQL
    if coders is not None:
        every = [c for c in every if c.status == "suggested" or c.coder in coders]
    infos = store.transcript_attributes() if attributes is None else attributes
    data = AnalysisData(every, infos, codebook)
    chosen = data.codings_of(code)
    if with_code is not None:
        both = {(u[0], u[1]) for u in data.units(with_code) if u[1] is not None}
        chosen = [c for c in chosen if (c.transcript, c.segment_index) in both]
    if attribute is not None:
        chosen = [c for c in chosen
                  if attribute_value(infos.get(c.transcript, {}), attribute) == value]
    loaded: dict[str, Transcript] = {}
    out = []
    for c in sorted(chosen, key=lambda c: (c.transcript, c.start, c.end, c.id or 0)):
        if c.transcript not in loaded:
            loaded[c.transcript] = store.load_transcript(c.transcript)
        out.append(_passage(c, loaded[c.transcript], infos, context))
    return out


def _passage(c: Coding, tr: Transcript, infos: dict[str, dict[str, Any]],
             context: int) -> Passage:
    seg = (tr.segments[c.segment_index] if c.segment_index is not None
           and 0 <= c.segment_index < len(tr.segments) else tr.segment_at(c.start))
    before: list[Turn] = []
    after: list[Turn] = []
    if seg is not None and context:
        at = tr.segments.index(seg)
        before = [Turn(s.index, s.speaker, s.text)
                  for s in tr.segments[max(0, at - context):at]]
        after = [Turn(s.index, s.speaker, s.text)
                 for s in tr.segments[at + 1:at + 1 + context]]
    return Passage(
        coding_id=c.id, version=c.version, transcript=c.transcript,
        participant=participant_label(c.transcript, infos.get(c.transcript, {})),
        turn=seg.index if seg else None, speaker=seg.speaker if seg else "",
        start=c.start, end=c.end, text=tr.text[c.start:c.end], code_id=c.code_id,
        status=c.status, coder=c.coder, memo=c.memo, before=before, after=after)


def attribute_values(store: Any, attribute: str) -> list[str]:
    """The groups one attribute makes (``model.attribute_value``), sorted."""
    return sorted({attribute_value(t.attributes, attribute) for t in store.transcripts()})
