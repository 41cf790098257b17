"""Every page of the Streamlit app, headless (AppTest), on a real project."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import APP
from .conftest import run_app as app

TEXT = ("Interviewer: How is it?\n\nDana: I work alone, <script>alert(1)</script> and nobody "
        "else is there. I love it though.\n")


@pytest.fixture
def coded_project(make_project, monkeypatch):
    """p01_dana with two rule suggestions (working_alone, upbeat), served to the app."""
    project = make_project(transcripts={"p01_dana.txt": TEXT}, suggesters=("rules",))
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    return project


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
    assert "Coded as" in at.toast[0].value


def test_queue_page_accepts_and_rejects(coded_project):
    at = app("views/queue.py")
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
    at = app("views/project.py")
    assert any("1 transcripts, 2 turns" in c.value for c in at.caption)
    assert len(at.dataframe) == 1
    at.button[2].click().run()  # prepare the coded-segments table
    assert not at.exception


def test_project_page_chooses_the_embedding_model(coded_project):
    def radio(at):
        return next(r for r in at.radio if r.label == "Embedding model")

    at = app("views/project.py")
    assert radio(at).value == "english"
    assert any("The model for the codebook's language (en)" in c.value for c in at.caption)
    radio(at).set_value("multilingual").run()
    assert not at.exception
    assert coded_project.embeddings == "multilingual"
    assert any("Run the suggesters to use it" in s.value for s in at.success)
    assert radio(at).value == "multilingual"
    assert not any("codebook's language" in c.value for c in at.caption)  # chosen
    coded_project.set_embeddings("english", "bob")  # changed elsewhere: the page follows
    at.run()
    assert radio(at).value == "english" and coded_project.embeddings == "english"


def test_app_without_project_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALKIT_PROJECT", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert "no qualkit project here" in at.error[0].value


def test_themes_page_shows_frequencies_matrix_and_extracts(coded_project):
    from qualkit import review

    sug = coded_project.store.codings(status="suggested")[0]
    review.accept(coded_project.store, sug.id, "ann")
    at = app("views/themes.py")
    freq = at.dataframe[0].value.set_index("code")
    assert freq.loc[sug.code_id, "segments"] == 1 and freq.loc[sug.code_id, "of"] == 1
    at.selectbox(key="ex_a").set_value(sug.code_id).run()
    assert not at.exception
    assert any("ann" in c.value for c in at.caption)


def test_topics_page_without_a_run_says_how_to_start(coded_project):
    at = app("views/topics.py")
    assert "No topic run yet" in at.info[0].value


def test_topics_page_draws_the_figures_of_a_stored_run_once(coded_project):
    import numpy as np

    from qualkit.embed import MODEL_ID, text_hash
    from qualkit.topics import Passage, Topic, TopicRun, TopicSettings, latest_run

    themes = ["funding", "travel", "pets"]
    texts = [f"Passage {i} about {themes[i % 3]}." for i in range(9)]
    run = TopicRun(TopicSettings(fast=True), [
        Passage("p01_dana", 1, 0, 5, "Dana", text, topic=i % 3) for i, text in enumerate(texts)],
        [Topic(k, theme, [(theme, 0.9), ("words", 0.1)], 3, 1, [k, k + 3], {}, 0.0, True)
         for k, theme in enumerate(themes)], 1)
    store = coded_project.store
    store.save_topic_run(run.to_dict(), "ann")
    vectors = np.random.default_rng(0).normal(size=(9, 384)).astype(np.float32)
    store.put_embeddings(MODEL_ID, {text_hash(t): v.tobytes() for t, v in zip(texts, vectors)})
    at = app("views/topics.py")
    assert "3 topics over 9 passages from 1 transcripts" in at.markdown[0].value
    assert [t.label for t in at.tabs] == ["Topic map", "Top words"]
    assert set(latest_run(coded_project).figures) == {"map", "barchart"}  # drawn once, kept
    assert len([e for e in at.expander if e.label.startswith("Topic ")]) == 3


def form(at: AppTest, form_id: str):
    return next(f for f in at.get("form") if f.proto.form.form_id == form_id)


def test_codebook_page_saves_only_what_changed(coded_project):
    at = app("views/codebook.py")
    assert "language en: keywords matched on English lemmas" in at.caption[0].value
    at.button(key="cb_pick_working_alone").click().run()  # chosen in the code tree
    [definition] = [t for t in form(at, "cb_edit_form").text_area if t.label == "Definition"]
    definition.set_value("Alone on the job, all day.")
    form(at, "cb_edit_form").button[0].click().run()
    assert not at.exception
    assert at.success[0].value == "Saved 'Working alone': edited definition."
    code = coded_project.codebook().get("working_alone")
    assert (code.definition, code.color) == ("Alone on the job, all day.", None)  # inherits
    form(at, "cb_edit_form").button[0].click().run()
    assert at.success[0].value == "Nothing changed."


def test_codebook_page_splits_a_code(coded_project):
    at = app("views/codebook.py")
    at.button(key="cb_pick_upbeat").click().run()  # chosen in the code tree
    split = form(at, "cb_split_form")
    split.text_area[0].set_value("joy: Joy\nrelief: Relief")
    split.checkbox[0].check()
    split.button[0].click().run()
    assert not at.exception
    assert at.success[0].value == "Split 'Upbeat' into 'Joy', 'Relief' (under it)."
    assert [c.id for c in coded_project.codebook().get("upbeat").children] == ["joy", "relief"]


def test_coding_page_saves_a_transcript_memo_undoably(coded_project):
    at = app()

    def memo_box():
        [box] = [t for t in at.sidebar.text_area if t.label == "Transcript memo"]
        return box

    memo_box().set_value("Strong account of lone work.")
    [save] = [b for b in at.sidebar.button if b.label == "Save transcript memo"]
    save.click().run()
    assert not at.exception and at.toast[0].value == "Transcript memo saved."
    store = coded_project.store
    assert store.transcript_memos("p01_dana") == {"ann": "Strong account of lone work."}
    event = store.events(1)[0]
    assert (event.actor, event.action, event.entity) == ("ann", "memo", "transcript")
    [undo] = [b for b in at.sidebar.button if b.label == "Undo my last change"]
    undo.click().run()
    assert store.transcript_memos("p01_dana") == {}
    # the box shows what is stored now (it kept the undone text, and a second Save wrote it
    # back), and saving again keeps the memo undone
    assert memo_box().value == ""
    [save] = [b for b in at.sidebar.button if b.label == "Save transcript memo"]
    save.click().run()
    assert store.transcript_memos("p01_dana") in ({}, {"ann": ""})


def test_a_coder_marks_a_transcript_as_coded_and_can_undo_it(coded_project):
    at = app()
    [mark] = [b for b in at.sidebar.button if b.label == "I have coded this whole transcript"]
    mark.click().run()
    assert not at.exception
    turns = len(coded_project.store.load_transcript("p01_dana").segments)
    assert coded_project.store.coded_ranges() == {"p01_dana": {"ann": [(0, turns - 1)]}}
    assert any("You marked this transcript as coded" in c.value for c in at.sidebar.caption)
    [undo] = [b for b in at.sidebar.button if b.label == "Undo my last change"]
    undo.click().run()
    assert coded_project.store.coded_ranges() == {}


def test_codebook_page_shows_the_tree_and_merges_codes(coded_project):
    at = app("views/codebook.py")
    assert any("Working alone" in m.value for m in at.markdown)  # a row of the code tree
    at.button(key="cb_pick_working_alone").click().run()  # the merge target, chosen in the tree
    at.multiselect[0].set_value(["no_debrief"])
    [button] = [b for b in at.button if b.label == "Merge into this code"]
    button.click().run()
    assert not at.exception
    assert "Merged 'No one to debrief with' into 'Working alone'" in at.success[0].value
    assert coded_project.codebook().get("no_debrief") is None


@pytest.fixture
def two_coders(make_project, monkeypatch):
    """ann accepts both suggestions; bob accepts one, rejects the other and codes a passage by
    hand: they agree on working_alone and differ on upbeat and downbeat."""
    from qualkit import review

    project = make_project(transcripts={"p01_dana.txt": TEXT}, suggesters=("rules",),
                           decisions={"ann": "accept", "bob": lambda i, sug: "accept"
                                      if sug.code_id == "working_alone" else "reject"})
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    store = project.store
    text = store.load_transcript("p01_dana").text
    start = text.index("I love it")
    review.code_passage(store, "p01_dana", start, start + 9, "downbeat", "bob")
    return project


def _same(shown, computed) -> bool:
    import math

    if computed is None or math.isnan(computed):
        return shown == "–"  # undefined: a dash explained under the table, never "None"
    return float(shown) == pytest.approx(computed, abs=5e-4)


def frame(at: AppTest, column: str):
    """The table shown with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _expected(project):
    from qualkit.agreement.project import project_agreement

    return project_agreement(project.store, project.codebook(check_patterns=False))


