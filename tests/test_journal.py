"""Memos on codes and themes and the project journal: the store and migration 0006 (a 0005
SQLite project upgraded keeps its data and gains the tables), search, the Themes page's memo
box and journal panel, the theme map's picture, and the report's methods appendix (escaped)."""

from __future__ import annotations

import sqlite3

import pytest

from qualkit import journal, migrate, review
from qualkit.errors import ConflictError, QualkitError
from qualkit.model import Suggestion
from qualkit.store import SCHEMA_VERSION, Store

from .conftest import drop_tables_after, run_app

TEXT = """---
participant: Dana
works_alone: "yes"
---
Interviewer: Tell me about your work.

Dana: I work alone most days and I hate the silence.

Interviewer: Anyone to talk to?

Dana: There is no one to debrief with, so I offload onto my partner.
"""

NASTY = '<script>alert(1)</script> & **bold** | `tick` # head [x](http://e.test)'


def _accept(project, needle: str, code: str, coder: str = "ann") -> None:
    store = project.store
    tr = store.load_transcript("p01_dana")
    start = tr.text.index(needle)
    seg = tr.segment_at(start)
    store.replace_suggestions("p01_dana", [*(
        Suggestion(c.code_id, c.transcript, c.segment_index, c.start, c.end, 0.5, "rules")
        for c in store.codings(status="suggested")), Suggestion(
        code, "p01_dana", seg.index, start, start + len(needle), 0.7, "rules")], "bot")
    sug = next(c for c in store.codings(status="suggested") if c.code_id == code)
    review.accept(store, sug.id, coder)


@pytest.fixture
def proj(make_project):
    p = make_project(transcripts={"p01_dana.txt": TEXT})
    _accept(p, "I work alone most days", "working_alone")
    _accept(p, "no one to debrief with", "no_debrief")
    return p


def test_code_memos_one_per_coder_and_code(proj):
    store, book = proj.store, proj.codebook_if_any()
    journal.set_code_memo(store, "working_alone", "ann", "Physical, not emotional.", book)
    journal.set_code_memo(store, "working_alone", "bob", "Overlaps no_debrief?", book)
    journal.set_code_memo(store, "isolation", "ann", "The umbrella theme.", book)
    journal.set_code_memo(store, "working_alone", "ann", "Physical absence only.", book)
    assert journal.code_memo(store, "working_alone", "ann") == "Physical absence only."
    assert journal.code_memo(store, "no_debrief", "ann") == ""
    memos = journal.code_memos(store, book)
    assert [(m.code_id, m.name, m.coder, m.text) for m in memos] == [
        ("isolation", "Isolation", "ann", "The umbrella theme."),
        ("working_alone", "Working alone", "ann", "Physical absence only."),
        ("working_alone", "Working alone", "bob", "Overlaps no_debrief?")]
    journal.set_code_memo(store, "isolation", "ann", "", book)  # cleared
    assert [m.code_id for m in journal.code_memos(store, book, coders=["ann"])] == [
        "working_alone"]
    events = [e for e in store.events(100) if e.action == "code_memo"]
    assert len(events) == 5 and events[0].detail["text_before"] == "The umbrella theme."
    with pytest.raises(QualkitError, match="no code 'nope'"):
        journal.set_code_memo(store, "nope", "ann", "x", book)
    with pytest.raises(QualkitError, match="who is writing"):
        journal.set_code_memo(store, "isolation", " ", "x", book)
    # a memo is not a coding change: undo leaves it alone and undoes the coder's coding
    assert review.undo(store, "ann").startswith("undid")
    assert journal.code_memo(store, "working_alone", "ann") == "Physical absence only."


def test_journal_entries_and_search(proj):
    store = proj.store
    first = journal.add_entry(store, "ann", "Merged 'lonely' into Working alone after p01.")
    journal.add_entry(store, "bob", "Second coder joined; blind coding from now on.")
    journal.add_entry(store, "ann", "Working alone vs. no debrief: keep apart for now.")
    assert first.author == "ann" and first.id
    assert [e.author for e in journal.entries(store)] == ["ann", "bob", "ann"]
    assert [e.text[:6] for e in journal.search_entries(store, "working ALONE")] == [
        "Workin", "Merged"]  # newest first, every word, any case
    assert [e.author for e in journal.search_entries(store, "bob")] == ["bob"]
    assert len(journal.search_entries(store, "")) == 3
    assert journal.search_entries(store, "nothing like this") == []
    journal.set_code_memo(store, "no_debrief", "ann", "Talk after hard visits.",
                          proj.codebook_if_any())
    assert [m.code_id for m in journal.search_memos(store, "hard visits")] == ["no_debrief"]
    assert [m.code_id for m in journal.search_memos(store, "debrief", proj.codebook_if_any())
            ] == ["no_debrief"]  # the code's name counts
    with pytest.raises(QualkitError, match="empty"):
        journal.add_entry(store, "ann", "   ")
    with pytest.raises(QualkitError, match="at most"):
        journal.add_entry(store, "ann", "x" * (journal.MAX_TEXT + 1))
    assert sum(e.action == "journal" for e in store.events(100)) == 3


