"""Pseudonyms and recordings.

- ``pseudonyms``: the project's table of identifying strings (a participant's or colleague's
  name, a place, an employer) and what each is replaced with in a pseudonymised export. The
  original text of a transcript is never changed. ``status`` is ``use`` (replaced in exports),
  ``proposed`` (a candidate qualkit found, waiting for the researcher) or ``ignore`` (the
  researcher said it is not identifying); ``origin`` says where it came from (speaker,
  attribute, front matter, added by hand, proposed).
- ``media`` and ``media_chunks``: an audio or video recording of a transcript, stored in the
  database in chunks, so a team project on a server shares it and nothing is read whole into
  memory.

- ``transcripts.pages``: where each page of a paged source (a PDF) starts, as character
  offsets, so a quote can cite its page; ``transcripts.layout``: how the text was cut into
  segments (speaker turns or paragraphs). Both nullable: existing transcripts have neither.

New tables and nullable columns only: no existing data moves.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transcripts", sa.Column("pages", sa.JSON(), nullable=True))
    op.add_column("transcripts", sa.Column("layout", sa.String(20), nullable=True))
    op.create_table(
        "pseudonyms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("original", sa.String(300), nullable=False),
        sa.Column("replacement", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("original"))
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("transcript_id", sa.Integer(),
                  sa.ForeignKey("transcripts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.UniqueConstraint("transcript_id"))
    op.create_table(
        "media_chunks",
        sa.Column("media_id", sa.Integer(), sa.ForeignKey("media.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False))
