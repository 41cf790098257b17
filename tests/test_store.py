"""The project store on a real SQLite file: imports, dedupe, transactions, audit events."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from qualkit.errors import StoreError
from qualkit.model import Coding, ImportedDocument, Suggestion, Transcript
from qualkit.segment import parse_turns
from qualkit.store import Store, mask_url, store_error

from .conftest import drop_tables_after


def doc(name: str, text: str, codings: list[Coding] | None = None) -> ImportedDocument:
    return ImportedDocument(Transcript(name, text, parse_turns(text), {"region": "North"},
                                       source=f"{name}.txt", format="txt"), codings or [])


TEXT = "Interviewer: How is it?\n\nDana: I work alone and nobody else is around.\n"


@pytest.fixture
def store(db_url):
    """Each store test runs on a SQLite file and on a PostgreSQL server."""
    s = Store(db_url)
    yield s
    s.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_import_round_trips_and_does_not_duplicate(store):
    assert store.add_document(doc("p01", TEXT), "ann").status == "added"
    again = store.add_document(doc("p01", TEXT), "ann")
    assert again.status == "unchanged"
    renamed = store.add_document(doc("copy_of_p01", TEXT), "ann")
    assert renamed.status == "unchanged" and "p01" in renamed.note
    assert store.transcript_names() == ["p01"]
    back = store.load_transcript("p01")
    original = doc("p01", TEXT).transcript
    assert back.text == original.text and back.segments == original.segments
    assert back.attributes == {"region": "North"}


def test_same_name_different_text_is_refused(store):
    store.add_document(doc("p01", TEXT), "ann")
    with pytest.raises(StoreError, match="different transcript named 'p01'.*rename the file"):
        store.add_document(doc("p01", TEXT + "\nDana: more.\n"), "ann")


def test_failed_import_leaves_nothing_behind(store, tmp_path):
    bad = Coding(code_id="x", transcript="p01", start=0, end=5, coder="ann")
    bad.start = None  # violates NOT NULL in the middle of the transaction
    with pytest.raises(StoreError, match=r"the database refused the change \((NOT NULL "
                       r"constraint failed: codings\.start_char|null value in column "
                       r"\"start_char\" .*violates not-null constraint)\); nothing was changed"):
        store.add_document(doc("p01", TEXT, [bad]), "ann")
    from sqlalchemy import text

    with store.engine.connect() as conn:
        counts = [conn.execute(text(f"select count(*) from {t}")).scalar()
                  for t in ("transcripts", "segments", "codings", "events")]
    assert counts == [0, 0, 0, 0]


def test_every_change_writes_an_audit_event(store):
    started = datetime.now(UTC)
    store.add_document(doc("p01", TEXT), "ann")
    store.replace_suggestions("p01", [Suggestion("working_alone", "p01", 1, 31, 43, 0.6,
                                                 "rules", "matched")], "bot")
    store.set_meta("codebook", "x", "ann")
    events = store.events()
    # on a server every event names the database login, whatever name the caller gave
    ann, bot = store.login or "ann", store.login or "bot"
    assert [(e.actor, e.action, e.entity, e.entity_id) for e in events] == [
        (ann, "set", "meta", "codebook"), (bot, "suggest", "transcript", "p01"),
        (ann, "import", "transcript", "p01")]
    assert events[1].detail == {"added": 1, "updated": 0, "removed": 0}
    # stamped in UTC when the change was made (SQLite keeps no zone: its times are UTC)
    for e in events:
        at = e.at if e.at.tzinfo is not None else e.at.replace(tzinfo=UTC)
        assert started - timedelta(seconds=1) <= at <= datetime.now(UTC), e


def test_replace_suggestions_keeps_decisions_and_does_not_resuggest(store):
    store.add_document(doc("p01", TEXT, [Coding("working_alone", "p01", 31, 43, "ann",
                                                "rejected", segment_index=1)]), "ann")
    sugg = [Suggestion("working_alone", "p01", 1, 31, 43, 0.6, "rules"),
            Suggestion("no_debrief", "p01", 1, 31, 43, 0.6, "rules")]
    assert store.replace_suggestions("p01", sugg, "bot") == 1
    first = store.codings("p01", status="suggested")
    sugg[1].score = 0.7
    assert store.replace_suggestions("p01", sugg, "bot") == 0  # updated in place, not added
    again = store.codings("p01", status="suggested")
    assert [c.id for c in again] == [c.id for c in first] and again[0].score == 0.7
    by_status = {(c.code_id, c.status) for c in store.codings("p01")}
    assert by_status == {("working_alone", "rejected"), ("no_debrief", "suggested")}
    assert store.status_counts()["by_status"] == {"suggested": 1, "accepted": 0, "rejected": 1}
    assert store.events(1)[0].detail == {"added": 0, "updated": 1, "removed": 0}
    assert store.replace_suggestions("p01", [], "bot") == 0  # no longer suggested: removed
    assert store.codings("p01", status="suggested") == []


def test_unknown_transcript_is_a_clear_error(store):
    with pytest.raises(StoreError, match="no transcript named 'nope'"):
        store.load_transcript("nope")


def test_bad_database_url_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot open database"):
        Store("nosuchdialect://x")


def test_a_locked_database_is_one_clear_line(tmp_path):
    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}", busy_timeout=0.1)
    store.add_document(doc("p01", TEXT), "ann")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        with pytest.raises(StoreError) as info:
            store.set_meta("codebook", "x", "ann")
        text = str(info.value)
        assert "\n" not in text and "Traceback" not in text and "[SQL" not in text
        assert text == (f"sqlite:///{path}: the project database is busy (database is "
                        "locked); nothing was changed (another program (the app, or another "
                        "qualkit command) is writing to it: try again in a moment)")
        assert store.transcript_names() == ["p01"]  # reading still works (WAL)
    finally:
        other.rollback()
        other.close()
    store.set_meta("codebook", "x", "ann")  # and writing again once the lock is gone
    assert store.get_meta("codebook") == "x"
    store.close()


SECRET = "s3cret-pw%21"  # as written in the URL; the driver sees "s3cret-pw!"


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:1/qual",  # driver missing or server down
    f"postgresql://bob:{SECRET}@db.example:notaport/qual",  # a malformed URL
    f"nosuchdialect://bob:{SECRET}@db.example/qual",
])
def test_a_database_password_never_appears_in_an_error(url):
    with pytest.raises(StoreError) as info:
        Store(url)
    text = str(info.value)
    assert "bob:***@" in text and "s3cret" not in text and "\n" not in text


def test_a_lost_connection_names_no_password():
    url = f"postgresql+psycopg://bob:{SECRET}@db.example/qual"
    driver = Exception(f"connection to {url.replace(SECRET, 's3cret-pw!')} failed: "
                       "server closed the connection unexpectedly\nSome detail")
    error = store_error(OperationalError("SELECT 1", {}, driver), url)
    assert str(error) == (
        "postgresql+psycopg://bob:***@db.example/qual: cannot reach the project database "
        "(connection to postgresql+psycopg://bob:***@db.example/qual failed: server closed the "
        "connection unexpectedly); nothing was changed (check the database (file or server) is "
        "there and reachable, then try again)")
    assert mask_url(f"{SECRET} and s3cret-pw!", url) == "*** and ***"


def test_a_coding_id_is_never_used_twice(store):
    """Undoing the newest coding must not hand its id to the next one: the audit log names
    codings by id."""
    from qualkit import review

    store.add_document(doc("p01", TEXT), "ann")
    ann = store.login or "ann"
    first = review.code_passage(store, "p01", 31, 43, "working_alone", ann)
    review.undo(store, ann)
    second = review.code_passage(store, "p01", 31, 43, "working_alone", ann)
    assert second.id != first.id
    named = [e.entity_id for e in store.events(100) if e.entity == "coding"
             and e.action == "code"]
    assert sorted(named) == sorted({str(first.id), str(second.id)})


def test_the_id_rebuild_keeps_every_link_and_starts_above_the_logged_ids(tmp_path):
    """A release-4 SQLite project (no AUTOINCREMENT) whose newest coding was undone: the
    upgrade rebuilds codings with every decision still linked to its suggestion, and the next
    coding gets an id the audit log has never named."""
    from qualkit import review

    db = tmp_path / "q.db"
    store = Store(f"sqlite:///{db}")
    store.add_document(doc("p01", TEXT), "ann")
    store.replace_suggestions("p01", [Suggestion("working_alone", "p01", 1, 31, 43, 0.6,
                                                 "rules", "matched")], "bot")
    sid = store.codings(status="suggested")[0].id
    decision = review.accept(store, sid, "ann")
    undone = review.code_passage(store, "p01", 0, 10, "working_alone", "ann")
    review.undo(store, "ann")
    store.close()
    con = sqlite3.connect(db)
    with con:  # as release 4 made it: no coded_ranges, a plain INTEGER PRIMARY KEY
        drop_tables_after(con.execute, "0004")
        con.execute("DELETE FROM sqlite_sequence WHERE name = 'codings'")
        con.execute("UPDATE alembic_version SET version_num = '0004'")
    con.close()
    store = Store(f"sqlite:///{db}")
    try:
        assert store.get_coding(decision.id).suggestion_id == sid
        assert store.backup is not None
        again = review.code_passage(store, "p01", 0, 10, "working_alone", "ann")
        assert again.id > undone.id
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        store.close()
