"""REFI-QDA exchange: schema-valid exports, a lossless round trip, other programs' quirks, and
refusal of unsafe archives. Real projects and real files throughout."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qualkit.codebook import dump_codebook, parse_codebook, save_codebook
from qualkit.errors import QualkitError
from qualkit.exchange import ExchangeError, export_qdc, export_qdpx, read_qdc, read_qdpx
from qualkit.model import Coding, ImportedDocument, Transcript
from qualkit.segment import parse_turns

from .conftest import SMALL_CODEBOOK

P = "{urn:QDA-XML:project:1.0}"
C = "{urn:QDA-XML:codebook:1.0}"

TEXT_A = ("Interviewer: How is the job at the café — naïve question, maybe?\n"
          "Sam: I work alone most days, nobody else is there.\n"
          "\n"
          "Interviewer: Who do you talk to after a hard visit?\n"
          "Sam: There is no one to debrief with, really. I love the work though.\n")
TEXT_B = ("Interviewer: Tell me about the shifts.\n"
          "Alex: I dread the night shifts. Honestly, I enjoy the quiet.\n")
ATTRS_A = {"participant": "P01", "role": "keyworker", "region": "North", "works_alone": True,
           "age": 34, "hours": 37.5, "interviewed": "2024-03-01"}
ATTRS_B = {"participant": "P02", "role": "manager", "region": "Süd", "works_alone": False,
           "age": 51, "hours": 40.25, "interviewed": "2024-03-09",
           "speakers": {"Alex": "participant", "Interviewer": "interviewer"}}
WHEN = datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)


def at(text: str, phrase: str) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def coding(tr: Transcript, phrase: str, code: str, coder: str, **kw) -> Coding:
    start, end = at(tr.text, phrase)
    seg = tr.segment_at(start)
    return Coding(code_id=code, transcript=tr.name, start=start, end=end, coder=coder,
                  segment_index=seg.index if seg else None, time=WHEN, source="manual", **kw)


def transcript(name: str, text: str, attrs: dict) -> Transcript:
    return Transcript(name=name, text=text, segments=parse_turns(text, roles=None),
                      attributes=dict(attrs), source=f"{name}.txt", format="txt")


@pytest.fixture
def project(make_project):
    """Two transcripts, codings by ann and bob, memos, and a machine suggestion."""
    a = transcript("interview_a", TEXT_A, ATTRS_A)
    b = transcript("interview_b", TEXT_B, ATTRS_B)
    sam = a.segments[1]
    project = make_project(transcripts=[ImportedDocument(a, [
        # hand-drawn, not a whole turn, after "café — naïve" so code points matter
        coding(a, "I work alone most days", "working_alone", "ann",
               memo="Said plainly — a key quote."),
        coding(a, "I work alone most days", "working_alone", "bob"),
        coding(a, "no one to debrief with", "no_debrief", "ann"),
        coding(a, sam.text, "isolation", "bob"),
        coding(a, "I love the work though.", "upbeat", "rules", status="suggested",
               score=0.9),
    ]), ImportedDocument(b, [
        coding(b, "I dread the night shifts.", "downbeat", "ann"),
        coding(b, "I enjoy the quiet", "upbeat", "bob", memo="Ambivalent?\nCheck later."),
    ])])
    project.store.set_transcript_memo("interview_a", "ann", "Follow up on shift patterns.")
    return project


def stable(qde: bytes) -> bytes:
    """project.qde without the attributes that change with every export (the export time on
    <Project>; every other time is the coding's own)."""
    head, rest = qde.split(b"<Project ", 1)
    tag, body = rest.split(b">", 1)
    tag = re.sub(rb' (creationDateTime|modifiedDateTime)="[^"]*"', b"", tag)
    return head + b"<Project " + tag + b">" + body


def qde_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde")


def sources_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.startswith("sources/")}


@pytest.fixture
def exported(project, tmp_path) -> Path:
    return export_qdpx(project, tmp_path / "out.qdpx")


# -- export --------------------------------------------------------------------------------

