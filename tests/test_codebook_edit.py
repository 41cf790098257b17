"""Codebook refinement: pure edits, and changes applied to a project's codings and YAML."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qualkit.codebook import dump_codebook, edit, load_codebook
from qualkit.errors import CodebookError, ConflictError
from qualkit.model import DEFAULT_COLOR, Code, Coding, ImportedDocument, Suggestion, Transcript
from qualkit.segment import parse_turns

from .conftest import drop_tables_after

TEXT = ("Interviewer: How is it?\n\nDana: I work alone. Nobody to debrief with.\n\n"
        "Interviewer: And the rest?\n\nDana: I love it though.\n")

ORIGINAL = [("isolation", None), ("working_alone", "isolation"), ("no_debrief", "isolation"),
            ("talk_type", None), ("upbeat", "talk_type"), ("downbeat", "talk_type")]


@pytest.fixture
def coded(make_project):
    """SMALL_CODEBOOK with 6 codings: working_alone 2, no_debrief 3 (accepted, rejected,
    suggested), upbeat 1."""
    tr = Transcript("p01", TEXT, parse_turns(TEXT))
    one, three = tr.segments[1], tr.segments[3]

    def coding(code, seg, coder, status="accepted"):
        return Coding(code, "p01", seg.start, seg.end, coder, status, segment_index=seg.index)

    return make_project(transcripts=[ImportedDocument(tr, [
        coding("working_alone", one, "ann"), coding("working_alone", one, "bob"),
        coding("no_debrief", one, "ann"), coding("no_debrief", one, "bob", "rejected"),
        coding("upbeat", three, "ann")])], suggestions=[Suggestion(
            "no_debrief", "p01", 3, three.start, three.end, 0.7, "rules")])


def shape(book):
    return [(code.id, parent.id if parent else None) for code, parent in book.walk()]


def totals(project) -> dict[str, int]:
    return {code: sum(n.values()) for code, n in project.store.code_counts().items()}


def snapshot(project):
    """Everything a refused change must leave alone: the YAML bytes, every coding, the log."""
    rows = sorted((c.id, c.code_id, c.status, c.coder, c.start, c.end, c.version)
                  for c in project.store.codings())
    return project.store.codebook_head(), rows, len(project.store.events(1000))


def applied(project, change, actor="ann"):
    """Apply a change and check the saved YAML reloads equal to the change's codebook."""
    n = edit.apply_change(project, change, actor)
    assert load_codebook(project.codebook_path) == change.codebook
    return n


# -- pure edits: new trees and fields, the input never changed --------------------------------
def test_add_code_at_top_level_under_a_parent_and_at_a_position(coded):
    book = coded.codebook()
    before = dump_codebook(book)
    top = edit.add_code(book, None, Code("rural", "Rural travel", color="#ABC"), position=0)
    assert shape(top.codebook) == [("rural", None)] + ORIGINAL
    assert top.codebook.get("rural").color == "#abc"
    assert (top.recode, top.removed) == ({}, [])
    assert top.description == "Added 'Rural travel' (rural)"
    theme = edit.add_code(book, "no_debrief", Code("peer", " Peer support ", definition="D.",
                                                   keywords=["peer", "peer", " buddy "],
                                                   children=[Code("buddy", "Buddy")]))
    assert shape(theme.codebook)[:5] == [("isolation", None), ("working_alone", "isolation"),
                                         ("no_debrief", "isolation"), ("peer", "no_debrief"),
                                         ("buddy", "peer")]
    peer = theme.codebook.get("peer")
    assert (peer.name, peer.definition, peer.keywords) == ("Peer support", "D.",
                                                           ["peer", "buddy"])
    mid = edit.add_code(book, "talk_type", Code("mixed", "Mixed"), position=1)
    assert [c.id for c in mid.codebook.get("talk_type").children] == ["upbeat", "mixed",
                                                                      "downbeat"]
    assert dump_codebook(book) == before and book.get("rural") is None


def test_rename_name_id_or_both(coded):
    book = coded.codebook()
    name_only = edit.rename_code(book, "upbeat", "Positive")
    assert name_only.codebook.get("upbeat").name == "Positive" and name_only.recode == {}
    assert name_only.description == "Renamed 'Upbeat' to 'Positive'"
    both = edit.rename_code(book, "no_debrief", "Nobody to talk to", "nobody_to_talk_to")
    assert both.codebook.get("no_debrief") is None
    code = both.codebook.get("nobody_to_talk_to")
    assert code.name == "Nobody to talk to" and code.keywords == ["no one to debrief with",
                                                                 "debrief", "offload"]
    assert both.codebook.parent_of("nobody_to_talk_to").id == "isolation"
    assert both.recode == {"no_debrief": "nobody_to_talk_to"} and both.removed == []
    assert "id 'no_debrief' to 'nobody_to_talk_to'" in both.description
    same = edit.rename_code(book, "upbeat", "Upbeat", "upbeat")  # what the app sends unchanged
    assert same.recode == {} and dump_codebook(same.codebook) == dump_codebook(book)
    assert book.get("no_debrief").name == "No one to debrief with"


