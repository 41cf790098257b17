"""The coded-segments table: qualkit's public format for import, export and evaluation.

One row per segment and coder. Columns: ``document``, ``segment`` (order within the document),
``speaker``, ``text``, ``codes`` (code ids separated by ';', empty for none), optional ``coder``
and ``memo``; any other column is kept as a document attribute. CSV (UTF-8) or XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .csvsafe import csv_guard, csv_unguard
from .errors import ReaderError
from .fileio import atomic_write_bytes
from .model import Coding, ImportedDocument, Transcript
from .segment import TextBuilder

REQUIRED = ("document", "segment", "speaker", "text", "codes")
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

    text = decode_text(read_bytes(path), path)
    # Cells qualkit guarded against formula injection (csvsafe) get their text back.
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [csv_unguard(h) for h in next(reader, [])]
    _check_header(header, path)
    for number, cells in enumerate(reader, start=2):
        if len(cells) > len(header):
            raise ReaderError("this row has more cells than the header", path=str(path),
                              line=number, hint="quote text that contains commas")
        cells = [csv_unguard(c) for c in cells] + [""] * (len(header) - len(cells))
        yield number, {k.strip().lower(): v for k, v in zip(header, cells)}


def _rows_from_xlsx(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise ReaderError("not a valid Excel .xlsx file", path=str(path),
                          hint="save it from your spreadsheet program as .xlsx or .csv") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip().lower() if h is not None else "" for h in next(rows, ())]
        _check_header(header, path)
        for number, values in enumerate(rows, start=2):
            if values is None or all(v is None for v in values):
                continue
            cells = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                           else str(v)) for v in values]
            yield number, {h: cells[i] if i < len(cells) else "" for i, h in enumerate(header) if h}
    finally:
        book.close()


def _check_header(header: Sequence[str], path: Path) -> None:
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
        for row in doc_rows:
            seg = builder.segments[where[row.segment]]
            for code in row.codes:
                codings.append(Coding(code_id=code, transcript=name, start=seg.start, end=seg.end,
                                      coder=row.coder or DEFAULT_CODER, status="accepted",
                                      segment_index=seg.index, memo=row.memo, source="import"))
        docs.append(ImportedDocument(transcript, codings))
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
        sheet.append(columns)
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


def _text_cell(sheet: Any, value: Any) -> Any:
    """Text starting with '=' would become a formula; store it as a plain string cell."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
