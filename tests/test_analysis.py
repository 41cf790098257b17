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


# -- at scale: grouped once, the same answers as scanning every coding per code --------------

NESTED = """\
name: Nested
codes:
  - id: top
    name: Top
    color: "#112233"
    children:
      - id: mid
        name: Middle
        children:
          - id: low_a
            name: Low A
          - id: low_b
            name: Low B
            color: "#abcdef"
      - id: side
        name: Side
  - id: plain
    name: Plain
"""


def test_the_code_index_gives_the_codebook_rules_for_every_code():
    from pathlib import Path

    from qualkit.analysis import CodeIndex
    from qualkit.codebook import load_codebook, parse_codebook

    root = Path(__file__).resolve().parent.parent
    for book in (parse_codebook(NESTED), load_codebook(root / "codebooks" / "keyworker.yaml")):
        index = CodeIndex(book)
        for code_id in [*book.ids(), "not_in_the_codebook"]:
            assert index.get(code_id) is book.get(code_id)
            assert index.name(code_id) == book.display_name(code_id)
            assert index.members(code_id) == book.members(code_id)
            assert index.ancestors(code_id) == book.ancestors(code_id)
            assert index.color_of(code_id) == book.color_of(code_id)


def _scanned(data: AnalysisData, code_id: str) -> set:
    """``AnalysisData.units`` as it was: every coding scanned for every code."""
    ids = data.members(code_id)
    return {(c.transcript, c.segment_index, -1 if c.segment_index is not None else c.start)
            for c in data.codings if c.code_id in ids}


def test_grouped_counts_match_scanning_every_coding_for_every_code():
    import random

    import pandas as pd

    from qualkit.codebook import parse_codebook

    book = parse_codebook(NESTED)
    rng = random.Random(3)
    codes = [*book.ids(), "gone"]  # a code the codebook no longer has, too
    codings = []
    for t in ("t1", "t2", "t3", "t4"):
        for seg in range(8):
            for code in rng.sample(codes, rng.randint(0, 3)):
                index = seg if rng.random() < 0.8 else None
                codings.append(Coding(code, t, seg * 10, seg * 10 + 5, rng.choice("ab"),
                                      segment_index=index))
    codings.append(codings[0])  # the same coding twice
    attributes = {"t1": {"g": "x"}, "t2": {"g": "y"}, "t3": {}, "t4": {"g": "x"},
                  "t5": {"g": "y"}}
    data = AnalysisData(codings, attributes, book, text_of=lambda name: "abcdefghij" * 10)
    order = data.code_order()
    for code in order:
        assert data.units(code) == _scanned(data, code)
    old_co = pd.DataFrame([[len({u[:2] for u in _scanned(data, a)}
                                & {u[:2] for u in _scanned(data, b)}) for b in order]
                           for a in order], index=order, columns=order)
    pd.testing.assert_frame_equal(cooccurrence(data), old_co)
    pd.testing.assert_frame_equal(cooccurrence(data, ["low_a", "top", "low_a"]),
                                  old_co.loc[["low_a", "top", "low_a"],
                                             ["low_a", "top", "low_a"]])
    for by in (None, "g"):
        groups = data.groups(by)
        old = pd.DataFrame(0, index=sorted(set(groups.values())), columns=order)
        for code in order:
            for transcript, _, _ in _scanned(data, code):
                old.loc[groups[transcript], code] += 1
        old.index.name = by or "transcript"
        pd.testing.assert_frame_equal(framework_matrix(data, by), old)
    for code in order:
        for other in (None, "mid", "gone"):
            both = {u[:2] for u in _scanned(data, other)} if other else None
            old_extracts = [(c.transcript, c.start, c.code_id, c.coder)
                            for c in sorted(data.codings, key=lambda c: (c.transcript, c.start))
                            if c.code_id in data.members(code)
                            and (both is None or (c.transcript, c.segment_index) in both)]
            assert [(e.transcript, e.start, e.code_id, e.coder)
                    for e in extracts(data, code, other)] == old_extracts
