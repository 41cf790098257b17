"""The one guard for zip-based input (.docx, .xlsx, .qdpx): nothing extracted, nothing trusted.

``GuardedZip`` opens an archive and refuses it, before any member is read, if it is not a zip,
holds too many members, names a member with an absolute path or a '..' component, is encrypted,
uses a compression method other than stored/deflated, declares more uncompressed data than the
limits allow (in all, or in one member), or is compressed suspiciously well (a zip bomb: any
member above ``RATIO_MIN_BYTES``, or the archive as a whole). ``read`` then reads a member in
chunks, counting the bytes actually produced, so a header that lies about sizes is caught too.

``check_zip(path)`` does all of that for a file a third-party library will open afterwards
(python-docx, openpyxl): the headers, then every member streamed once through the decompressor
(nothing kept), so the library only ever sees an archive whose sizes are true and bounded.

Every refusal is one ``QualkitError`` (the caller chooses the subclass: ``ReaderError`` for
transcripts and tables, ``ExchangeError`` for REFI-QDA) naming the file and the member. Limits
are a ``ZipLimits``; tests pass smaller ones. docs/limits.md lists them.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import QualkitError, ReaderError

MB = 1024 ** 2

MAX_MEMBERS = 10_000
"""Members in one archive: a .qdpx holds one file per source; Word and Excel files a few dozen.
More is a damaged or hostile archive, and each member costs a header read."""

MAX_TOTAL_BYTES = 2 * 1024 ** 3
"""All members together, uncompressed, in a .qdpx: sources may include recordings qualkit never
reads, so this is generous; what qualkit does read is counted against it as well."""

MAX_MEMBER_BYTES = 512 * MB
"""One .qdpx member read into memory (the project.qde or one source text)."""

OFFICE_TOTAL_BYTES = 512 * MB
"""All parts of a .docx or .xlsx together, uncompressed: python-docx loads every part into
memory, so this bounds what opening one costs (pictures included)."""

OFFICE_MEMBER_BYTES = 128 * MB
"""One part of a .docx or .xlsx: 128 MB of document or sheet XML is several hundred thousand
table rows or thousands of pages, far beyond an interview, and lxml needs several times it."""

MAX_RATIO = 100
"""Uncompressed : compressed, per member and for the archive as a whole. Real XML and text
compress 5-20:1 (a repetitive coded table ~15:1); deflate's maximum is ~1032:1, which only
deliberately repetitive data (a zip bomb) reaches."""

RATIO_MIN_BYTES = 1 * MB
"""Members (and archives) smaller than this are not ratio-checked: a tiny part may compress
very well, and cannot expand to much. Above it every member is checked, so many members just
under any threshold cannot add up (the total ratio catches them too)."""

CHUNK = 1 * MB
"""Bytes decompressed at a time while reading or verifying a member."""

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


@dataclass(frozen=True)
class ZipLimits:
    """The limits one kind of archive is held to. ``media_member_bytes``: one recording in a
    .qdpx (a member named like an audio or video file), only ever streamed, never read whole
    (``GuardedZip.stream``)."""

    members: int = MAX_MEMBERS
    total_bytes: int = MAX_TOTAL_BYTES
    member_bytes: int = MAX_MEMBER_BYTES
    ratio: int = MAX_RATIO
    ratio_min_bytes: int = RATIO_MIN_BYTES
    media_member_bytes: int | None = None  # None: as ``member_bytes``


QDPX_LIMITS = ZipLimits(media_member_bytes=MAX_TOTAL_BYTES)
OFFICE_LIMITS = ZipLimits(total_bytes=OFFICE_TOTAL_BYTES, member_bytes=OFFICE_MEMBER_BYTES)

DEFAULT_HINT = "do not open this archive; make the file again from the program that made it"


def unsafe_name(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE_RE.match(norm):
        return "has an absolute path"
    if ".." in norm.split("/"):
        return "climbs out of the archive with '..'"
    if "\x00" in norm:
        return "contains a NUL character"
    return None


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size < 10 * MB else f"{size // MB:,} MB"


class GuardedZip:
    """A zip archive opened for reading after the safety checks.

    ``error`` is the QualkitError subclass raised; ``not_zip`` and ``not_zip_hint`` what a
    file that is not a zip at all is told; ``refused`` and ``hint`` start and end a refusal;
    ``damaged`` and ``damaged_hint`` what a member that cannot be decompressed is told.
    """

    def __init__(self, path: str | Path, *, limits: ZipLimits = QDPX_LIMITS,
                 error: type[QualkitError] = ReaderError,
                 not_zip: str = "not a zip archive", not_zip_hint: str | None = None,
                 refused: str = "unsafe archive refused", hint: str = DEFAULT_HINT,
                 damaged: str = "",
                 damaged_hint: str = "the archive is damaged; make the file again") -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.limits = limits
        self.error = error
        self.refused = refused
        self.hint = hint
        self.damaged = damaged
        self.damaged_hint = damaged_hint
        self.read_so_far = 0
        try:
            self.zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise error("file not found", path=self.where, hint="check the path") from None
        except IsADirectoryError:
            raise error("this is a folder, not a file", path=self.where) from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, IndexError,
                struct.error, UnicodeDecodeError, NotImplementedError):
            raise error(not_zip, path=self.where, hint=not_zip_hint) from None
        except OSError as exc:
            raise error(f"cannot read the file: {exc.strerror or exc}", path=self.where) from None
        try:
            self._check()
        except BaseException:
            self.zip.close()
            raise
        self.members = {info.filename.replace("\\", "/"): info
                        for info in self.zip.infolist() if not info.is_dir()}
        self._folded = {name.casefold(): name for name in self.members}

    def refuse(self, why: str, hint: str | None = None) -> QualkitError:
        """The error refusing this archive for ``why``."""
        return self.error(f"{self.refused}: {why}", path=self.where, hint=hint or self.hint)

    def _check(self) -> None:
        lim = self.limits
        infos = self.zip.infolist()
        if len(infos) > lim.members:
            raise self.refuse(f"it holds {len(infos):,} members (the limit is {lim.members:,})")
        total = packed = 0
        for info in infos:
            name = info.filename
            why = unsafe_name(name)
            if why:
                raise self.refuse(f"member {name!r} {why} (path traversal)")
            if info.flag_bits & 0x1:
                raise self.error(f"member {name!r} is password-protected", path=self.where,
                                 hint="save the file again without a password or encryption")
            if info.compress_type not in _METHODS:
                raise self.refuse(f"member {name!r} uses compression method "
                                  f"{info.compress_type}; qualkit reads only stored or deflated "
                                  "members", hint="save the file again with ordinary (deflate) "
                                                  "compression")
            if info.file_size > self._member_limit(name):
                raise self.refuse(f"member {name!r} is {_mb(info.file_size)} uncompressed, more "
                                  f"than qualkit reads ({_mb(self._member_limit(name))} per "
                                  "member)", hint="split the file into smaller parts")
            total += info.file_size
            packed += info.compress_size
            if total > lim.total_bytes:
                raise self.refuse(f"its members add up to more than {_mb(lim.total_bytes)} "
                                  "uncompressed", hint="split the file into smaller parts")
            if info.file_size > lim.ratio_min_bytes and \
                    info.file_size > lim.ratio * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                raise self.refuse(f"member {name!r} expands {ratio:,}:1 to {_mb(info.file_size)} "
                                  f"(a zip bomb; the limit is {lim.ratio}:1 for members over "
                                  f"{_mb(lim.ratio_min_bytes)})")
        if total > lim.ratio_min_bytes and total > lim.ratio * max(packed, 1):
            raise self.refuse(f"its members expand {total // max(packed, 1):,}:1 to {_mb(total)} "
                              f"in all (a zip bomb; the limit is {lim.ratio}:1)")

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> GuardedZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, name: str) -> str | None:
        """A member's real name, matched exactly or ignoring case (Sources/ vs sources/)."""
        name = name.replace("\\", "/").lstrip("/")
        if name in self.members:
            return name
        return self._folded.get(name.casefold())

    def root_files(self, suffix: str) -> list[str]:
        return sorted(n for n in self.members
                      if "/" not in n and n.casefold().endswith(suffix.casefold()))

    def _member_limit(self, name: str) -> int:
        from .media import is_media

        lim = self.limits
        return (lim.media_member_bytes or lim.member_bytes) if is_media(name) \
            else lim.member_bytes

    def stream(self, name: str) -> Iterator[bytes]:
        """A member's bytes ``CHUNK`` by ``CHUNK``, counted like ``read``: a recording is never
        whole in memory."""
        info = self.members[name]
        limit = min(info.file_size, self._member_limit(name),
                    self.limits.total_bytes - self.read_so_far)
        size = 0
        try:
            with self.zip.open(info) as handle:
                while chunk := handle.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise self.refuse(f"member {name!r} produced more data than its header "
                                          "declares (a zip bomb or a damaged archive)")
                    self.read_so_far += len(chunk)
                    yield chunk
        except QualkitError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError, ValueError) as exc:
            raise self.error(f"{self.damaged}member {name!r} cannot be read ({exc})",
                             path=self.where, hint=self.damaged_hint) from None

    def read(self, name: str) -> bytes:
        """A member's bytes, counted while reading against its header and the limits."""
        return b"".join(self._stream(name, keep=True))

    def verify(self) -> None:
        """Decompress every member once, keeping nothing: true sizes, intact data."""
        for name in self.members:
            self._stream(name, keep=False)

    def _stream(self, name: str, keep: bool) -> list[bytes]:
        info = self.members[name]
        lim = self.limits
        limit = min(info.file_size, lim.member_bytes, lim.total_bytes - self.read_so_far)
        chunks: list[bytes] = []
        size = 0
        try:
            with self.zip.open(info) as handle:
                while True:
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise self.refuse(f"member {name!r} produced more data than its header "
                                          "declares (a zip bomb or a damaged archive)")
                    if keep:
                        chunks.append(chunk)
        except QualkitError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError, ValueError) as exc:
            raise self.error(f"{self.damaged}member {name!r} cannot be read ({exc})",
                             path=self.where,
                             hint=self.damaged_hint) from None
        self.read_so_far += size
        return chunks


def check_zip(path: str | Path, *, what: str, error: type[QualkitError] = ReaderError,
              limits: ZipLimits = OFFICE_LIMITS, hint: str | None = None) -> None:
    """Refuse ``path`` unless it is a zip within ``limits`` whose members all decompress to
    exactly their declared sizes. ``what`` starts every message ("not a valid Word .docx
    file"). Call it before handing the path to a library that opens the zip itself."""
    fix = hint or "open it in the program that made it and save it again"
    with GuardedZip(path, limits=limits, error=error,
                    not_zip=f"{what}: the file is not a zip archive", not_zip_hint=fix,
                    refused=f"{what}: refused", hint=fix, damaged=f"{what}: ",
                    damaged_hint=f"the file is damaged; {fix}") as archive:
        archive.verify()
