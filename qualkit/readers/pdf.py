"""PDF transcripts and documents: the text layer, page by page, through pypdf.

The pages' text is joined with a blank line between pages, so a turn never runs from one page
into the next, and where each page starts is kept (``Transcript.pages``) so a quote can cite
its page. The joined text is then read as a text transcript (speaker turns, or paragraphs for a
document that is not dialogue). A PDF of scanned pages has no text layer: it is refused with a
message to run OCR first. Resources are bounded: the file's size, its page count and the
characters extracted (docs/limits.md); pypdf bounds each decompressed stream itself (75 MB).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ReaderError
from ..model import ImportedDocument
from .text import CONTROL_RE, PAGE_BREAKS, read_bytes, transcript_from_text

MB = 1024 ** 2

MAX_PDF_BYTES = 256 * MB
"""The largest PDF read: an interview is a few hundred kilobytes of text; a PDF with pictures
may be tens of megabytes. pypdf reads the whole file into memory."""

MAX_PDF_PAGES = 2_000
"""Pages in one PDF: a two-hour interview is about 40 pages; a book-length report a few hundred.
Each page's text extraction costs time, so this bounds the time an import takes."""

MAX_PDF_CHARS = 20_000_000
"""Characters extracted from one PDF in all (about 3 million words, a hundred books): beyond
it the file is refused, so a PDF whose content streams expand hugely cannot fill memory."""

UNREADABLE = "not a readable PDF file"
HINT = "open it in a PDF viewer and print or export it as a PDF again"
SCANNED = ("the PDF has no text layer (scanned pages are pictures of text); run OCR on it "
           "first (for example ocrmypdf in.pdf out.pdf) and import the result")


@dataclass(frozen=True)
class PdfLimits:
    """The limits a PDF is held to (tests pass smaller ones)."""

    file_bytes: int = MAX_PDF_BYTES
    pages: int = MAX_PDF_PAGES
    chars: int = MAX_PDF_CHARS


def _unreadable(path: Path, exc: BaseException) -> ReaderError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ReaderError(f"{UNREADABLE}: {detail}", path=str(path), hint=HINT)


def page_texts(path: Path, limits: PdfLimits = PdfLimits()) -> list[str]:
    """The text of each page, in order (line endings normalised, control characters from the
    extraction as spaces: one character for one)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    data = read_bytes(path, limits.file_bytes)
    if not data.startswith(b"%PDF") and b"%PDF-" not in data[:1024]:
        raise ReaderError(f"{UNREADABLE}: it does not start with a PDF header", path=str(path),
                          hint=HINT)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("a password is needed")
        count = len(reader.pages)
    except (FileNotDecryptedError, DependencyError):
        raise ReaderError("the PDF is password-protected (encrypted)", path=str(path),
                          hint="open it with its password and save or print it as a PDF "
                               "without one, then import that") from None
    except Exception as exc:  # noqa: BLE001 - only the third-party parse: a damaged file
        raise _unreadable(path, exc) from None
    if count > limits.pages:
        raise ReaderError(f"the PDF has {count} pages, more than the {limits.pages} qualkit "
                          "reads from one file", path=str(path), hint="split it into smaller PDFs")
    texts: list[str] = []
    total = 0
    for number in range(count):
        try:
            raw = reader.pages[number].extract_text() or ""
        except (FileNotDecryptedError, DependencyError):
            raise ReaderError("the PDF is password-protected (encrypted)", path=str(path),
                              hint="save or print it as a PDF without a password") from None
        except Exception as exc:  # noqa: BLE001 - a damaged page
            raise ReaderError(f"{UNREADABLE}: page {number + 1}: "
                              f"{' '.join(str(exc).split())[:200]}", path=str(path),
                              hint=HINT) from None
        page = CONTROL_RE.sub(" ", raw.replace("\r\n", "\n").replace("\r", "\n")
                              .translate(PAGE_BREAKS)).strip()
        total += len(page)
        if total > limits.chars:
            raise ReaderError(f"the PDF holds more than {limits.chars:,} characters of text, "
                              "more than qualkit reads from one file", path=str(path),
                              hint="split it into smaller PDFs")
        texts.append(page)
    return texts


def read_pdf(path: Path, limits: PdfLimits = PdfLimits()) -> list[ImportedDocument]:
    texts = page_texts(path, limits)
    if not any(texts):
        raise ReaderError(SCANNED, path=str(path))
    parts: list[str] = []
    pages: list[int] = []
    length = 0
    for page in texts:
        if parts:
            parts.append("\n\n")
            length += 2
        pages.append(length)
        parts.append(page)
        length += len(page)
    transcript = transcript_from_text("".join(parts), path, "pdf")
    return [ImportedDocument(replace(transcript, pages=pages))]
