"""Writing REFI-QDA: a codebook as a .qdc document, a project as a .qdpx archive.

GUIDs are uuid5s of stable content (code id, transcript name, coder name, coding span + code +
coder), so exporting the same project twice gives the same GUIDs, and a project imported from a
qualkit export exports again identically.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..codebook.io import is_color
from ..fileio import atomic_write_bytes, atomic_write_chunks
from ..model import STATUSES, Code, Codebook, Coding, Transcript
from .common import CODEBOOK_NS, ORIGIN, PROJECT_NS, ExchangeError, clean, format_time, make_guid
from .describe import pack_code, pack_extra

if TYPE_CHECKING:
    from ..project import Project
    from ..pseudonym import Pseudonymiser
    from ..store import MediaInfo, TranscriptInfo

QDE_NAME = "project.qde"
EXCERPT_CHARS = 60
JSON_VALUES = "qualkit values: json"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A zip member's date and time: year, month, day, hour, minute, second.
ZipStamp = tuple[int, int, int, int, int, int]


def code_guid(code_id: str) -> str:
    return make_guid("code", code_id)


def user_guid(name: str) -> str:
    return make_guid("user", name)


def source_guid(transcript: str) -> str:
    return make_guid("source", transcript)


def _sub(parent: ET.Element, tag: str, /, **attrs: Any) -> ET.Element:
    return ET.SubElement(parent, tag,
                         {k: clean(str(v)) for k, v in attrs.items() if v is not None})


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = _sub(parent, tag)
    el.text = clean(text)
    return el


def _hex6(color: str | None) -> str | None:
    """'#1f77b4' or '#abc' as '#1F77B4' / '#AABBCC' (a colour the codebook's rule refuses:
    none)."""
    if not is_color(color):
        return None
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits.upper()


def _serialise(root: ET.Element, ns: str) -> bytes:
    # Elements are built without a namespace and the root declares the default one: ElementTree
    # cannot combine its default_namespace option with unqualified attributes.
    root.set("xmlns", ns)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def _write(out: IO[str], element: ET.Element, level: int) -> None:
    """``element`` on its own line at ``level`` of a document written a piece at a time,
    indented as ``_serialise`` indents a whole one."""
    ET.indent(element, space="  ", level=level)
    out.write("\n" + "  " * level + ET.tostring(element, encoding="unicode"))


def _code_elements(parent: ET.Element, codes: Iterable[Code], used: set[str]) -> None:
    for code in codes:
        # Themes (codes with children) are groups in qualkit: codable only if someone coded with
        # one anyway, so no other program refuses those codings.
        codable = not code.is_theme or code.id in used
        el = _sub(parent, "Code", guid=code_guid(code.id), name=code.name,
                  isCodable="true" if codable else "false", color=_hex6(code.color))
        _text(el, "Description", pack_code(code))
        _code_elements(el, code.children, used)


def _codes_with_orphans(book: Codebook | None, used: set[str]) -> list[Code]:
    """The codebook's codes, plus a top-level code for every coded id it no longer has."""
    codes = list(book.codes) if book else []
    known = set(book.ids()) if book else set()
    for code_id in sorted(used - known):
        codes.append(Code(id=code_id, name=code_id,
                          definition="Not in the qualkit codebook; kept for its codings."))
    return codes


def qdc_bytes(book: Codebook) -> bytes:
    root = ET.Element("CodeBook", {"origin": ORIGIN})
    # Codebook.xsd has no place for the codebook's own name, version, description, language
    # or speakers; a comment keeps them for qualkit without bothering other programs ('-'
    # escaped: XML comments cannot contain '--').
    meta = json.dumps({"name": book.name, "version": book.version,
                       "description": book.description, "language": book.language,
                       "speakers": book.speakers})
    root.append(ET.Comment(" qualkit codebook " + meta.replace("-", "\\u002d") + " "))
    codes = _sub(root, "Codes")
    _code_elements(codes, book.codes, set())
    return _serialise(root, CODEBOOK_NS)


def export_qdc(codebook: Codebook, path: str | Path) -> Path:
    """Write ``codebook`` as a REFI-QDA codebook (.qdc, Codebook.xsd), atomically."""
    if not codebook.codes:
        raise ExchangeError("the codebook has no codes to export", path=str(path),
                            hint="add codes to the codebook first")
    return atomic_write_bytes(path, qdc_bytes(codebook))


# -- attributes as typed variables ------------------------------------------------------------

