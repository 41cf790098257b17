"""One coder in two tabs, as real processes on one real SQLite file: the database, not a check
before the insert, keeps a coder to one decision per suggestion and one hand coding per passage
and code (``store.UNIQUE_INDEXES``); an older project's duplicates are resolved on opening."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qualkit import migrate, review
from qualkit.errors import ConflictError, StoreError
from qualkit.model import ImportedDocument, Suggestion, Transcript
from qualkit.segment import parse_turns
from qualkit.store import SCHEMA_VERSION, UNIQUE_INDEXES, CodingRow, Store

from .conftest import drop_tables_after

N = 40
TEXT = "".join(f"Interviewer: Question {i}?\n\nDana: I work alone on task {i} most days.\n\n"
               for i in range(N))


def _project(where: Path | str) -> tuple[str, list[int], list[tuple[int, int]]]:
    """A project (a SQLite file at a path, or a database URL) with one transcript and N
    suggestions (one per participant turn); returns its URL, the suggestion ids and the
    participant turns' spans."""
    url = where if isinstance(where, str) else f"sqlite:///{where}"
    store = Store(url)
    try:
        tr = Transcript("p01", TEXT, parse_turns(TEXT), {}, source="p01.txt", format="txt")
        store.add_document(ImportedDocument(tr, []), "ann")
        turns = [g for g in tr.segments if g.speaker == "Dana"]
        assert len(turns) == N
        store.replace_suggestions("p01", [
            Suggestion("working_alone", "p01", g.index, g.start, g.end, 0.9, "rules")
            for g in turns], "qualkit")
        ids = [c.id for c in store.codings("p01", status="suggested") if c.id is not None]
        return url, sorted(ids), [(g.start, g.end) for g in turns]
    finally:
        store.close()


def _tab(url: str, what: str, items: list[Any], barrier: Any, out: Any) -> None:
    """One browser tab of coder ann: the same N clicks, started together with the other tab."""
    store = Store(url)
    ann = store.login or "ann"  # on a server, the login
    results: list[tuple[str, str]] = []
    try:
        barrier.wait(timeout=30)
        for item in items:
            try:
                if what == "accept":
                    review.accept(store, item, ann)
                elif what == "reject":
                    review.reject(store, item, ann)
                else:
                    review.code_passage(store, "p01", item[0], item[1], "working_alone", ann)
                results.append(("ok", ""))
            except ConflictError as exc:
                results.append(("conflict", str(exc)))
            except Exception as exc:  # noqa: BLE001 - any other failure is what the test catches
                results.append(("other", f"{type(exc).__name__}: {exc}"))
    finally:
        store.close()
        out.put((what, results))


def _race(url: str, plans: list[tuple[str, list[Any]]]) -> dict[str, list[tuple[str, str]]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(plans)), ctx.Queue()
    procs = [ctx.Process(target=_tab, args=(url, what, items, barrier, out))
             for what, items in plans]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return {f"{what}{i}": res for i, (what, res) in enumerate(got)}


def _by_database(results: dict[str, list[tuple[str, str]]]) -> int:
    """Refusals past review's early check, by the unique index (``store.unique_conflict``)."""
    return sum(msg.startswith("you have already") for res in results.values()
               for kind, msg in res if kind == "conflict")


def test_two_tabs_accepting_and_rejecting_the_same_suggestions_leave_one_decision(db_url):
    url, ids, _ = _project(db_url)
    results = _race(url, [("accept", ids), ("reject", ids)])
    outcomes = Counter(kind for res in results.values() for kind, _ in res)
    others = [msg for res in results.values() for kind, msg in res if kind == "other"]
    assert others == []
    assert outcomes["ok"] == N and outcomes["conflict"] == N  # every click: one winner
    assert all("already decided on this suggestion" in msg
               for res in results.values() for kind, msg in res if kind == "conflict")
    store = Store(url)
    try:
        mine = [c for c in store.codings("p01", coder=store.login or "ann")]
        assert Counter(c.suggestion_id for c in mine) == Counter(ids)  # exactly one each
        made = Counter(e.action for e in store.events(1000))
        assert made["accept"] + made["reject"] == N  # no audit event for a refused attempt
    finally:
        store.close()
    print(f"\naccept/reject race: {dict(outcomes)}, refused by the database itself: "
          f"{_by_database(results)}")


