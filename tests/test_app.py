"""Every page of the Streamlit app, headless (AppTest), on a real project."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from qualkit.pipeline import code_project, import_paths

from .conftest import REPO

TEXT = ("Interviewer: How is it?\n\nDana: I work alone, <script>alert(1)</script> and nobody "
        "else is there. I love it though.\n")


@pytest.fixture
def coded_project(project, tmp_path, monkeypatch):
    src = tmp_path / "p01_dana.txt"
    src.write_text(TEXT)
    import_paths(project, [src], "tester")
    code_project(project, actor="tester", suggesters=("rules",))
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    return project


def app(page: str | None = None, coder: str | None = "ann") -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    if coder:
        at.session_state["coder"] = coder
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_coding_page_asks_who_is_coding_first(coded_project):
    at = app(coder=None)
    assert "Enter your name" in at.info[0].value


def test_coding_page_shows_the_transcript_and_its_suggestions(coded_project):
    at = app()
    assert at.selectbox(key="transcript").options == ["p01_dana (2 turns)"]
    assert any("2 suggestions to review" in c.value for c in at.caption)
    view = at.get("bidi_component")[0].proto
    # The text travels as JSON data and is rendered with textContent, never as HTML.
    assert "<script>alert(1)</script>" in view.json
    assert "innerHTML" not in view.js_content and "<script" not in view.html_content


def test_coding_page_codes_a_selection_by_hand(coded_project):
    at = app()
    text = coded_project.store.load_transcript("p01_dana").text
    start = text.index("nobody else")
    at.session_state["selection"] = {"start": start, "end": start + 11, "text": "nobody else",
                                     "transcript": "p01_dana"}
    at.run()
    at.sidebar.selectbox(key="hand_code").set_value("no_debrief")
    at.sidebar.button(key="hand_apply").click().run()
    assert not at.exception
    [c] = [c for c in coded_project.store.codings() if c.source == "manual"]
    assert (c.coder, c.code_id, text[c.start:c.end]) == ("ann", "no_debrief", "nobody else")
    assert "Coded as" in at.success[0].value


def test_queue_page_accepts_and_rejects(coded_project):
    at = app("ui/pages/queue.py")
    assert any("2 suggestions waiting" in c.value for c in at.caption)
    at.button(key="q_accept").click().run()
    at.button(key="q_reject").click().run()
    assert not at.exception
    decided = sorted(c.status for c in coded_project.store.codings() if c.coder == "ann")
    assert decided == ["accepted", "rejected"]
    assert "Nothing left to review" in at.success[-1].value
    at.sidebar.button[0].click().run()  # undo
    assert sorted(c.status for c in coded_project.store.codings() if c.coder == "ann") == \
        ["accepted"]


def test_project_page_shows_counts_and_events(coded_project):
    at = app("ui/pages/project.py")
    assert any("1 transcripts, 2 turns" in c.value for c in at.caption)
    assert len(at.dataframe) == 1
    at.button[2].click().run()  # prepare the coded-segments table
    assert not at.exception


def test_app_without_project_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALKIT_PROJECT", str(tmp_path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "no qualkit project here" in at.error[0].value


def test_themes_page_shows_frequencies_matrix_and_extracts(coded_project):
    from qualkit import review

    sug = coded_project.store.codings(status="suggested")[0]
    review.accept(coded_project.store, sug.id, "ann")
    at = app("ui/pages/themes.py")
    freq = at.dataframe[0].value.set_index("code")
    assert freq.loc[sug.code_id, "segments"] == 1 and freq.loc[sug.code_id, "of"] == 1
    at.selectbox(key="ex_a").set_value(sug.code_id).run()
    assert not at.exception
    assert any("ann" in c.value for c in at.caption)


def test_topics_page_without_a_run_says_how_to_start(coded_project):
    at = app("ui/pages/topics.py")
    assert "No topic run yet" in at.info[0].value


def test_codebook_page_shows_the_tree_and_merges_codes(coded_project):
    at = app("ui/pages/codebook.py")
    assert any("Working alone" in e.label for e in at.expander)
    at.multiselect[0].set_value(["no_debrief"])
    [target] = [s for s in at.selectbox if s.label == "into"]
    target.set_value("working_alone")
    [button] = [b for b in at.button if b.label == "Merge"]
    button.click().run()
    assert not at.exception
    assert "Merged no_debrief into 'working_alone'" in at.success[0].value
    assert coded_project.codebook().get("no_debrief") is None
