"""Pseudonymised exports: replacing, offsets, seeding and proposing, the store's table, the
check, and every export of the sample study written pseudonymised."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qualkit.cli import app
from qualkit.errors import QualkitError
from qualkit.model import Segment, Transcript
from qualkit.pseudonym import (
    IGNORE,
    PROPOSED,
    USE,
    Pseudonym,
    Pseudonymiser,
    check,
    load,
    propose,
    pseudonymise,
    role_label,
    seed,
)

from .conftest import REPO, build_project, run_app

TABLE = [Pseudonym("Dana", "P01"), Pseudonym("Dana Reid", "Participant 3"),
         Pseudonym("Keldside", "[place 1]"), Pseudonym("Ruth", "Colleague 1"),
         Pseudonym("Callum", "[name 1]", status=PROPOSED),
         Pseudonym("Leah", "[name 2]", status=IGNORE)]


# -- replacing ---------------------------------------------------------------------------------

def test_longest_first_whole_words_possessives_and_case():
    text = ("Dana Reid met Dana's manager Ruth in Keldside. p01_dana, DANA and dana; "
            "Danae, Ruthless and Callum stay; so does Leah.")
    new, _ = pseudonymise(text, TABLE)
    assert new == ("Participant 3 met P01's manager Colleague 1 in [place 1]. p01_p01, P01 "
                   "and p01; Danae, Ruthless and Callum stay; so does Leah.")


def test_a_name_split_by_a_line_break_is_found():
    new, _ = pseudonymise("I asked Dana\nReid.", TABLE)
    assert new == "I asked Participant 3."


def test_offset_map_moves_spans_onto_the_same_words():
    text = "Yes. Dana Reid said Ruth's car broke down in Keldside."
    new, offsets = pseudonymise(text, TABLE)
    for words in ("Yes.", "Ruth's car", "broke down", "in Keldside.", "Dana Reid said"):
        start = text.index(words)
        a, b = offsets.span(start, start + len(words))
        assert new[a:b] == pseudonymise(words, TABLE)[0]
    # a span starting or ending inside a name covers the whole replacement
    start = text.index("ana Reid")
    a, b = offsets.span(start, start + len("ana Re"))
    assert new[a:b] == "Participant 3"


WORDS = ["Dana", "Reid", "Ruth", "Keldside", "said", "the", "Dana's", "car", "ruth",
         "Danae", "x", "KELDSIDE."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25),
       st.lists(st.sampled_from([" ", "  ", "\n", ", "]), min_size=25, max_size=25),
       st.data())
def test_property_mapped_span_is_the_original_span_pseudonymised(words, gaps, data):
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))
    bounds = sorted({0, len(text)} | {m.start() for m in re.finditer(r"\S+", text)}
                    | {m.end() for m in re.finditer(r"\S+", text)})
    start = data.draw(st.sampled_from(bounds))
    end = data.draw(st.sampled_from([b for b in bounds if b >= start]))
    new, offsets = pseudonymise(text, TABLE)
    matches = [(r.start, r.end) for r in offsets.replaced]
    # a coding never cuts a replaced name in two (codings cover whole words)
    assume(all(e <= start or s >= end or (start <= s and e <= end) for s, e in matches))
    a, b = offsets.span(start, end)
    assert new[a:b] == pseudonymise(text[start:end], TABLE)[0]
    assert 0 <= a <= b <= len(new)


def test_nothing_in_use_changes_nothing():
    text = "Dana met Callum."
    new, offsets = pseudonymise(text, [Pseudonym("Callum", "[x]", status=PROPOSED)])
    assert new == text and offsets.span(4, 8) == (4, 8)
    assert not Pseudonymiser.none() and Pseudonymiser.none().text(text) == text


def test_pseudonymiser_moves_a_transcript_and_its_codings():
    from qualkit.model import Coding

    text = "Interviewer: Hello Dana.\nDana: Ruth helps me in Keldside."
    tr = Transcript("p01_dana", text, [
        Segment(0, 13, 24, "Interviewer", "Hello Dana.", role="interviewer"),
        Segment(1, 31, len(text), "Dana", text[31:])], {"pseudonym": "Dana", "town": "Keldside"})
    c = Coding("c", "p01_dana", text.index("Ruth"), len(text), "ana", memo="Ruth again")
    shown, [moved] = Pseudonymiser(TABLE).transcript(tr, [c])
    assert shown.name == "p01_p01" and shown.attributes == {"pseudonym": "P01",
                                                            "town": "[place 1]"}
    assert [s.speaker for s in shown.segments] == ["Interviewer", "P01"]
    assert all(shown.text[s.start:s.end] == s.text for s in shown.segments)
    assert shown.text[moved.start:moved.end] == "Colleague 1 helps me in [place 1]."
    assert moved.memo == "Colleague 1 again" and moved.transcript == "p01_p01"
    assert tr.text == text  # the original is never changed


# -- seeding and proposing ----------------------------------------------------------------------

def _transcript(name, attributes, turns):
    text, segments = "", []
    for i, (speaker, role, words) in enumerate(turns):
        start = len(text) + len(speaker) + 2
        text += f"{speaker}: {words}\n"
        segments.append(Segment(i, start, start + len(words), speaker, words, role=role))
    return Transcript(name, text, segments, attributes)


def test_role_labels_are_not_names():
    assert all(role_label(x) for x in ("Interviewer", "INT", "P1", "Participant 3", "R",
                                       "Speaker 2", "I"))
    assert not any(role_label(x) for x in ("Dana", "Dana Reid", "Mo"))


def test_seed_names_speakers_and_attributes():
    a = _transcript("p01_dana", {"participant": "P01", "pseudonym": "Dana",
                                 "organisation": "Dales Pathways Trust", "region": "Keldshire"},
                    [("Sam Hill", "interviewer", "Hello."), ("Dana", "participant", "Hi.")])
    b = _transcript("p02", {"pseudonym": "Robin", "name": "Will Reid"},
                    [("INT", "interviewer", "Hello."), ("Will Reid", "participant", "Hi.")])
    found = {p.original: p for p in seed([a, b])}
    assert (found["Dana"].replacement, found["Dana"].status) == ("P01", USE)
    assert found["Sam Hill"].replacement == found["Sam"].replacement == "Interviewer 1"
    assert found["Will Reid"].replacement == "Robin"
    assert found["Reid"].status == USE
    assert found["Will"].status == PROPOSED  # also an English word: the researcher decides
    assert found["Dales Pathways Trust"].replacement == "[organisation 1]"
    assert found["Keldshire"].replacement == "[place 1]"
    assert found["Keldshire"].status == PROPOSED
    assert "INT" not in found and "P01" not in found
    # what the table already has (and the researcher's decision) is left alone
    again = seed([a, b], [Pseudonym("dana", "X1", status=IGNORE)])
    assert "Dana" not in {p.original for p in again}


def test_propose_recurring_capitalised_words_only():
    from qualkit.model import Code, Codebook

    turns = [("Dana", "participant", "My manager Ruth rang. Then Ruth came round."),
             ("INT", "interviewer", "And Ruth helped? Tell me about Universal Credit."),
             ("Dana", "participant", "Yes. Ruth did. Universal Credit was hard. Monday too."),
             ("Dana", "participant", "Because on Monday I rang Kwabena. Because it was late."),
             ("Dana", "participant", "So Kwabena came. The GP and the GP again.")]
    tr = _transcript("p01", {}, turns)
    book = Codebook("b", codes=[Code("uc", "Benefits", keywords=["universal credit"])])
    found = {p.original: p for p in propose([tr], book)}
    assert set(found) == {"Ruth", "Kwabena"}, found
    assert all(p.status == PROPOSED and p.replacement.startswith("[name ") for p in
               found.values())
    assert set(found) - {p.original for p in propose([tr], book, [Pseudonym("Kwabena", "K")])} \
        == {"Kwabena"}


def test_propose_in_a_german_study_leaves_german_nouns_alone():
    """Every German noun is capitalised: the codebook's language keeps them out of the
    proposals, while names (which the German table knows only by their genitive, "Pauls")
    are still proposed."""
    from qualkit.model import Code, Codebook

    turns = [("Dana", "participant", "Meine Kollegen sind toll. Die Kollegen und Paul helfen "
                                     "seit Januar in der Straße."),
             ("INT", "interviewer", "Und die Arbeit? Und Paul? Seit Januar?"),
             ("Dana", "participant", "Ja, die Arbeit mit Paul und den Kollegen in der Straße ist "
                                     "gut.")]
    tr = _transcript("p01", {}, turns)
    book = Codebook("b", codes=[Code("x", "X", keywords=["Team"])], language="de")
    # "Straße" is looked up casefolded ("strasse"); "Januar" is what "Jan." stands for (the
    # table has it only as "Januars", a pair taken for a name's genitive)
    assert {p.original for p in propose([tr], book)} == {"Paul"}
    book.language = "en"
    assert {p.original for p in propose([tr], book)} == {"Paul", "Kollegen", "Arbeit", "Januar",
                                                         "Straße"}


def test_entities_need_a_trained_pipeline():
    from qualkit.pseudonym import _entities, trained_pipeline

    if trained_pipeline() is None:
        assert _entities(["Dana works for Acme in Leeds."]) == {}
    else:  # with en_core_web_sm or larger installed
        assert "Leeds" in _entities(["Dana Reid works for Acme Ltd in Leeds."])


# -- checking exports ------------------------------------------------------------------------

def test_check_lists_what_remains(tmp_path):
    found = check("Safe text about P01. But Ruth's name\nand DANA remain; Callum is proposed.",
                  TABLE)
    assert [(o.original, o.line) for o in found] == [("Ruth", 1), ("DANA", 2)]
    html = tmp_path / "r.html"
    html.write_text("<p>Da<b>na</b> and R&#x27;s <span title='Keldside'>x</span></p>")
    assert sorted(o.original for o in check(html, TABLE)) == ["Dana", "Keldside"]
    other = tmp_path / "r.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(QualkitError, match="cannot check"):
        check(other, TABLE)
    broken = tmp_path / "r.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(QualkitError, match="not a zip"):
        check(broken, TABLE)


# -- the store's table ---------------------------------------------------------------------

def test_store_table_keeps_decisions_and_logs_every_change(project):
    store = project.store
    assert store.upsert_pseudonyms([("Dana", "P01", USE, "speaker"),
                                    ("Ruth", "[name 1]", PROPOSED, "proposed")], "ana") == 2
    # seeding again keeps the researcher's entries; case does not make a new entry
    assert store.upsert_pseudonyms([("dana", "P09", USE, "speaker")], "ana",
                                   overwrite=False) == 0
    assert store.set_pseudonym_status(["ruth"], USE, "ana") == 1
    store.upsert_pseudonyms([("Ruth", "Colleague 1", USE, "proposed")], "ana")
    assert [(p.original, p.replacement, p.status) for p in load(store)] == [
        ("Dana", "P01", USE), ("Ruth", "Colleague 1", USE)]
    store.delete_pseudonym("DANA", "ana")
    assert [p.original for p in load(store)] == ["Ruth"]
    with pytest.raises(QualkitError, match="not in the pseudonym table"):
        store.set_pseudonym_status(["Nobody"], USE, "ana")
    actions = [e.action for e in store.events(20)]
    assert {"pseudonyms", "pseudonym_status", "delete"} <= set(actions)


def test_cli_table_commands(project, tmp_path):
    runner = CliRunner()
    p = ["-p", str(project.root)]
    r = runner.invoke(app, ["pseudonyms", "add", "Dana Reid", "Participant 3", *p])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["pseudonyms", "add", "Dana", "Dana the second", *p])
    assert r.exit_code == 1 and "still contains" in r.output
    project.store.upsert_pseudonyms([("Keldside", "[place 1]", PROPOSED, "proposed")], "t")
    r = runner.invoke(app, ["pseudonyms", "accept", "Keldside", "--as", "[village]", *p])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["pseudonyms", "list", "--status", "use", *p])
    assert "Dana Reid -> Participant 3  (use, added)" in r.output
    assert "Keldside -> [village]  (use, proposed)" in r.output
    export = tmp_path / "notes.md"
    export.write_text("Dana Reid went to [village].\nKeldside, again.\n")
    r = runner.invoke(app, ["pseudonyms", "check", str(export), *p])
    assert r.exit_code == 3 and "notes.md:2: 'Keldside'" in r.output and "Dana" in r.output
    r = runner.invoke(app, ["pseudonyms", "ignore", "Keldside", *p])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["pseudonyms", "check", str(export), *p])
    assert r.exit_code == 3 and "'Keldside'" not in r.output and "'Dana Reid'" in r.output
    r = runner.invoke(app, ["pseudonyms", "remove", "Dana Reid", *p])
    r = runner.invoke(app, ["pseudonyms", "check", str(export), *p])
    assert r.exit_code == 0 and "No identifying string" in r.output


def test_pseudonymise_with_an_empty_table_is_refused(project, tmp_path):
    r = CliRunner().invoke(app, ["export", "extracts", "-o", str(tmp_path / "e.csv"),
                                 "--pseudonymise", "-p", str(project.root)])
    assert r.exit_code == 1 and "no names in use" in r.output
    assert not (tmp_path / "e.csv").exists()


# -- done when: every export of the sample study, pseudonymised ---------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample") / "study"
    memo = "Ruth said Dana should see this; Keldside again."  # Keldside: added by hand
    project = build_project(root, codebook="keyworker", transcripts=[REPO / "sample_transcripts"],
                            suggesters=("rules",),
                            decisions={"ana": lambda i, s: ("accept", memo if i < 5 else "")})
    runner = CliRunner()
    for args in (["propose"], ["accept", "--all"], ["add", "Keldside", "[place 1]"]):
        r = runner.invoke(app, ["pseudonyms", *args, "-p", str(root)])
        assert r.exit_code == 0, r.output
    yield project
    project.close()


def test_sample_table_is_seeded_and_proposed(sample):
    table = {p.original: p for p in load(sample.store)}
    assert table["Dana"].replacement == "P01" and table["Dana"].origin == "speaker"
    assert table["Ruth"].status == USE and table["Dales Pathways Trust"].status == USE
    assert all(p.status == USE for p in table.values())
    assert "Interviewer" not in table


def test_every_export_of_the_sample_is_free_of_identifying_strings(sample, tmp_path, shared):
    import xmlschema

    runner = CliRunner()
    p = ["-p", str(sample.root), "--pseudonymise"]
    outputs = {
        "report.md": ["report", "-o"], "report.docx": ["report", "-o"],
        "report.html": ["report", "-o"],
        "extracts.csv": ["export", "extracts", "-o"], "extracts.xlsx": ["export", "extracts",
                                                                        "-o"],
        "table.csv": ["export", "table", "-o"],
        "framework.xlsx": ["export", "framework", "--cells", "extracts", "-o"],
        "project.qdpx": ["export", "qdpx", "-o"]}
    for name, command in outputs.items():
        r = runner.invoke(app, [*command, str(tmp_path / name), *p])
        assert r.exit_code == 0, (name, r.output)
        assert "still identifying" not in r.output
    table = [t for t in load(sample.store) if t.status == USE]
    originals = [t.original for t in table]
    assert {"Dana", "Ruth", "Keldside", "Dales Pathways Trust"} <= set(originals)
    for name in outputs:
        assert check(tmp_path / name, table) == [], name
    # the same, searched by hand in the files' plain text
    texts = {"report.md": (tmp_path / "report.md").read_text(),
             "extracts.csv": (tmp_path / "extracts.csv").read_text(encoding="utf-8-sig")}
    for name in ("report.docx", "extracts.xlsx", "project.qdpx"):
        with zipfile.ZipFile(tmp_path / name) as zf:
            texts[name] = "\n".join(zf.read(n).decode("utf-8") for n in zf.namelist()
                                    if n.endswith((".xml", ".qde", ".txt")))
    for name, text in texts.items():
        for original in originals:
            assert not re.search(rf"(?<![^\W_]){re.escape(original)}(?![^\W_])", text,
                                 re.IGNORECASE), (name, original)
    # the pseudonymised labels are there instead
    assert "P01" in texts["report.md"]
    assert "p01_p01" in texts["extracts.csv"]
    # the .qdpx still validates and its codings cover the same words
    with zipfile.ZipFile(tmp_path / "project.qdpx") as zf:
        qde = zf.read("project.qde").decode("utf-8")
        sources = {n: zf.read(n).decode("utf-8") for n in zf.namelist()
                   if n.startswith("sources/")}
    xmlschema.XMLSchema(shared / "refi-qda" / "Project.xsd").validate(qde)
    ns = "{urn:QDA-XML:project:1.0}"
    root = ET.fromstring(qde)
    pseudo = Pseudonymiser(table)
    expected: dict[str, Counter[str]] = {}
    for tr in sample.store.iter_transcripts():
        expected[pseudo.text(tr.name)] = Counter(
            pseudo.text(tr.text[c.start:c.end])
            for c in sample.store.codings(transcript=tr.name, status="accepted"))
    seen = 0
    for src in root.iter(f"{ns}TextSource"):
        text = sources["sources/" + src.get("plainTextPath").split("//")[1]]
        got = Counter(text[int(s.get("startPosition")):int(s.get("endPosition"))]
                      for s in src.iter(f"{ns}PlainTextSelection"))
        assert got == expected[src.get("name")], src.get("name")
        seen += sum(got.values())
    assert seen == sum(sum(c.values()) for c in expected.values()) > 100
    memos = [n.findtext(f"{ns}PlainTextContent") for n in root.iter(f"{ns}Note")]
    assert any(m.endswith("said P01 should see this; [place 1] again.") for m in memos)


def test_an_export_with_names_left_warns_and_exits_3(sample, tmp_path):
    from qualkit.pseudonym import add_entry

    # a name the export cannot replace: the codebook's own words are never replaced
    add_entry(sample.store, "Support", "[word]", "ana")
    try:
        r = CliRunner().invoke(app, ["export", "qdpx", "-o", str(tmp_path / "x.qdpx"),
                                     "-p", str(sample.root), "--pseudonymise"])
    finally:
        sample.store.delete_pseudonym("Support", "ana")
    assert r.exit_code == 3, r.output
    assert "still identifying" in r.output and "'Support'" in r.output
    assert (tmp_path / "x.qdpx").exists()


# -- the app ---------------------------------------------------------------------------------------

APP_TEXT = ("Interviewer: How is it, Dana?\n\nDana: I work alone. My manager Ruth rang once. "
            "Then Ruth visited.\n\nInterviewer: And then?\n\nDana: Then Ruth helped me, and "
            "nobody else is there.\n")


@pytest.fixture
def served(make_project, monkeypatch):
    project = make_project(transcripts={"p01_dana.txt": APP_TEXT}, suggesters=("rules",))
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    return project


def test_pseudonyms_page_finds_names_and_accepts_a_proposed_one(served):
    at = run_app("views/pseudonyms.py")
    at.button(key="pseudonyms_find").click().run()
    assert not at.exception, at.exception
    table = {p.original: p for p in load(served.store)}
    assert table["Dana"].status == USE and table["Ruth"].status == PROPOSED
    at.text_input(key="pseudonym_rep_0").set_value("Colleague 1").run()
    at.button(key="pseudonym_accept_0").click().run()
    assert not at.exception, at.exception
    table = {p.original: p for p in load(served.store)}
    assert (table["Ruth"].replacement, table["Ruth"].status) == ("Colleague 1", USE)
    assert any(e.action == "pseudonyms" and e.actor == "ann" for e in served.store.events(5))


def test_project_page_report_download_can_be_pseudonymised(served):
    served.store.upsert_pseudonyms([("Dana", "P01", USE, "speaker"),
                                    ("Ruth", "Colleague 1", USE, "added")], "ann")
    at = run_app("views/project.py")
    at.checkbox(key="report_pseudonymise").check().run()
    at.selectbox(key="report_format").set_value("Web page (.html)")
    at.selectbox(key="report_include").set_value("all").run()
    at.button(key="report_make").click().run()
    assert not at.exception, at.exception
    name, data = at.session_state["report_file"]
    html = data.decode("utf-8")
    assert "p01_p01" in html  # the transcript's name, as its label
    assert not re.search(r"(?<![^\W_])(dana|ruth)(?![^\W_])", html, re.IGNORECASE)
    at.checkbox(key="report_pseudonymise").uncheck().run()
    at.button(key="report_make").click().run()
    assert "p01_dana" in at.session_state["report_file"][1].decode("utf-8")


def test_themes_page_extracts_download_can_be_pseudonymised(served):
    served.store.upsert_pseudonyms([("Dana", "P01", USE, "speaker"),
                                    ("Ruth", "Colleague 1", USE, "added")], "ann")
    code = served.store.codings(status="suggested")[0].code_id
    at = run_app("views/themes.py")
    at.radio(key="themes_include").set_value("all").run()
    at.selectbox(key="ex_a").set_value(code).run()
    at.checkbox(key="extracts_pseudonymise").check().run()
    at.radio(key="extracts_format").set_value("csv").run()
    at.button(key="extracts_make").click().run()
    assert not at.exception, at.exception
    name, data = at.session_state["extracts_file"]
    text = data.decode("utf-8-sig")
    assert name == "extracts.csv" and "p01_p01" in text
    assert not re.search(r"(?<![^\W_])(dana|ruth)(?![^\W_])", text, re.IGNORECASE)

@pytest.mark.browser
def test_accept_a_proposed_name_in_the_browser(make_project, tmp_path, chromium):
    import time

    from qualkit.pseudonym import propose_project, seed_project

    from .browser import browser_page, serve, set_coder

    project = make_project(transcripts={"p01_dana.txt": APP_TEXT}, actor="setup")
    seed_project(project.store, "setup")
    propose_project(project.store, project.codebook_if_any(), "setup")
    assert {p.original: p.status for p in load(project.store)} == {"Dana": USE,
                                                                  "Ruth": PROPOSED}
    with serve(project.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url)
        set_coder(page, "Playwright Tester")
        page.get_by_role("link", name="Pseudonyms").click()
        page.get_by_text("Proposed (1)").wait_for(timeout=30000)
        box = page.get_by_role("textbox", name="Replacement")
        box.fill("Colleague 1")
        box.press("Enter")
        page.get_by_role("button", name="Accept", exact=True).click()
        page.get_by_text("Proposed (0)").wait_for(timeout=30000)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ruth = next(p for p in load(project.store) if p.original == "Ruth")
        if ruth.status == USE:
            break
        time.sleep(0.2)
    assert (ruth.replacement, ruth.status, ruth.actor) == ("Colleague 1", USE,
                                                           "Playwright Tester")
