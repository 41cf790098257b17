"""Codebook YAML: loading, located validation of every problem, round trips, shipped codebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualkit.codebook import dump_codebook, load_codebook, parse_codebook, save_codebook
from qualkit.errors import CodebookError

from .conftest import REPO, SMALL_CODEBOOK

BROKEN = """\
name: Broken
version: 2
codes:
  - id: isolation
    name: Isolation
    colour: "#1f77b4"
    children:
      - id: working_alone
        name: ""
      - id: isolation
        name: Again
        patterns:
          - [{LOWER: on}, {NOT_AN_ATTR: my}]
  - id: Peer Support
    name: Peer support
    keywords: [sharing, ""]
    exclusive: yes please
"""


def problems(text: str) -> list[str]:
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "cb.yaml")
    return [p.render("cb.yaml") for p in info.value.problems]


def test_every_problem_is_reported_with_line_and_field():
    found = problems(BROKEN)
    assert found == [
        "cb.yaml:6: codes[0].colour: unknown field 'colour'; allowed: id, name, definition, "
        "include, exclude, examples, keywords, patterns, color, speakers, exclusive, children",
        "cb.yaml:9: codes[0].children[0].name: a code needs a name (non-empty text)",
        "cb.yaml:10: codes[0].children[1].id: duplicate id 'isolation' (first used on line 4): "
        "ids must be unique across the codebook; choose another id",
        "cb.yaml:13: codes[0].children[1].patterns[0]: invalid spaCy pattern: "
        "[pattern -> 1 -> NOT_AN_ATTR] Extra inputs are not permitted",
        "cb.yaml:14: codes[1].id: id 'Peer Support' must be a lower-case slug (letters a-z, "
        "digits, '_' or '-', e.g. working_alone)",
        "cb.yaml:16: codes[1].keywords[1]: must be non-empty text",
        "cb.yaml:17: codes[1].exclusive: must be true or false",
    ]


def test_yes_no_on_off_stay_text():
    book = parse_codebook("name: x\ncodes:\n  - id: a\n    name: A\n    keywords: [no, yes]\n"
                          "    patterns:\n      - [{LOWER: on}, {LOWER: off}]\n")
    assert book.get("a").keywords == ["no", "yes"]
    assert book.get("a").patterns == [[{"LOWER": "on"}, {"LOWER": "off"}]]


@pytest.mark.parametrize("text,expected", [
    ("", "the file is empty"),
    ("name: x\ncodes: [\n", "cb.yaml:3: not valid YAML"),
    ("- just\n- a list\n", "a codebook must be a mapping"),
    ("name: x\ncodes: []\n", "'codes' must be a non-empty list"),
    ("name: x\ncodes:\n  - id: a\n    name: A\n    color: blue\n", "must be a hex value"),
    ("name: x\nname: y\ncodes:\n  - {id: a, name: A}\n", "cb.yaml:2: name: duplicate key"),
])
def test_single_problems(text, expected):
    assert any(expected in p for p in problems(text)), problems(text)


def test_the_codebook_language_is_read_checked_and_kept(tmp_path):
    assert parse_codebook(SMALL_CODEBOOK).language == "en"
    assert "language" not in dump_codebook(parse_codebook(SMALL_CODEBOOK))
    book = parse_codebook(SMALL_CODEBOOK.replace('version: "0.1"\n',
                                                 'version: "0.1"\nlanguage: DE\n'))
    assert book.language == "de"
    again = load_codebook(save_codebook(book, tmp_path / "de.yaml"))
    assert again == book and "description: For tests.\nlanguage: de\n" in dump_codebook(again)
    found = problems("name: x\nlanguage: German\ncodes:\n  - {id: a, name: A}\n")
    assert found == ["cb.yaml:2: language: language 'German' must be a language code such as "
                     "en, de, fr or es (ISO 639-1): the language the keywords are written in"]


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(CodebookError, match="file not found"):
        load_codebook(tmp_path / "nope.yaml")
    bad = tmp_path / "latin.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(CodebookError, match="not UTF-8"):
        load_codebook(bad)


def test_structure_inheritance_and_lookup():
    book = parse_codebook(SMALL_CODEBOOK)
    assert book.ids() == ["isolation", "working_alone", "no_debrief", "talk_type", "upbeat",
                          "downbeat"]
    assert book.get("isolation").is_theme and not book.get("working_alone").is_theme
    assert book.parent_of("upbeat").id == "talk_type" and book.get("talk_type").exclusive
    assert book.speakers_for("working_alone") == ["participant"]
    assert book.get("working_alone").patterns == [[{"LOWER": "nobody"}, {"LOWER": "else"}]]


def test_save_round_trips_without_losing_fields(tmp_path):
    book = parse_codebook(SMALL_CODEBOOK)
    book.get("no_debrief").speakers = ["participant", "Dana"]
    book.get("no_debrief").examples = ["Nobody to talk to: not one person."]
    path = save_codebook(book, tmp_path / "out.yaml")
    again = load_codebook(path)
    assert again == book
    assert dump_codebook(again) == path.read_text(encoding="utf-8")
    # readable: block style, patterns on one line each
    assert "      - id: working_alone\n" in path.read_text()
    assert "[{LOWER: nobody}, {LOWER: else}]" in path.read_text()


def test_save_refuses_an_invalid_codebook_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text(SMALL_CODEBOOK)
    book = load_codebook(path)
    book.get("upbeat").id = "working_alone"
    with pytest.raises(CodebookError, match="duplicate id"):
        save_codebook(book, path)
    assert path.read_text() == SMALL_CODEBOOK


SHIPPED = sorted((REPO / "codebooks").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_codebooks_are_valid_and_complete(path: Path):
    book = load_codebook(path)
    for code, _parent in book.walk():
        assert code.definition.strip(), f"{code.id} has no definition"
        if not code.is_theme:
            assert code.include and code.examples and (code.keywords or code.patterns), code.id
    assert parse_codebook(dump_codebook(book)) == book


def test_keyworker_codebook_has_the_study_themes():
    book = load_codebook(REPO / "codebooks" / "keyworker.yaml")
    themes = {c.id: [k.id for k in c.children] for c in book.codes}
    assert {"role_boundaries", "isolation", "peer_support", "participant_complexity",
            "organisational_support", "keyworker_wellbeing"} <= set(themes)
    assert {"unclear_scope", "emotional_demands", "out_of_hours_contact",
            "saying_no"} <= set(themes["role_boundaries"])
    assert {"working_alone", "no_debrief"} <= set(themes["isolation"])
    assert {"mutual_support", "knowledge_sharing", "being_listened_to",
            "peer_network_events"} <= set(themes["peer_support"])
    assert book.speakers == ["participant"]


def test_mi_codebook_ids_equal_annomi_labels():
    book = load_codebook(REPO / "codebooks" / "annomi_mi.yaml")
    tb, ct = book.get("therapist_behaviour"), book.get("client_talk_type")
    assert tb.exclusive and ct.exclusive
    assert [c.id for c in tb.children] == ["reflection", "question", "therapist_input", "other"]
    assert [c.id for c in ct.children] == ["change", "neutral", "sustain"]
    assert book.speakers_for("question") == ["therapist"]
    assert book.speakers_for("change") == ["client"]
