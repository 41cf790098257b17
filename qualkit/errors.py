"""Errors a user can fix. Each says where the problem is (file, line, field) and what to do.

The CLI and the app show ``str(error)`` and never a traceback for these.
"""

from __future__ import annotations

from dataclasses import dataclass


class QualkitError(Exception):
    """Base for every user-facing error: a message that names the place and the fix."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.hint = hint

    def location(self) -> str:
        parts = []
        if self.path:
            parts.append(str(self.path) + (f":{self.line}" if self.line else ""))
        elif self.line:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(self.field)
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ReaderError(QualkitError):
    """A transcript or table file that cannot be read as given."""


class StoreError(QualkitError):
    """A project database problem the user can act on (missing project, conflicting import)."""


class ConflictError(StoreError):
    """Someone else changed a record since it was read; nothing was overwritten."""


class CodebookChanged(ConflictError):
    """A write named a code the project's codebook no longer has (renamed or merged while
    the writer worked from the older codebook)."""


@dataclass(frozen=True)
class Problem:
    """One validation finding with its location."""

    message: str
    line: int | None = None
    field: str | None = None

    def render(self, path: str | None = None) -> str:
        where = ":".join(p for p in (path or "", str(self.line) if self.line else "") if p)
        where = f"{where}: " if where else ""
        fld = f"{self.field}: " if self.field else ""
        return f"{where}{fld}{self.message}"


class CodebookError(QualkitError):
    """A codebook with one or more problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem], path: str | None = None) -> None:
        self.problems = problems
        lines = [p.render(path) for p in problems]
        head = f"{len(problems)} problem(s) in codebook" + (f" {path}" if path else "")
        super().__init__(head + ":\n  " + "\n  ".join(lines))
        self.path = path

    def __str__(self) -> str:
        return self.message
