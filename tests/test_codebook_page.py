"""The Codebook page (AppTest, and once in Chromium): the code tree on one side, one editor for
the selected code on the other; every change through ``edit.apply_change`` with the codebook
the tab showed as its base."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import APP, SMALL_CODEBOOK

TEXT = ("Interviewer: How is it?\n\nDana: I work alone, and nobody else is there. "
        "I love it though.\n")
MARKUP = "<img src=x onerror=alert(1)>"


@pytest.fixture
def coded_project(make_project, monkeypatch):
    """p01_dana with two rule suggestions (working_alone, upbeat), served to the app."""
    project = make_project(transcripts={"p01_dana.txt": TEXT}, suggesters=("rules",))
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    return project


def page(coder: str = "ann") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = coder
    at.run()
    at.switch_page("views/codebook.py").run()
    assert not at.exception, at.exception
    return at


def form(at: AppTest, form_id: str):
    return next(f for f in at.get("form") if f.proto.form.form_id == form_id)


def field(at: AppTest, form_id: str, label: str):
    found = form(at, form_id)
    widgets = [*found.text_input, *found.text_area, *found.selectbox, *found.multiselect,
               *found.checkbox]
    [widget] = [w for w in widgets if w.label == label]
    return widget


def submit(at: AppTest, form_id: str) -> AppTest:
    form(at, form_id).button[0].click().run()
    assert not at.exception, at.exception
    return at


def pick(at: AppTest, code_id: str) -> AppTest:
    at.button(key=f"cb_pick_{code_id}").click().run()
    assert not at.exception, at.exception
    return at


def heading(at: AppTest) -> str:
    """The editor's heading: the selected code's swatch, name and id."""
    return next(m.value for m in at.markdown if m.proto.allow_html and "<code>" in m.value)


def said(at: AppTest) -> str:
    """The message near the action (and the same words in a toast)."""
    shown = [m.value for m in (*at.success, *at.error)]
    assert len(shown) == 1, shown
    assert [t.value for t in at.toast] == shown
    return shown[0]


def tree_rows(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.proto.allow_html and "<small" in m.value]


def test_the_tree_shows_every_code_and_choosing_one_opens_its_editor(coded_project):
    at = page()
    rows = tree_rows(at)
    assert len(rows) == 6  # every code, themes and their codes
    [alone] = [r for r in rows if "Working alone" in r]
    assert "1 suggested" in alone and "padding-left:1.4em" in alone  # indented under Isolation
    [talk] = [r for r in rows if "Talk type" in r]
    assert "exclusive" in talk and "padding-left:0.0em" in talk
    assert "no codings" in next(r for r in rows if "Downbeat" in r)
    assert "Isolation" in heading(at)  # the first code is open at first
    pick(at, "working_alone")
    assert "Working alone" in heading(at) and r"working\_alone" in heading(at)
    assert field(at, "cb_edit_form", "Name").value == "Working alone"
    assert field(at, "cb_edit_form", "Definition").value.startswith("Doing the job")
    assert at.button(key="cb_pick_working_alone").label == "Editing"
    assert any("Under Isolation" in c.value for c in at.caption)


def test_renaming_a_code_moves_its_codings_and_keeps_it_open(coded_project):
    at = pick(page(), "working_alone")
    field(at, "cb_edit_form", "Name").set_value("Lone working")
    field(at, "cb_edit_form", "Id").set_value("lone_working")
    submit(at, "cb_edit_form")
    assert said(at) == ("Saved 'Lone working': renamed 'Working alone' to 'Lone working' and "
                        r"id 'working\_alone' to 'lone\_working'.")
    book = coded_project.codebook()
    assert book.get("working_alone") is None and book.get("lone_working").name == "Lone working"
    codes = {c.code_id for c in coded_project.store.codings()}
    assert "lone_working" in codes and "working_alone" not in codes
    assert "Lone working" in heading(at)  # the renamed code stays open
    assert field(at, "cb_edit_form", "Name").value == "Lone working"


def test_moving_a_code_up_out_and_into_another_theme(coded_project):
    at = pick(page(), "downbeat")
    assert at.button(key="cb_down").disabled  # already last
    at.button(key="cb_up").click().run()
    assert said(at) == "Moved 'Downbeat' up."
    assert [c.id for c in coded_project.codebook().get("talk_type").children] == [
        "downbeat", "upbeat"]
    assert at.button(key="cb_up").disabled  # now first
    field(at, "cb_move_form", "Move under").set_value("isolation")
    submit(at, "cb_move_form")
    assert said(at) == "Moved 'Downbeat' under 'Isolation'."
    book = coded_project.codebook()
    assert [c.id for c in book.get("isolation").children] == [
        "working_alone", "no_debrief", "downbeat"]
    at.button(key="cb_out").click().run()
    assert said(at) == "Moved 'Downbeat' out of 'Isolation'."
    assert [c.id for c in coded_project.codebook().codes] == ["isolation", "downbeat",
                                                             "talk_type"]
    assert at.button(key="cb_out").disabled  # at the top level


def test_merging_codes_into_the_open_one(coded_project):
    at = pick(page(), "no_debrief")
    merge = field(at, "cb_merge_form", "Codes to merge into this one")
    assert "isolation" not in merge.options  # its own theme cannot be merged into it
    merge.set_value(["working_alone"])
    submit(at, "cb_merge_form")
    assert said(at) == ("Merged 'Working alone' into 'No one to debrief with'; 1 coding moved "
                        "to it.")
    book = coded_project.codebook()
    assert book.get("working_alone") is None
    assert "work alone" in book.get("no_debrief").keywords
    assert "working_alone" not in {c.code_id for c in coded_project.store.codings()}


def test_splitting_the_open_code(coded_project):
    at = pick(page(), "upbeat")
    field(at, "cb_split_form", "New codes, one per line as id: name").set_value(
        "joy: Joy\nrelief: Relief")
    field(at, "cb_split_form", "Add them under this code (otherwise beside it)").check()
    submit(at, "cb_split_form")
    assert said(at) == "Split 'Upbeat' into 'Joy', 'Relief' (under it)."
    assert [c.id for c in coded_project.codebook().get("upbeat").children] == ["joy", "relief"]
    assert len(tree_rows(at)) == 8


def test_adding_a_code_under_the_open_one_opens_the_new_code(coded_project):
    at = pick(page(), "isolation")
    field(at, "cb_add_form", "Id (e.g. funding_worries)").set_value("lone_visits")
    field(at, "cb_add_form", "Name").set_value("Lone visits")
    submit(at, "cb_add_form")
    assert said(at) == r"Added 'Lone visits' (lone\_visits) under 'Isolation'."
    assert coded_project.codebook().get("isolation").children[-1].id == "lone_visits"
    assert "Lone visits" in heading(at)
    # and a bad id is refused in plain words, nothing added
    field(at, "cb_add_form", "Id (e.g. funding_worries)").set_value("Bad Id")
    field(at, "cb_add_form", "Name").set_value("Bad")
    submit(at, "cb_add_form")
    assert at.error and "id" in said(at)
    assert len(coded_project.codebook().all_codes()) == 7


def test_deleting_a_code_with_codings_moves_them_after_a_confirmation(coded_project):
    at = pick(page(), "working_alone")
    delete = at.button(key="cb_delete")
    assert delete.disabled  # nothing confirmed, nowhere chosen for its codings
    [sure] = [c for c in at.checkbox if c.key == "cb_sure_working_alone"]
    sure.check().run()
    assert at.button(key="cb_delete").disabled  # still nowhere for its one coding
    at.selectbox(key="cb_reassign_working_alone").set_value("no_debrief").run()
    at.button(key="cb_delete").click().run()
    assert not at.exception
    assert said(at) == ("Deleted 'Working alone'; its 1 coding now belongs to 'No one to "
                        "debrief with'.")
    assert coded_project.codebook().get("working_alone") is None
    assert "no_debrief" in {c.code_id for c in coded_project.store.codings()}
    assert "No one to debrief with" in heading(at)  # where its codings went
    # a code without codings needs only the confirmation
    pick(at, "downbeat")
    [sure] = [c for c in at.checkbox if c.key == "cb_sure_downbeat"]
    sure.check().run()
    at.button(key="cb_delete").click().run()
    assert said(at) == "Deleted 'Downbeat'."
    assert "Talk type" in heading(at)
    # a theme cannot be deleted here: the tab says what to do instead
    assert any("has codes under it" in i.value for i in at.info)


def test_a_stale_edit_from_another_tab_is_refused(coded_project):
    from qualkit.codebook import edit

    at = pick(page(), "working_alone")
    field(at, "cb_edit_form", "Definition").set_value("Mine, from an old view.")
    # another tab renames Upbeat meanwhile
    book = coded_project.codebook()
    edit.apply_change(coded_project, edit.rename_code(book, "upbeat", "Cheerful"), "bob",
                      base=book)
    submit(at, "cb_edit_form")
    message = said(at)
    assert at.error and "changed in another tab" in message and "nothing was changed" in message
    book = coded_project.codebook()
    assert book.get("upbeat").name == "Cheerful"  # the other tab's change stands
    assert book.get("working_alone").definition.startswith("Doing the job")
    assert any("Cheerful" in r for r in tree_rows(at))  # the page shows the current codebook
    # made again on the current codebook, the edit goes through
    field(at, "cb_edit_form", "Definition").set_value("Mine, made again.")
    submit(at, "cb_edit_form")
    assert said(at) == "Saved 'Working alone': edited definition."
    assert coded_project.codebook().get("working_alone").definition == "Mine, made again."


def test_a_stale_edit_of_the_same_code_or_a_delete_is_refused(coded_project):
    from qualkit.codebook import edit

    at = pick(page(), "no_debrief")
    field(at, "cb_edit_form", "Name").set_value("Nobody to talk to")
    book = coded_project.codebook()
    edit.apply_change(coded_project, edit.edit_code(book, "no_debrief", definition="Theirs."),
                      "bob", base=book)
    submit(at, "cb_edit_form")
    assert "changed in another tab" in said(at)
    code = coded_project.codebook().get("no_debrief")
    assert (code.name, code.definition) == ("No one to debrief with", "Theirs.")
    assert field(at, "cb_edit_form", "Definition").value == "Theirs."  # fresh fields
    # a delete confirmed on an old view is refused too
    [sure] = [c for c in at.checkbox if c.key == "cb_sure_no_debrief"]
    sure.check().run()
    book = coded_project.codebook()
    edit.apply_change(coded_project, edit.recolour(book, "no_debrief", "#ff0000"), "bob",
                      base=book)
    at.button(key="cb_delete").click().run()
    assert "changed in another tab" in said(at)
    assert coded_project.codebook().get("no_debrief") is not None


def test_setting_the_codebook_language_says_how_keywords_are_matched_and_which_model(
        coded_project):
    at = page()
    field(at, "cb_language", "Language code (ISO 639-1: en, de, fr, es, nl, ...)").set_value(
        "German")
    submit(at, "cb_language")
    assert "'German' must be a language code such as en, de" in said(at)
    assert coded_project.codebook().language == "en"
    field(at, "cb_language", "Language code (ISO 639-1: en, de, fr, es, nl, ...)").set_value("de")
    submit(at, "cb_language")
    assert said(at) == ("Set the codebook's language to de (was en): from the next coding "
                        "run, keywords matched on German lemmas. Embedding model: multilingual: "
                        "multilingual-e5-small, 4-bit, about 100 languages, the one for that "
                        "language (nobody had chosen one).")
    assert coded_project.codebook().language == "de"
    assert coded_project.embeddings == "multilingual"
    assert any("language de: keywords matched on German lemmas" in c.value for c in at.caption)
    assert field(at, "cb_language", "Language code (ISO 639-1: en, de, fr, es, nl, ...)"
                 ).value == "de"


def test_a_code_name_with_markup_is_shown_as_text(make_project, monkeypatch):
    book = SMALL_CODEBOOK.replace("name: Working alone", f"name: '{MARKUP}'")
    project = make_project(codebook=book)
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    at = pick(page(), "working_alone")
    html = [m.value for m in at.markdown if m.proto.allow_html]
    assert not any("<img" in body for body in html)
    assert sum("&lt;img src=x onerror=alert\\(1\\)&gt;" in body for body in html) == 2  # tree,
    assert field(at, "cb_edit_form", "Name").value == MARKUP                       # editor
    # markup typed into the editor is kept as the name, and shown as text
    field(at, "cb_edit_form", "Name").set_value("<b>bold</b> & *stars*")
    submit(at, "cb_edit_form")
    assert project.codebook().get("working_alone").name == "<b>bold</b> & *stars*"
    assert said(at).startswith(r"Saved '\<b\>bold\</b\> \& \*stars\*': renamed")  # Markdown
    html = [m.value for m in at.markdown if m.proto.allow_html]
    assert not any("<b>" in body for body in html)
    assert any("&lt;b&gt;bold&lt;/b&gt; &amp; \\*stars\\*" in body for body in html)
    # labels and captions (Markdown) escape it too
    assert not any("<b>" in c.value for c in at.caption)


@pytest.mark.browser
def test_the_codebook_page_in_chromium(make_project, tmp_path, chromium):
    from .browser import browser_page, serve, set_coder

    project = make_project(codebook="keyworker")
    first, second = project.codebook().all_codes()[:2]
    with serve(project.root, tmp_path / "app.log") as url, browser_page(1400, 1100) as page:
        page.goto(url + "/codebook")
        set_coder(page, "Playwright Tester")
        page.get_by_role("button", name="Save code").wait_for()
        assert page.locator(f".st-key-cb_pick_{first.id} button").first.inner_text() == "Editing"
        page.locator(f".st-key-cb_pick_{second.id} button").first.click()
        page.get_by_text(f"· {second.id}", exact=False).first.wait_for()
        page.wait_for_function(
            "(name) => Array.from(document.querySelectorAll('input'))"
            ".some(i => i.value === name)", arg=second.name)
        for tab in ("Edit", "Move", "Merge", "Split", "Delete"):
            assert page.get_by_role("tab", name=tab).count() == 1
        shot = tmp_path / "codebook-page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("QUALKIT_SCREENSHOTS"):
            page.screenshot(path=os.environ["QUALKIT_SCREENSHOTS"], full_page=True)
    assert first.id != second.id
