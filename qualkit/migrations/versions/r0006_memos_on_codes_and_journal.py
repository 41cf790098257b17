"""Memos on codes and themes, and the project journal.

- ``code_memos``: one memo per coder and code id (a theme is a code with codes under it): what
  the code has come to mean, why it was split or merged, questions about it.
- ``journal``: the project's reflexive journal, entries only ever added (who and when).

Both are new tables: no existing data moves. ``qualkit.report`` carries them into the methods
appendix.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _code_memos()
    _journal()


def _code_memos() -> None:
    op.create_table(
        "code_memos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_id", sa.String(200), nullable=False),
        sa.Column("coder", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code_id", "coder"))
    op.create_index("ix_code_memos_code_id", "code_memos", ["code_id"])


def _journal() -> None:
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False))
    op.create_index("ix_journal_at", "journal", ["at"])
