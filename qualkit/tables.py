"""Project codings as coded-segments table rows (see codedtable for the format)."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from .codedtable import TableRow
from .model import Coding, Transcript, segment_of
from .store import Store


def transcript_rows(transcript: Transcript, codings: Iterable[Coding]) -> list[TableRow]:
    """One row per segment and coder. Every coder who coded the transcript gets a row for every
    segment (empty codes mean 'none'), so coders can be compared segment by segment."""
    by_key: dict[tuple[int, str], list[Coding]] = defaultdict(list)
    coders: dict[str, None] = {}
    for c in codings:
        seg = segment_of(transcript, c)
        if seg is None:
            continue
        by_key[(seg, c.coder)].append(c)
        coders.setdefault(c.coder, None)
    rows = []
    for seg in transcript.segments:
        for coder in (list(coders) or [""]):
            found = by_key.get((seg.index, coder), [])
            codes = list(dict.fromkeys(c.code_id for c in found))
            memo = " | ".join(c.memo for c in found if c.memo)
            rows.append(TableRow(document=transcript.name, segment=seg.index, speaker=seg.speaker,
                                 text=seg.text, codes=codes, coder=coder, memo=memo,
                                 attributes=dict(transcript.attributes)))
    return rows


def project_rows(store: Store, statuses: tuple[str, ...] = ("accepted",)) -> list[TableRow]:
    """Rows for every transcript, counting codings with the given statuses."""
    rows: list[TableRow] = []
    for transcript in store.iter_transcripts():
        codings = [c for c in store.codings(transcript=transcript.name) if c.status in statuses]
        rows.extend(transcript_rows(transcript, codings))
    return rows
