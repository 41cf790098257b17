"""Work that follows what is shown, not the size of the project: the app's pages, the analysis
and the agreement read a bounded number of rows and statements however many transcripts and
pending suggestions the project holds (benchmarks/scale.py measures the curves)."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from benchmarks.corpus import generate
from qualkit.store import CodingRow, TranscriptRow

from .conftest import APP


def decide(i: int, _sug):
    return "accept" if i % 2 else "reject"


def study(make_project, name: str, n: int):
    """``n`` generated interviews coded with rules; two coders decided on the first two."""
    docs = [g.transcript for g in generate(n, seed=5, turns=10, sentences=5)]
    project = make_project(name, codebook="keyworker", transcripts=docs[:2],
                           suggesters=("rules",), decisions={"ann": decide, "bob": "accept"})
    assert project.store.status_counts()["by_status"]["accepted"] > 2
    for doc in docs[2:]:
        from qualkit.model import ImportedDocument

        project.store.add_document(ImportedDocument(doc), "tester")
    from qualkit.pipeline import code_project

    code_project(project, [d.name for d in docs[2:]], "tester", suggesters=("rules",))
    # the suggestions are up to date with the decisions: no retraining starts in the app
    from qualkit import retrain

    project.store.set_meta(retrain.TRAINED_ON, str(retrain.decisions(project.store)), "tester")
    return project


@contextmanager
def counting():
    """SQL statements run, and ORM rows of codings and transcripts loaded, inside the block."""
    seen: Counter[str] = Counter()

    def statement(*_args):
        seen["statements"] += 1

    def coding(*_args):
        seen["codings"] += 1

    def transcript(*_args):
        seen["transcripts"] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(CodingRow, "load", coding)
    event.listen(TranscriptRow, "load", transcript)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(CodingRow, "load", coding)
        event.remove(TranscriptRow, "load", transcript)


def page_work(monkeypatch, project, page: str) -> Counter[str]:
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["coder"] = "ann"
    at.run()
    if page != "Coding":
        at.switch_page(f"views/{page.lower()}.py").run()
    assert not at.exception, at.exception
    with counting() as seen:
        at.run()
    assert not at.exception, at.exception
    return seen


@pytest.mark.parametrize("page", ["Coding", "Themes", "Agreement"])
def test_a_page_does_the_same_work_for_4_or_16_transcripts(make_project, monkeypatch, page):
    small, large = study(make_project, "small", 4), study(make_project, "large", 16)
    assert len(large.store.codings(status="suggested")) > 3 * len(
        small.store.codings(status="suggested"))  # the larger project has much more pending
    few, many = page_work(monkeypatch, small, page), page_work(monkeypatch, large, page)
    assert many["statements"] == few["statements"], (few, many)
    assert many["codings"] == few["codings"], (few, many)  # never every pending suggestion
    assert many["transcripts"] == few["transcripts"], (few, many)  # never every text


def test_listing_transcripts_never_reads_their_text(make_project):
    project = study(make_project, "p", 3)
    sql: list[str] = []

    def statement(_conn, _cursor, text, *_args):
        sql.append(text)

    event.listen(Engine, "before_cursor_execute", statement)
    try:
        infos = project.store.transcripts()
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
    assert [i.name for i in infos] == project.store.transcript_names()
    assert infos[0].segments == 10 and infos[0].attributes == {"generated": True}
    assert not any("transcripts.text" in s for s in sql), sql


def test_counted_codings_keeps_the_rule_of_analysis_counted(make_project):
    from qualkit.analysis import counted

    project = study(make_project, "p", 4)
    every = project.store.codings()
    for statuses in (("accepted",), ("accepted", "suggested"), ("suggested",)):
        for coders in (None, ["ann"], ["bob", "tester"]):
            expected = counted(every, statuses, coders)
            got = project.store.counted_codings(statuses, coders)
            assert [c.id for c in got] == [c.id for c in expected], (statuses, coders)
    with counting() as seen:
        project.store.counted_codings(("accepted",))
    assert seen["codings"] == len([c for c in every if c.status == "accepted"])


def test_recent_codes_come_newest_first(make_project):
    project = study(make_project, "p", 3)
    mine = sorted((c for c in project.store.codings(coder="bob") if c.status == "accepted"),
                  key=lambda c: c.time, reverse=True)
    expected: list[str] = []
    for c in mine:
        if c.code_id not in expected:
            expected.append(c.code_id)
    assert expected and project.store.recent_codes("bob") == expected
    assert project.store.coders(("accepted", "rejected")) == ["ann", "bob"]


def test_learning_and_retraining_read_only_the_transcripts_with_decisions(make_project):
    """Finding the examples to learn from, and the transcripts still open, take the same number
    of statements for 4 or 16 transcripts: no query per transcript nobody has decided in."""
    from qualkit.retrain import open_transcripts
    from qualkit.suggest.training import examples_from_project

    work = {}
    for n in (4, 16):
        project = study(make_project, f"s{n}", n)
        with counting() as seen:
            examples = examples_from_project(project.store, project.codebook())
            still_open = open_transcripts(project.store)
        work[n] = (seen["statements"], seen["transcripts"], len(examples))
        # the two decided on were worked right through: every other one is still open
        assert still_open == project.store.transcript_names()[2:]
    assert work[4] == work[16] and work[4][2] > 0, work


def test_the_light_reads_agree_with_the_full_ones(make_project):
    from qualkit.retrain import decisions

    project = study(make_project, "p", 3)
    store = project.store
    by_status = store.status_counts()["by_status"]
    assert decisions(store) == store.decision_count() == by_status["accepted"] + by_status[
        "rejected"] > 0
    assert store.transcript_attributes() == {t.name: t.attributes for t in store.transcripts()}
