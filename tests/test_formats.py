"""PDF, OpenDocument, RTF, meeting-tool exports, and documents that are not dialogue.

Every file is built here in its real shape (fpdf2 writes the PDFs, odfpy the .odt, python-docx
the Word files; RTF, WebVTT and text by hand) and every test checks the exact offsets of every
segment."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from qualkit.cli import app
from qualkit.errors import QualkitError, ReaderError
from qualkit.model import page_of
from qualkit.readers import read_path, with_layout
from qualkit.segment import parse_turns, segment_text

runner = CliRunner()


def exact(tr):
    """Every segment's text is the transcript's text at its offsets, in order."""
    assert tr.segments, "no segments"
    for i, s in enumerate(tr.segments):
        assert s.index == i
        assert tr.text[s.start:s.end] == s.text, (s.start, s.end, s.text)
    assert all(a.end <= b.start for a, b in zip(tr.segments, tr.segments[1:]))
    return tr


def only(path, layout="auto"):
    [doc] = read_path(path, layout)
    return exact(doc.transcript)


def outside(tr, start=0):
    """The non-blank characters of ``text[start:]`` that are in no segment."""
    inside = [False] * len(tr.text)
    for s in tr.segments:
        inside[s.start:s.end] = [True] * (s.end - s.start)
    return "".join(ch for i, ch in enumerate(tr.text) if i >= start and not inside[i]
                   and not ch.isspace())


def turns(tr):
    return [(s.speaker, s.text, s.timestamp) for s in tr.segments]


# -- PDF ------------------------------------------------------------------------------------------
def two_page_pdf(path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Interviewer: How is the job going?\nDana: Lonely, honestly.\n"
                         "I drive a lot.")
    pdf.add_page()
    pdf.multi_cell(0, 8, "Interviewer: Who do you talk to?\nDana: Nobody, really.")
    pdf.output(str(path))
    return path


def test_pdf_two_pages_turns_and_page_starts(tmp_path):
    tr = only(two_page_pdf(tmp_path / "p05.pdf"))
    assert (tr.format, tr.layout) == ("pdf", "transcript")
    assert turns(tr) == [("Interviewer", "How is the job going?", None),
                         ("Dana", "Lonely, honestly.\nI drive a lot.", None),
                         ("Interviewer", "Who do you talk to?", None),
                         ("Dana", "Nobody, really.", None)]
    second = tr.text.index("Interviewer: Who")
    assert tr.pages == [0, second]
    assert tr.text[second - 2:second] == "\n\n"  # pages apart: no turn runs across them
    assert [page_of(tr, s.start) for s in tr.segments] == [1, 1, 2, 2]
    assert page_of(tr, len(tr.text) - 1) == 2 and page_of(tr, 0) == 1


def test_pdf_import_cites_pages_in_extracts_and_report(make_project, tmp_path):
    from qualkit import review
    from qualkit.report.build import build_report
    from qualkit.sheets import extracts_table

    proj = make_project()
    pdf = two_page_pdf(tmp_path / "p05.pdf")
    r = runner.invoke(app, ["import", str(pdf), "--project", str(proj.root)])
    assert r.exit_code == 0, r.output
    tr = proj.store.load_transcript("p05")
    assert tr.pages == [0, tr.text.index("Interviewer: Who")] and tr.layout == "transcript"
    exact(tr)
    start = tr.text.index("Nobody")
    review.code_passage(proj.store, "p05", start, start + len("Nobody"), "working_alone", "ann")
    table = extracts_table(proj.store, proj.codebook())
    assert list(table["page"]) == ["p. 2"] and list(table["text"]) == ["Nobody"]
    assert list(table.columns).index("page") == list(table.columns).index("segment") + 1
    from qualkit.sheets import write_sheet

    written = write_sheet(table, tmp_path / "extracts.csv").read_text(encoding="utf-8-sig")
    assert ",page," in written.splitlines()[0] and ",p. 2," in written.splitlines()[1]
    report = build_report(proj)
    quotes = [q for s in report.sections for c in [s.theme, *s.codes] for q in c.extracts]
    assert quotes and all(q.page == 2 and "p. 2" in q.location for q in quotes)


def test_pdf_without_a_text_layer_is_refused_as_scanned(tmp_path):
    from fpdf import FPDF
    from PIL import Image

    picture = tmp_path / "scan.png"
    Image.new("RGB", (200, 100), "white").save(picture)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(picture), x=10, y=10, w=100)
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(ReaderError, match=r"no text layer \(scanned.*run OCR") as err:
        read_path(tmp_path / "scan.pdf")
    assert "\n" not in str(err.value) and "scan.pdf" in str(err.value)


def test_encrypted_and_damaged_pdfs_get_one_clear_line(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 8, "Interviewer: Hello?")
    pdf.output(str(tmp_path / "locked.pdf"))
    with pytest.raises(ReaderError, match="password-protected"):
        read_path(tmp_path / "locked.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    with pytest.raises(ReaderError, match="not a readable PDF file"):
        read_path(tmp_path / "broken.pdf")
    (tmp_path / "fake.pdf").write_text("Interviewer: not a PDF at all\n")
    with pytest.raises(ReaderError, match="does not start with a PDF header"):
        read_path(tmp_path / "fake.pdf")


# -- OpenDocument ---------------------------------------------------------------------------------
def test_odt_paragraphs_spans_spaces_and_speaker_table(tmp_path):
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P, S, Span

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Interview 7"))
    para = P(text="Interviewer: How is the job ")
    para.addElement(Span(text="going?"))
    doc.text.addElement(para)
    para = P(text="Dana: Lonely, café life.")
    para.addElement(S(c=2))
    para.addElement(Span(text="Really."))
    doc.text.addElement(para)
    table = Table()
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for who, words in [("Interviewer", "Who do you talk to?"), ("Dana", "Nobody, really.")]:
        row = TableRow()
        for value in (who, words):
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    doc.text.addElement(table)
    doc.save(str(tmp_path / "p07.odt"))
    tr = only(tmp_path / "p07.odt")
    assert (tr.format, tr.layout) == ("odt", "transcript")
    assert [(s.speaker, s.role, s.text) for s in tr.segments] == [
        ("", "document", "Interview 7"),  # the title: a segment of its own, nobody says it
        ("Interviewer", "interviewer", "How is the job going?"),
        ("Dana", "participant", "Lonely, café life.  Really."),
        ("Interviewer", "interviewer", "Who do you talk to?"),
        ("Dana", "participant", "Nobody, really.")]


def test_odt_that_is_not_a_text_document_or_not_a_zip(tmp_path):
    (tmp_path / "x.odt").write_text("Interviewer: hi")
    with pytest.raises(ReaderError, match="not a valid OpenDocument.*not a zip"):
        read_path(tmp_path / "x.odt")
    from odf.opendocument import OpenDocumentSpreadsheet

    OpenDocumentSpreadsheet().save(str(tmp_path / "sheet.odt"))
    with pytest.raises(ReaderError, match="no text document"):
        read_path(tmp_path / "sheet.odt")


# -- RTF ------------------------------------------------------------------------------------------
RTF = (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman Times New Roman;}{\f1\fswiss Arial;}}"
       "\n" r"{\colortbl;\red0\green0\blue0;}\f0\fs24 "
       r"Interviewer: Where do you work?\par" "\n"
       r"Dana: At the caf\u233?, mostly\u8212?and in Bront\'eb country.\par" "\n"
       r"\par" "\n"
       r"{\f1 Interviewer:} Alone?\par" "\n"
       r"Dana: Yes, {\b alone}.\par" "\n}")


def test_rtf_with_font_table_unicode_and_codepage_escapes(tmp_path):
    (tmp_path / "p08.rtf").write_bytes(RTF.encode("ascii"))
    tr = only(tmp_path / "p08.rtf")
    assert (tr.format, tr.layout) == ("rtf", "transcript")
    assert [(s.speaker, s.text) for s in tr.segments] == [
        ("Interviewer", "Where do you work?"),
        ("Dana", "At the café, mostly\u2014and in Brontë country."),
        ("Interviewer", "Alone?"), ("Dana", "Yes, alone.")]
    assert "Times New Roman" not in tr.text and "Arial" not in tr.text


def test_rtf_that_is_not_rtf(tmp_path):
    (tmp_path / "x.rtf").write_text("Interviewer: plain text with an .rtf name\n")
    with pytest.raises(ReaderError, match=r"not a valid RTF file"):
        read_path(tmp_path / "x.rtf")


# -- Teams, Zoom, Otter ---------------------------------------------------------------------------
def test_teams_vtt_voice_tags_keep_the_speaker(tmp_path):
    (tmp_path / "teams.vtt").write_text(
        "WEBVTT\n\n0f8a1c2e-1/12-0\n00:00:03.120 --> 00:00:07.400\n"
        "<v Dana Smith>Honestly it is lonely.</v>\n\n0f8a1c2e-1/13-0\n"
        "00:00:07.400 --> 00:00:09.000\n<v Dana Smith>I drive a lot.</v>\n\n"
        "0f8a1c2e-1/14-0\n00:00:09.500 --> 00:00:12.000\n<v Sam Jones>Who do you talk to?</v>\n",
        encoding="utf-8")
    tr = only(tmp_path / "teams.vtt")
    # consecutive cues by one speaker are one turn, timed at its first cue
    assert turns(tr) == [("Dana Smith", "Honestly it is lonely. I drive a lot.", "00:00:03"),
                         ("Sam Jones", "Who do you talk to?", "00:00:09")]
    assert "</v>" not in tr.text and tr.layout == "transcript"


def test_zoom_vtt_numbered_cues_with_name_prefix(tmp_path):
    (tmp_path / "zoom.vtt").write_text(
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nSam Jones: How is the job going?\n\n"
        "2\n00:00:04.500 --> 00:00:08.000\nDana Smith: Honestly, lonely.\n\n"
        "3\n00:00:08.000 --> 00:00:09.000\nDana Smith: Very.\n", encoding="utf-8")
    tr = only(tmp_path / "zoom.vtt")
    assert turns(tr) == [("Sam Jones", "How is the job going?", "00:00:01"),
                         ("Dana Smith", "Honestly, lonely. Very.", "00:00:04")]


def test_zoom_txt_bracketed_speaker_and_time_lines(tmp_path):
    text = ("[Sam Jones] 00:00:03\nHow is the job going?\n"
            "[Dana Smith] 00:00:10\nHonestly, lonely.\nI drive a lot.\n"
            "[Sam Jones] 00:01:25\nWho do you talk to?\n")
    (tmp_path / "zoom.txt").write_text(text, encoding="utf-8")
    tr = only(tmp_path / "zoom.txt")
    assert tr.text == text and tr.layout == "transcript"
    assert turns(tr) == [("Sam Jones", "How is the job going?", "00:00:03"),
                         ("Dana Smith", "Honestly, lonely.\nI drive a lot.", "00:00:10"),
                         ("Sam Jones", "Who do you talk to?", "00:01:25")]


def test_otter_txt_name_and_time_then_words(tmp_path):
    text = ("Interviewer  0:03\nHow is the job going?\n\n"
            "Dana Smith  0:10\nHonestly, lonely. I drive a lot.\nMost days alone.\n\n"
            "Interviewer  1:25\nWho do you talk to?\n\nDana Smith  1:31\nNobody, really.\n")
    (tmp_path / "otter.txt").write_text(text, encoding="utf-8")
    tr = only(tmp_path / "otter.txt")
    assert turns(tr) == [
        ("Interviewer", "How is the job going?", "0:03"),
        ("Dana Smith", "Honestly, lonely. I drive a lot.\nMost days alone.", "0:10"),
        ("Interviewer", "Who do you talk to?", "1:25"),
        ("Dana Smith", "Nobody, really.", "1:31")]
    assert [s.role for s in tr.segments] == ["interviewer", "participant"] * 2
    assert outside(tr).replace("Interviewer", "").replace("DanaSmith", "") == re.sub(
        r"\s", "", "0:03 0:10 1:25 1:31")  # only the header lines are outside the turns


@pytest.mark.parametrize("shape", ["inline", "timing-line"])
def test_teams_docx_transcript(tmp_path, shape):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Weekly check-in transcript")
    cues = [("Sam Jones", "0:00:03.120", "0:00:07.400", "How is the job going?"),
            ("Dana Smith", "0:00:07.900", "0:00:12.000", "Honestly, lonely."),
            ("Dana Smith", "0:00:12.000", "0:00:15.000", "I drive a lot."),
            ("Sam Jones", "0:00:16.000", "0:00:18.000", "Who do you talk to?")]
    for name, start, end, words in cues:
        if shape == "inline":
            doc.add_paragraph(f"{name}   {start.split('.')[0][2:]}")
        else:
            doc.add_paragraph(name)
            doc.add_paragraph(f"{start} --> {end}")
        doc.add_paragraph(words)
    doc.save(str(tmp_path / "meeting.docx"))
    tr = only(tmp_path / "meeting.docx")
    stamps = (["00:03", "00:07", "00:12", "00:16"] if shape == "inline"
              else ["0:00:03", "0:00:07", "0:00:12", "0:00:16"])
    assert turns(tr) == [("", "Weekly check-in transcript", None)] + [
        (name, words, stamp) for (name, _, _, words), stamp in zip(cues, stamps)]
    assert tr.segments[0].role == "document" and tr.layout == "transcript"


def test_a_paragraph_ending_in_a_time_is_not_an_export_header():
    text = ("Field notes\n\nWe met at the library at\n10:30\n\nThe bus left early today 11:45\n"
            "and nobody came.\n\nI waited until noon.\n\nThen I drove home.\n")
    segs, layout = segment_text(text)
    from qualkit.readers.exports import export_turns

    assert export_turns(text) is None and layout == "document"
    assert all(s.speaker == "" for s in segs)


# -- documents that are not dialogue --------------------------------------------------------------
PAPER = """\
Loneliness in rural employability work