def test_agreement_page_shows_what_qualkit_agreement_computes(two_coders):
    report = _expected(two_coders)
    assert report.coders == ["ann", "bob"] and report.units == 1  # the one turn both decided in
    at = app("views/agreement.py")
    assert at.multiselect(key="agr_coders").value == ["ann", "bob"]
    table = at.dataframe(key="agr_table").value.set_index("code")
    assert list(table.index) == list(report.codes)
    for code, c in report.codes.items():
        row = table.loc[code]
        assert row["n (segments)"] == c.units and row["applied"] == c.applied
        assert _same(row["Cohen's κ"], c.pairs[0].kappa), code
        assert _same(row["% agreement"], 100 * c.percent_agreement), code
        assert _same(row["Krippendorff's α"], c.krippendorff_alpha), code
        assert _same(row["Fleiss' κ"], c.fleiss_kappa), code
    assert table.loc["upbeat", "disagreements"] == 1
    # Codes count only in the participant's turns (the codebook's speakers), not the
    # interviewer's: one shared segment, coded alike.
    assert table.loc["working_alone", "n (segments)"] == 1
    assert table.loc["working_alone", "% agreement"] == 100.0
    groups = frame(at, "categories").set_index("parent")
    g = report.groups["talk_type"]
    assert groups.loc["talk_type", "n (segments)"] == g.support == 1
    assert _same(groups.loc["talk_type", "% agreement"], 100 * g.percent_agreement)
    # The disagreement, its untrusted text shown as data in a table, never as HTML.
    shown = frame(at, "differ on")
    assert list(shown.columns) == ["transcript", "segment", "speaker", "text", "ann", "bob",
                                   "differ on"]
    [row] = shown.to_dict("records")
    assert "<script>alert(1)</script>" in row["text"]
    assert row["ann"] == "Working alone; Upbeat" and row["bob"] == "Working alone; Downbeat"
    assert not any("<script" in m.value for m in at.markdown)


