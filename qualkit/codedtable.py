"""The coded-segments table: qualkit's public format for import, export and evaluation.

One row per segment and coder. Columns: ``document``, ``segment`` (order within the document),
``speaker``, ``text``, ``codes`` (code ids separated by ';', empty for none), optional ``coder``
and ``memo``; any other column is kept as a document attribute. CSV (UTF-8) or XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .csvsafe import csv_guard, csv_unguard
from .errors import ReaderError
from .fileio import atomic_write_bytes
from .model import Coding, ImportedDocument, Transcript
from .segment import TextBuilder
from .zipguard import OFFICE_LIMITS, ZipLimits, check_zip

REQUIRED = ("document", "segment", "speaker", "text", "codes")

MAX_CELL_CHARS = 1_000_000
"""Characters in one CSV cell: a segment is one speaker's paragraph, and a million characters
is some twenty hours of speech without a break. Python's csv module stops at 131,072 by
default, which a long unbroken transcript paragraph can pass; qualkit raises it to this."""

MAX_COLUMNS = 1_000
"""Columns read from a table: seven of qualkit's own and one per document attribute."""

MAX_ROWS = 1_048_576
"""Rows read from a table: Excel's own maximum. openpyxl fills gaps in the row numbers with
empty rows, so without a limit a tiny damaged sheet could yield rows for minutes."""

