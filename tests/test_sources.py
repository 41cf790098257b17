"""Sources: delete, rename and replace a transcript; attributes and speaker roles, by hand and
from a sheet (qualkit.sources), on real projects, through the library and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualkit import review
from qualkit.errors import QualkitError
from qualkit.sources import (
    delete_transcript,
    import_attributes,
    rename_transcript,
    replace_transcript,
    set_attributes,
    set_role,
)

INTERVIEW = """\
---
participant: P01
site: north
---
Interviewer: How are the night shifts?

P01: I work alone most nights. Nobody else is there to ask.

Interviewer: And after a hard call?

P01: There is no one to debrief with. I go home and sit in the car for a while.
"""

# The corrected file: a turn added at the start (every offset moves), a typo fixed, and the
# sentence about the car deleted.
CORRECTED = """\
---
participant: P01
age: 34
---
Interviewer: Thanks for talking to me today.

P01: Happy to help.

Interviewer: How are the night shifts?

P01: I work alone most nights. Nobody else is there to ask.

Interviewer: And after a hard call?

P01: There is no one to debrief with.
"""

TEAMS_VTT = """\
WEBVTT

0f4c1a2e-8d8b-4f0e-9d7e-3b2a1c0d9e8f/12-0
00:00:01.250 --> 00:00:06.480
<v Sarah Okafor>Do you enjoy working on your own? Some people love it.</v>

0f4c1a2e-8d8b-4f0e-9d7e-3b2a1c0d9e8f/13-0
00:00:07.100 --> 00:00:12.900
<v Sarah Okafor>Or do you hate being a lone worker?</v>

0f4c1a2e-8d8b-4f0e-9d7e-3b2a1c0d9e8f/14-0
00:00:13.300 --> 00:00:21.020
<v Tom Reyes>I hate it, honestly. I work alone most nights and nobody else is on.</v>

0f4c1a2e-8d8b-4f0e-9d7e-3b2a1c0d9e8f/15-0
00:00:21.500 --> 00:00:25.000
<v Sarah Okafor>What helps?</v>

