"""A fresh, empty PostgreSQL database for one test or benchmark run, dropped afterwards with
every login named after it (team logins in tests and benchmarks are named so). One home for
the fixture in tests/conftest.py and the crash and load benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database(admin_url: str, prefix: str = "qk") -> Iterator[str]:
    """Yield the URL of a new database ``<prefix>_<random>`` made through ``admin_url`` (a
    role that may create databases and roles)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                for (role,) in conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname "
                                                 "LIKE :p"), {"p": f"{name}%"}).all():
                    conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    finally:
        admin.dispose()