def _variable_type(values: list[Any]) -> str:
    """The REFI-QDA type for one attribute's values across transcripts ('json' if mixed)."""
    if all(isinstance(v, bool) for v in values):
        return "Boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "Integer"
    if all(isinstance(v, float) and math.isfinite(v) for v in values):
        return "Float"
    if all(isinstance(v, str) for v in values):
        if all(_DATE_RE.match(v) and _is_date(v) for v in values):
            return "Date"
        return "Text"
    return "json"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _value_text(kind: str, value: Any) -> str:
    if kind == "Boolean":
        return "true" if value else "false"
    if kind == "Float":  # xsd:decimal: no exponent, and exactly the float's shortest digits
        return format(Decimal(repr(value)), "f")
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


VALUE_ELEMENT = {"Boolean": "BooleanValue", "Integer": "IntegerValue", "Float": "FloatValue",
                 "Date": "DateValue", "Text": "TextValue", "json": "TextValue"}


# -- the project ---------------------------------------------------------------------------

def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS - 1].rstrip() + "…"


def _selection_keys(codings: list[Coding]) -> list[tuple[Coding, tuple[Any, ...]]]:
    """Each coding with the content that names it; repeats of one key get a counter."""
    seen: dict[tuple[Any, ...], int] = {}
    out = []
    for c in codings:
        key: tuple[Any, ...] = (c.transcript, c.start, c.end, c.code_id, c.coder)
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append((c, key + ((n,) if n else ())))
    return out


def _member(name: str, stamp: ZipStamp) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # a readable file once unzipped (the default is 000)
    return info


