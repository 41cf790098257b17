"""Word (.docx) transcripts: paragraphs as lines (and two-column speaker tables) -> turns.

The file goes through ``zipguard.check_zip`` first (member count, sizes, compression ratio,
true sizes), so python-docx only opens an archive of bounded size. Anything python-docx or lxml
then raise on a damaged file becomes one ``ReaderError`` naming the file. The text is read from
the XML with bounded loops of our own: comments, processing instructions and unexpanded entity
references are skipped, and table cells are read without expanding column spans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ReaderError
from ..model import ImportedDocument
from ..zipguard import OFFICE_LIMITS, ZipLimits, check_zip
from .text import text_characters, transcript_from_text

UNREADABLE = "not a valid Word .docx file"
HINT = "open it in Word or LibreOffice and save it as .docx again"
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _unreadable(path: Path, exc: BaseException) -> ReaderError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ReaderError(f"{UNREADABLE}: {detail}", path=str(path), hint=HINT)


def read_docx(path: Path, limits: ZipLimits = OFFICE_LIMITS) -> list[ImportedDocument]:
    check_zip(path, what=UNREADABLE, limits=limits, hint=HINT)
    import docx

    try:
        document = docx.Document(str(path))
        body = document.element.body
    except Exception as exc:  # noqa: BLE001 - only the third-party parse: a damaged file
        raise _unreadable(path, exc) from None
    if body is None:
        raise ReaderError(f"{UNREADABLE}: it has no body", path=str(path), hint=HINT)
    lines: list[str] = []
    for block in body.iterchildren():
        tag = _local(block)
        if tag == "p":
            lines.append(_plain_text(block))
        elif tag == "tbl":
            lines.extend(_table_lines(block))
    text = "\n\n".join(line.strip() for line in lines if line.strip())
    if not text.strip():
        raise ReaderError("the document has no text", path=str(path))
    return [ImportedDocument(transcript_from_text(text_characters(text, path), path, "docx"))]


def _local(node: Any) -> str | None:
    """An element's name without its namespace; None for comments, processing instructions
    and entity references (whose ``tag`` is not a string)."""
    tag = getattr(node, "tag", None)
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None


def _t_text(node: Any) -> str:
    """A ``w:t`` element's text. An entity reference inside it (Word never writes one; lxml
    leaves it unexpanded, as it must) is dropped and the text after it kept."""
    return (node.text or "") + "".join(child.tail or "" for child in node)


def _plain_text(paragraph: Any) -> str:
    """A body paragraph: the text of its ``w:t`` elements, as Word shows it."""
    return "".join(_t_text(node) for node in paragraph.iter()
                   if isinstance(node.tag, str) and node.tag == W_NS + "t")


_RUN_TEXT = {W_NS + "tab": "\t", W_NS + "ptab": "\t", W_NS + "br": "\n", W_NS + "cr": "\n",
             W_NS + "noBreakHyphen": "-"}


def _cell_text(tc: Any) -> str:
    """A table cell's paragraphs (its own, not a nested table's), one per line, with tabs and
    line breaks, as python-docx's ``_Cell.text`` gives them."""
    out = []
    for paragraph in tc.iterchildren(W_NS + "p"):
        parts = []
        for node in paragraph.iter():
            if not isinstance(node.tag, str):
                continue
            if node.tag == W_NS + "t":
                parts.append(_t_text(node))
            elif node.tag in _RUN_TEXT:
                parts.append(_RUN_TEXT[node.tag])
        out.append("".join(parts))
    return "\n".join(out)


def _number(element: Any, child: str, default: int) -> int:
    """A small whole-number property (gridSpan, gridBefore), or ``default`` if absent or bad."""
    found = element.find(W_NS + child) if element is not None else None
    value = found.get(W_NS + "val") if found is not None else None
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(number, 0), 1000)  # Word allows 63 columns


def _table_lines(tbl: Any) -> list[str]:
    """A table with Speaker | Text columns (optionally a time column first) becomes turns. A
    cell merged down from the row above (``vMerge``) repeats that cell's text."""
    out = []
    above: dict[int, str] = {}  # grid column -> text of the cell there in the previous row
    for tr in tbl.iterchildren(W_NS + "tr"):
        offset = _number(tr.find(W_NS + "trPr"), "gridBefore", 0)
        here: dict[int, str] = {}
        raw = []
        for tc in tr.iterchildren(W_NS + "tc"):
            props = tc.find(W_NS + "tcPr")
            merge = props.find(W_NS + "vMerge") if props is not None else None
            if merge is not None and merge.get(W_NS + "val", "continue") == "continue":
                text = above.get(offset, "")
            else:
                text = _cell_text(tc).strip()
            here[offset] = text
            raw.append(text)
            offset += max(_number(props, "gridSpan", 1), 1)
        above = here
        line = row_line(raw)
        if line:
            out.append(line)
    return out


def row_line(raw: list[str]) -> str:
    """A table row as a line: Speaker | Text as ``Speaker: Text``, Time | Speaker | Text as
    ``[Time] Speaker: Text``, one cell as itself (a cell repeating its left neighbour, as a
    merged cell reads, counted once); "" for an empty row. Shared by the Word and
    OpenDocument readers."""
    cells = [c for i, c in enumerate(raw) if c and (i == 0 or c != raw[i - 1])]
    if len(cells) >= 3 and ":" in cells[0]:
        return f"[{cells[0]}] {cells[1]}: {' '.join(cells[2:])}"
    if len(cells) >= 2:
        return f"{cells[0]}: {' '.join(cells[1:])}"
    return cells[0] if cells else ""
