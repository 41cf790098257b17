"""Agreement between the coders of a project: who decided what, turned into table rows, with
each code counted only in the turns of the speakers it applies to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..codedtable import TableRow
from ..model import Codebook, Coding, Segment, Transcript, speaker_matches
from ..segment import default_role
from ..store import Store
from ..tables import transcript_rows

DECISIONS = ("accepted", "rejected")  # what people (and imported tables) leave; not suggestions


def decision_coders(store: Store) -> list[str]:
    """Everyone with a decision in the project: an accepted or rejected suggestion, a passage
    coded by hand, or an imported coding."""
    return sorted({c.coder for c in store.codings() if c.status in DECISIONS})


def _decided(store: Store, coders: Sequence[str] | None, common_only: bool
             ) -> Iterator[tuple[Transcript, list[Coding], list[str]]]:
    """Per transcript with decisions by the wanted coders: the transcript, their accepted
    codings and who decided there (see ``decision_rows``)."""
    wanted = set(coders) if coders is not None else set(decision_coders(store))
    by_transcript: dict[str, list[Coding]] = defaultdict(list)
    for c in store.codings():
        if c.status in DECISIONS and c.coder in wanted:
            by_transcript[c.transcript].append(c)
    for transcript in store.iter_transcripts(sorted(by_transcript)):
        codings = by_transcript[transcript.name]
        present = sorted({c.coder for c in codings})
        if common_only and set(present) != wanted:
            continue
        yield transcript, [c for c in codings if c.status == "accepted"], present


def decision_rows(store: Store, coders: Sequence[str] | None = None,
                  common_only: bool = False) -> list[TableRow]:
    """Rows for comparing coders on the project's own codings.

    A coder with any decision in a transcript coded all of it: their accepted codes per segment,
    none where they applied nothing. Rejections count as decisions, so a coder who rejected
    every suggestion in a transcript still takes part, with "none of the codes" there.
    ``coders`` limits who is compared (default: everyone with decisions); ``common_only``
    keeps only the transcripts every one of them made decisions in."""
    return [row for transcript, accepted, present in _decided(store, coders, common_only)
            for row in transcript_rows(transcript, accepted, present)]


def speaker_scope(codebook: Codebook, roles: dict[str, str] | None = None
                  ) -> Callable[[str, str], bool]:
    """``in_scope(code_id, speaker)`` for agreement: a code counts only in the turns of the
    speakers it applies to, so the interviewer's turns do not inflate agreement as absences both
    coders "agreed" on. ``roles`` maps speaker names to roles (from the project's transcripts);
    other names get the usual role from their label."""
    roles = roles or {}

    def in_scope(code_id: str, speaker: str) -> bool:
        role = roles.get(speaker) or default_role(speaker)
        return speaker_matches(codebook.speakers_for(code_id),
                               Segment(0, 0, 0, speaker, "", role=role))

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
    for transcript, accepted, present in _decided(store, coders, common_only):
        rows.extend(transcript_rows(transcript, accepted, present))
        roles.update((seg.speaker, seg.role) for seg in transcript.segments)
    return rows_agreement(rows, codebook, roles)