class _ProjectWriter:
    def __init__(self, project: Project, statuses: tuple[str, ...],
                 pseudonymiser: Pseudonymiser | None = None) -> None:
        from ..pseudonym import Pseudonymiser

        # what every name, text, memo and attribute value goes through on its way out
        self.p = pseudonymiser or Pseudonymiser.none()
        self.project = project
        self.store = project.store
        self.statuses = statuses
        self.book = project.codebook_if_any()
        self.notes: list[ET.Element] = []

    def build(self, archive: zipfile.ZipFile, stamp: ZipStamp, out: IO[str]) -> None:
        """Write the project.qde to ``out`` a section and a source at a time; each source's
        text goes into ``archive`` as it is reached. Only one transcript, its codings and its
        elements are in memory at a time, so a project of any size exports in bounded memory
        (the whole tree of a 10,000-interview project took 2.3 GB)."""
        store = self.store
        transcripts = store.transcripts()  # names and attributes, without the texts
        memos = {t.name: store.transcript_memos(t.name) for t in transcripts}
        # who and what the export names, from grouped queries, not from every coding
        people = set(store.coders(set(self.statuses) | {"accepted", "rejected"}))
        for by_coder in memos.values():
            people |= set(by_coder)
        used = {code for code, by_status in store.code_counts().items()
                if any(by_status.get(s) for s in self.statuses)}

        root = ET.Element("Project", {
            "name": clean(self.p.text(self.book.name if self.book
                                      else self.project.root.resolve().name)),
            "origin": ORIGIN, "creationDateTime": format_time(datetime.now().astimezone()),
            "xmlns": PROJECT_NS})
        opening = ET.tostring(root, encoding="unicode", short_empty_elements=False)
        out.write('<?xml version="1.0" encoding="utf-8"?>\n' + opening[:-len("</Project>")])
        if people:
            users = ET.Element("Users")
            for name in sorted(people):
                _sub(users, "User", guid=user_guid(name), name=name)
            _write(out, users, 1)
        codes = _codes_with_orphans(self.book, used)
        if codes:
            codebook = ET.Element("CodeBook")
            _code_elements(_sub(codebook, "Codes"), codes, used)
            _write(out, codebook, 1)
        for section in self._cases(transcripts):
            _write(out, section, 1)
        if transcripts:
            out.write("\n  <Sources>")
            # recordings go with their transcripts, except in a pseudonymised export (a voice
            # or a face is not replaced)
            recordings = {} if self.p else {m.transcript: m for m in store.media_list()}
            for info in transcripts:
                tr = store.load_transcript(info.name)
                recording = recordings.get(tr.name)
                mine = sorted((c for c in store.codings(transcript=tr.name)
                               if c.status in self.statuses), key=lambda c: (
                    c.start, c.end, c.code_id, c.coder, format_time(c.time)))
                shown_memos = {coder: self.p.text(m) for coder, m in memos[tr.name].items()}
                tr, mine = self.p.transcript(tr, mine)  # text replaced, codings moved
                _write(out, self._source(tr, mine, shown_memos, recording), 2)
                archive.writestr(_member(f"sources/{source_guid(tr.name)}.txt", stamp),
                                 tr.text.encode("utf-8"))
                if recording is not None:
                    self._recording(archive, recording, stamp)
            out.write("\n  </Sources>")
        if self.notes:
            notes = ET.Element("Notes")
            notes.extend(self.notes)
            _write(out, notes, 1)
        if self.book is not None:
            description = ET.Element("Description")
            description.text = clean(pack_extra(self.book.description, {
                "version": self.book.version, "language": self.book.language,
                "speakers": self.book.speakers}))
            _write(out, description, 1)
        out.write("\n</Project>\n")

    def _cases(self, transcripts: list[TranscriptInfo]) -> list[ET.Element]:
        """The Variables and Cases sections (each participant's attributes)."""
        sections: list[ET.Element] = []
        names = sorted({k for tr in transcripts for k, v in tr.attributes.items()
                        if v is not None})
        kinds = {name: _variable_type([tr.attributes[name] for tr in transcripts
                                       if tr.attributes.get(name) is not None])
                 for name in names}
        if names:
            variables = ET.Element("Variables")
            sections.append(variables)
            for name in names:
                kind = kinds[name]
                var = _sub(variables, "Variable", guid=make_guid("variable", name), name=name,
                           typeOfVariable="Text" if kind == "json" else kind)
                if kind == "json":
                    _text(var, "Description", JSON_VALUES)
        if not transcripts:
            return sections
        cases = ET.Element("Cases")
        sections.append(cases)
        for tr in transcripts:
            shown = self.p.text(tr.name)
            case = _sub(cases, "Case", guid=make_guid("case", shown), name=shown)
            for name in names:
                value = self.p.value(tr.attributes.get(name))
                if value is None:
                    continue
                vv = _sub(case, "VariableValue")
                _sub(vv, "VariableRef", targetGUID=make_guid("variable", name))
                _text(vv, VALUE_ELEMENT[kinds[name]], _value_text(kinds[name], value))
            _sub(case, "SourceRef", targetGUID=source_guid(shown))
        return sections

    def _coding(self, sel: ET.Element, c: Coding, key: tuple[Any, ...], transcript: str,
                when: str | None) -> None:
        """A selection's ``Coding`` with its code, and its memo as a note."""
        coding = _sub(sel, "Coding", guid=make_guid("coding", *key),
                      creatingUser=user_guid(c.coder), creationDateTime=when)
        _sub(coding, "CodeRef", targetGUID=code_guid(c.code_id))
        if c.memo:
            note = make_guid("note", *key)
            _sub(coding, "NoteRef", targetGUID=note)
            name = self.book.display_name(c.code_id) if self.book else c.code_id
            self._note(note, f"Memo: {name} in {transcript}", c.memo, c.coder, c.time)

    def _transcript_memos(self, src: ET.Element, transcript: str, memos: dict[str, str]) -> None:
        for coder in sorted(memos):
            note = make_guid("transcript-memo", transcript, coder)
            _sub(src, "NoteRef", targetGUID=note)
            self._note(note, f"Memo by {coder} on {transcript}", memos[coder], coder, None)

    def _note(self, guid: str, name: str, text: str, coder: str, when: datetime | None) -> None:
        note = ET.Element("Note", {k: clean(v) for k, v in {
            "guid": guid, "name": name, "creatingUser": user_guid(coder),
            **({"creationDateTime": format_time(when)} if when else {})}.items()})
        _text(note, "PlainTextContent", text)
        self.notes.append(note)

    def _source(self, tr: Transcript, codings: list[Coding], memos: dict[str, str],
                recording: MediaInfo | None = None) -> ET.Element:
        if recording is not None:
            return self._media_source(tr, codings, memos, recording)
        guid = source_guid(tr.name)
        src = ET.Element("TextSource", {"guid": guid, "name": clean(tr.name),
                                        "plainTextPath": f"internal://{guid}.txt"})
        for c, key in _selection_keys(codings):
            when = format_time(c.time)
            sel = _sub(src, "PlainTextSelection", guid=make_guid("selection", *key),
                       name=_excerpt(tr.text[c.start:c.end]), startPosition=c.start,
                       endPosition=c.end, creatingUser=user_guid(c.coder), creationDateTime=when)
            self._coding(sel, c, key, tr.name, when)
        self._transcript_memos(src, tr.name, memos)
        return src

    # -- a transcript with its recording: an AudioSource/VideoSource holding a Transcript,
    #    the recording itself in sources/ -------------------------------------------------------
    def _media_source(self, tr: Transcript, codings: list[Coding], memos: dict[str, str],
                      recording: MediaInfo) -> ET.Element:
        """The source is the recording; the transcript text is its ``Transcript``, tied to the
        recording by a ``SyncPoint`` (character position and millisecond) at each turn with a
        timestamp. A coding is a ``TranscriptSelection`` between two sync points at its first
        and last character (those without a time carry only the position)."""
        from ..media import is_video, seconds_or_none

        guid = source_guid(tr.name)
        src = ET.Element("VideoSource" if is_video(recording.mime) else "AudioSource", {
            "guid": guid, "name": clean(tr.name),
            "path": f"internal://{_recording_file(recording)}"})
        text_el = _sub(src, "Transcript", guid=make_guid("transcript", tr.name), name=tr.name,
                       plainTextPath=f"internal://{guid}.txt")
        times: dict[int, int | None] = {}
        for seg in tr.segments:
            seconds = seconds_or_none(seg.timestamp)
            if seconds is not None:
                times[seg.start] = round(seconds * 1000)
        for c in codings:
            times.setdefault(c.start, None)
            times.setdefault(c.end, None)
        for pos in sorted(times):
            _sub(text_el, "SyncPoint", guid=make_guid("sync", tr.name, pos), timeStamp=times[pos],
                 position=pos)
        for c, key in _selection_keys(codings):
            when = format_time(c.time)
            sel = _sub(text_el, "TranscriptSelection", guid=make_guid("selection", *key),
                       name=_excerpt(tr.text[c.start:c.end]),
                       fromSyncPoint=make_guid("sync", tr.name, c.start),
                       toSyncPoint=make_guid("sync", tr.name, c.end),
                       creatingUser=user_guid(c.coder), creationDateTime=when)
            self._coding(sel, c, key, tr.name, when)
        self._transcript_memos(src, tr.name, memos)
        return src

    def _recording(self, archive: zipfile.ZipFile, recording: MediaInfo,
                   stamp: ZipStamp) -> None:
        """The recording into sources/, streamed a stored chunk at a time (stored, not
        deflated: audio and video are compressed already)."""
        member = _member(f"sources/{_recording_file(recording)}", stamp)
        member.compress_type = zipfile.ZIP_STORED
        with archive.open(member, "w", force_zip64=True) as out:
            for chunk in self.store.media_chunks(recording.transcript):
                out.write(chunk)


