"""Bad input (issue #12): every reader of user files has bounded memory and time, and every
failure is one line of ``QualkitError`` naming the file, never a traceback. One test per
reproduction: damaged and hostile .docx/.xlsx/.qdpx (zipguard), YAML bombs and control
characters (yaml12), long CSV cells, and control characters already stored in a project."""

from __future__ import annotations

import random
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from qualkit import yaml12
from qualkit.codebook import load_codebook, parse_codebook
from qualkit.codedtable import (
    MAX_CELL_CHARS,
    TableRow,
    read_coded_table,
    read_table_rows,
    write_coded_table,
)
from qualkit.errors import CodebookError, QualkitError, ReaderError
from qualkit.exchange import read_qdpx
from qualkit.exchange.archive import SafeArchive
from qualkit.exchange.common import ExchangeError
from qualkit.readers import read_path
from qualkit.readers.docx import read_docx
from qualkit.zipguard import MB, OFFICE_LIMITS, ZipLimits, check_zip

MINIMAL_QDE = '<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>'
SMALL = ZipLimits(members=50, total_bytes=4 * MB, member_bytes=2 * MB, ratio=100,
                  ratio_min_bytes=16 * 1024)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert isinstance(exc, QualkitError), repr(exc)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def make_docx(path: Path, lines: list[str] | None = None) -> Path:
    import docx

    doc = docx.Document()
    for line in lines or ["Interviewer: How is the work?", "Kim: I work on my own mostly."]:
        doc.add_paragraph(line)
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Lee", "And the meetings help."
    doc.save(str(path))
    return path


def make_xlsx(path: Path, rows: int = 3) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["document", "segment", "speaker", "text", "codes"])
    for i in range(rows):
        ws.append(["d1", i + 1, "Kim", f"I work on my own, day {i}.", "alone"])
    book.save(str(path))
    return path


def rezip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """``source``'s members with some replaced, deflated."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
    return target


def zeros_member(zf: zipfile.ZipFile, name: str, size: int) -> None:
    with zf.open(name, "w", force_zip64=True) as handle:
        chunk = bytes(min(size, MB))
        left = size
        while left > 0:
            handle.write(chunk[:left])
            left -= len(chunk)


def with_bomb(source: Path, target: Path, member: str, size: int) -> Path:
    """``source`` with ``member`` replaced by ``size`` bytes of zeros (deflated ~1000:1)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == member:
                zeros_member(zout, member, size)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
    return target


