"""Atomic file writes: a crash or a full disk never leaves a half-written file behind.

And uploads saved under names qualkit chooses (``save_upload``): a client's file name is never
a path."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    return atomic_write_chunks(path, (data,))


def atomic_write_chunks(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> Path:
    """Write the pieces to a temporary file beside ``path`` (one piece in memory at a time, so
    a recording is never held whole) and rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); a report or export is meant to be shared, so
        # it gets the mode an ordinary write would give (an existing file keeps its own).
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


# A client's file name never chooses where an upload is written: at most a plain extension
# (a dot and up to ten letters or digits) and, for transcripts, whose name is the file's, a
# cleaned base name inside a fresh folder qualkit made.
_SUFFIX_RE = re.compile(r"\.[A-Za-z0-9]{1,10}")
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def upload_suffix(name: str) -> str:
    """The plain extension of a client-supplied file name, lower-cased, or ''."""
    base = re.split(r"[/\\]", str(name))[-1]
    suffix = "." + base.rsplit(".", 1)[-1] if "." in base else ""
    return suffix.lower() if _SUFFIX_RE.fullmatch(suffix) else ""


def upload_stem(name: str) -> str:
    """The base name of a client-supplied file name without folders, extension, control or
    reserved characters, or leading dots ('upload' if nothing is left)."""
    base = re.split(r"[/\\]", str(name))[-1]
    suffix = upload_suffix(base)
    stem = base[: len(base) - len(suffix)] if suffix else base
    stem = _UNSAFE_CHARS.sub("_", stem).strip(" .")[:200]
    return stem or "upload"


def save_upload(folder: str | os.PathLike[str], name: str, data: bytes,
                keep_name: bool = False) -> Path:
    """Write an uploaded file's bytes under ``folder`` (a temporary folder) and return the path.

    The file is new and named by qualkit with only the plain extension of ``name`` kept; with
    ``keep_name`` (a transcript takes its name from its file) the cleaned base name is kept too,
    in a fresh sub-folder, so two uploads with one name never meet."""
    parent = Path(folder)
    suffix = upload_suffix(name)
    if keep_name:
        sub = Path(tempfile.mkdtemp(prefix="upload-", dir=parent))
        path = sub / (upload_stem(name) + suffix)
        with path.open("xb") as handle:
            handle.write(data)
        return path
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Path(tmp)