def _recording_file(recording: MediaInfo) -> str:
    """A recording's file name in sources/: a GUID of its content and its own extension."""
    return make_guid("media", recording.transcript, recording.sha256) + \
        Path(recording.name).suffix.lower()


def export_qdpx(project: Project, path: str | Path,
                statuses: tuple[str, ...] | list[str] = ("accepted",),
                pseudonymiser: Pseudonymiser | None = None) -> Path:
    """Write ``project`` as a REFI-QDA project (.qdpx: project.qde + sources/<guid>.txt, and
    each transcript's recording beside its text as an Audio/VideoSource; none when
    pseudonymised).

    Only codings whose status is in ``statuses`` are exported (by default the accepted ones).
    The file is written atomically. With a ``pseudonymiser`` the source texts, source and case
    names, attribute values and memos are replaced and the codings moved onto the same words.
    """
    statuses = tuple(statuses)
    wrong = [s for s in statuses if s not in STATUSES]
    if wrong or not statuses:
        raise ExchangeError(f"unknown coding status(es) {wrong or '(none)'}", field="statuses",
                            hint=f"choose from {', '.join(STATUSES)}")
    writer = _ProjectWriter(project, statuses, pseudonymiser)
    now = datetime.now()
    stamp: ZipStamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    # built in temporary files, not in memory: recordings can be large, and so can the
    # project.qde of a large study (written first beside the archive, whose sources go in as
    # it is written: a zip takes one member at a time)
    with tempfile.TemporaryFile() as buffer, \
            tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as qde:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            writer.build(archive, stamp, qde)
            qde.seek(0)
            with archive.open(_member(QDE_NAME, stamp), "w", force_zip64=True) as member:
                for piece in iter(lambda: qde.read(1024 ** 2), ""):
                    member.write(piece.encode("utf-8"))
        buffer.seek(0)
        return atomic_write_chunks(path, iter(lambda: buffer.read(1024 ** 2), b""))
