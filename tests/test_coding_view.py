"""The coding view a person reads for hours: one colour per code, underlines that stay legible
when codes overlap, the words of a chip on click, "+n more", keys; who is coding remembered
across reloads; outcomes as toasts in plain words; a selection across turns refused."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from qualkit import review
from qualkit.codebook import parse_codebook
from qualkit.codebook.edit import add_code
from qualkit.model import Code, Suggestion
from qualkit.palette import FAMILY, PALETTE, code_colors

from .browser import browser_page, serve, set_coder
from .conftest import APP, SMALL_CODEBOOK

TEXT = """Interviewer: Tell me about a normal week.

Dana: Honestly, I work alone most of the time. There's no one to debrief with after a bad \
visit. I love the clients though, and I dread the night shifts.

Interviewer: And the drive?

Dana: The drive home gives me time to think.
"""

# -- palette ----------------------------------------------------------------------------------

WIDE = """\
name: Wide
codes:
  - id: theme_a
    name: Theme A
    color: "#1f77b4"
    children:
""" + "".join(f"      - id: a{i}\n        name: A {i}\n" for i in range(9)) + """\
  - id: theme_b
    name: Theme B
    children:
      - id: b_one
        name: B one
        color: "#123456"
      - id: b_two
        name: B two
"""


def test_siblings_get_distinct_palette_colours_and_explicit_colours_are_kept():
    book = parse_codebook(WIDE)
    colors = code_colors(book)
    assert set(colors) == set(book.ids())
    assert colors["theme_a"] == "#1f77b4" and colors["b_one"] == "#123456"
    siblings = [colors[f"a{i}"] for i in range(9)]
    assert len(set(siblings)) == 9  # no two siblings alike
    assert all(c in PALETTE for c in siblings)
    assert len({FAMILY[c] for c in siblings[:6]}) == 6  # hues far apart while they last
    assert "#1f77b4" not in siblings  # nor like their theme
    assert colors["b_two"] != colors["b_one"] and colors["b_two"] in PALETTE
    # themes no longer hand their colour down (the codebook's own rule still does, for reports)
    assert book.color_of("a0") == "#1f77b4"


def test_colours_are_stable_when_a_code_is_added():
    book = parse_codebook(SMALL_CODEBOOK)
    before = code_colors(book)
    assert code_colors(parse_codebook(SMALL_CODEBOOK)) == before  # same every time
    for parent in ("isolation", "talk_type", None):
        grown = add_code(book, parent, Code("new_code", "New code")).codebook
        after = code_colors(grown)
        assert {k: v for k, v in after.items() if k != "new_code"} == before
        siblings = [c.id for c in (grown.get(parent).children if parent else grown.codes)]
        assert len({after[s] for s in siblings}) == len(siblings)
    # working_alone and no_debrief were the same blue (their theme's); now each has its own
    assert before["working_alone"] != before["no_debrief"]
    assert before["upbeat"] != before["downbeat"]


# -- a selection across turns -----------------------------------------------------------------

def test_a_selection_across_two_turns_is_refused_never_stored_on_one_turn(make_project):
    project = make_project(transcripts={"p01_dana.txt": TEXT})
    store = project.store
    text = store.load_transcript("p01_dana").text
    start = text.index("normal week")
    end = text.index("Honestly, I work") + len("Honestly, I work")
    with pytest.raises(review.ReviewError) as err:
        review.code_passage(store, "p01_dana", start, end, "working_alone", "ann")
    assert "2 turns (Interviewer, Dana)" in str(err.value)
    assert store.codings() == []
    # within one turn (even with the whitespace after it) it is coded on that turn
    inside = text.index("I work alone")
    made = review.code_passage(store, "p01_dana", inside, inside + 12, "working_alone", "ann")
    assert made.segment_index == 1 and text[made.start:made.end] == "I work alone"


def test_the_app_codes_each_turns_part_of_a_selection_across_turns(make_project, monkeypatch):
    project = make_project(transcripts={"p01_dana.txt": TEXT})
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    text = project.store.load_transcript("p01_dana").text
    start = text.index("normal week")
    end = text.index("Honestly, I work") + len("Honestly, I work")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.session_state["selection"] = {"start": start, "end": end, "text": text[start:end],
                                     "transcript": "p01_dana"}
    at.run()
    assert any("runs across 2 speaker turns" in c.value for c in at.sidebar.caption)
    at.sidebar.selectbox(key="hand_code").set_value("working_alone")
    at.sidebar.button(key="hand_apply").click().run()
    assert not at.exception
    made = sorted(project.store.codings(), key=lambda c: c.start)
    assert [(c.segment_index, text[c.start:c.end]) for c in made] == [
        (0, "normal week."), (1, "Honestly, I work")]
    assert "Coded 2 passages, one per turn, as Working alone." == at.toast[0].value
    review.undo(project.store, "ann")  # one undo takes both back
    assert project.store.codings() == []


# -- who is coding, messages ------------------------------------------------------------------

@pytest.fixture
def served(make_project, monkeypatch):
    project = make_project(transcripts={"p01_dana.txt": TEXT}, suggesters=("rules",))
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    return project


def test_the_coder_is_remembered_in_the_address(served):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["coder"] = "Ruth"  # a reload of a page whose address says ?coder=Ruth
    at.run()
    assert not at.exception
    assert at.sidebar.text_input(key="coder").value == "Ruth"
    assert not at.info  # not asked for a name again
    at.sidebar.text_input(key="coder").set_value("Sam").run()
    assert at.query_params["coder"] == "Sam"
    # a name typed in a fresh session goes into the address too
    fresh = AppTest.from_file(str(APP), default_timeout=60)
    fresh.run()
    assert "Enter your name" in fresh.info[0].value
    fresh.sidebar.text_input(key="coder").set_value("Lee").run()
    assert fresh.query_params["coder"] == "Lee"


def test_decisions_are_toasts_in_plain_words(served):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.run()
    sug = served.store.codings(status="suggested")
    first = min(sug, key=lambda c: c.start)
    at.session_state["selected"] = first.id
    at.run()
    panel = " ".join(m.value for m in at.sidebar.markdown)
    assert "qualkit's suggestions" in panel and "rules" not in panel
    at.sidebar.button(key="sel_accept").click().run()
    assert not at.exception
    name = served.codebook().display_name(first.code_id)
    assert [t.value for t in at.toast] == [f"Accepted {name}."]
    assert not at.success  # not at the top of the page any more


def test_an_error_is_a_toast_and_stays_where_the_action_was(served, monkeypatch):
    from qualkit.errors import ConflictError

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.run()
    sug = min(served.store.codings(status="suggested"), key=lambda c: c.start)
    at.session_state["selected"] = sug.id
    at.run()

    def refuse(*args, **kwargs):
        raise ConflictError(f"coding {sug.id} is not a machine suggestion",
                            hint="reload to see the current suggestions")

    monkeypatch.setattr(review, "reject", refuse)
    at.sidebar.button(key="sel_reject").click().run()
    assert not at.exception
    [toast] = at.toast
    assert toast.value.startswith("This coding is not a machine suggestion")
    assert str(sug.id) not in toast.value
    assert [e.value for e in at.sidebar.error] == [toast.value]
    assert not at.main.error


def test_recently_used_codes_come_first_in_the_picker(served):
    store = served.store
    text = store.load_transcript("p01_dana").text
    i = text.index("The drive")
    review.code_passage(store, "p01_dana", i, i + 9, "downbeat", "ann")
    review.code_passage(store, "p01_dana", i + 10, i + 14, "no_debrief", "ann")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.session_state["selection"] = {"start": i, "end": i + 9, "text": "The drive",
                                     "transcript": "p01_dana"}
    at.run()
    options = at.sidebar.selectbox(key="hand_code").options
    assert options[:2] == ["Isolation › No one to debrief with", "Talk type › Downbeat"]
    assert len(options) == len(set(options)) == len(served.codebook().ids())


# -- in the browser ---------------------------------------------------------------------------

def _suggestions(text: str) -> list[Suggestion]:
    def at(words: str, code: str, score: float) -> Suggestion:
        i = text.index(words)
        return Suggestion(code, "p01_dana", 1, i, i + len(words), score, "rules+semantic",
                          f"matched “{words}”")

    return [at("I work alone most of the time", "working_alone", 0.9),
            at("most of the time. There's no one to debrief with", "no_debrief", 0.8),
            at("I love the clients", "upbeat", 0.7),
            at("I dread the night shifts", "downbeat", 0.6),
            at("There's no one", "isolation", 0.5)]


@pytest.mark.browser
def test_the_coding_view_in_the_browser(chromium, make_project, tmp_path):
    project = make_project(transcripts={"p01_dana.txt": TEXT})
    store = project.store
    text = store.load_transcript("p01_dana").text
    store.replace_suggestions("p01_dana", _suggestions(text), "bot")
    by_code = {c.code_id: c for c in store.codings(status="suggested")}
    for code in ("downbeat", "isolation"):  # another coder's decisions, shown beside them
        review.accept(store, by_code[code].id, "Other")
    coder = "Tester"
    with serve(project.root, tmp_path / "app.log") as url, browser_page() as page:
        page.goto(url)
        set_coder(page, coder)
        page.wait_for_selector(".qk-tag.qk-suggested")
        turn = page.locator('.qk-seg[data-index="1"]')
        # five codes on the turn: three chips, then "+2 more"
        assert turn.locator(".qk-tag:not(.qk-hidden)").count() == 3
        assert turn.locator(".qk-tag").count() == 5
        assert turn.locator(".qk-more").inner_text() == "+2 more"
        # overlapping codes: one underline each, in lanes of their own, not stripes
        wa, nd = by_code["working_alone"].id, by_code["no_debrief"].id
        both = page.evaluate("""([a, b]) => {
            const p = Array.from(document.querySelectorAll('.qk-piece')).find(p =>
              (p.dataset.codes || '').split(' ').includes(String(a)) &&
              (p.dataset.codes || '').split(' ').includes(String(b)));
            const s = getComputedStyle(p);
            return {text: p.textContent, image: s.backgroundImage,
                    position: s.backgroundPosition, color: s.backgroundColor};
        }""", [wa, nd])
        assert both["text"] == "most of the time"
        assert both["image"].count("gradient(") == 2 and "135deg" not in both["image"]
        assert both["image"].startswith("linear-gradient(") is False or "repeating" in \
            both["image"]  # suggestions: dashed
        lanes = [x.strip() for x in both["position"].split(",")]
        assert len(lanes) == 2 and lanes[0] != lanes[1]
        assert both["color"] in ("rgba(0, 0, 0, 0)", "transparent")  # no background fill
        # a decision is drawn solid
        solid = page.evaluate("""(id) => getComputedStyle(Array.from(
            document.querySelectorAll('.qk-piece')).find(p =>
            (p.dataset.codes || '').split(' ').includes(String(id)))).backgroundImage""",
            next(c.id for c in store.codings() if c.coder == "Other"
                 and c.code_id == "isolation"))
        assert "linear-gradient" in solid
        # clicking a chip highlights exactly the words of its passage
        page.locator(f'.qk-tag[data-id="{nd}"]').click()
        page.wait_for_selector(".qk-piece.qk-hl")
        lit = page.evaluate("""() => Array.from(document.querySelectorAll('.qk-piece.qk-hl'))
            .map(p => p.textContent).join('')""")
        assert lit == "most of the time. There's no one to debrief with"
        sidebar = page.locator("[data-testid=stSidebar]")
        sidebar.get_by_text("qualkit's suggestions").wait_for(timeout=20000)  # panel opened
        page.wait_for_selector(f'.qk-tag.qk-selected[data-id="{nd}"]')
        assert page.evaluate("""() => Array.from(document.querySelectorAll('.qk-piece.qk-hl'))
            .map(p => p.textContent).join('')""") == lit  # still, after the rerun
        # "+2 more" opens the rest of the turn's chips
        turn.locator(".qk-more").click()
        assert turn.locator(".qk-tag:not(.qk-hidden)").count() == 5
        shot = os.environ.get("QUALKIT_CODING_VIEW_SHOT") or str(tmp_path / "view.png")
        page.screenshot(path=shot, full_page=True)
        # keys: Escape clears; j moves to the first suggestion, a accepts, r rejects the next
        page.keyboard.press("Escape")
        page.wait_for_function("!document.querySelector('.qk-piece.qk-hl')")
        sidebar.get_by_text("qualkit's suggestions").wait_for(state="detached",
                                                              timeout=20000)  # panel closed
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("j")
        first = page.evaluate("document.activeElement.dataset.id")
        assert first is not None
        assert page.locator(".qk-piece.qk-hl").count() > 0
        page.keyboard.press("a")
        page.wait_for_function("document.querySelectorAll('.qk-tag.qk-accepted').length == 3")
        page.get_by_text("Accepted Working alone.").wait_for(timeout=20000)
        page.wait_for_function("document.activeElement && "
                               "document.activeElement.classList.contains('qk-suggested')")
        page.keyboard.press("r")
        page.wait_for_function("document.querySelectorAll('.qk-tag.qk-rejected').length == 1")
    mine = sorted((c.status, c.code_id) for c in store.codings() if c.coder == coder)
    assert mine[0] == ("accepted", "working_alone") and mine[1][0] == "rejected"
    assert int(first) == wa


def test_messages_name_codes_not_ids_rows_or_suggesters():
    from types import SimpleNamespace

    from qualkit.ui.common import MACHINE, said

    ctx = SimpleNamespace(codebook=parse_codebook(SMALL_CODEBOOK))
    assert said("ann already coded this passage with 'working_alone'", ctx) == \
        "ann already coded this passage with 'Working alone'"
    assert said("coding 1236 is not a machine suggestion") == \
        "this coding is not a machine suggestion"
    assert said("suggested by rules+semantic") == f"suggested by {MACHINE}"
    assert said("'not_a_code' stays as it is", ctx) == "'not_a_code' stays as it is"