def mutations(data: bytes, count: int, seed: int) -> list[bytes]:
    """Byte flips, truncations and inserted bytes, reproducibly."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        b = bytearray(data)
        kind = i % 3
        at = rng.randrange(len(b))
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            b = b[:at]
        else:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        out.append(bytes(b))
    return out


def assert_readable_or_refused(path: Path) -> None:
    try:
        docs = read_path(path)
    except QualkitError as exc:
        one_line(exc)
        return
    for doc in docs:
        tr = doc.transcript
        for seg in tr.segments:
            assert tr.text[seg.start:seg.end] == seg.text


# -- 1. damaged .docx and .xlsx ---------------------------------------------------------------

def test_damaged_docx_files_give_one_line_errors(tmp_path):
    good = make_docx(tmp_path / "good.docx").read_bytes()
    for i, data in enumerate(mutations(good, 90, seed=12)):
        path = tmp_path / f"m{i}.docx"
        path.write_bytes(data)
        assert_readable_or_refused(path)


def test_damaged_xlsx_files_give_one_line_errors(tmp_path):
    good = make_xlsx(tmp_path / "good.xlsx").read_bytes()
    for i, data in enumerate(mutations(good, 90, seed=13)):
        path = tmp_path / f"m{i}.xlsx"
        path.write_bytes(data)
        assert_readable_or_refused(path)


def test_damaged_inner_xml_names_the_file(tmp_path):
    """A well-formed zip whose XML is broken: the library's error becomes our one line."""
    docx_path = rezip(make_docx(tmp_path / "a.docx"), tmp_path / "broken.docx",
                      {"word/document.xml": b"<w:document><w:body>"})
    with pytest.raises(ReaderError, match=r"broken.docx: not a valid Word .docx file: "):
        read_docx(docx_path)
    xlsx_path = rezip(make_xlsx(tmp_path / "a.xlsx"), tmp_path / "broken.xlsx",
                      {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row r='1'><c r='A1'"})
    with pytest.raises(ReaderError, match=r"broken.xlsx.*not a valid Excel .xlsx file: ") as info:
        read_coded_table(xlsx_path)
    one_line(info.value)
    bad_ref = rezip(make_xlsx(tmp_path / "b.xlsx"), tmp_path / "badref.xlsx", {
        "xl/worksheets/sheet1.xml": b'<worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="QQQQQQ1" t="inlineStr">'
        b'<is><t>x</t></is></c></row></sheetData></worksheet>'})
    with pytest.raises(ReaderError, match=r"badref.xlsx.*not a valid Excel"):
        read_coded_table(bad_ref)


def test_entity_reference_in_docx_is_skipped(tmp_path):
    path = make_docx(tmp_path / "a.docx")
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    head, rest = xml.split("?>", 1)
    xml = (head + '?><!DOCTYPE w:document [<!ENTITY who "Kim">]>' + rest).replace(
        "I work on my own mostly.", "I work on my own &who; mostly.").replace(
        "<w:body>", "<w:body><!-- a comment --><?pi here?>")
    entity = rezip(path, tmp_path / "entity.docx", {"word/document.xml": xml.encode()})
    tr = read_docx(entity)[0].transcript
    assert "I work on my own" in tr.text and "mostly." in tr.text
    for seg in tr.segments:
        assert tr.text[seg.start:seg.end] == seg.text


def test_docx_table_spans_are_not_expanded(tmp_path):
    """A cell claiming to span a billion columns (python-docx would build that many cells)."""
    path = make_docx(tmp_path / "a.docx")
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    xml = xml.replace("<w:tc><w:tcPr>", '<w:tc><w:tcPr><w:gridSpan w:val="1000000000"/>', 1)
    assert "gridSpan" in xml
    spans = rezip(path, tmp_path / "spans.docx", {"word/document.xml": xml.encode()})
    started = time.monotonic()
    tr = read_docx(spans)[0].transcript
    assert time.monotonic() - started < 5
    assert "Lee: And the meetings help." in tr.text


# -- 2. codebooks: control characters and deep YAML -------------------------------------------

def test_codebook_control_character_names_the_line(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text("name: x\ncodes:\n  - id: a\n    name: A\x0cB\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"cb.yaml:4: not valid YAML: character U\+000C "
                                            r"\(a control character\).*column 12") as info:
        load_codebook(path)
    assert len(info.value.problems) == 1
    path.write_text("name: x\ncodes:\n  - id: a\x00\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"cb.yaml:3: not valid YAML: character U\+0000"):
        load_codebook(path)


def test_deep_yaml_is_refused_not_recursion_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\ncodes: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"deep.yaml:2: not valid YAML: nested more than 50"):
        load_codebook(path)
    block = "".join("  " * i + "- \n" for i in range(200))
    with pytest.raises(CodebookError, match="nested more than 50"):
        parse_codebook("name: x\ncodes:\n" + block, "block.yaml")


# -- 3. long CSV cells ------------------------------------------------------------------------

def test_csv_cell_over_131072_characters_reads(tmp_path):
    path = tmp_path / "long.csv"
    long_text = "word " * 40_000  # 200,000 characters: past csv's default limit
    path.write_text("document,segment,speaker,text,codes\n"
                    f'd1,1,Kim,"{long_text}",alone\n', encoding="utf-8")
    rows = read_table_rows(path)
    assert rows[0].text == long_text


def test_csv_cell_over_the_limit_names_the_row(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("document,segment,speaker,text,codes\nd1,1,Kim,short,\n"
                    f'd1,2,Kim,"{"x" * (MAX_CELL_CHARS + 1)}",\n', encoding="utf-8")
    with pytest.raises(ReaderError, match=r"huge.csv:3: a cell is longer than 1,000,000 "
                                          r"characters") as info:
        read_table_rows(path)
    one_line(info.value)


# -- 4. resource exhaustion -------------------------------------------------------------------

ALIAS_BOMB = ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
              + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                        for p, c in zip("abcdefgh", "bcdefghi")))


def test_yaml_alias_bomb_in_codebook_and_front_matter_is_refused_fast(tmp_path):
    started = time.monotonic()
    path = tmp_path / "bomb.yaml"
    path.write_text("name: x\n" + ALIAS_BOMB + "codes: *i\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"bomb.yaml:\d+: not valid YAML: aliases expand "
                                            r"to more than 10,000"):
        load_codebook(path)
    transcript = tmp_path / "t.md"
    transcript.write_text("---\n" + ALIAS_BOMB + "---\nKim: I work alone.\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"t.md:\d+: front matter is not valid YAML: aliases"):
        read_path(transcript)
    many = "a: &x 1\nb: [" + ", ".join(["*x"] * 101) + "]\n"
    with pytest.raises(yaml12.YamlLimitError, match="more than 100 aliases"):
        yaml12.load(many)
    with pytest.raises(yaml12.YamlLimitError, match="recursive"):
        yaml12.load("a: &a [1, *a]\n")
    assert yaml12.load("base: &b {x: 1}\nother: *b\nok: yes\n") == {
        "base": {"x": 1}, "other": {"x": 1}, "ok": "yes"}
    assert time.monotonic() - started < 5


def test_docx_zip_bomb_with_real_default_limits_is_refused_quickly(tmp_path):
    """200 MB of zeros compressed to ~200 KB, checked with qualkit's real limits."""
    bomb = with_bomb(make_docx(tmp_path / "a.docx"), tmp_path / "bomb.docx",
                     "word/document.xml", 200 * MB)
    assert bomb.stat().st_size < 1 * MB
    started = time.monotonic()
    with pytest.raises(ReaderError, match=r"bomb.docx: not a valid Word .docx file: refused: "
                                          r"member 'word/document.xml' is 200 MB uncompressed"
                       ) as info:
        read_path(bomb)
    assert time.monotonic() - started < 2
    one_line(info.value)


def test_ratio_is_checked_for_every_member_above_a_small_size(tmp_path):
    """Members just under the old 5 MB threshold, with the real limits."""
    path = tmp_path / "many.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", MINIMAL_QDE)
        for i in range(3):
            zeros_member(zf, f"sources/{i}.txt", 49 * MB // 10)
    with pytest.raises(ExchangeError, match=r"many.qdpx: unsafe archive refused: member "
                                            r"'sources/0.txt' expands .*zip bomb"):
        read_qdpx(path)


def test_many_small_members_are_caught_by_the_total_ratio(tmp_path):
    path = tmp_path / "small.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", MINIMAL_QDE)
        for i in range(40):
            zeros_member(zf, f"sources/{i}.txt", 15 * 1024)  # each under ratio_min_bytes
    with pytest.raises(ExchangeError, match=r"its members expand .* in all \(a zip bomb"):
        SafeArchive(path, limits=SMALL)
    with pytest.raises(ReaderError, match=r"small.qdpx: not a valid Word .docx file: refused: "
                                          r"its members expand"):
        check_zip(path, what="not a valid Word .docx file", limits=SMALL)


def test_xlsx_and_docx_bombs_are_refused_with_small_limits(tmp_path):
    xlsx = with_bomb(make_xlsx(tmp_path / "a.xlsx"), tmp_path / "bomb.xlsx",
                     "xl/worksheets/sheet1.xml", 3 * MB)
    with pytest.raises(ReaderError, match=r"bomb.xlsx: not a valid Excel .xlsx file: refused: "
                                          r"member 'xl/worksheets/sheet1.xml' is 3.0 MB"):
        check_zip(xlsx, what="not a valid Excel .xlsx file", limits=SMALL)
    ratio = ZipLimits(ratio_min_bytes=64 * 1024)
    with pytest.raises(ReaderError, match=r"expands \d[\d,]*:1 to 3.0 MB \(a zip bomb"):
        check_zip(xlsx, what="not a valid Excel .xlsx file", limits=ratio)
    docx = with_bomb(make_docx(tmp_path / "a.docx"), tmp_path / "bomb.docx",
                     "word/document.xml", 3 * MB)
    with pytest.raises(ReaderError, match=r"bomb.docx: .*zip bomb"):
        read_docx(docx, limits=ratio)
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(51):
            zf.writestr(f"x/{i}.xml", "<x/>")
    with pytest.raises(ReaderError, match=r"holds 51 members \(the limit is 50\)"):
        check_zip(many, what="not a valid Excel .xlsx file", limits=SMALL)


def test_xlsx_with_a_huge_declared_dimension_reads_fast(tmp_path):
    """A sheet declaring A1:XFD1048576 and a row numbered a million: openpyxl would pad."""
    path = make_xlsx(tmp_path / "a.xlsx")
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    sheet = sheet.replace('<dimension ref="A1:E4"/>', '<dimension ref="A1:XFD1048576"/>')
    sheet = sheet.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                          "<is><t>far away</t></is></c></row></sheetData>")
    assert "XFD1048576" in sheet and "far away" in sheet
    wide = rezip(path, tmp_path / "wide.xlsx", {"xl/worksheets/sheet1.xml": sheet.encode()})
    started = time.monotonic()
    docs = read_coded_table(wide)
    assert len(docs[0].transcript.segments) == 3
    assert time.monotonic() - started < 5


def test_member_that_lies_about_its_size_is_refused_before_the_library(tmp_path):
    path = make_docx(tmp_path / "liar.docx")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("word/document.xml")
    fake = (100).to_bytes(4, "little")
    real = info.file_size.to_bytes(4, "little")
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(sig)
        while data[at + offset:at + offset + 4] != real:
            at = data.index(sig, at + 1)
        data[at + offset:at + offset + 4] = fake
    path.write_bytes(bytes(data))
    with pytest.raises(ReaderError, match=r"liar.docx: not a valid Word .docx file: member "
                                          r"'word/document.xml' cannot be read"):
        read_docx(path)


def test_large_text_file_is_refused_before_reading(tmp_path, monkeypatch):
    from qualkit.readers import text

    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 1000)
    monkeypatch.setattr(text.read_bytes, "__defaults__", (1000,))
    path = tmp_path / "big.txt"
    path.write_text("Kim: " + "word " * 1000, encoding="utf-8")
    with pytest.raises(ReaderError, match=r"big.txt: the file is larger than 0 MB"):
        read_path(path)


