"""Agreement between the coders of a project: who decided what, turned into table rows, with
each code counted only in the turns of the speakers it applies to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..codedtable import TableRow
from ..model import Codebook, Coding, Segment, Transcript, segment_of, speaker_matches
from ..segment import default_role
from ..store import Store
from ..tables import transcript_rows

DECISIONS = ("accepted", "rejected")  # what people (and imported tables) leave; not suggestions


def decision_coders(store: Store) -> list[str]:
    """Everyone with a decision in the project: an accepted or rejected suggestion, a passage
    coded by hand, or an imported coding."""
    return sorted(store.coders(DECISIONS))


def _decided(store: Store, coders: Sequence[str] | None, common_only: bool
             ) -> Iterator[tuple[Transcript, list[Coding], dict[str, set[int]]]]:
    """Per transcript someone wanted worked on: the transcript, the wanted coders' accepted
    codings, and the turns each of them covered (see ``decision_rows``)."""
    wanted = set(coders) if coders is not None else set(decision_coders(store))
    by_transcript: dict[str, list[Coding]] = defaultdict(list)
    for c in store.counted_codings(DECISIONS, sorted(wanted)):  # never the suggestions
        by_transcript[c.transcript].append(c)
    marked = store.coded_ranges()
    names = set(by_transcript) | {t for t, by in marked.items() if wanted & set(by)}
    for transcript in store.iter_transcripts(sorted(names)):
        codings = by_transcript.get(transcript.name, [])
        covered = coverage(transcript, codings, marked.get(transcript.name, {}), wanted)
        if common_only and set(covered) != wanted:
            continue
        yield transcript, [c for c in codings if c.status == "accepted"], covered


def coverage(transcript: Transcript, decisions: Iterable[Coding],
             marked: dict[str, list[tuple[int, int]]], wanted: set[str]) -> dict[str, set[int]]:
    """The turns each coder worked on: those where they made a decision (accepted, rejected,
    coded by hand, imported), and those they marked as fully coded."""
    covered: dict[str, set[int]] = defaultdict(set)
    for c in decisions:
        index = segment_of(transcript, c)
        if index is not None:
            covered[c.coder].add(index)
    for coder, spans in marked.items():
        if coder in wanted:
            for first, last in spans:
                covered[coder].update(range(first, last + 1))
    return dict(covered)


def _rows(transcript: Transcript, accepted: list[Coding],
          covered: dict[str, set[int]]) -> list[TableRow]:
    return [row for row in transcript_rows(transcript, accepted, sorted(covered))
            if row.segment in covered.get(row.coder, ())]


def decision_rows(store: Store, coders: Sequence[str] | None = None,
                  common_only: bool = False) -> list[TableRow]:
    """Rows for comparing coders on the project's own codings.

    A coder counts in a turn only where they worked: where they made a decision (an accepted
    code, a rejected suggestion, a passage coded by hand), or in the turns they marked as fully
    coded (``Store.mark_coded``), there with "none of the codes" where they applied nothing.
    A turn only one coder worked on compares nobody (``agreement_report`` leaves it out).
    ``coders`` limits who is compared (default: everyone with decisions); ``common_only``
    keeps only the transcripts every one of them worked on."""
    return [row for transcript, accepted, covered in _decided(store, coders, common_only)
            for row in _rows(transcript, accepted, covered)]


@dataclass
class Coverage:
    """What agreement rests on, per transcript and coder: turns worked on, of how many."""

    transcript: str
    coder: str
    turns: int
    of: int
    marked: bool  # some of them marked as fully coded, not only decided on


def coverage_table(store: Store, coders: Sequence[str] | None = None) -> list[Coverage]:
    marked = store.coded_ranges()
    return [Coverage(transcript.name, coder, len(turns), len(transcript.segments),
                     coder in marked.get(transcript.name, {}))
            for transcript, _, covered in _decided(store, coders, False)
            for coder, turns in sorted(covered.items())]


def speaker_scope(codebook: Codebook, roles: dict[str, str] | None = None
                  ) -> Callable[[str, str], bool]:
    """``in_scope(code_id, speaker)`` for agreement: a code counts only in the turns of the
    speakers it applies to, so the interviewer's turns do not inflate agreement as absences both
    coders "agreed" on. ``roles`` maps speaker names to roles (from the project's transcripts);
    other names get the usual role from their label."""
    roles = roles or {}
    speakers: dict[str, Any] = {}  # per code, looked up once (each lookup walks the tree)
    answers: dict[tuple[str, str], bool] = {}

    def in_scope(code_id: str, speaker: str) -> bool:
        key = (code_id, speaker)
        if key not in answers:
            if code_id not in speakers:
                speakers[code_id] = codebook.speakers_for(code_id)
            role = roles.get(speaker) or default_role(speaker)
            answers[key] = speaker_matches(speakers[code_id],
                                           Segment(0, 0, 0, speaker, "", role=role))
        return answers[key]

    return in_scope


def rows_agreement(rows: Iterable[TableRow], codebook: Codebook | None,
                   roles: dict[str, str] | None = None) -> Any:
    """Agreement (``agreement.AgreementReport``) over coded-segments rows, each code counted
    only in the turns of the speakers it applies to when there is a codebook."""
    from .stats import agreement_report

    return agreement_report(rows, codebook, speaker_scope(codebook, roles) if codebook else None)


def project_agreement(store: Store, codebook: Codebook | None,
                      coders: Sequence[str] | None = None, common_only: bool = False) -> Any:
    """Agreement between the project's coders: the rows of ``decision_rows``, with the speakers'
    roles read from the same transcripts in the same pass."""
    rows: list[TableRow] = []
    roles: dict[str, str] = {}
    for transcript, accepted, covered in _decided(store, coders, common_only):
        rows.extend(_rows(transcript, accepted, covered))
        roles.update((seg.speaker, seg.role) for seg in transcript.segments)
    return rows_agreement(rows, codebook, roles)
