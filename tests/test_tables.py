"""Coded extracts and framework matrices as CSV and XLSX, read back and checked against the
analysis module's own figures on a real project with two coders."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from qualkit import review
from qualkit.analysis import AnalysisData, framework_matrix, frequencies
from qualkit.cli import app
from qualkit.errors import QualkitError
from qualkit.model import segment_of
from qualkit.sheets import extracts_table, framework_table, write_sheet

DANA = """---
participant: P01
pseudonym: Dana
works_alone: "yes"
region: Dales
---
Interviewer: How is a normal week?

Dana: I work alone most days, and there is no one to debrief with after a bad visit.

Interviewer: And the clients?

Dana: =SUM(1,2), my manager says, but I love the clients though, café and all.
"""

MARCUS = """---
participant: P02
pseudonym: Marcus
works_alone: "no"
---
Interviewer: Tell me about your team.

Marcus: I dread Mondays. Nobody else covers the north patch, so I offload to my partner.
"""

LEAVES = ["working_alone", "no_debrief", "upbeat", "downbeat"]


def _bob(i, sug):
    if sug.code_id == "working_alone" and sug.transcript == "p01_dana":
        return "accept", "clear case"
    return "reject"


@pytest.fixture
def coded(make_project):
    """Rules-only suggestions; ann accepts them all, bob accepts one, rejects the rest and
    codes a passage by hand."""
    project = make_project(transcripts={"p01_dana.txt": DANA, "p02_marcus.txt": MARCUS},
                           suggesters=("rules",), decisions={"ann": "accept", "bob": _bob})
    store, book = project.store, project.codebook()
    suggestions = store.codings(status="suggested")
    assert {s.code_id for s in suggestions} >= {"working_alone", "no_debrief", "upbeat",
                                                 "downbeat"}
    text = store.load_transcript("p02_marcus").text
    start = text.index("I dread")
    review.code_passage(store, "p02_marcus", start, start + 15, "downbeat", "bob", codebook=book)
    return project


def data_of(project, statuses=("accepted",)) -> AnalysisData:
    return AnalysisData.from_store(project.store, project.codebook(), statuses)


def test_extracts_csv_has_one_row_per_coding_with_text_and_context(coded, tmp_path):
    table = extracts_table(coded.store, coded.codebook())
    out = write_sheet(table, tmp_path / "extracts.csv", wrap=("text",))
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    back = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    accepted = coded.store.codings(status="accepted")
    assert len(back) == len(accepted)
    assert list(back.columns[:5]) == ["code", "code_name", "theme", "transcript", "participant"]
    assert {"works_alone", "region", "participant (attribute)", "pseudonym"} <= set(back.columns)
    assert list(back.columns[-12:]) == ["speaker", "segment", "start", "end", "text", "coder",
                                        "status", "source", "evidence", "confidence", "memo",
                                        "time_utc"]
    for row in back.itertuples():
        transcript = coded.store.load_transcript(row.transcript)
        text = transcript.text[row.start:row.end]
        assert row.text == ("'" + text if text[0] in "=+-@" else text)
        assert transcript.segments[row.segment].speaker == row.speaker
    hand = back[back.source == "hand"]
    assert list(hand.text) == ["I dread Mondays"] and list(hand.coder) == ["bob"]
    # a person's coding carries no machine evidence or confidence
    assert list(hand.evidence) == [""] and list(hand.confidence) == [""]
    machine = back[back.source == "rules"]
    assert (machine.evidence.astype(float) > 0).all()
    # The evidence's strength is not a probability: without decisions from three interviews
    # no percentage was shown, so none is exported either.
    assert set(machine.confidence) == {""}
    dana = back[back.transcript == "p01_dana"].iloc[0]
    assert (dana.participant, dana.works_alone, dana["participant (attribute)"]) == (
        "Dana", "yes", "P01")
    assert set(back[back.code == "working_alone"].theme) == {"Isolation"}
    assert set(back.memo) == {"", "clear case"}
    assert "café" in " ".join(back.text)


def test_extracts_agree_with_frequencies(coded):
    table = extracts_table(coded.store, coded.codebook())
    freq = frequencies(data_of(coded)).set_index("code")
    for code in LEAVES:
        rows = table[table.code == code]
        assert len({(t, s) for t, s in zip(rows.transcript, rows.segment)}) == \
            freq.loc[code, "segments"], code
        assert rows.transcript.nunique() == freq.loc[code, "participants"], code


def test_extracts_for_one_code_or_theme_and_other_statuses(coded):
    store, book = coded.store, coded.codebook()
    theme = extracts_table(store, book, code="isolation")
    assert set(theme.code) == {"working_alone", "no_debrief"}
    assert set(extracts_table(store, book, code="upbeat").code) == {"upbeat"}
    suggested = extracts_table(store, book, ("suggested",))
    decided = {c.suggestion_id for c in store.codings()}
    open_ = [c for c in store.codings(status="suggested") if c.id not in decided]
    # Every suggestion was decided on, so none is exported as a suggestion any more.
    assert open_ == [] and suggested.empty
    both = extracts_table(store, book, ("accepted", "suggested"))
    assert len(both) == len(store.codings(status="accepted"))


def test_a_suggestion_exports_its_evidence_and_its_calibrated_percentage_apart(coded):
    """A suggestion with a calibrated probability (as the combined suggester makes once the
    decisions span three interviews) exports it as its confidence; its score, the evidence's
    strength, goes to the evidence column."""
    from qualkit.model import Suggestion

    store, book = coded.store, coded.codebook()
    transcript = store.load_transcript("p02_marcus")
    taken = {c.segment_index for c in store.codings(transcript="p02_marcus")
             if c.code_id == "upbeat"}
    seg = next(s for s in transcript.segments if s.speaker == "Marcus" and s.index not in taken)
    store.replace_suggestions("p02_marcus", [Suggestion(
        code_id="upbeat", transcript="p02_marcus", segment_index=seg.index, start=seg.start,
        end=seg.end, score=0.71, source="learned", confidence=0.64)], "qualkit")
    [row] = extracts_table(store, book, ("suggested",)).itertuples()
    assert (row.code, row.segment, row.evidence, row.confidence) == ("upbeat", seg.index,
                                                                     0.71, 0.64)


def test_extracts_xlsx_is_formatted_and_keeps_text_as_text(coded, tmp_path):
    table = extracts_table(coded.store, coded.codebook())
    out = write_sheet(table, tmp_path / "extracts.xlsx", "coded extracts", wrap=("text", "memo"))
    book = load_workbook(out)
    ws = book["coded extracts"]
    header = [c.value for c in ws[1]]
    assert header == list(table.columns)
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "A2"
    text_col = header.index("text") + 1
    letter = ws.cell(row=1, column=text_col).column_letter
    assert ws.column_dimensions[letter].width >= 60
    assert ws.cell(row=2, column=text_col).alignment.wrap_text
    texts = [ws.cell(row=i, column=text_col).value for i in range(2, ws.max_row + 1)]
    formula_like = [t for t in texts if t.startswith("=")]
    assert formula_like, "the fixture should yield an extract starting with '='"
    for i in range(2, ws.max_row + 1):
        assert ws.cell(row=i, column=text_col).data_type == "s"  # text, never a formula
    back = pd.read_excel(out)
    assert list(back.text) == list(table.text)  # exact, no apostrophe in XLSX
    assert list(back.segment) == list(table.segment)


@pytest.mark.parametrize("by", [None, "works_alone"])
def test_framework_counts_equal_framework_matrix(coded, tmp_path, by):
    data = data_of(coded)
    matrix = framework_matrix(data, by)
    table = framework_table(data, by)
    for ext in ("csv", "xlsx"):
        out = write_sheet(table, tmp_path / f"fw.{ext}", key_columns=2)
        back = (pd.read_csv(out, encoding="utf-8-sig", dtype={by or "transcript": str})
                if ext == "csv" else pd.read_excel(out, dtype={by or "transcript": str}))
        back = back.set_index(by or "transcript")
        assert list(back.index) == list(matrix.index)
        book = coded.codebook()
        for code in LEAVES:
            assert list(back[book.get(code).name]) == list(matrix[code]), (ext, code)
        assert not any("(theme)" in c for c in back.columns)  # no theme applied as a whole
    if by:
        assert list(table.participants) == [1, 1]
    else:
        assert list(table.participant) == ["Dana", "Marcus"]


def test_framework_cells_hold_the_extracts(coded, tmp_path):
    data = data_of(coded)
    table = framework_table(data, "works_alone", cells="extracts").set_index("works_alone")
    marcus = coded.store.load_transcript("p02_marcus").text
    cell = table.loc["no", "Downbeat"]
    assert cell.startswith("Marcus: I dread Mondays")
    assert marcus[marcus.index("I dread"):].split(".")[0] in cell
    # one extract per distinct span, however many coders accepted it
    dana_cell = framework_table(data, cells="extracts").set_index("transcript").loc[
        "p01_dana", "Working alone"]
    assert len(dana_cell.split("\n\n")) == framework_matrix(data).loc["p01_dana", "working_alone"]
    out = write_sheet(table.reset_index(), tmp_path / "fw.xlsx", wrap=list(table.columns[1:]),
                      key_columns=2)
    ws = load_workbook(out).active
    assert ws.freeze_panes == "C2"
    assert ws["C2"].alignment.wrap_text


def test_a_theme_applied_as_a_whole_gets_its_own_column(coded):
    store = coded.store
    text = store.load_transcript("p01_dana").text
    start = text.index("I work alone")
    review.code_passage(store, "p01_dana", start, start + 12, "isolation", "ann")
    table = framework_table(data_of(coded)).set_index("transcript")
    assert table.loc["p01_dana", "Isolation (theme)"] == 1
    assert table.loc["p02_marcus", "Isolation (theme)"] == 0


def test_export_commands_write_files_and_refuse_mistakes(coded, tmp_path):
    runner = CliRunner()
    proj = str(coded.root)

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    r = run("export", "extracts", "-o", str(tmp_path / "e.xlsx"), "-p", proj, "--code",
            "isolation", "--include", "all")
    assert r.exit_code == 0, r.output
    assert set(pd.read_excel(tmp_path / "e.xlsx").code) == {"working_alone", "no_debrief"}
    r = run("export", "framework", "-o", str(tmp_path / "f.csv"), "-p", proj, "--by",
            "works_alone", "--cells", "extracts")
    assert r.exit_code == 0 and "2 x 4 framework matrix" in r.output, r.output
    assert "Marcus: I dread" in (tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    for args, expected in [
            (("extracts", "-o", "x.pdf"), "--output: the output file must end in .csv or .xlsx"),
            (("extracts", "-o", "x.csv", "--code", "nope"), "--code: no code 'nope'"),
            (("extracts", "-o", "x.csv", "--include", "rejected"), "--include: unknown choice"),
            (("framework", "-o", "x.csv", "--by", "nope"),
             "--by: no transcript has an attribute 'nope' (use one of: participant, pseudonym, "
             "region, works_alone)"),
            (("framework", "-o", "x.csv", "--cells", "text"), "--cells: unknown choice"),
            (("framework", "-o", "x.txt"), "must end in .csv or .xlsx")]:
        r = run("export", *args[:2], str(tmp_path / args[2]), *args[3:], "-p", proj)
        assert r.exit_code == 1 and expected in r.output, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_a_coder_counts_only_in_the_turns_they_worked_on_or_marked(coded):
    """Agreement rests on the turns a coder decided in (accepted, rejected, coded by hand), or
    marked as fully coded; a handful of decisions no longer stands for a whole transcript."""
    from qualkit.agreement import agreement_report
    from qualkit.agreement.project import coverage_table, decision_coders, decision_rows

    store = coded.store
    assert decision_coders(store) == ["ann", "bob"]
    transcripts = {name: store.load_transcript(name) for name in store.transcript_names()}
    turns_of = {name: {s.index for s in t.segments} for name, t in transcripts.items()}
    decided = {(c.transcript, c.coder, segment_of(transcripts[c.transcript], c))
               for c in store.codings() if c.status in ("accepted", "rejected")}
    rows = decision_rows(store)
    # a row for exactly the turns each coder decided in, not for every turn of the transcript
    assert {(r.document, r.coder, r.segment) for r in rows} == decided
    assert len(rows) < sum(len(turns) for turns in turns_of.values()) * 2
    # bob marks p01 as fully coded: every p01 turn counts for him, "none" where he applied
    # nothing, and the coverage table says so
    assert store.mark_coded("p01_dana", "bob") == (0, max(turns_of["p01_dana"]))
    rows = decision_rows(store)
    bob_p01 = {r.segment: r.codes for r in rows if r.document == "p01_dana" and r.coder == "bob"}
    assert set(bob_p01) == turns_of["p01_dana"]
    table = {(c.transcript, c.coder): c for c in coverage_table(store)}
    assert table[("p01_dana", "bob")].turns == table[("p01_dana", "bob")].of
    assert table[("p01_dana", "bob")].marked and not table[("p01_dana", "ann")].marked
    assert table[("p01_dana", "ann")].turns < table[("p01_dana", "ann")].of
    report = agreement_report(rows, coded.codebook())
    assert report.coders == ["ann", "bob"]
    # a third coder who decided once in p01: p01 only, and only that turn
    sug = store.codings("p01_dana", status="suggested")[0]
    review.reject(store, sug.id, "cy")
    cy = [r for r in decision_rows(store, ["ann", "cy"]) if r.coder == "cy"]
    assert [(r.document, r.segment) for r in cy] == [("p01_dana", sug.segment_index)]
    assert {r.document for r in decision_rows(store, ["ann", "cy"], common_only=True)} == {
        "p01_dana"}
    with pytest.raises(QualkitError, match="turns 5-2 are not in"):
        store.mark_coded("p01_dana", "cy", 5, 2)


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os

    from qualkit.fileio import atomic_write_text

    old = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / "report.md", "# Themes\n")
        assert fresh.stat().st_mode & 0o777 == 0o644
        os.chmod(fresh, 0o600)  # a file the user made private stays private when rewritten
        atomic_write_text(fresh, "# Themes, again\n")
        assert fresh.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_speaker_scope_counts_codes_only_in_their_speakers_turns():
    from qualkit.agreement.project import speaker_scope
    from qualkit.model import Code, Codebook

    book = Codebook(name="b", codes=[Code(id="alone", name="Alone"),
                                     Code(id="probe", name="Probe", speakers=["interviewer"])],
                    speakers=["participant"])
    scope = speaker_scope(book, {"Sam": "interviewer"})
    assert scope("alone", "Dana") and not scope("alone", "Interviewer")
    assert not scope("alone", "Sam")  # the project says Sam interviews
    assert scope("probe", "Sam") and not scope("probe", "Dana")