def test_exports_validate_against_the_refi_schemas(project, exported, shared, tmp_path):
    import xmlschema

    schemas = shared / "refi-qda"
    xmlschema.XMLSchema(schemas / "Project.xsd").validate(qde_of(exported).decode("utf-8"))
    qdc = export_qdc(project.codebook(), tmp_path / "book.qdc")
    xmlschema.XMLSchema(schemas / "Codebook.xsd").validate(str(qdc))


def test_project_contents(exported):
    root = ET.fromstring(qde_of(exported))
    assert root.get("name") == "Small test codebook"
    users = {u.get("name"): u.get("guid") for u in root.iter(f"{P}User")}
    assert set(users) == {"ann", "bob"}  # not the suggester
    # hierarchy, colours, codability, readable descriptions
    isolation = root.find(f"{P}CodeBook/{P}Codes/{P}Code")
    assert isolation.get("name") == "Isolation" and isolation.get("color") == "#1F77B4"
    assert isolation.get("isCodable") == "true"  # a theme, but bob coded with it
    assert [c.get("name") for c in isolation.findall(f"{P}Code")] == [
        "Working alone", "No one to debrief with"]
    talk = root.findall(f"{P}CodeBook/{P}Codes/{P}Code")[1]
    assert talk.get("isCodable") == "false"
    desc = isolation.find(f"{P}Code/{P}Description").text
    assert desc.startswith("Definition: Doing the job without colleagues nearby.\n"
                           "Keywords: work alone; on my own; lone worker\n\n"
                           "qualkit id: working_alone\n")
    assert 'qualkit patterns: [[{"LOWER": "nobody"}, {"LOWER": "else"}]]' in desc
    assert "qualkit exclusive: true" in talk.find(f"{P}Description").text
    # one selection per exported coding; the suggestion is left out
    selections = list(root.iter(f"{P}PlainTextSelection"))
    assert len(selections) == 6
    sources = {s.get("name"): s for s in root.iter(f"{P}TextSource")}
    files = sources_of(exported)
    a = sources["interview_a"]
    text = files[f"sources/{a.get('guid')}.txt"].decode("utf-8")
    assert a.get("plainTextPath") == f"internal://{a.get('guid')}.txt" and text == TEXT_A
    first = a.find(f"{P}PlainTextSelection")
    start, end = int(first.get("startPosition")), int(first.get("endPosition"))
    assert text[start:end] == "I work alone most days"
    assert start != len(TEXT_A[:start].encode("utf-8"))  # code points, not UTF-8 bytes
    assert first.find(f"{P}Coding").get("creatingUser") in (users["ann"], users["bob"])
    # memos: coding memos and the transcript memo are Notes referenced by NoteRef
    notes = {n.get("guid"): n.find(f"{P}PlainTextContent").text for n in root.iter(f"{P}Note")}
    coding_refs = [r.get("targetGUID") for c in root.iter(f"{P}Coding")
                   for r in c.findall(f"{P}NoteRef")]
    assert sorted(notes[g] for g in coding_refs) == ["Ambivalent?\nCheck later.",
                                                     "Said plainly — a key quote."]
    assert notes[a.find(f"{P}NoteRef").get("targetGUID")] == "Follow up on shift patterns."
    # attributes: typed variables, one case per transcript pointing at its source
    kinds = {v.get("name"): v.get("typeOfVariable") for v in root.iter(f"{P}Variable")}
    assert kinds == {"age": "Integer", "hours": "Float", "interviewed": "Date",
                     "participant": "Text", "region": "Text", "role": "Text",
                     "speakers": "Text", "works_alone": "Boolean"}
    cases = {c.get("name"): c for c in root.iter(f"{P}Case")}
    assert cases["interview_b"].find(f"{P}SourceRef").get("targetGUID") == \
        sources["interview_b"].get("guid")
    values = [v[1].text for v in cases["interview_b"].findall(f"{P}VariableValue")]
    assert "40.25" in values and "false" in values and "Süd" in values


def test_export_is_deterministic(project, exported, tmp_path):
    again = export_qdpx(project, tmp_path / "again.qdpx")
    assert stable(qde_of(again)) == stable(qde_of(exported))
    assert sources_of(again) == sources_of(exported)


