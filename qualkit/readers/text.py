"""Plain-text and Markdown transcripts: optional YAML front matter, then `Name: words` turns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .. import yaml12
from ..errors import ReaderError
from ..model import ImportedDocument, Transcript
from ..segment import parse_turns

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?\n)?---[ \t]*(?:\n|\Z)", re.S)
BINARY_SNIFF = 8192


def decode_text(data: bytes, path: Path) -> str:
    """Bytes to text, refusing binary and non-UTF-8 input with a message that says how to fix it."""
    if not data.strip():
        raise ReaderError("the file is empty", path=str(path), hint="export the transcript again")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            raise ReaderError(f"broken UTF-16 text at byte {exc.start}", path=str(path)) from None
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
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ReaderError("file not found", path=str(path), hint="check the path") from None
    except OSError as exc:
        raise ReaderError(f"cannot read the file: {exc.strerror}", path=str(path)) from None


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], int]:
    """Attributes from a leading `---` YAML block, and the offset where the body starts. Read
    as codebooks are (``yaml12``): only true/false are booleans, so `yes`/`no` answers stay
    text; numbers stay numbers."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return {}, 0
    try:  # the codebooks' loader: YAML 1.2 booleans, so `works_alone: yes` stays "yes"
        data = yaml12.load(match.group("yaml") or "") or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReaderError(f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}",
                          path=str(path), line=(mark.line + 2) if mark else 1) from None
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


def transcript_from_text(text: str, path: Path, fmt: str, markdown: bool = False) -> Transcript:
    attributes, body = split_front_matter(text, path)
    segments = parse_turns(text, body, roles=speaker_roles(attributes), markdown=markdown)
    if not segments:
        raise ReaderError("no transcript text found after the front matter", path=str(path),
                          hint="write turns as 'Name: what they said', one per paragraph")
    return Transcript(name=path.stem, text=text, segments=segments, attributes=attributes,
                      source=str(path), format=fmt)


def read_text_transcript(path: Path) -> list[ImportedDocument]:
    text = decode_text(read_bytes(path), path)
    return [ImportedDocument(transcript_from_text(text, path, "txt"))]


def read_markdown_transcript(path: Path) -> list[ImportedDocument]:
    text = decode_text(read_bytes(path), path)
    return [ImportedDocument(transcript_from_text(text, path, "md", markdown=True))]
