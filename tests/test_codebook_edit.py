"""Codebook refinement: pure edits, and changes applied to a project's codings and YAML."""

from __future__ import annotations

import pytest

from qualkit import codebook_edit as edit
from qualkit.codebook import load_codebook
from qualkit.model import Code, Coding, ImportedDocument, Transcript
from qualkit.segment import parse_turns

TEXT = "Interviewer: Hi?\n\nDana: I work alone. Nobody to debrief with.\n"


@pytest.fixture
def coded(project):
    tr = Transcript("p01", TEXT, parse_turns(TEXT))
    seg = tr.segments[1]
    project.store.add_document(ImportedDocument(tr, [
        Coding("working_alone", "p01", seg.start, seg.end, "ann", segment_index=1),
        Coding("no_debrief", "p01", seg.start, seg.end, "ann", segment_index=1),
        Coding("upbeat", "p01", seg.start, seg.end, "bob", segment_index=1)]), "t")
    return project


def total(project) -> int:
    return len(project.store.codings())


def test_edits_return_new_codebooks_and_leave_the_input_alone(coded):
    book = coded.codebook()
    change = edit.add_code(book, "isolation", Code("rural_travel", "Rural travel"))
    assert change.codebook.parent_of("rural_travel").id == "isolation"
    assert book.get("rural_travel") is None
    moved = edit.move_code(change.codebook, "rural_travel", None)
    assert moved.codebook.parent_of("rural_travel") is None
    coloured = edit.recolour(book, "upbeat", "#00AA00")
    assert coloured.codebook.get("upbeat").color == "#00aa00"
    edited = edit.edit_code(book, "upbeat", definition="Positive.", keywords=["love it"])
    assert edited.codebook.get("upbeat").keywords == ["love it"]
    split = edit.split_code(book, "working_alone", [Code("alone_in_hub", "Alone in a hub")])
    assert split.codebook.parent_of("alone_in_hub").id == "isolation"


@pytest.mark.parametrize("make,message", [
    (lambda b: edit.add_code(b, None, Code("upbeat", "Again")), "already exists"),
    (lambda b: edit.rename_code(b, "upbeat", new_id="Bad Id"), "lower-case slug"),
    (lambda b: edit.recolour(b, "upbeat", "green"), "hex value"),
    (lambda b: edit.move_code(b, "isolation", "working_alone"), "under itself"),
    (lambda b: edit.edit_code(b, "upbeat", keywords="love"), "list of non-empty lines"),
    (lambda b: edit.delete_code(b, "upbeat", counts={"upbeat": 1}), "still has 1 codings"),
])
def test_bad_edits_are_refused_with_a_reason(coded, make, message):
    with pytest.raises(edit.CodebookEditError, match=message):
        make(coded.codebook())


def test_rename_and_merge_move_codings_and_lose_none(coded):
    before = total(coded)
    edit.apply_change(coded, edit.rename_code(coded.codebook(), "no_debrief",
                                              "Nobody to talk to", "nobody_to_talk_to"), "ann")
    book = load_codebook(coded.codebook_path)
    assert book.get("nobody_to_talk_to").name == "Nobody to talk to"
    assert {c.code_id for c in coded.store.codings()} == {"working_alone",
                                                          "nobody_to_talk_to", "upbeat"}
    edit.apply_change(coded, edit.merge_codes(book, ["nobody_to_talk_to"], "working_alone"),
                      "ann")
    book = load_codebook(coded.codebook_path)
    assert book.get("nobody_to_talk_to") is None
    assert "offload" in book.get("working_alone").keywords  # the merged code's keywords
    assert sorted(c.code_id for c in coded.store.codings()) == ["upbeat", "working_alone",
                                                                "working_alone"]
    assert total(coded) == before
    assert coded.store.events(5)[1].action == "recode"


def test_a_refused_change_leaves_yaml_and_codings_untouched(coded):
    text = coded.codebook_path.read_text()
    bad = edit.rename_code(coded.codebook(), "upbeat", "Up")
    bad.codebook.get("downbeat").id = "upbeat"  # a duplicate id slips into the change
    with pytest.raises(Exception, match="duplicate id"):
        edit.apply_change(coded, bad, "ann")
    assert coded.codebook_path.read_text() == text
    assert {c.code_id for c in coded.store.codings()} == {"working_alone", "no_debrief",
                                                          "upbeat"}


def test_a_codebook_changed_elsewhere_is_not_overwritten(coded):
    from qualkit.errors import ConflictError

    opened = coded.codebook()  # one tab opens the codebook
    edit.apply_change(coded, edit.recolour(opened, "upbeat", "#123456"), "ann", base=opened)
    stale = edit.recolour(opened, "downbeat", "#654321")  # the other tab, from its old copy
    with pytest.raises(ConflictError, match="changed by someone else"):
        edit.apply_change(coded, stale, "bob", base=opened)
    assert coded.codebook().get("upbeat").color == "#123456"