def test_two_tabs_coding_the_same_passages_by_hand_leave_one_coding(db_url):
    url, _, spans = _project(db_url)
    results = _race(url, [("code", spans), ("code", spans)])
    outcomes = Counter(kind for res in results.values() for kind, _ in res)
    assert [m for res in results.values() for k, m in res if k == "other"] == []
    assert outcomes["ok"] == N and outcomes["conflict"] == N
    store = Store(url)
    try:
        hand = [c for c in store.codings("p01", coder=store.login or "ann")
                if c.source == "manual"]
        assert Counter((c.start, c.end) for c in hand) == Counter(spans)
    finally:
        store.close()
    print(f"\nhand-coding race: {dict(outcomes)}, refused by the database itself: "
          f"{_by_database(results)}")


def test_the_database_refuses_what_the_early_check_misses(db_url):
    """Past review's friendly check (as when two tabs pass it at the same moment), the
    database refuses: a one-line ConflictError, the transaction rolled back, nothing kept."""
    url, ids, spans = _project(db_url)
    store = Store(url)
    ann = store.login or "ann"
    try:
        first = review.accept(store, ids[0], ann)
        hand = review.code_passage(store, "p01", *spans[1], "working_alone", ann)
        before = (len(store.codings()), len(store.events(1000)))
        for row, message in [
                (dict(suggestion_id=ids[0], status="rejected", source="rules",
                      start_char=first.start, end_char=first.end),
                 "you have already decided on this suggestion"),
                (dict(suggestion_id=None, status="accepted", source="manual",
                      start_char=hand.start, end_char=hand.end),
                 "you have already coded this passage with that code")]:
            with pytest.raises(ConflictError, match=message) as caught:
                with store.transaction() as s:
                    store.log(s, ann, "code", "coding", "x")
                    tid = s.scalars(select(CodingRow.transcript_id)).first()
                    s.add(CodingRow(transcript_id=tid, code_id="working_alone", coder=ann,
                                    **row))
                    s.flush()
            assert "\n" not in str(caught.value)
        assert (len(store.codings()), len(store.events(1000))) == before
        if store.login is None:  # (on a server, bob would log in as bob: tests/test_team.py)
            # another coder's decision on the same suggestion is still welcome
            assert review.reject(store, ids[0], "bob").status == "rejected"
    finally:
        store.close()


def _old_schema(db: Path) -> None:
    """Make a current project look like one written by qualkit with schema version 2."""
    con = sqlite3.connect(db)
    with con:
        for name in UNIQUE_INDEXES:
            con.execute(f"DROP INDEX {name}")
        con.execute("ALTER TABLE codings DROP COLUMN confidence")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        con.execute("DROP TABLE alembic_version")  # made before migrations existed
        drop_tables_after(con.execute, "0003")
    con.close()


def _plant(db: Path, **row: Any) -> int:
    con = sqlite3.connect(db)
    with con:
        cols = {"transcript_id": 1, "segment_idx": 1, "code_id": "working_alone",
                "coder": "ann", "rationale": "", "memo": "", "version": 1,
                "updated_at": row["created_at"], **row}
        cur = con.execute(f"INSERT INTO codings ({', '.join(cols)}) VALUES "
                          f"({', '.join('?' * len(cols))})", list(cols.values()))
    con.close()
    assert cur.lastrowid is not None
    return cur.lastrowid


