"""A project is a folder with its database (qualkit.db, or a server's database named by
``--db``) and codebook.yaml.

The codebook lives in the database, one row per version (``Store.codebook_head``), so every
member of a team, and every folder opened on one database, works from the same codebook, and a
codebook change commits with the codings it recodes. codebook.yaml is a view of the newest
version, rewritten whenever it is stale; a hand edit of it is taken as the next version, or
refused (nothing overwritten) when the codebook moved on since the version it was edited from.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .bundled import resolve_codebook
from .codebook import load_codebook, parse_codebook
from .errors import ConflictError, QualkitError, StoreError
from .fileio import atomic_write_text
from .model import Codebook
from .store import Store, sqlite_path

if TYPE_CHECKING:
    from .embed import Embedder

DB_FILE = "qualkit.db"
CODEBOOK_FILE = "codebook.yaml"
STALE_TEMP_SECONDS = 600  # a codebook.yaml temporary file this old was left by a killed write
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


VIEW_HEADER = ("# qualkit codebook version {version}. The project database holds the codebook; "
               "this file\n# shows it. An edit saved here becomes the next version when "
               "qualkit next opens it.\n")
_VIEW_VERSION = re.compile(r"\A# qualkit codebook version (\d+)\.")


def codebook_view(version: int, text: str) -> str:
    """What codebook.yaml holds for a version: a header naming it, then its YAML."""
    return VIEW_HEADER.format(version=version) + text


def view_version(text: str) -> int | None:
    """The version a codebook.yaml was written from, or None (written by hand)."""
    found = _VIEW_VERSION.match(text)
    return int(found.group(1)) if found else None


@dataclass
class Project:
    root: Path
    store: Store
    _parsed: dict[tuple[str, bool], Codebook] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # the store refuses a write naming a code the codebook no longer has
        self.store.codebook_ids = _code_ids

    @property
    def codebook_path(self) -> Path:
        return self.root / CODEBOOK_FILE

    def codebook(self, check_patterns: bool = True) -> Codebook:
        """The project's codebook; ``check_patterns=False`` to read it for display only (the
        spaCy pattern check was done when it was set, and imports spaCy and torch)."""
        state = self.codebook_state()
        if state is None:
            raise QualkitError("this project has no codebook yet", path=str(self.root),
                               hint="run `qualkit code --codebook FILE` or "
                                    "`qualkit init --codebook FILE`")
        version, text = state
        key = (text, check_patterns)
        if key not in self._parsed:
            self._parsed.clear()
            self._parsed[key] = parse_codebook(text, str(self.codebook_path), check_patterns)
        return self._parsed[key]

    def codebook_if_any(self, check_patterns: bool = False) -> Codebook | None:
        """The codebook for display and counting, or None while the project has none."""
        return self.codebook(check_patterns) if self.codebook_state() is not None else None

    def codebook_version(self) -> int | None:
        state = self.codebook_state()
        return None if state is None else state[0]

    def codebook_state(self) -> tuple[int, str] | None:
        """The newest codebook version and its YAML, with codebook.yaml brought in line: a
        stale view is rewritten; a hand edit becomes the next version (validated first), or is
        refused if the codebook moved on since the version it was edited from; a project from
        before the codebook lived in the database gets its file as version 1."""
        head = self.store.codebook_head()
        try:
            on_disk: str | None = self.codebook_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            on_disk = None
        except (OSError, UnicodeDecodeError):
            on_disk = None  # unreadable: the database's version stands and is written back
        if on_disk is not None and (head is None or on_disk != codebook_view(*head)):
            base = view_version(on_disk)
            if head is not None and base is not None and base < head[0] \
                    and on_disk == codebook_view(base, self.store.codebook_text(base) or ""):
                pass  # a view of an older version (another member's change): rewrite it
            elif head is not None and base is not None and base != head[0]:
                raise ConflictError(
                    f"codebook.yaml was edited by hand from codebook version {base}, but the "
                    f"project's codebook is now version {head[0]}; nothing was overwritten",
                    path=str(self.codebook_path),
                    hint="move your file aside (qualkit then writes the current version to "
                         "codebook.yaml) and make your edit again on it")
            else:
                text = _body(on_disk)
                parse_codebook(text, str(self.codebook_path), check_patterns=False)
                note = ("codebook.yaml, from before the codebook lived in the database"
                        if head is None else "edited by hand in codebook.yaml")
                version = self.store.save_codebook(text, default_actor(), note,
                                                   None if head is None else head[0])
                head = (version, text)
        if head is not None and on_disk != codebook_view(*head):
            self._write_view(*head)
        return head

    def _write_view(self, version: int, text: str) -> None:
        """Best effort: the database holds the codebook; a folder that cannot be written keeps
        a stale view, rewritten next time."""
        try:
            atomic_write_text(self.codebook_path, codebook_view(version, text))
        except OSError:
            pass
        # a write killed before its rename leaves its temporary file: clear old ones
        for stale in self.root.glob(f".{CODEBOOK_FILE}.*.tmp"):
            try:
                if time.time() - stale.stat().st_mtime > STALE_TEMP_SECONDS:
                    stale.unlink()
            except OSError:
                pass

    def set_codebook(self, source: str | Path, actor: str) -> Codebook:
        """Validate a codebook file (or a bundled one by name) and make it the project's next
        codebook version. A project nobody chose a model for then embeds with the one for the
        codebook's language (``embeddings``)."""
        source = resolve_codebook(source)
        book = load_codebook(source)
        src = Path(source).resolve()
        text = _body(src.read_text(encoding="utf-8"))
        if src == self.codebook_path.resolve():
            self.codebook_state()  # the project's own file: taken in as any hand edit
            return book
        head = self.store.codebook_head()
        if head is None or head[1] != text:
            version = self.store.save_codebook(text, actor, f"from {src.name}",
                                               None if head is None else head[0])
            self._write_view(version, text)
        self.store.set_meta("codebook", f"{book.name} {book.version} (from {src})", actor)
        return book

    @property
    def embeddings(self) -> str:
        """The project's embedding model (``embed.EMBEDDINGS``): the one chosen, else the one
        for its codebook's language (``embed.embeddings_for``: English MiniLM for English).
        Not stored when the language decides, so a codebook whose language changes (set in
        the app, or a study that swaps codebooks) brings its model along."""
        from .embed import EMBEDDINGS_META, embeddings_for

        return self.store.get_meta(EMBEDDINGS_META) or embeddings_for(self.language)

    @property
    def embeddings_chosen(self) -> bool:
        """Whether someone chose the model (else the codebook's language decides it)."""
        from .embed import EMBEDDINGS_META

        return bool(self.store.get_meta(EMBEDDINGS_META))

    @property
    def language(self) -> str:
        """The language of the codebook's keywords (English without a codebook)."""
        try:
            book = self.codebook_if_any()
        except QualkitError:
            book = None  # a broken hand edit of codebook.yaml is reported where it is read
        return book.language if book is not None else "en"

    def set_embeddings(self, key: str, actor: str) -> None:
        """Choose the embedding model, kept whatever the codebook's language; the next coding
        run or retraining embeds with it (the vectors of each model are cached apart, so
        switching back costs nothing)."""
        from .embed import EMBEDDINGS_META, embedding_model

        embedding_model(key)  # an unknown name is refused before anything is written
        if key != self.store.get_meta(EMBEDDINGS_META):
            self.store.set_meta(EMBEDDINGS_META, key, actor)

    def embedder(self) -> Embedder:
        """An embedder with the project's model, caching vectors in the project's store."""
        from .embed import Embedder

        return Embedder(self.store, embeddings=self.embeddings)

    def actor(self, named: str | None = None) -> str:
        """Who a command acts as: the name given, else $QUALKIT_CODER or the login name; on a
        database server always the database login (naming another person is refused)."""
        return self.store.acting_as(named, default_actor())

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
    own = sqlite_path(db_url) if db_url else None
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