def test_agreement_page_filters_disagreements_by_code(two_coders):
    at = app("views/agreement.py")
    box = at.selectbox(key="agr_code")
    assert box.options == ["every code", "Upbeat (1)", "Downbeat (1)"]
    box.set_value("downbeat").run()
    assert len(frame(at, "differ on")) == 1
    at.multiselect(key="agr_coders").set_value(["ann"]).run()
    assert "at least two coders" in at.info[0].value
    at.multiselect(key="agr_coders").set_value(["ann", "bob"]).run()
    assert len(frame(at, "differ on")) == 1
    at.sidebar.toggle[0].set_value(True).run()  # blind coding hides other coders' decisions
    assert "Blind coding is on" in at.info[0].value and not at.dataframe


def test_agreement_page_needs_two_coders(coded_project):
    from qualkit import review

    at = app("views/agreement.py")
    assert "decisions by 0" in at.info[0].value
    review.accept(coded_project.store, coded_project.store.codings(status="suggested")[0].id,
                  "ann")
    at = app("views/agreement.py")
    assert "decisions by 1 (ann)" in at.info[0].value and "upload" in at.info[0].value


def test_agreement_page_reads_an_uploaded_table(coded_project):
    from qualkit.agreement import agreement_report
    from qualkit.agreement.project import speaker_scope
    from qualkit.codedtable import read_table_rows

    table = (b"document,segment,speaker,text,codes,coder\n"
             b"d,0,Dana,I work alone.,working_alone,ann\n"
             b"d,0,Dana,I work alone.,working_alone,bob\n"
             b"d,1,Dana,I love it.,upbeat,ann\n"
             b"d,1,Dana,I love it.,downbeat,bob\n"
             b"d,2,Dana,Nobody to debrief with.,no_debrief,ann\n"
             b"d,2,Dana,Nobody to debrief with.,,bob\n")
    at = app("views/agreement.py")
    at.radio(key="agr_source").set_value("An uploaded coded-segments table").run()
    assert "Upload a coded-segments table" in at.info[0].value
    at.file_uploader(key="agr_upload").upload("two.csv", table, "text/csv").run()
    assert not at.exception
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "two.csv").write_bytes(table)
        book = coded_project.codebook(check_patterns=False)
        report = agreement_report(read_table_rows(Path(tmp) / "two.csv"), book,
                                  speaker_scope(book))
    shown = at.dataframe(key="agr_table").value.set_index("code")
    for code, c in report.codes.items():
        assert _same(shown.loc[code, "Cohen's κ"], c.kappa_mean), code
        assert _same(shown.loc[code, "Krippendorff's α"], c.krippendorff_alpha), code
    assert len(frame(at, "differ on")) == 2
    # A theme is disputed where its codes are present for one coder and absent for the other.
    assert shown.loc["isolation", "disagreements"] == 1
    assert shown.loc["talk_type", "disagreements"] == 0
    assert "Isolation (1)" in at.selectbox(key="agr_code").options
    at.selectbox(key="agr_code").set_value("no_debrief").run()
    [row] = frame(at, "differ on").to_dict("records")
    assert (row["text"], row["ann"], row["bob"]) == ("Nobody to debrief with.",
                                                     "No one to debrief with", "(none)")
    at.file_uploader(key="agr_upload").upload("bad.csv", b"document,text\nd,x\n",
                                              "text/csv").run()
    assert not at.exception
    assert "missing column(s) segment, speaker, codes" in at.error[0].value


def test_queue_shows_evidence_not_a_percentage_before_calibration(coded_project):
    at = app("views/queue.py")
    head = next(m.value for m in at.markdown if "Review queue" not in m.value and "·" in m.value)
    assert "weak evidence" in head and "%" not in head
