"""Theme analysis on a real project, checked against counts made by hand."""

from __future__ import annotations

import pytest

from qualkit.analysis import (
    AnalysisData,
    cooccurrence,
    coverage_by_attribute,
    extracts,
    framework_matrix,
    frequencies,
)
from qualkit.model import Coding, ImportedDocument, Transcript
from qualkit.segment import TextBuilder


def doc(name: str, alone: str, answers: list[tuple[str, list[str]]], extra=()):
    b = TextBuilder()
    for text, _ in answers:
        b.add("Interviewer", "And?")
        b.add(name.title(), text)
    tr = Transcript(name, b.text, b.segments, {"pseudonym": name.title(), "works_alone": alone})
    codings = []
    for (_text, codes), seg in zip(answers, b.segments[1::2]):
        for code in codes:
            codings.append(Coding(code, name, seg.start, seg.end, "ann", "accepted",
                                  segment_index=seg.index))
    codings += [Coding(code, name, b.segments[1].start, b.segments[1].end, "ann", status,
                       segment_index=1) for code, status in extra]
    return ImportedDocument(tr, codings)


@pytest.fixture
def data(make_project):
    project = make_project(transcripts=[
        doc("dana", "yes", [("I work alone.", ["working_alone"]),
                            ("Nobody to debrief with, alone again.",
                             ["no_debrief", "working_alone"])],
            extra=[("upbeat", "rejected"), ("downbeat", "suggested")]),
        doc("sam", "no", [("I love it.", ["upbeat"]), ("Alone sometimes.", ["working_alone"])]),
        doc("kim", "yes", [("Fine.", [])])])
    return AnalysisData.from_store(project.store, project.codebook())


def test_frequencies_roll_themes_up_and_count_participants_out_of_n(data):
    f = frequencies(data).set_index("code")
    assert f.loc["working_alone", "segments"] == 3
    assert f.loc["working_alone", "participants"] == 2 and f.loc["working_alone", "of"] == 3
    assert f.loc["isolation", "segments"] == 3  # the debrief segment is also a lone one
    assert f.loc["no_debrief", "participants"] == 1
    assert f.loc["upbeat", "segments"] == 1  # the rejected and suggested ones do not count
    assert f.loc["downbeat", "segments"] == 0


def test_framework_matrix_and_coverage_by_attribute(data):
    m = framework_matrix(data)
    assert m.loc["dana", "working_alone"] == 2 and m.loc["kim"].sum() == 0
    by = framework_matrix(data, "works_alone")
    assert by.loc["yes", "working_alone"] == 2 and by.loc["no", "working_alone"] == 1
    cov = coverage_by_attribute(data, "works_alone").set_index("code")
    assert cov.loc["working_alone", "works_alone=yes"] == "1/2"
    assert cov.loc["working_alone", "works_alone=no"] == "1/1"


def test_cooccurrence_and_extracts(data):
    co = cooccurrence(data, ["working_alone", "no_debrief", "upbeat"])
    assert co.loc["working_alone", "no_debrief"] == 1 and co.loc["no_debrief",
                                                                   "working_alone"] == 1
    assert co.loc["working_alone", "working_alone"] == 3
    both = extracts(data, "working_alone", "no_debrief")
    assert [(e.participant, e.text) for e in both] == [
        ("Dana", "Nobody to debrief with, alone again.")]
    assert [e.text for e in extracts(data, "isolation")][:2] == [
        "I work alone.", "Nobody to debrief with, alone again."]


def test_a_suggestion_counts_only_while_nobody_has_decided_on_it():
    from qualkit.analysis import counted

    open_ = Coding("upbeat", "d", 0, 5, "rules", "suggested", 0, id=1)
    taken = Coding("downbeat", "d", 0, 5, "rules", "suggested", 0, id=2)
    refused = Coding("isolation", "d", 0, 5, "rules", "suggested", 0, id=3)
    accept = Coding("downbeat", "d", 0, 5, "ann", "accepted", 0, id=4, suggestion_id=2)
    reject = Coding("isolation", "d", 0, 5, "ann", "rejected", 0, id=5, suggestion_id=3)
    every = [open_, taken, refused, accept, reject]
    assert counted(every) == [accept]
    assert counted(every, ("accepted", "suggested")) == [open_, accept]
    assert counted(every, ("accepted", "suggested"), coders=["rules"]) == [open_]


def test_one_table_of_include_choices_each_caller_may_offer_fewer():
    from qualkit.analysis import INCLUDE, include_help, statuses_for
    from qualkit.errors import QualkitError

    assert list(INCLUDE) == ["accepted", "suggested", "all"]
    assert statuses_for("accepted") == ("accepted",)
    assert statuses_for("suggested") == ("suggested",)
    assert statuses_for("all") == ("accepted", "suggested")
    assert statuses_for("all", ("accepted", "all")) == ("accepted", "suggested")
    with pytest.raises(QualkitError) as every:
        statuses_for("some")
    assert str(every.value) == ("--include: unknown choice 'some' (use accepted, suggested or "
                                "all)")
    with pytest.raises(QualkitError) as fewer:
        statuses_for("suggested", ("accepted", "all"))
    assert str(fewer.value) == "--include: unknown choice 'suggested' (use accepted or all)"
    assert "suggested (" in include_help() and "suggested (" not in include_help(
        ("accepted", "all"))


def test_rows_group_by_attribute_with_one_label_for_a_missing_value(data):
    from qualkit.model import NO_VALUE

    data.attributes["kim"].pop("works_alone")
    assert data.groups("works_alone") == {"dana": "yes", "sam": "no", "kim": NO_VALUE}
    assert list(framework_matrix(data, "works_alone").index) == [NO_VALUE, "no", "yes"]
    cover = coverage_by_attribute(data, "works_alone").set_index("code")
    assert cover.loc["working_alone", f"works_alone={NO_VALUE}"] == "0/1"
    assert data.participant("dana") == "Dana" and data.leaf_order()[0] == "working_alone"
