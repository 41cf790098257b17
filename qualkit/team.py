"""Team projects on a PostgreSQL server: each member logs in as their own database role.

The project's owner (the role that ran ``qualkit init --db``, owner of the tables) adds members
with ``qualkit team add``. Each project database gets two group roles, ``<database>_coders``
and ``<database>_leads`` (leads are coders too), and the database itself enforces who may do
what, whatever client connects:

- everyone reads everything (agreement needs every coder's decisions);
- row-level security on codings: a member inserts and deletes only codings made under their own
  login, or machine suggestions; a coder updates only those, a lead any (a codebook change
  recodes everyone's codings); on memos (on transcripts and on codes), only one's own;
- journal entries are only added, each under its author's login;
- a trigger keeps who made a coding: its coder never changes, and a coding someone else made
  may only be recoded (code id, version, time), never re-decided, moved or re-memoed;
- audit events are append-only and carry the login (``actor = current_user``);
- coders may not change the codebook, the transcripts or the embedding model; leads may;
- only the project's members (and its owner) may connect to its database at all.

``Store`` records every change under the login (``Store.acting_as``), so a coder naming someone
else is refused before the database has to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .embed import EMBEDDINGS_META
from .errors import QualkitError
from .store import Store

ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Tables every member writes (under the policies below) and tables only leads write.
CODER_WRITES = {"codings": "INSERT, UPDATE, DELETE", "memos": "INSERT, UPDATE, DELETE",
                "events": "INSERT", "embeddings": "INSERT, UPDATE", "topic_runs": "INSERT, UPDATE",
                "meta": "INSERT, UPDATE",  # when the app last retrained; the model: leads
                "coded_ranges": "INSERT, DELETE",
                "code_memos": "INSERT, UPDATE, DELETE",  # one's own memos on codes
                "journal": "INSERT"}  # the project journal: entries only added
LEAD_WRITES = {"transcripts": "INSERT, UPDATE, DELETE", "segments": "INSERT, UPDATE, DELETE",
               "codebook_versions": "INSERT",
               # what exports replace, and recordings: shared by everyone, set by leads
               "pseudonyms": "INSERT, UPDATE, DELETE",
               "media": "INSERT, UPDATE, DELETE", "media_chunks": "INSERT, DELETE"}

GUARD = ("""
CREATE OR REPLACE FUNCTION qualkit_keep_coder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'suggested' THEN
    IF NEW.status <> 'suggested' THEN
      RAISE EXCEPTION 'permission denied: a suggestion is decided on by a new coding, '
                      'not changed into one';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.coder IS DISTINCT FROM OLD.coder THEN
    RAISE EXCEPTION 'permission denied: a coding keeps the coder who made it (%)', OLD.coder;
  END IF;
  IF OLD.coder <> current_user AND
     (NEW.status, NEW.start_char, NEW.end_char, NEW.memo, NEW.transcript_id, NEW.source,
      NEW.segment_idx) IS DISTINCT FROM
     (OLD.status, OLD.start_char, OLD.end_char, OLD.memo, OLD.transcript_id, OLD.source,
      OLD.segment_idx) THEN
    RAISE EXCEPTION 'permission denied: only % may change their own coding', OLD.coder;
  END IF;
  RETURN NEW;
END $$""",
         """
CREATE OR REPLACE FUNCTION qualkit_keep_memo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.coder IS DISTINCT FROM OLD.coder OR (OLD.coder <> current_user AND
     NEW.text IS DISTINCT FROM OLD.text) THEN
    RAISE EXCEPTION 'permission denied: only % may change their own memo', OLD.coder;
  END IF;
  RETURN NEW;
END $$""",
         "DROP TRIGGER IF EXISTS qualkit_keep_memo ON code_memos",
         "CREATE TRIGGER qualkit_keep_memo BEFORE UPDATE ON code_memos "
         "FOR EACH ROW EXECUTE FUNCTION qualkit_keep_memo()",
         "DROP TRIGGER IF EXISTS qualkit_keep_coder ON codings",
         "CREATE TRIGGER qualkit_keep_coder BEFORE UPDATE ON codings "
         "FOR EACH ROW EXECUTE FUNCTION qualkit_keep_coder()")


@dataclass
class Member:
    name: str
    lead: bool


def _server(store: Store) -> None:
    if store.dialect != "postgresql":
        raise QualkitError("team members are database logins on a PostgreSQL server; this "
                           "project is a SQLite file", hint="a team shares one project with "
                           "`qualkit init --db postgresql://OWNER@HOST/DATABASE` (docs/"
                           "reliability.md, 'Running a team server')")


def groups(store: Store) -> tuple[str, str]:
    """The coders' and leads' group roles of this project's database."""
    from sqlalchemy import text

    with store.engine.connect() as conn:
        database = str(conn.execute(text("SELECT current_database()")).scalar())
    base = re.sub(r"[^a-z0-9_]", "_", database.lower())[:50]
    return f"{base}_coders", f"{base}_leads"


def checked_role(name: str) -> str:
    if not ROLE_RE.match(name):
        raise QualkitError(f"{name!r} cannot be a login name", field="name",
                           hint="use lower-case letters, digits and _ (up to 63), starting "
                                "with a letter, e.g. alice or j_smith")
    return name