def test_statuses_choose_what_is_exported(project, tmp_path):
    path = export_qdpx(project, tmp_path / "all.qdpx", statuses=("accepted", "suggested"))
    root = ET.fromstring(qde_of(path))
    assert len(list(root.iter(f"{P}PlainTextSelection"))) == 7
    with pytest.raises(ExchangeError, match="unknown coding status"):
        export_qdpx(project, tmp_path / "x.qdpx", statuses=("maybe",))


# -- round trip ----------------------------------------------------------------------------

def test_round_trip_loses_nothing(project, exported, tmp_path, make_project):
    content = read_qdpx(exported)
    assert dump_codebook(content.codebook) == dump_codebook(project.codebook())
    assert set(content.users) == {"ann", "bob"} and content.skipped_selections == 0
    assert not content.warnings
    by_name = {d.transcript.name: d for d in content.documents}
    assert by_name["interview_b"].transcript.attributes == ATTRS_B  # types kept, dict too
    for doc in content.documents:
        tr = doc.transcript
        assert tr.format == "qdpx" and tr.segments
        assert all(tr.text[s.start:s.end] == s.text for s in tr.segments)
    def key(c: Coding) -> tuple:  # the store gives times back naive (UTC)
        when = c.time if c.time.tzinfo else c.time.replace(tzinfo=UTC)
        return c.transcript, c.code_id, c.start, c.end, c.coder, c.memo, when

    want = {key(c) for c in project.store.codings(status="accepted")}
    got = {key(c) for d in content.documents for c in d.codings}
    assert ("interview_a", "working_alone", *at(TEXT_A, "I work alone most days"), "ann",
            "Said plainly — a key quote.", WHEN) in got
    assert got == want
    assert all(c.status == "accepted" and c.source == "qdpx" for d in content.documents
               for c in d.codings)
    ann = next(c for c in by_name["interview_a"].codings if c.memo)
    assert ann.segment_index == 1 and by_name["interview_a"].transcript.text[
        ann.start:ann.end] == "I work alone most days"
    assert content.memos == {"interview_a": {"ann": "Follow up on shift patterns."}}

    # into a new project, and out again: the same project.qde and the same sources
    book_file = save_codebook(content.codebook, tmp_path / "imported.yaml")
    second = make_project("second", codebook=book_file, transcripts=content.documents)
    for name, memos in content.memos.items():
        for coder, text in memos.items():
            second.store.set_transcript_memo(name, coder, text)
    again = export_qdpx(second, tmp_path / "again.qdpx")
    assert stable(qde_of(again)).decode() == stable(qde_of(exported)).decode()
    assert sources_of(again) == sources_of(exported)


AWKWARD_BOOK = """\
name: Awkward — codebook
version: "2.1"
language: nl
description: |
  Two lines
  of description.
speakers: [participant, Dana]
codes:
  - id: support
    name: Support
    color: "#abc"
    definition: |
      First line.

      Include: this is not a heading
    include: [Talk of help, "  spaced  "]
    exclude: ["multi\\nline"]
    examples: ['"I had nobody"']
    keywords: [help, "semi;colon", "no"]
    speakers: []
    children:
      - id: peer-support
        name: Peer support
        patterns:
          - [{LOWER: my}, {LOWER: mates}]
"""


def test_qdc_round_trip_keeps_every_field(tmp_path, shared):
    import xmlschema

    book = parse_codebook(AWKWARD_BOOK)
    path = export_qdc(book, tmp_path / "awkward.qdc")
    xmlschema.XMLSchema(shared / "refi-qda" / "Codebook.xsd").validate(str(path))
    back = read_qdc(path)
    book.codes[0].color = "#aabbcc"  # colours travel as #RRGGBB
    assert dump_codebook(back) == dump_codebook(book)


# -- other programs' files -------------------------------------------------------------------

CRLF_TEXT = ("Interviewer: Hello there.\r\nDana: I work alone, mostly.\r\n\r\n"
             "Interviewer: And then?\r\nDana: I dread Mondays — honestly.\r\n")
