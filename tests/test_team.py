"""A team project on a real PostgreSQL server: each member logs in as their own role, and the
database (row-level security, grants, a trigger), not only qualkit, stops one member writing,
deciding or undoing as another; everyone works from the one codebook stored in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from qualkit import review, team
from qualkit.cli import app as cli_app
from qualkit.codebook import edit
from qualkit.errors import ConflictError, QualkitError, StoreError
from qualkit.migrate import head
from qualkit.pipeline import code_project
from qualkit.project import init_project, open_project
from qualkit.retrain import TRAINED_ON
from qualkit.store import Store, without_login
from tests.conftest import build_project, drop_tables_after, login_url

TEXT = ("Interviewer: How is the job?\n\nDana: I work alone most days and nobody else is "
        "around.\n\nInterviewer: And after a hard call?\n\nDana: There is no one to debrief "
        "with, so I offload at home.\n")


@pytest.fixture
def team_project(pg_url, tmp_path):
    """The owner's project on the server, coded by the rules, with members alice and bob
    (coders) and carol (lead); returns (owner's project, {name: login URL})."""
    owner = build_project(tmp_path / "owner", db_url=pg_url, transcripts={"p01.txt": TEXT},
                          suggesters=("rules",), actor=make_url(pg_url).username)
    prefix = make_url(pg_url).database
    urls = {}
    for name, lead in (("alice", False), ("bob", False), ("carol", True)):
        role = f"{prefix}_{name}"
        team.add_member(owner.store, role, f"pw-{name}", lead=lead)
        urls[name] = login_url(pg_url, role, f"pw-{name}")
    yield owner, urls
    owner.close()


def _as(urls, name, tmp_path):
    """The member's own folder on the shared database."""
    return open_project(tmp_path / name, urls[name]) if (tmp_path / name).exists() else \
        init_project(tmp_path / name, db_url=urls[name])


def test_decisions_and_events_carry_the_login_and_naming_another_is_refused(team_project,
                                                                            tmp_path):
    owner, urls = team_project
    alice = _as(urls, "alice", tmp_path)
    login = alice.store.login
    assert login.endswith("_alice")
    sid = alice.store.codings(status="suggested")[0].id
    accepted = review.accept(alice.store, sid, login)
    assert accepted.coder == login
    assert alice.store.events(1)[0].actor == login
    bob = f"{make_url(urls['bob']).username}"
    with pytest.raises(ConflictError, match=f"connected to the project database as '{login}'"):
        review.reject(alice.store, sid, bob)
    with pytest.raises(ConflictError, match="not as"):
        review.undo(alice.store, bob)
    # marking a transcript as coded is hers too
    review.mark_coded(alice.store, "p01", login)
    assert alice.store.coded_ranges()["p01"] == {login: [(0, 3)]}
    # a command with no name acts as the login; with another name it is refused
    assert alice.actor() == login
    with pytest.raises(ConflictError):
        alice.actor(bob)
    alice.close()


def test_the_database_itself_stops_a_member_writing_or_undoing_as_another(team_project,
                                                                          tmp_path):
    owner, urls = team_project
    bob = _as(urls, "bob", tmp_path)
    sid = bob.store.codings(status="suggested")[0].id
    made = review.accept(bob.store, sid, bob.store.login)
    review.set_transcript_memo(bob.store, "p01", "Bob's memo", bob.store.login)
    alice = Store(urls["alice"])
    try:
        with alice.engine.connect() as conn:
            # insert a decision under bob's name: row-level security refuses it
            with pytest.raises(Exception, match="row-level security"):
                conn.execute(text(
                    "INSERT INTO codings (transcript_id, code_id, start_char, end_char, status, "
                    "coder, source, rationale, memo, created_at, updated_at, version) "
                    "SELECT transcript_id, code_id, start_char, end_char, 'accepted', :bob, "
                    "'manual', '', '', now(), now(), 1 FROM codings LIMIT 1"),
                    {"bob": bob.store.login})
            conn.rollback()
            # delete or change bob's decision and memo: nothing of his is visible to change
            assert conn.execute(text("DELETE FROM codings WHERE id = :i"),
                                {"i": made.id}).rowcount == 0
            assert conn.execute(text("UPDATE codings SET status = 'rejected' WHERE id = :i"),
                                {"i": made.id}).rowcount == 0
            assert conn.execute(text("UPDATE memos SET text = 'x'")).rowcount == 0
            with pytest.raises(Exception, match="row-level security"):
                conn.execute(text(
                    "INSERT INTO coded_ranges (transcript_id, coder, first_segment, "
                    "last_segment, created_at) SELECT id, :bob, 0, 1, now() FROM transcripts"),
                    {"bob": bob.store.login})
            conn.rollback()
            # the audit log is append-only, and an event must name the login
            with pytest.raises(Exception, match="permission denied"):
                conn.execute(text("DELETE FROM events"))
            conn.rollback()
            with pytest.raises(Exception, match="row-level security"):
                conn.execute(text("INSERT INTO events (at, actor, action, entity, entity_id, "
                                  "detail) VALUES (now(), :bob, 'undo', 'coding', '1', '{}')"),
                             {"bob": bob.store.login})
            conn.rollback()
        # a lead may recode anyone's coding (a codebook change) but never re-decide it
        carol = Store(urls["carol"])
        try:
            with carol.engine.connect() as conn:
                with pytest.raises(Exception, match="only .*_bob may change their own coding"):
                    conn.execute(text("UPDATE codings SET status = 'rejected' WHERE id = :i"),
                                 {"i": made.id})
                conn.rollback()
                with pytest.raises(Exception, match="keeps the coder who made it"):
                    conn.execute(text("UPDATE codings SET coder = current_user WHERE id = :i"),
                                 {"i": made.id})
                conn.rollback()
        finally:
            carol.close()
    finally:
        alice.close()
    kept = bob.store.get_coding(made.id)
    assert (kept.status, kept.coder) == ("accepted", bob.store.login)
    assert bob.store.transcript_memos("p01") == {bob.store.login: "Bob's memo"}
    bob.close()


def test_one_codebook_for_the_whole_team(team_project, tmp_path):
    owner, urls = team_project
    alice, bob, carol = (_as(urls, n, tmp_path) for n in ("alice", "bob", "carol"))
    sid = alice.store.codings(status="suggested")[0].id
    review.accept(alice.store, sid, alice.store.login)
    alice.store.set_code_memo("working_alone", alice.store.login, "Alone on shift, mostly.")
    before = sorted(c.code_id for c in owner.store.codings())
    # a coder may not change the codebook when it moves other people's codings
    change = edit.rename_code(alice.codebook(), "working_alone", new_id="lone_work")
    with pytest.raises(QualkitError, match="could be recoded|may not make this change"):
        edit.apply_change(alice, change, alice.store.login)
    assert sorted(c.code_id for c in owner.store.codings()) == before
    # the lead renames it: every folder on the database sees the new codebook at once
    edit.apply_change(carol, edit.rename_code(carol.codebook(), "working_alone",
                                              new_id="lone_work"), carol.store.login)
    for member in (alice, bob, owner):
        assert "lone_work" in member.codebook().ids()
        assert "working_alone" not in member.codebook_path.read_text()
    after = sorted(c.code_id for c in owner.store.codings())
    assert after == sorted("lone_work" if c == "working_alone" else c for c in before)
    # alice's memo on the code followed it, and stays hers
    assert [m[:3] for m in owner.store.code_memos()] == [
        ("lone_work", alice.store.login, "Alone on shift, mostly.")]
    # bob codes from his own folder: nothing of carol's rename is undone
    suggested = len(owner.store.codings(status="suggested"))
    code_project(bob, actor=bob.store.login, suggesters=("rules",))
    assert sorted(c.code_id for c in owner.store.codings()) == after
    assert len(owner.store.codings(status="suggested")) == suggested
    for member in (alice, bob, carol):
        member.close()


def test_only_a_lead_chooses_the_embedding_model(team_project, tmp_path):
    owner, urls = team_project
    alice, carol = _as(urls, "alice", tmp_path), _as(urls, "carol", tmp_path)
    with pytest.raises(StoreError, match="may not make this change") as err:
        alice.set_embeddings("multilingual", alice.store.login)
    assert "embedding model" in str(err.value.hint)
    assert owner.embeddings == "english"
    alice.store.set_meta(TRAINED_ON, "3", alice.store.login)  # a coder's retraining still
    carol.set_embeddings("multilingual", carol.store.login)  # records itself
    assert owner.embeddings == alice.embeddings == "multilingual"
    with pytest.raises(StoreError):
        alice.set_embeddings("english", alice.store.login)
    assert owner.embeddings == "multilingual"
    for member in (alice, carol):
        member.close()


def test_a_removed_member_cannot_open_the_project(team_project):
    owner, urls = team_project
    role = make_url(urls["bob"]).username
    assert {m.name: m.lead for m in team.members(owner.store)} == {
        role.replace("_bob", "_alice"): False, role: False,
        role.replace("_bob", "_carol"): True}
    team.remove_member(owner.store, role)
    with pytest.raises(StoreError, match="permission denied for database"):
        Store(urls["bob"])
    assert role not in {m.name for m in team.members(owner.store)}


def test_team_commands_and_an_init_that_fails_leaves_no_folder(pg_url, tmp_path):
    runner = CliRunner()
    role = f"{make_url(pg_url).database}_dana"
    r = runner.invoke(cli_app, ["init", str(tmp_path / "p"), "--db", pg_url,
                                "--codebook", "keyworker"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["team", "add", role, "--db", pg_url, "--password-stdin"],
                      input="s3cret-pw\n")
    assert r.exit_code == 0, r.output
    assert "s3cret-pw" not in r.output
    # what to give the team: the server's address with no login in it
    assert "qualkit app --db postgresql+psycopg://127.0.0.1:" in r.output.replace("\n", "")
    r = runner.invoke(cli_app, ["team", "list", "--db", pg_url])
    assert role in r.output and "1 members" in r.output
    r = runner.invoke(cli_app, ["team", "add", "Not A Name", "--db", pg_url,
                                "--password-stdin"], input="x\n")
    assert r.exit_code == 1 and "cannot be a login name" in r.output
    # an unreachable server: one line, and no empty folder left behind
    r = runner.invoke(cli_app, ["init", str(tmp_path / "never"), "--db",
                                "postgresql+psycopg://u:pw@127.0.0.1:1/x"])
    assert r.exit_code == 1 and "cannot open the project database" in r.output
    assert not (tmp_path / "never").exists()
    # a SQLite project has no team
    runner.invoke(cli_app, ["init", str(tmp_path / "solo")])
    r = runner.invoke(cli_app, ["team", "list", "--db",
                                f"sqlite:///{tmp_path / 'solo' / 'qualkit.db'}"])
    assert r.exit_code == 1 and "PostgreSQL server" in r.output


@pytest.mark.browser
def test_the_app_asks_each_member_to_sign_in_and_records_their_login(team_project, tmp_path,
                                                                     chromium):
    from .browser import browser_page, serve

    owner, urls = team_project
    role = make_url(urls["alice"]).username
    team_url = without_login(urls["alice"])
    assert "alice" not in team_url
    folder = tmp_path / "alice_app"
    folder.mkdir()
    with serve(folder, tmp_path / "app.log", db_url=team_url) as url, browser_page() as page:
        page.goto(url)
        try:
            page.get_by_text("Sign in to the team project").wait_for(timeout=60000)
        except Exception:
            page.screenshot(path=str(tmp_path / "first.png"))
            raise
        page.get_by_role("textbox", name="Login").fill(role)
        page.get_by_role("textbox", name="Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("did not open the project").wait_for(timeout=30000)
        page.get_by_role("textbox", name="Password").fill("pw-alice")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(f"Coding as {role}").wait_for(timeout=60000)
        assert page.get_by_role("textbox", name="Your name (coder)").count() == 0
        page.wait_for_selector(".qk-tag.qk-suggested", timeout=60000)
        page.locator(".qk-tag.qk-suggested .qk-accept").first.click()
        page.wait_for_function("document.querySelectorAll('.qk-tag.qk-accepted').length == 1")
        assert "pw-alice" not in page.content()
    decisions = [c for c in owner.store.codings() if c.status != "suggested"]
    assert [(c.status, c.coder) for c in decisions] == [("accepted", role)]
    assert owner.store.events(1)[0].actor == role
    assert "pw-alice" not in (tmp_path / "app.log").read_text()


def test_a_server_project_is_upgraded_only_by_its_owner_after_a_pg_dump(pg_url, tmp_path):
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed (Debian: postgresql-client)")
    project = build_project(tmp_path / "p", db_url=pg_url, transcripts={"p01.txt": TEXT},
                            actor=make_url(pg_url).username)
    project.close()
    store = Store(pg_url)
    with store.engine.begin() as conn:  # as a project made by the release before 0004
        drop_tables_after(lambda sql: conn.execute(text(sql)), "0003")
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    store.close()
    with pytest.raises(StoreError, match=rf"older than this release's \({head()}\); it was not "
                                         r"changed.*qualkit upgrade --db URL"):
        Store(pg_url)
    r = CliRunner().invoke(cli_app, ["upgrade", "--db", pg_url, "-p", str(tmp_path)])
    assert r.exit_code == 0, r.output
    dumps = list(tmp_path.glob("*.before-upgrade-*.dump"))
    assert len(dumps) == 1 and dumps[0].stat().st_size > 1000
    assert f"revision {head()}" in r.output
    store = Store(pg_url)
    try:
        assert store.transcript_names() == ["p01"]
        assert [e.entity_id for e in store.events(1000) if e.action == "upgrade"] == [head()]
    finally:
        store.close()
    r = CliRunner().invoke(cli_app, ["upgrade", "--db", pg_url, "-p", str(tmp_path)])
    assert r.exit_code == 0 and len(list(tmp_path.glob("*.dump"))) == 1  # nothing to do
