"""Retrieval: passages for a code, a theme, a pair of codes, an attribute group; context turns;
pending suggestions marked; and the Retrieval page's recode / uncode / memo / open (AppTest)."""

from __future__ import annotations

import pytest

from qualkit import retrieval, review
from qualkit.errors import QualkitError
from qualkit.model import NO_VALUE, Suggestion

from .conftest import run_app

DANA = """---
participant: Dana
works_alone: "yes"
---
Interviewer: Tell me about your work.

Dana: I work alone most days and I hate the silence.

Interviewer: Anyone to talk to afterwards?

Dana: There is no one to debrief with, so I offload onto my partner.

Interviewer: And the good parts?

Dana: I love the clients.
"""

KIM = """---
participant: Kim
works_alone: "no"
---
Interviewer: How is the team?

Kim: We debrief every evening and I enjoy it.

Interviewer: Ever on your own?

Kim: Sometimes I work alone on Sundays.
"""

LEE = """Interviewer: Hello.

Lee: Nothing much to report, I work alone.
"""


def _sug(store, name: str, code: str, needle: str) -> Suggestion:
    tr = store.load_transcript(name)
    start = tr.text.index(needle)
    seg = tr.segment_at(start)
    return Suggestion(code, name, seg.index, start, start + len(needle), 0.7, "rules", "matched")


@pytest.fixture
def proj(make_project):
    """Dana: working_alone + downbeat in turn 1, no_debrief in turn 3 (accepted by ann);
    upbeat in turn 5 pending. Kim: no_debrief + upbeat in turn 1 (accepted by bob), working
    alone in turn 3 pending. Lee (no works_alone): working_alone accepted by ann."""
    p = make_project(transcripts={"p01_dana.txt": DANA, "p02_kim.txt": KIM, "p03_lee.txt": LEE})
    s = p.store
    plan = {"p01_dana": [("working_alone", "I work alone most days", "ann"),
                         ("downbeat", "I hate the silence", "ann"),
                         ("no_debrief", "no one to debrief with", "ann"),
                         ("upbeat", "I love the clients", None)],
            "p02_kim": [("no_debrief", "We debrief every evening", "bob"),
                        ("upbeat", "I enjoy it", "bob"),
                        ("working_alone", "I work alone on Sundays", None)],
            "p03_lee": [("working_alone", "I work alone", "ann")]}
    for name, items in plan.items():
        s.replace_suggestions(name, [_sug(s, name, code, text) for code, text, _ in items],
                              "bot")
        by_code = {c.code_id: c for c in s.codings(transcript=name, status="suggested")}
        for code, _, coder in items:
            if coder:
                review.accept(s, by_code[code].id, coder)
    return p


def test_passages_for_a_code_in_transcript_order_with_label_turn_and_speaker(proj):
    found = retrieval.passages(proj.store, proj.codebook_if_any(), "working_alone")
    assert [(p.transcript, p.participant, p.turn, p.speaker, p.text, p.status, p.coder)
            for p in found] == [
        ("p01_dana", "Dana", 1, "Dana", "I work alone most days", "accepted", "ann"),
        ("p03_lee", "p03_lee", 1, "Lee", "I work alone", "accepted", "ann")]
    tr = proj.store.load_transcript("p01_dana")
    assert tr.text[found[0].start:found[0].end] == found[0].text
    assert found[0].coding_id is not None and found[0].version is not None
    assert found[0].location == "p01_dana, turn 2"
    assert found[0].before == found[0].after == []  # context only on demand


def test_a_theme_brings_every_code_under_it(proj):
    found = retrieval.passages(proj.store, proj.codebook_if_any(), "isolation")
    assert sorted((p.transcript, p.code_id) for p in found) == [
        ("p01_dana", "no_debrief"), ("p01_dana", "working_alone"), ("p02_kim", "no_debrief"),
        ("p03_lee", "working_alone")]


def test_a_pair_of_codes_in_the_same_turn(proj):
    book = proj.codebook_if_any()
    found = retrieval.passages(proj.store, book, "working_alone", with_code="downbeat")
    assert [(p.transcript, p.text) for p in found] == [("p01_dana", "I work alone most days")]
    found = retrieval.passages(proj.store, book, "no_debrief", with_code="talk_type")
    assert [(p.transcript, p.text) for p in found] == [("p02_kim", "We debrief every evening")]
    assert retrieval.passages(proj.store, book, "no_debrief", with_code="working_alone") == []


def test_a_code_within_an_attribute_group(proj):
    book = proj.codebook_if_any()
    yes = retrieval.passages(proj.store, book, "isolation", attribute="works_alone",
                             value="yes")
    assert {p.transcript for p in yes} == {"p01_dana"}
    none = retrieval.passages(proj.store, book, "working_alone", attribute="works_alone",
                              value=NO_VALUE)
    assert [p.transcript for p in none] == ["p03_lee"]
    assert retrieval.attribute_values(proj.store, "works_alone") == [NO_VALUE, "no", "yes"]
    with pytest.raises(QualkitError, match="an attribute and one of its values"):
        retrieval.passages(proj.store, book, "isolation", attribute="works_alone")


