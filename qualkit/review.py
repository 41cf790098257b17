"""The one mutation API the CLI and the app share: accept, reject, recode, narrow or widen a
span, code by hand, memos, undo, and the review queue.

A decision on a machine suggestion is a new coding by the person who made it, linked to the
suggestion, which stays for other coders to decide on independently (blind double coding).
Every change goes through the store in one transaction with an audit event; a change to a
coding that someone else changed since it was loaded is refused, never silently overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from .errors import QualkitError
from .model import MAX_PER_TURN, Codebook, Coding, Transcript, utcnow
from .store import Store


class Passage(Protocol):
    """A passage to code, such as a ``search.Hit``."""

    @property
    def transcript(self) -> str: ...
    @property
    def segment(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


class ReviewError(QualkitError):
    """A review action that cannot be done as asked."""


def _coder(coder: str) -> str:
    if not coder or not coder.strip():
        raise ReviewError("say who is coding first", field="coder",
                          hint="enter your name (or pass --coder)")
    return coder.strip()


def _check_code(codebook: Codebook | None, code_id: str) -> None:
    if codebook is not None and codebook.get(code_id) is None:
        raise ReviewError(f"no code {code_id!r} in the codebook", field="code",
                          hint="pick a code from the codebook or add it there first")


def _suggestion(store: Store, suggestion_id: int) -> Coding:
    sug = store.get_coding(suggestion_id)
    if sug.status != "suggested":
        raise ReviewError(f"coding {suggestion_id} is not a machine suggestion")
    return sug


def accept(store: Store, suggestion_id: int, coder: str, code_id: str | None = None,
           start: int | None = None, end: int | None = None, memo: str = "",
           codebook: Codebook | None = None) -> Coding:
    """Accept a suggestion, optionally with another code (recode) or a narrower/wider span."""
    coder = _coder(coder)
    sug = _suggestion(store, suggestion_id)
    code = code_id or sug.code_id
    _check_code(codebook, code)
    span = (sug.start if start is None else start, sug.end if end is None else end)
    if span != (sug.start, sug.end):
        transcript = store.load_transcript(sug.transcript)
        span = _valid_span(transcript.text, *span)
    decision = replace(sug, code_id=code, start=span[0], end=span[1], coder=coder,
                       status="accepted", memo=memo, time=utcnow(), id=None, version=None)
    action = "recode" if code != sug.code_id else "accept"
    return store.create_coding(decision, coder, action, suggestion_id=sug.id)


def reject(store: Store, suggestion_id: int, coder: str, memo: str = "") -> Coding:
    coder = _coder(coder)
    sug = _suggestion(store, suggestion_id)
    decision = replace(sug, coder=coder, status="rejected", memo=memo, time=utcnow(), id=None,
                       version=None)
    return store.create_coding(decision, coder, "reject", suggestion_id=sug.id)


def _valid_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim whitespace from a span and check it lies inside the text and is not empty."""
    if not (0 <= start < end <= len(text)):
        raise ReviewError(f"span [{start}, {end}) is outside the transcript "
                          f"(0 to {len(text)})", field="span")
    piece = text[start:end]
    start += len(piece) - len(piece.lstrip())
    end -= len(piece) - len(piece.rstrip())
    if end <= start:
        raise ReviewError("the selected passage is empty", field="span",
                          hint="select some words to code")
    return start, end


def code_passage(store: Store, transcript: str, start: int, end: int, code_id: str,
                 coder: str, memo: str = "", codebook: Codebook | None = None) -> Coding:
    """Code a passage by hand. A passage holding words of two or more speaker turns is
    refused, naming the turns: a coding belongs to one turn (agreement, the coded-segments
    table and speaker scope all count per turn), and coding the interviewer's question along
    with the answer is rarely meant. The app offers to code each turn's part on its own
    (``code_hits``, one undo)."""
    coder = _coder(coder)
    _check_code(codebook, code_id)
    tr = store.load_transcript(transcript)
    start, end = _valid_span(tr.text, start, end)
    turns = [s for s in tr.segments if s.start < end and start < s.end
             and tr.text[max(start, s.start):min(end, s.end)].strip()]
    if len(turns) > 1:
        who = ", ".join(s.speaker or "a turn without a speaker" for s in turns[:4])
        raise ReviewError(f"the passage runs across {len(turns)} turns ({who}"
                          f"{', ...' if len(turns) > 4 else ''}); a coding belongs to one "
                          "turn", field="span",
                          hint="select words within one turn, or code each turn's part "
                               "on its own")
    segment = turns[0] if turns else tr.segment_at(start)
    coding = Coding(code_id=code_id, transcript=transcript, start=start, end=end, coder=coder,
                    status="accepted", segment_index=segment.index if segment else None,
                    memo=memo, source="manual")
    return store.create_coding(coding, coder, "code")