def test_recolour_and_edit_fields(coded):
    book = coded.codebook()
    before = dump_codebook(book)
    assert edit.recolour(book, "upbeat", "#00AA00").codebook.get("upbeat").color == "#00aa00"
    change = edit.edit_code(book, "upbeat", definition="Positive talk.", include=[" a ", "b"],
                            exclude=["c"], examples=["I love it."], keywords=["love", "love"],
                            speakers=["Dana"])
    up = change.codebook.get("upbeat")
    assert (up.definition, up.include, up.exclude, up.examples, up.keywords, up.speakers) == (
        "Positive talk.", ["a", "b"], ["c"], ["I love it."], ["love"], ["Dana"])
    assert change.description == ("Edited definition, include, exclude, examples, keywords, "
                                  "speakers of 'Upbeat'")
    inherit = edit.edit_code(change.codebook, "upbeat", speakers=None)
    assert inherit.codebook.get("upbeat").speakers is None
    flags = edit.edit_code(book, "talk_type", exclusive=False)
    assert flags.codebook.get("talk_type").exclusive is False
    assert edit.edit_code(book, "isolation", exclusive=True).codebook.get("isolation").exclusive
    assert dump_codebook(book) == before


def test_move_to_top_level_under_another_parent_and_reorder(coded):
    book = coded.codebook()
    top = edit.move_code(book, "no_debrief", None, position=1)
    assert shape(top.codebook) == [("isolation", None), ("working_alone", "isolation"),
                                   ("no_debrief", None), ("talk_type", None),
                                   ("upbeat", "talk_type"), ("downbeat", "talk_type")]
    under = edit.move_code(book, "isolation", "upbeat")  # a theme, with its codes
    assert shape(under.codebook) == [
        ("talk_type", None), ("upbeat", "talk_type"), ("isolation", "upbeat"),
        ("working_alone", "isolation"), ("no_debrief", "isolation"), ("downbeat", "talk_type")]
    reorder = edit.move_code(book, "downbeat", "talk_type", position=0)
    assert [c.id for c in reorder.codebook.get("talk_type").children] == ["downbeat", "upbeat"]
    assert under.description == "Moved 'Isolation' under 'Upbeat'"
    assert (under.recode, under.removed) == ({}, [])
    assert shape(book) == ORIGINAL


def test_merge_moves_fields_children_and_codings_to_the_target(coded):
    book = coded.codebook()
    book.get("upbeat").keywords.append("debrief")  # already in no_debrief: not duplicated
    book.get("upbeat").include = ["positive talk"]
    book.get("no_debrief").examples = ["Nobody to offload to."]
    book.get("no_debrief").exclude = ["positive talk"]
    before = dump_codebook(book)
    change = edit.merge_codes(book, ["no_debrief", "upbeat", "no_debrief"], "working_alone")
    assert shape(change.codebook) == [("isolation", None), ("working_alone", "isolation"),
                                      ("talk_type", None), ("downbeat", "talk_type")]
    target = change.codebook.get("working_alone")
    assert target.name == "Working alone"
    assert target.keywords == ["work alone", "on my own", "lone worker",
                               "no one to debrief with", "debrief", "offload", "love", "enjoy"]
    assert target.examples == ["Nobody to offload to."]
    assert (target.include, target.exclude) == (["positive talk"], ["positive talk"])
    assert target.patterns == [[{"LOWER": "nobody"}, {"LOWER": "else"}]]
    assert change.recode == {"no_debrief": "working_alone", "upbeat": "working_alone"}
    assert change.removed == ["no_debrief", "upbeat"]
    assert change.description == "Merged no_debrief, upbeat into 'working_alone'"
    theme = edit.merge_codes(book, ["isolation"], "downbeat")  # a theme's codes move with it
    assert shape(theme.codebook) == [("talk_type", None), ("upbeat", "talk_type"),
                                     ("downbeat", "talk_type"), ("working_alone", "downbeat"),
                                     ("no_debrief", "downbeat")]
    into_parent = edit.merge_codes(book, ["isolation", "working_alone"], "isolation")
    assert [c.id for c in into_parent.codebook.get("isolation").children] == ["no_debrief"]
    assert into_parent.recode == {"working_alone": "isolation"}
    assert dump_codebook(book) == before


