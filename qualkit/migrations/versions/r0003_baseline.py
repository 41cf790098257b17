"""The schema as of qualkit's schema version 3, the first release with migrations.

A new project starts here; a project made before migrations existed is brought to version 3 by
``Store``'s in-place upgrade (added columns, duplicates resolved into an audit event) and then
stamped with this revision.

Revision ID: 0003
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = None
branch_labels = None
depends_on = None

DECISION = "suggestion_id IS NOT NULL"
HAND = "suggestion_id IS NULL AND source = 'manual'"


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False))
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False, unique=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_transcripts_content_hash", "transcripts", ["content_hash"])
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("transcript_id", sa.Integer(),
                  sa.ForeignKey("transcripts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("start_char", sa.Integer(), nullable=False),
        sa.Column("end_char", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(200), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("timestamp", sa.String(20), nullable=True),
        sa.UniqueConstraint("transcript_id", "idx"))
    op.create_table(
        "codings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("transcript_id", sa.Integer(),
                  sa.ForeignKey("transcripts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("segment_idx", sa.Integer(), nullable=True),
        sa.Column("code_id", sa.String(200), nullable=False),
        sa.Column("start_char", sa.Integer(), nullable=False),
        sa.Column("end_char", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("coder", sa.String(200), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(),
                  sa.ForeignKey("codings.id", ondelete="SET NULL"), nullable=True))
    op.create_index("ix_codings_code", "codings", ["code_id"])
    op.create_index("ix_codings_suggestion_id", "codings", ["suggestion_id"])
    op.create_index("ix_codings_transcript_status", "codings", ["transcript_id", "status"])
    op.create_index("uq_codings_decision", "codings", ["suggestion_id", "coder"], unique=True,
                    sqlite_where=sa.text(DECISION), postgresql_where=sa.text(DECISION))
    op.create_index("uq_codings_hand", "codings",
                    ["transcript_id", "coder", "code_id", "start_char", "end_char"],
                    unique=True, sqlite_where=sa.text(HAND), postgresql_where=sa.text(HAND))
    op.create_table(
        "memos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("transcript_id", sa.Integer(),
                  sa.ForeignKey("transcripts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("coder", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("transcript_id", "coder"))
    op.create_table(
        "embeddings",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary(), nullable=False))
    op.create_table(
        "topic_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False))
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.String(300), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False))
    op.create_index("ix_events_at", "events", ["at"])