def test_context_turns_on_demand(proj):
    [p] = retrieval.passages(proj.store, proj.codebook_if_any(), "no_debrief",
                             attribute="works_alone", value="yes", context=1)
    assert [(t.index, t.speaker, t.text) for t in p.before] == [
        (2, "Interviewer", "Anyone to talk to afterwards?")]
    assert [(t.index, t.speaker) for t in p.after] == [(4, "Interviewer")]
    [first] = retrieval.passages(proj.store, proj.codebook_if_any(), "working_alone",
                                 attribute="works_alone", value="yes", context=3)
    assert [t.index for t in first.before] == [0] and [t.index for t in first.after] == [2, 3, 4]
    with pytest.raises(QualkitError, match="context"):
        retrieval.passages(proj.store, proj.codebook_if_any(), "upbeat", context=99)


def test_include_all_marks_pending_suggestions(proj):
    book = proj.codebook_if_any()
    accepted = retrieval.passages(proj.store, book, "upbeat")
    assert [(p.transcript, p.pending) for p in accepted] == [("p02_kim", False)]
    every = retrieval.passages(proj.store, book, "upbeat", include="all")
    assert [(p.transcript, p.status, p.pending) for p in every] == [
        ("p01_dana", "suggested", True), ("p02_kim", "accepted", False)]
    only = retrieval.passages(proj.store, book, "working_alone", include="suggested")
    assert [(p.transcript, p.pending) for p in only] == [("p02_kim", True)]
    # a decided suggestion counts once, as the person's coding
    assert len(retrieval.passages(proj.store, book, "working_alone", include="all")) == 3
    with pytest.raises(QualkitError, match="unknown choice"):
        retrieval.passages(proj.store, book, "upbeat", include="rejected")
    with pytest.raises(QualkitError, match="no code 'nope'"):
        retrieval.passages(proj.store, book, "nope")


# -- the page, headless (AppTest) -------------------------------------------------------------
def _page(proj, monkeypatch, coder: str = "ann"):
    monkeypatch.setenv("QUALKIT_PROJECT", str(proj.root))
    return run_app("views/retrieval.py", coder)


def _ids(proj, code: str, coder: str) -> list:
    return [c for c in proj.store.codings(coder=coder) if c.code_id == code
            and c.status == "accepted"]


def test_page_recodes_uncodes_and_memos_through_review(proj, monkeypatch):
    at = _page(proj, monkeypatch)
    at.selectbox(key="rt_code").set_value("working_alone").run()
    assert any(c.value.startswith("2 passages") for c in at.caption)
    [dana] = [c for c in _ids(proj, "working_alone", "ann") if c.transcript == "p01_dana"]
    key = f"{dana.id}_{dana.version}"
    # memo
    at.text_input(key=f"rt_memo_{key}").set_value("the silence matters").run()
    at.button(key=f"rt_memo_btn_{key}").click().run()
    assert not at.exception, at.exception
    assert proj.store.get_coding(dana.id).memo == "the silence matters"
    dana = proj.store.get_coding(dana.id)
    key = f"{dana.id}_{dana.version}"
    # recode
    at.selectbox(key=f"rt_recode_{key}").set_value("no_debrief").run()
    at.button(key=f"rt_recode_btn_{key}").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.toast] == ["Recoded as No one to debrief with."]
    assert proj.store.get_coding(dana.id).code_id == "no_debrief"
    assert [p.transcript for p in retrieval.passages(
        proj.store, proj.codebook_if_any(), "working_alone")] == ["p03_lee"]
    # uncode Lee's
    [lee] = _ids(proj, "working_alone", "ann")
    at.button(key=f"rt_uncode_{lee.id}_{lee.version}").click().run()
    assert not at.exception, at.exception
    assert _ids(proj, "working_alone", "ann") == []
    assert any(c.value.startswith("0 passages") for c in at.caption)


def test_page_marks_pending_and_decides_on_suggestions(proj, monkeypatch):
    at = _page(proj, monkeypatch, coder="cy")
    at.selectbox(key="rt_code").set_value("upbeat").run()
    at.radio(key="rt_include").set_value("all").run()
    text = " ".join(m.value for m in at.markdown)
    assert ":orange[:material/pending: pending suggestion]" in text
    assert ":green[:material/check_circle: accepted]" in text
    sug = next(c for c in proj.store.codings(status="suggested")
               if c.code_id == "upbeat" and c.transcript == "p01_dana")
    # bob's coding is bob's: no recode for cy
    assert any("only they can change it" in c.value for c in at.caption)
    at.selectbox(key=f"rt_recode_{sug.id}_{sug.version}").set_value("downbeat").run()
    at.button(key=f"rt_accept_{sug.id}_{sug.version}").click().run()
    assert not at.exception, at.exception
    [mine] = proj.store.codings(coder="cy")
    assert (mine.code_id, mine.suggestion_id, mine.status) == ("downbeat", sug.id, "accepted")


def test_page_opens_a_passage_in_the_coding_page(proj, monkeypatch):
    at = _page(proj, monkeypatch)
    at.selectbox(key="rt_code").set_value("no_debrief").run()
    at.selectbox(key="rt_attr").set_value("works_alone").run()
    at.selectbox(key="rt_value_works_alone").set_value("no").run()
    [bob] = [c for c in proj.store.codings(coder="bob") if c.code_id == "no_debrief"]
    at.button(key=f"rt_open_{bob.id}_{bob.version}").click().run()
    assert not at.exception, at.exception
    assert at.session_state["transcript"] == "p02_kim"
    assert at.session_state["coder"] == "ann"
    assert at.title[0].value != "Retrieval"  # now the Coding page
