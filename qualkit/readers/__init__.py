"""One small reader per input format, and ``READERS``: the one list of what qualkit imports.

Every place that names the formats reads ``READERS``: the unsupported-type message, the
"nothing to import" message, ``qualkit import --help``, the app's uploader (and a test checks
the README's table). A transcript or table reader takes a path and returns ImportedDocuments;
problems become ReaderError naming the file (and line or row where it helps). A *project*
format (REFI-QDA's .qdpx project and .qdc codebook) returns a whole project instead (a
codebook, documents with codings, memos: ``exchange.QdpxContent``), which
``pipeline.import_paths`` applies to the project it imports into.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import QualkitError, ReaderError
from ..model import ImportedDocument, Transcript
from ..segment import LAYOUTS
from . import docx, odt, pdf, rtf, subtitles, text

TRANSCRIPTS = "transcripts"
TABLES = "coded-segments tables"
REFI = "REFI-QDA projects and codebooks"


@dataclass(frozen=True)
class Reader:
    """How one file extension is read."""

    extension: str  # ".txt"
    kind: str  # what such files are, for messages and help: TRANSCRIPTS, TABLES or REFI
    read: Callable[[Path], Any]
    project: bool = False  # ``read`` returns a whole project, not a list of documents


def _table(path: Path) -> list[ImportedDocument]:
    from ..codedtable import read_coded_table

    return read_coded_table(path)


def _refi(path: Path) -> Any:
    """A REFI-QDA .qdpx project or .qdc codebook as ``exchange.QdpxContent``."""
    from ..exchange import QdpxContent, read_qdc, read_qdpx

    return QdpxContent(read_qdc(path)) if path.suffix.lower() == ".qdc" else read_qdpx(path)


READERS: dict[str, Reader] = {r.extension: r for r in (
    Reader(".txt", TRANSCRIPTS, text.read_text_transcript),
    Reader(".md", TRANSCRIPTS, text.read_markdown_transcript),
    Reader(".markdown", TRANSCRIPTS, text.read_markdown_transcript),
    Reader(".docx", TRANSCRIPTS, docx.read_docx),
    Reader(".odt", TRANSCRIPTS, odt.read_odt),
    Reader(".rtf", TRANSCRIPTS, rtf.read_rtf),
    Reader(".pdf", TRANSCRIPTS, pdf.read_pdf),
    Reader(".vtt", TRANSCRIPTS, subtitles.read_vtt),
    Reader(".srt", TRANSCRIPTS, subtitles.read_srt),
    Reader(".csv", TABLES, _table),
    Reader(".xlsx", TABLES, _table),
    Reader(".qdpx", REFI, _refi, project=True),
    Reader(".qdc", REFI, _refi, project=True),
)}


def supported_extensions() -> list[str]:
    """Every extension qualkit imports, in the registry's order (".txt", ".md", ...)."""
    return list(READERS)


def describe_formats() -> str:
    """What qualkit imports, in words: "transcripts (.txt .md ...), coded-segments tables
    (.csv .xlsx) and REFI-QDA projects and codebooks (.qdpx .qdc)"."""
    kinds: dict[str, list[str]] = {}
    for reader in READERS.values():
        kinds.setdefault(reader.kind, []).append(reader.extension)
    parts = [f"{kind} ({' '.join(exts)})" for kind, exts in kinds.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def reader_for(path: str | Path) -> Reader:
    """The reader for a file, by extension; an existing file is required."""
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise ReaderError(f"unsupported file type '{p.suffix or '(none)'}'", path=str(p),
                          hint=f"qualkit reads {describe_formats()}")
    if not p.is_file():
        raise ReaderError("file not found" if not p.exists() else "not a file", path=str(p))
    return reader


def checked_layout(layout: str) -> str:
    """A layout choice ("auto", "transcript" or "document"), or one line saying the choices."""
    clean = (layout or "").strip().lower()
    if clean not in LAYOUTS:
        raise QualkitError(f"unknown layout {layout!r}: choose {', '.join(LAYOUTS)}",
                           field="layout",
                           hint="transcript: speaker turns; document: paragraphs (a paper, "
                                "notes); auto: qualkit decides from the text")
    return clean


def with_layout(transcript: Transcript, layout: str) -> Transcript:
    """The transcript cut again as ``layout``: "transcript" (speaker turns) or "document"
    (paragraphs, every non-blank character in one); "auto" keeps what the reader chose. The
    text is not changed, so every offset into it (codings, pages) stays valid. Each speaker
    keeps the role their turns have (set in the app, or by front matter)."""
    from dataclasses import replace

    layout = checked_layout(layout)
    if layout == "auto" or transcript.layout == layout:
        return transcript
    match = text.FRONT_MATTER_RE.match(transcript.text)
    roles = {**(text.speaker_roles(transcript.attributes) or {}),
             **{g.speaker: g.role for g in transcript.segments if g.speaker}}
    segments, _ = text.cut(transcript.text, match.end() if match else 0, roles or None,
                           transcript.format == "md", layout)
    if not segments:
        raise ReaderError("no text to cut into segments", path=transcript.source or None)
    return replace(transcript, segments=segments, layout=layout)


def read_documents(reader: Reader, path: Path, layout: str = "auto") -> list[ImportedDocument]:
    """What a transcript or table reader gives for ``path``, transcripts cut as ``layout``
    (a coded table keeps its rows as segments: its codings point at them)."""
    docs = reader.read(path)
    if reader.kind != TRANSCRIPTS or checked_layout(layout) == "auto":
        return list(docs)
    return [ImportedDocument(with_layout(d.transcript, layout), d.codings, d.coded)
            for d in docs]


def read_path(path: str | Path, layout: str = "auto") -> list[ImportedDocument]:
    """Read one file with the reader for its extension: the documents it holds (for a
    project format, its documents with their codings; ``pipeline.import_paths`` applies its
    codebook and memos too); transcripts cut as ``layout`` (``with_layout``)."""
    reader = reader_for(path)
    if reader.project:
        return list(reader.read(Path(path)).documents)
    return read_documents(reader, Path(path), layout)


def find_transcripts(paths: list[str | Path]) -> list[Path]:
    """Expand folders into the supported files they hold (sorted, hidden files skipped)."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()
                              and f.suffix.lower() in READERS
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    return out
