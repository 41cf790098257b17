"""A project's transcripts as sources: delete, rename and replace one; participant attributes
and speaker roles, by hand or for every participant from a spreadsheet (one row each, as
NVivo's classification sheets).

Each change is one store transaction with one audit event. The rules:

- **delete** removes the transcript with its turns, codings, coded ranges and memos. A
  transcript holding people's work (decisions, hand codings or memos, anyone's) is refused
  unless ``force``; machine suggestions alone never stop it. The ``delete`` event keeps every
  person's coding whole (code, coder, status, span and text, memo), the memos and the coded
  ranges, so what was lost can always be said.
- **rename** refuses a name another transcript has (and an empty or over-long one).
- **replace** reads a corrected file with the import readers and keeps the transcript's name.
  Every coding (any status, machine suggestions too) is re-anchored: its exact text is looked
  for in the new text, at the occurrence nearest to where its old position maps (a
  ``difflib.SequenceMatcher`` over the two texts' words), and its span and turn follow. A
  person's coding whose text is gone is removed and listed (code, coder, text) in the report
  and, whole, in the ``replace`` event; a suggestion whose text is gone is removed and only
  counted (running the suggesters again makes what still applies). Coded ranges follow their
  turns. Attributes in the file's front matter are applied; those set in the app stay where
  the file has none. Speakers keep their roles unless the file's front matter sets roles
  (``speakers:`` or ``interviewer:``). All in one transaction: a failure changes nothing.
- **roles**: a speaker's role is set on all their turns in a transcript. Given the codebook,
  pending machine suggestions on those turns for codes whose speaker scope no longer includes
  the speaker are removed at once (a decision made on one keeps it); the suggesters, run again,
  make none there either, since they read the roles.
- **attributes**: a value set to "" (or None) removes the attribute. A sheet's rows are matched
  to transcripts by its id column (default ``participant``), against each transcript's
  ``participant`` attribute or its name; a row may match several transcripts (one participant,
  several interviews); an empty cell leaves that attribute as it is; the id column itself is
  not stored. Unmatched rows and transcripts without a row are reported, not refused.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import QualkitError, ReaderError
from .model import Codebook, Coding, Segment, Transcript, speaker_matches

if TYPE_CHECKING:
    from .project import Project
    from .store import Store

MAX_NAME = 300  # the store's column
MAX_KEY = 100
MAX_ROLE = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# -- names, keys, roles -----------------------------------------------------------------------
def checked_name(name: str) -> str:
    """A transcript name as it will be stored: trimmed, non-empty, one line, not too long."""
    clean = (name or "").strip()
    if not clean:
        raise QualkitError("a transcript needs a name", field="name")
    if _CONTROL.search(clean):
        raise QualkitError("a transcript name is one line of text", field="name")
    if len(clean) > MAX_NAME:
        raise QualkitError(f"a transcript name has at most {MAX_NAME} characters", field="name")
    return clean


def _checked_key(key: str) -> str:
    clean = (key or "").strip()
    if not clean:
        raise QualkitError("an attribute needs a name", field="attribute")
    if _CONTROL.search(clean) or len(clean) > MAX_KEY:
        raise QualkitError(f"an attribute name is one line of at most {MAX_KEY} characters",
                           field="attribute")
    return clean


def checked_role(role: str) -> str:
    clean = (role or "").strip()
    if not clean or _CONTROL.search(clean) or len(clean) > MAX_ROLE:
        raise QualkitError(f"a role is one word or short phrase (at most {MAX_ROLE} "
                           "characters), such as interviewer or participant", field="role")
    return clean


# -- delete, rename ---------------------------------------------------------------------------
@dataclass
class DeleteReport:
    name: str
    segments: int
    codings: dict[str, int]
    decisions: int  # people's codings removed
    memos: int

    def summary(self) -> str:
        total = sum(self.codings.values())
        return (f"Deleted {self.name!r}: {self.segments} turns, {total} codings "
                f"({self.decisions} made by people), {self.memos} memos.")


def delete_transcript(store: Store, name: str, actor: str, force: bool = False
                      ) -> DeleteReport:
    """Remove a transcript and everything on it (see the module's rules)."""

    def check(summary: dict[str, Any]) -> None:
        people = summary["decisions"]
        memos = summary["memos"]
        if force or not (people or memos):
            return
        coders = sorted({d["coder"] for d in people} | set(memos))
        what = [f"{len(people)} coding{'s' if len(people) != 1 else ''} made by people"]
        if memos:
            what.append(f"{len(memos)} memo{'s' if len(memos) != 1 else ''}")
        raise QualkitError(f"{name!r} holds {' and '.join(what)} (by {', '.join(coders)}), "
                           "which deleting it would lose; nothing was deleted",
                           hint="delete it with them with --force (the project's log keeps "
                                "a record of what was removed)")

    done = store.delete_transcript(name, actor, check)
    return DeleteReport(name, done["segments"], dict(done["codings"]), len(done["decisions"]),
                        len(done["memos"]))


def rename_transcript(store: Store, old: str, new: str, actor: str) -> str:
    """Rename a transcript; returns the name stored."""
    clean = checked_name(new)
    store.rename_transcript(old, clean, actor)
    return clean


# -- attributes and roles ---------------------------------------------------------------------
def set_attributes(store: Store, name: str, values: Mapping[str, Any], actor: str
                   ) -> dict[str, Any]:
    """Set a transcript's participant attributes ({key: value}); "" or None removes one.
    Returns its attributes after."""
    changes = {_checked_key(k): (None if v is None or str(v).strip() == "" else
                                 (v.strip() if isinstance(v, str) else v))
               for k, v in values.items()}
    after = store.set_transcript_attributes({name: changes}, actor)
    if name in after:
        return after[name]
    return next(t.attributes for t in store.transcripts() if t.name == name)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` words (the CLI's) as a dict; ``KEY=`` removes the attribute."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise QualkitError(f"{item!r} is not KEY=VALUE", field="attribute",
                               hint="e.g. site=north (site= removes the attribute)")
        out[_checked_key(key)] = value
    return out


@dataclass
class RoleReport:
    name: str
    speaker: str
    role: str
    turns: int
    removed_suggestions: int

    def summary(self) -> str:
        s = "" if self.turns == 1 else "s"
        text = f"{self.speaker} is now {self.role} in {self.name!r} ({self.turns} turn{s})."
        if self.removed_suggestions:
            text += (f" {self.removed_suggestions} pending suggestions on their turns no "
                     "longer apply and were removed.")
        return text


def set_role(store: Store, name: str, speaker: str, role: str, actor: str,
             codebook: Codebook | None = None) -> RoleReport:
    """Give ``speaker``'s turns in a transcript the role ``role``; with the codebook, pending
    suggestions on those turns for codes not scoped to them any more are removed."""
    role = checked_role(role)
    drop = None
    if codebook is not None:
        probe = Segment(index=0, start=0, end=0, speaker=speaker, text="", role=role)

        def drop(code_id: str) -> bool:
            return codebook.get(code_id) is not None and not speaker_matches(
                codebook.speakers_for(code_id), probe)

    turns, removed = store.set_speaker_role(name, speaker, role, actor, drop)
    return RoleReport(name, speaker, role, turns, removed)


def speakers(transcript: Transcript) -> dict[str, str]:
    """Each speaker of a transcript and their role (the first turn's), in order of speaking."""
    out: dict[str, str] = {}
    for seg in transcript.segments:
        out.setdefault(seg.speaker, seg.role)
    return out


# -- attributes from a sheet ------------------------------------------------------------------
@dataclass
class AttributesReport:
    matched: dict[str, list[str]] = field(default_factory=dict)  # row id -> transcripts
    unmatched_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, id)
    without_row: list[str] = field(default_factory=list)  # transcripts no row matched
    changed: list[str] = field(default_factory=list)  # transcripts whose attributes changed
    columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{len(self.changed)} transcripts updated from {len(self.matched)} rows "
                 f"(attributes: {', '.join(self.columns) or 'none'})."]
        if self.unmatched_rows:
            lines.append("Rows matching no transcript: " + ", ".join(
                f"row {n} ({ident})" for n, ident in self.unmatched_rows) + ".")
        if self.without_row:
            lines.append("Transcripts with no row: " + ", ".join(self.without_row) + ".")
        return "\n".join(lines)


def _sheet_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """A sheet's rows as {column (as written, trimmed): text}, with the coded-table readers'
    conventions: CSV decoded and formula guards taken off (``csv_unguard``), .xlsx checked by
    ``zipguard.check_zip`` first and its cells read as text; bounded in cells, rows and columns."""
    import csv
    import io

    from . import codedtable as ct
    from .csvsafe import csv_unguard
    from .readers.text import decode_text, read_bytes

    suffix = path.suffix.lower()
    if not path.is_file():
        raise ReaderError("file not found" if not path.exists() else "not a file",
                          path=str(path))
    if suffix == ".csv":
        text = decode_text(read_bytes(path), path)
        if csv.field_size_limit() < ct.MAX_CELL_CHARS:
            csv.field_size_limit(ct.MAX_CELL_CHARS)
        reader = csv.reader(io.StringIO(text, newline=""))
        number = 1
        try:
            header = [csv_unguard(h).strip() for h in next(reader, [])]
            _check_columns(header, path)
            for number, cells in enumerate(reader, start=2):
                if number > ct.MAX_ROWS:
                    raise ReaderError(f"the sheet has more than {ct.MAX_ROWS:,} rows",
                                      path=str(path), line=number)
                if len(cells) > len(header):
                    raise ReaderError("this row has more cells than the header",
                                      path=str(path), line=number,
                                      hint="quote text that contains commas")
                if not any(c.strip() for c in cells):
                    continue
                cells = [csv_unguard(c) for c in cells] + [""] * (len(header) - len(cells))
                yield number, {h: c for h, c in zip(header, cells) if h}
        except csv.Error as exc:
            raise ReaderError(f"not a readable CSV sheet ({exc})", path=str(path),
                              line=number + 1, hint="check the quoting on this row") from None
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        from .zipguard import check_zip

        check_zip(path, what=ct.XLSX_UNREADABLE, hint=ct.XLSX_HINT)
        try:
            book = load_workbook(path, read_only=True, data_only=True)
            sheet = book.worksheets[0]
            sheet.reset_dimensions()
        except Exception as exc:  # noqa: BLE001 - only the third-party parse: a damaged file
            raise ct._unreadable_xlsx(path, exc) from None
        try:
            first = next(ct._sheet_rows(path, sheet.iter_rows(
                max_row=1, max_col=ct.MAX_COLUMNS + 1, values_only=True)), ())
            header = [str(h).strip() if h is not None else "" for h in first]
            while header and not header[-1]:
                header.pop()
            _check_columns(header, path)
            rows = ct._sheet_rows(path, sheet.iter_rows(min_row=2, max_col=len(header),
                                                        values_only=True))
            for number, values in enumerate(rows, start=2):
                if values is None or all(v is None for v in values):
                    continue
                cells = [ct._xlsx_text(v, path, number, header[i] if i < len(header) else None)
                         for i, v in enumerate(values)]
                yield number, {h: cells[i] if i < len(cells) else ""
                               for i, h in enumerate(header) if h}
        finally:
            book.close()
    else:
        raise ReaderError(f"unsupported file type '{path.suffix or '(none)'}' for an "
                          "attributes sheet", path=str(path),
                          hint="save the sheet as .csv or .xlsx, one row per participant")


def _check_columns(header: list[str], path: Path) -> None:
    from .codedtable import MAX_COLUMNS

    if len(header) > MAX_COLUMNS:
        raise ReaderError(f"the sheet has more than {MAX_COLUMNS:,} columns", path=str(path),
                          line=1)
    seen: set[str] = set()
    for h in header:
        if h and h.casefold() in seen:
            raise ReaderError(f"the column {h!r} appears twice", path=str(path), line=1)
        seen.add(h.casefold())
        if len(h) > MAX_KEY or _CONTROL.search(h):
            raise ReaderError(f"a column name is one line of at most {MAX_KEY} characters",
                              path=str(path), line=1)


def import_attributes(store: Store, path: str | Path, actor: str,
                      id_column: str = "participant") -> AttributesReport:
    """Participant attributes for every transcript from a .csv/.xlsx sheet with one row per
    participant, in one transaction (see the module's rules for matching)."""
    p = Path(path)
    rows = list(_sheet_rows(p))
    header = list(rows[0][1]) if rows else []
    if not rows:
        raise ReaderError("the sheet has no rows under its header", path=str(p))
    column = next((h for h in header if h.casefold() == id_column.strip().casefold()), None)
    if column is None:
        raise ReaderError(f"no {id_column!r} column to match rows to transcripts",
                          path=str(p), line=1, hint="its columns are " + ", ".join(
                              repr(h) for h in header) + "; name the one that holds the "
                          "participant (or transcript name) with --id-column")
    report = AttributesReport(columns=[h for h in header if h != column])
    infos = store.transcripts()
    by_id: dict[str, list[str]] = {}
    for info in infos:
        keys = {info.name.casefold()}
        pid = info.attributes.get("participant")
        if pid is not None and str(pid).strip():
            keys.add(str(pid).strip().casefold())
        for key in keys:
            by_id.setdefault(key, []).append(info.name)
    changes: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    for number, cells in rows:
        ident = cells.get(column, "").strip()
        if not ident:
            raise ReaderError(f"this row has no {column!r}", path=str(p), line=number,
                              hint="every row names its participant")
        names = sorted(set(by_id.get(ident.casefold(), [])))
        if not names:
            report.unmatched_rows.append((number, ident))
            continue
        for name in names:
            if name in first_row:
                raise ReaderError(f"two rows (rows {first_row[name]} and {number}) are for "
                                  f"the transcript {name!r}; nothing was changed",
                                  path=str(p), line=number,
                                  hint="keep one row per participant")
            first_row[name] = number
            changes[name] = {k: v.strip() for k, v in cells.items()
                             if k != column and v.strip()}
        report.matched[ident] = names
    report.without_row = sorted(info.name for info in infos if info.name not in changes)
    after = store.set_transcript_attributes(changes, actor, sheet=p.name, id_column=column,
                                            unmatched_rows=report.unmatched_rows)
    report.changed = sorted(after)
    return report


# -- replace ----------------------------------------------------------------------------------
_WORD = re.compile(r"\S+\s*")


class OffsetMap:
    """Where a character offset of the old text is in the new one: ``SequenceMatcher`` over
    the two texts' words (with their trailing space); an offset inside a matching run maps
    exactly, one between runs in proportion within the gap. An estimate for choosing among a
    passage's occurrences, which is then checked for equal text."""

    def __init__(self, old: str, new: str) -> None:
        self.old_len, self.new_len = len(old), len(new)
        a = [(m.start(), m.group()) for m in _WORD.finditer(old)]
        b = [(m.start(), m.group()) for m in _WORD.finditer(new)]
        matcher = SequenceMatcher(None, [w for _, w in a], [w for _, w in b])
        self.blocks: list[tuple[int, int, int]] = []  # (old start, old end, new start)
        for i, j, size in matcher.get_matching_blocks():
            if size:
                end = a[i + size - 1][0] + len(a[i + size - 1][1])
                self.blocks.append((a[i][0], end, b[j][0]))
        self.starts = [blk[0] for blk in self.blocks]

    def __call__(self, offset: int) -> int:
        k = bisect_right(self.starts, offset) - 1
        if k >= 0 and offset < self.blocks[k][1]:
            return self.blocks[k][2] + offset - self.blocks[k][0]
        lo_old, lo_new = (0, 0) if k < 0 else (
            self.blocks[k][1], self.blocks[k][2] + self.blocks[k][1] - self.blocks[k][0])
        hi_old, hi_new = (self.old_len, self.new_len) if k + 1 >= len(self.blocks) else (
            self.blocks[k + 1][0], self.blocks[k + 1][2])
        share = (offset - lo_old) / (hi_old - lo_old) if hi_old > lo_old else 0.0
        return max(0, min(self.new_len, round(lo_new + share * (hi_new - lo_new))))


def find_nearest(text: str, passage: str, near: int) -> int | None:
    """The start of ``passage``'s occurrence in ``text`` nearest to ``near``, or None."""
    best: int | None = None
    at = text.find(passage)
    while at != -1:
        if best is None or abs(at - near) < abs(best - near):
            best = at
        elif at > near:
            break  # further ones are further away
        at = text.find(passage, at + 1)
    return best


@dataclass
class LostCoding:
    code: str
    coder: str
    status: str
    text: str


@dataclass
class ReplaceReport:
    name: str
    kept: int = 0
    moved: int = 0
    lost: list[LostCoding] = field(default_factory=list)  # people's codings whose text is gone
    suggestions_removed: int = 0
    turns: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Replaced the text of {self.name!r} ({self.turns} turns): {self.kept} codings "
                 f"kept, {self.moved} of them moved to where their text now is."]
        if self.lost:
            lines.append(f"{len(self.lost)} codings could not be kept, their text is no longer "
                         "in the transcript:")
            lines.extend(f"  {c.code} by {c.coder} ({c.status}): {_short(c.text)}"
                         for c in self.lost)
        if self.suggestions_removed:
            lines.append(f"{self.suggestions_removed} suggestions on text that is gone were "
                         "removed (run the suggesters again to update them).")
        lines.extend(self.notes)
        return "\n".join(lines)


def _short(text: str, limit: int = 120) -> str:
    one = " ".join(text.split())
    return repr(one if len(one) <= limit else one[:limit - 1] + "…")


Moves = dict[int, tuple[int, int, int | None] | None]  # coding id -> (start, end, turn)
RangeMoves = dict[int, tuple[int, int] | None]  # coded range id -> (first, last)


def reanchor(old: Transcript, new: Transcript, codings: list[Coding],
             ranges: Sequence[tuple[int, int, int]] = ()) -> tuple[Moves, RangeMoves]:
    """Where each coding (by id) and coded range goes in ``new`` (see the module's rules):
    (start, end, turn) or None where its text is gone; a second hand coding that would land
    on the same passage as one already placed (same coder and code) is not kept either."""
    where = OffsetMap(old.text, new.text)
    moves: Moves = {}
    placed: set[tuple[str, str, int, int]] = set()
    for c in sorted(codings, key=lambda c: (c.suggestion_id is not None, c.id or 0)):
        if c.id is None:
            continue
        passage = old.text[c.start:c.end]
        if not passage:
            start = where(c.start)
        else:
            found = find_nearest(new.text, passage, where(c.start))
            if found is None:
                moves[c.id] = None
                continue
            start = found
        end = start + len(passage)
        hand = (c.coder, c.code_id, start, end)
        if c.suggestion_id is None and c.source == "manual":
            if hand in placed:
                moves[c.id] = None
                continue
            placed.add(hand)
        turn: int | None = None
        if c.segment_index is not None:
            seg = new.segment_at(start)
            turn = seg.index if seg is not None else _last_index(new)
        moves[c.id] = (start, end, turn)
    spans: RangeMoves = {}
    old_turns = {g.index: g for g in old.segments}
    for rid, first, last in ranges:
        a, b = old_turns.get(first), old_turns.get(last)
        if a is None or b is None or not new.segments:
            spans[rid] = None
            continue
        sa = new.segment_at(where(a.start))
        sb = new.segment_at(max(0, where(b.end) - 1))
        lo = sa.index if sa is not None else 0
        hi = sb.index if sb is not None else _last_index(new)
        spans[rid] = (min(lo, hi), max(lo, hi))
    return moves, spans


def _last_index(t: Transcript) -> int:
    return t.segments[-1].index if t.segments else 0


def read_corrected(path: str | Path, name: str) -> tuple[Transcript, list[str]]:
    """The transcript a corrected file holds (the import readers'), and notes on it."""
    from .readers import read_path

    docs = read_path(path)
    notes: list[str] = []
    if len(docs) == 1:
        doc = docs[0]
    else:
        same = [d for d in docs if d.transcript.name == name]
        if len(same) != 1:
            raise ReaderError(f"the file holds {len(docs)} transcripts, none (or more than one) "
                              f"named {name!r}", path=str(path),
                              hint="give a file holding the one corrected transcript")
        doc = same[0]
    if doc.codings:
        notes.append(f"The file's own {len(doc.codings)} codings were not imported: the "
                     "transcript keeps its codings in the project.")
    if not doc.transcript.segments:
        raise ReaderError("the corrected file has no speaker turns", path=str(path))
    return doc.transcript, notes


def replace_transcript(project: Project, name: str, path: str | Path, actor: str,
                       source: str | None = None) -> ReplaceReport:
    """Put the corrected file at ``path`` in place of the transcript ``name`` (see the
    module's rules). ``source`` is recorded as where it came from (default: the path; the app
    gives the uploaded file's name)."""
    store = project.store
    read, notes = read_corrected(path, name)
    current = store.load_transcript(name)
    attributes = {**current.attributes, **read.attributes}
    segments = read.segments
    if not {"speakers", "interviewer"} & set(read.attributes):
        # the file says nothing about roles: each speaker keeps the role they had (set in the
        # app, or by the original file's front matter)
        had = speakers(current)
        segments = [replace(g, role=had.get(g.speaker, g.role)) for g in segments]
    layout = read.layout
    if current.layout and read.layout and current.layout != read.layout:
        # the transcript keeps the layout it was given (by `qualkit transcript layout`)
        from .readers import with_layout

        segments = with_layout(replace(read, segments=segments), current.layout).segments
        layout = current.layout
    new = Transcript(name=name, text=read.text, segments=segments, attributes=attributes,
                     source=source if source is not None else read.source, format=read.format,
                     pages=read.pages, layout=layout)
    report = ReplaceReport(name, turns=len(new.segments), attributes=attributes, notes=notes)

    def plan(old: Transcript, codings: list[Coding], ranges: list[tuple[int, int, int]]
             ) -> tuple[Moves, RangeMoves]:
        return reanchor(old, new, codings, ranges)

    if current.text == new.text:
        report.notes.append("The text is the same as before; only its attributes and turns "
                            "were read again.")
    done = store.replace_transcript(name, new, actor, plan,
                                    attributes_from_file=sorted(read.attributes))
    report.kept = len(done["kept"])
    report.moved = len(done["moved"])
    for saved in done["removed"]:
        if saved["status"] == "suggested":
            report.suggestions_removed += 1
        else:
            report.lost.append(LostCoding(saved["code_id"], saved["coder"], saved["status"],
                                          saved["text"]))
    return report


# -- layout: speaker turns or paragraphs ------------------------------------------------------
LAYOUT_CHOICES = ("transcript", "document")


@dataclass
class LayoutReport:
    name: str
    layout: str
    turns: int
    codings: int = 0  # codings on the transcript: all kept, at the same characters
    ranges: int = 0  # coded ranges whose turns changed
    unchanged: bool = False

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.name!r} is already read as a {self.layout}; nothing changed."
        unit = "speaker turns" if self.layout == "transcript" else "paragraphs"
        return (f"{self.name!r} is now read as a {self.layout}: {self.turns} segments "
                f"({unit}); its {self.codings} codings keep their text.")


def set_layout(store: Store, name: str, layout: str, actor: str) -> LayoutReport:
    """Cut a transcript again as speaker turns ("transcript") or paragraphs ("document"), in
    one transaction with a ``replace`` event (``change="layout"``). The text stays the same, so
    every coding keeps its characters; only which segment it belongs to is looked up again (the
    segment holding its start), and each coded range is moved to the segments now holding the
    text of its first and last turns."""
    from .readers import checked_layout, with_layout

    if checked_layout(layout) not in LAYOUT_CHOICES:
        raise QualkitError(f"a transcript's layout is {' or '.join(LAYOUT_CHOICES)}",
                           field="layout")
    current = store.load_transcript(name)
    if current.layout == layout:
        return LayoutReport(name, layout, len(current.segments), unchanged=True)
    new = with_layout(current, layout)
    new.layout = layout

    def index(offset: int) -> int:
        seg = new.segment_at(offset)
        return seg.index if seg is not None else _last_index(new)

    def plan(old: Transcript, codings: list[Coding], ranges: list[tuple[int, int, int]]
             ) -> tuple[Moves, RangeMoves]:
        moves: Moves = {c.id: (c.start, c.end, index(c.start))
                        for c in codings if c.id is not None}
        by_index = {g.index: g for g in old.segments}
        range_moves: RangeMoves = {}
        for rid, first, last in ranges:
            a, b = by_index.get(first), by_index.get(last)
            range_moves[rid] = ((index(a.start), index(max(b.end - 1, b.start)))
                                if a is not None and b is not None else None)
        return moves, range_moves

    done = store.replace_transcript(name, new, actor, plan, change="layout", layout=layout,
                                    layout_before=current.layout or None)
    return LayoutReport(name, layout, len(new.segments), codings=len(done["kept"]),
                        ranges=done["ranges"])
