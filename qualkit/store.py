"""The project database: the only module that talks SQL.

SQLAlchemy 2 over a SQLite file by default (WAL, foreign keys on); any SQLAlchemy URL such as
``postgresql+psycopg://...`` works too. Every change runs in one transaction and writes an audit
event (who, what, when) in the same transaction, so the log and the data never disagree.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

from sqlalchemy import (JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint, create_engine, delete, event, func, select)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import (DeclarativeBase, Mapped, Session, mapped_column, relationship,
                            sessionmaker)

from .errors import StoreError
from .model import Coding, ImportedDocument, Segment, Suggestion, Transcript, utcnow

SCHEMA_VERSION = "1"


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
    segments: Mapped[list["SegmentRow"]] = relationship(
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


class CodingRow(Base):
    __tablename__ = "codings"
    __table_args__ = (Index("ix_codings_transcript_status", "transcript_id", "status"),
                      Index("ix_codings_code", "code_id"))
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
    rationale: Mapped[str] = mapped_column(Text, default="")
    memo: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    transcript: Mapped[TranscriptRow] = relationship()
    __mapper_args__ = {"version_id_col": version}


class EmbeddingRow(Base):
    """Sentence embeddings by model and text hash: a second run recomputes nothing."""

    __tablename__ = "embeddings"
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@dataclass
class TranscriptInfo:
    id: int
    name: str
    attributes: dict[str, Any]
    segments: int
    format: str
    source: str


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open database {url!r}: {exc}",
                         hint="give a SQLAlchemy URL such as sqlite:///project/qualkit.db") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Store:
    """Typed operations on one project database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the project database: {exc.orig or exc}",
                             path=url) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self.transaction() as s:
            if s.get(MetaRow, "schema_version") is None:
                s.add(MetaRow(key="schema_version", value=SCHEMA_VERSION))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back everything on any error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @staticmethod
    def log(session: Session, actor: str, action: str, entity: str, entity_id: Any = "",
            **detail: Any) -> None:
        session.add(EventRow(actor=actor, action=action, entity=entity,
                             entity_id=str(entity_id), detail=detail))

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

    # -- transcripts -----------------------------------------------------------------------
    def add_document(self, doc: ImportedDocument, actor: str) -> ImportOutcome:
        """Add a transcript (and any codings it carries) unless the same text is already here."""
        tr = doc.transcript
        digest = content_hash(tr.text)
        with self.transaction() as s:
            same = s.scalars(select(TranscriptRow).where(
                TranscriptRow.content_hash == digest)).first()
            if same is not None:
                note = "" if same.name == tr.name else f"same text as {same.name!r}"
                return ImportOutcome(same.name, "unchanged", note=note)
            if s.scalars(select(TranscriptRow.id).where(TranscriptRow.name == tr.name)).first():
                raise StoreError(f"a different transcript named {tr.name!r} is already in the "
                                 "project", path=tr.source or None,
                                 hint="rename the file to import it as a new transcript")
            row = TranscriptRow(name=tr.name, content_hash=digest, text=tr.text, source=tr.source,
                                format=tr.format, attributes=dict(tr.attributes))
            row.segments = [SegmentRow(idx=g.index, start_char=g.start, end_char=g.end,
                                       speaker=g.speaker, role=g.role, timestamp=g.timestamp)
                            for g in tr.segments]
            s.add(row)
            s.flush()
            for c in doc.codings:
                s.add(_coding_row(c, row.id))
            self.log(s, actor, "import", "transcript", tr.name, source=tr.source,
                     segments=len(tr.segments), codings=len(doc.codings))
            return ImportOutcome(tr.name, "added", codings=len(doc.codings))

    def transcripts(self) -> list[TranscriptInfo]:
        with self.transaction() as s:
            counts = dict(s.execute(select(SegmentRow.transcript_id, func.count())
                                    .group_by(SegmentRow.transcript_id)).all())
            rows = s.scalars(select(TranscriptRow).order_by(TranscriptRow.name)).all()
            return [TranscriptInfo(r.id, r.name, dict(r.attributes or {}), counts.get(r.id, 0),
                                   r.format, r.source) for r in rows]

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
    def replace_suggestions(self, transcript: str, suggestions: list[Suggestion],
                            actor: str, sources: Iterable[str] | None = None) -> int:
        """Swap a transcript's pending machine suggestions for new ones, in one transaction.

        Decided codings (accepted or rejected by a person) are never touched, and a suggestion
        for a code a person already decided on that segment is not made again.
        """
        with self.transaction() as s:
            tid = self._transcript_id(s, transcript)
            stmt = delete(CodingRow).where(CodingRow.transcript_id == tid,
                                           CodingRow.status == "suggested",
                                           CodingRow.source != "manual")
            if sources is not None:
                stmt = stmt.where(CodingRow.source.in_(list(sources)))
            removed = s.execute(stmt).rowcount
            decided = set(s.execute(select(CodingRow.segment_idx, CodingRow.code_id).where(
                CodingRow.transcript_id == tid, CodingRow.status != "suggested")).all())
            pending = set(s.execute(select(CodingRow.segment_idx, CodingRow.code_id).where(
                CodingRow.transcript_id == tid, CodingRow.status == "suggested")).all())
            added = 0
            now = utcnow()
            for sug in suggestions:
                key = (sug.segment_index, sug.code_id)
                if key in decided or key in pending:
                    continue
                pending.add(key)
                s.add(CodingRow(transcript_id=tid, segment_idx=sug.segment_index,
                                code_id=sug.code_id, start_char=sug.start, end_char=sug.end,
                                status="suggested", coder=sug.source, source=sug.source,
                                score=sug.score, rationale=sug.rationale, created_at=now,
                                updated_at=now))
                added += 1
            self.log(s, actor, "suggest", "transcript", transcript, added=added, removed=removed)
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

    @staticmethod
    def _transcript_id(s: Session, name: str) -> int:
        tid = s.scalars(select(TranscriptRow.id).where(TranscriptRow.name == name)).first()
        if tid is None:
            raise StoreError(f"no transcript named {name!r} in this project")
        return tid


def _transcript(row: TranscriptRow) -> Transcript:
    text = row.text
    segments = [Segment(index=g.idx, start=g.start_char, end=g.end_char, speaker=g.speaker,
                        text=text[g.start_char:g.end_char], role=g.role, timestamp=g.timestamp)
                for g in row.segments]
    return Transcript(name=row.name, text=text, segments=segments,
                      attributes=dict(row.attributes or {}), source=row.source, format=row.format)


def _coding_row(c: Coding, transcript_id: int) -> CodingRow:
    return CodingRow(transcript_id=transcript_id, segment_idx=c.segment_index, code_id=c.code_id,
                     start_char=c.start, end_char=c.end, status=c.status, coder=c.coder,
                     source=c.source, score=c.score, rationale=c.rationale, memo=c.memo,
                     created_at=c.time, updated_at=c.time)


def _coding(row: CodingRow, transcript: str) -> Coding:
    return Coding(code_id=row.code_id, transcript=transcript, start=row.start_char,
                  end=row.end_char, coder=row.coder, status=row.status,  # type: ignore[arg-type]
                  segment_index=row.segment_idx, time=row.updated_at, memo=row.memo,
                  source=row.source, score=row.score, rationale=row.rationale, id=row.id)
