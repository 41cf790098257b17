"""Reading REFI-QDA: .qdc codebooks and .qdpx projects from any program, tolerantly and safely.

Tolerated: the inner project file named something other than project.qde (the single .qde in the
archive root is used), any namespace on the elements (or none), a UTF-8 BOM, CRLF or CR line
endings in sources (normalised to \\n with selection offsets mapped to match), sources given
inline (PlainTextContent) or by internal://, relative:// or absolute:// paths, selections without
a coding (skipped and counted), PDF sources with a plain-text representation.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..codebook import dump_codebook, parse_codebook
from ..codebook.io import is_color
from ..errors import CodebookError, ReaderError
from ..model import Code, Codebook, Coding, ImportedDocument, Transcript, utcnow
from .archive import MAX_MEMBER_BYTES, SafeArchive, unsafe_name
from .common import (
    ExchangeError,
    child,
    child_text,
    children,
    comments,
    local,
    norm_guid,
    parse_time,
    parse_xml,
)
from .describe import IdMaker, unpack_code, unpack_extra
from .writer import JSON_VALUES

MAX_CODE_DEPTH = 50
VALUE_TYPES = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue",
               "DateTimeValue")


@dataclass
class QdpxContent:
    """What a .qdpx holds, in qualkit's terms, ready for ``store.add_document`` and a codebook."""

    codebook: Codebook | None
    documents: list[ImportedDocument] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    memos: dict[str, dict[str, str]] = field(default_factory=dict)  # transcript -> coder -> memo
    skipped_selections: int = 0  # text selections that carried no coding
    # transcript -> (archive member, file name) of its recording, for ``attach_recordings``
    recordings: dict[str, tuple[str, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what could not be imported, and why


# -- codebooks ---------------------------------------------------------------------------------

def _color(value: str | None) -> str | None:
    """A REFI-QDA colour (#RRGGBB; the '#' is sometimes left out) if the codebook's colour
    rule accepts it, in lower case; else none."""
    text = (value or "").strip()
    text = text if text.startswith("#") else "#" + text
    return text.lower() if is_color(text) else None


def read_codes(codes_el: ET.Element, where: str) -> tuple[list[Code], dict[str, str]]:
    """The code tree under <Codes>, and a map from each code's GUID to its qualkit id."""
    parsed: list[tuple[ET.Element, Any, str]] = []

    def collect(parent: ET.Element, depth: int) -> None:
        if depth > MAX_CODE_DEPTH:
            raise ExchangeError(f"codes are nested more than {MAX_CODE_DEPTH} levels deep",
                                path=where, field="CodeBook/Codes",
                                hint="flatten the code hierarchy in the other program")
        for el in children(parent, "Code"):
            name = (el.get("name") or "").strip() or "Unnamed code"
            parsed.append((el, unpack_code(child_text(el, "Description"), name, where), name))
            collect(el, depth + 1)

    collect(codes_el, 1)
    ids = IdMaker(reserved=[fields.id for _, fields, _ in parsed if fields.id])
    by_element = {id(el): (fields, name, ids.make(fields.id, name)) for el, fields, name in parsed}
    guids: dict[str, str] = {}

    def build(parent: ET.Element) -> list[Code]:
        out = []
        for el in children(parent, "Code"):
            fields, name, code_id = by_element[id(el)]
            kids = build(el)
            out.append(Code(id=code_id, name=name, definition=fields.definition,
                            include=fields.include, exclude=fields.exclude,
                            examples=fields.examples, keywords=fields.keywords,
                            patterns=fields.patterns, color=_color(el.get("color")),
                            speakers=fields.speakers, exclusive=fields.exclusive and bool(kids),
                            children=kids))
            if el.get("guid"):
                guids[norm_guid(el.get("guid"))] = code_id
        return out

    return build(codes_el), guids


def checked_codebook(book: Codebook, where: str) -> Codebook:
    """Make sure what was read is a codebook qualkit accepts (the spaCy pattern check happens
    when it is set as a project's codebook)."""
    try:
        return parse_codebook(dump_codebook(book), where, check_patterns=False)
    except CodebookError as exc:
        raise ExchangeError(f"the codebook in this file does not make a valid qualkit codebook: "
                            f"{exc}", path=where, hint="fix the codes in the other program and "
                            "export again") from None


def _book_meta(root: ET.Element) -> dict[str, Any]:
    for text in comments(root):
        text = text.strip()
        if text.startswith("qualkit codebook "):
            try:
                meta = json.loads(text[len("qualkit codebook "):])
            except (json.JSONDecodeError, RecursionError):
                return {}
            return meta if isinstance(meta, dict) else {}
    return {}


def _speakers(value: Any) -> list[str]:
    return [s for s in value if isinstance(s, str) and s.strip()] if isinstance(value, list) \
        else []


def _language(value: Any) -> str:
    """The codebook's language as qualkit wrote it (English when another program wrote it)."""
    return value if isinstance(value, str) and value.strip() else "en"


def read_qdc(path: str | Path) -> Codebook:
    """Read a REFI-QDA codebook (.qdc) as a qualkit Codebook with unique, valid code ids."""
    p = Path(path)
    where = str(p)
    try:
        if p.stat().st_size > MAX_MEMBER_BYTES:
            raise ExchangeError("the codebook file is too large to be a codebook", path=where)
        data = p.read_bytes()
    except FileNotFoundError:
        raise ExchangeError("file not found", path=where, hint="check the path") from None
    except OSError as exc:
        raise ExchangeError(f"cannot read the file: {exc.strerror}", path=where) from None
    if data.startswith(b"PK\x03\x04"):
        raise ExchangeError("this is a zip archive (a .qdpx project?), not a .qdc codebook",
                            path=where, hint="import it as a .qdpx project instead")
    root = parse_xml(data, where, "codebook file")
    meta: dict[str, Any] = _book_meta(root)
    raw_name, raw_description = meta.get("name"), meta.get("description")
    name = raw_name if isinstance(raw_name, str) else None
    description = raw_description if isinstance(raw_description, str) else ""
    book_el: ET.Element | None = root
    if local(root.tag) == "Project":  # a .qde given as a codebook: take its codebook
        book_el = child(root, "CodeBook")
        name = name or root.get("name")
        description, extra = unpack_extra(child_text(root, "Description"))
        meta = {**extra, **meta}
    elif local(root.tag) != "CodeBook":
        raise ExchangeError(f"the root element is <{local(root.tag)}>, not <CodeBook>",
                            path=where, hint="choose a REFI-QDA codebook (.qdc) file")
    codes_el = child(book_el, "Codes") if book_el is not None else None
    if codes_el is None or child(codes_el, "Code") is None:
        raise ExchangeError("the codebook has no codes (no <Codes><Code .../></Codes>)",
                            path=where, field="CodeBook/Codes",
                            hint="export the codebook again with at least one code")
    codes, _ = read_codes(codes_el, where)
    book = Codebook(name=(name or "").strip() or p.stem, version=str(meta.get("version") or "1.0"),
                    description=description, speakers=_speakers(meta.get("speakers")),
                    codes=codes, language=_language(meta.get("language")))
    return checked_codebook(book, where)


# -- sources ------------------------------------------------------------------------------------

def _decode(data: bytes, where: str, source: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ExchangeError(f"the text of source {source!r} is not UTF-8 (byte {exc.start})",
                                path=where, hint="REFI-QDA plain-text sources must be UTF-8; "
                                "export the project again") from None
    raise ExchangeError(f"the text of source {source!r} is broken UTF-16", path=where)


def normalise_newlines(raw: str) -> tuple[str, Callable[[int], int]]:
    """Text with CRLF and CR as \\n, and a map from offsets in ``raw`` to offsets in it."""
    from ..readers.text import PAGE_BREAKS

    removed = [m.start() for m in re.finditer("\r\n", raw)]
    # page breaks become line ends, one character for one (offsets keep), as on any import
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(PAGE_BREAKS)
    return text, lambda i: i - bisect_left(removed, i)


def _segment_index(tr: Transcript, start: int, end: int) -> int | None:
    seg = tr.segment_at(start)
    if seg is None or not (seg.start <= start < seg.end or (start < seg.end and end > seg.start)):
        return None
    return seg.index


class _ProjectReader:
    def __init__(self, archive: SafeArchive, qde_name: str) -> None:
        self.ar = archive
        self.where = f"{archive.where}/{qde_name}"
        self.folder = archive.path.resolve().parent
        self.content = QdpxContent(codebook=None)
        self.users: dict[str, str] = {}
        self.code_ids: dict[str, str] = {}
        self.notes: dict[str, tuple[str, str | None]] = {}  # guid -> (text, author guid)
        self.variables: dict[str, tuple[str, str, bool]] = {}  # guid -> (name, type, json?)
        self.case_values: dict[str, dict[str, Any]] = {}  # source guid -> attributes
        self.case_names: dict[str, list[str]] = {}  # source guid -> names of its cases
        self.names: set[str] = set()
        self.project_user: str | None = None
        self.warnings: dict[str, int] = {}

    def warn(self, text: str) -> None:
        """Note something that was not imported; repeats are counted, not listed."""
        self.warnings[text] = self.warnings.get(text, 0) + 1

    def user(self, guid: str | None, *fallbacks: str | None) -> str:
        for g in (guid, *fallbacks):
            if g:
                return self.users.get(norm_guid(g)) or f"user {norm_guid(g)[:8]}"
        return "unknown"

    def read(self, root: ET.Element) -> QdpxContent:
        if local(root.tag) != "Project":
            raise ExchangeError(f"the root element is <{local(root.tag)}>, not <Project>",
                                path=self.where, hint="this is not a REFI-QDA project file")
        self.project_user = root.get("creatingUserGUID")
        users_el = child(root, "Users")
        for user in children(users_el, "User") if users_el is not None else ():
            guid = norm_guid(user.get("guid"))
            name = (user.get("name") or user.get("id") or "").strip()
            self.users[guid] = name or f"user {guid[:8]}"
        self._codebook(root)
        self._notes(root)
        self._cases(root)
        sources = child(root, "Sources")
        for src in sources if sources is not None else ():
            kind = local(src.tag)
            if kind == "TextSource":
                self._text_source(src, src.get("name"), [src.get("guid")])
            elif kind in ("AudioSource", "VideoSource"):
                self._media_source(src)
            elif kind == "PDFSource" and child(src, "Representation") is not None:
                rep = child(src, "Representation")
                assert rep is not None
                self._text_source(rep, src.get("name") or rep.get("name"),
                                  [src.get("guid"), rep.get("guid")])
            elif kind:
                self.warn(f"{kind} {src.get('name')!r} was not imported (qualkit codes text only)")
        if list(children(root, "NoteRef")):
            self.warn("project-level notes were not imported (qualkit has no project memos)")
        for group, item in (("Sets", "Set"), ("Links", "Link"), ("Graphs", "Graph")):
            found = child(root, group)
            n = len(list(children(found, item))) if found is not None else 0
            if n:
                self.warn(f"{n} {item.lower()}(s) were not imported "
                          f"(qualkit has no {group.lower()})")
        seen = set(self.users.values())
        extra = {c.coder for d in self.content.documents for c in d.codings} - seen
        self.content.users = list(self.users.values()) + sorted(extra)
        self.content.warnings = [text if n == 1 else f"{text} ({n} times)"
                                 for text, n in self.warnings.items()]
        return self.content

    def _codebook(self, root: ET.Element) -> None:
        book_el = child(root, "CodeBook")
        codes_el = child(book_el, "Codes") if book_el is not None else None
        if codes_el is None or child(codes_el, "Code") is None:
            return
        codes, self.code_ids = read_codes(codes_el, self.where)
        description, meta = unpack_extra(child_text(root, "Description"))
        name = (root.get("name") or "").strip() or self.ar.path.stem
        book = Codebook(name=name, version=str(meta.get("version") or "1.0"),
                        description=description, speakers=_speakers(meta.get("speakers")),
                        codes=codes, language=_language(meta.get("language")))
        self.content.codebook = checked_codebook(book, self.where)

    def _notes(self, root: ET.Element) -> None:
        notes = child(root, "Notes")
        for note in children(notes, "Note") if notes is not None else ():
            text = child_text(note, "PlainTextContent")
            if not text and note.get("plainTextPath"):
                text = self._path_text(note.get("plainTextPath") or "", note.get("name")) or ""
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            self.notes[norm_guid(note.get("guid"))] = (text, note.get("creatingUser"))

    def _note_texts(self, el: ET.Element) -> list[str]:
        out = []
        for ref in children(el, "NoteRef"):
            note = self.notes.get(norm_guid(ref.get("targetGUID")))
            if note is None:
                self.warn(f"a NoteRef points at a note that is not in the file "
                          f"({ref.get('targetGUID')})")
            elif note[0].strip():
                out.append(note[0])
        return out

    def _cases(self, root: ET.Element) -> None:
        variables = child(root, "Variables")
        for var in children(variables, "Variable") if variables is not None else ():
            self.variables[norm_guid(var.get("guid"))] = (
                var.get("name") or "variable", var.get("typeOfVariable") or "Text",
                JSON_VALUES in child_text(var, "Description"))
        cases = child(root, "Cases")
        for case in children(cases, "Case") if cases is not None else ():
            values = self._values(case)
            case_name = (case.get("name") or "").strip()
            for ref in children(case, "SourceRef"):
                target = norm_guid(ref.get("targetGUID"))
                self.case_values.setdefault(target, {}).update(values)
                if case_name:
                    self.case_names.setdefault(target, []).append(case_name)

    def _values(self, el: ET.Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for vv in children(el, "VariableValue"):
            ref = child(vv, "VariableRef")
            var = self.variables.get(norm_guid(ref.get("targetGUID") if ref is not None else ""))
            if var is None:
                self.warn("a VariableValue refers to a variable that is not declared; skipped")
                continue
            name, _kind, is_json = var
            value_el = next((c for c in vv if local(c.tag) in VALUE_TYPES), None)
            if value_el is None:
                continue
            out[name] = self._value(local(value_el.tag), value_el.text or "", is_json)
        return out

    @staticmethod
    def _value(kind: str, raw: str, is_json: bool) -> Any:
        text = raw.strip()
        try:
            if kind == "BooleanValue":
                return text.lower() in ("true", "1")
            if kind == "IntegerValue":
                return int(text)
            if kind == "FloatValue":
                return float(text)
        except ValueError:
            return raw
        if kind == "TextValue" and is_json:
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, RecursionError):
                return raw
        return raw if kind == "TextValue" else text

    def _path_text(self, url: str, name: str | None) -> str | None:
        """The text behind a plainTextPath: internal:// in the archive; relative:// or bare
        names in the archive, else beside the .qdpx; absolute:// only if the archive has it."""
        scheme, sep, rest = url.partition("://")
        if not sep:
            scheme, rest = "relative", url
        rest = rest.lstrip("/")
        label = name or url
        if unsafe_name(rest) and scheme.lower() != "absolute":
            self.warn(f"source {label!r}: path {url!r} leaves its folder; not read")
            return None
        base = PurePosixPath(rest.replace("\\", "/")).name
        candidates = [f"sources/{rest}", rest, f"sources/{base}"]
        if scheme.lower() == "absolute":
            candidates = [f"sources/{base}"]
        for cand in candidates:
            found = self.ar.find(cand)
            if found:
                return _decode(self.ar.read(found), self.where, label)
        if scheme.lower() == "internal":
            raise ExchangeError(f"source {label!r} names {url!r} but the archive has no "
                                f"sources/{rest}", path=self.ar.where,
                                hint="the archive is incomplete; export the project again")
        if scheme.lower() == "relative":
            for disk in (self.folder / rest, self.folder / "sources" / rest):
                resolved = disk.resolve()
                if resolved.is_file() and resolved.is_relative_to(self.folder) and \
                        resolved.stat().st_size <= MAX_MEMBER_BYTES:
                    return _decode(resolved.read_bytes(), str(resolved), label)
        return None

    def _text_source(self, src: ET.Element, name: str | None, guids: list[str | None]) -> None:
        path = src.get("plainTextPath")
        raw = self._path_text(path, name) if path else None
        if raw is None:
            inline = child(src, "PlainTextContent")
            if inline is None:
                self.warn(f"source {name!r} was not imported: " + (
                    f"its text {path!r} is neither in the archive nor beside it (put the file "
                    "next to the .qdpx, or export again with sources embedded)" if path
                    else "it has neither a plainTextPath nor PlainTextContent"))
                return
            raw = inline.text or ""
        raw = raw[1:] if raw.startswith("\ufeff") else raw
        text, pos = normalise_newlines(raw)
        tr = self._transcript(name, text, guids, src)
        doc = ImportedDocument(tr)
        owner = src.get("creatingUser")
        for sel in children(src, "PlainTextSelection"):
            codings = list(children(sel, "Coding"))
            if not codings:
                self.content.skipped_selections += 1
                continue
            try:
                raw_start, raw_end = int(sel.get("startPosition", "")), \
                    int(sel.get("endPosition", ""))
            except ValueError:
                self.warn(f"source {tr.name!r}: a selection without valid start/endPosition "
                          "was skipped")
                continue
            if raw_end > len(raw) and raw_start < len(raw):
                self.warn(f"source {tr.name!r}: a selection ending after the text "
                          f"({raw_end} > {len(raw)}) was cut at its end")
            start, end = pos(max(raw_start, 0)), pos(min(raw_end, len(raw)))
            if not 0 <= start < end <= len(text):
                self.warn(f"source {tr.name!r}: selection [{raw_start}, {raw_end}) lies outside "
                          f"the text (length {len(raw)}); skipped")
                continue
            self._code_selection(doc, sel, codings, start, end, owner)
        for coding in children(src, "Coding") if text else ():  # a code on the whole source
            self._coding(doc, coding, 0, len(text), [], owner, src.get("creationDateTime"))
        self._source_memos(tr.name, children(src, "NoteRef"), owner)
        self.content.documents.append(doc)

    # -- a recording with its transcript (AudioSource/VideoSource) ----------------------------
    def _media_source(self, src: ET.Element) -> None:
        """The recording's first ``Transcript`` as a transcript: its sync points give the
        positions of its selections and, where a turn has no timestamp in its text, the turn's
        time; the recording itself (an internal:// path) is noted in ``recordings``."""
        from ..media import is_media

        kind, name = local(src.tag), src.get("name")
        found = list(children(src, "Transcript"))
        if not found:
            self.warn(f"{kind} {name!r} was not imported: it has no transcript (qualkit codes "
                      "text)")
            return
        if len(found) > 1:
            self.warn(f"{kind} {name!r}: only its first transcript was imported")
        tel = found[0]
        path = tel.get("plainTextPath")
        raw = self._path_text(path, name) if path else None
        if raw is None:
            inline = child(tel, "PlainTextContent")
            if inline is None:
                self.warn(f"{kind} {name!r} was not imported: its transcript's text is neither "
                          "in the archive nor inline")
                return
            raw = inline.text or ""
        raw = raw[1:] if raw.startswith("\ufeff") else raw
        text, pos = normalise_newlines(raw)
        tr = self._transcript(name or tel.get("name"), text, [src.get("guid"), tel.get("guid")],
                              src)
        doc = ImportedDocument(tr)
        points: dict[str, tuple[int | None, int | None]] = {}
        for sp in children(tel, "SyncPoint"):
            at, ms = _int(sp.get("position")), _int(sp.get("timeStamp"))
            points[norm_guid(sp.get("guid"))] = (
                None if at is None else pos(min(max(at, 0), len(raw))), ms)
        turn_at: dict[int, Any] = {}  # where a turn's words or its line begin -> the turn
        for turn in tr.segments:
            turn_at.setdefault(text.rfind("\n", 0, turn.start) + 1, turn)
            turn_at[turn.start] = turn
        for at, ms in points.values():
            timed = turn_at.get(at) if at is not None else None
            if timed is not None and ms is not None and ms >= 0 and not timed.timestamp:
                timed.timestamp = _clock(ms)
        owner = src.get("creatingUser")
        for sel in children(tel, "TranscriptSelection"):
            codings = list(children(sel, "Coding"))
            if not codings:
                self.content.skipped_selections += 1
                continue
            start = points.get(norm_guid(sel.get("fromSyncPoint")), (None, None))[0]
            end = points.get(norm_guid(sel.get("toSyncPoint")), (None, None))[0]
            if start is None or end is None or not 0 <= start < end <= len(text):
                self.warn(f"source {tr.name!r}: a transcript selection without sync points "
                          "at valid positions was skipped")
                continue
            self._code_selection(doc, sel, codings, start, end, owner)
        for coding in children(src, "Coding") if text else ():  # a code on the whole source
            self._coding(doc, coding, 0, len(text), [], owner, src.get("creationDateTime"))
        self._source_memos(tr.name, [*children(src, "NoteRef"), *children(tel, "NoteRef")],
                           owner)
        self.content.documents.append(doc)
        media_path = src.get("path") or src.get("currentPath") or ""
        scheme, sep, rest = media_path.partition("://")
        member = self.ar.find(f"sources/{rest.lstrip('/')}") \
            if sep and scheme.lower() == "internal" and not unsafe_name(rest.lstrip("/")) \
            else None
        if member is not None and is_media(member):
            self.content.recordings[tr.name] = (member, tr.name + PurePosixPath(member).suffix)
        else:
            self.warn(f"{kind} {name!r}: its recording {media_path!r} is not in the archive (or "
                      "not a recording qualkit stores); the transcript was imported without it")

    def _code_selection(self, doc: ImportedDocument, sel: Any, codings: list[Any], start: int,
                        end: int, owner: str | None) -> None:
        """A selection's codes on [start, end), with its notes and description as memo."""
        extra = self._note_texts(sel)
        described = child_text(sel, "Description").strip()
        if described:
            extra.append(described)
        for coding in codings:
            self._coding(doc, coding, start, end, extra, sel.get("creatingUser") or owner,
                         sel.get("creationDateTime"))

    def _source_memos(self, name: str, refs: Iterable[Any], owner: str | None) -> None:
        """The notes a source refers to, as its memos by author."""
        memos: dict[str, list[str]] = {}
        for ref in refs:
            note = self.notes.get(norm_guid(ref.get("targetGUID")))
            if note and note[0].strip():
                memos.setdefault(self.user(note[1], owner, self.project_user), []).append(note[0])
        if memos:
            self.content.memos[name] = {k: "\n\n".join(v) for k, v in memos.items()}

    def _transcript(self, name: str | None, text: str, guids: list[str | None],
                    src: ET.Element) -> Transcript:
        from ..readers.text import speaker_roles, split_front_matter
        from ..segment import parse_turns

        base = name if name and name.strip() else f"source {len(self.content.documents) + 1}"
        unique, n = base, 2
        while unique in self.names:
            unique, n = f"{base} ({n})", n + 1
        self.names.add(unique)
        try:
            attributes, body = split_front_matter(text, Path(unique))
        except ReaderError:
            attributes, body = {}, 0
        for guid in guids:
            attributes.update(self.case_values.get(norm_guid(guid), {}))
            # Other programs' cases are often people: keep the case's name when it is not
            # simply the source's own (qualkit writes one case per transcript, named after it).
            named = [c for c in self.case_names.get(norm_guid(guid), [])
                     if c != (name or "").strip()]
            if named:
                attributes.setdefault("case", "; ".join(named))
        attributes.update(self._values(src))
        segments = parse_turns(text, body, roles=speaker_roles(attributes))
        return Transcript(name=unique, text=text, segments=segments, attributes=attributes,
                          source=str(self.ar.path), format="qdpx")

    def _coding(self, doc: ImportedDocument, el: ET.Element, start: int, end: int,
                extra: list[str], fallback_user: str | None, fallback_time: str | None) -> None:
        ref = child(el, "CodeRef")
        code_id = self.code_ids.get(norm_guid(ref.get("targetGUID") if ref is not None else ""))
        if code_id is None:
            self.warn(f"source {doc.transcript.name!r}: a coding refers to a code that is not in "
                      "the codebook; skipped")
            return
        memo = "\n\n".join(self._note_texts(el) + extra)
        when = parse_time(el.get("creationDateTime")) or parse_time(fallback_time) or utcnow()
        doc.codings.append(Coding(
            code_id=code_id, transcript=doc.transcript.name, start=start, end=end,
            coder=self.user(el.get("creatingUser"), fallback_user, self.project_user),
            status="accepted", segment_index=_segment_index(doc.transcript, start, end),
            time=when, memo=memo, source="qdpx"))


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _clock(ms: int) -> str:
    """Milliseconds as a turn timestamp: 65200 -> '00:01:05.200'."""
    seconds, milli = divmod(ms, 1000)
    hours, rest = divmod(seconds, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return clock + (f".{milli:03d}" if milli else "")


def read_recording(path: str | Path, member: str) -> Iterator[bytes]:
    """A recording inside a .qdpx, chunk by chunk, within the archive's limits."""
    with SafeArchive(path) as archive:
        found = archive.find(member)
        if found is None:
            raise ExchangeError(f"the archive has no member {member!r}", path=archive.where)
        yield from archive.stream(found)


def read_qdpx(path: str | Path) -> QdpxContent:
    """Read a REFI-QDA project (.qdpx) safely: its codebook, documents with codings, users."""
    with SafeArchive(path) as archive:
        qde = archive.find("project.qde")
        if qde is None:
            found = archive.root_files(".qde")
            if len(found) != 1:
                what = ("no .qde project file" if not found
                        else f"several .qde files ({', '.join(found)}) and no project.qde")
                raise ExchangeError(f"the archive has {what} at its top level",
                                    path=archive.where,
                                    hint="a .qdpx must hold project.qde beside a sources/ folder; "
                                         "export the project again")
            qde = found[0]
        root = parse_xml(archive.read(qde), f"{archive.where}/{qde}", "project file")
        return _ProjectReader(archive, qde).read(root)