def test_split_adds_siblings_or_children_and_keeps_the_original(coded):
    book = coded.codebook()
    parts = [Code("alone_in_hub", "Alone in a hub"), Code("alone_on_road", "Alone on the road")]
    change = edit.split_code(book, "working_alone", parts)
    assert [c.id for c in change.codebook.get("isolation").children] == [
        "working_alone", "alone_in_hub", "alone_on_road", "no_debrief"]
    assert (change.recode, change.removed) == ({}, [])
    assert change.description == ("Split 'Working alone' into 'Alone in a hub', "
                                  "'Alone on the road'")
    children = edit.split_code(book, "working_alone", parts, as_children=True)
    assert shape(children.codebook)[1:4] == [("working_alone", "isolation"),
                                             ("alone_in_hub", "working_alone"),
                                             ("alone_on_road", "working_alone")]
    assert book.get("alone_in_hub") is None and parts[0].children == []


def test_delete_with_and_without_reassignment(coded):
    book = coded.codebook()
    gone = edit.delete_code(book, "downbeat")
    assert shape(gone.codebook) == ORIGINAL[:-1]
    assert (gone.recode, gone.removed) == ({}, ["downbeat"])
    moved = edit.delete_code(book, "no_debrief", reassign_to="working_alone")
    assert shape(moved.codebook) == [ORIGINAL[i] for i in (0, 1, 3, 4, 5)]
    assert moved.recode == {"no_debrief": "working_alone"} and moved.removed == ["no_debrief"]
    # a delete is not a merge: the target's fields stay its own
    assert moved.codebook.get("working_alone") == book.get("working_alone")
    assert shape(book) == ORIGINAL


# -- refusals --------------------------------------------------------------------------------
@pytest.mark.parametrize("make,message", [
    (lambda b: edit.add_code(b, None, Code("upbeat", "Again")),
     r"duplicate id 'upbeat': ids must be unique across the codebook"),
    (lambda b: edit.add_code(b, "isolation", Code("x", "X", children=[Code("downbeat", "D")])),
     "duplicate id 'downbeat'"),
    (lambda b: edit.add_code(b, "nope", Code("x", "X")), "no code 'nope'"),
    (lambda b: edit.add_code(b, None, Code("x", " ")), "needs a name"),
    (lambda b: edit.add_code(b, None, Code("x", "X"), position=9), r"position 9.*0 to 2"),
    (lambda b: edit.rename_code(b, "upbeat", new_id="Bad Id"), "'Bad Id' must be a lower-case"),
    (lambda b: edit.rename_code(b, "upbeat", new_id="downbeat"), "duplicate id 'downbeat'"),
    (lambda b: edit.rename_code(b, "upbeat"), "give new_name, new_id"),
    (lambda b: edit.recolour(b, "upbeat", "green"), r"'green' must be a hex value"),
    (lambda b: edit.recolour(b, "upbeat", "#12345"), "hex value"),
    (lambda b: edit.edit_code(b, "upbeat", keywords="love"),
     "keywords of 'upbeat' must be a list of non-empty lines"),
    (lambda b: edit.edit_code(b, "upbeat", examples=["ok", ""]),
     "examples of 'upbeat', item 2, must be non-empty text"),
    (lambda b: edit.edit_code(b, "upbeat", definition=3), "must be text, got int"),
    (lambda b: edit.edit_code(b, "upbeat", exclusive="yes"), "must be true or false"),
    (lambda b: edit.edit_code(b, "upbeat", exclusive=True), "only a code with codes under it"),
    (lambda b: edit.edit_code(b, "upbeat", name="Up"), r"'name' cannot.*use rename_code"),
    (lambda b: edit.edit_code(b, "upbeat"), "nothing to edit"),
    (lambda b: edit.move_code(b, "isolation", "working_alone"), "under itself or one of its"),
    (lambda b: edit.move_code(b, "isolation", "isolation"), "under itself"),
    (lambda b: edit.move_code(edit.delete_code(b, "downbeat").codebook, "upbeat", None),
     r"'Talk type' \(talk_type\) is exclusive.*exclusive=False"),
    (lambda b: edit.merge_codes(b, ["isolation"], "working_alone"), "one of its own codes"),
    (lambda b: edit.merge_codes(b, ["upbeat"], "upbeat"), "nothing to merge"),
    (lambda b: edit.merge_codes(b, "upbeat", "downbeat"), "must be a list of code ids"),
    (lambda b: edit.split_code(b, "upbeat", []), "give the codes to split"),
    (lambda b: edit.split_code(b, "upbeat", [Code("a", "A"), Code("a", "A2")]),
     "duplicate id 'a'"),
    (lambda b: edit.delete_code(b, "isolation"), r"has codes under it: working_alone"),
    (lambda b: edit.delete_code(b, "upbeat", counts={"upbeat": 1}),
     "cannot delete 'Upbeat' \\(upbeat\\): it still has 1 coding"),
    (lambda b: edit.delete_code(b, "upbeat", reassign_to="upbeat"), "to itself"),
    (lambda b: edit.delete_code(b, "upbeat", reassign_to="nope"), "no code 'nope'"),
])
def test_bad_edits_are_refused_with_a_reason_and_change_nothing(coded, make, message):
    book = coded.codebook()
    before, kept = dump_codebook(book), snapshot(coded)
    with pytest.raises(edit.CodebookEditError, match=message):
        make(book)
    assert dump_codebook(book) == before and snapshot(coded) == kept


