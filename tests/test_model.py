"""The domain rules that live on the plain model: a code's name, colour, family and leaves; a
participant's label; the group of a missing attribute value."""

from __future__ import annotations

import pytest

from qualkit.model import (
    DEFAULT_COLOR,
    NO_VALUE,
    Code,
    Codebook,
    Transcript,
    attribute_value,
    participant_label,
)


@pytest.fixture
def book() -> Codebook:
    """A mixed codebook: a coloured theme with a sub-theme, and a plain top-level code."""
    return Codebook("mixed", codes=[
        Code("isolation", "Isolation", color="#aa0000", children=[
            Code("working_alone", "Working alone"),
            Code("support", "Support", children=[
                Code("no_debrief", "No one to debrief with", color="#00aa00"),
                Code("peer", "Peer support")])]),
        Code("upbeat", "Upbeat")])


def test_display_name_falls_back_to_the_id(book):
    assert book.display_name("working_alone") == "Working alone"
    assert book.display_name("gone_code") == "gone_code"


def test_colour_is_the_codes_own_else_the_nearest_ancestors_else_one_default(book):
    assert book.color_of("isolation") == "#aa0000"
    assert book.color_of("no_debrief") == "#00aa00"
    assert book.color_of("peer") == "#aa0000"  # from two levels up
    assert book.color_of("upbeat") == DEFAULT_COLOR == "#888888"
    assert book.color_of("gone_code") == DEFAULT_COLOR
    assert book.color_of("upbeat", default=None) is None


def test_ancestors_subtree_members_and_depth(book):
    assert [c.id for c in book.ancestors("peer")] == ["support", "isolation"]
    assert book.ancestors("isolation") == [] and book.ancestors("gone_code") == []
    assert [c.id for c in book.subtree("isolation")] == [
        "isolation", "working_alone", "support", "no_debrief", "peer"]
    assert [c.id for c in book.get("support").subtree()] == ["support", "no_debrief", "peer"]
    assert book.subtree("gone_code") == []
    assert book.members("support") == {"support", "no_debrief", "peer"}
    assert book.members("gone_code") == {"gone_code"}
    assert [book.depth(c) for c in ("isolation", "support", "peer", "upbeat")] == [0, 1, 2, 0]


def test_leaves_are_every_code_without_children_at_any_depth(book):
    """In a mixed codebook the plain top-level code is a leaf as well as the nested ones."""
    assert [c.id for c in book.leaves()] == ["working_alone", "no_debrief", "peer", "upbeat"]
    flat = Codebook("flat", codes=[Code("a", "A"), Code("b", "B")])
    assert [c.id for c in flat.leaves()] == ["a", "b"]


def test_speakers_are_inherited_down_the_tree(book):
    book.speakers = ["participant"]
    book.get("support").speakers = ["Dana"]
    assert book.speakers_for("peer") == ["Dana"]
    assert book.speakers_for("working_alone") == ["participant"]


@pytest.mark.parametrize("attrs, label", [
    ({"pseudonym": "Dana", "participant": "P01"}, "Dana"),
    ({"participant": "P21"}, "P21"),
    ({}, "p21_kerry"),
    ({"pseudonym": " ", "participant": None}, "p21_kerry"),
    ({"participant": 7}, "7"),
])
def test_participant_label_is_pseudonym_else_id_else_transcript(attrs, label):
    assert participant_label("p21_kerry", attrs) == label
    assert Transcript("p21_kerry", "", attributes=attrs).participant == label


@pytest.mark.parametrize("attrs, value", [
    ({"works_alone": "yes"}, "yes"),
    ({"years": 3}, "3"),
    ({}, NO_VALUE),
    ({"works_alone": None}, NO_VALUE),
    ({"works_alone": ""}, NO_VALUE),
])
def test_attribute_value_groups_missing_values_as_none(attrs, value):
    assert attribute_value(attrs, "works_alone" if "years" not in attrs else "years") == value
    assert NO_VALUE == "(none)"


def test_a_suggestion_claims_a_percentage_only_when_calibrated():
    from qualkit.model import strength

    assert strength(0.9, 0.42) == "42%"  # a calibrated probability, whatever the evidence
    assert [strength(s, None) for s in (0.9, 0.8, 0.7, 0.65, 0.6, 0.5)] == [
        "strong evidence", "strong evidence", "some evidence", "some evidence",
        "weak evidence", "weak evidence"]
    assert strength(None, None) == ""
