"""Reading .qdpx archives safely: nothing is extracted to disk and nothing is trusted.

Before any member is read the archive is refused if it is not a zip, holds too many members,
names a member with an absolute path or a '..' component (path traversal), declares more than
MAX_TOTAL_BYTES uncompressed, or holds a large member compressed suspiciously well (a zip bomb).
Members are then read in memory in chunks, counting the bytes actually produced, so a header that
lies about sizes is caught while reading too.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from .common import ExchangeError

MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 2 * 1024 ** 3        # all members together, uncompressed
MAX_MEMBER_BYTES = 512 * 1024 ** 2     # one member read into memory (the .qde or one text)
MAX_RATIO = 100                        # uncompressed : compressed ...
RATIO_MIN_BYTES = 5 * 1024 ** 2        # ... for members larger than this
CHUNK = 1024 * 1024

_DRIVE_RE = re.compile(r"^[A-Za-z]:")


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


class SafeArchive:
    """A .qdpx opened for reading, after the safety checks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.read_so_far = 0
        try:
            self.zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise ExchangeError("file not found", path=self.where, hint="check the path") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
            raise ExchangeError("not a .qdpx project: the file is not a zip archive",
                                path=self.where,
                                hint="export a REFI-QDA project (.qdpx) from the other program; "
                                     "a codebook alone is a .qdc file") from None
        except OSError as exc:
            raise ExchangeError(f"cannot read the file: {exc.strerror}", path=self.where) from None
        try:
            self._check()
        except BaseException:
            self.zip.close()
            raise
        self.members = {info.filename.replace("\\", "/"): info
                        for info in self.zip.infolist() if not info.is_dir()}
        self._folded = {name.casefold(): name for name in self.members}

    def _refuse(self, why: str, hint: str = "do not open this archive; export the project "
                                             "again from the program that made it") -> None:
        raise ExchangeError(f"unsafe archive refused: {why}", path=self.where, hint=hint)

    def _check(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self._refuse(f"it holds {len(infos)} members (the limit is {MAX_MEMBERS})")
        total = 0
        for info in infos:
            why = unsafe_name(info.filename)
            if why:
                self._refuse(f"member {info.filename!r} {why} (path traversal)")
            if info.flag_bits & 0x1:
                raise ExchangeError(f"member {info.filename!r} is password-protected",
                                    path=self.where,
                                    hint="export the project again without encryption")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                self._refuse(f"its members add up to more than {MAX_TOTAL_BYTES // 1024 ** 3} GB "
                             "uncompressed")
            if info.file_size > RATIO_MIN_BYTES and \
                    info.file_size > MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                self._refuse(f"member {info.filename!r} expands {ratio}:1 to "
                             f"{info.file_size // 1024 ** 2} MB (a zip bomb; the limit is "
                             f"{MAX_RATIO}:1 for members over {RATIO_MIN_BYTES // 1024 ** 2} MB)")

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> SafeArchive:
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

    def read(self, name: str) -> bytes:
        """A member's bytes, counted while reading against its header and the limits."""
        info = self.members[name]
        limit = min(info.file_size, MAX_MEMBER_BYTES, MAX_TOTAL_BYTES - self.read_so_far)
        if info.file_size > MAX_MEMBER_BYTES:
            self._refuse(f"member {name!r} is {info.file_size // 1024 ** 2} MB, more than "
                         f"qualkit reads into memory ({MAX_MEMBER_BYTES // 1024 ** 2} MB)",
                         hint="split the project or the source into smaller parts")
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
                        self._refuse(f"member {name!r} produced more data than its header "
                                     "declares (a zip bomb or a damaged archive)")
                    chunks.append(chunk)
        except ExchangeError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError) as exc:
            raise ExchangeError(f"member {name!r} cannot be read ({exc})", path=self.where,
                                hint="the archive is damaged; export the project again") from None
        self.read_so_far += size
        return b"".join(chunks)

