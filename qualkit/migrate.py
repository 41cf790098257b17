"""Schema migrations of a project database (Alembic, SQLite and PostgreSQL alike).

A project's schema is the Alembic revision stamped in it. Opening a project (``Store``):

- an empty database gets the whole schema, in one transaction;
- a SQLite project at an older revision (or made before migrations existed) is first copied to a
  backup file beside it (``backup_sqlite``), then upgraded in one transaction;
- a PostgreSQL project at an older revision is not changed on open (a coder's login may not
  alter tables, and a whole team shares it): the owner runs ``qualkit upgrade``, which dumps the
  database with ``pg_dump`` first;
- a project stamped with a revision this release does not know was written by a newer qualkit
  and is refused, untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0003"  # schema version 3, the last made without migrations (store's _upgrade)


@dataclass
class SchemaState:
    """What a database holds: nothing yet, a project from before migrations, or a revision."""

    empty: bool
    revision: str | None

    @property
    def legacy(self) -> bool:
        return not self.empty and self.revision is None


def _config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _script() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this release knows."""
    revision = _script().get_current_head()
    assert revision is not None  # the package ships its migrations
    return str(revision)


def known(revision: str) -> bool:
    return revision in {s.revision for s in _script().walk_revisions()}


def state(connection: Any) -> SchemaState:
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    tables = set(inspect(connection).get_table_names())
    revision = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(empty=not (tables - {"alembic_version"}), revision=revision)


def schema_current(url: str) -> bool:
    """Whether the database at ``url`` is at this release's revision (nothing to upgrade)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return state(conn).revision == head()
    finally:
        engine.dispose()


def upgrade(connection: Any, to: str = "head") -> None:
    """Run the migrations from the stamped revision to ``to`` on ``connection``, inside the
    transaction the caller holds."""
    from alembic import command

    command.upgrade(_config(connection), to)


def stamp(connection: Any, revision: str) -> None:
    from alembic import command

    command.stamp(_config(connection), revision)


def backup_name(database: Path, revision: str | None) -> Path:
    stamp_ = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return database.with_name(f"{database.stem}.before-upgrade-{revision or 'v3'}-{stamp_}.db")


def backup_sqlite(database: Path, revision: str | None) -> Path:
    """A consistent copy of a SQLite project (SQLite's online backup, so a writer elsewhere
    cannot tear it) beside the original, before it is upgraded."""
    import sqlite3

    target = backup_name(database, revision)
    try:
        src, dst = sqlite3.connect(database), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise StoreError(f"cannot back up the project before upgrading it ({exc}); it was "
                         "not changed", path=str(database),
                         hint="check the folder is writable and has free space") from None
    return target


def backup_postgres(url: str, folder: Path) -> Path:
    """``pg_dump`` of a PostgreSQL project into ``folder`` (custom format: restore with
    ``pg_restore``)."""
    from sqlalchemy.engine import make_url

    from .store import mask_url

    tool = shutil.which("pg_dump")
    if tool is None:
        raise StoreError("pg_dump was not found, so no backup can be made; the project was not "
                         "upgraded", hint="install the PostgreSQL client tools (Debian: "
                                          "postgresql-client), or back the database up yourself "
                                          "and run `qualkit upgrade --no-backup`")
    parsed = make_url(url)
    stamp_ = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{parsed.database}.before-upgrade-{stamp_}.dump"
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    args = [tool, "--format=custom", f"--file={target}", "--no-password",
            f"--dbname={parsed.database}"]
    if parsed.host:
        args.append(f"--host={parsed.host}")
    if parsed.port:
        args.append(f"--port={parsed.port}")
    if parsed.username:
        args.append(f"--username={parsed.username}")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        first = (done.stderr.strip().splitlines() or ["pg_dump failed"])[0]
        raise StoreError(f"the backup failed ({mask_url(first, url)}); the project was not "
                         "upgraded", hint="check pg_dump can reach the database as this login")
    return target
