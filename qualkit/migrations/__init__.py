"""Alembic migrations of the project database (SQLite and PostgreSQL alike); run by
``qualkit.migrate``, never by hand. Add one with ``alembic -c qualkit/migrations/alembic.ini
revision -m "what changes"`` and write its upgrade explicitly (no autogenerate at run time)."""
