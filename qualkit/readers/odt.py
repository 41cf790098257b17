"""OpenDocument text (.odt, LibreOffice Writer): paragraphs, headings, lists and tables in
document order, then read as a text transcript (speaker turns, or paragraphs for a document).

An .odt is a zip: it goes through ``zipguard`` first (the Office limits: member count, sizes,
compression ratio, true sizes), and only ``content.xml`` is read, parsed with defusedxml (no
DTDs, no entity expansion). Tables become lines as in Word files (``Speaker | Text`` rows as
``Speaker: Text``). Notes (footnotes, comments) and tracked deletions are not part of the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ReaderError
from ..model import ImportedDocument
from ..zipguard import OFFICE_LIMITS, GuardedZip, ZipLimits
from .docx import row_line
from .text import text_characters, transcript_from_text

UNREADABLE = "not a valid OpenDocument text (.odt) file"
HINT = "open it in LibreOffice or Word and save it as .odt again"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
T = "{" + TEXT_NS + "}"
TB = "{" + TABLE_NS + "}"

MAX_DEPTH = 200
"""Elements nested inside each other: real documents nest a few levels (a list in a table in a
section); deeper is a hostile file, refused rather than followed."""

SKIPPED = {T + "note", T + "tracked-changes", "{" + OFFICE_NS + "}annotation",
           T + "sequence-decls", T + "variable-decls", T + "user-field-decls"}
BLOCKS = {T + "p", T + "h"}


def read_odt(path: Path, limits: ZipLimits = OFFICE_LIMITS) -> list[ImportedDocument]:
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    with GuardedZip(path, limits=limits, not_zip=f"{UNREADABLE}: the file is not a zip archive",
                    not_zip_hint=HINT, refused=f"{UNREADABLE}: refused", hint=HINT,
                    damaged=f"{UNREADABLE}: ", damaged_hint=f"the file is damaged; {HINT}"
                    ) as archive:
        name = archive.find("content.xml")
        if name is None:
            raise ReaderError(f"{UNREADABLE}: it has no content.xml", path=str(path), hint=HINT)
        data = archive.read(name)
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ReaderError(f"{UNREADABLE}: its XML declares entities or a DTD", path=str(path),
                          hint=HINT) from None
    except Exception as exc:  # noqa: BLE001 - only the XML parse: a damaged file
        raise ReaderError(f"{UNREADABLE}: {' '.join(str(exc).split())[:200]}", path=str(path),
                          hint=HINT) from None
    body = root.find("{" + OFFICE_NS + "}body/{" + OFFICE_NS + "}text")
    if body is None:
        raise ReaderError(f"{UNREADABLE}: it holds no text document (a spreadsheet or "
                          "presentation?)", path=str(path), hint=HINT)
    lines: list[str] = []
    _blocks(body, lines, path, 0)
    text = "\n\n".join(line.strip() for line in lines if line.strip())
    if not text:
        raise ReaderError("the document has no text", path=str(path))
    return [ImportedDocument(transcript_from_text(text_characters(text, path), path, "odt"))]


def _deep(path: Path) -> ReaderError:
    return ReaderError(f"{UNREADABLE}: elements nested more than {MAX_DEPTH} deep",
                       path=str(path), hint=HINT)


def _blocks(node: Any, out: list[str], path: Path, depth: int) -> None:
    """Paragraphs and headings under ``node`` in document order; tables as row lines."""
    if depth > MAX_DEPTH:
        raise _deep(path)
    for child in node:
        tag = child.tag
        if tag in SKIPPED:
            continue
        if tag in BLOCKS:
            out.append(_inline(child, path, depth + 1))
        elif tag == TB + "table":
            _table(child, out, path, depth + 1)
        else:  # sections, lists, list items, headers of tables: what they hold
            _blocks(child, out, path, depth + 1)


def _rows(node: Any, depth: int, path: Path) -> Any:
    """A table's own rows (inside header-row and row groups too), not a nested table's."""
    if depth > MAX_DEPTH:
        raise _deep(path)
    for child in node:
        if child.tag == TB + "table-row":
            yield child
        elif child.tag in (TB + "table-header-rows", TB + "table-rows", TB + "table-row-group"):
            yield from _rows(child, depth + 1, path)


def _table(table: Any, out: list[str], path: Path, depth: int) -> None:
    for row in _rows(table, depth, path):
        cells = []
        for cell in row:
            if cell.tag not in (TB + "table-cell", TB + "covered-table-cell"):
                continue
            inner: list[str] = []
            _blocks(cell, inner, path, depth + 1)
            cells.append("\n".join(part.strip() for part in inner if part.strip()))
        line = row_line(cells)
        if line:
            out.append(line)


def _inline(node: Any, path: Path, depth: int) -> str:
    """A paragraph's text as Writer shows it: spans and links followed, ``text:s`` as its
    spaces, tabs and line breaks as themselves, notes and annotations left out."""
    if depth > MAX_DEPTH:
        raise _deep(path)
    parts = [node.text or ""]
    for child in node:
        tag = child.tag
        if tag == T + "s":
            try:
                count = int(child.get(T + "c", "1"))
            except ValueError:
                count = 1
            parts.append(" " * min(max(count, 1), 1000))
        elif tag == T + "tab":
            parts.append("\t")
        elif tag == T + "line-break":
            parts.append("\n")
        elif tag not in SKIPPED:
            parts.append(_inline(child, path, depth + 1))
        parts.append(child.tail or "")
    return "".join(parts)
