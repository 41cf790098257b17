"""One small reader per input format, chosen by file extension.

Each reader takes a path and returns ImportedDocuments; problems become ReaderError naming the
file (and line or row where it helps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import ReaderError
from ..model import ImportedDocument
from . import docx, subtitles, text

Reader = Callable[[Path], list[ImportedDocument]]


def _table(path: Path) -> list[ImportedDocument]:
    from ..codedtable import read_coded_table

    return read_coded_table(path)


READERS: dict[str, Reader] = {
    ".txt": text.read_text_transcript,
    ".md": text.read_markdown_transcript,
    ".markdown": text.read_markdown_transcript,
    ".docx": docx.read_docx,
    ".vtt": subtitles.read_vtt,
    ".srt": subtitles.read_srt,
    ".csv": _table,
    ".xlsx": _table,
}


IMPORTABLE = set(READERS) | {".qdpx", ".qdc"}  # REFI-QDA goes through pipeline.import_paths


def supported_extensions() -> list[str]:
    return sorted(READERS)


def read_path(path: str | Path) -> list[ImportedDocument]:
    """Read one file with the reader for its extension."""
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise ReaderError(f"unsupported file type '{p.suffix or '(none)'}'", path=str(p),
                          hint=f"qualkit reads {', '.join(supported_extensions())}")
    if not p.is_file():
        raise ReaderError("file not found" if not p.exists() else "not a file", path=str(p))
    return reader(p)


def find_transcripts(paths: list[str | Path]) -> list[Path]:
    """Expand folders into the supported files they hold (sorted, hidden files skipped)."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()
                              and f.suffix.lower() in IMPORTABLE
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    return out
