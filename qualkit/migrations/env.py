"""Runs migrations on the connection ``qualkit.migrate`` hands over, inside its transaction
(so the schema change, the data it moves and the version stamp commit together or not at all)."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("qualkit migrations run through qualkit.migrate, which passes a connection")
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