INLINE_TEXT = "Interviewer: Any support?\nLee: My mates help a lot.\n"


def foreign_qde(ns: str = "urn:QDA-XML:project:1.0") -> str:
    """A project as another program might write it (braced upper-case GUIDs, CRLF text, a
    selection without a coding, inline text, a relative path, a Case named after a person)."""
    raw_start = CRLF_TEXT.index("I dread Mondays")
    raw_end = raw_start + len("I dread Mondays")
    lee = INLINE_TEXT.index("My mates help")
    xmlns = f' xmlns="{ns}"' if ns else ""
    return f"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<Project{xmlns} name="Other tool project" origin="SomeQDA 9"
  creatingUserGUID="{{AD68FBE7-E1EE-4A82-A279-23CC698C89EB}}">
 <Users>
  <User guid="{{AD68FBE7-E1EE-4A82-A279-23CC698C89EB}}" name="Friedrich"/>
  <User guid="A5DE7584-8296-418B-A322-136F77ADF87B" name="Sebastian"/>
 </Users>
 <CodeBook><Codes>
  <Code guid="5215CC69-B628-4E02-AFB9-9BEEAEE55808" name="Feelings" isCodable="false">
   <Code guid="D7AA29DA-519B-4946-9B90-253B6DB8FD0A" name="Dread" isCodable="true" color="#FF0000">
    <Description>Fear of what is coming</Description>
   </Code>
   <Code guid="0DCEF2F5-E55C-49DA-8C33-9B0803C7AEB4" name="Dread" isCodable="true"/>
  </Code>
  <Code guid="7C108712-B650-4892-AC0B-FC9A10190C3B" name="Économie &amp; work" isCodable="true">
   <Description>Include: jobs
Exclude: hobbies</Description>
  </Code>
 </Codes></CodeBook>
 <Variables>
  <Variable guid="11111111-2222-3333-4444-555555555555" name="Age" typeOfVariable="Integer"/>
 </Variables>
 <Cases><Case guid="22222222-2222-3333-4444-555555555555" name="Dana">
  <VariableValue><VariableRef targetGUID="11111111-2222-3333-4444-555555555555"/>
   <IntegerValue>42</IntegerValue></VariableValue>
  <SourceRef targetGUID="{{69A4332D-5B31-4915-B520-5275CFC21B40}}"/>
 </Case></Cases>
 <Sources>
  <TextSource guid="69A4332D-5B31-4915-B520-5275CFC21B40" name="Dana interview"
   plainTextPath="internal://01106019-2518-43DD-BBD1-8F0252BACB30.txt">
   <PlainTextSelection guid="4191294A-E287-4510-95B0-69BCE4638E56" startPosition="{raw_start}"
    endPosition="{raw_end}" creatingUser="A5DE7584-8296-418B-A322-136F77ADF87B">
    <Description>Monday blues</Description>
    <Coding guid="445A6AEC-1400-4502-919D-0867832FF211"
     creatingUser="A5DE7584-8296-418B-A322-136F77ADF87B"
     creationDateTime="2018-03-27T19:29:27+02:00">
     <CodeRef targetGUID="{{d7aa29da-519b-4946-9b90-253b6db8fd0a}}"/>
    </Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="B49D7982-BB8E-4335-80AF-DC869CCC3F45" startPosition="0"
    endPosition="5">
    <Description>just a comment, no coding</Description>
   </PlainTextSelection>
  </TextSource>
  <TextSource guid="57C6099B-934F-4C86-90F2-CC6C2F2A3CC3" name="Lee notes">
   <PlainTextContent>{INLINE_TEXT}</PlainTextContent>
   <PlainTextSelection guid="2F24EA88-C6A7-482B-8F89-893EF66D7A21" startPosition="{lee}"
    endPosition="{lee + 13}">
    <Coding guid="2284BF5B-8F78-45B6-A6EF-A128D991408B">
     <CodeRef targetGUID="7C108712-B650-4892-AC0B-FC9A10190C3B"/>
    </Coding>
   </PlainTextSelection>
  </TextSource>
  <TextSource guid="EC0A7242-65E1-457C-B7D1-310DAE603FAB" name="Mabel" plainTextPath="relative:///mabel.txt"/>
  <TextSource guid="EC0A7242-65E1-457C-B7D1-310DAE603FAC" name="Beside" plainTextPath="relative://beside.txt"/>
  <TextSource guid="EC0A7242-65E1-457C-B7D1-310DAE603FAD" name="Sneaky" plainTextPath="relative://../secret.txt"/>
  <PictureSource guid="02255470-09E6-400B-9E20-97D71FBEC65D" name="cornflakes.jpg" path="internal://87EAD86F.jpg"/>
 </Sources>