# -- applying changes to a project -----------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda b: edit.add_code(b, "isolation", Code("rural", "Rural", color="#123456",
                                                 keywords=["bus"]), position=0),
    lambda b: edit.rename_code(b, "upbeat", "Positive"),
    lambda b: edit.recolour(b, "downbeat", "#FF0000"),
    lambda b: edit.edit_code(b, "downbeat", definition="Negative.", speakers=["Dana"],
                             examples=["I dread it."]),
    lambda b: edit.move_code(b, "working_alone", None, 0),
    lambda b: edit.split_code(b, "downbeat", [Code("dread", "Dread")], as_children=True),
    lambda b: edit.delete_code(b, "downbeat"),
])
def test_changes_without_recoding_save_yaml_that_reloads_equal(coded, make):
    _, rows, _ = snapshot(coded)
    change = make(coded.codebook())
    assert applied(coded, change) == 0
    assert coded.codebook() == change.codebook
    assert snapshot(coded)[1] == rows  # codings untouched
    [event] = coded.store.events(1)
    assert (event.actor, event.action, event.entity) == ("ann", "refine", "codebook")
    assert event.detail["reason"] == change.description and event.detail["codings"] == 0


def test_rename_with_a_new_id_recodes_every_coding_and_loses_none(coded):
    before = totals(coded)
    versions = {c.id: c.version for c in coded.store.codings()}
    change = edit.rename_code(coded.codebook(), "no_debrief", "Nobody to talk to",
                              "nobody_to_talk_to")
    assert applied(coded, change) == 3
    after = totals(coded)
    assert after == {"working_alone": 2, "nobody_to_talk_to": 3, "upbeat": 1}
    assert sum(after.values()) == sum(before.values()) == 6
    statuses = coded.store.code_counts()["nobody_to_talk_to"]
    assert statuses == {"accepted": 1, "rejected": 1, "suggested": 1}
    for c in coded.store.codings():  # recoded rows get a new version (optimistic locking)
        assert c.version == versions[c.id] + (c.code_id == "nobody_to_talk_to")
    [event] = coded.store.events(1)
    assert event.detail["mapping"] == {"no_debrief": "nobody_to_talk_to"}
    assert event.detail["counts"] == {"no_debrief": 3} and event.detail["codings"] == 3
    assert sorted(event.detail["moved"]["no_debrief"]) == sorted(
        c.id for c in coded.store.codings() if c.code_id == "nobody_to_talk_to")
    assert coded.store.undo_last("ann") is None  # the sidebar's undo does not touch it


def test_an_edit_made_on_a_coding_before_the_recode_is_refused(coded):
    stale = next(c for c in coded.store.codings() if c.code_id == "no_debrief")
    applied(coded, edit.rename_code(coded.codebook(), "no_debrief", new_id="nobody"))
    with pytest.raises(ConflictError, match="changed by"):
        coded.store.update_coding(stale.id, stale.version, "ann", "memo", memo="x")


def test_merge_recodes_into_the_target_and_loses_none(coded):
    change = edit.merge_codes(coded.codebook(), ["no_debrief", "upbeat"], "working_alone")
    # ann and bob each coded turn one with both merged codes: one hand coding each stays (the
    # earliest; uq_codings_hand), the other is recorded whole in the refine event
    assert applied(coded, change) == 2
    assert totals(coded) == {"working_alone": 4}
    book = load_codebook(coded.codebook_path)
    assert book.get("no_debrief") is None and "offload" in book.get("working_alone").keywords
    [event] = coded.store.events(1)
    assert event.detail["counts"] == {"no_debrief": 3, "upbeat": 1}
    assert sorted((d["coder"], d["code_id"]) for d in event.detail["merged_duplicates"]) == [
        ("ann", "no_debrief"), ("bob", "no_debrief")]
    assert event.entity_id == "Merged no_debrief, upbeat into 'working_alone'"


