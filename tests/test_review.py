"""Review actions on a real project: decisions, conflicts, blind double coding, undo."""

from __future__ import annotations

import pytest

from qualkit import review
from qualkit.errors import ConflictError, QualkitError
from qualkit.model import Suggestion, Transcript
from qualkit.segment import parse_turns

TEXT = ("Interviewer: How is it?\n\nDana: I work alone most days. There's no one to debrief "
        "with after a bad visit.\n")


@pytest.fixture
def project(make_project):
    """p01 with two rule suggestions on Dana's turn: working_alone (0.9), no_debrief (0.55)."""
    tr = Transcript("p01", TEXT, parse_turns(TEXT))
    seg = tr.segments[1]
    return make_project(transcripts=[tr], suggestions=[
        Suggestion("working_alone", "p01", 1, seg.start, seg.start + 25, 0.9, "rules", "m"),
        Suggestion("no_debrief", "p01", 1, seg.start + 26, seg.end, 0.55, "rules", "m")])


@pytest.fixture
def store(project):
    return project.store


def suggestions(store):
    return {c.code_id: c for c in store.codings("p01", status="suggested")}


def test_accept_reject_and_code_by_hand(store, project):
    book = project.codebook()
    sug = suggestions(store)
    a = review.accept(store, sug["working_alone"].id, "ann", codebook=book)
    assert (a.status, a.coder, a.source, a.suggestion_id) == ("accepted", "ann", "rules",
                                                              sug["working_alone"].id)
    r = review.reject(store, sug["no_debrief"].id, "ann")
    assert r.status == "rejected"
    start = TEXT.index("bad visit")
    h = review.code_passage(store, "p01", start - 1, start + 10, "no_debrief", "ann",
                            memo="a heavy day", codebook=book)
    assert TEXT[h.start:h.end] == "bad visit." and h.source == "manual" and h.segment_index == 1
    mine = [c for c in store.codings("p01") if c.coder == "ann"]
    assert sorted((c.code_id, c.status) for c in mine) == [
        ("no_debrief", "accepted"), ("no_debrief", "rejected"), ("working_alone", "accepted")]
    counts = store.status_counts()["by_status"]
    assert counts == {"suggested": 0, "accepted": 2, "rejected": 1}
    actions = [e.action for e in store.events(3)]
    assert actions == ["code", "reject", "accept"]


def test_recode_and_span_changes(store, project):
    sug = suggestions(store)["working_alone"]
    with pytest.raises(QualkitError, match="no code 'nope'"):
        review.accept(store, sug.id, "ann", code_id="nope", codebook=project.codebook())
    c = review.accept(store, sug.id, "ann", code_id="no_debrief", start=sug.start,
                      end=sug.start + 12)
    assert c.code_id == "no_debrief" and TEXT[c.start:c.end] == "I work alone"
    assert store.events(1)[0].action == "recode"
    wider = review.set_span(store, c.id, c.start, c.end + 10, "ann", c.version)
    assert TEXT[wider.start:wider.end] == "I work alone most days"
    with pytest.raises(QualkitError, match="outside the transcript"):
        review.set_span(store, c.id, 0, 10_000, "ann")
    with pytest.raises(QualkitError, match="belongs to ann"):
        review.set_memo(store, c.id, "mine now", "bob")


def test_stale_versions_and_double_decisions_are_refused(store):
    sug = suggestions(store)["working_alone"]
    c = review.accept(store, sug.id, "ann")
    with pytest.raises(ConflictError, match="already decided"):
        review.accept(store, sug.id, "ann")  # the same click in a second tab
    review.set_memo(store, c.id, "first tab", "ann", c.version)
    with pytest.raises(ConflictError, match="changed .* since you loaded it"):
        review.set_memo(store, c.id, "second tab", "ann", c.version)  # stale version
    assert store.get_coding(c.id).memo == "first tab"


def test_blind_double_coding(store):
    sug = suggestions(store)["working_alone"]
    review.accept(store, sug.id, "ann")
    # bob still has the suggestion to decide on, and does not see ann's decision when blind
    assert [c.code_id for c in review.pending(store, "bob")] == ["no_debrief", "working_alone"]
    seen = review.visible(store.codings("p01"), "bob", blind=True)
    assert all(c.coder != "ann" for c in seen)
    assert len(review.visible(store.codings("p01"), "bob", blind=False)) == 3
    review.reject(store, sug.id, "bob")
    assert [c.code_id for c in review.pending(store, "bob")] == ["no_debrief"]
    assert [c.code_id for c in review.pending(store, "ann")] == ["no_debrief"]