# -- 5. control characters --------------------------------------------------------------------

def test_form_feed_imports_as_newline_and_other_controls_are_refused(tmp_path):
    path = tmp_path / "ff.txt"
    path.write_text("Interviewer: How is it?\x0c\nKim: Quiet.\x0bMostly.\n", encoding="utf-8")
    tr = read_path(path)[0].transcript
    assert "\x0c" not in tr.text and "\x0b" not in tr.text
    assert tr.text == "Interviewer: How is it?\n\nKim: Quiet.\nMostly.\n"
    for seg in tr.segments:
        assert tr.text[seg.start:seg.end] == seg.text
    bell = tmp_path / "bell.txt"
    bell.write_text("Kim: fine.\nLee: a\x07b\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"bell.txt:2: control character U\+0007 at column 7"):
        read_path(bell)
    table = tmp_path / "t.csv"
    table.write_text("document,segment,speaker,text,codes\nd1,1,Kim,a\x1bb,\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"t.csv:2: control character U\+001B"):
        read_path(table)


def test_xlsx_writers_replace_illegal_characters_already_stored(tmp_path):
    """A project imported before control characters were refused still exports."""
    import pandas as pd
    from openpyxl import load_workbook

    from qualkit.sheets import write_sheet

    rows = [TableRow(document="d\x01", segment=1, speaker="Kim", text="page\x0cbreak and \x00nul",
                     codes=["alone"], attributes={"site\x02": "north\x1f"})]
    out = write_coded_table(rows, tmp_path / "coded.xlsx")
    values = list(load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert values[1][3] == "page\nbreak and \ufffdnul"
    assert values[0][-1] == "site\ufffd" and values[1][-1] == "north\ufffd"
    back = read_table_rows(out)
    assert back[0].text == "page\nbreak and \ufffdnul"
    table = pd.DataFrame({"text\x0b": ["a\x0cb", "c\x00d\ufffe"], "n": [1, 2]})
    sheet = write_sheet(table, tmp_path / "extracts.xlsx", wrap=["text\x0b"])
    cells = list(load_workbook(sheet).active.iter_rows(values_only=True))
    assert cells == [("text\n", "n"), ("a\nb", 1), ("c\ufffdd\ufffd", 2)]


def test_bad_files_leave_the_project_unchanged(tmp_path):
    from qualkit.pipeline import import_paths

    from .conftest import build_project

    project = build_project(tmp_path / "proj", transcripts={"p1.txt": "Kim: I work alone.\n"})
    try:
        before = project.store.transcript_names()
        bomb = with_bomb(make_docx(tmp_path / "a.docx"), tmp_path / "bomb.docx",
                         "word/document.xml", 20 * MB)
        bad = tmp_path / "bad.md"
        bad.write_text("---\n" + ALIAS_BOMB + "---\nKim: hi\n", encoding="utf-8")
        broken = tmp_path / "broken.xlsx"
        broken.write_bytes(make_xlsx(tmp_path / "b.xlsx").read_bytes()[:-40])
        report = import_paths(project, [bomb, bad, broken], "tester")
        assert len(report.errors) == 3 and not report.added
        assert all("\n" not in e for e in report.errors), report.errors
        assert project.store.transcript_names() == before
    finally:
        project.close()


# -- the crafted corpus -----------------------------------------------------------------------

CRAFTED = Path(__file__).parent / "crafted"


@pytest.mark.parametrize("name", sorted(p.name for p in CRAFTED.iterdir()))
def test_crafted_files(name):
    """Each crafted file either reads with exact offsets or is one QualkitError line."""
    path = CRAFTED / name
    started = time.monotonic()
    if path.suffix in (".yaml", ".yml"):
        try:
            load_codebook(path)
        except QualkitError as exc:
            assert isinstance(exc, CodebookError)
            assert "\n  " in str(exc) and len(exc.problems) >= 1
    else:
        assert_readable_or_refused(path)
    assert time.monotonic() - started < 10


def test_yaml12_limits_are_marked_yaml_errors():
    for text in ("a: b\x00", "[" * 100 + "]" * 100, ALIAS_BOMB):
        with pytest.raises(yaml.MarkedYAMLError) as info:
            yaml12.load(text)
        assert info.value.problem_mark is not None


def test_office_limits_are_sane():
    assert OFFICE_LIMITS.member_bytes <= OFFICE_LIMITS.total_bytes
    assert OFFICE_LIMITS.ratio_min_bytes <= 1 * MB


# -- PDF, OpenDocument and RTF -------------------------------------------------------------------

def test_pdf_page_character_and_size_limits(tmp_path):
    from qualkit.readers.pdf import MAX_PDF_CHARS, MAX_PDF_PAGES, PdfLimits, read_pdf

    from .test_formats import two_page_pdf

    pdf = two_page_pdf(tmp_path / "two.pdf")
    assert read_pdf(pdf, PdfLimits(pages=2))[0].transcript.pages is not None
    with pytest.raises(ReaderError, match=r"two.pdf: the PDF has 2 pages, more than the 1 "):
        read_pdf(pdf, PdfLimits(pages=1))
    with pytest.raises(ReaderError, match=r"more than 40 characters of text"):
        read_pdf(pdf, PdfLimits(chars=40))
    with pytest.raises(ReaderError, match=r"the file is larger than"):
        read_pdf(pdf, PdfLimits(file_bytes=100))
    assert MAX_PDF_PAGES >= 1000 and MAX_PDF_CHARS >= 10_000_000


def test_odt_goes_through_the_zip_guard(tmp_path):
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    from qualkit.readers.odt import read_odt

    doc = OpenDocumentText()
    doc.text.addElement(P(text="Kim: I work alone."))
    doc.save(str(tmp_path / "a.odt"))
    bomb = with_bomb(tmp_path / "a.odt", tmp_path / "bomb.odt", "content.xml", 3 * MB)
    with pytest.raises(ReaderError, match=r"bomb.odt: not a valid OpenDocument text \(.odt\) "
                                          r"file: refused: member 'content.xml' is 3.0 MB"):
        read_odt(bomb, limits=SMALL)


def test_odt_nesting_and_entities_are_refused(tmp_path):
    from qualkit.readers.odt import MAX_DEPTH, read_odt

    def odt(name: str, body: str) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
            zf.writestr("content.xml", body)
        return path

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    deep = ("<text:section>" * (MAX_DEPTH + 5) + "<text:p>Kim: hi</text:p>"
            + "</text:section>" * (MAX_DEPTH + 5))
    with pytest.raises(ReaderError, match=f"nested more than {MAX_DEPTH} deep"):
        read_odt(odt("deep.odt", f"<office:document-content {ns}><office:body><office:text>"
                                 f"{deep}</office:text></office:body></office:document-content>"))
    entity = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
              f"<office:document-content {ns}><office:body><office:text><text:p>&a;</text:p>"
              "</office:text></office:body></office:document-content>")
    with pytest.raises(ReaderError, match="entities or a DTD"):
        read_odt(odt("entity.odt", entity))


def test_rtf_size_limit(tmp_path):
    from qualkit.readers.rtf import MAX_RTF_BYTES, read_rtf

    path = tmp_path / "big.rtf"
    path.write_bytes(b"{\\rtf1 Kim: " + b"word " * 400 + b"\\par}")
    with pytest.raises(ReaderError, match=r"big.rtf: the file is larger than"):
        read_rtf(path, limit=1000)
    assert read_rtf(path, limit=MAX_RTF_BYTES)[0].transcript.segments
