"""Project codings as coded-segments table rows (see codedtable for the format)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .codedtable import TableRow
from .model import Coding, Transcript, segment_of
from .pseudonym import Pseudonymiser
from .store import Store


def transcript_rows(transcript: Transcript, codings: Iterable[Coding],
                    coders: Iterable[str] = ()) -> list[TableRow]:
    """One row per segment and coder. Every coder who coded the transcript (and everyone in
    ``coders``) gets a row for every segment (empty codes mean 'none'), so coders can be
    compared segment by segment."""
    by_key: dict[tuple[int, str], list[Coding]] = defaultdict(list)
    who: dict[str, None] = dict.fromkeys(coders)
    for c in codings:
        index = segment_of(transcript, c)
        if index is None:
            continue
        by_key[(index, c.coder)].append(c)
        who.setdefault(c.coder, None)
    rows = []
    for seg in transcript.segments:
        for coder in (list(who) or [""]):
            found = by_key.get((seg.index, coder), [])
            codes = list(dict.fromkeys(c.code_id for c in found))
            memo = " | ".join(c.memo for c in found if c.memo)
            rows.append(TableRow(document=transcript.name, segment=seg.index, speaker=seg.speaker,
                                 text=seg.text, codes=codes, coder=coder, memo=memo,
                                 attributes=dict(transcript.attributes)))
    return rows


def project_rows(store: Store, statuses: tuple[str, ...] = ("accepted",),
                 pseudonymiser: Pseudonymiser | None = None) -> list[TableRow]:
    """Rows for every transcript, counting codings with the given statuses; with a
    ``pseudonymiser``, from each transcript as a pseudonymised export shows it."""
    from .analysis import counted

    rows: list[TableRow] = []
    for transcript in store.iter_transcripts():
        codings = counted(store.codings(transcript=transcript.name), statuses)
        if pseudonymiser is not None:
            transcript, codings = pseudonymiser.transcript(transcript, codings)
        rows.extend(transcript_rows(transcript, codings))
    return rows