def test_queue_is_most_uncertain_first(store):
    assert [c.score for c in review.pending(store, "ann")] == [0.55, 0.9]


def test_undo_reverses_the_last_actions_in_order(store):
    sug = suggestions(store)
    a = review.accept(store, sug["working_alone"].id, "ann")
    review.set_memo(store, a.id, "note", "ann", a.version)
    review.reject(store, sug["no_debrief"].id, "ann")
    assert review.undo(store, "ann").startswith("undid reject")
    assert review.undo(store, "ann").startswith("undid a memo")
    assert store.get_coding(a.id).memo == ""
    review.remove(store, a.id, "ann")
    assert review.undo(store, "ann").startswith("undid removing a coding")
    assert store.get_coding(a.id).code_id == "working_alone"
    assert review.undo(store, "ann").startswith("undid accept")
    assert review.undo(store, "ann") == "nothing to undo"
    assert [c.status for c in store.codings("p01")] == ["suggested", "suggested"]
    assert review.undo(store, "bob") == "nothing to undo"


def test_transcript_memos_and_missing_coder(store):
    store.set_transcript_memo("p01", "ann", "Strong account of lone working.")
    assert store.transcript_memos("p01") == {"ann": "Strong account of lone working."}
    with pytest.raises(QualkitError, match="say who is coding"):
        review.reject(store, suggestions(store)["no_debrief"].id, " ")


def test_a_transcript_memo_is_one_audited_change_and_undoable(store):
    review.set_transcript_memo(store, "p01", "First thoughts.", "ann")
    review.set_transcript_memo(store, "p01", "Lone working, clearly.", " ann ")
    review.set_transcript_memo(store, "p01", "Bob's view.", "bob")
    assert store.transcript_memos("p01") == {"ann": "Lone working, clearly.",
                                             "bob": "Bob's view."}
    [bobs, last, first] = store.events(3)
    assert (last.actor, last.action, last.entity, last.entity_id) == (
        "ann", "memo", "transcript", "p01")
    assert (last.detail, first.detail) == ({"memo_before": "First thoughts."},
                                           {"memo_before": ""})
    assert review.undo(store, "ann") == "undid a memo"
    assert store.transcript_memos("p01") == {"ann": "First thoughts.", "bob": "Bob's view."}
    assert review.undo(store, "ann") == "undid a memo"
    assert store.transcript_memos("p01") == {"bob": "Bob's view."}
    with pytest.raises(QualkitError, match="say who is coding"):
        review.set_transcript_memo(store, "p01", "anonymous", "")
    with pytest.raises(QualkitError, match="no transcript named 'p99'"):
        review.set_transcript_memo(store, "p99", "lost", "ann")


def test_a_turn_shows_its_three_strongest_suggestions_and_the_next_when_one_is_decided(
        make_project):
    from qualkit.model import Suggestion

    text = "Interviewer: Well?\n\nDana: I work alone, nobody else, no one to debrief with.\n"
    codes = ["working_alone", "no_debrief", "isolation", "upbeat", "downbeat"]
    seg_start = text.index("I work")
    suggestions = [Suggestion(code, "t", 1, seg_start, len(text) - 1, score, "rules")
                   for code, score in zip(codes, [0.9, 0.8, 0.7, 0.6, 0.5])]
    project = make_project(transcripts={"t.txt": text}, suggestions=suggestions)
    store = project.store
    shown = review.pending(store, "ann")
    assert sorted(c.code_id for c in shown) == ["isolation", "no_debrief", "working_alone"]
    every = store.codings(transcript="t")
    assert review.held_back(every, "ann") == 2
    assert len(review.visible(every, "ann", blind=False, all_suggestions=True)) == 5
    top = next(c for c in shown if c.code_id == "working_alone")
    review.reject(store, top.id, "ann")
    assert sorted(c.code_id for c in review.pending(store, "ann")) == [
        "isolation", "no_debrief", "upbeat"]  # the next strongest comes up
    # another coder still sees the first three: holding back is per coder
    assert sorted(c.code_id for c in review.pending(store, "bob")) == [
        "isolation", "no_debrief", "working_alone"]