def test_an_old_project_with_duplicates_upgrades_cleanly_and_undo_still_works(tmp_path):
    db = tmp_path / "q.db"
    url, ids, spans = _project(db)
    _old_schema(db)
    s1, s2 = ids[0], ids[1]
    (a, b), (c, d) = spans[0], spans[2]
    # the later decision was written first (lower id): "earliest" is by time, not by id
    later = _plant(db, suggestion_id=s1, status="rejected", source="rules", start_char=a,
                   end_char=b, created_at="2026-01-02 10:00:00.000000", memo="second tab")
    earliest = _plant(db, suggestion_id=s1, status="accepted", source="rules", start_char=a,
                      end_char=b, created_at="2026-01-01 10:00:00.000000")
    bob = _plant(db, suggestion_id=s1, status="rejected", source="rules", coder="bob",
                 start_char=a, end_char=b, created_at="2026-01-03 10:00:00.000000")
    hand = [_plant(db, suggestion_id=None, status="accepted", source="manual", start_char=c,
                   end_char=d, created_at=f"2026-01-0{day} 10:00:00.000000", memo=f"m{day}")
            for day in (1, 2, 3)]

    store = Store(url)
    try:
        left = {x.id: x for x in store.codings("p01") if x.status != "suggested"}
        assert set(left) == {earliest, bob, hand[0]}
        assert left[earliest].status == "accepted"
        event = next(e for e in store.events(1000) if e.action == "upgrade"
                     and "removed" in e.detail)
        removed = event.detail["removed"]
        assert [r["id"] for r in removed["uq_codings_decision"]] == [later]
        assert removed["uq_codings_decision"][0]["memo"] == "second tab"
        assert [r["id"] for r in removed["uq_codings_hand"]] == hand[1:]
        assert event.detail["removed_count"] == 3
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        with store.engine.connect() as conn:
            have = {r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index'")}
            cols = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(codings)")}
        assert set(UNIQUE_INDEXES) <= have and "confidence" in cols
        with pytest.raises(ConflictError, match="already decided"):
            review.reject(store, s1, "ann")

        # undo and decide again: on a fresh suggestion, and on the decision the upgrade kept
        review.reject(store, s2, "ann")
        assert review.undo(store, "ann").startswith("undid reject")
        assert review.accept(store, s2, "ann").status == "accepted"
        review.remove(store, earliest, "ann")
        assert review.reject(store, s1, "ann").status == "rejected"
        assert review.undo(store, "ann").startswith("undid reject")
        assert review.undo(store, "ann").startswith("undid removing a coding")
        assert store.get_coding(earliest).status == "accepted"
        review.remove(store, hand[0], "ann")
        again = review.code_passage(store, "p01", c, d, "working_alone", "ann")
        assert review.undo(store, "ann").startswith("undid coding a passage")
        assert review.undo(store, "ann").startswith("undid removing a coding")
        assert store.get_coding(hand[0]).memo == "m1" and again.id != hand[0]
    finally:
        store.close()

    # the project was copied before it was changed, and the migration names the copy
    backups = list(tmp_path.glob("q.before-upgrade-v3-*.db"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        "2",)
    assert con.execute("SELECT count(*) FROM codings").fetchone()[0] == len(ids) + 6
    con.close()
    store = Store(url)  # opening again upgrades nothing more
    try:
        upgrades = [e for e in store.events(1000) if e.action == "upgrade"]
        assert [e.entity_id for e in upgrades] == [migrate.head(), "3"]
        assert upgrades[0].detail["backup"] == str(backups[0])
    finally:
        store.close()


@pytest.mark.parametrize("stamp", ["revision", "legacy meta"])
def test_a_project_from_a_newer_qualkit_is_refused(tmp_path, stamp):
    db = tmp_path / "q.db"
    url, _, _ = _project(db)
    con = sqlite3.connect(db)
    with con:
        if stamp == "revision":
            con.execute("UPDATE alembic_version SET version_num = '9999'")
        else:
            con.execute("DROP TABLE alembic_version")
            con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    before = db.read_bytes()
    found = "revision 9999" if stamp == "revision" else "version 99"
    with pytest.raises(StoreError, match=f"newer qualkit .*schema {found}.*upgrade qualkit"):
        Store(url)
    assert db.read_bytes() == before and not list(tmp_path.glob("*before-upgrade*"))


def test_merging_codes_keeps_one_hand_coding_per_passage(tmp_path):
    url, _, spans = _project(tmp_path / "q.db")
    store = Store(url)
    try:
        a, b = spans[0]
        first = review.code_passage(store, "p01", a, b, "working_alone", "ann")
        second = review.code_passage(store, "p01", a, b, "no_debrief", "ann", memo="note")
        store.recode_codings({"no_debrief": "working_alone"}, "ann", "merge")
        hand = [x for x in store.codings("p01", coder="ann") if x.source == "manual"]
        assert [x.id for x in hand] == [first.id]
        event = store.events(1)[0]
        assert [r["id"] for r in event.detail["merged_duplicates"]] == [second.id]
        assert event.detail["merged_duplicates"][0]["memo"] == "note"
    finally:
        store.close()
