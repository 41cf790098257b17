"""Reading .qdpx archives safely: nothing is extracted to disk and nothing is trusted.

The checks themselves live in ``qualkit.zipguard`` (shared with the .docx and .xlsx readers):
before any member is read the archive is refused if it is not a zip, holds too many members,
names a member with an absolute path or a '..' component (path traversal), declares more than
``MAX_TOTAL_BYTES`` uncompressed, or holds a member (over ``RATIO_MIN_BYTES``) or a whole archive
compressed suspiciously well (a zip bomb). Members are then read in memory in chunks, counting
the bytes actually produced, so a header that lies about sizes is caught while reading too.
Here the refusals are ``ExchangeError``s with REFI-QDA's hints.
"""

from __future__ import annotations

from pathlib import Path

from ..zipguard import (
    CHUNK,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_RATIO,
    MAX_TOTAL_BYTES,
    QDPX_LIMITS,
    RATIO_MIN_BYTES,
    GuardedZip,
    ZipLimits,
    unsafe_name,
)
from .common import ExchangeError

__all__ = ["CHUNK", "MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES",
           "RATIO_MIN_BYTES", "SafeArchive", "unsafe_name"]


class SafeArchive(GuardedZip):
    """A .qdpx opened for reading, after the safety checks (``zipguard.GuardedZip``)."""

    def __init__(self, path: str | Path, limits: ZipLimits = QDPX_LIMITS) -> None:
        super().__init__(
            path, limits=limits, error=ExchangeError,
            not_zip="not a .qdpx project: the file is not a zip archive",
            not_zip_hint="export a REFI-QDA project (.qdpx) from the other program; a codebook "
                         "alone is a .qdc file",
            refused="unsafe archive refused",
            hint="do not open this archive; export the project again from the program that "
                 "made it",
            damaged_hint="the archive is damaged; export the project again")

    def __enter__(self) -> SafeArchive:
        return self