def test_delete_with_reassignment_moves_the_codings(coded):
    assert applied(coded, edit.delete_code(coded.codebook(), "upbeat",
                                           reassign_to="downbeat")) == 1
    assert totals(coded) == {"working_alone": 2, "no_debrief": 3, "downbeat": 1}


def test_deleting_a_used_code_is_refused_with_its_count(coded):
    kept = snapshot(coded)
    change = edit.delete_code(coded.codebook(), "no_debrief")  # no counts given: apply checks
    with pytest.raises(edit.CodebookEditError,
                       match=r"'No one to debrief with' \(no_debrief\): it still has 3 codings "
                             r"\(1 accepted, 1 rejected, 1 suggested\).*reassign_to"):
        edit.apply_change(coded, change, "ann")
    assert snapshot(coded) == kept


def test_a_code_dropped_by_hand_without_recoding_is_refused(coded):
    kept = snapshot(coded)
    change = edit.rename_code(coded.codebook(), "upbeat", new_id="positive")
    change.recode = {}  # a caller forgot how codings follow
    with pytest.raises(edit.CodebookEditError, match="still has 1 coding"):
        edit.apply_change(coded, change, "ann")
    assert snapshot(coded) == kept


def test_an_invalid_codebook_is_refused_before_anything_changes(coded):
    kept = snapshot(coded)
    bad = edit.rename_code(coded.codebook(), "upbeat", "Up")
    bad.codebook.get("downbeat").id = "upbeat"  # a duplicate id slips into the change
    with pytest.raises(CodebookError, match="duplicate id 'upbeat'"):
        edit.apply_change(coded, bad, "ann")
    odd = edit.rename_code(coded.codebook(), "upbeat", new_id="positive")
    odd.recode = {"upbeat": "nowhere"}
    with pytest.raises(edit.CodebookEditError, match="'nowhere', which is not in the new"):
        edit.apply_change(coded, odd, "ann")
    assert snapshot(coded) == kept


def _killed_during_change(root: Path, where: str) -> None:
    """In a real child process: rename a code with a new id (codings move) and die with
    os._exit at ``where``: just before the transaction commits, or just after it, before
    codebook.yaml is rewritten."""
    from qualkit import store as store_module
    from qualkit.project import Project, open_project

    project = open_project(root)
    if where == "before commit":
        real = store_module.Store._add_codebook_version

        def then_die(self, *args, **kwargs):
            real(self, *args, **kwargs)
            os._exit(9)
        store_module.Store._add_codebook_version = then_die
    else:
        Project._write_view = lambda self, version, text: os._exit(9)
    edit.apply_change(project, edit.rename_code(project.codebook(), "no_debrief",
                                                new_id="nobody"), "ann")
    os._exit(0)


@pytest.mark.parametrize("where", ["before commit", "after commit"])
def test_a_kill_during_a_codebook_change_leaves_codebook_and_codings_agreeing(coded, where):
    import multiprocessing

    before = sorted(c.code_id for c in coded.store.codings())
    coded.close()
    child = multiprocessing.get_context("spawn").Process(
        target=_killed_during_change, args=(coded.root, where))
    child.start()
    child.join(120)
    assert child.exitcode == 9
    from qualkit.project import open_project

    project = open_project(coded.root)
    try:
        book = project.codebook()
        codes = sorted(c.code_id for c in project.store.codings())
        assert set(codes) <= set(book.ids())  # no coding points at a code the codebook lacks
        if where == "before commit":
            assert "no_debrief" in book.ids() and codes == before
        else:
            assert "nobody" in book.ids() and "no_debrief" not in book.ids()
            assert codes == sorted("nobody" if c == "no_debrief" else c for c in before)
        # the file on disk is the view of what the database holds
        assert load_codebook(project.codebook_path) == book
    finally:
        project.close()


def test_a_codebook_changed_elsewhere_is_not_overwritten(coded):
    opened = coded.codebook()  # one tab opens the codebook
    edit.apply_change(coded, edit.recolour(opened, "upbeat", "#123456"), "ann", base=opened)
    stale = edit.recolour(opened, "downbeat", "#654321")  # the other tab, from its old copy
    kept = snapshot(coded)
    with pytest.raises(ConflictError, match="changed by someone else"):
        edit.apply_change(coded, stale, "bob", base=opened)
    assert snapshot(coded) == kept
    assert coded.codebook().get("upbeat").color == "#123456"