def _code_ids(text: str) -> set[str]:
    return set(parse_codebook(text, check_patterns=False).ids())


def _body(text: str) -> str:
    """A codebook's YAML without the view header qualkit writes above it."""
    if view_version(text) is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[VIEW_HEADER.count("\n"):])


def sqlite_url(root: Path) -> str:
    return f"sqlite:///{(root / DB_FILE).resolve()}"


def init_project(root: str | Path, codebook: str | Path | None = None,
                 actor: str | None = None, db_url: str | None = None,
                 embeddings: str | None = None) -> Project:
    """Create (or reopen) a project folder, optionally with a codebook and an embedding model
    (``embed.EMBEDDINGS``; unless named, as ``Project.set_codebook`` leaves it)."""
    from .embed import embedding_model

    path = Path(root)
    if path.exists() and not path.is_dir():
        raise StoreError("exists and is not a folder", path=str(path),
                         hint="choose a folder name for the project")
    if embeddings is not None:
        embedding_model(embeddings)  # refused before anything is created
    if codebook is not None:
        codebook = resolve_codebook(codebook)
        load_codebook(codebook)  # validate before anything is created
    made = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        project = Project(path, Store(db_url or sqlite_url(path)))
    except QualkitError:
        if made:  # a failed init (an unreachable server, say) leaves no folder behind
            shutil.rmtree(path, ignore_errors=True)
        raise
    if codebook is not None:
        project.set_codebook(codebook, project.actor(actor))
    if embeddings is not None:
        project.set_embeddings(embeddings, project.actor(actor))
    return project


def open_project(root: str | Path | None = None, db_url: str | None = None) -> Project:
    """Open the project in ``root`` (default: the current folder)."""
    path = Path(root) if root is not None else Path.cwd()
    if db_url is None and not (path / DB_FILE).exists():
        raise StoreError("no qualkit project here", path=str(path.resolve()),
                         hint="run `qualkit init` in this folder first, or pass --project PATH")
    return Project(path, Store(db_url or sqlite_url(path)))
