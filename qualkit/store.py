"""The project database: the only module that talks SQL.

SQLAlchemy 2 over a SQLite file by default (WAL, foreign keys on); any SQLAlchemy URL such as
``postgresql+psycopg://...`` works too. Every change runs in one transaction and writes an audit
event (who, what, when) in the same transaction, so the log and the data never disagree.

Database failures (a locked file, a lost connection, a refused statement) leave here as one
``StoreError`` line saying what happened and what to do, never as a SQLAlchemy traceback, and
never with the password of a database URL in it (``mask_url``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeEngine

from .errors import CodebookChanged, ConflictError, QualkitError, StoreError
from .model import Coding, ImportedDocument, Segment, Suggestion, Transcript, utcnow

SCHEMA_VERSION = "7"
# 2: suggestions carry a calibrated confidence (projects made while suggestions also stored
#    their rank on a turn keep an unused turn_rank column: which ones a turn shows is worked out
#    from their scores, review.first_per_turn)
# 3: the database refuses a coder's second decision on a suggestion and a second identical hand
#    coding (UNIQUE_INDEXES); an older project's duplicates are resolved when it is opened
# 4: the codebook lives in the database (codebook_versions). From here on the schema is the
#    Alembic revision stamped in the database (qualkit/migrations, run by qualkit.migrate);
#    meta's schema_version is kept for people reading the database.
# 5: coded ranges (what a coder has worked through), and coding ids never reused (SQLite)
# 6: memos on codes and themes (code_memos, one per coder and code) and the project journal
# 7: pseudonyms (identifying strings and their replacements) and recordings (media, in chunks)
# Columns added since version 1, added in place to an older project (nullable, so no data moves).
ADDED_COLUMNS: dict[str, dict[str, TypeEngine[Any]]] = {
    "codings": {"confidence": Float()}}


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TranscriptRow(Base):
    __tablename__ = "transcripts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(20), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    pages: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)  # page start offsets
    layout: Mapped[str | None] = mapped_column(String(20), nullable=True)  # transcript/document
    segments: Mapped[list[SegmentRow]] = relationship(
        back_populates="transcript", cascade="all, delete-orphan", order_by="SegmentRow.idx")


class SegmentRow(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("transcript_id", "idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(50), default="participant")
    timestamp: Mapped[str | None] = mapped_column(String(20), nullable=True)
    transcript: Mapped[TranscriptRow] = relationship(back_populates="segments")


# The database, not a check before the insert, guarantees one decision per coder and suggestion
# and one hand coding per coder, code and passage: two tabs racing each other cannot both win.
# Partial unique indexes (SQLite and PostgreSQL): machine suggestions and imported codings are
# not covered. name -> (columns, WHERE clause, the one-line message when it refuses a change)
UNIQUE_INDEXES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "uq_codings_decision": (("suggestion_id", "coder"), "suggestion_id IS NOT NULL",
                            "you have already decided on this suggestion"),
    "uq_codings_hand": (("transcript_id", "coder", "code_id", "start_char", "end_char"),
                        "suggestion_id IS NULL AND source = 'manual'",
                        "you have already coded this passage with that code"),
}


def _unique_index(name: str) -> Index:
    from sqlalchemy import text

    columns, where, _ = UNIQUE_INDEXES[name]
    return Index(name, *columns, unique=True, sqlite_where=text(where),
                 postgresql_where=text(where))


class CodingRow(Base):
    __tablename__ = "codings"
    __table_args__ = (Index("ix_codings_transcript_status", "transcript_id", "status"),
                      Index("ix_codings_code", "code_id"),
                      *(_unique_index(name) for name in UNIQUE_INDEXES),
                      {"sqlite_autoincrement": True})  # an id is never used twice
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    segment_idx: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code_id: Mapped[str] = mapped_column(String(200))
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    coder: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(50), default="manual")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    rationale: Mapped[str] = mapped_column(Text, default="")
    memo: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # A person's decision on a machine suggestion points at it; the suggestion row itself stays,
    # so a second coder can decide on it independently (blind double coding).
    suggestion_id: Mapped[int | None] = mapped_column(
        ForeignKey("codings.id", ondelete="SET NULL"), nullable=True, index=True)
    transcript: Mapped[TranscriptRow] = relationship()
    __mapper_args__ = {"version_id_col": version}


class CodedRangeRow(Base):
    """Turns a coder marked as fully coded (a whole transcript, or a range of its turns):
    agreement counts them there even where they applied nothing."""

    __tablename__ = "coded_ranges"
    __table_args__ = (Index("ix_coded_ranges_transcript", "transcript_id", "coder"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    coder: Mapped[str] = mapped_column(String(200))
    first_segment: Mapped[int] = mapped_column(Integer)
    last_segment: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MemoRow(Base):
    """A coder's memo on a whole transcript."""

    __tablename__ = "memos"
    __table_args__ = (UniqueConstraint("transcript_id", "coder"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    coder: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmbeddingRow(Base):
    """Sentence embeddings by model and text hash: a second run recomputes nothing."""

    __tablename__ = "embeddings"
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class TopicRunRow(Base):
    """A stored topic-model run, so the Topics page opens instantly after the first run."""

    __tablename__ = "topic_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class CodebookVersionRow(Base):
    """One version of the project's codebook (its YAML text); the newest is the codebook.
    The version is the primary key, so two people saving a change on the same version cannot
    both win."""

    __tablename__ = "codebook_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CodeMemoRow(Base):
    """A coder's memo on a code or theme (by code id): what it means to them, how it grew."""

    __tablename__ = "code_memos"
    __table_args__ = (UniqueConstraint("code_id", "coder"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_id: Mapped[str] = mapped_column(String(200), index=True)
    coder: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JournalRow(Base):
    """One entry of the project journal (the researcher's reflexive log); entries are only
    ever added."""

    __tablename__ = "journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class PseudonymRow(Base):
    """An identifying string and its replacement in pseudonymised exports (the transcript
    text itself never changes)."""

    __tablename__ = "pseudonyms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    original: Mapped[str] = mapped_column(String(300), unique=True)
    replacement: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))  # use / proposed / ignore
    origin: Mapped[str] = mapped_column(String(50))  # speaker, attribute, added, proposed, ...
    actor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MediaRow(Base):
    """A transcript's recording (audio or video); its bytes are in ``media_chunks``."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"),
                                               unique=True)
    name: Mapped[str] = mapped_column(String(300))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))


class MediaChunkRow(Base):
    """One piece of a recording, so no reader or writer holds a whole file in memory."""

    __tablename__ = "media_chunks"
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"),
                                          primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass
class MediaInfo:
    """A stored recording, without its bytes (``chunks`` is -1 where it was not counted)."""

    id: int
    transcript: str
    name: str
    mime: str
    size: int
    sha256: str
    added_at: datetime
    actor: str
    chunks: int = -1


def _media_info(row: MediaRow, transcript: str, chunks: int) -> MediaInfo:
    return MediaInfo(id=row.id, transcript=transcript, name=row.name, mime=row.mime,
                     size=row.size, sha256=row.sha256, added_at=row.added_at, actor=row.actor,
                     chunks=chunks)


@dataclass
class TranscriptInfo:
    id: int
    name: str
    attributes: dict[str, Any]
    segments: int
    format: str
    source: str
    layout: str = ""  # "transcript", "document", or "" when the reader did not choose


@dataclass
class ImportOutcome:
    name: str
    status: str  # "added" or "unchanged"
    codings: int = 0
    note: str = ""


@dataclass
class Event:
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


BUSY_TIMEOUT = 10.0  # seconds a write waits for another writer before giving up
# scheme://user:PASSWORD@ in any text: the password part of a database URL
# user:PASSWORD@host, up to the last @ before the host (a password may hold an unescaped @)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s/]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)[^&\s]*", re.IGNORECASE)
# Errors from the database (or its driver, or the connection pool): translated by ``store_error``.
DATABASE_ERRORS = (DBAPIError, DisconnectionError, PoolTimeoutError)


def mask_url(text: str, url: str | None = None) -> str:
    """``text`` with the password of every database URL in it shown as ***, and ``url``'s own
    password (as written or decoded) masked wherever it appears on its own too."""
    out = _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))
    if url:
        from urllib.parse import unquote

        secrets = [m.group(0)[len(m.group(1)):-1] for m in _URL_PASSWORD.finditer(url)]
        secrets += [m.group(0)[len(m.group(1)):] for m in _QUERY_PASSWORD.finditer(url)]
        for raw in secrets:
            # an unescaped @ in a password makes drivers read its tail as the host
            for secret in sorted({raw, unquote(raw), *raw.split("@")}, key=len, reverse=True):
                if len(secret) >= 4:  # a shorter one is masked inside URLs only
                    out = out.replace(secret, "***")
    return out


def _detail(exc: BaseException, url: str | None) -> str:
    """The driver's own first line (not SQLAlchemy's SQL and parameters), password masked."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return mask_url(lines[0].strip() if lines else type(exc).__name__, url)


def unique_conflict(exc: BaseException) -> ConflictError | None:
    """The ``ConflictError`` for a change one of ``UNIQUE_INDEXES`` refused, else None. SQLite
    names the index's columns, PostgreSQL (and others) the index itself."""
    if not isinstance(exc, IntegrityError):
        return None
    detail = str(getattr(exc, "orig", None) or exc)
    if "codebook_versions" in detail:  # the version primary key: two changes at once
        return ConflictError("the codebook was changed by someone else at the same moment; "
                             "nothing was changed", hint="reload and make the change again")
    for name, (columns, _, message) in UNIQUE_INDEXES.items():
        sqlite_says = "UNIQUE constraint failed: " + ", ".join(f"codings.{c}" for c in columns)
        if name in detail or sqlite_says in detail:
            return ConflictError(f"{message} (in another tab or window?); nothing was changed",
                                 hint="reload to see it; undo it to change it")
    return None


def store_error(exc: BaseException, url: str | None = None) -> StoreError:
    """One line for a database failure: what happened, and what to do about it."""
    conflict = unique_conflict(exc)
    if conflict is not None:
        return conflict
    detail = _detail(exc, url)
    lowered = detail.lower()
    where = mask_url(url, url) if url else None
    if "locked" in lowered or "busy" in lowered or isinstance(exc, PoolTimeoutError):
        return StoreError(f"the project database is busy ({detail}); nothing was changed",
                          path=where, hint="another program (the app, or another qualkit "
                                           "command) is writing to it: try again in a moment")
    if isinstance(exc, DisconnectionError) or getattr(exc, "connection_invalidated", False) \
            or any(w in lowered for w in ("connection", "connect to", "server closed",
                                          "unable to open", "disk i/o")):
        return StoreError(f"cannot reach the project database ({detail}); nothing was "
                          "changed", path=where, hint="check the database (file or server) is "
                                                      "there and reachable, then try again")
    if "permission denied" in lowered or "row-level security" in lowered:
        return StoreError(f"your database login may not make this change ({detail}); nothing "
                          "was changed", path=where,
                          hint="a coder changes only their own decisions, memos and hand "
                               "codings; codebook changes, imports and the embedding model "
                               "need a lead (the project's owner runs `qualkit team add NAME "
                               "--lead`)")
    if isinstance(exc, IntegrityError):
        return StoreError(f"the database refused the change ({detail}); nothing was changed",
                          path=where, hint="reload and try again")
    return StoreError(f"database problem: {detail}; nothing was changed", path=where,
                      hint="try again; if it persists, check the project database")


def _sqlite_pragmas(busy_timeout: float) -> Callable[[Any, Any], None]:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={max(0, int(busy_timeout * 1000))}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return apply


def make_engine(url: str, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"cannot open database {mask_url(url, url)!r}: {mask_url(first, url)}",
                         hint="give a SQLAlchemy URL such as sqlite:///project/qualkit.db"
                         ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))
    return engine