Abstract: This study asks how keyworkers who work alone cope. We interviewed twenty people.

Keywords: loneliness, rural work, support

Introduction

Rural keyworkers often travel long distances between clients.
This study asks: what helps them?

Method: We used semi-structured interviews.

The interviews were coded thematically. Participant: one of twenty.

Results

Most participants described isolation.
"""


def test_a_paper_is_paragraphs_with_every_character_in_a_segment(tmp_path):
    (tmp_path / "paper.txt").write_text(PAPER, encoding="utf-8")
    tr = only(tmp_path / "paper.txt")
    assert tr.layout == "document"
    assert {s.speaker for s in tr.segments} == {""}  # no invented speakers
    assert {s.role for s in tr.segments} == {"participant"}
    assert outside(tr) == ""  # every non-blank character can be coded
    assert [s.text for s in tr.segments][:3] == [
        "Loneliness in rural employability work",
        "Abstract: This study asks how keyworkers who work alone cope. We interviewed twenty "
        "people.", "Keywords: loneliness, rural work, support"]
    assert tr.segments[4].text == ("Rural keyworkers often travel long distances between "
                                   "clients.\nThis study asks: what helps them?")
    assert len(tr.segments) == 9


def test_many_invented_labels_make_a_document_not_a_transcript():
    text = "\n\n".join(f"Heading {i}: some words about part {i} of the study." for i in range(56))
    segs, layout = segment_text(text)
    assert layout == "document" and len(segs) == 56 and {s.speaker for s in segs} == {""}
    assert all(text[s.start:s.end] == s.text for s in segs)


def test_text_before_the_first_label_is_a_segment_not_dropped():
    text = ("Interview with Dana, 12 March\nRecorded at her office (notes by S).\n\n"
            "Interviewer: How is it?\n\nDana: Lonely.\n\nInterviewer: Why?\n\nDana: The bus.\n")
    segs, layout = segment_text(text)
    assert layout == "transcript"
    assert [(s.speaker, s.role, s.text) for s in segs] == [
        ("", "document", "Interview with Dana, 12 March\nRecorded at her office (notes by S)."),
        ("Interviewer", "interviewer", "How is it?"), ("Dana", "participant", "Lonely."),
        ("Interviewer", "interviewer", "Why?"), ("Dana", "participant", "The bus.")]
    assert all(text[s.start:s.end] == s.text for s in segs)


def test_a_focus_group_with_a_long_answer_is_still_a_transcript():
    names = ["Moderator", "Ann", "Ben", "Cara", "Dev", "Eve", "Finn", "Gia", "Hal", "Ivy"]
    text = "\n\n".join(f"{n}: I think point {i} matters." for i, n in enumerate(names * 2))
    text += "\n\nAnd a second paragraph from Ivy.\n\nAnd a third."
    segs, layout = segment_text(text)
    assert layout == "transcript" and segs[-1].speaker == "Ivy" and len(segs) == 22
    assert all(text[s.start:s.end] == s.text for s in segs)


def test_forced_layouts_override_auto():
    segs = parse_turns(PAPER, layout="transcript")
    assert "Abstract" in {s.speaker for s in segs} and "Method" in {s.speaker for s in segs}
    short = "Interviewer: Hi.\n\nDana: Hello there.\n"
    [a, b] = parse_turns(short, layout="document")
    assert (a.speaker, a.text, b.text) == ("", "Interviewer: Hi.", "Dana: Hello there.")
    with pytest.raises(ValueError):
        parse_turns(short, layout="poem")
    # no label at all: read as turns, the paragraphs are still the participant's text
    plain = parse_turns("One thing.\n\nAnother.\n", layout="transcript")
    assert [(s.speaker, s.role, s.text) for s in plain] == [
        ("", "participant", "One thing."), ("", "participant", "Another.")]


def test_round_robin_introductions_are_a_transcript():
    """Every paragraph labelled, each by a different person once: the labels cover the text."""
    text = "Interviewer: Introduce yourselves.\n\n" + "\n\n".join(
        f"P{i}: I am number {i}." for i in range(5)) + "\n"
    segs, layout = segment_text(text)
    assert layout == "transcript" and [s.speaker for s in segs] == [
        "Interviewer", "P0", "P1", "P2", "P3", "P4"]
    assert all(text[s.start:s.end] == s.text for s in segs)


def test_import_layout_option_and_transcript_layout_keep_codings(make_project, tmp_path):
    from qualkit import review

    proj = make_project()
    path = tmp_path / "p09.txt"
    text = ("---\nparticipant: P09\n---\nInterviewer: How is it?\n\nDana: I work alone, "
            "mostly.\nEvery day.\n\nInterviewer: And then?\n\nDana: Nobody else is there.\n")
    path.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["import", str(path), "--layout", "document",
                            "--project", str(proj.root)])
    assert r.exit_code == 0, r.output
    tr = exact(proj.store.load_transcript("p09"))
    body = text.index("Interviewer")
    assert tr.layout == "document" and outside(tr, body) == "" and len(tr.segments) == 4
    assert tr.segments[1].text == "Dana: I work alone, mostly.\nEvery day."
    start = tr.text.index("Nobody")
    made = review.code_passage(proj.store, "p09", start, start + len("Nobody else"),
                               "working_alone", "ann")
    assert made.segment_index == 3
    first = tr.text.index("I work alone")
    review.code_passage(proj.store, "p09", first, first + len("I work alone"), "working_alone",
                        "ann")
    review.mark_coded(proj.store, "p09", "ann", 1, 3)

    r = runner.invoke(app, ["transcript", "layout", "p09", "transcript", "--project",
                            str(proj.root), "--coder", "lead"])
    assert r.exit_code == 0, r.output
    assert "now read as a transcript: 4 segments" in r.output and "2 codings" in r.output
    tr = exact(proj.store.load_transcript("p09"))
    assert tr.layout == "transcript" and tr.text == text
    assert [s.speaker for s in tr.segments] == ["Interviewer", "Dana", "Interviewer", "Dana"]
    codings = sorted(proj.store.codings(), key=lambda c: c.start)
    assert [(tr.text[c.start:c.end], c.segment_index) for c in codings] == [
        ("I work alone", 1), ("Nobody else", 3)]
    event = proj.store.events(1)[0]
    assert (event.action, event.entity_id, event.actor) == ("replace", "p09", "lead")
    assert event.detail["change"] == "layout" and event.detail["layout"] == "transcript"
    assert event.detail["layout_before"] == "document"

    again = runner.invoke(app, ["transcript", "layout", "p09", "transcript", "--project",
                                str(proj.root)])
    assert again.exit_code == 0 and "already" in again.output
    bad = runner.invoke(app, ["transcript", "layout", "p09", "poem", "--project",
                              str(proj.root)])
    assert bad.exit_code == 1 and "unknown layout 'poem'" in bad.output
    bad = runner.invoke(app, ["import", str(path), "--layout", "sideways", "--project",
                              str(proj.root)])
    assert bad.exit_code == 1 and "unknown layout 'sideways'" in bad.output


def test_with_layout_keeps_text_roles_and_pages(tmp_path):
    tr = only(two_page_pdf(tmp_path / "p05.pdf"))
    doc = exact(with_layout(tr, "document"))
    assert doc.text == tr.text and doc.pages == tr.pages and doc.layout == "document"
    assert outside(doc) == "" and {s.speaker for s in doc.segments} == {""}
    back = exact(with_layout(doc, "transcript"))
    assert turns(back) == turns(tr)
    with pytest.raises(QualkitError, match="unknown layout"):
        with_layout(tr, "poem")


def test_project_page_offers_the_layout_on_import_and_changes_it(make_project, monkeypatch):
    from .conftest import run_app

    proj = make_project(transcripts={"paper.txt": PAPER})
    assert proj.store.load_transcript("paper").layout == "document"
    monkeypatch.setenv("QUALKIT_PROJECT", str(proj.root))
    at = run_app("views/project.py")
    assert at.radio(key="import_layout").options == [
        "Decide from the text", "Speaker turns (a transcript)",
        "Paragraphs (a paper, notes: no speakers)"]
    assert at.radio(key="src_layout_paper").value == "document"
    assert at.button(key="src_layout_go_paper").disabled
    at.radio(key="src_layout_paper").set_value("transcript").run()
    at.button(key="src_layout_go_paper").click().run()
    assert not at.exception, at.exception
    tr = exact(proj.store.load_transcript("paper"))
    assert tr.layout == "transcript" and "Abstract" in tr.speakers()
    assert any("now read as a transcript" in s.value for s in at.success)


def test_a_corrected_file_keeps_the_layout_chosen(make_project, tmp_path):
    from qualkit.pipeline import import_paths
    from qualkit.sources import replace_transcript

    proj = make_project()
    path = tmp_path / "paper.txt"
    path.write_text(PAPER, encoding="utf-8")
    report = import_paths(proj, [path], "ann", layout="transcript")
    assert report.added == 1 and not report.errors
    assert proj.store.load_transcript("paper").layout == "transcript"
    fixed = tmp_path / "fixed" / "paper.txt"
    fixed.parent.mkdir()
    fixed.write_text(PAPER.replace("twenty people", "twenty-one people"), encoding="utf-8")
    replace_transcript(proj, "paper", fixed, "ann")
    tr = exact(proj.store.load_transcript("paper"))
    assert tr.layout == "transcript" and "Abstract" in tr.speakers()
    assert "twenty-one" in tr.text


@pytest.mark.browser
def test_uploader_imports_a_pdf_and_a_document_with_the_layout_chosen(make_project, tmp_path,
                                                                      chromium):
    """In a real browser: a PDF and a paper uploaded with "Paragraphs" chosen come in as
    documents (the PDF keeps its pages)."""

    from .browser import browser_page, serve, upload

    project = make_project()
    folder = tmp_path / "uploads"
    folder.mkdir()
    two_page_pdf(folder / "p05.pdf")
    (folder / "paper.txt").write_text(PAPER, encoding="utf-8")
    with serve(project.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url + "/project")
        page.get_by_text("Import transcripts").wait_for(timeout=60000)
        page.get_by_text("Paragraphs (a paper, notes: no speakers)").click()
        upload(page, "Transcripts (", [str(p) for p in sorted(folder.iterdir())], "Import")
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("2 added").wait_for(timeout=120000)
    paper, pdf = (exact(project.store.load_transcript(n)) for n in ("paper", "p05"))
    assert paper.layout == pdf.layout == "document"
    assert outside(paper) == "" and outside(pdf) == "" and pdf.pages and len(pdf.pages) == 2
