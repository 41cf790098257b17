"""Search: words, phrases, lemmas and regular expressions with exact offsets, filters, coding the
hits in one undoable action, the `qualkit search` command and the Search page in a browser."""

from __future__ import annotations

import csv
import os
import time

import pytest
from typer.testing import CliRunner

from qualkit import review
from qualkit.cli import app
from qualkit.search import MAX_PATTERN, SearchError, SearchQuery, search

DANA = """---
participant: P01
works_alone: "yes"
---
Interviewer: Do you work alone?

Dana: I worked alone for years. Now I work alone on Fridays only.

Interviewer: And the team?

Dana: She works alone too, and nobody else is around. Working   alone is hard.
"""

SAM = """---
participant: P02
works_alone: "no"
---
Interviewer: Tell me about your team.

Sam: We never work alone. Alone? Never.

Sam: =HYPERLINK("http://x") work alone
"""


@pytest.fixture
def proj(make_project):
    return make_project(transcripts={"p01_dana.txt": DANA, "p02_sam.txt": SAM})


def _text(proj, name):
    return proj.store.load_transcript(name).text


def _at(text, needle, nth=0):
    """The offsets of the nth occurrence of ``needle``."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return i, i + len(needle)


def _spans(hits):
    return [(h.transcript, h.segment, h.start, h.end) for h in hits]


def test_phrase_finds_whole_words_in_order_with_exact_offsets(proj):
    dana, sam = _text(proj, "p01_dana"), _text(proj, "p02_sam")
    hits = search(proj.store, SearchQuery("work alone", mode="phrase"))
    assert _spans(hits) == [
        ("p01_dana", 0, *_at(dana, "work alone")),
        ("p01_dana", 1, *_at(dana, "work alone", 1)),
        ("p02_sam", 1, *_at(sam, "work alone")),
        ("p02_sam", 2, *_at(sam, "work alone", 1)),
    ]
    for h in hits:
        text = _text(proj, h.transcript)
        assert text[h.start:h.end] == h.text == "work alone"
        assert h.marks == ((h.start, h.end),)
    # "worked alone" and "works alone" are other words, not the phrase
    assert all(h.text == "work alone" for h in hits)
    first = hits[1]
    assert (first.speaker, first.role) == ("Dana", "participant")
    assert first.left == "I worked alone for years. Now I "
    assert first.right == " on Fridays only."
    assert first.kwic == "I worked alone for years. Now I [work alone] on Fridays only."
    # any whitespace between the words
    spaced = search(proj.store, SearchQuery("working alone", mode="phrase"))
    assert [h.text for h in spaced] == ["Working   alone"]
    # case
    assert search(proj.store, SearchQuery("Working alone", mode="phrase",
                                          case_sensitive=True))
    assert not search(proj.store, SearchQuery("WORKING alone", mode="phrase",
                                              case_sensitive=True))


def test_words_need_every_word_in_one_turn_and_mark_each(proj):
    dana = _text(proj, "p01_dana")
    hits = search(proj.store, SearchQuery("nobody hard", mode="words"))
    assert len(hits) == 1
    h = hits[0]
    assert (h.transcript, h.segment) == ("p01_dana", 3)
    nobody, hard = _at(dana, "nobody"), _at(dana, "hard")
    assert (h.start, h.end) == (nobody[0], hard[1])
    assert dana[h.start:h.end] == h.text and h.text.startswith("nobody") \
        and h.text.endswith("hard")
    assert h.marks == (nobody, hard)
    # any order; one hit per turn, the shortest stretch holding them all
    hits = search(proj.store, SearchQuery("alone NOW", mode="words"))
    assert len(hits) == 1 and hits[0].text == "Now I work alone"  # not "alone for years. Now"
    now = _at(dana, "Now I work alone")[0]
    assert hits[0].marks == ((now, now + 3), (now + 11, now + 16))
    # a word missing from the turn: no hit; whole words only
    assert not search(proj.store, SearchQuery("nobody team", mode="words"))
    assert not search(proj.store, SearchQuery("wor", mode="words"))


def test_lemma_finds_every_form(proj):
    dana, sam = _text(proj, "p01_dana"), _text(proj, "p02_sam")
    hits = search(proj.store, SearchQuery("worked alone", mode="lemma"))
    assert [h.text for h in hits] == ["work alone", "worked alone", "work alone",
                                      "works alone", "Working   alone", "work alone",
                                      "work alone"]
    assert _spans(hits)[:4] == [
        ("p01_dana", 0, *_at(dana, "work alone")),
        ("p01_dana", 1, *_at(dana, "worked alone")),
        ("p01_dana", 1, *_at(dana, "work alone", 1)),
        ("p01_dana", 3, *_at(dana, "works alone")),
    ]
    assert _spans(hits)[5:] == [("p02_sam", 1, *_at(sam, "work alone")),
                                ("p02_sam", 2, *_at(sam, "work alone", 1))]
    works = hits[3]
    at = _at(dana, "works alone")[0]
    assert works.marks == ((at, at + 5), (at + 6, at + 11))
    for h in hits:
        assert _text(proj, h.transcript)[h.start:h.end] == h.text


def test_lemma_search_in_a_german_project_uses_german_lemmas(make_project):
    """The project's codebook says its language; the CLI searches on that language's lemmas
    ("Kollege" finds "Kollegen", which the English table does not know)."""
    from .test_rules import GERMAN_BOOK

    proj = make_project(codebook=GERMAN_BOOK, transcripts={
        "de.txt": "Interviewer: Und das Team?\n\nDana: Die Kollegen helfen, ein Kollege nicht.\n"})
    german = search(proj.store, SearchQuery("Kollege", mode="lemma", language="de"))
    assert [h.text for h in german] == ["Kollegen", "Kollege"]
    assert [h.text for h in search(proj.store, SearchQuery("Kollege", mode="lemma"))] == [
        "Kollege"]
    r = CliRunner().invoke(app, ["search", "Kollege", "--mode", "lemma", "-p", str(proj.root)])
    assert r.exit_code == 0 and "2 hits" in r.output, r.output


def test_regex_offsets_and_empty_matches(proj):
    dana = _text(proj, "p01_dana")
    hits = search(proj.store, SearchQuery(r"work(ed|s)?\s+alone", mode="regex",
                                          transcripts=("p01_dana",)))
    assert [(h.start, h.end) for h in hits] == [
        _at(dana, "work alone"), _at(dana, "worked alone"), _at(dana, "work alone", 1),
        _at(dana, "works alone")]
    # ^ is the start of each turn; an empty match is never a hit
    starts = search(proj.store, SearchQuery(r"^\w+", mode="regex", roles=("participant",)))
    assert [h.text for h in starts] == ["I", "She", "We"]  # "=HYPERLINK" starts with =
    assert not search(proj.store, SearchQuery(r"(?=work)", mode="regex"))


def test_bad_regex_gives_one_line(proj):
    with pytest.raises(SearchError) as info:
        search(proj.store, SearchQuery("work (alone", mode="regex"))
    message = str(info.value)
    assert "invalid regular expression: missing )" in message
    assert "\n" not in message
    with pytest.raises(SearchError, match="characters long"):
        search(proj.store, SearchQuery("a" * (MAX_PATTERN + 1), mode="regex"))
    with pytest.raises(SearchError, match="unknown search mode"):
        search(proj.store, SearchQuery("x", mode="fuzzy"))
    with pytest.raises(SearchError, match="empty"):
        search(proj.store, SearchQuery("  ", mode="phrase"))


def test_catastrophic_regex_is_stopped(make_project):
    text = "Interviewer: Hi?\n\nDana: " + "a" * 40 + "!\n"
    proj = make_project(transcripts={"t.txt": text})
    began = time.monotonic()
    with pytest.raises(SearchError, match="took too long"):
        search(proj.store, SearchQuery(r"(a|aa)+$", mode="regex"))
    assert time.monotonic() - began < 10


def test_filters_roles_attributes_transcripts_and_limit(proj):
    q = SearchQuery("work alone", mode="phrase")
    assert {h.role for h in search(proj.store, q)} == {"participant", "interviewer"}
    only = search(proj.store, SearchQuery("work alone", roles=("participant",)))
    assert [(h.transcript, h.segment) for h in only] == [("p01_dana", 1), ("p02_sam", 1),
                                                         ("p02_sam", 2)]
    alone = search(proj.store, SearchQuery("work alone", attributes={"works_alone": "yes"}))
    assert {h.transcript for h in alone} == {"p01_dana"}
    none = search(proj.store, SearchQuery("work alone", attributes={"region": "(none)"}))
    assert len(none) == 4  # a missing attribute is model.NO_VALUE
    named = search(proj.store, SearchQuery("work alone", transcripts=("p02_sam",)))
    assert {h.transcript for h in named} == {"p02_sam"}
    assert len(search(proj.store, q, limit=2)) == 2
    with pytest.raises(SearchError, match="no transcript named 'nope'"):
        search(proj.store, SearchQuery("work", transcripts=("nope",)))


def test_code_hits_in_one_action_and_undo_in_one_step(proj):
    store, book = proj.store, proj.codebook()
    hits = search(store, SearchQuery("worked alone", mode="lemma", roles=("participant",)))
    assert len(hits) == 6
    review.code_passage(store, hits[0].transcript, hits[0].start, hits[0].end,
                        "working_alone", "ann")  # already coded by hand
    events_before = len(store.events(1000))
    made = review.code_hits(store, hits + hits[1:2], "working_alone", "ann", book)
    assert len(made) == 5  # the one coded before and the repeated one are skipped
    assert len(store.events(1000)) == events_before + 1
    event = store.events(1)[0]
    assert (event.action, event.actor) == ("code_batch", "ann")
    assert sorted(event.detail["created_many"]) == sorted(c.id for c in made)
    mine = store.codings(coder="ann")
    assert len(mine) == 6
    assert all(c.status == "accepted" and c.source == "manual" for c in mine)
    for c, h in zip(made, hits[1:]):
        assert (c.transcript, c.start, c.end, c.segment_index) == \
            (h.transcript, h.start, h.end, h.segment)
    # coding them again skips them all and records nothing
    assert review.code_hits(store, hits, "working_alone", "ann", book) == []
    assert len(store.events(1000)) == events_before + 1
    # another coder codes independently
    assert len(review.code_hits(store, hits[:2], "working_alone", "bea", book)) == 2
    # one undo takes the whole batch back; the next undoes the hand coding before it
    assert review.undo(store, "ann") == "undid coding 5 passages at once"
    assert len(store.codings(coder="ann")) == 1
    assert review.undo(store, "ann").startswith("undid coding a passage")
    assert store.codings(coder="ann") == []
    assert len(store.codings(coder="bea")) == 2
    with pytest.raises(review.ReviewError, match="no code 'nope'"):
        review.code_hits(store, hits, "nope", "ann", book)


def test_code_hits_widened_to_sentence_or_turn(proj):
    store = proj.store
    dana = _text(proj, "p01_dana")
    hits = search(store, SearchQuery("Now I work", mode="phrase"))
    sentence = review.code_hits(store, hits, "working_alone", "ann", extent="sentence")
    assert dana[sentence[0].start:sentence[0].end] == "Now I work alone on Fridays only."
    turn = review.code_hits(store, hits, "no_debrief", "ann", extent="turn")
    assert dana[turn[0].start:turn[0].end] == \
        "I worked alone for years. Now I work alone on Fridays only."
    # the turn is coded now, so the match inside it counts as already coded
    assert review.code_hits(store, hits, "no_debrief", "ann") == []


def test_search_streams_one_transcript_at_a_time(proj, monkeypatch):
    loaded = []
    real = proj.store.load_transcript

    def load(name):
        loaded.append(name)
        return real(name)

    monkeypatch.setattr(proj.store, "load_transcript", load)
    hits = search(proj.store, SearchQuery("work alone"), limit=1)
    assert len(hits) == 1 and loaded == ["p01_dana"]  # the limit stops before the next one


# -- the command line ---------------------------------------------------------------------------
def test_cli_search_prints_kwic_exports_and_codes(proj, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    root = str(proj.root)
    result = runner.invoke(app, ["search", "worked alone", "--mode", "lemma", "--role",
                                 "participant", "-p", root])
    assert result.exit_code == 0, result.output
    assert "p01_dana:1 Dana: I worked alone for years. Now I work alone on Fridays only." \
        in result.output
    assert "6 hits" in result.output
    # the attribute filter and the export (CSV guarded against formulas)
    out = tmp_path / "hits.csv"
    result = runner.invoke(app, ["search", "work alone", "--attr", "works_alone=no",
                                 "-o", str(out), "-p", root])
    assert result.exit_code == 0, result.output
    assert "2 hits" in result.output and f"Wrote 2 hits to {out}" in result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["match"] for r in rows] == ["work alone", "work alone"]
    assert rows[0]["participant"] == "P02" and rows[0]["transcript"] == "p02_sam"
    assert rows[1]["left"] == "'=HYPERLINK(\"http://x\") "  # csvsafe
    assert rows[1]["turn"].startswith("'=HYPERLINK")
    sam = _text(proj, "p02_sam")
    assert (int(rows[0]["start"]), int(rows[0]["end"])) == _at(sam, "work alone")
    xlsx = tmp_path / "hits.xlsx"
    result = runner.invoke(app, ["search", "work alone", "-o", str(xlsx), "-p", root])
    assert result.exit_code == 0 and xlsx.stat().st_size > 1000
    # --code codes every hit in one action
    result = runner.invoke(app, ["search", "work alone", "--role", "participant", "--code",
                                 "working_alone", "--coder", "cli", "-p", root])
    assert result.exit_code == 0, result.output
    assert "Coded 3 passages with Working alone as cli" in result.output
    result = runner.invoke(app, ["search", "work alone", "--role", "participant", "--code",
                                 "working_alone", "--coder", "cli", "-p", root])
    assert "Coded 0 passages with Working alone as cli; 3 already coded (skipped)" \
        in result.output
    assert len(proj.store.codings(coder="cli")) == 3


def test_cli_search_errors_are_one_line(proj):
    runner = CliRunner()
    root = str(proj.root)
    result = runner.invoke(app, ["search", "work (", "--mode", "regex", "-p", root])
    assert result.exit_code == 1
    assert "invalid regular expression" in result.output
    result = runner.invoke(app, ["search", "x", "--attr", "works_alone", "-p", root])
    assert result.exit_code == 1 and "KEY=VALUE" in result.output
    result = runner.invoke(app, ["search", "x", "-o", str(proj.root / "qualkit.db"),
                                 "-p", root])
    assert result.exit_code == 1 and "project's own file" in result.output
    result = runner.invoke(app, ["search", "x", "-o", "hits.txt", "-p", root])
    assert result.exit_code == 1 and ".csv or .xlsx" in result.output
    result = runner.invoke(app, ["search", "work", "--code", "nope", "--coder", "a",
                                 "-p", root])
    assert result.exit_code == 1 and "no code 'nope'" in result.output


# -- the app, headless (AppTest) -------------------------------------------------------------------
def test_search_page_codes_selected_hits_and_undoes_them(proj, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .conftest import REPO

    monkeypatch.setenv("QUALKIT_PROJECT", str(proj.root))
    at = AppTest.from_file(str(REPO / "qualkit" / "ui" / "app.py"), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.run()
    at.switch_page("views/search.py").run()
    at.text_input(key="search_text").set_value("worked alone")
    at.selectbox(key="search_mode").set_value("lemma")
    at.multiselect(key="search_roles").set_value(["participant"])
    at.button[0].click()  # the form's Search button
    at.run()
    assert not at.exception, at.exception
    assert any(c.value == "6 hits" for c in at.caption)
    boxes = [b for b in at.checkbox if b.key and b.key.startswith("hit|")]
    assert len(boxes) == 6
    # transcript text reaches Markdown escaped, the match in bold
    assert boxes[0].label == ("p01\\_dana, turn 1 · Dana: I **worked alone** for years\\. "
                              "Now I work alone on Fridays only\\.")
    at.button(key="search_all").click().run()
    at.button(key="search_apply").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Coded 6 passages with Working alone."
    assert len(proj.store.codings(coder="ann")) == 6
    at.button(key="search_all").click().run()
    at.button(key="search_apply").click().run()
    assert at.success[0].value == "Coded 0 passages with Working alone; 6 were already coded."
    at.sidebar.button[0].click().run()  # Undo my last change
    assert proj.store.codings(coder="ann") == []


# -- the app in a real browser ------------------------------------------------------------------
PAGE_TEXT = """---
participant: P03
works_alone: "yes"
---
Interviewer: Do you ever work alone?