def _q(conn: Any, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def _literal(value: str) -> str:
    if "\x00" in value:
        raise QualkitError("a password cannot contain a NUL character", field="password")
    return "'" + value.replace("'", "''") + "'"


def setup(store: Store) -> None:
    """Create (or bring up to date) the group roles, grants, row-level security policies and
    the coder guard; the owner runs it (``team add`` does, every time)."""
    from sqlalchemy import text

    _server(store)
    coders, leads = groups(store)
    with store.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7275736501)"))
        c, ld = _q(conn, coders), _q(conn, leads)
        for role in (coders, leads):
            if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                {"r": role}).scalar():
                conn.execute(text(f"CREATE ROLE {_q(conn, role)} NOLOGIN"))
        conn.execute(text(f"GRANT {c} TO {ld}"))  # a lead is a coder too
        database = _q(conn, str(conn.execute(text("SELECT current_database()")).scalar()))
        conn.execute(text(f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC"))
        conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {c}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {c}"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {c}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {c}"))
        for table, rights in CODER_WRITES.items():
            conn.execute(text(f"GRANT {rights} ON {table} TO {c}"))
        for table, rights in LEAD_WRITES.items():
            conn.execute(text(f"GRANT {rights} ON {table} TO {ld}"))
        mine = "coder = current_user"
        suggestion = "status = 'suggested'"
        not_model = f"key <> '{EMBEDDINGS_META}'"
        lead = f"pg_has_role(current_user, '{leads}', 'MEMBER')"
        policies = {
            "codings": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_insert", "INSERT", f"WITH CHECK ({mine} OR {suggestion})"),
                ("qk_update", "UPDATE", f"USING ({mine} OR {suggestion} OR {lead}) "
                                        "WITH CHECK (true)"),
                ("qk_delete", "DELETE", f"USING ({mine} OR {suggestion})")],
            "memos": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_own", "ALL", f"USING ({mine}) WITH CHECK ({mine})")],
            "coded_ranges": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_own", "ALL", f"USING ({mine}) WITH CHECK ({mine})")],
            "events": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_insert", "INSERT", "WITH CHECK (actor = current_user)")],
            "code_memos": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_own", "ALL", f"USING ({mine}) WITH CHECK ({mine})"),
                # a lead's codebook change moves everyone's memos to the new code id; the
                # trigger below lets nothing else of another person's memo change
                ("qk_lead_move", "UPDATE", f"USING ({lead}) WITH CHECK ({lead})")],
            "journal": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_insert", "INSERT", "WITH CHECK (author = current_user)")],
            # the embedding model shapes everyone's suggestions: a lead's choice, as the
            # codebook is
            "meta": [
                ("qk_read", "SELECT", "USING (true)"),
                ("qk_insert", "INSERT", f"WITH CHECK ({not_model} OR {lead})"),
                ("qk_update", "UPDATE", f"USING ({not_model} OR {lead}) "
                                        f"WITH CHECK ({not_model} OR {lead})")],
        }
        for table, rules in policies.items():
            conn.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
            for name, command, clause in rules:
                conn.execute(text(f"DROP POLICY IF EXISTS {name} ON {table}"))
                conn.execute(text(f"CREATE POLICY {name} ON {table} FOR {command} TO {c} "
                                  f"{clause}"))
        for statement in GUARD:
            conn.execute(text(statement))


def add_member(store: Store, name: str, password: str | None, lead: bool = False) -> None:
    """A login for ``name`` (created, or an existing role given access) in the coders' group,
    and the leads' too with ``lead``."""
    from sqlalchemy import text

    checked_role(name)
    setup(store)
    coders, leads = groups(store)
    with store.engine.begin() as conn:
        role = _q(conn, name)
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                              {"r": name}).scalar()
        if not exists:
            conn.execute(text(f"CREATE ROLE {role} LOGIN"
                              + (f" PASSWORD {_literal(password)}" if password else "")))
        elif password:
            conn.execute(text(f"ALTER ROLE {role} PASSWORD {_literal(password)}"))
        conn.execute(text(f"GRANT {_q(conn, coders)} TO {role}"))
        if lead:
            conn.execute(text(f"GRANT {_q(conn, leads)} TO {role}"))
        else:
            conn.execute(text(f"REVOKE {_q(conn, leads)} FROM {role}"))
    store.log_now(store.login or "owner", "team", "member", name, lead=lead,
                  created=not exists)


def remove_member(store: Store, name: str) -> None:
    """Take the login out of the project's groups: it can no longer open the project. The
    role itself stays, so every decision keeps the name it was made under."""
    from sqlalchemy import text

    _server(store)
    checked_role(name)
    coders, leads = groups(store)
    with store.engine.begin() as conn:
        for group in (leads, coders):
            conn.execute(text(f"REVOKE {_q(conn, group)} FROM {_q(conn, name)}"))
    store.log_now(store.login or "owner", "team-remove", "member", name)


def has_team(store: Store) -> bool:
    """Whether members were ever added to this project (its group roles exist)."""
    from sqlalchemy import text

    if store.dialect != "postgresql":
        return False
    with store.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :c"),
                                 {"c": groups(store)[0]}).scalar())


def members(store: Store) -> list[Member]:
    from sqlalchemy import text

    _server(store)
    coders, leads = groups(store)
    with store.engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname IN (:c, :l)"),
                        {"c": coders, "l": leads}).scalar() != 2:
            return []  # no member added yet
        rows = conn.execute(text(
            "SELECT m.rolname, pg_has_role(m.oid, :leads, 'MEMBER') FROM pg_roles m "
            "WHERE m.rolcanlogin AND pg_has_role(m.oid, :coders, 'MEMBER') "
            "AND NOT m.rolsuper ORDER BY m.rolname"), {"coders": coders, "leads": leads})
        return [Member(str(n), bool(lead)) for n, lead in rows]
