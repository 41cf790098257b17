"""The real app in a real browser: accept, reject and hand-code, then check the store."""

from __future__ import annotations

import os

import pytest

from .browser import browser_page, select_text, serve, set_coder, upload

pytestmark = pytest.mark.browser

TEXT = """---
participant: P01
works_alone: "yes"
---
Interviewer: Tell me about a normal week.

Dana: Honestly, I work alone most of the time. There's no one to debrief with after a bad visit.

Interviewer: And the clients?

Dana: I love the clients. The drive home over the moor gives me time to think.

Dana: Someone once typed <img src=x onerror="window.__pwned=1"> into our case notes.
"""


def test_accept_reject_and_hand_code_in_the_browser(chromium, make_project, tmp_path):
    project = make_project(transcripts={"p01_dana.txt": TEXT}, suggesters=("rules",),
                           actor="setup")
    assert len(project.store.codings(status="suggested")) == 3
    coder = "Playwright Tester"
    with serve(project.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url)
        set_coder(page, coder)
        page.wait_for_selector(".qk-tag.qk-suggested")
        page.locator(".qk-tag.qk-suggested .qk-accept").first.click()
        page.wait_for_function("document.querySelectorAll('.qk-tag.qk-suggested').length == 2")
        page.locator(".qk-tag.qk-suggested .qk-reject").first.click()
        page.wait_for_function("document.querySelectorAll('.qk-tag.qk-suggested').length == 1")
        select_text(page, "The drive home over the moor")
        page.get_by_role("button", name="Code selection").click()
        page.wait_for_function("document.querySelectorAll('.qk-tag.qk-accepted').length == 2")
        # Transcript text is shown as text, never run as HTML.
        assert page.evaluate("window.__pwned") is None
        assert 'onerror="window.__pwned=1"' in page.locator(".qk-transcript").inner_text()
        shot = tmp_path / "coding-view.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("QUALKIT_SCREENSHOTS"):
            page.screenshot(path=os.environ["QUALKIT_SCREENSHOTS"], full_page=True)
        # Who is coding survives a change of page.
        page.get_by_role("link", name="Review queue").click()
        page.get_by_text("suggestions waiting for you").wait_for(timeout=30000)
    decisions = [c for c in project.store.codings() if c.status != "suggested"]
    assert len(decisions) == 3 and {c.coder for c in decisions} == {coder}
    by_kind = sorted((c.status, c.source == "manual") for c in decisions)
    assert by_kind == [("accepted", False), ("accepted", True), ("rejected", False)]
    manual = next(c for c in decisions if c.source == "manual")
    assert project.store.load_transcript("p01_dana").text[manual.start:manual.end] == \
        "The drive home over the moor"
    assert manual.code_id == project.codebook().ids()[1]  # the first code in the picker


def test_uploads_come_in_with_suggestions_and_a_bad_file_is_named_plainly(chromium,
                                                                          make_project,
                                                                          tmp_path):
    """Four files uploaded, one of them broken: the three good ones are imported and get
    suggestions at once; the message names the broken file as it was uploaded (no server
    path) and does not hide that the others came in."""
    project = make_project()
    folder = tmp_path / "uploads"
    folder.mkdir()
    for i in range(3):
        (folder / f"p0{i}_kim.txt").write_text(
            f"Interviewer: How is it?\n\nKim{i}: I work alone and dread the night shifts.\n",
            encoding="utf-8")
    (folder / "broken.docx").write_bytes(b"this is not a Word file")
    with serve(project.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url + "/project")
        page.get_by_text("Import transcripts").wait_for(timeout=60000)
        upload(page, "Transcripts (", [str(p) for p in sorted(folder.iterdir())], "Import")
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("3 added").wait_for(timeout=120000)
        shown = page.locator("[data-testid=stAlert]").first.inner_text()
    assert "suggestions are ready for review" in shown and "broken.docx" in shown
    assert "/tmp" not in shown and str(tmp_path) not in shown
    assert sorted(project.store.transcript_names()) == ["p00_kim", "p01_kim", "p02_kim"]
    assert {c.transcript for c in project.store.codings(status="suggested")} == {
        "p00_kim", "p01_kim", "p02_kim"}