def test_saving_keeps_the_file_permissions(coded):
    os.chmod(coded.codebook_path, 0o644)
    applied(coded, edit.recolour(coded.codebook(), "upbeat", "#123456"))
    assert coded.codebook_path.stat().st_mode & 0o777 == 0o644


# -- the store methods -----------------------------------------------------------------------
def test_recode_codings_applies_pairs_together_and_counts(coded):
    assert coded.store.recode_codings({"working_alone": "no_debrief",
                                       "no_debrief": "working_alone", "upbeat": "upbeat"},
                                      "ann", "swap") == 5
    assert totals(coded) == {"working_alone": 3, "no_debrief": 2, "upbeat": 1}
    assert coded.store.recode_codings({"absent": "upbeat"}, "ann", "nothing there") == 0
    assert coded.store.events(1)[0].detail["counts"] == {"absent": 0}


# -- update_code: the app's "Save code" form in one change ------------------------------------
def test_update_code_changing_a_definition_leaves_the_inherited_colour_unset(coded):
    book = coded.codebook()
    assert book.get("working_alone").color is None  # shows its parent's #1f77b4
    form = dict(name="Working alone", id="working_alone", color="#1F77B4",
                definition="Alone on the job.", keywords=["work alone", "on my own",
                                                          "lone worker"])
    change = edit.update_code(book, "working_alone", **form)
    code = change.codebook.get("working_alone")
    assert (code.definition, code.color) == ("Alone on the job.", None)
    assert change.recode == {}
    assert change.description == "Saved 'Working alone': edited definition"
    assert applied(coded, change) == 0
    assert load_codebook(coded.codebook_path).get("working_alone").color is None
    # a code with nothing coloured above it shows the default grey: given back, it stays unset
    grey = edit.update_code(book, "upbeat", color=DEFAULT_COLOR, definition="Positive talk.")
    assert grey.codebook.get("upbeat").color is None
    # a colour of its own is set, and None goes back to inheriting
    red = edit.update_code(book, "working_alone", color="#FF0000")
    assert red.codebook.get("working_alone").color == "#ff0000"
    back = edit.update_code(red.codebook, "working_alone", color=None)
    assert back.codebook.get("working_alone").color is None
    assert back.description == "Saved 'Working alone': colour inherited"


def test_update_code_rename_and_definition_edit_is_one_change(coded):
    before = snapshot(coded)
    book = coded.codebook()
    change = edit.update_code(book, "no_debrief", name="Nobody to talk to", id="nobody",
                              color="#1f77b4", definition="No one to talk it through with.",
                              include=[], exclude=[], examples=[],
                              keywords=["no one to debrief with", "debrief", "offload"])
    code = change.codebook.get("nobody")
    assert (code.name, code.definition, code.color) == (
        "Nobody to talk to", "No one to talk it through with.", None)
    assert change.codebook.get("no_debrief") is None
    assert change.recode == {"no_debrief": "nobody"}
    assert change.description == ("Saved 'Nobody to talk to': renamed 'No one to debrief with' "
                                  "to 'Nobody to talk to' and id 'no_debrief' to 'nobody'; "
                                  "edited definition")
    events = len(coded.store.events(1000))
    assert applied(coded, change) == 3  # every no_debrief coding follows the new id
    assert len(coded.store.events(1000)) == events + 1  # one change, one audit event
    assert totals(coded) == {"working_alone": 2, "nobody": 3, "upbeat": 1}
    assert len(snapshot(coded)[1]) == len(before[1])


def test_update_code_with_nothing_changed_says_so(coded):
    book = coded.codebook()
    code = book.get("upbeat")
    with pytest.raises(edit.NothingChanged, match="nothing changed in 'Upbeat'"):
        edit.update_code(book, "upbeat", name=" Upbeat ", id="upbeat", color=DEFAULT_COLOR,
                         definition=code.definition, keywords=["love", "enjoy"])
    with pytest.raises(edit.CodebookEditError, match="'children' cannot be changed"):
        edit.update_code(book, "upbeat", children=[])
    with pytest.raises(edit.CodebookEditError, match="id 'Bad Id' must be a lower-case slug"):
        edit.update_code(book, "upbeat", id="Bad Id", definition="changed")
    assert dump_codebook(book) == dump_codebook(coded.codebook())


def test_split_lines_are_parsed_into_codes():
    codes = edit.parse_split_lines(" dread: Dread \n\nmixed\nlate: Late: at night\n")
    assert [(c.id, c.name) for c in codes] == [("dread", "Dread"), ("mixed", "mixed"),
                                               ("late", "Late: at night")]
    with pytest.raises(edit.CodebookEditError, match="give the new codes"):
        edit.parse_split_lines(" \n ")


