"""A project is a folder: the database (qualkit.db) and the project's own codebook.yaml.

The codebook is copied into the project so that editing it (in the app) never changes a shared
file such as the bundled keyworker codebook.
"""

from __future__ import annotations

import getpass
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .bundled import resolve_codebook
from .codebook import load_codebook
from .errors import QualkitError, StoreError
from .model import Codebook
from .store import Store

DB_FILE = "qualkit.db"
CODEBOOK_FILE = "codebook.yaml"
DB_COMPANIONS = ("", "-wal", "-shm", "-journal")  # the database file and SQLite's own beside it
# Folders (inside the project folder) qualkit keeps for the project; no output goes in them.
# None yet: everything lives in the database and codebook.yaml.
PROJECT_FOLDERS: tuple[str, ...] = ()


def default_actor() -> str:
    """Who is acting when no coder is named: $QUALKIT_CODER, else the login name."""
    try:
        return os.environ.get("QUALKIT_CODER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class Project:
    root: Path
    store: Store

    @property
    def codebook_path(self) -> Path:
        return self.root / CODEBOOK_FILE

    def codebook(self, check_patterns: bool = True) -> Codebook:
        """The project's codebook; ``check_patterns=False`` to read it for display only (the
        spaCy pattern check was done when it was set, and imports spaCy and torch)."""
        if not self.codebook_path.exists():
            raise QualkitError("this project has no codebook yet", path=str(self.root),
                               hint="run `qualkit code --codebook FILE` or "
                                    "`qualkit init --codebook FILE`")
        return load_codebook(self.codebook_path, check_patterns)

    def codebook_if_any(self, check_patterns: bool = False) -> Codebook | None:
        """The codebook for display and counting, or None while the project has none."""
        return self.codebook(check_patterns) if self.codebook_path.exists() else None

    def set_codebook(self, source: str | Path, actor: str) -> Codebook:
        """Validate a codebook file (or a bundled one by name) and make it the project's."""
        source = resolve_codebook(source)
        book = load_codebook(source)
        src = Path(source).resolve()
        if src != self.codebook_path.resolve():
            tmp = self.codebook_path.with_suffix(".yaml.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, self.codebook_path)
        self.store.set_meta("codebook", f"{book.name} {book.version} (from {src})", actor)
        return book

    def protected_files(self) -> list[Path]:
        """The project's own files, which no output may replace (see ``protected_files``)."""
        return protected_files(self.root, self.store.url)

    def check_output(self, path: str | Path) -> Path:
        """Refuse, before any work, an output file that would overwrite this project
        (``check_output``)."""
        return check_output(path, self.root, self.store.url)

    def close(self) -> None:
        self.store.close()


def protected_files(root: str | Path, db_url: str | None = None) -> list[Path]:
    """A project's own files, which no output may replace: the database (qualkit.db, or the
    SQLite file a --db URL names) with its -wal, -shm and -journal companions, and the codebook
    (with the temporary file it is copied through)."""
    root = Path(root)
    databases = [root / DB_FILE]
    own = _sqlite_file(db_url) if db_url else None
    if own is not None:
        databases.append(own)
    files = [Path(f"{db}{end}") for db in databases for end in DB_COMPANIONS]
    book = root / CODEBOOK_FILE
    return files + [book, book.with_suffix(".yaml.tmp")]


def check_output(path: str | Path, root: str | Path, db_url: str | None = None) -> Path:
    """The one check every command and page that writes an output file makes first: refuse a
    file that is one of the project's own files (``protected_files``; links and '..' followed,
    and the same file under another name) or lies inside a folder qualkit keeps for the project
    (``PROJECT_FOLDERS``), with one line naming it."""
    target = _real(Path(path))
    for own in protected_files(root, db_url):
        real = _real(own)
        if target == real or (target.exists() and real.exists()
                              and os.path.samefile(target, real)):
            raise QualkitError(f"{Path(path)} is the project's own file {own.name}: writing "
                               "there would destroy the project",
                               hint="choose another name for the output file")
    for folder in PROJECT_FOLDERS:
        if target.is_relative_to(_real(Path(root) / folder)):
            raise QualkitError(f"{Path(path)} is inside the project's own folder {folder}",
                               hint="choose another name for the output file")
    return Path(path)


def _real(path: Path) -> Path:
    """The absolute path with links and '..' resolved (the file itself need not exist)."""
    return Path(os.path.realpath(path))


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None (another database, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(url).database
    except ArgumentError:
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_url(root: Path) -> str:
    return f"sqlite:///{(root / DB_FILE).resolve()}"


def init_project(root: str | Path, codebook: str | Path | None = None,
                 actor: str | None = None, db_url: str | None = None) -> Project:
    """Create (or reopen) a project folder, optionally with a codebook."""
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise StoreError("exists and is not a folder", path=str(path),
                         hint="choose a folder name for the project")
    if codebook is not None:
        codebook = resolve_codebook(codebook)
        load_codebook(codebook)  # validate before anything is created
    path.mkdir(parents=True, exist_ok=True)
    project = Project(path, Store(db_url or sqlite_url(path)))
    if codebook is not None:
        project.set_codebook(codebook, actor or default_actor())
    return project


def open_project(root: str | Path | None = None, db_url: str | None = None) -> Project:
    """Open the project in ``root`` (default: the current folder)."""
    path = Path(root) if root is not None else Path.cwd()
    if db_url is None and not (path / DB_FILE).exists():
        raise StoreError("no qualkit project here", path=str(path.resolve()),
                         hint="run `qualkit init` in this folder first, or pass --project PATH")
    return Project(path, Store(db_url or sqlite_url(path)))