0f4c1a2e-8d8b-4f0e-9d7e-3b2a1c0d9e8f/16-0
00:00:25.400 --> 00:00:31.000
<v Tom Reyes>Not much. There is no one to debrief with.</v>
"""


def _login(db_url: str | None) -> str:
    """Who acts: on a server only the database login may (store.acting_as)."""
    from sqlalchemy.engine import make_url

    return (make_url(db_url).username if db_url and db_url.startswith("postgresql")
            else None) or "tester"


def _code(proj, name: str, passage: str, code: str, coder: str = "ann"):
    coder = proj.store.login or coder
    text = proj.store.load_transcript(name).text
    start = text.index(passage)
    return review.code_passage(proj.store, name, start, start + len(passage), code, coder)


def _span(proj, name: str, coding_id: int) -> str:
    c = proj.store.get_coding(coding_id)
    return proj.store.load_transcript(name).text[c.start:c.end]


def _interview(make_project, **options):
    return make_project(transcripts={"p01.md": INTERVIEW},
                        actor=_login(options.get("db_url")), **options)


# -- replace ------------------------------------------------------------------------------------
def test_replace_keeps_moved_codings_and_reports_the_lost(make_project, db_url, tmp_path):
    proj = _interview(make_project, db_url=db_url)
    alone = _code(proj, "p01", "I work alone most nights.", "working_alone")
    debrief = _code(proj, "p01", "There is no one to debrief with.", "no_debrief", "ben")
    car = _code(proj, "p01", "I go home and sit in the car for a while.", "no_debrief")
    ann = proj.store.login or "ann"
    review.mark_coded(proj.store, "p01", ann)
    review.set_transcript_memo(proj.store, "p01", "a memo stays", ann)
    proj.store.set_transcript_attributes({"p01": {"gender": "m"}}, ann)
    fixed = tmp_path / "p01_fixed.md"
    fixed.write_text(CORRECTED, encoding="utf-8")

    report = replace_transcript(proj, "p01", fixed, ann)

    assert (report.kept, report.moved) == (2, 2)
    assert [(c.code, c.coder, c.text) for c in report.lost] == [
        ("no_debrief", ann, "I go home and sit in the car for a while.")]
    assert "could not be kept" in report.summary()
    tr = proj.store.load_transcript("p01")
    assert "Interviewer: Thanks" in tr.text and "the car" not in tr.text
    assert _span(proj, "p01", alone.id) == "I work alone most nights."
    assert _span(proj, "p01", debrief.id) == "There is no one to debrief with."
    for c in proj.store.codings("p01"):  # each coding sits in the turn holding its text
        assert tr.segments[c.segment_index].start <= c.start < tr.segments[c.segment_index].end
    assert car.id not in {c.id for c in proj.store.codings("p01")}
    # front matter applied; the attribute set in the app kept where the file has none
    assert tr.attributes == {"participant": "P01", "site": "north", "age": 34, "gender": "m"}
    assert proj.store.transcript_memos("p01") == {ann: "a memo stays"}
    # the turns ann went through are where they now are: the two new ones come first
    assert proj.store.coded_ranges()["p01"][ann] == [(2, len(tr.segments) - 1)]
    event = proj.store.events(1)[0]
    assert (event.action, event.entity_id) == ("replace", "p01")
    assert [(d["code_id"], d["coder"], d["text"]) for d in event.detail["removed"]] == [
        ("no_debrief", ann, "I go home and sit in the car for a while.")]


def test_a_failed_replace_changes_nothing(make_project, tmp_path, monkeypatch):
    from qualkit.store import Store

    proj = _interview(make_project)
    _code(proj, "p01", "I work alone most nights.", "working_alone")
    _code(proj, "p01", "I go home and sit in the car for a while.", "no_debrief")
    before = (proj.store.load_transcript("p01"), proj.store.codings("p01"),
              len(proj.store.events(1000)))
    fixed = tmp_path / "p01.md"
    fixed.write_text(CORRECTED, encoding="utf-8")
    real_log = Store.log

    def failing_log(self, session, actor, action, *args, **kwargs):
        if action == "replace":  # the last step: everything else is done by now
            raise QualkitError("simulated failure")
        return real_log(self, session, actor, action, *args, **kwargs)

    monkeypatch.setattr(Store, "log", failing_log)
    with pytest.raises(QualkitError, match="simulated"):
        replace_transcript(proj, "p01", fixed, "ann")
    monkeypatch.undo()
    after = (proj.store.load_transcript("p01"), proj.store.codings("p01"),
             len(proj.store.events(1000)))
    assert after == before


def test_replace_re_anchors_suggestions_and_drops_those_whose_text_went(make_project, tmp_path):
    proj = _interview(make_project, suggesters=("rules",))
    suggested = proj.store.codings("p01", status="suggested")
    assert {c.code_id for c in suggested} >= {"working_alone", "no_debrief"}
    fixed = tmp_path / "p01.md"
    fixed.write_text(CORRECTED.replace("I work alone most nights. ", ""), encoding="utf-8")
    report = replace_transcript(proj, "p01", fixed, "ann")
    assert report.lost == [] and report.suggestions_removed >= 1
    text = proj.store.load_transcript("p01").text
    for c in proj.store.codings("p01"):
        assert text[c.start:c.end] in CORRECTED


def test_replace_refuses_a_file_with_another_transcripts_text(make_project, tmp_path):
    proj = make_project(transcripts={"p01.md": INTERVIEW, "p02.md": CORRECTED})
    fixed = tmp_path / "again.md"
    fixed.write_text(CORRECTED, encoding="utf-8")
    with pytest.raises(QualkitError, match="same text as the transcript 'p02'"):
        replace_transcript(proj, "p01", fixed, "ann")


def test_reanchor_prefers_the_occurrence_nearest_the_old_place():
    from qualkit.model import Coding, Segment, Transcript
    from qualkit.sources import reanchor

    def transcript(text: str) -> Transcript:
        return Transcript("t", text, [Segment(0, 0, len(text), "P", text)])

    old = transcript("yes. first part. yes. second part. yes. third part.")
    new = transcript("intro. yes. first part. yes. second part changed. yes. third part.")
    middle = old.text.index("yes", 10)
    coding = Coding("upbeat", "t", middle, middle + 3, "ann", segment_index=0, id=7)
    moves, _ = reanchor(old, new, [coding])
    start = moves[7][0]
    assert new.text[start:start + 3] == "yes"
    assert new.text[start:].startswith("yes. second part")


# -- delete, rename -----------------------------------------------------------------------------
def test_delete_refuses_peoples_work_unless_forced_and_records_it(make_project, db_url):
    proj = make_project(transcripts={"p01.md": INTERVIEW, "p02.md": CORRECTED},
                        suggesters=("rules",), db_url=db_url, actor=_login(db_url))
    ann, ben = proj.store.login or "ann", proj.store.login or "ben"
    _code(proj, "p01", "I work alone most nights.", "working_alone", ben)
    review.set_transcript_memo(proj.store, "p01", "think about nights", ann)
    with pytest.raises(QualkitError, match="1 coding made by people and 1 memo"):
        delete_transcript(proj.store, "p01", ann)
    assert "p01" in proj.store.transcript_names()

    report = delete_transcript(proj.store, "p01", ann, force=True)
    assert report.decisions == 1 and report.memos == 1 and report.segments == 4
    assert proj.store.transcript_names() == ["p02"]
    assert proj.store.codings("p01") == []
    assert "p01" not in proj.store.coded_ranges()
    event = proj.store.events(1)[0]
    assert (event.action, event.entity_id) == ("delete", "p01")
    assert event.detail["memos"] == {ann: "think about nights"}
    assert [(d["code_id"], d["coder"], d["text"]) for d in event.detail["decisions"]] == [
        ("working_alone", ben, "I work alone most nights.")]
    assert event.detail["codings"]["suggested"] >= 1
    # machine suggestions alone do not stop a delete
    assert delete_transcript(proj.store, "p02", ann).decisions == 0
    assert proj.store.transcript_names() == []
    counts = proj.store.status_counts()
    assert (counts["segments"], sum(counts["by_status"].values())) == (0, 0)


def test_rename_moves_everything_and_refuses_a_clash(make_project, db_url):
    proj = make_project(transcripts={"p01.md": INTERVIEW, "p02.md": CORRECTED}, db_url=db_url,
                        actor=_login(db_url))
    coding = _code(proj, "p01", "I work alone most nights.", "working_alone")
    with pytest.raises(QualkitError, match="already named 'p02'"):
        rename_transcript(proj.store, "p01", "p02", "ann")
    with pytest.raises(QualkitError, match="needs a name"):
        rename_transcript(proj.store, "p01", "  ", "ann")
    assert rename_transcript(proj.store, "p01", " Interview one ", "ann") == "Interview one"
    assert proj.store.transcript_names() == ["Interview one", "p02"]
    assert [c.id for c in proj.store.codings("Interview one")] == [coding.id]
    event = proj.store.events(1)[0]
    assert (event.action, event.detail) == ("rename", {"old": "p01", "new": "Interview one"})


# -- roles and attributes -----------------------------------------------------------------------
def test_a_teams_interviewer_marked_as_such_gets_no_suggestions(make_project, db_url):
    from qualkit.pipeline import code_project

    proj = make_project(transcripts={"team_call.vtt": TEAMS_VTT}, suggesters=("rules",),
                        db_url=db_url, actor=_login(db_url))
    tr = proj.store.load_transcript("team_call")
    asks = {s.index for s in tr.segments if s.speaker == "Sarah Okafor"}
    assert {s.role for s in tr.segments} == {"participant"}  # the reported bug
    on_her = [c for c in proj.store.codings("team_call") if c.segment_index in asks]
    assert on_her  # her questions got suggestions

    report = set_role(proj.store, "team_call", "Sarah Okafor", "interviewer", "ann",
                      proj.codebook())
    assert report.turns == len(asks) and report.removed_suggestions == len(on_her)
    assert not [c for c in proj.store.codings("team_call") if c.segment_index in asks]
    tr = proj.store.load_transcript("team_call")
    assert {s.role for s in tr.segments if s.index in asks} == {"interviewer"}
    code_project(proj, actor="ann", suggesters=("rules",))
    suggested = proj.store.codings("team_call", status="suggested")
    assert suggested and not [c for c in suggested if c.segment_index in asks]
    with pytest.raises(QualkitError, match="no speaker 'Sara'.*'Sarah Okafor'"):
        set_role(proj.store, "team_call", "Sara", "interviewer", "ann")


def test_a_replaced_transcript_keeps_the_roles_set_by_hand(make_project, tmp_path):
    proj = make_project(transcripts={"team_call.vtt": TEAMS_VTT})
    set_role(proj.store, "team_call", "Sarah Okafor", "interviewer", "ann")
    fixed = tmp_path / "fixed.vtt"
    fixed.write_text(TEAMS_VTT.replace("honestly", "to be honest"), encoding="utf-8")
    replace_transcript(proj, "team_call", fixed, "ann")
    tr = proj.store.load_transcript("team_call")
    assert "to be honest" in tr.text
    assert {s.speaker: s.role for s in tr.segments} == {"Sarah Okafor": "interviewer",
                                                         "Tom Reyes": "participant"}


def test_set_role_without_a_codebook_leaves_suggestions_for_the_next_run(make_project):
    from qualkit.pipeline import code_project

    proj = make_project(transcripts={"team_call.vtt": TEAMS_VTT}, suggesters=("rules",))
    before = len(proj.store.codings("team_call"))
    assert set_role(proj.store, "team_call", "Sarah Okafor", "interviewer", "ann"
                    ).removed_suggestions == 0
    assert len(proj.store.codings("team_call")) == before
    code_project(proj, actor="ann", suggesters=("rules",))
    asks = {s.index for s in proj.store.load_transcript("team_call").segments
            if s.speaker == "Sarah Okafor"}
    assert not [c for c in proj.store.codings("team_call") if c.segment_index in asks]


def test_set_attributes_sets_and_removes(make_project, db_url):
    proj = _interview(make_project, db_url=db_url)
    after = set_attributes(proj.store, "p01", {"site": "", "role": " nurse ", "age": 41},
                           "ann")
    assert after == {"participant": "P01", "role": "nurse", "age": 41}
    assert proj.store.load_transcript("p01").attributes == after
    event = proj.store.events(1)[0]
    assert event.action == "attributes"
    assert event.detail["before"]["p01"]["site"] == "north"


SHEET = [["Participant", "Site", "Age", "Notes"],
         ["P01", "south", "34", ""],
         ["p02", "-north", "51", "second interview"],
         ["P09", "east", "22", ""]]


def _write_sheet(path: Path, rows: list[list[str]]) -> Path:
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    else:
        import csv

        from qualkit.csvsafe import csv_guard

        with path.open("w", newline="", encoding="utf-8-sig") as f:
            csv.writer(f).writerows([[csv_guard(c) for c in row] for row in rows])
    return path


@pytest.mark.parametrize("ext", [".csv", ".xlsx"])
def test_attributes_from_a_sheet(make_project, tmp_path, ext, db_url):
    proj = make_project(transcripts={"p01.md": INTERVIEW, "p02.md": CORRECTED.replace(
        "participant: P01\n", ""), "p03.md": CORRECTED.replace("P01", "P03")},
        db_url=db_url, actor=_login(db_url))
    sheet = _write_sheet(tmp_path / f"people{ext}", SHEET)
    report = import_attributes(proj.store, sheet, "ann")
    assert report.matched == {"P01": ["p01"], "p02": ["p02"]}  # attribute, then name
    assert report.unmatched_rows == [(4, "P09")]
    assert report.without_row == ["p03"]
    assert report.changed == ["p01", "p02"]
    assert "row 4 (P09)" in report.summary() and "p03" in report.summary()
    attrs = {t.name: t.attributes for t in proj.store.transcripts()}
    assert attrs["p01"] == {"participant": "P01", "site": "north", "Site": "south", "Age": "34"}
    assert attrs["p02"] == {"age": 34, "Site": "-north", "Age": "51",
                            "Notes": "second interview"}
    assert attrs["p03"]["participant"] == "P03" and "Site" not in attrs["p03"]
    assert proj.store.events(1)[0].action == "attributes"


def test_attributes_sheet_problems_are_one_line_and_change_nothing(make_project, tmp_path):
    proj = make_project(transcripts={"p01.md": INTERVIEW})
    before = proj.store.load_transcript("p01").attributes
    twice = _write_sheet(tmp_path / "twice.csv", [["participant", "site"], ["P01", "a"],
                                                  ["p01", "b"]])
    with pytest.raises(QualkitError, match="two rows"):
        import_attributes(proj.store, twice, "ann")
    with pytest.raises(QualkitError, match="no 'id' column.*'participant'"):
        import_attributes(proj.store, twice, "ann", id_column="id")
    bogus = tmp_path / "bogus.xlsx"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(QualkitError, match="not a valid Excel"):
        import_attributes(proj.store, bogus, "ann")
    assert proj.store.load_transcript("p01").attributes == before


# -- the command line ---------------------------------------------------------------------------
def test_transcript_commands(make_project, tmp_path):
    from qualkit.cli import app

    runner = CliRunner()
    proj = make_project(transcripts={"p01.md": INTERVIEW, "call.vtt": TEAMS_VTT},
                        suggesters=("rules",))
    _code(proj, "p01", "I go home and sit in the car for a while.", "no_debrief")
    root = str(proj.root)

    def run(*args: str):
        return runner.invoke(app, ["transcript", *args, "-p", root, "--coder", "ann"],
                             catch_exceptions=False)

    fixed = tmp_path / "fixed.md"
    fixed.write_text(CORRECTED, encoding="utf-8")
    r = run("replace", "p01", str(fixed))
    assert r.exit_code == 0, r.output
    assert "1 codings could not be kept" in r.output and "sit in the car" in r.output

    r = run("role", "call", "Sarah Okafor", "interviewer")
    assert r.exit_code == 0 and "Sarah Okafor is now interviewer" in r.output

    r = run("set", "p01", "site=west", "participant=")
    assert r.exit_code == 0 and "site=west" in r.output and "participant" not in r.output
    r = run("set", "p01", "oops")
    assert r.exit_code == 1 and "is not KEY=VALUE" in r.output

    sheet = _write_sheet(tmp_path / "people.csv", [["name", "site"], ["p01", "east"]])
    r = run("attributes", str(sheet), "--id-column", "name")
    assert r.exit_code == 0 and "1 transcripts updated" in r.output and "call" in r.output

    r = run("rename", "p01", "call")
    assert r.exit_code == 1 and "already named 'call'" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = run("rename", "p01", "Interview 1")
    assert r.exit_code == 0 and "Renamed 'p01' to 'Interview 1'" in r.output

    _code(proj, "call", "I hate it, honestly.", "downbeat")
    r = run("delete", "call")
    assert r.exit_code == 1 and "--force" in r.output
    r = run("delete", "call", "--force")
    assert r.exit_code == 0 and "Deleted 'call'" in r.output
    r = run("delete", "nope")
    assert r.exit_code == 1 and "no transcript named 'nope'" in r.output
    assert proj.store.transcript_names() == ["Interview 1"]
    assert proj.store.load_transcript("Interview 1").attributes["site"] == "east"


# -- the Project page ---------------------------------------------------------------------------
def test_project_page_edits_roles_attributes_names_and_deletes(make_project, monkeypatch):
    from .conftest import run_app

    proj = make_project(transcripts={"call.vtt": TEAMS_VTT, "p01.md": INTERVIEW},
                        suggesters=("rules",))
    monkeypatch.setenv("QUALKIT_PROJECT", str(proj.root))
    at = run_app("views/project.py")
    assert at.selectbox(key="src_pick").value == "call"

    at.selectbox(key="src_role_call_0").set_value("interviewer").run()
    at.button(key="src_roles_call").click().run()
    assert not at.exception, at.exception
    assert any("Sarah Okafor is now interviewer" in s.value for s in at.success)
    roles = {s.speaker: s.role for s in proj.store.load_transcript("call").segments}
    assert roles == {"Sarah Okafor": "interviewer", "Tom Reyes": "participant"}

    at.text_input(key="src_name_call").set_value("Team call 1").run()
    at.button(key="src_rename_call").click().run()
    assert not at.exception, at.exception
    assert "Team call 1" in proj.store.transcript_names()
    assert at.selectbox(key="src_pick").value == "Team call 1"

    delete = at.button(key="src_delete_Team call 1")
    assert delete.disabled
    at.checkbox(key="src_sure_Team call 1").check().run()
    at.button(key="src_delete_Team call 1").click().run()
    assert not at.exception, at.exception
    assert proj.store.transcript_names() == ["p01"]
    assert any("Deleted 'Team call 1'" in s.value for s in at.success)
    assert at.selectbox(key="src_pick").value == "p01"
    at.toggle(key="src_attrs_edit_p01").set_value(True).run()
    assert not at.exception, at.exception
    at.button(key="src_attrs_save_p01").click().run()  # nothing changed: nothing changes
    assert not at.exception, at.exception
    assert proj.store.load_transcript("p01").attributes == {"participant": "P01",
                                                            "site": "north"}