@pytest.mark.parametrize("code_yaml, make", [
    ("  - id: Bad Id\n    name: A\n", lambda b: edit.rename_code(b, "a", new_id="Bad Id")),
    ("  - id: a\n    name: A\n    color: green\n", lambda b: edit.recolour(b, "a", "green")),
    ("  - id: a\n    name: ' '\n", lambda b: edit.rename_code(b, "a", new_name=" ")),
    ("  - id: a\n    name: A\n    definition: [x]\n",
     lambda b: edit.edit_code(b, "a", definition=["x"])),
    ("  - id: a\n    name: A\n    keywords: love\n",
     lambda b: edit.edit_code(b, "a", keywords="love")),
    ("  - id: a\n    name: A\n    exclusive: 3\n", lambda b: edit.edit_code(b, "a", exclusive=3)),
    ("  - id: a\n    name: A\n    exclusive: true\n",
     lambda b: edit.edit_code(b, "a", exclusive=True)),
])
def test_reading_and_editing_refuse_a_value_with_one_message(code_yaml, make):
    """One validator (codebook.io): the file's problem and the edit's refusal say the same."""
    from qualkit.codebook import parse_codebook

    with pytest.raises(CodebookError) as read:
        parse_codebook("name: t\ncodes:\n" + code_yaml + "  - id: z\n    name: Z\n")
    [problem] = read.value.problems
    book = parse_codebook("name: t\ncodes:\n  - id: a\n    name: A\n  - id: z\n    name: Z\n")
    with pytest.raises(edit.CodebookEditError) as edited:
        make(book)
    assert problem.message in str(edited.value), (problem.message, str(edited.value))


def test_a_project_from_before_the_codebook_lived_in_the_database_keeps_its_codebook(coded):
    """A release-3 project: no codebook_versions, its codebook only in codebook.yaml (no view
    header). Opened now, it is backed up, upgraded, and its file becomes version 1."""
    import sqlite3

    from qualkit.project import open_project

    book = coded.codebook()
    text = dump_codebook(book)
    coded.close()
    db = coded.root / "qualkit.db"
    con = sqlite3.connect(db)
    with con:
        drop_tables_after(con.execute, "0003")
        con.execute("UPDATE alembic_version SET version_num = '0003'")
    con.close()
    coded.codebook_path.write_text("# our team's codebook\n" + text, encoding="utf-8")
    project = open_project(coded.root)
    try:
        assert project.store.backup and Path(project.store.backup).exists()
        assert project.codebook() == book
        assert project.store.codebook_versions()[0][0] == 1
        assert project.store.codebook_head()[1].startswith("# our team's codebook\n")
        view = project.codebook_path.read_text(encoding="utf-8")
        assert view.startswith("# qualkit codebook version 1.") and view.endswith(text)
    finally:
        project.close()


def test_a_hand_edit_of_codebook_yaml_becomes_the_next_version_or_is_refused(coded):
    from qualkit.project import open_project

    view = coded.codebook_path.read_text(encoding="utf-8")
    version = coded.codebook_version()
    coded.codebook_path.write_text(view.replace("name: Upbeat", "name: Cheerful"),
                                   encoding="utf-8")
    assert coded.codebook().get("upbeat").name == "Cheerful"
    assert coded.codebook_version() == version + 1
    assert coded.store.codebook_versions()[0][3] == "edited by hand in codebook.yaml"
    # a hand edit made on a version someone has since replaced is refused, nothing overwritten
    edit.apply_change(coded, edit.recolour(coded.codebook(), "upbeat", "#123456"), "ann")
    stale = view.replace("name: Downbeat", "name: Gloomy")
    coded.codebook_path.write_text(stale, encoding="utf-8")
    other = open_project(coded.root)
    try:
        with pytest.raises(ConflictError, match=f"edited by hand from codebook version "
                                                f"{version}, but .* now version {version + 2}"):
            other.codebook()
        assert coded.codebook_path.read_text(encoding="utf-8") == stale  # the edit is kept
        assert other.store.codebook_head()[0] == version + 2
    finally:
        other.close()
    # a broken hand edit is reported with its line, and nothing is stored
    coded.codebook_path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError):
        coded.codebook()
    assert coded.store.codebook_head()[0] == version + 2