class Store:
    """Typed operations on one project database."""

    def __init__(self, url: str, busy_timeout: float = BUSY_TIMEOUT,
                 allow_server_upgrade: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout)
        self.backup: str | None = None  # the copy made before this open upgraded the schema
        try:
            self._open_schema(allow_server_upgrade)
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
            self.login = self._login()
        except QualkitError:
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open the project database ({_detail(exc, url)})",
                             path=mask_url(url, url), hint=store_error(exc, url).hint) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _login(self) -> str | None:
        """The database role on a server (PostgreSQL): every decision and audit event is
        recorded under it, whatever name a command was given. None for a SQLite file."""
        if self.dialect != "postgresql":
            return None
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return str(conn.execute(text("SELECT current_user")).scalar())

    def acting_as(self, named: str | None, default: str) -> str:
        """Who a change is recorded under: on a server, the login (naming anyone else is
        refused: a coder cannot act as another); on a SQLite file, the name given."""
        if self.login is None:
            return named or default
        if named and named != self.login:
            raise ConflictError(
                f"you are connected to the project database as {self.login!r}: qualkit records "
                f"your work under that login, not as {named!r}; nothing was changed",
                hint=f"leave the coder name out, or connect as {named!r} with their own login")
        return self.login

    def _open_schema(self, allow_server_upgrade: bool) -> None:
        """Bring the schema to this release's head (``qualkit.migrate``): create it in an
        empty database; upgrade an older SQLite project after a backup; refuse a newer one."""
        from . import migrate

        with self.engine.connect() as conn:
            found = migrate.state(conn)
            legacy_version = self._legacy_version(conn) if found.legacy else None
        head = migrate.head()
        if found.revision == head:
            return  # the usual case: no write lock taken
        self._refuse_newer(found.revision, legacy_version)
        if not found.empty:
            if self.dialect != "sqlite" and not allow_server_upgrade:
                raise StoreError(
                    f"this project's database schema ({found.revision or 'version 3'}) is older "
                    f"than this release's ({head}); it was not changed",
                    path=mask_url(self.url, self.url),
                    hint="the project's owner runs `qualkit upgrade --db URL` once (it makes "
                         "a backup with pg_dump first)")
            database = sqlite_path(self.url)
            if database is not None:
                self.backup = str(migrate.backup_sqlite(database, found.revision))
        try:
            with self.engine.begin() as conn:
                self._lock_for_upgrade(conn)
                now = migrate.state(conn)  # another process may have done it meanwhile
                if now.revision == head:
                    return
                if now.legacy:
                    self._upgrade_legacy(conn)
                    migrate.stamp(conn, migrate.BASELINE)
                migrate.upgrade(conn)
                self._set_schema_meta(conn, now, head)
                self._check_foreign_keys(conn)
        except DATABASE_ERRORS as exc:  # outside transaction(): translated here
            raise store_error(exc, self.url) from None
        finally:
            if self.dialect == "sqlite":
                self.engine.dispose()  # the upgrade's connection had foreign keys off

    def _lock_for_upgrade(self, conn: Any) -> None:
        """One upgrade at a time: a second process opening the project waits, then finds it
        done."""
        from sqlalchemy import text

        if self.dialect == "sqlite":
            # SQLite's procedure for rebuilding a table: foreign keys off (so dropping the old
            # table cascades nowhere; checked before commit), and, since pysqlite would run DDL
            # outside any transaction, the write lock taken first, so the whole upgrade is one
            # transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7275736500)"))

    def _check_foreign_keys(self, conn: Any) -> None:
        if self.dialect != "sqlite":
            return  # a server checks every statement
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(f"the upgrade would leave {len(broken)} broken references "
                             f"(first: {tuple(broken[0])}); the project was not changed",
                             path=mask_url(self.url, self.url),
                             hint="keep this release's predecessor for this project and report "
                                  "it; the backup beside the project is intact")

    def _set_schema_meta(self, conn: Any, was: Any, head: str) -> None:
        from sqlalchemy import delete, insert

        conn.execute(delete(MetaRow).where(MetaRow.key == "schema_version"))
        conn.execute(insert(MetaRow).values(key="schema_version", value=SCHEMA_VERSION))
        if not was.empty:
            conn.execute(insert(EventRow).values(
                at=utcnow(), actor="qualkit", action="upgrade", entity="schema",
                entity_id=head, detail={"from": was.revision or "3 (before migrations)",
                                        "to": head, "backup": self.backup}))

    @staticmethod
    def _legacy_version(conn: Any) -> str | None:
        from sqlalchemy import inspect

        if not inspect(conn).has_table(MetaRow.__tablename__):
            return None
        found = conn.execute(select(MetaRow.value).where(MetaRow.key == "schema_version")).scalar()
        return None if found is None else str(found)

    def _refuse_newer(self, revision: str | None, legacy_version: str | None) -> None:
        """A project written by a newer qualkit may hold what this release cannot keep right:
        refuse to open it rather than silently misread or "upgrade" it."""
        from . import migrate

        if revision is not None:
            newer = not migrate.known(revision)
            found = f"revision {revision}"
        elif legacy_version is not None:
            try:
                newer = int(legacy_version) > int(migrate.BASELINE)
            except ValueError:
                newer = True
            found = f"version {legacy_version}"
        else:
            return
        if newer:
            raise StoreError(
                f"this project was written by a newer qualkit (schema {found}; this release "
                f"knows up to {migrate.head()}); it was not opened or changed",
                path=mask_url(self.url, self.url),
                hint="upgrade qualkit (pip install -U qualkit) to open it")

    def _upgrade_legacy(self, conn: Any) -> None:
        """Bring a project made before migrations existed up to schema version 3, inside the
        caller's transaction: add the columns it lacks (``ADDED_COLUMNS``), then for each of
        ``UNIQUE_INDEXES`` it lacks, resolve the duplicates it would refuse (the earliest
        decision or hand coding stays; the later ones are removed and recorded, whole, in an
        ``upgrade`` audit event) and create the index."""
        from sqlalchemy import inspect

        inspector = inspect(conn)
        columns: dict[str, dict[str, TypeEngine[Any]]] = {}
        for table, wanted in ADDED_COLUMNS.items():
            have = {c["name"] for c in inspector.get_columns(table)}
            columns[table] = {n: k for n, k in wanted.items() if n not in have}
        indexes = {ix["name"] for ix in inspector.get_indexes(CodingRow.__tablename__)}
        self._upgrade_in(conn, {t: c for t, c in columns.items() if c},
                         [n for n in UNIQUE_INDEXES if n not in indexes])

    def _upgrade_in(self, conn: Any, columns: dict[str, dict[str, TypeEngine[Any]]],
                    indexes: list[str]) -> None:
        from sqlalchemy import delete, insert, text

        for table, added in columns.items():
            for name, kind in added.items():
                ddl = kind.compile(dialect=self.engine.dialect)
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))
        codings = CodingRow.__table__
        removed: dict[str, list[dict[str, Any]]] = {}
        for name in indexes:
            keys, where, _ = UNIQUE_INDEXES[name]
            rows = conn.execute(select(codings).where(text(where)).order_by(
                *(codings.c[k] for k in keys), codings.c.created_at, codings.c.id)).mappings()
            seen: set[tuple[Any, ...]] = set()
            later: list[dict[str, Any]] = []
            for row in rows:
                key = tuple(row[k] for k in keys)
                if key in seen:
                    later.append({k: (v.isoformat() if isinstance(v, datetime) else v)
                                  for k, v in row.items()})
                seen.add(key)
            ids = [r["id"] for r in later]
            for i in range(0, len(ids), 500):
                conn.execute(delete(CodingRow).where(CodingRow.id.in_(ids[i:i + 500])))
            next(ix for ix in Base.metadata.tables[CodingRow.__tablename__].indexes
                 if ix.name == name).create(conn)
            removed[name] = later
        if indexes:
            conn.execute(insert(EventRow).values(
                at=utcnow(), actor="qualkit", action="upgrade", entity="schema",
                entity_id="3", detail={
                    "schema_version": "3", "indexes": indexes,
                    "removed": removed, "kept": "the earliest of each duplicate group",
                    "removed_count": sum(len(r) for r in removed.values())}))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back everything on any error. A database
        failure leaves as a one-line ``StoreError`` (see ``store_error``)."""
        session = self._sessions()
        try:
            try:
                with session.begin():
                    yield session
            finally:
                session.close()
        except DATABASE_ERRORS as exc:
            raise store_error(exc, self.url) from None
        except StaleDataError:  # the row changed or went between reading and writing it
            raise ConflictError("that coding was changed or removed elsewhere at the same "
                                "moment (in another tab or window?); nothing was changed",
                                hint="reload and try again") from None

    # One lock for "which code ids exist": a change that moves codings between code ids takes
    # it alone, every write that names a code id shares it (PostgreSQL); on SQLite the write
    # lock, taken at the start, does both.
    CODEBOOK_LOCK = 7275736502

    def serialize(self, s: Session, exclusive: bool = False) -> None:
        """Make this transaction's reads and writes one step. pysqlite begins a transaction
        only at the first write, so reads before it may see a state another writer changes
        before this one writes: take SQLite's write lock now. On PostgreSQL, the codebook lock
        (shared, or alone with ``exclusive``) held to commit."""
        from sqlalchemy import text

        if self.dialect == "sqlite":
            s.connection().exec_driver_sql("BEGIN IMMEDIATE")
        elif self.dialect == "postgresql":
            fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            s.execute(text(f"SELECT {fn}({self.CODEBOOK_LOCK})"))

    # How a codebook's YAML text gives its code ids: set by the project (store does not parse
    # codebooks); None (a bare Store) checks nothing.
    codebook_ids: Callable[[str], set[str]] | None = None
    _ids_cache: tuple[int, set[str]] | None = None

    def check_codes(self, s: Session, codes: Iterable[str]) -> None:
        """Refuse a write naming a code id the project's codebook no longer has (renamed or
        merged a moment ago); call after ``serialize``."""
        if self.codebook_ids is None:
            return
        head = s.scalars(select(CodebookVersionRow).order_by(
            CodebookVersionRow.version.desc()).limit(1)).first()
        if head is None:
            return
        if self._ids_cache is None or self._ids_cache[0] != head.version:
            self._ids_cache = (head.version, self.codebook_ids(head.text))
        gone = sorted(set(codes) - self._ids_cache[1])
        if gone:
            raise CodebookChanged(f"the code {gone[0]!r} is no longer in the project's codebook "
                                "(renamed or merged a moment ago); nothing was changed",
                                hint="reload to see the codebook and try again")

    def log(self, session: Session, actor: str, action: str, entity: str, entity_id: Any = "",
            **detail: Any) -> None:
        """An audit event in the change's own transaction; on a server it names the login."""
        session.add(EventRow(actor=self.login or actor, action=action, entity=entity,
                             entity_id=str(entity_id), detail=detail))

    def log_now(self, actor: str, action: str, entity: str, entity_id: Any = "",
                **detail: Any) -> None:
        """An audit event on its own, for a change made outside the ORM (team roles)."""
        with self.transaction() as s:
            self.log(s, actor, action, entity, entity_id, **detail)

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.transaction() as s:
            row = s.get(MetaRow, key)
            return row.value if row else default

    def set_meta(self, key: str, value: str, actor: str) -> None:
        with self.transaction() as s:
            row = s.get(MetaRow, key)
            old = row.value if row else None
            if row:
                row.value = value
            else:
                s.add(MetaRow(key=key, value=value))
            self.log(s, actor, "set", "meta", key, old=old, new=value)

    # -- the codebook ---------------------------------------------------------------------
    def codebook_head(self) -> tuple[int, str] | None:
        """The newest codebook version and its YAML text, or None while there is none."""
        with self.transaction() as s:
            row = s.scalars(select(CodebookVersionRow).order_by(
                CodebookVersionRow.version.desc()).limit(1)).first()
            return None if row is None else (row.version, row.text)

    def codebook_text(self, version: int) -> str | None:
        with self.transaction() as s:
            row = s.get(CodebookVersionRow, version)
            return None if row is None else row.text

    def codebook_versions(self) -> list[tuple[int, datetime, str, str]]:
        """Every version: number, when, who, and what it was (newest first)."""
        with self.transaction() as s:
            return [(r.version, r.created_at, r.actor, r.note) for r in s.scalars(
                select(CodebookVersionRow).order_by(CodebookVersionRow.version.desc()))]

    def save_codebook(self, text: str, actor: str, note: str, base: int | None) -> int:
        """Store ``text`` as the next codebook version (one transaction, one audit event);
        refused if the newest version is no longer ``base``. Returns the new version."""
        with self.transaction() as s:
            self.serialize(s, exclusive=True)
            version = self._add_codebook_version(s, text, actor, note, base)
            self.log(s, actor, "set", "codebook", version, note=note, base=base)
            return version

    def _add_codebook_version(self, s: Session, text: str, actor: str, note: str,
                              base: int | None) -> int:
        newest = s.scalar(select(func.max(CodebookVersionRow.version)))
        if newest != base:
            raise ConflictError(
                "the codebook was changed by someone else since you opened it (it is now "
                f"version {newest}); nothing was overwritten",
                hint="reload and make the change again")
        version = (newest or 0) + 1
        # The version is the primary key: if another change commits version N+1 first, this
        # insert fails at commit and is reported as a conflict (store_error).
        s.add(CodebookVersionRow(version=version, text=text, digest=content_hash(text),
                                 actor=self.login or actor, note=note[:1000]))
        s.flush()
        return version

    # -- transcripts -----------------------------------------------------------------------
    def add_document(self, doc: ImportedDocument, actor: str) -> ImportOutcome:
        """Add a transcript (and any codings it carries) unless the same text is already here."""
        return self.add_documents([doc], actor)[0]

    def add_documents(self, docs: Iterable[ImportedDocument], actor: str,
                      codebook: tuple[str, str] | None = None,
                      memos: dict[str, dict[str, str]] | None = None) -> list[ImportOutcome]:
        """What one file brings, in ONE transaction, so an import is all or nothing: its
        documents (each unless the same text is already here), for a project file also its
        codebook (YAML text and a note, stored as the first version: refused if the project
        has a codebook by then) and the memos on the transcripts it adds ({transcript:
        {coder: text}})."""
        with self.transaction() as s:
            if codebook is not None:
                self._add_codebook_version(s, codebook[0], actor, codebook[1], None)
                self.log(s, actor, "set", "codebook", 1, note=codebook[1], base=None)
            outcomes = []
            for doc in docs:
                outcome, tid = self._add_document_in(s, doc, actor)
                outcomes.append(outcome)
                for coder, text in (memos or {}).get(doc.transcript.name, {}).items():
                    if tid is not None:
                        s.add(MemoRow(transcript_id=tid, coder=coder, text=text))
            return outcomes

    def _add_document_in(self, s: Session, doc: ImportedDocument,
                         actor: str) -> tuple[ImportOutcome, int | None]:
        tr = doc.transcript
        digest = content_hash(tr.text)
        same = s.scalars(select(TranscriptRow).where(
            TranscriptRow.content_hash == digest)).first()
        if same is not None:
            note = "" if same.name == tr.name else f"same text as {same.name!r}"
            return ImportOutcome(same.name, "unchanged", note=note), None
        if s.scalars(select(TranscriptRow.id).where(TranscriptRow.name == tr.name)).first():
            raise StoreError(f"a different transcript named {tr.name!r} is already in the "
                             "project; nothing from this file was imported",
                             path=tr.source or None,
                             hint="rename the file to import it as a new transcript")
        row = TranscriptRow(name=tr.name, content_hash=digest, text=tr.text, source=tr.source,
                            format=tr.format, attributes=dict(tr.attributes),
                            pages=list(tr.pages) if tr.pages else None,
                            layout=tr.layout or None)
        row.segments = [SegmentRow(idx=g.index, start_char=g.start, end_char=g.end,
                                   speaker=g.speaker, role=g.role, timestamp=g.timestamp)
                        for g in tr.segments]
        s.add(row)
        s.flush()
        for c in doc.codings:
            s.add(_coding_row(c, row.id))
        for coder, turns in doc.coded.items():  # a table's rows: what each coder went through
            for first, last in _runs(turns):
                s.add(CodedRangeRow(transcript_id=row.id, coder=coder, first_segment=first,
                                    last_segment=last))
        self.log(s, actor, "import", "transcript", tr.name, source=tr.source,
                 segments=len(tr.segments), codings=len(doc.codings))
        return ImportOutcome(tr.name, "added", codings=len(doc.codings)), row.id

    def transcripts(self) -> list[TranscriptInfo]:
        with self.transaction() as s:
            counts = dict(s.execute(select(SegmentRow.transcript_id, func.count())
                                    .group_by(SegmentRow.transcript_id)).all())
            # the listed columns only: a transcript's text is never read to list it
            rows = s.execute(select(TranscriptRow.id, TranscriptRow.name,
                                    TranscriptRow.attributes, TranscriptRow.format,
                                    TranscriptRow.source, TranscriptRow.layout)
                             .order_by(TranscriptRow.name)).all()
            return [TranscriptInfo(r.id, r.name, dict(r.attributes or {}), counts.get(r.id, 0),
                                   r.format, r.source, r.layout or "") for r in rows]

    def transcript_names(self) -> list[str]:
        with self.transaction() as s:
            return list(s.scalars(select(TranscriptRow.name).order_by(TranscriptRow.name)))

    def load_transcript(self, name: str) -> Transcript:
        with self.transaction() as s:
            row = s.scalars(select(TranscriptRow).where(TranscriptRow.name == name)).first()
            if row is None:
                raise StoreError(f"no transcript named {name!r} in this project",
                                 hint="`qualkit status` lists the transcripts")
            return _transcript(row)

    def iter_transcripts(self, names: Iterable[str] | None = None) -> Iterator[Transcript]:
        """One transcript at a time, so memory stays flat however large the project."""
        for name in (list(names) if names is not None else self.transcript_names()):
            yield self.load_transcript(name)

    # -- codings ---------------------------------------------------------------------------
    def replace_suggestions(self, transcript: str, suggestions: list[Suggestion], actor: str,
                            owns: Callable[[str, str], bool] = lambda source, code: source
                            != "topic") -> int:
        """Bring a transcript's machine suggestions up to date, in one transaction.

        Only suggestions this call ``owns`` (by source and code; by default all but those made
        from promoted topics) are considered. One already present is updated in place (score,
        span, rationale); one no longer made is removed unless someone has decided on it; a new
        one is added unless a person has already decided on that code for that segment.
        Returns how many were added.
        """
        with self.transaction() as s:
            self.serialize(s)
            self.check_codes(s, {sug.code_id for sug in suggestions})
            tid = self._transcript_id(s, transcript)
            rows = s.scalars(select(CodingRow).where(CodingRow.transcript_id == tid)).all()
            machine = {(r.segment_idx, r.code_id): r for r in rows
                       if r.status == "suggested" and owns(r.source, r.code_id)}
            decided = {(r.segment_idx, r.code_id) for r in rows if r.status != "suggested"}
            linked = {r.suggestion_id for r in rows if r.suggestion_id is not None}
            now = utcnow()
            added = updated = 0
            wanted: set[tuple[int | None, str]] = set()
            for sug in suggestions:
                key = (sug.segment_index, sug.code_id)
                if key in wanted:
                    continue
                wanted.add(key)
                row = machine.get(key)
                if row is not None:
                    if (row.start_char, row.end_char, row.score, row.rationale, row.source,
                            row.confidence) != (
                            sug.start, sug.end, sug.score, sug.rationale, sug.source,
                            sug.confidence):
                        row.start_char, row.end_char = sug.start, sug.end
                        row.score, row.rationale = sug.score, sug.rationale
                        row.confidence = sug.confidence
                        row.source = row.coder = sug.source
                        row.updated_at = now
                        updated += 1
                    continue
                if key in decided:
                    continue
                s.add(CodingRow(transcript_id=tid, segment_idx=sug.segment_index,
                                code_id=sug.code_id, start_char=sug.start, end_char=sug.end,
                                status="suggested", coder=sug.source, source=sug.source,
                                score=sug.score, rationale=sug.rationale, created_at=now,
                                updated_at=now, confidence=sug.confidence))
                added += 1
            removed = 0
            for machine_key, row in machine.items():
                if machine_key not in wanted and row.id not in linked:
                    s.delete(row)
                    removed += 1
            self.log(s, actor, "suggest", "transcript", transcript, added=added,
                     updated=updated, removed=removed)
            return added

    def codings(self, transcript: str | None = None, status: str | None = None,
                coder: str | None = None) -> list[Coding]:
        with self.transaction() as s:
            stmt = select(CodingRow, TranscriptRow.name).join(TranscriptRow)
            if transcript is not None:
                stmt = stmt.where(TranscriptRow.name == transcript)
            if status is not None:
                stmt = stmt.where(CodingRow.status == status)
            if coder is not None:
                stmt = stmt.where(CodingRow.coder == coder)
            stmt = stmt.order_by(TranscriptRow.name, CodingRow.start_char, CodingRow.code_id)
            return [_coding(row, name) for row, name in s.execute(stmt).all()]

    def status_counts(self) -> dict[str, Any]:
        """Totals for `qualkit status`: transcripts, segments, codes used, codings by status."""
        with self.transaction() as s:
            by_status = dict(s.execute(select(CodingRow.status, func.count())
                                       .group_by(CodingRow.status)).all())
            decided = s.scalar(select(func.count(func.distinct(CodingRow.suggestion_id)))
                               .where(CodingRow.suggestion_id.is_not(None))) or 0
            by_status["suggested"] = by_status.get("suggested", 0) - decided
            by_code = s.execute(select(CodingRow.code_id, CodingRow.status, func.count())
                                .group_by(CodingRow.code_id, CodingRow.status)).all()
            return {
                "transcripts": s.scalar(select(func.count()).select_from(TranscriptRow)) or 0,
                "segments": s.scalar(select(func.count()).select_from(SegmentRow)) or 0,
                "by_status": {k: by_status.get(k, 0) for k in ("suggested", "accepted",
                                                               "rejected")},
                "by_code": [(code, status, n) for code, status, n in by_code],
            }

    def events(self, limit: int = 100) -> list[Event]:
        with self.transaction() as s:
            rows = s.scalars(select(EventRow).order_by(EventRow.id.desc()).limit(limit)).all()
            return [Event(r.at, r.actor, r.action, r.entity, r.entity_id, dict(r.detail or {}))
                    for r in rows]

    # -- decisions (the review module decides what is allowed; this only records it) -----------
    def get_coding(self, coding_id: int) -> Coding:
        with self.transaction() as s:
            row = s.get(CodingRow, coding_id)
            if row is None:
                raise StoreError(f"coding {coding_id} no longer exists",
                                 hint="someone may have removed it; reload the page")
            return _coding(row, row.transcript.name)

    def decisions_on(self, suggestion_id: int) -> list[Coding]:
        with self.transaction() as s:
            rows = s.scalars(select(CodingRow).where(CodingRow.suggestion_id == suggestion_id))
            return [_coding(r, r.transcript.name) for r in rows]

    def create_coding(self, coding: Coding, actor: str, action: str,
                      suggestion_id: int | None = None) -> Coding:
        """Record a person's coding (a decision on a suggestion, or a code applied by hand)."""
        self.acting_as(coding.coder, coding.coder)
        with self.transaction() as s:
            self.serialize(s)
            self.check_codes(s, [coding.code_id])
            tid = self._transcript_id(s, coding.transcript)
            if suggestion_id is not None:
                if s.get(CodingRow, suggestion_id) is None:
                    raise ConflictError("that suggestion no longer exists (it was re-run)",
                                        hint="reload to see the current suggestions")
                mine = s.scalars(select(CodingRow.id).where(
                    CodingRow.suggestion_id == suggestion_id, CodingRow.coder == coding.coder)
                ).first()
                if mine is not None:
                    raise ConflictError(f"{coding.coder} has already decided on this suggestion "
                                        "(in another tab or window?)",
                                        hint="reload to see the decision; undo it to change it")
            else:
                same = s.scalars(select(CodingRow.id).where(
                    CodingRow.transcript_id == tid, CodingRow.code_id == coding.code_id,
                    CodingRow.coder == coding.coder, CodingRow.start_char == coding.start,
                    CodingRow.end_char == coding.end, CodingRow.status == coding.status)).first()
                if same is not None:
                    raise ConflictError(f"{coding.coder} already coded this passage with "
                                        f"{coding.code_id!r}")
            row = _coding_row(coding, tid)
            row.suggestion_id = suggestion_id
            s.add(row)
            s.flush()
            self.log(s, actor, action, "coding", row.id, created=row.id,
                     transcript=coding.transcript, code=coding.code_id, status=coding.status,
                     start=coding.start, end=coding.end, suggestion=suggestion_id)
            return _coding(row, coding.transcript)

    def create_codings(self, codings: list[Coding], actor: str, action: str = "code_batch"
                       ) -> list[Coding]:
        """Record several hand codings by one person in one transaction with one audit event
        listing the ids made (``created_many``), so ``undo_last`` removes them all in one step.
        A duplicate is refused as in ``create_coding`` (``uq_codings_hand``)."""
        if not codings:
            return []
        for coder in {c.coder for c in codings}:
            self.acting_as(coder, coder)
        with self.transaction() as s:
            self.serialize(s)
            self.check_codes(s, {c.code_id for c in codings})
            rows: list[tuple[CodingRow, str]] = []
            tids: dict[str, int] = {}
            for c in codings:
                if c.transcript not in tids:
                    tids[c.transcript] = self._transcript_id(s, c.transcript)
                row = _coding_row(c, tids[c.transcript])
                s.add(row)
                rows.append((row, c.transcript))
            s.flush()
            ids = [row.id for row, _ in rows]
            self.log(s, actor, action, "codings", len(ids), created_many=ids,
                     code=sorted({c.code_id for c in codings}),
                     transcripts=sorted(tids))
            return [_coding(row, name) for row, name in rows]

    def update_coding(self, coding_id: int, expected_version: int | None, actor: str,
                      action: str, **changes: Any) -> Coding:
        """Change fields of a coding; refuses if it changed since ``expected_version``."""
        fields = {"code_id": "code_id", "start": "start_char", "end": "end_char",
                  "memo": "memo", "status": "status"}
        self.acting_as(actor, actor)
        with self.transaction() as s:
            self.serialize(s)
            if "code_id" in changes:
                self.check_codes(s, [changes["code_id"]])
            row = self._current(s, coding_id, expected_version)
            before = {k: getattr(row, fields[k]) for k in changes}
            for key, value in changes.items():
                setattr(row, fields[key], value)
            row.updated_at = utcnow()
            s.flush()
            self.log(s, actor, action, "coding", row.id, before=before, after=changes)
            return _coding(row, row.transcript.name)

    def delete_coding(self, coding_id: int, expected_version: int | None, actor: str,
                      action: str = "remove") -> None:
        self.acting_as(actor, actor)
        with self.transaction() as s:
            row = self._current(s, coding_id, expected_version)
            saved = {"transcript": row.transcript.name, "segment_idx": row.segment_idx,
                     "code_id": row.code_id, "start": row.start_char, "end": row.end_char,
                     "status": row.status, "coder": row.coder, "source": row.source,
                     "score": row.score, "rationale": row.rationale, "memo": row.memo,
                     "suggestion_id": row.suggestion_id, "confidence": row.confidence}
            s.delete(row)
            self.log(s, actor, action, "coding", coding_id, deleted=saved)

    def undo_last(self, actor: str) -> Event | None:
        """Reverse ``actor``'s most recent change that has not been undone yet."""
        reversible = ("accept", "reject", "recode", "code", "span", "memo", "remove",
                      "code_batch", "mark")
        self.acting_as(actor, actor)
        with self.transaction() as s:
            self.serialize(s)
            if self.dialect == "postgresql":  # one undo at a time per person
                from sqlalchemy import text
                s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:a, 0))"),
                          {"a": f"qualkit-undo:{actor}"})
            undone = {int(e.detail.get("undoes", 0)) for e in s.scalars(select(EventRow).where(
                EventRow.actor == actor, EventRow.action == "undo"))}
            candidates = s.scalars(select(EventRow).where(
                EventRow.actor == actor, EventRow.action.in_(reversible))
                .order_by(EventRow.id.desc()).limit(200))
            target = next((e for e in candidates if e.id not in undone), None)
            if target is None:
                return None
            detail = target.detail or {}
            if "created_many" in detail:
                for cid in detail["created_many"]:
                    row = s.get(CodingRow, int(cid))
                    if row is not None:
                        s.delete(row)
            elif "created" in detail:
                row = s.get(CodingRow, int(detail["created"]))
                if row is not None:
                    s.delete(row)
            elif "before" in detail:
                if "code_id" in detail["before"]:
                    self.check_codes(s, [detail["before"]["code_id"]])
                row = s.get(CodingRow, int(target.entity_id))
                if row is None:
                    raise ConflictError("cannot undo: that coding was removed since")
                names = {"code_id": "code_id", "start": "start_char", "end": "end_char",
                         "memo": "memo", "status": "status"}
                for key, value in detail["before"].items():
                    setattr(row, names[key], value)
                row.updated_at = utcnow()
            elif "deleted" in detail:
                d = detail["deleted"]
                self.check_codes(s, [d["code_id"]])
                tid = self._transcript_id(s, d["transcript"])
                s.add(CodingRow(id=int(target.entity_id), transcript_id=tid,
                                segment_idx=d["segment_idx"], code_id=d["code_id"],
                                start_char=d["start"], end_char=d["end"], status=d["status"],
                                coder=d["coder"], source=d["source"], score=d["score"],
                                rationale=d["rationale"], memo=d["memo"],
                                suggestion_id=d["suggestion_id"],
                                confidence=d.get("confidence")))
            elif "range_id" in detail:
                marked = s.get(CodedRangeRow, int(detail["range_id"]))
                if marked is not None:
                    s.delete(marked)
            elif "memo_before" in detail:
                tid = self._transcript_id(s, target.entity_id)
                memo = s.scalars(select(MemoRow).where(MemoRow.transcript_id == tid,
                                                       MemoRow.coder == actor)).first()
                if memo is not None:
                    memo.text = detail["memo_before"]
            self.log(s, actor, "undo", target.entity, target.entity_id, undoes=target.id,
                     action_undone=target.action)
            return Event(target.at, target.actor, target.action, target.entity,
                         target.entity_id, dict(detail))

    def set_transcript_memo(self, transcript: str, coder: str, text: str) -> None:
        self.acting_as(coder, coder)
        with self.transaction() as s:
            tid = self._transcript_id(s, transcript)
            memo = s.scalars(select(MemoRow).where(MemoRow.transcript_id == tid,
                                                   MemoRow.coder == coder)).first()
            before = memo.text if memo else ""
            if memo is None:
                s.add(MemoRow(transcript_id=tid, coder=coder, text=text))
            else:
                memo.text, memo.updated_at = text, utcnow()
            self.log(s, coder, "memo", "transcript", transcript, memo_before=before)

    def mark_coded(self, transcript: str, coder: str, first: int | None = None,
                   last: int | None = None) -> tuple[int, int]:
        """Record that ``coder`` has worked through a transcript's turns ``first``..``last``
        (default: all of them), so agreement counts them there even where they applied
        nothing. Returns the range marked."""
        self.acting_as(coder, coder)
        with self.transaction() as s:
            tid = self._transcript_id(s, transcript)
            top = s.scalar(select(func.max(SegmentRow.idx)).where(
                SegmentRow.transcript_id == tid))
            if top is None:
                raise QualkitError(f"{transcript!r} has no turns to mark")
            first = 0 if first is None else first
            last = top if last is None else last
            if not 0 <= first <= last <= top:
                raise QualkitError(f"turns {first}-{last} are not in {transcript!r}",
                                   field="turns", hint=f"its turns are 0-{top}")
            row = CodedRangeRow(transcript_id=tid, coder=self.login or coder,
                                first_segment=first, last_segment=last)
            s.add(row)
            s.flush()
            self.log(s, coder, "mark", "transcript", transcript, range_id=row.id,
                     first=first, last=last)
            return first, last

    def coded_ranges(self) -> dict[str, dict[str, list[tuple[int, int]]]]:
        """Turns each coder marked as fully coded: {transcript: {coder: [(first, last)]}}."""
        out: dict[str, dict[str, list[tuple[int, int]]]] = {}
        with self.transaction() as s:
            for name, coder, first, last in s.execute(
                    select(TranscriptRow.name, CodedRangeRow.coder, CodedRangeRow.first_segment,
                           CodedRangeRow.last_segment).join(
                        TranscriptRow, TranscriptRow.id == CodedRangeRow.transcript_id)
                    .order_by(CodedRangeRow.id)):
                out.setdefault(name, {}).setdefault(coder, []).append((first, last))
        return out

    def transcript_memos(self, transcript: str) -> dict[str, str]:
        """Memos on a transcript, by coder."""
        with self.transaction() as s:
            tid = self._transcript_id(s, transcript)
            return {m.coder: m.text for m in s.scalars(
                select(MemoRow).where(MemoRow.transcript_id == tid)) if m.text}

    @staticmethod
    def _current(s: Session, coding_id: int, expected_version: int | None) -> CodingRow:
        row = s.get(CodingRow, coding_id)
        if row is None:
            raise ConflictError("that coding no longer exists (removed elsewhere)",
                                hint="reload to see the current codings")
        if expected_version is not None and row.version != expected_version:
            raise ConflictError(f"this coding was changed by {row.coder} since you loaded it; "
                                "nothing was overwritten", hint="reload and try again")
        return row

    # -- topic runs -----------------------------------------------------------------------------
    def save_topic_run(self, result: dict[str, Any], actor: str) -> tuple[int, str]:
        with self.transaction() as s:
            row = TopicRunRow(actor=actor, result=result)
            s.add(row)
            s.flush()
            self.log(s, actor, "topics", "topic_run", row.id,
                     topics=len(result.get("topics", [])))
            return row.id, row.created_at.isoformat(timespec="seconds")

    def set_topic_run_figures(self, run_id: int, figures: dict[str, str]) -> None:
        """Keep a run's figures, drawn after it was stored; a cache of what the run holds, so
        no audit event (it records no decision)."""
        with self.transaction() as s:
            row = s.get(TopicRunRow, run_id)
            if row is None:
                raise StoreError(f"no topic run {run_id} in this project")
            row.result = {**row.result, "figures": dict(figures)}

    def latest_topic_run(self) -> tuple[int, dict[str, Any]] | None:
        with self.transaction() as s:
            row = s.scalars(select(TopicRunRow).order_by(TopicRunRow.id.desc())).first()
            if row is None:
                return None
            return row.id, {**row.result, "created_at": row.created_at.isoformat(
                timespec="seconds")}

    # -- codebook changes applied to codings
    def recode_codings(self, mapping: dict[str, str], actor: str, reason: str, *,
                       codebook: tuple[str, int | None] | None = None) -> int:
        """Move codings (any status) from old to new code ids after a codebook change (rename
        with a new id, merge, delete with reassignment), in one transaction with one audit event
        (action ``refine``, entity ``codebook``) recording ``reason``, the mapping, how many
        codings each old id had and their ids. Pairs apply simultaneously (a -> b, b -> a swaps).
        Each moved coding gets a new ``version`` and ``updated_at``, so an edit made on the
        old version is refused. An empty mapping only records the event.

        ``codebook`` (YAML text, the version it was made from) becomes the next codebook
        version in the same transaction, so the codebook and the codings never disagree; if the
        codebook moved on since that version, nothing is changed (``ConflictError``). Returns
        the number of codings changed."""
        from sqlalchemy import case, update

        mapping = {old: new for old, new in mapping.items() if old != new}
        now = utcnow()
        with self.transaction() as s:
            self.serialize(s, exclusive=True)
            moved: dict[str, list[int]] = {old: [] for old in mapping}
            if mapping:
                for cid, code in s.execute(select(CodingRow.id, CodingRow.code_id).where(
                        CodingRow.code_id.in_(list(mapping))).order_by(CodingRow.id)):
                    moved[code].append(cid)
            had = {old: len(group) for old, group in moved.items()}
            merged = self._drop_merged_duplicates(s, mapping, moved)
            ids = [cid for group in moved.values() for cid in group]
            changed = 0
            # Two steps, so a swap (a -> b, b -> a) never meets a unique index half-way: first
            # to "#new" (no code id starts with #), then the # dropped.
            staged = {old: f"#{new}" for old, new in mapping.items()}
            for i in range(0, len(ids), 500):
                result = s.execute(
                    update(CodingRow).where(CodingRow.id.in_(ids[i:i + 500]))
                    .values(code_id=case(staged, value=CodingRow.code_id,
                                         else_=CodingRow.code_id),
                            version=CodingRow.version + 1, updated_at=now)
                    .execution_options(synchronize_session=False))
                if not isinstance(result, CursorResult):  # an UPDATE always returns one
                    raise TypeError(f"an UPDATE returned {type(result).__name__}, "
                                    "not a CursorResult with a row count")
                changed += result.rowcount
            for i in range(0, len(ids), 500):
                s.execute(update(CodingRow).where(CodingRow.id.in_(ids[i:i + 500]))
                          .values(code_id=func.substr(CodingRow.code_id, 2))
                          .execution_options(synchronize_session=False))
            if changed != len(ids):  # rows the database would not let this login change
                raise ConflictError(
                    f"only {changed} of the {len(ids)} codings could be recoded (your login may "
                    "change only your own codings); nothing was changed",
                    hint="ask the project's lead (qualkit team add NAME --lead) to make "
                         "codebook changes that move other people's codings")
            memos = self._move_code_memos(s, mapping)
            version = None
            if codebook is not None:
                version = self._add_codebook_version(s, codebook[0], actor, reason, codebook[1])
            self.log(s, actor, "refine", "codebook", reason[:300], reason=reason,
                     mapping=dict(mapping), counts=had, codebook_version=version,
                     memos_moved=memos,
                     codings=changed, moved=moved, merged_duplicates=merged)
            return changed

    @staticmethod
    def _move_code_memos(s: Session, mapping: dict[str, str]) -> int:
        """Memos on codes follow a rename or merge. Where the coder already has a memo on the
        code a merge leads to, theirs stays under the old id (still listed, never joined into
        another's words)."""
        if not mapping:
            return 0
        rows = s.scalars(select(CodeMemoRow).where(CodeMemoRow.code_id.in_(list(mapping)))
                         .order_by(CodeMemoRow.id)).all()
        taken = {(code, coder) for code, coder in s.execute(
            select(CodeMemoRow.code_id, CodeMemoRow.coder).where(
                CodeMemoRow.code_id.in_(list(set(mapping.values()) - set(mapping)))))}
        moving = []
        for row in rows:
            key = (mapping[row.code_id], row.coder)
            if key not in taken:
                taken.add(key)
                moving.append((row, key[0]))
        for row, target in moving:  # two steps, as codings: a swap never meets the constraint
            row.code_id = "#" + target
        s.flush()
        for row, target in moving:
            row.code_id = target
        return len(moving)

    @staticmethod
    def _drop_merged_duplicates(s: Session, mapping: dict[str, str],
                                moved: dict[str, list[int]]) -> list[dict[str, Any]]:
        """Before a merge: a coder's hand codings of one passage that would end up with the same
        code (``uq_codings_hand``) become one, the earliest; the later ones are deleted and
        returned whole for the audit event, and leave ``moved``."""
        codes = sorted(set(mapping) | set(mapping.values()))
        if not codes:
            return []
        rows = s.scalars(select(CodingRow).where(
            CodingRow.suggestion_id.is_(None), CodingRow.source == "manual",
            CodingRow.code_id.in_(codes)).order_by(CodingRow.created_at, CodingRow.id)).all()
        seen: set[tuple[Any, ...]] = set()
        dropped: list[dict[str, Any]] = []
        for row in rows:
            key = (row.transcript_id, row.coder, mapping.get(row.code_id, row.code_id),
                   row.start_char, row.end_char)
            if key not in seen:
                seen.add(key)
                continue
            dropped.append({"id": row.id, "transcript_id": row.transcript_id,
                            "segment_idx": row.segment_idx, "code_id": row.code_id,
                            "start": row.start_char, "end": row.end_char, "status": row.status,
                            "coder": row.coder, "memo": row.memo,
                            "created_at": row.created_at.isoformat()})
            if row.code_id in moved and row.id in moved[row.code_id]:
                moved[row.code_id].remove(row.id)
            s.delete(row)
        s.flush()
        return dropped

    def code_counts(self) -> dict[str, dict[str, int]]:
        """Codings (any status, suggestions included) per code id, by status:
        ``{code_id: {status: n}}``; a code's total is ``sum(counts[code_id].values())``."""
        with self.transaction() as s:
            out: dict[str, dict[str, int]] = {}
            for code, status, n in s.execute(
                    select(CodingRow.code_id, CodingRow.status, func.count())
                    .group_by(CodingRow.code_id, CodingRow.status)):
                out.setdefault(code, {})[status] = n
            return out

    # -- embeddings cache --------------------------------------------------------------------
    def get_embeddings(self, model: str, hashes: list[str]) -> dict[str, bytes]:
        """Cached vectors (raw float32 bytes) for the hashes that have one."""
        found: dict[str, bytes] = {}
        with self.transaction() as s:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                found.update(s.execute(select(EmbeddingRow.text_hash, EmbeddingRow.vector).where(
                    EmbeddingRow.model == model, EmbeddingRow.text_hash.in_(chunk))).all())
        return found

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        """Add vectors; a cache, so no audit event (it records no decision)."""
        with self.transaction() as s:
            known = set(s.scalars(select(EmbeddingRow.text_hash).where(
                EmbeddingRow.model == model, EmbeddingRow.text_hash.in_(list(vectors)))))
            s.add_all(EmbeddingRow(model=model, text_hash=h, vector=v)
                      for h, v in vectors.items() if h not in known)

    # -- a transcript itself: delete, rename, replace, attributes, roles (qualkit.sources
    #    decides what is allowed and how codings follow; this records it) ---------------------
    def delete_transcript(self, name: str, actor: str,
                          check: Callable[[dict[str, Any]], None] | None = None
                          ) -> dict[str, Any]:
        """Remove a transcript with its turns, codings, coded ranges and memos in one
        transaction. ``check`` sees what would be lost (the summary below) and may refuse by
        raising; the ``delete`` audit event records it: counts, and every person's coding
        whole (code, coder, status, span and its text, memo), the memos and coded ranges."""
        from sqlalchemy import delete

        with self.transaction() as s:
            self.serialize(s)
            row = s.scalars(select(TranscriptRow).where(TranscriptRow.name == name)).first()
            if row is None:
                raise StoreError(f"no transcript named {name!r} in this project",
                                 hint="`qualkit status --list` shows the transcript names")
            tid = row.id
            codings = s.scalars(select(CodingRow).where(CodingRow.transcript_id == tid)
                                .order_by(CodingRow.id)).all()
            by_status: dict[str, int] = {}
            for c in codings:
                by_status[c.status] = by_status.get(c.status, 0) + 1
            memos = {m.coder: m.text for m in s.scalars(
                select(MemoRow).where(MemoRow.transcript_id == tid)) if m.text}
            ranges = [{"coder": r.coder, "first": r.first_segment, "last": r.last_segment}
                      for r in s.scalars(select(CodedRangeRow).where(
                          CodedRangeRow.transcript_id == tid).order_by(CodedRangeRow.id))]
            summary: dict[str, Any] = {
                "transcript": name, "source": row.source, "format": row.format,
                "content_hash": row.content_hash, "attributes": dict(row.attributes or {}),
                "segments": len(row.segments), "codings": by_status,
                "decisions": [_saved(c, row.text) for c in codings if c.status != "suggested"],
                "memos": memos, "coded_ranges": ranges}
            if check is not None:
                check(summary)
            for table in (CodingRow, CodedRangeRow, MemoRow, SegmentRow):
                s.execute(delete(table).where(table.transcript_id == tid)
                          .execution_options(synchronize_session=False))
            s.execute(delete(TranscriptRow).where(TranscriptRow.id == tid)
                      .execution_options(synchronize_session=False))
            self.log(s, actor, "delete", "transcript", name, **summary)
            return summary

    def rename_transcript(self, old: str, new: str, actor: str) -> None:
        """Give a transcript another name (one transaction, a ``rename`` event); refused if
        another transcript has that name."""
        with self.transaction() as s:
            self.serialize(s)
            row = s.scalars(select(TranscriptRow).where(TranscriptRow.name == old)).first()
            if row is None:
                raise StoreError(f"no transcript named {old!r} in this project",
                                 hint="`qualkit status --list` shows the transcript names")
            if new != old and s.scalars(select(TranscriptRow.id).where(
                    TranscriptRow.name == new)).first() is not None:
                raise ConflictError(f"another transcript is already named {new!r}; nothing was "
                                    "renamed", hint="choose a name no transcript has")
            row.name = new
            self.log(s, actor, "rename", "transcript", new, old=old, new=new)

    def set_transcript_attributes(self, changes: dict[str, dict[str, Any]], actor: str,
                                  **detail: Any) -> dict[str, dict[str, Any]]:
        """Set participant attributes of one or more transcripts ({transcript: {key: value}};
        a value of None removes the key) in one transaction with one ``attributes`` event
        recording each transcript's attributes before and after (and ``detail``). Returns
        the attributes after, by transcript."""
        with self.transaction() as s:
            self.serialize(s)
            before: dict[str, dict[str, Any]] = {}
            after: dict[str, dict[str, Any]] = {}
            for name, values in changes.items():
                row = s.scalars(select(TranscriptRow).where(TranscriptRow.name == name)).first()
                if row is None:
                    raise StoreError(f"no transcript named {name!r} in this project",
                                     hint="`qualkit status --list` shows the transcript names")
                old = dict(row.attributes or {})
                new = dict(old)
                for key, value in values.items():
                    if value is None:
                        new.pop(key, None)
                    else:
                        new[key] = value
                if new != old:
                    row.attributes = new  # a new dict: JSON columns track assignment only
                    before[name], after[name] = old, new
            entity = next(iter(changes)) if len(changes) == 1 else f"{len(after)} transcripts"
            if after or detail:  # nothing changed by hand: nothing to record
                self.log(s, actor, "attributes", "transcript", entity, before=before,
                         after=after, **detail)
            return after

    def set_speaker_role(self, name: str, speaker: str, role: str, actor: str,
                         drop: Callable[[str], bool] | None = None) -> tuple[int, int]:
        """Give every turn of ``speaker`` in a transcript the role ``role`` (one transaction, a
        ``role`` event). Pending machine suggestions on those turns whose code ``drop`` says
        no longer applies (and nobody decided on) are removed with it, recorded whole in the
        event. Returns (turns changed, suggestions removed)."""
        with self.transaction() as s:
            self.serialize(s)
            tid = self._transcript_id(s, name)
            turns = s.scalars(select(SegmentRow).where(SegmentRow.transcript_id == tid,
                                                       SegmentRow.speaker == speaker)).all()
            if not turns:
                speakers = sorted(set(s.scalars(select(SegmentRow.speaker).where(
                    SegmentRow.transcript_id == tid))))
                raise QualkitError(f"no speaker {speaker!r} in {name!r}", field="speaker",
                                   hint="its speakers are " + (", ".join(
                                       repr(x) for x in speakers) or "none"))
            before = sorted({t.role for t in turns})
            for t in turns:
                t.role = role
            removed: list[dict[str, Any]] = []
            if drop is not None:
                idx = {t.idx for t in turns}
                linked = set(s.scalars(select(CodingRow.suggestion_id).where(
                    CodingRow.transcript_id == tid, CodingRow.suggestion_id.is_not(None))))
                text = s.scalar(select(TranscriptRow.text).where(TranscriptRow.id == tid)) or ""
                for c in s.scalars(select(CodingRow).where(
                        CodingRow.transcript_id == tid, CodingRow.status == "suggested")):
                    if c.segment_idx in idx and c.id not in linked and drop(c.code_id):
                        removed.append(_saved(c, text))
                        s.delete(c)
            self.log(s, actor, "role", "transcript", name, speaker=speaker, before=before,
                     role=role, turns=len(turns), removed_suggestions=removed)
            return len(turns), len(removed)

    def replace_transcript(self, name: str, new: Transcript, actor: str,
                           plan: Callable[[Transcript, list[Coding],
                                           list[tuple[int, int, int]]],
                                          tuple[dict[int, tuple[int, int, int | None] | None],
                                                dict[int, tuple[int, int] | None]]],
                           **detail: Any) -> dict[str, Any]:
        """Put a corrected text in place of a transcript's, keeping its name, in one
        transaction: its turns become ``new``'s, its attributes ``new.attributes``; ``plan``
        (given the old transcript, every coding on it and its coded ranges as (id, first,
        last)) says where each coding goes ({id: (start, end, segment) or None to remove it})
        and each coded range ({id: (first, last) or None}). The ``replace`` event records the
        codings removed, whole with their text, and ``detail``. Returns what was done:
        ``moved``, ``kept`` (ids), ``removed`` (saved codings), ``ranges``."""
        from sqlalchemy import delete

        with self.transaction() as s:
            self.serialize(s)
            row = s.scalars(select(TranscriptRow).where(TranscriptRow.name == name)).first()
            if row is None:
                raise StoreError(f"no transcript named {name!r} in this project",
                                 hint="`qualkit status --list` shows the transcript names")
            digest = content_hash(new.text)
            twin = s.scalars(select(TranscriptRow.name).where(
                TranscriptRow.content_hash == digest, TranscriptRow.id != row.id)).first()
            if twin is not None:
                raise ConflictError(f"the corrected file has the same text as the transcript "
                                    f"{twin!r}; nothing was replaced",
                                    hint="check you chose the right file")
            old = _transcript(row)
            rows = s.scalars(select(CodingRow).where(CodingRow.transcript_id == row.id)
                             .order_by(CodingRow.id)).all()
            ranges = s.scalars(select(CodedRangeRow).where(
                CodedRangeRow.transcript_id == row.id)).all()
            moves, range_moves = plan(old, [_coding(r, name) for r in rows],
                                      [(r.id, r.first_segment, r.last_segment) for r in ranges])
            removed = [_saved(r, old.text) for r in rows if moves.get(r.id) is None]
            before = {"content_hash": row.content_hash, "source": row.source,
                      "format": row.format, "attributes": dict(row.attributes or {}),
                      "segments": len(row.segments)}
            # the turns first (one (transcript, idx) each), then the codings that point at them
            s.execute(delete(SegmentRow).where(SegmentRow.transcript_id == row.id)
                      .execution_options(synchronize_session=False))
            s.expire(row, ["segments"])
            s.add_all(SegmentRow(transcript_id=row.id, idx=g.index, start_char=g.start,
                                 end_char=g.end, speaker=g.speaker, role=g.role,
                                 timestamp=g.timestamp) for g in new.segments)
            row.text, row.content_hash = new.text, digest
            row.source, row.format = new.source, new.format
            row.attributes = dict(new.attributes)
            row.pages, row.layout = (list(new.pages) if new.pages else None), new.layout or None
            now = utcnow()
            gone = {r.id for r in rows if moves.get(r.id) is None}
            # decisions first, then the suggestions they point at (SQLite checks each row)
            for r in sorted((r for r in rows if r.id in gone),
                            key=lambda r: r.suggestion_id is None):
                s.delete(r)
            s.flush()
            moved: list[int] = []
            for r in rows:
                target = moves.get(r.id)
                if target is None:
                    continue
                if (r.start_char, r.end_char, r.segment_idx) != target:
                    r.start_char, r.end_char, r.segment_idx = target
                    r.updated_at = now
                    moved.append(r.id)
            changed_ranges = 0
            for marked in ranges:
                span = range_moves.get(marked.id)
                if span is None:
                    s.delete(marked)
                    changed_ranges += 1
                elif (marked.first_segment, marked.last_segment) != span:
                    marked.first_segment, marked.last_segment = span
                    changed_ranges += 1
            s.flush()
            if moved:  # a server's trigger keeps other people's codings as they were
                found = {(cid, a, b) for cid, a, b in s.execute(
                    select(CodingRow.id, CodingRow.start_char, CodingRow.end_char).where(
                        CodingRow.id.in_(moved)))}
                wanted = set()
                for cid in moved:
                    target = moves[cid]
                    if target is not None:
                        wanted.add((cid, target[0], target[1]))
                if found != wanted:
                    raise ConflictError(
                        "your database login may not move other people's codings; nothing was "
                        "replaced", hint="ask the project's lead to replace the transcript")
            kept = [r.id for r in rows if r.id not in gone]
            self.log(s, actor, "replace", "transcript", name, before=before,
                     after={"content_hash": digest, "source": new.source, "format": new.format,
                            "attributes": dict(new.attributes),
                            "segments": len(new.segments)},
                     kept=len(kept), moved=len(moved), removed=removed,
                     coded_ranges_changed=changed_ranges, **detail)
            return {"kept": kept, "moved": moved, "removed": removed,
                    "ranges": changed_ranges}

    @staticmethod
    def _transcript_id(s: Session, name: str) -> int:
        tid = s.scalars(select(TranscriptRow.id).where(TranscriptRow.name == name)).first()
        if tid is None:
            raise StoreError(f"no transcript named {name!r} in this project")
        return tid

    # -- memos on codes and the project journal ---------------------------------------------
    def set_code_memo(self, code_id: str, coder: str, text: str) -> None:
        """Write ``coder``'s memo on a code or theme (an empty text clears it); one
        transaction with an audit event holding the text it replaced."""
        coder = self.acting_as(coder, coder)
        with self.transaction() as s:
            memo = s.scalars(select(CodeMemoRow).where(CodeMemoRow.code_id == code_id,
                                                       CodeMemoRow.coder == coder)).first()
            before = memo.text if memo else ""
            if memo is None:
                s.add(CodeMemoRow(code_id=code_id, coder=coder, text=text))
            else:
                memo.text, memo.updated_at = text, utcnow()
            self.log(s, coder, "code_memo", "code", code_id, text_before=before)

    def code_memos(self, code_id: str | None = None) -> list[tuple[str, str, str, datetime]]:
        """Memos on codes (one code's with ``code_id``) that say something:
        ``(code_id, coder, text, updated_at)``, by code id and coder."""
        with self.transaction() as s:
            query = select(CodeMemoRow).where(CodeMemoRow.text != "")
            if code_id is not None:
                query = query.where(CodeMemoRow.code_id == code_id)
            return [(m.code_id, m.coder, m.text, m.updated_at) for m in s.scalars(
                query.order_by(CodeMemoRow.code_id, CodeMemoRow.coder))]

    def add_journal_entry(self, author: str, text: str) -> int:
        """Add an entry to the project journal; returns its id."""
        author = self.acting_as(author, author)
        with self.transaction() as s:
            row = JournalRow(author=author, text=text)
            s.add(row)
            s.flush()
            self.log(s, author, "journal", "journal", row.id)
            return row.id

    def journal_entries(self) -> list[tuple[int, datetime, str, str]]:
        """Every journal entry, oldest first: ``(id, at, author, text)``."""
        with self.transaction() as s:
            return [(j.id, j.at, j.author, j.text) for j in s.scalars(
                select(JournalRow).order_by(JournalRow.at, JournalRow.id))]

    # -- pseudonyms: identifying strings and their replacements in exports --------------------
    # Rows are (original, replacement, status, origin); originals are unique whatever their
    # case ("Dana" and "DANA" are one name). qualkit.pseudonym holds the rules; the store only
    # keeps the table. The transcript text itself is never changed.
    def pseudonyms(self) -> list[tuple[str, str, str, str, str, datetime]]:
        """Every entry: ``(original, replacement, status, origin, actor, updated_at)``, by
        original."""
        with self.transaction() as s:
            return [(p.original, p.replacement, p.status, p.origin, p.actor, p.updated_at)
                    for p in s.scalars(select(PseudonymRow).order_by(
                        func.lower(PseudonymRow.original)))]

    @staticmethod
    def _pseudonym(s: Session, original: str) -> PseudonymRow | None:
        return s.scalars(select(PseudonymRow).where(
            func.lower(PseudonymRow.original) == original.lower())).first()

    def upsert_pseudonyms(self, entries: Iterable[tuple[str, str, str, str]], actor: str,
                          overwrite: bool = True, action: str = "pseudonyms") -> int:
        """Add entries ``(original, replacement, status, origin)``, or change existing ones
        (with ``overwrite``; without it an entry already there, and the researcher's decision
        on it, is kept). One transaction, one event listing what changed. Returns how many
        entries were added or changed."""
        actor = self.acting_as(actor, actor)
        with self.transaction() as s:
            self.serialize(s)
            changed: list[dict[str, str]] = []
            for original, replacement, status, origin in entries:
                row = self._pseudonym(s, original)
                if row is None:
                    s.add(PseudonymRow(original=original, replacement=replacement,
                                       status=status, origin=origin, actor=actor,
                                       updated_at=utcnow()))
                    s.flush()
                    changed.append({"original": original, "replacement": replacement,
                                    "status": status, "before": ""})
                elif overwrite and (row.replacement, row.status) != (replacement, status):
                    changed.append({"original": row.original, "replacement": replacement,
                                    "status": status,
                                    "before": f"{row.replacement} ({row.status})"})
                    row.replacement, row.status = replacement, status
                    row.actor, row.updated_at = actor, utcnow()
            if changed:
                self.log(s, actor, action, "pseudonyms", f"{len(changed)} entries",
                         changes=changed)
            return len(changed)

    def set_pseudonym_status(self, originals: Iterable[str], status: str, actor: str) -> int:
        """Set the status of entries (accept ``use``, ``ignore``, back to ``proposed``); one
        transaction and event. An original the table does not have is refused by name."""
        actor = self.acting_as(actor, actor)
        with self.transaction() as s:
            self.serialize(s)
            done = []
            for original in originals:
                row = self._pseudonym(s, original)
                if row is None:
                    raise StoreError(f"{original!r} is not in the pseudonym table; nothing "
                                     "was changed", hint="`qualkit pseudonyms list` shows it")
                if row.status != status:
                    done.append({"original": row.original, "before": row.status})
                    row.status, row.actor, row.updated_at = status, actor, utcnow()
            if done:
                self.log(s, actor, "pseudonym_status", "pseudonyms", status, changes=done)
            return len(done)

    def delete_pseudonym(self, original: str, actor: str) -> None:
        """Remove an entry (one transaction; the event keeps it whole)."""
        actor = self.acting_as(actor, actor)
        with self.transaction() as s:
            self.serialize(s)
            row = self._pseudonym(s, original)
            if row is None:
                raise StoreError(f"{original!r} is not in the pseudonym table",
                                 hint="`qualkit pseudonyms list` shows it")
            self.log(s, actor, "delete", "pseudonym", row.original,
                     replacement=row.replacement, status=row.status, origin=row.origin)
            s.delete(row)

    # -- recordings: a transcript's audio or video, stored in chunks (qualkit.media checks the
    #    file, its type and its size; this stores and reads it) ---------------------------------
    def attach_media(self, transcript: str, name: str, mime: str, chunks: Iterable[bytes],
                     actor: str, max_bytes: int | None = None) -> MediaInfo:
        """Store a recording for ``transcript`` from ``chunks`` in ONE transaction with an
        ``attach`` event, replacing the recording it had (the event names both). Only one
        chunk is held at a time; more than ``max_bytes`` in all rolls everything back."""
        from sqlalchemy import delete

        with self.transaction() as s:
            self.serialize(s)
            tid = self._transcript_id(s, transcript)
            old = s.scalars(select(MediaRow).where(MediaRow.transcript_id == tid)).first()
            replaced = None
            if old is not None:
                replaced = {"name": old.name, "size": old.size, "sha256": old.sha256}
                s.execute(delete(MediaChunkRow).where(MediaChunkRow.media_id == old.id)
                          .execution_options(synchronize_session=False))
                s.delete(old)
                s.flush()
            row = MediaRow(transcript_id=tid, name=name, mime=mime, size=0, sha256="",
                           actor=actor)
            s.add(row)
            s.flush()
            digest, size, idx = hashlib.sha256(), 0, 0
            for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise StoreError(f"the recording {name!r} is larger than "
                                     f"{max_bytes // 1024 ** 2:,} MB; nothing was stored",
                                     hint="see docs/limits.md (QUALKIT_MAX_MEDIA_MB)")
                digest.update(chunk)
                s.add(MediaChunkRow(media_id=row.id, idx=idx, data=bytes(chunk)))
                s.flush()  # written; the session keeps no strong reference to the chunk
                idx += 1
            row.size, row.sha256 = size, digest.hexdigest()
            self.log(s, actor, "attach", "media", transcript, name=name, mime=mime, size=size,
                     sha256=row.sha256, replaced=replaced)
            return _media_info(row, transcript, idx)

    def media_info(self, transcript: str) -> MediaInfo | None:
        """The recording stored for ``transcript``, or None."""
        from sqlalchemy import func

        with self.transaction() as s:
            tid = self._transcript_id(s, transcript)
            row = s.scalars(select(MediaRow).where(MediaRow.transcript_id == tid)).first()
            if row is None:
                return None
            n = s.scalar(select(func.count()).select_from(MediaChunkRow)
                         .where(MediaChunkRow.media_id == row.id)) or 0
            return _media_info(row, transcript, n)

    def media_list(self) -> list[MediaInfo]:
        """Every stored recording, by transcript name."""
        with self.transaction() as s:
            rows = s.execute(select(MediaRow, TranscriptRow.name).join(
                TranscriptRow, TranscriptRow.id == MediaRow.transcript_id)
                .order_by(TranscriptRow.name)).all()
            return [_media_info(m, name, -1) for m, name in rows]

    def media_chunks(self, transcript: str) -> Iterator[bytes]:
        """A recording's bytes, one stored chunk at a time (nothing if it has none)."""
        info = self.media_info(transcript)
        if info is None:
            return
        for idx in range(info.chunks):
            with self.transaction() as s:
                data = s.scalar(select(MediaChunkRow.data).join(
                    MediaRow, MediaRow.id == MediaChunkRow.media_id).where(
                    MediaChunkRow.media_id == info.id, MediaChunkRow.idx == idx,
                    MediaRow.sha256 == info.sha256))
            if data is None:  # replaced or removed while being read
                raise ConflictError(f"the recording of {transcript!r} changed while it was "
                                    "being read", hint="try again")
            yield bytes(data)

    def remove_media(self, transcript: str, actor: str) -> MediaInfo:
        """Remove a transcript's recording (one transaction, a ``detach`` event)."""
        from sqlalchemy import delete

        with self.transaction() as s:
            self.serialize(s)
            tid = self._transcript_id(s, transcript)
            row = s.scalars(select(MediaRow).where(MediaRow.transcript_id == tid)).first()
            if row is None:
                raise StoreError(f"transcript {transcript!r} has no recording",
                                 hint="`qualkit media list` shows the recordings")
            info = _media_info(row, transcript, -1)
            s.execute(delete(MediaChunkRow).where(MediaChunkRow.media_id == row.id)
                      .execution_options(synchronize_session=False))
            s.delete(row)
            self.log(s, actor, "detach", "media", transcript, name=info.name, size=info.size,
                     sha256=info.sha256)
            return info

    # -- reading at scale: what a page or a report counts, chosen by the database, so the
    #    work follows what is shown and not the size of the project ------------------------
    def counted_codings(self, statuses: Iterable[str],
                        coders: Iterable[str] | None = None) -> list[Coding]:
        """The codings ``analysis.counted`` keeps (these statuses; a suggestion only while
        nobody has decided on it; these coders), in ``codings``' order, selected in SQL: a
        page counting accepted codings never loads every pending suggestion."""
        statuses = list(statuses)
        decided = select(CodingRow.suggestion_id).where(CodingRow.suggestion_id.is_not(None))
        stmt = (select(CodingRow, TranscriptRow.name).join(TranscriptRow)
                .where(CodingRow.status.in_(statuses))
                .where(~((CodingRow.status == "suggested") & CodingRow.id.in_(decided))))
        if coders is not None:
            stmt = stmt.where(CodingRow.coder.in_(list(coders)))
        stmt = stmt.order_by(TranscriptRow.name, CodingRow.start_char, CodingRow.code_id)
        with self.transaction() as s:
            return [_coding(row, name) for row, name in s.execute(stmt).all()]

    def transcript_attributes(self) -> dict[str, dict[str, Any]]:
        """Each transcript's participant attributes by name: what analysis needs of the
        transcripts, without their text or their turn counts (a GROUP BY over every turn)."""
        with self.transaction() as s:
            return {name: dict(attributes or {}) for name, attributes in s.execute(
                select(TranscriptRow.name, TranscriptRow.attributes)
                .order_by(TranscriptRow.name))}

    def decision_count(self) -> int:
        """Accepted and rejected codings: one count, for the check every page makes of whether
        retraining is due (``status_counts`` groups every coding several ways)."""
        with self.transaction() as s:
            return s.scalar(select(func.count()).select_from(CodingRow).where(
                CodingRow.status.in_(("accepted", "rejected")))) or 0

    def decided_transcripts(self) -> list[str]:
        """The transcripts holding a decision or a person's coding (any status but
        ``suggested``), by name: learning and retraining look at these and never read the
        others, so their cost follows the decisions, not the size of the project."""
        with self.transaction() as s:
            return list(s.scalars(select(TranscriptRow.name).distinct().join(CodingRow)
                                  .where(CodingRow.status != "suggested")
                                  .order_by(TranscriptRow.name)))

    def coders(self, statuses: Iterable[str]) -> list[str]:
        """Everyone with a coding of these statuses, by name: one DISTINCT query."""
        with self.transaction() as s:
            return list(s.scalars(select(CodingRow.coder).distinct()
                                  .where(CodingRow.status.in_(list(statuses)))
                                  .order_by(CodingRow.coder)))

    def recent_codes(self, coder: str) -> list[str]:
        """The codes of a coder's accepted codings, the most recently used first, for the code
        picker: one row per code from a grouped query, not the coder's every coding."""
        stmt = (select(CodingRow.code_id, func.max(CodingRow.updated_at).label("at"))
                .where(CodingRow.coder == coder, CodingRow.status == "accepted")
                .group_by(CodingRow.code_id).order_by(func.max(CodingRow.updated_at).desc(),
                                                      CodingRow.code_id))
        with self.transaction() as s:
            return [code for code, _ in s.execute(stmt).all()]


