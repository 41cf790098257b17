"""WebVTT and SRT subtitles: cues merged into speaker turns (`<v Name>` or `Name:`)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ReaderError
from ..model import ImportedDocument, Transcript
from ..segment import TextBuilder
from .text import decode_text, read_bytes

NAME_PREFIX = re.compile(r"^(?:-\s*)?(?P<name>[A-Z][\w.'\- ]{0,30}?):\s+(?P<rest>\S.*)$", re.S)


def _read(path: Path, fmt: str) -> list[ImportedDocument]:
    import webvtt
    from webvtt.errors import MalformedFileError

    text = decode_text(read_bytes(path), path)
    try:
        captions = webvtt.from_buffer(text.splitlines(keepends=True), format=fmt).captions
    except (MalformedFileError, ValueError) as exc:
        raise ReaderError(f"not a valid {fmt.upper()} subtitle file: {exc}", path=str(path),
                          hint="check the header and the cue timings (00:00:01.000 --> ...)"
                          ) from None
    if not captions:
        raise ReaderError(f"no subtitle cues found in this {fmt.upper()} file", path=str(path))
    builder = TextBuilder()
    speaker: str | None = None
    words: list[str] = []
    stamp: str | None = None
    for cue in captions:
        name = cue.voice
        body = " ".join(line.strip() for line in cue.text.splitlines() if line.strip())
        if name is None:
            match = NAME_PREFIX.match(body)
            if match:
                name, body = match.group("name").strip(), match.group("rest")
        if name is None:
            name = speaker or ""
        if not body:
            continue
        if name != speaker and words:
            builder.add(speaker or "", " ".join(words), stamp)
            words = []
        if not words:
            stamp = cue.start.split(".")[0].split(",")[0]
        speaker = name
        words.append(body)
    if words:
        builder.add(speaker or "", " ".join(words), stamp)
    transcript = Transcript(name=path.stem, text=builder.text, segments=builder.segments,
                            source=str(path), format=fmt, layout="transcript")
    return [ImportedDocument(transcript)]


def read_vtt(path: Path) -> list[ImportedDocument]:
    return _read(path, "vtt")


def read_srt(path: Path) -> list[ImportedDocument]:
    return _read(path, "srt")
