"""What each coder has worked through, and coding ids that are never used twice.

- ``coded_ranges``: a coder marks a transcript (or a range of its turns) as fully coded, so
  agreement counts them there even where they applied nothing; elsewhere a coder counts only
  in the turns where they made a decision.
- On SQLite, ``codings.id`` becomes AUTOINCREMENT: without it, undoing the newest coding let the
  next one take its id, and the audit log showed one id for two codings. SQLite cannot alter a
  primary key, so the table is rebuilt (SQLite's documented procedure: ``qualkit.store`` runs
  this with foreign keys off, inside one transaction, and checks them before committing); the
  sequence starts above every coding id the audit log has ever named. PostgreSQL sequences
  never reuse an id.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("id, transcript_id, segment_idx, code_id, start_char, end_char, status, coder, "
           "source, score, confidence, rationale, memo, created_at, updated_at, version, "
           "suggestion_id")
INDEXES = (
    "CREATE INDEX ix_codings_code ON codings (code_id)",
    "CREATE INDEX ix_codings_suggestion_id ON codings (suggestion_id)",
    "CREATE INDEX ix_codings_transcript_status ON codings (transcript_id, status)",
    "CREATE UNIQUE INDEX uq_codings_decision ON codings (suggestion_id, coder) "
    "WHERE suggestion_id IS NOT NULL",
    "CREATE UNIQUE INDEX uq_codings_hand ON codings "
    "(transcript_id, coder, code_id, start_char, end_char) "
    "WHERE suggestion_id IS NULL AND source = 'manual'",
)


def upgrade() -> None:
    op.create_table(
        "coded_ranges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("transcript_id", sa.Integer(),
                  sa.ForeignKey("transcripts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("coder", sa.String(200), nullable=False),
        sa.Column("first_segment", sa.Integer(), nullable=False),
        sa.Column("last_segment", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_coded_ranges_transcript", "coded_ranges", ["transcript_id", "coder"])
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("""CREATE TABLE codings_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        transcript_id INTEGER NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
        segment_idx INTEGER,
        code_id VARCHAR(200) NOT NULL,
        start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL,
        status VARCHAR(20) NOT NULL,
        coder VARCHAR(200) NOT NULL,
        source VARCHAR(50) NOT NULL,
        score FLOAT,
        confidence FLOAT,
        rationale TEXT NOT NULL,
        memo TEXT NOT NULL,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL,
        version INTEGER NOT NULL,
        suggestion_id INTEGER REFERENCES codings (id) ON DELETE SET NULL)""")
    op.execute(f"INSERT INTO codings_new ({COLUMNS}) SELECT {COLUMNS} FROM codings")
    op.execute("DROP TABLE codings")
    op.execute("ALTER TABLE codings_new RENAME TO codings")
    for statement in INDEXES:
        op.execute(statement)
    # never again an id the audit log has named (the newest coding may have been undone)
    named = ("coalesce((SELECT max(CAST(entity_id AS INTEGER)) FROM events "
             "WHERE entity = 'coding' AND entity_id GLOB '[0-9]*'), 0)")
    op.execute(f"UPDATE sqlite_sequence SET seq = max(seq, {named}) WHERE name = 'codings'")
    op.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT 'codings', {named} WHERE NOT "
               "EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'codings')")