Kim: I work alone most days. <img src=x onerror=window.__pwned=1>

Kim: When I work alone, nobody else is there to help.

Interviewer: How is that?

Kim: Honestly, I work alone and I like it.
"""


@pytest.mark.browser
def test_search_select_and_code_hits_in_the_browser(chromium, make_project, tmp_path):
    from .browser import browser_page, serve, set_coder

    proj = make_project(transcripts={"p03_kim.txt": PAGE_TEXT,  # first in the Coding page
                                     "p01_other.txt": "Ann: nothing to find here\n"})
    coder = "Search Tester"
    with serve(proj.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url)
        set_coder(page, coder)
        page.get_by_role("link", name="Search").click()
        page.get_by_role("textbox", name="Search for").fill("work alone")
        page.get_by_role("button", name="Search", exact=True).click()
        page.get_by_text("4 hits").wait_for(timeout=30000)
        # Transcript text is shown as text, never run as HTML.
        page.get_by_text("<img src=x onerror=window.__pwned=1>").first.wait_for()
        assert page.evaluate("window.__pwned") is None
        boxes = page.locator('[data-testid="stCheckbox"]').filter(has_text="p03_kim, turn")
        boxes.nth(3).wait_for(timeout=30000)  # the page streams in: wait for the last hit
        assert boxes.count() == 4
        for n, turn in enumerate((1, 2, 4), start=1):  # the participant's three hits
            boxes.filter(has_text=f"turn {turn} ").locator("label").click()
            page.get_by_role("button", name=f"Code selected hits ({n})").wait_for(
                timeout=30000)
        page.get_by_role("button", name="Code selected hits (3)").click()
        page.get_by_text("Coded 3 passages with Working alone.").first.wait_for(timeout=30000)
        if os.environ.get("QUALKIT_SCREENSHOTS"):
            page.screenshot(path=os.environ["QUALKIT_SCREENSHOTS"], full_page=True)
        # a hit opens its transcript in the Coding page, still as the same coder
        page.locator(".st-key-search_open_1 button").first.click()
        page.get_by_text("Select words in the transcript").wait_for(timeout=30000)
        page.wait_for_function(
            "document.querySelectorAll('.qk-tag.qk-accepted').length == 3")
        assert page.get_by_role("button", name="Undo my last change").is_visible()
        # ... at the hit's own turn, marked
        page.wait_for_selector(".qk-seg.qk-current")
        assert page.locator(".qk-seg.qk-current").get_attribute("data-index") == "1"
    mine = proj.store.codings(coder=coder)
    assert len(mine) == 3
    assert all(c.status == "accepted" and c.source == "manual" for c in mine)
    text = proj.store.load_transcript("p03_kim").text
    assert [text[c.start:c.end] for c in mine] == ["work alone"] * 3
    assert sorted(c.segment_index for c in mine) == [1, 2, 4]
    assert proj.store.events(1)[0].action == "code_batch"
