"""The codebook lives in the database: one row per version, so every member of a team (and
every folder opened on one database) works from the same codebook, and a codebook change
commits in the same transaction as the codings it recodes. codebook.yaml becomes a view of
the newest version (``qualkit.project``).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "codebook_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False))
    op.create_index("ix_codebook_versions_digest", "codebook_versions", ["digest"])