</Project>
"""


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_reads_other_programs_quirks(tmp_path):
    (tmp_path / "beside.txt").write_text("Kim: Stored next to the archive.\n", encoding="utf-8")
    (tmp_path.parent / "secret.txt").write_text("not for import", encoding="utf-8")
    archive = write_zip(tmp_path / "other.qdpx", {
        "MyProject.qde": "\ufeff" + foreign_qde(),  # not named project.qde; with a BOM
        "Sources/01106019-2518-43DD-BBD1-8F0252BACB30.txt": CRLF_TEXT.encode("utf-8-sig"),
        "sources/mabel.txt": "Mabel: Breakfast is mayhem.\r\n",
    })
    content = read_qdpx(archive)
    book = content.codebook
    assert book.name == "Other tool project"
    assert [(c.id, c.name) for c in book.all_codes()] == [
        ("feelings", "Feelings"), ("dread", "Dread"), ("dread_2", "Dread"),
        ("economie_work", "Économie & work")]
    assert book.get("dread").definition == "Fear of what is coming"
    assert book.get("dread").color == "#ff0000"
    assert book.get("economie_work").include == ["jobs"]
    assert book.get("economie_work").exclude == ["hobbies"]
    parse_codebook(dump_codebook(book))  # a valid qualkit codebook
    docs = {d.transcript.name: d for d in content.documents}
    assert set(docs) == {"Dana interview", "Lee notes", "Mabel", "Beside"}
    assert docs["Beside"].transcript.text == "Kim: Stored next to the archive.\n"
    assert any("'Sneaky'" in w and "leaves its folder" in w for w in content.warnings)
    assert any("PictureSource 'cornflakes.jpg' was not imported" in w for w in content.warnings)
    dana = docs["Dana interview"]
    assert "\r" not in dana.transcript.text and dana.transcript.attributes == {
        "Age": 42, "case": "Dana"}
    [c] = dana.codings
    assert dana.transcript.text[c.start:c.end] == "I dread Mondays"  # CRLF offsets remapped
    assert (c.code_id, c.coder, c.memo, c.status) == ("dread", "Sebastian", "Monday blues",
                                                        "accepted")
    assert c.time == datetime(2018, 3, 27, 17, 29, 27, tzinfo=UTC)
    assert c.segment_index == dana.transcript.segment_at(c.start).index
    assert dana.transcript.segments[c.segment_index].speaker == "Dana"
    assert content.skipped_selections == 1  # the selection with only a comment
    [lee] = docs["Lee notes"].codings
    assert docs["Lee notes"].transcript.text[lee.start:lee.end] == "My mates help"
    assert lee.coder == "Friedrich"  # no creatingUser: the project's creating user
    assert docs["Mabel"].transcript.text == "Mabel: Breakfast is mayhem.\n"
    assert content.users == ["Friedrich", "Sebastian"]


@pytest.mark.parametrize("ns", ["urn:QDA-XML:codebook:1.0", "urn:QDA-XML:project:1.0",
                                "urn:QDA-XML:codebook:1:0", ""])
def test_codebook_namespace_variants(tmp_path, ns):
    xmlns = f' xmlns="{ns}"' if ns else ""
    path = tmp_path / "book.qdc"
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<CodeBook{xmlns}><Codes>
 <Code guid="{{5215cc69-b628-4e02-afb9-9beeaee55808}}" name="Topics" isCodable="false">
  <Code guid="d7aa29da-519b-4946-9b90-253b6db8fd0a" name="Economy" isCodable="true" color="#ffff00">
   <Description>Anything about jobs or taxes or business</Description>
  </Code>
 </Code>
</Codes></CodeBook>""", encoding="utf-8")
    book = read_qdc(path)
    assert book.name == "book"
    [topics] = book.codes
    assert (topics.id, topics.children[0].id) == ("topics", "economy")
    assert topics.children[0].definition == "Anything about jobs or taxes or business"
    assert topics.children[0].color == "#ffff00"


