"""Plain-text and Markdown transcripts: optional YAML front matter, then `Name: words` turns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .. import yaml12
from ..errors import ReaderError
from ..model import ImportedDocument, Segment, Transcript
from ..segment import segment_text
from .exports import export_turns

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?\n)?---[ \t]*(?:\n|\Z)", re.S)
BINARY_SNIFF = 8192

MAX_TEXT_BYTES = 128 * 1024 ** 2
"""The largest text file read (transcripts, subtitles, CSV tables): a thousand hours of speech
transcribed is about 50 MB; reading, decoding and segmenting take several times the file in
memory, so the limit bounds that."""

PAGE_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})
"""A vertical tab or form feed (a line or page break from a word processor) becomes a newline:
one character for one, so every offset stays where it was."""

CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\ufffe\uffff]")
"""Characters that are not text: C0 control characters other than tab, newline, carriage
return (and the vertical tab and form feed above), and the non-characters U+FFFE/U+FFFF. XML,
so Excel and REFI-QDA, cannot hold them; a transcript holding one is refused, naming where."""


def text_characters(text: str, path: Path, line_offset: int = 0) -> str:
    """``text`` with vertical tabs and form feeds as newlines; a ReaderError naming the line
    and column of any other control character."""
    text = text.translate(PAGE_BREAKS)
    bad = CONTROL_RE.search(text)
    if bad:
        start = bad.start()
        line = text.count("\n", 0, start) + 1 + line_offset
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        raise ReaderError(f"control character U+{ord(bad.group()):04X} at column {column} is "
                          "not text", path=str(path), line=line,
                          hint="remove it (an editor that shows invisible characters finds it) "
                               "and import again")
    return text


def decode_text(data: bytes, path: Path) -> str:
    """Bytes to text, refusing binary and non-UTF-8 input with a message that says how to fix it."""
    if not data.strip():
        raise ReaderError("the file is empty", path=str(path), hint="export the transcript again")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReaderError(f"broken UTF-16 text at byte {exc.start}", path=str(path)) from None
        return text_characters(text.replace("\r\n", "\n").replace("\r", "\n"), path)
    if b"\x00" in data[:BINARY_SNIFF]:
        raise ReaderError("this is a binary file, not a text transcript", path=str(path),
                          hint="save the transcript as plain text (.txt), .docx, .vtt or .srt")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReaderError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start})",
                          path=str(path), line=line,
                          hint="re-save the file with UTF-8 encoding") from None
    return text_characters(text.replace("\r\n", "\n").replace("\r", "\n"), path)


def read_bytes(path: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The file's bytes, refusing a file larger than ``limit`` before reading it all."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ReaderError("file not found", path=str(path), hint="check the path") from None
    except IsADirectoryError:
        raise ReaderError("this is a folder, not a file", path=str(path)) from None
    except OSError as exc:
        raise ReaderError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    if len(data) > limit:
        raise ReaderError(f"the file is larger than {limit // 1024 ** 2} MB, more than qualkit "
                          "reads as one transcript or table", path=str(path),
                          hint="split it into smaller files")
    return data


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], int]:
    """Attributes from a leading `---` YAML block, and the offset where the body starts. Read
    as codebooks are (``yaml12``): only true/false are booleans, so `yes`/`no` answers stay
    text; numbers stay numbers."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return {}, 0
    try:  # the codebooks' loader: YAML 1.2 booleans, so `works_alone: yes` stays "yes"
        data = yaml12.load(match.group("yaml") or "") or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or " ".join(str(exc).split())
        raise ReaderError(f"front matter is not valid YAML: {problem}", path=str(path),
                          line=(mark.line + 2) if mark else 1) from None
    except yaml.YAMLError as exc:
        raise ReaderError(f"front matter is not valid YAML: {' '.join(str(exc).split())}",
                          path=str(path), line=1) from None
    if not isinstance(data, dict):
        raise ReaderError("front matter must be 'key: value' lines between two '---' lines",
                          path=str(path), line=2)
    return {str(k): _plain(v) for k, v in data.items()}, match.end()


def _plain(value: Any) -> Any:
    """Dates and other YAML types become strings so attributes store and export simply."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)


def speaker_roles(attributes: dict[str, Any]) -> dict[str, str] | None:
    """Explicit roles from front matter: `speakers: {Name: role}` or `interviewer: Name`."""
    roles: dict[str, str] = {}
    speakers = attributes.get("speakers")
    if isinstance(speakers, dict):
        roles.update({str(k): str(v) for k, v in speakers.items()})
    if isinstance(attributes.get("interviewer"), str):
        roles[attributes["interviewer"]] = "interviewer"
    return roles or None


def cut(text: str, body: int, roles: dict[str, str] | None, markdown: bool,
        layout: str = "auto") -> tuple[list[Segment], str]:
    """The segments of ``text[body:]`` and the layout used: a meeting tool's export
    (``exports``: Otter, Zoom, Teams) is a transcript; else ``segment.segment_text``."""
    if layout != "document":
        turns = export_turns(text, body, roles=roles)
        if turns is not None:
            return turns, "transcript"
    return segment_text(text, body, roles=roles, markdown=markdown, layout=layout)


def transcript_from_text(text: str, path: Path, fmt: str, markdown: bool = False) -> Transcript:
    """A text cut into segments: speaker turns if it reads as a transcript, else paragraphs
    (``segment.looks_like_transcript``; ``readers.with_layout`` overrides the choice)."""
    attributes, body = split_front_matter(text, path)
    segments, layout = cut(text, body, speaker_roles(attributes), markdown)
    if not segments:
        raise ReaderError("no transcript text found after the front matter", path=str(path),
                          hint="write turns as 'Name: what they said', one per paragraph")
    return Transcript(name=path.stem, text=text, segments=segments, attributes=attributes,
                      source=str(path), format=fmt, layout=layout)


def read_text_transcript(path: Path) -> list[ImportedDocument]:
    text = decode_text(read_bytes(path), path)
    return [ImportedDocument(transcript_from_text(text, path, "txt"))]


def read_markdown_transcript(path: Path) -> list[ImportedDocument]:
    text = decode_text(read_bytes(path), path)
    return [ImportedDocument(transcript_from_text(text, path, "md", markdown=True))]
