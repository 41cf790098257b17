"""Word (.docx) transcripts: paragraphs as lines (and two-column speaker tables) -> turns."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import ReaderError
from ..model import ImportedDocument
from .text import transcript_from_text


def read_docx(path: Path) -> list[ImportedDocument]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
        raise ReaderError("not a valid Word .docx file", path=str(path),
                          hint="open it in Word or LibreOffice and save as .docx again") from None
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append("".join(t.text or "" for t in block.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            lines.extend(_table_lines(block))
    text = "\n\n".join(line.strip() for line in lines if line.strip())
    if not text.strip():
        raise ReaderError("the document has no text", path=str(path))
    return [ImportedDocument(transcript_from_text(text, path, "docx"))]


def _table_lines(tbl: object) -> list[str]:
    """A table with Speaker | Text columns (optionally a time column first) becomes turns."""
    from docx.table import Table

    out = []
    table = Table(tbl, None)  # type: ignore[arg-type]
    for row in table.rows:
        cells = [c.text.strip() for c in row.cells]
        cells = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
        if len(cells) >= 3 and ":" in cells[0]:
            out.append(f"[{cells[0]}] {cells[1]}: {' '.join(cells[2:])}")
        elif len(cells) >= 2:
            out.append(f"{cells[0]}: {' '.join(cells[1:])}")
        elif cells:
            out.append(cells[0])
    return out