def test_codebook_inside_a_project_file_in_either_namespace(tmp_path):
    archive = write_zip(tmp_path / "ns.qdpx", {
        "project.qde": foreign_qde("urn:QDA-XML:codebook:1.0"),
        "sources/01106019-2518-43DD-BBD1-8F0252BACB30.txt": CRLF_TEXT,
        "mabel.txt": "Mabel: hi\n"})
    content = read_qdpx(archive)
    assert len(content.codebook.all_codes()) == 4 and len(content.documents) == 3
    assert any("'Beside' was not imported" in w for w in content.warnings)


def test_missing_internal_source_is_named(tmp_path):
    archive = write_zip(tmp_path / "broken.qdpx", {"project.qde": foreign_qde()})
    with pytest.raises(ExchangeError, match=r"broken.qdpx.*'Dana interview'.*internal://"):
        read_qdpx(archive)


# -- unsafe input ---------------------------------------------------------------------------

MINIMAL_QDE = '<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>'
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE Project [\n <!ENTITY lol "lol">\n'
          ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
          ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
          '<Project xmlns="urn:QDA-XML:project:1.0" name="&lol3;"/>')


def test_path_traversal_is_refused(tmp_path):
    archive = write_zip(tmp_path / "evil.qdpx", {"project.qde": MINIMAL_QDE,
                                                 "../evil.txt": "gotcha"})
    with pytest.raises(ExchangeError, match=r"evil.qdpx.*unsafe archive.*'\.\./evil\.txt'.*"
                                            r"path traversal"):
        read_qdpx(archive)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_absolute_member_is_refused(tmp_path):
    archive = write_zip(tmp_path / "abs.qdpx", {"project.qde": MINIMAL_QDE, "/etc/x": "x"})
    with pytest.raises(ExchangeError, match="absolute path"):
        read_qdpx(archive)


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", MINIMAL_QDE)
        with zf.open("sources/zeros.txt", "w", force_zip64=True) as handle:
            chunk = bytes(1024 * 1024)
            for _ in range(200):
                handle.write(chunk)
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(ExchangeError, match=r"bomb.qdpx.*unsafe archive.*zeros.txt.*zip bomb"):
        read_qdpx(path)


def test_member_that_lies_about_its_size_is_caught_while_reading(tmp_path):
    qde = MINIMAL_QDE.replace('name="x"', 'name="' + "x" * 5000 + '"').encode()
    path = write_zip(tmp_path / "liar.qdpx", {"project.qde": qde})
    data = bytearray(path.read_bytes())
    real = len(qde).to_bytes(4, "little")
    fake = (100).to_bytes(4, "little")
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at_ = data.index(sig)
        assert data[at_ + offset:at_ + offset + 4] == real
        data[at_ + offset:at_ + offset + 4] = fake
    path.write_bytes(bytes(data))
    with pytest.raises(ExchangeError, match=r"liar.qdpx.*project.qde.*cannot be read"):
        read_qdpx(path)


def test_billion_laughs_is_refused(tmp_path):
    archive = write_zip(tmp_path / "laughs.qdpx", {"project.qde": LAUGHS})
    with pytest.raises(ExchangeError, match=r"laughs.qdpx/project.qde.*entities.*billion laughs"):
        read_qdpx(archive)
    qdc = tmp_path / "laughs.qdc"
    qdc.write_text(LAUGHS.replace("Project", "CodeBook"), encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"laughs.qdc.*entities"):
        read_qdc(qdc)


