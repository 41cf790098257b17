"""Fuzzing every reader of user files (issue #12): valid files mutated (byte flips, truncation,
inserted bytes) and generated text. The property: a valid result whose segments have exact
offsets (``transcript.text[s.start:s.end] == s.text``), or a ``QualkitError``; never another
exception. Hypothesis is derandomized (the same examples on every run, so CI is reproducible)
and bounded (``max_examples``), so the whole file runs in well under a minute."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualkit.codebook import load_codebook, parse_codebook
from qualkit.codedtable import TableRow, documents_from_rows, read_coded_table, write_coded_table
from qualkit.errors import QualkitError
from qualkit.exchange import export_qdc
from qualkit.readers import read_path

from .conftest import SMALL_CODEBOOK
from .test_limits import make_docx, make_xlsx

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=50)

TXT = ("---\nparticipant: P01\nworks_alone: yes\nspeakers: {Sam: interviewer}\n---\n"
       "Sam: How is the work?\n\nKim: I work on my own, mostly.\nIt is quiet.\n\n"
       "Sam: And support?\n\nKim: Nobody to debrief with.\n")
VTT = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Sam>How is the work?\n\n"
       "00:00:03.500 --> 00:00:06.000\n<v Kim>I work on my own.\n\n"
       "00:00:06.000 --> 00:00:08.000\nKim: Mostly.\n")
SRT = ("1\n00:00:01,000 --> 00:00:03,000\nSam: How is the work?\n\n"
       "2\n00:00:03,500 --> 00:00:06,000\nKim: I work on my own.\n")
RTF = (r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\f0 Sam: How is the work?\par" "\n"
       r"Kim: I work on my own, caf\u233?\'e9.\par" "\n" r"\par" "\n" r"Sam: And?\par" "\n}")
OTTER = ("Sam  0:01\nHow is the work?\n\nKim  0:04\nI work on my own.\n\n"
         "[Sam] 00:00:09\nAnd support?\n")
CSV = ("document,segment,speaker,text,codes,coder,site\n"
       "d1,1,Sam,How is the work?,,,north\n"
       'd1,2,Kim,"I work on my own, mostly.",working_alone;isolation,ann,north\n'
       "d2,1,Lee,=SUM(A1),no_debrief,,south\n")

mutation = st.tuples(st.sampled_from(["flip", "truncate", "insert"]),
                     st.integers(min_value=0, max_value=2 ** 31), st.binary(min_size=1, max_size=8))


def mutate(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    b = bytearray(data)
    for kind, where, extra in edits:
        if not b:
            break
        at = where % len(b)
        if kind == "flip":
            b[at] ^= extra[0] or 1
        elif kind == "truncate":
            del b[at:]
        else:
            b[at:at] = extra
    return bytes(b)


def read_ok_or_refused(path: Path) -> None:
    try:
        docs = read_path(path)
    except QualkitError:
        return
    for doc in docs:
        tr = doc.transcript
        assert isinstance(tr.text, str)
        for seg in tr.segments:
            assert tr.text[seg.start:seg.end] == seg.text, (path, seg)


_BASES: dict[str, bytes] = {}


def base(suffix: str) -> bytes:
    """A valid file of each kind, made once."""
    if suffix not in _BASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if suffix == ".docx":
                _BASES[suffix] = make_docx(folder / "b.docx").read_bytes()
            elif suffix == ".xlsx":
                _BASES[suffix] = make_xlsx(folder / "b.xlsx").read_bytes()
            elif suffix == ".qdc":
                _BASES[suffix] = export_qdc(parse_codebook(SMALL_CODEBOOK),
                                            folder / "b.qdc").read_bytes()
            elif suffix == ".qdpx":
                from .test_refi import CRLF_TEXT, foreign_qde, write_zip

                _BASES[suffix] = write_zip(folder / "b.qdpx", {
                    "project.qde": foreign_qde(),
                    "sources/01106019-2518-43DD-BBD1-8F0252BACB30.txt": CRLF_TEXT,
                }).read_bytes()
            elif suffix == ".pdf":
                from .test_formats import two_page_pdf

                _BASES[suffix] = two_page_pdf(folder / "b.pdf").read_bytes()
            elif suffix == ".odt":
                from odf.opendocument import OpenDocumentText
                from odf.text import P, Span

                doc = OpenDocumentText()
                for line in TXT.split("---\n")[-1].split("\n\n"):
                    para = P(text=line[:6])
                    para.addElement(Span(text=line[6:]))
                    doc.text.addElement(para)
                doc.save(str(folder / "b.odt"))
                _BASES[suffix] = (folder / "b.odt").read_bytes()
            else:
                _BASES[suffix] = {".txt": TXT, ".md": TXT, ".vtt": VTT, ".srt": SRT,
                                  ".csv": CSV, ".yaml": SMALL_CODEBOOK, ".rtf": RTF,
                                  ".otter.txt": OTTER}[suffix].encode()
    return _BASES[suffix]


def fuzz_file(suffix: str, data: bytes, check: Callable[[Path], Any] = read_ok_or_refused
              ) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        check(path)


def test_bases_are_valid():
    for suffix in (".txt", ".md", ".vtt", ".srt", ".csv", ".xlsx", ".docx", ".qdpx", ".qdc",
                   ".pdf", ".odt", ".rtf", ".otter.txt"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"base{suffix}"
            path.write_bytes(base(suffix))
            docs = read_path(path)
            assert docs or suffix == ".qdc", suffix


@pytest.mark.parametrize("suffix", [".txt", ".md", ".vtt", ".srt", ".csv", ".rtf",
                                    ".otter.txt"])
@FUZZ
@given(edits=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_text_files(suffix, edits):
    fuzz_file(suffix, mutate(base(suffix), edits))


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".qdpx", ".qdc", ".pdf", ".odt"])
@FUZZ
@given(edits=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_binary_and_xml_files(suffix, edits):
    fuzz_file(suffix, mutate(base(suffix), edits))


@pytest.mark.parametrize("suffix", [".txt", ".md", ".vtt", ".srt", ".csv", ".rtf"])
@FEW
@given(text=st.text(max_size=300))
def test_generated_text(suffix, text):
    fuzz_file(suffix, text.encode("utf-8", "surrogatepass"))


@FEW
@given(lines=st.lists(st.one_of(
    st.sampled_from(["Sam  0:01", "Kim  0:04", "[Sam] 00:00:09", "Sam", "0:00:03.120 --> "
                     "0:00:07.400", "", "Kim: Yes.", "Abstract: words"]),
    st.text(max_size=40)), max_size=20), layout=st.sampled_from(["auto", "transcript",
                                                                 "document"]))
def test_generated_export_and_document_shapes(lines, layout):
    """Meeting-export headers, labels and prose in any order, read in every layout: exact
    offsets, and in the document layout every non-blank character inside a segment."""
    def check(path: Path) -> None:
        try:
            docs = read_path(path, layout)
        except QualkitError:
            return
        tr = docs[0].transcript
        covered = set()
        for seg in tr.segments:
            assert tr.text[seg.start:seg.end] == seg.text
            covered.update(range(seg.start, seg.end))
        if tr.layout == "document" and not tr.text.startswith("---"):
            assert all(ch.isspace() for i, ch in enumerate(tr.text) if i not in covered)

    fuzz_file(".txt", "\n".join(lines).encode("utf-8", "surrogatepass"), check)


@FEW
@given(head=st.text(max_size=120), body=st.text(max_size=120))
def test_generated_front_matter(head, body):
    fuzz_file(".md", f"---\n{head}\n---\nKim: {body}\n".encode("utf-8", "surrogatepass"))


def codebook_ok_or_refused(path: Path) -> None:
    try:
        book = load_codebook(path, check_patterns=False)
    except QualkitError:
        return
    assert book.name


@FUZZ
@given(edits=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_codebooks(edits):
    fuzz_file(".yaml", mutate(base(".yaml"), edits), codebook_ok_or_refused)


@FEW
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_generated_codebooks(text):
    fuzz_file(".yaml", ("name: x\ncodes:\n  - id: a\n    name: " + text).encode(),
              codebook_ok_or_refused)
    fuzz_file(".yaml", text.encode(), codebook_ok_or_refused)


cell = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
rows = st.lists(st.builds(TableRow, document=st.sampled_from(["d1", "d2"]),
                          segment=st.integers(0, 5), speaker=cell, text=cell,
                          codes=st.lists(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
                                         max_size=2),
                          coder=cell, memo=cell), min_size=1, max_size=6)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@FEW
@given(table=rows)
def test_coded_table_round_trip(suffix, table):
    """Generated rows written and read back: exact offsets, or a QualkitError."""
    try:
        documents_from_rows(table)
    except QualkitError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        path = write_coded_table(table, Path(tmp) / f"t{suffix}")
        try:
            docs = read_coded_table(path)
        except QualkitError:
            return
        for doc in docs:
            tr = doc.transcript
            for seg in tr.segments:
                assert tr.text[seg.start:seg.end] == seg.text
            for coding in doc.codings:
                assert 0 <= coding.start <= coding.end <= len(tr.text)