def test_a_temporary_file_left_by_a_killed_write_is_cleared(coded):
    import time

    stale = coded.root / ".codebook.yaml.abc123.tmp"
    fresh = coded.root / ".codebook.yaml.def456.tmp"  # perhaps another process's, mid-write
    for f in (stale, fresh):
        f.write_text("half a codebook", encoding="utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    edit.apply_change(coded, edit.recolour(coded.codebook(), "upbeat", "#123456"), "ann")
    assert not stale.exists() and fresh.exists()


def test_a_batch_run_follows_a_rename_made_while_it_works(make_project):
    """`qualkit code` loaded the codebook, then someone renamed a code in the app: the run's
    next write is refused by the store (the old id is gone) and the run starts again from the
    new codebook instead of failing or writing the old id."""
    from qualkit.pipeline import code_project
    from qualkit.project import open_project

    project = make_project(transcripts={
        "p01.txt": "Interviewer: Hi.\n\nDana: I work alone and I dread nights.\n",
        "p02.txt": "Interviewer: Hi.\n\nKim: I work alone, I love it.\n"})
    real = project.store.replace_suggestions
    renamed = []

    def rename_first(*args, **kwargs):
        if not renamed:
            other = open_project(project.root)
            edit.apply_change(other, edit.rename_code(other.codebook(), "working_alone",
                                                      new_id="lone_work"), "bob")
            other.close()
            renamed.append(True)
        return real(*args, **kwargs)

    project.store.replace_suggestions = rename_first
    report = code_project(project, actor="tester", suggesters=("rules",))
    assert report.transcripts == 2
    codes = {c.code_id for c in project.store.codings(status="suggested")}
    assert "lone_work" in codes and "working_alone" not in codes


def test_memos_on_codes_follow_a_rename_and_a_merge_never_joins_two(coded):
    coded.store.set_code_memo("no_debrief", "ann", "Nobody after hard calls.")
    coded.store.set_code_memo("working_alone", "ann", "Alone most days.")
    coded.store.set_code_memo("no_debrief", "bob", "Bob's view.")
    edit.apply_change(coded, edit.merge_codes(coded.codebook(), ["no_debrief"],
                                              "working_alone"), "ann")
    memos = {(code, coder): text for code, coder, text, _ in coded.store.code_memos()}
    # bob's moved with the code; ann already had one on the kept code: hers stays where it was
    assert memos == {("working_alone", "ann"): "Alone most days.",
                     ("working_alone", "bob"): "Bob's view.",
                     ("no_debrief", "ann"): "Nobody after hard calls."}
    edit.apply_change(coded, edit.rename_code(coded.codebook(), "working_alone",
                                              new_id="lone_work"), "ann")
    assert {code for code, *_ in coded.store.code_memos()} == {"lone_work", "no_debrief"}


def test_setting_the_language_brings_its_model_unless_one_was_chosen(coded, make_project):
    """A codebook set to German is matched on German lemmas and, where nobody chose an
    embedding model, embeds with the multilingual one; set back, with MiniLM again. A model
    someone chose is kept whatever the language."""
    from qualkit.embed import EMBEDDINGS_META

    book = coded.codebook()
    with pytest.raises(edit.NothingChanged, match="already en"):
        edit.set_language(book, "EN ")
    with pytest.raises(edit.CodebookEditError, match="'German' must be a language code"):
        edit.set_language(book, "German")
    change = edit.set_language(book, " DE")
    assert change.codebook.language == "de" and book.language == "en"  # the edit is pure
    assert change.description == "Set the codebook's language to de (was en)"
    assert coded.embeddings == "english"
    applied(coded, change)
    assert coded.codebook().language == "de" and coded.embeddings == "multilingual"
    assert "language: de" in coded.codebook_path.read_text(encoding="utf-8")
    assert coded.store.events(1)[0].action == "refine"
    assert coded.store.get_meta(EMBEDDINGS_META) is None  # the language decides: no choice made
    applied(coded, edit.set_language(coded.codebook(), "en"))
    assert coded.embeddings == "english"

    chosen = make_project()
    chosen.set_embeddings("english", "ann")  # chosen, though it is what English gets anyway
    applied(chosen, edit.set_language(chosen.codebook(), "de"))
    assert chosen.embeddings == "english"


def test_a_language_set_by_hand_in_codebook_yaml_brings_its_model(coded):
    view = coded.codebook_path.read_text(encoding="utf-8")
    coded.codebook_path.write_text(view + "language: de\n", encoding="utf-8")
    assert coded.codebook().language == "de" and coded.embeddings == "multilingual"
    coded.codebook_path.write_text("name: [unclosed\n", encoding="utf-8")
    assert coded.embeddings == "english"  # the broken file is reported where it is read
    with pytest.raises(CodebookError):
        coded.codebook()