EXCEL_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters an .xlsx cell (XML 1.0) cannot hold; openpyxl refuses the whole file for one."""
OPTIONAL = ("coder", "memo")
DEFAULT_CODER = "imported"


@dataclass
class TableRow:
    document: str
    segment: int
    speaker: str
    text: str
    codes: list[str] = field(default_factory=list)
    coder: str = ""
    memo: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def split_codes(cell: str) -> list[str]:
    return [c.strip() for c in str(cell or "").split(";") if c.strip()]


def _rows_from_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from .readers.text import decode_text, read_bytes

    text = decode_text(read_bytes(path), path)  # control characters refused, with the line
    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)
    # Cells qualkit guarded against formula injection (csvsafe) get their text back.
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 1
    try:
        header = [csv_unguard(h) for h in next(reader, [])]
        _check_header(header, path)
        for number, cells in enumerate(reader, start=2):
            if len(cells) > len(header):
                raise ReaderError("this row has more cells than the header", path=str(path),
                                  line=number, hint="quote text that contains commas")
            cells = [csv_unguard(c) for c in cells] + [""] * (len(header) - len(cells))
            yield number, {k.strip().lower(): v for k, v in zip(header, cells)}
    except csv.Error as exc:
        too_long = "field larger than field limit" in str(exc)
        raise ReaderError(f"a cell is longer than {MAX_CELL_CHARS:,} characters" if too_long
                          else f"not a readable CSV table ({exc})", path=str(path),
                          line=number + 1 if number > 1 else 1,
                          hint="split the text into shorter segments" if too_long else
                          "check the quoting on this row") from None


XLSX_UNREADABLE = "not a valid Excel .xlsx file"
XLSX_HINT = "save it from your spreadsheet program as .xlsx or .csv"


def _unreadable_xlsx(path: Path, exc: BaseException, line: int | None = None) -> ReaderError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ReaderError(f"{XLSX_UNREADABLE}: {detail}", path=str(path), line=line,
                       hint=XLSX_HINT)


def _sheet_rows(path: Path, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """openpyxl's rows, any failure of a damaged sheet (lxml, zlib, a bad cell reference)
    as one ReaderError; at most ``MAX_ROWS``."""
    count = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - only the third-party parse: a damaged file
            raise _unreadable_xlsx(path, exc, count + 1) from None
        count += 1
        if count > MAX_ROWS:
            raise ReaderError(f"the sheet has more than {MAX_ROWS:,} rows", path=str(path),
                              line=count, hint="split the table into smaller files")
        yield values


def _rows_from_xlsx(path: Path, limits: ZipLimits = OFFICE_LIMITS
                    ) -> Iterator[tuple[int, dict[str, str]]]:
    check_zip(path, what=XLSX_UNREADABLE, limits=limits, hint=XLSX_HINT)
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # a declared size is not trusted: rows are read as they are
    except Exception as exc:  # noqa: BLE001 - only the third-party parse: a damaged file
        raise _unreadable_xlsx(path, exc) from None
    try:
        first = next(_sheet_rows(path, sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS + 1,
                                                       values_only=True)), ())
        header = [str(h).strip().lower() if h is not None else "" for h in first]
        while header and not header[-1]:
            header.pop()
        _check_header(header, path)
        rows = _sheet_rows(path, sheet.iter_rows(min_row=2, max_col=len(header),
                                                 values_only=True))
        for number, values in enumerate(rows, start=2):
            if values is None or all(v is None for v in values):
                continue
            cells = [_xlsx_text(v, path, number, header[i] if i < len(header) else None)
                     for i, v in enumerate(values)]
            yield number, {h: cells[i] if i < len(cells) else "" for i, h in enumerate(header) if h}
    finally:
        book.close()


def _xlsx_text(value: Any, path: Path, row: int, column: str | None) -> str:
    """A cell as text, with the transcript readers' rule for control characters (a form feed
    or vertical tab becomes a newline, any other is refused, naming the row and column)."""
    from .readers.text import CONTROL_RE, PAGE_BREAKS

    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).translate(PAGE_BREAKS)
    bad = CONTROL_RE.search(text)
    if bad:
        raise ReaderError(f"control character U+{ord(bad.group()):04X} in this cell is not "
                          "text", path=str(path), line=row, field=column,
                          hint="remove it in your spreadsheet program and import again")
    return text


def _check_header(header: Sequence[str], path: Path) -> None:
    if len(header) > MAX_COLUMNS:
        raise ReaderError(f"the table has more than {MAX_COLUMNS:,} columns", path=str(path),
                          line=1, hint="a coded-segments table needs the columns "
                                       + ", ".join(REQUIRED) + " and one per attribute")
    names = {h.strip().lower() for h in header if h}
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ReaderError(f"missing column(s) {', '.join(missing)}", path=str(path), line=1,
                          hint="a coded-segments table needs the columns "
                               + ", ".join(REQUIRED))


def read_table_rows(path: str | Path) -> list[TableRow]:
    """Parse and check every row; errors name the file and row number."""
    p = Path(path)
    if not p.is_file():
        raise ReaderError("file not found", path=str(p), hint="check the path")
    source = _rows_from_xlsx(p) if p.suffix.lower() == ".xlsx" else _rows_from_csv(p)
    out: list[TableRow] = []
    for number, row in source:
        if not any(v.strip() for v in row.values()):
            continue
        document = row["document"].strip()
        if not document:
            raise ReaderError("empty 'document' cell", path=str(p), line=number,
                              field="document")
        try:
            segment = int(str(row["segment"]).strip())
        except ValueError:
            raise ReaderError(f"'segment' must be a whole number, got {row['segment']!r}",
                              path=str(p), line=number, field="segment") from None
        extra = {k: v for k, v in row.items() if k not in REQUIRED + OPTIONAL and k}
        out.append(TableRow(document=document, segment=segment, speaker=row["speaker"].strip(),
                            text=row["text"], codes=split_codes(row["codes"]),
                            coder=row.get("coder", "").strip(), memo=row.get("memo", ""),
                            attributes=extra))
    if not out:
        raise ReaderError("the table has a header but no rows", path=str(p))
    return out


def documents_from_rows(rows: Iterable[TableRow], path: str = "",
                        fmt: str = "table") -> list[ImportedDocument]:
    """Rebuild transcripts (one per document, segments in order) and their codings."""
    by_doc: dict[str, list[TableRow]] = {}
    for row in rows:
        by_doc.setdefault(row.document, []).append(row)
    docs = []
    for name, doc_rows in by_doc.items():
        segments: dict[int, TableRow] = {}
        attributes: dict[str, Any] = {}
        for row in doc_rows:
            first = segments.setdefault(row.segment, row)
            if first.text.strip() != row.text.strip():
                raise ReaderError(f"document {name!r} segment {row.segment} has different text "
                                  "in different rows", path=path, field="text",
                                  hint="rows for the same segment must repeat the same text")
            for key, value in row.attributes.items():
                if value not in ("", None):
                    attributes.setdefault(key, value)
        builder = TextBuilder()
        where: dict[int, int] = {}
        for number in sorted(segments):
            row = segments[number]
            where[number] = builder.add(row.speaker, row.text).index
        transcript = Transcript(name=name, text=builder.text, segments=builder.segments,
                                attributes=attributes, source=path, format=fmt)
        codings = []
        coded: dict[str, list[int]] = {}
        for row in doc_rows:
            seg = builder.segments[where[row.segment]]
            coded.setdefault(row.coder or DEFAULT_CODER, []).append(seg.index)
            for code in row.codes:
                codings.append(Coding(code_id=code, transcript=name, start=seg.start, end=seg.end,
                                      coder=row.coder or DEFAULT_CODER, status="accepted",
                                      segment_index=seg.index, memo=row.memo, source="import"))
        docs.append(ImportedDocument(transcript, codings,
                                     {c: sorted(set(turns)) for c, turns in coded.items()}))
    return docs


def read_coded_table(path: str | Path) -> list[ImportedDocument]:
    return documents_from_rows(read_table_rows(path), str(path),
                               "xlsx" if str(path).lower().endswith(".xlsx") else "csv")


def _columns(rows: list[TableRow]) -> list[str]:
    extra: dict[str, None] = {}
    for row in rows:
        for key in row.attributes:
            extra.setdefault(key, None)
    return list(REQUIRED) + list(OPTIONAL) + list(extra)


def _cells(row: TableRow, columns: list[str]) -> list[Any]:
    base = {"document": row.document, "segment": row.segment, "speaker": row.speaker,
            "text": row.text, "codes": ";".join(row.codes), "coder": row.coder,
            "memo": row.memo}
    return [base.get(c, row.attributes.get(c, "")) for c in columns]


def write_coded_table(rows: list[TableRow], path: str | Path) -> Path:
    """Write CSV or XLSX by the file's extension, atomically."""
    p = Path(path)
    columns = _columns(rows)
    if p.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("coded segments")
        sheet.append([excel_text(c) for c in columns])
        for row in rows:
            sheet.append([_text_cell(sheet, v) for v in _cells(row, columns)])
        buffer = io.BytesIO()
        book.save(buffer)
        return atomic_write_bytes(p, buffer.getvalue())
    if p.suffix.lower() != ".csv":
        raise ReaderError("the table must end in .csv or .xlsx", path=str(p))
    csv_buffer = io.StringIO(newline="")
    writer = csv.writer(csv_buffer)
    writer.writerow([csv_guard(c) for c in columns])
    for row in rows:  # formula-like text guarded (csvsafe), taken off again on reading
        writer.writerow([csv_guard(c) for c in _cells(row, columns)])
    return atomic_write_bytes(p, csv_buffer.getvalue().encode("utf-8"))


def excel_text(value: Any) -> Any:
    """A value an .xlsx cell can hold: in text, a vertical tab or form feed becomes a newline
    and any other character XML cannot carry (NUL, other control characters, U+FFFE/U+FFFF,
    a lone surrogate) becomes U+FFFD, so a project that stored one (imported before qualkit
    refused them) still exports, readably. Only text is changed, and only those characters."""
    if isinstance(value, str) and EXCEL_ILLEGAL_RE.search(value):
        return EXCEL_ILLEGAL_RE.sub(lambda m: "\n" if m.group() in "\x0b\x0c" else "\ufffd",
                                    value)
    return value


def _text_cell(sheet: Any, value: Any) -> Any:
    """Text starting with '=' would become a formula; store it as a plain string cell. Text
    goes through ``excel_text`` first."""
    value = excel_text(value)
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
