"""Rich Text Format (.rtf) transcripts: converted to plain text with striprtf, then read as a
text transcript (speaker turns, or paragraphs for a document).

RTF is 7-bit text: bytes outside ASCII appear only as escapes (``\\'e9`` in the file's code page,
``\\u233?`` for Unicode), which striprtf decodes. The file's size is bounded (docs/limits.md):
striprtf works on the whole text in memory, with regular expressions, in time linear in it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ReaderError
from ..model import ImportedDocument
from .text import CONTROL_RE, PAGE_BREAKS, read_bytes, transcript_from_text

MAX_RTF_BYTES = 32 * 1024 ** 2
"""The largest .rtf read: RTF carries formatting around every run of text (and pictures as hex),
so an interview's RTF is a few times its text; 32 MB is hundreds of hours of speech."""

UNREADABLE = "not a valid RTF file"
HINT = "open it in a word processor and save it as .rtf (or .docx) again"


def read_rtf(path: Path, limit: int = MAX_RTF_BYTES) -> list[ImportedDocument]:
    from striprtf.striprtf import rtf_to_text

    data = read_bytes(path, limit)
    if not data.lstrip().startswith(b"{\\rtf"):
        raise ReaderError(f"{UNREADABLE}: it does not start with '{{\\rtf'", path=str(path),
                          hint=HINT)
    try:  # bytes as Latin-1: one character each; striprtf decodes the escapes
        text = rtf_to_text(data.decode("latin-1"), errors="replace")
    except Exception as exc:  # noqa: BLE001 - only the third-party conversion: a damaged file
        raise ReaderError(f"{UNREADABLE}: {' '.join(str(exc).split())[:200]}", path=str(path),
                          hint=HINT) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(PAGE_BREAKS)
    text = CONTROL_RE.sub(" ", text)  # left over from the conversion: one character for one
    if not text.strip():
        raise ReaderError("the document has no text", path=str(path))
    return [ImportedDocument(transcript_from_text(text, path, "rtf"))]
