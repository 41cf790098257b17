"""Recordings beside transcripts: which files are audio or video, checking that a file is what
its extension says, and attaching, reading back, exporting and removing a transcript's
recording (stored in the project database in ``CHUNK``-sized pieces, so neither storing nor
reading one holds the whole file in memory).

A recording is checked before anything is stored: a known extension (``MEDIA_TYPES``), at most
``max_media_bytes()`` (``QUALKIT_MAX_MEDIA_MB``, docs/limits.md), and first bytes that match the
extension's format, so a renamed document or a broken download is refused with one line.
``timestamp_seconds`` turns a turn's timestamp ("01:02:03.5", "1:05,200") into seconds for the
player and for REFI-QDA sync points.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import QualkitError, ReaderError

if TYPE_CHECKING:
    from .store import MediaInfo, Store

CHUNK = 1024 ** 2
"""Bytes per stored piece of a recording: reading or writing one holds one piece."""

DEFAULT_MAX_MB = 256
"""A recording's size limit unless ``QUALKIT_MAX_MEDIA_MB`` says otherwise: an hour of
interview is ~60 MB as 128 kbit/s MP3 and ~200 MB as a modest video. The app's player holds
the recording it plays in memory (Streamlit's media file manager), so this bounds that too."""

# extension -> (MIME type, format family checked by its first bytes). A fixed table rather
# than the platform's mimetypes database, so every machine agrees on what a file is.
MEDIA_TYPES: dict[str, tuple[str, str]] = {
    ".mp3": ("audio/mpeg", "mp3"),
    ".m4a": ("audio/mp4", "mp4"),
    ".aac": ("audio/aac", "aac"),
    ".wav": ("audio/wav", "wav"),
    ".ogg": ("audio/ogg", "ogg"),
    ".oga": ("audio/ogg", "ogg"),
    ".opus": ("audio/ogg", "ogg"),
    ".flac": ("audio/flac", "flac"),
    ".weba": ("audio/webm", "webm"),
    ".webm": ("video/webm", "webm"),
    ".mp4": ("video/mp4", "mp4"),
    ".m4v": ("video/mp4", "mp4"),
    ".mov": ("video/quicktime", "mp4"),
}
FORMAT_NAMES = {"mp3": "MP3 audio", "mp4": "MPEG-4/QuickTime (.mp4 .m4a .mov)",
                "aac": "AAC audio", "wav": "WAV audio", "ogg": "Ogg audio", "flac": "FLAC audio",
                "webm": "WebM/Matroska"}
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
_TIMESTAMP_RE = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?\s*$")


def max_media_bytes() -> int:
    """The size limit for one recording: ``QUALKIT_MAX_MEDIA_MB`` megabytes, else
    ``DEFAULT_MAX_MB``."""
    raw = os.environ.get("QUALKIT_MAX_MEDIA_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 1024 ** 2
    try:
        mb = float(raw)
    except ValueError:
        raise QualkitError(f"QUALKIT_MAX_MEDIA_MB is {raw!r}, not a number of megabytes",
                           field="QUALKIT_MAX_MEDIA_MB", hint="e.g. QUALKIT_MAX_MEDIA_MB=512"
                           ) from None
    if mb <= 0:
        raise QualkitError("QUALKIT_MAX_MEDIA_MB must be above 0", field="QUALKIT_MAX_MEDIA_MB")
    return int(mb * 1024 ** 2)


def is_media(path: str | Path) -> bool:
    """Whether the file's extension is a recording qualkit stores."""
    return Path(path).suffix.lower() in MEDIA_TYPES


def mime_of(name: str | Path) -> str:
    """The MIME type qualkit stores and serves for a recording's file name."""
    return MEDIA_TYPES[_suffix(name)][0]


def is_video(mime: str) -> bool:
    return mime.startswith("video/")


def describe() -> str:
    return " ".join(MEDIA_TYPES)


def _suffix(name: str | Path, where: str | None = None) -> str:
    suffix = Path(str(name)).suffix.lower()
    if suffix not in MEDIA_TYPES:
        raise ReaderError(f"{suffix or 'a file without an extension'} is not a recording "
                          "qualkit stores", path=where or str(name),
                          hint=f"qualkit takes audio or video files: {describe()}")
    return suffix


def sniff(head: bytes) -> str | None:
    """The format family the first bytes of a file belong to, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] in _MP4_BOXES:
        return "mp4"
    if head[:3] == b"ID3":
        return "mp3"  # an ID3 tag leads MP3 (and sometimes AAC) files
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:
            return "aac"  # ADTS: 12 sync bits, layer 00
        if head[1] & 0xE0 == 0xE0:
            return "mp3"  # MPEG audio frame sync
    return None


def check_signature(name: str | Path, head: bytes, where: str | None = None) -> str:
    """The MIME type for ``name`` if its first bytes are of the format its extension names;
    else one clear ``ReaderError`` naming ``where`` (default: ``name``)."""
    suffix = _suffix(name, where)
    mime, family = MEDIA_TYPES[suffix]
    found = sniff(head)
    fits = found == family or (family == "mp3" and found == "aac") or \
        (family == "aac" and found == "mp3" and head[:3] == b"ID3")
    if not fits:
        what = FORMAT_NAMES[found] if found else "no audio or video format qualkit knows"
        raise ReaderError(f"the file's contents are not {FORMAT_NAMES[family]}, as its "
                          f"extension {suffix} says: its first bytes are {what}",
                          path=where or str(name),
                          hint="check this is the recording and that its extension matches "
                               "its format: rename it, or convert it, e.g. to .mp3")
    return mime


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def check_file(path: str | Path, name: str | None = None) -> tuple[str, int]:
    """(MIME type, size) of a recording on disk, after the extension, size and signature
    checks. ``name`` is the name whose extension counts (an upload saved by qualkit)."""
    p = Path(path)
    label = name or p.name
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise ReaderError("this is not a file", path=str(p))
        with p.open("rb") as handle:
            head = handle.read(64)
    except FileNotFoundError:
        raise ReaderError("file not found", path=str(p), hint="check the path") from None
    except OSError as exc:
        raise ReaderError(f"cannot read the file: {exc.strerror or exc}", path=str(p)) from None
    where = str(p) if name is None else name
    mime = check_signature(label, head, where)
    limit = max_media_bytes()
    if size > limit:
        raise ReaderError(f"the recording is {size / 1024 ** 2:,.0f} MB, more than qualkit "
                          f"stores ({limit / 1024 ** 2:,.0f} MB)", path=str(p),
                          hint="compress it (e.g. to 64 kbit/s .m4a or .mp3) or raise "
                               "QUALKIT_MAX_MEDIA_MB (docs/limits.md)")
    if size == 0:
        raise ReaderError("the recording is empty", path=str(p))
    return mime, size


def attach(store: Store, transcript: str, path: str | Path, actor: str,
           name: str | None = None) -> MediaInfo:
    """Store the recording at ``path`` for ``transcript`` (replacing any it had), read in
    ``CHUNK``-sized pieces inside one transaction. ``name`` is the recording's own name when
    ``path`` is a file qualkit saved (an upload), so a client's name is never a path."""
    p = Path(path)
    label = Path(name).name if name else p.name
    mime, _ = check_file(p, label if name else None)
    return store.attach_media(transcript, label, mime, read_chunks(p), actor,
                              max_bytes=max_media_bytes())


def attach_stream(store: Store, transcript: str, name: str, chunks: Iterable[bytes],
                  actor: str) -> MediaInfo:
    """Store a recording that arrives in pieces (from a .qdpx archive): the first piece's
    signature is checked against ``name``'s extension, the size limit while storing."""
    pieces = iter(chunks)
    first = next(pieces, b"")
    mime = check_signature(name, first[:64])
    return store.attach_media(transcript, name, mime, chain([first], pieces), actor,
                              max_bytes=max_media_bytes())


def read_bytes(store: Store, transcript: str) -> bytes:
    """A whole recording in memory: for the app's player, which serves it from memory."""
    return b"".join(store.media_chunks(transcript))


def export(store: Store, transcript: str, path: str | Path) -> MediaInfo:
    """Write a transcript's recording to ``path`` atomically, one chunk at a time."""
    from .fileio import atomic_write_chunks

    info = store.media_info(transcript)
    if info is None:
        raise QualkitError(f"transcript {transcript!r} has no recording",
                           hint="`qualkit media list` shows the recordings")
    atomic_write_chunks(path, store.media_chunks(transcript))
    return info


def remove(store: Store, transcript: str, actor: str) -> MediaInfo:
    return store.remove_media(transcript, actor)


def beside(path: str | Path) -> Path | None:
    """A recording next to a transcript file with the same name (p01.txt -> p01.mp3 or
    p01.MP3), the first by extension order of ``MEDIA_TYPES`` if there are several, or None.
    Only those few names are looked up, never the whole folder, so importing a folder of
    10,000 transcripts costs the same per file as one of ten."""
    p = Path(path)
    for ext in MEDIA_TYPES:
        for candidate in (p.with_suffix(ext), p.with_suffix(ext.upper())):
            try:
                if candidate.is_file():
                    return candidate
            except OSError:
                continue
    return None


def timestamp_seconds(stamp: str) -> float:
    """Seconds from a turn's timestamp: "01:02:03.5" -> 3723.5, "1:05" -> 65.0 (minutes and
    seconds), "00:01:05,200" -> 65.2. A ``ValueError`` for anything else."""
    m = _TIMESTAMP_RE.match(stamp or "")
    if not m:
        raise ValueError(f"not a timestamp: {stamp!r}")
    hours, minutes, seconds, fraction = m.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise ValueError(f"not a timestamp: {stamp!r}")
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return value + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def seconds_or_none(stamp: str | None) -> float | None:
    """``timestamp_seconds``, or None for a turn without a (readable) timestamp."""
    if not stamp:
        return None
    try:
        return timestamp_seconds(stamp)
    except ValueError:
        return None
