"""Each reader on a real file of its format, offsets included, and the bad-input messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualkit.errors import ReaderError
from qualkit.readers import find_transcripts, read_path

TXT = """---
participant: P01
pseudonym: Dana
works_alone: "yes"
years_in_role: 3
interview_date: 2026-03-12
---
[00:00:05] Interviewer: Could you tell me about your role?

[00:00:12] Dana: I'm the only keyworker up the dale.
Most days I work alone.

[00:01:30] Interviewer: And support?
"""


def check_offsets(transcript) -> None:
    assert transcript.segments, "no segments"
    for seg in transcript.segments:
        assert transcript.text[seg.start:seg.end] == seg.text
        assert seg.text == seg.text.strip()


def only(path: Path):
    docs = read_path(path)
    assert len(docs) == 1
    check_offsets(docs[0].transcript)
    return docs[0].transcript


def test_plain_text_with_front_matter_and_timestamps(tmp_path):
    path = tmp_path / "p01_dana.txt"
    path.write_text(TXT, encoding="utf-8")
    tr = only(path)
    assert tr.name == "p01_dana" and tr.format == "txt"
    assert tr.attributes == {"participant": "P01", "pseudonym": "Dana", "works_alone": "yes",
                             "years_in_role": 3, "interview_date": "2026-03-12"}
    assert [s.speaker for s in tr.segments] == ["Interviewer", "Dana", "Interviewer"]
    assert tr.segments[1].text == "I'm the only keyworker up the dale.\nMost days I work alone."
    assert tr.segments[1].timestamp == "00:00:12"


def test_crlf_and_bom_are_normalised(tmp_path):
    path = tmp_path / "win.txt"
    path.write_bytes(b"\xef\xbb\xbfInterviewer: Hi.\r\n\r\nSam: Hello \xe2\x80\x94 there.\r\n")
    tr = only(path)
    assert "\r" not in tr.text and tr.segments[1].text == "Hello \u2014 there."


def test_markdown_bold_speakers_and_headings(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Interview with Sam\n\n**Interviewer:** How is it?\n\n"
                    "**Sam**: Lonely, to be honest.\n", encoding="utf-8")
    tr = only(path)
    assert [(s.speaker, s.role, s.text) for s in tr.segments] == [
        ("", "document", "Interview with Sam"), ("Interviewer", "interviewer", "How is it?"),
        ("Sam", "participant", "Lonely, to be honest.")]
    assert all(tr.text[s.start:s.end] == s.text for s in tr.segments)


def test_docx_paragraphs_and_speaker_table(tmp_path):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Interview 4")
    doc.add_paragraph("Interviewer: Who do you talk to after a hard day?")
    doc.add_paragraph("Gareth: Nobody, really. I drive home.")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Interviewer", "And the network meeting?"
    table.cell(1, 0).text, table.cell(1, 1).text = "Gareth", "That is my lifeline."
    path = tmp_path / "p04.docx"
    doc.save(path)
    tr = only(path)
    assert tr.format == "docx"
    assert [(s.speaker, s.text) for s in tr.segments] == [
        ("", "Interview 4"),  # the title before the first label: a segment nobody says
        ("Interviewer", "Who do you talk to after a hard day?"),
        ("Gareth", "Nobody, really. I drive home."),
        ("Interviewer", "And the network meeting?"),
        ("Gareth", "That is my lifeline.")]


def test_webvtt_voice_tags_merge_consecutive_cues(tmp_path):
    path = tmp_path / "call.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>How are you?\n\n"
                    "00:00:04.500 --> 00:00:07.000\n<v Priya>Tired. It has been\n\n"
                    "00:00:07.000 --> 00:00:09.000\n<v Priya>a long week.\n", encoding="utf-8")
    tr = only(path)
    assert [(s.speaker, s.text, s.timestamp) for s in tr.segments] == [
        ("Interviewer", "How are you?", "00:00:01"),
        ("Priya", "Tired. It has been a long week.", "00:00:04")]


def test_srt_name_prefix(tmp_path):
    path = tmp_path / "call.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:03,000\nInterviewer: Ready?\n\n"
                    "2\n00:00:03,500 --> 00:00:06,000\nTom: Yes, go on.\n", encoding="utf-8")
    tr = only(path)
    assert [(s.speaker, s.text) for s in tr.segments] == [("Interviewer", "Ready?"),
                                                          ("Tom", "Yes, go on.")]
    assert tr.segments[1].role == "participant"


def test_coded_segments_table_csv(tmp_path):
    path = tmp_path / "coded.csv"
    path.write_text(
        "document,segment,speaker,text,codes,coder,region\n"
        "int1,0,Interviewer,Hi?,,ann,North\n"
        "int1,1,Dana,\"I work alone, mostly.\",working_alone;no_debrief,ann,North\n"
        "int1,1,Dana,\"I work alone, mostly.\",working_alone,bob,North\n"
        "int2,0,Sam,Fine.,,ann,South\n", encoding="utf-8")
    docs = read_path(path)
    assert [d.transcript.name for d in docs] == ["int1", "int2"]
    int1 = docs[0]
    check_offsets(int1.transcript)
    assert int1.transcript.attributes == {"region": "North"}
    assert [(c.code_id, c.coder, c.segment_index) for c in int1.codings] == [
        ("working_alone", "ann", 1), ("no_debrief", "ann", 1), ("working_alone", "bob", 1)]
    seg = int1.transcript.segments[1]
    assert all((c.start, c.end) == (seg.start, seg.end) for c in int1.codings)


@pytest.mark.parametrize("content,expected", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"Interviewer: caf\xe9?\n", "not UTF-8"),
])
def test_bad_text_files_get_clear_errors(tmp_path, content, expected):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ReaderError) as info:
        read_path(path)
    assert expected in str(info.value) and "bad.txt" in str(info.value)


def test_non_utf8_error_names_the_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"Interviewer: Hi.\n\nSam: caf\xe9 au lait\n")
    with pytest.raises(ReaderError, match=r"latin.txt:3: not UTF-8.*re-save the file"):
        read_path(path)


def test_broken_front_matter_names_the_line(tmp_path):
    path = tmp_path / "fm.txt"
    path.write_text("---\nparticipant: P01\nrole: [unclosed\n---\nSam: hi\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"fm.txt:\d+: front matter is not valid YAML"):
        read_path(path)


def test_bad_docx_unsupported_and_missing(tmp_path):
    fake = tmp_path / "fake.docx"
    fake.write_bytes(b"this is not a zip")
    with pytest.raises(ReaderError, match="not a valid Word .docx"):
        read_path(fake)
    with pytest.raises(ReaderError, match="unsupported file type '.pages'"):
        read_path(tmp_path / "x.pages")
    with pytest.raises(ReaderError, match="file not found"):
        read_path(tmp_path / "missing.txt")


def test_bad_subtitles(tmp_path):
    path = tmp_path / "bad.vtt"
    path.write_text("not a subtitle file at all\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="bad.vtt: not a valid VTT"):
        read_path(path)


def test_find_transcripts_expands_folders_and_skips_hidden(tmp_path):
    (tmp_path / "a.txt").write_text("Sam: hi\n")
    (tmp_path / "notes.pages").write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.txt").write_text("Sam: hi\n")
    assert [p.name for p in find_transcripts([tmp_path])] == ["a.txt"]


def test_front_matter_reads_yaml_1_2_like_codebooks(tmp_path):
    """`yes`/`no` answers stay text (as in codebooks); numbers stay numbers."""
    path = tmp_path / "p05.txt"
    path.write_text("---\nworks_alone: yes\nrural: no\nyears: 3\nhours: 37.5\nconsented: true\n"
                    "---\nDana: I work alone.\n", encoding="utf-8")
    attrs = only(path).attributes
    assert attrs == {"works_alone": "yes", "rural": "no", "years": 3, "hours": 37.5,
                     "consented": True}
    from qualkit import yaml12
    from qualkit.codebook import io

    assert io.Yaml12Loader is yaml12.Loader  # one loader for codebooks and front matter


def test_one_registry_names_every_format_everywhere(tmp_path):
    from typer.testing import CliRunner

    from qualkit.cli import app
    from qualkit.readers import READERS, describe_formats, supported_extensions

    assert {".qdpx", ".qdc"} <= set(READERS) and READERS[".qdpx"].project
    assert supported_extensions() == list(READERS)
    words = describe_formats()
    assert all(ext in words for ext in READERS)
    with pytest.raises(ReaderError, match=r"unsupported file type '\.pages'.*\.pdf.*\.qdpx "
                                          r"\.qdc"):
        read_path(tmp_path / "x.pages")
    help_text = " ".join(CliRunner().invoke(app, ["import", "--help"]).output.split())
    assert all(ext in help_text for ext in READERS), help_text
    (tmp_path / "p.qdpx").write_bytes(b"")
    (tmp_path / "c.qdc").write_text("<x/>")
    assert [p.name for p in find_transcripts([tmp_path])] == ["c.qdc", "p.qdpx"]