def test_a_login_cannot_write_in_another_name(proj):
    store = proj.store
    store.login = "ann"  # as on a team server: the login is who writes
    try:
        with pytest.raises(ConflictError, match="not as 'bob'"):
            journal.add_entry(store, "bob", "not mine")
        journal.add_entry(store, "ann", "mine")
        assert [e.author for e in journal.entries(store)] == ["ann"]
    finally:
        store.login = None


def test_a_0005_project_upgrades_keeping_its_data(tmp_path, make_project):
    project = make_project(transcripts={"p01_dana.txt": TEXT})
    _accept(project, "I work alone most days", "working_alone")
    db = project.root / "qualkit.db"
    project.close()
    con = sqlite3.connect(db)
    with con:  # as release 5 made it
        drop_tables_after(con.execute, "0005")
        con.execute("UPDATE alembic_version SET version_num = '0005'")
        con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.close()
    store = Store(f"sqlite:///{db}")
    try:
        assert store.backup is not None  # copied beside the file first
        assert migrate.head() == "0007" and SCHEMA_VERSION == "7"
        with store.engine.connect() as conn:
            assert migrate.state(conn).revision == "0007"
            tables = {r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {"code_memos", "journal"} <= tables
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert store.transcript_names() == ["p01_dana"]
        assert [c.code_id for c in store.codings(coder="ann")] == ["working_alone"]
        assert store.get_meta("schema_version") == "7"
        journal.add_entry(store, "ann", "after the upgrade")
        store.set_code_memo("working_alone", "ann", "kept")
        assert store.code_memos()[0][:3] == ("working_alone", "ann", "kept")
    finally:
        store.close()


def test_the_report_appendix_carries_memos_and_journal_escaped(proj):
    from qualkit.report.build import build_report
    from qualkit.report.charts import report_charts
    from qualkit.report.render import render_docx, render_html, render_markdown

    book = proj.codebook_if_any()
    journal.set_code_memo(proj.store, "working_alone", "ann", NASTY, book)
    journal.set_code_memo(proj.store, "isolation", "bob", "Theme:\n\n- spans two codes", book)
    journal.add_entry(proj.store, "ann", "Started coding.\nSecond line " + NASTY)
    report = build_report(proj)
    m = report.methods
    assert [(n.code, n.coder) for n in m.memos] == [("Isolation", "bob"),
                                                    ("Working alone", "ann")]
    assert [n.author for n in m.journal] == ["ann"] and m.journal[0].text.startswith("Started")
    charts = report_charts(report)
    page = render_html(report, charts)
    appendix = page[page.index("Methods appendix"):]
    assert "Memos on codes and themes" in appendix and "Project journal" in appendix
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in appendix
    assert "Theme: - spans two codes" in appendix
    assert "Started coding. Second line" in appendix
    text = render_markdown(report, charts, "charts")
    assert "\\<script\\>" in text and "\\*\\*bold\\*\\*" in text and "\\|" in text
    assert "Project journal" in text
    from io import BytesIO

    from docx import Document

    words = "\n".join(p.text for p in Document(BytesIO(render_docx(report, charts))).paragraphs)
    assert NASTY in words and "Memos on codes and themes" in words


def test_no_memos_or_journal_no_sections(proj):
    from qualkit.report.build import build_report
    from qualkit.report.charts import report_charts
    from qualkit.report.render import render_markdown

    report = build_report(proj)
    text = render_markdown(report, report_charts(report), "charts")
    assert "Project journal" not in text and "Memos on codes" not in text


# -- the Themes page (AppTest): memo box, journal panel, theme map --------------------------------
def _themes(proj, monkeypatch, coder: str = "ann"):
    monkeypatch.setenv("QUALKIT_PROJECT", str(proj.root))
    return run_app("views/themes.py", coder)


def test_themes_page_memo_box_and_journal_panel(proj, monkeypatch):
    at = _themes(proj, monkeypatch)
    at.selectbox(key="memo_code").set_value("no_debrief").run()
    [box] = [t for t in at.text_area if t.key.startswith("code_memo_no_debrief_")]
    box.set_value("Talk after hard visits.")
    at.button(key="code_memo_save").click().run()
    assert not at.exception, at.exception
    assert journal.code_memo(proj.store, "no_debrief", "ann") == "Talk after hard visits."
    at.text_area(key="journal_text").set_value("Kept no_debrief apart.")
    [add] = [b for b in at.button if b.label == "Add to the journal"]
    add.click().run()
    assert not at.exception, at.exception
    assert [e.text for e in journal.entries(proj.store)] == ["Kept no_debrief apart."]
    at.text_input(key="journal_search").set_value("hard visits").run()
    assert any("0 journal entries and 1 memos" in c.value for c in at.caption)
    assert "Talk after hard visits." in [t.value for t in at.text]


def test_themes_page_charts_and_never_an_empty_heatmap(make_project, monkeypatch, proj):
    at = _themes(proj, monkeypatch)
    # two codes in different turns: nothing shared, said plainly instead of an empty heatmap
    assert any("no two codes share a segment yet" in i.value for i in at.info)
    for how in ("spring", "circle"):
        at.radio(key="map_layout").set_value(how).run()
        assert not at.exception, at.exception
    empty = make_project("empty")
    at = _themes(empty, monkeypatch)
    assert any("No transcripts yet" in i.value for i in at.info)


def test_theme_map_nodes_edges_layouts_and_pictures(proj):
    from qualkit.analysis import AnalysisData
    from qualkit.ui.themes_page import arrange, map_image, theme_map

    _accept(proj, "I hate the silence", "downbeat")
    data = AnalysisData.from_store(proj.store, proj.codebook_if_any())
    tmap = theme_map(data)
    assert [(n.id, n.theme, n.segments, n.parent) for n in tmap.nodes] == [
        ("isolation", True, 2, None), ("working_alone", False, 1, "isolation"),
        ("no_debrief", False, 1, "isolation"), ("talk_type", True, 1, None),
        ("downbeat", False, 1, "talk_type")]
    assert [(e.a, e.b, e.weight) for e in tmap.edges if e.kind == "cooccur"] == [
        ("working_alone", "downbeat", 1)]
    themes = theme_map(data, themes_only=True)
    assert [(e.a, e.b, e.weight) for e in themes.edges] == [("isolation", "talk_type", 1)]
    assert theme_map(data, minimum=2).strongest == 0
    one = arrange(theme_map(data), "spring", seed=7).positions
    assert one == arrange(theme_map(data), "spring", seed=7).positions  # seeded
    assert one != arrange(theme_map(data), "spring", seed=8).positions
    assert all(-1.0001 <= v <= 1.0001 for xy in one.values() for v in xy)
    circle = arrange(tmap, "circle")
    png = map_image(circle, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    svg = map_image(circle, "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Working alone" in svg
    assert "<image" not in svg and "<dc:date>" not in svg  # self-contained, reproducible
    with pytest.raises(QualkitError, match="unknown layout"):
        arrange(tmap, "grid")


# -- the real app in Chromium: the theme map downloads with nothing fetched from outside --------
@pytest.mark.browser
def test_theme_map_downloads_offline_in_the_browser(chromium, proj, tmp_path):
    from urllib.parse import urlparse

    from .browser import browser_page, serve, set_coder

    outside: list[str] = []

    def only_local(route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with serve(proj.root, tmp_path / "app.log") as url, browser_page() as page:
        page.route("**/*", only_local)
        page.goto(url)
        set_coder(page, "ann")
        page.get_by_role("link", name="Themes").first.click()
        page.get_by_role("tab", name="Theme map").click()
        button = page.get_by_role("button", name="Download the map as PNG")
        button.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot:visible").first.wait_for(timeout=30_000)
        with page.expect_download() as info:
            button.click()
        saved = tmp_path / "map.png"
        info.value.save_as(saved)
        assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and saved.stat().st_size > 5000
        with page.expect_download() as info:
            page.get_by_role("button", name="Download the map as SVG").click()
        svg = tmp_path / "map.svg"
        info.value.save_as(svg)
        assert b"<svg" in svg.read_bytes()
        page.wait_for_load_state("networkidle")
        assert outside == [], f"requests to the internet: {outside}"