def _runs(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs: 0 1 2 5 6 -> (0, 2), (5, 6)."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def asks_login(url: str | None) -> bool:
    """Team mode: a PostgreSQL URL naming no login. Each person then signs in with their own
    database login, under which every decision is recorded."""
    if not url or not url.startswith("postgresql"):
        return False
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return not make_url(url).username
    except ArgumentError:
        return False


def without_login(url: str) -> str:
    """``url`` with no login and no password: the address a team shares."""
    from sqlalchemy.engine import URL, make_url

    u = make_url(url)
    return URL.create(u.drivername, host=u.host, port=u.port, database=u.database,
                      query=u.query).render_as_string()


def sqlite_path(url: str) -> Path | None:
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


def _transcript(row: TranscriptRow) -> Transcript:
    text = row.text
    segments = [Segment(index=g.idx, start=g.start_char, end=g.end_char, speaker=g.speaker,
                        text=text[g.start_char:g.end_char], role=g.role, timestamp=g.timestamp)
                for g in row.segments]
    return Transcript(name=row.name, text=text, segments=segments,
                      attributes=dict(row.attributes or {}), source=row.source, format=row.format,
                      pages=list(row.pages) if row.pages else None, layout=row.layout or "")


def _saved(row: CodingRow, text: str) -> dict[str, Any]:
    """A coding whole, with the text it marks, for an audit event that removes it."""
    return {"id": row.id, "code_id": row.code_id, "coder": row.coder, "status": row.status,
            "source": row.source, "segment_idx": row.segment_idx, "start": row.start_char,
            "end": row.end_char, "text": text[row.start_char:row.end_char], "memo": row.memo,
            "score": row.score, "rationale": row.rationale,
            "suggestion_id": row.suggestion_id, "confidence": row.confidence,
            "created_at": row.created_at.isoformat() if row.created_at else None}


def _coding_row(c: Coding, transcript_id: int) -> CodingRow:
    return CodingRow(transcript_id=transcript_id, segment_idx=c.segment_index, code_id=c.code_id,
                     start_char=c.start, end_char=c.end, status=c.status, coder=c.coder,
                     source=c.source, score=c.score, rationale=c.rationale, memo=c.memo,
                     created_at=c.time, updated_at=c.time)


def _coding(row: CodingRow, transcript: str) -> Coding:
    return Coding(code_id=row.code_id, transcript=transcript, start=row.start_char,
                  end=row.end_char, coder=row.coder, status=row.status,  # type: ignore[arg-type]
                  segment_index=row.segment_idx, time=row.updated_at, memo=row.memo,
                  source=row.source, score=row.score, rationale=row.rationale, id=row.id,
                  version=row.version, suggestion_id=row.suggestion_id,
                  confidence=row.confidence)
