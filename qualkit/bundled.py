"""What qualkit ships beside its code: the codebooks and the sample study.

A wheel holds them in ``qualkit/_data/`` (pyproject.toml maps the repository's ``codebooks/``
and ``sample_transcripts/`` there); a source checkout reads them where they are, so an
editable install and a built wheel find the same files.
"""

from __future__ import annotations

from pathlib import Path

from .errors import QualkitError

_PACKAGE = Path(__file__).resolve().parent
_SOURCE = _PACKAGE.parent


def _folder(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _SOURCE / name):
        if candidate.is_dir():
            return candidate
    raise QualkitError(f"qualkit's bundled {name} are missing",
                       hint="reinstall qualkit (pip install --force-reinstall qualkit)")


def codebooks() -> dict[str, Path]:
    """The shipped codebooks by name (file name without .yaml)."""
    return {p.stem: p for p in sorted(_folder("codebooks").glob("*.yaml"))}


def sample_transcripts() -> Path:
    """The folder of the sample study's interviews."""
    return _folder("sample_transcripts")


def named(value: str | Path) -> Path | None:
    """The shipped codebook a bare name (``keyworker``: no folder, no suffix) stands for, when
    no file of that name is here: a local file always wins, so it is never shadowed."""
    path = Path(value)
    if path.is_file() or len(path.parts) != 1 or path.suffix:
        return None
    return codebooks().get(str(value))


def resolve_codebook(value: str | Path) -> Path:
    """A codebook file, or the name of a shipped one (``named``); otherwise a clear error."""
    path = Path(value)
    found = named(value)
    if found is not None or path.is_file():
        return found or path
    names = ", ".join(codebooks())
    if len(path.parts) == 1 and not path.suffix:
        raise QualkitError(f"no codebook file or bundled codebook called {value!r}",
                           field="--codebook", hint=f"give a YAML file or one of: {names}")
    raise QualkitError("file not found" if not path.exists() else "not a file", path=str(value),
                       hint=f"give a YAML file, or a bundled codebook by name: {names}")