EXTENTS = {"match": "the matched words", "sentence": "the sentence holding them",
           "turn": "the whole turn"}


def code_hits(store: Store, hits: Sequence[Passage], code_id: str, coder: str,
              codebook: Codebook | None = None, extent: str = "match") -> list[Coding]:
    """Code search hits (``search.Hit``: transcript, segment, start, end) by hand in one action:
    one transaction, one audit event, undone by ``undo`` in one step. ``extent`` widens each
    passage to its sentence or its whole turn (``EXTENTS``). A passage this coder has already
    coded with this code (an accepted coding of theirs with that code covering it), or that
    comes twice, is skipped: ``len(hits) - len(result)`` were skipped."""
    coder = _coder(coder)
    _check_code(codebook, code_id)
    if extent not in EXTENTS:
        raise ReviewError(f"unknown extent {extent!r}", field="extent",
                          hint="choose one of " + ", ".join(EXTENTS))
    by_transcript: dict[str, list[Passage]] = {}
    for h in hits:
        by_transcript.setdefault(h.transcript, []).append(h)
    new: list[Coding] = []
    seen: set[tuple[str, int, int]] = set()
    for name, group in by_transcript.items():
        tr = store.load_transcript(name)
        mine = [(c.start, c.end) for c in store.codings(transcript=name, coder=coder)
                if c.code_id == code_id and c.status == "accepted"]
        for h in group:
            start, end = _valid_span(tr.text, *_widened(tr, h, extent))
            if (name, start, end) in seen or any(a <= start and end <= b for a, b in mine):
                continue
            seen.add((name, start, end))
            segment = tr.segment_at(start)
            new.append(Coding(code_id=code_id, transcript=name, start=start, end=end,
                              coder=coder, status="accepted", source="manual",
                              segment_index=segment.index if segment else None))
    return store.create_codings(new, coder, "code_batch")


def _widened(tr: Transcript, hit: Passage, extent: str) -> tuple[int, int]:
    seg = next((s for s in tr.segments if s.index == hit.segment), None)
    if extent == "match" or seg is None:
        return hit.start, hit.end
    if extent == "turn":
        return seg.start, seg.end
    from .segment import sentence_spans

    spans = [sp for sp in sentence_spans(tr.text, seg.start, seg.end)
             if sp.start < hit.end and hit.start < sp.end]
    if not spans:
        return hit.start, hit.end
    return min(spans[0].start, hit.start), max(spans[-1].end, hit.end)


def _own(store: Store, coding_id: int, coder: str) -> Coding:
    coding = store.get_coding(coding_id)
    if coding.status == "suggested":
        raise ReviewError("a suggestion is changed by accepting it (with a new code or span)")
    if coding.coder != coder:
        raise ReviewError(f"this coding belongs to {coding.coder}; only they can change it",
                          hint="add your own coding instead")
    return coding


def set_span(store: Store, coding_id: int, start: int, end: int, coder: str,
             version: int | None = None) -> Coding:
    """Narrow or widen one of your codings."""
    coder = _coder(coder)
    coding = _own(store, coding_id, coder)
    start, end = _valid_span(store.load_transcript(coding.transcript).text, start, end)
    return store.update_coding(coding_id, version, coder, "span", start=start, end=end)


def set_code(store: Store, coding_id: int, code_id: str, coder: str, version: int | None = None,
             codebook: Codebook | None = None) -> Coding:
    coder = _coder(coder)
    _check_code(codebook, code_id)
    _own(store, coding_id, coder)
    return store.update_coding(coding_id, version, coder, "recode", code_id=code_id)