def test_not_a_zip_and_no_qde(tmp_path):
    fake = tmp_path / "fake.qdpx"
    fake.write_text("<Project/>", encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"fake.qdpx.*not a zip archive"):
        read_qdpx(fake)
    empty = write_zip(tmp_path / "empty.qdpx", {"sources/a.txt": "x"})
    with pytest.raises(ExchangeError, match=r"empty.qdpx.*no .qde project file.*project.qde"):
        read_qdpx(empty)
    assert issubclass(ExchangeError, QualkitError)


def test_bad_xml_and_bad_qualkit_lines_name_the_place(tmp_path):
    broken = tmp_path / "broken.qdc"
    broken.write_text("<CodeBook><Codes>", encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"broken.qdc.*not well-formed"):
        read_qdc(broken)
    bad = tmp_path / "bad.qdc"
    bad.write_text('<CodeBook><Codes><Code guid="d7aa29da-519b-4946-9b90-253b6db8fd0a" '
                   'name="Economy" isCodable="true"><Description>qualkit id: economy\n'
                   'qualkit patterns: [[{"LOWER": </Description></Code></Codes></CodeBook>',
                   encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"bad.qdc: code 'Economy' Description: "
                                            r"'qualkit patterns:' is not valid JSON"):
        read_qdc(bad)


def test_small_codebook_fixture_exports_as_qdc(tmp_path, small_codebook):
    book = parse_codebook(SMALL_CODEBOOK)
    back = read_qdc(export_qdc(book, tmp_path / "small.qdc"))
    assert dump_codebook(back) == dump_codebook(book)


def test_exchange_checks_ids_and_colours_with_the_codebooks_own_rules():
    from qualkit.codebook import io
    from qualkit.exchange import describe, reader, writer

    assert not hasattr(describe, "ID_RE") and not hasattr(reader, "COLOR_RE")
    ids = describe.IdMaker(reserved=["Not An Id", "kept"])
    assert ids.make("Bad Id", "Bad Id") == "bad_id" and ids.make("ok_id", "x") == "ok_id"
    assert ids.reserved == {"kept"} and io.is_code_id("ok_id") and not io.is_code_id("Bad Id")
    assert reader._color("FF0000") == "#ff0000" and reader._color("#AbC") == "#abc"
    assert reader._color("#12345") is None and reader._color("blue") is None
    assert writer._hex6("#abc") == "#AABBCC" and writer._hex6("#12345") is None


def test_a_qdpx_import_is_all_or_nothing(project, exported, tmp_path, make_project):
    """The archive's second source clashes with a transcript already in the project: nothing
    of the archive is kept (not its codebook, not its first source, not its memos)."""
    from qualkit.pipeline import import_paths

    clash = transcript("interview_b", "Kim: A different interview with the same name.\n", {})
    target = make_project("target", codebook=None, transcripts=[clash])
    before = (target.store.transcript_names(), len(target.store.codings()),
              len(target.store.events(1000)))
    report = import_paths(target, [exported], "ann")
    assert report.added == 0 and len(report.errors) == 1
    assert "'interview_b' is already in the project; nothing from this file was imported" in \
        report.errors[0]
    assert (target.store.transcript_names(), len(target.store.codings()),
            len(target.store.events(1000))) == before
    assert target.store.codebook_head() is None and target.store.transcript_memos(
        "interview_b") == {}
    assert not target.codebook_path.exists()
    # renamed out of the way, the same archive imports whole: codebook, sources, memos
    target.store.close()
    fresh = make_project("fresh", codebook=None)
    report = import_paths(fresh, [exported], "ann")
    assert report.added == 2 and not report.errors
    assert fresh.codebook().ids() == project.codebook().ids()
    assert fresh.store.transcript_memos("interview_a") == {
        "ann": "Follow up on shift patterns."}


@pytest.mark.parametrize("encoding", ["uwf-8", "hex", "utf-32", "rot13"])
def test_an_xml_encoding_python_cannot_use_is_refused_in_one_line(encoding):
    from qualkit.exchange.common import parse_xml

    with pytest.raises(ExchangeError, match="declares an encoding qualkit cannot read"):
        parse_xml(f'<?xml version="1.0" encoding="{encoding}"?><a/>'.encode(), "f.qdc",
                  "codebook file")