def set_memo(store: Store, coding_id: int, memo: str, coder: str,
             version: int | None = None) -> Coding:
    coder = _coder(coder)
    _own(store, coding_id, coder)
    return store.update_coding(coding_id, version, coder, "memo", memo=memo)


def set_transcript_memo(store: Store, transcript: str, memo: str, coder: str) -> None:
    """Write your memo on a whole transcript: one transaction with an audit event, undone by
    ``undo`` like any other change. Others' memos on it are theirs and stay."""
    coder = _coder(coder)
    store.set_transcript_memo(transcript, coder, memo)


def remove(store: Store, coding_id: int, coder: str, version: int | None = None) -> None:
    coder = _coder(coder)
    _own(store, coding_id, coder)
    store.delete_coding(coding_id, version, coder)


def undo(store: Store, coder: str) -> str:
    """Undo your last change; says what was undone."""
    event = store.undo_last(_coder(coder))
    if event is None:
        return "nothing to undo"
    return "undid " + UNDONE.get(event.action, "{action}").format(
        action=event.action, what=event.entity_id,
        n=len(event.detail.get("created_many", ())))


# What an undo says it took back, in the researcher's words (the event's transcript or count
# filled in).
UNDONE = {"accept": "accepting a suggestion", "reject": "rejecting a suggestion",
          "recode": "changing a coding's code", "span": "changing a coding's passage",
          "code": "coding a passage by hand", "remove": "removing a coding",
          "memo": "a memo", "code_batch": "coding {n} passages at once",
          "mark": "marking {what} as coded"}


def mark_coded(store: Store, transcript: str, coder: str, first: int | None = None,
               last: int | None = None) -> str:
    """Say you have worked through a transcript (or its turns ``first``..``last``): agreement
    then counts you there, "none of the codes" where you applied nothing. Undoable."""
    first, last = store.mark_coded(transcript, _coder(coder), first, last)
    return f"Marked turns {first}-{last} of {transcript} as coded by you."


def pending(store: Store, coder: str, transcript: str | None = None) -> list[Coding]:
    """Suggestions this coder has not decided on yet, the most uncertain first (active
    learning: a confidence near 0.5 is where a decision teaches the models most)."""
    todo = first_per_turn(undecided(store.codings(transcript=transcript), coder))
    return sorted(todo, key=lambda c: (abs((c.score if c.score is not None else 0.5) - 0.5),
                                       c.transcript, c.start))


def undecided(codings: Sequence[Coding], coder: str) -> list[Coding]:
    """The suggestions among ``codings`` this coder has not decided on."""
    mine = {c.suggestion_id for c in codings if c.coder == coder and c.suggestion_id}
    return [c for c in codings if c.status == "suggested" and c.id not in mine]


def first_per_turn(suggestions: Sequence[Coding], limit: int = MAX_PER_TURN) -> list[Coding]:
    """The strongest ``limit`` undecided suggestions of each turn: the others are held until
    one of these is decided (or the researcher asks to see them all), so no turn floods."""
    by_turn: dict[tuple[str, int | None], list[Coding]] = {}
    for c in suggestions:
        by_turn.setdefault((c.transcript, c.segment_index), []).append(c)
    keep = {id(c) for turn in by_turn.values()
            for c in sorted(turn, key=lambda c: -(c.score or 0.0))[:limit]}
    return [c for c in suggestions if id(c) in keep]


def held_back(codings: Iterable[Coding], coder: str) -> int:
    """How many undecided suggestions ``visible`` holds back for this coder."""
    todo = undecided(list(codings), coder)
    return len(todo) - len(first_per_turn(todo))


def visible(codings: Iterable[Coding], coder: str, blind: bool,
            all_suggestions: bool = False) -> list[Coding]:
    """What one coder sees: suggestions they have not decided on (the strongest few per turn
    unless ``all_suggestions``), and decisions (only their own when blind)."""
    codings = list(codings)
    todo = undecided(codings, coder)
    shown = {id(c) for c in (todo if all_suggestions else first_per_turn(todo))}
    return [c for c in codings if id(c) in shown
            or (c.status != "suggested" and (not blind or c.coder == coder))]
