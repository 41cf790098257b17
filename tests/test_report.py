"""Theme summary reports from a real project: counts, extracts, escaping, all three formats, CLI."""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualkit import review
from qualkit.analysis import AnalysisData, frequencies
from qualkit.cli import app
from qualkit.model import Transcript
from qualkit.project import open_project
from qualkit.report import build_report, write_report
from qualkit.report.build import pick_extracts
from qualkit.report.model import Quote
from qualkit.report.render import md
from qualkit.segment import TextBuilder

from .conftest import REPO, build_project

runner = CliRunner()
SAMPLES = ["p01_dana.txt", "p02_marcus.txt", "p03_priya.txt"]
EVIL = "<script>alert('x')</script> & I work alone, nobody else out here"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The keyworker codebook over three sample interviews plus one hostile one: rule
    suggestions, decisions by two coders (one double-coding p01), one passage coded by hand."""
    path = tmp_path_factory.mktemp("report") / "proj"
    b = TextBuilder()
    b.add("Interviewer", "How is it?", timestamp="00:00:01")
    b.add("Zed", EVIL, timestamp="00:00:09")
    zed = Transcript("p99_zed", b.text, b.segments,
                     {"participant": "P99", "pseudonym": "Zed <b>", "works_alone": "yes"})
    proj = build_project(
        path, codebook=REPO / "codebooks" / "keyworker.yaml", actor="Researcher",
        transcripts=[*(REPO / "sample_transcripts" / n for n in SAMPLES), zed],
        suggesters=("rules",), decisions={
            # every seventh left for review; the Assistant double-codes p01
            "Researcher": lambda i, sug: None if i % 7 == 6 else
            "reject" if i % 4 == 3 else "accept",
            "Assistant": lambda i, sug: None if i % 7 == 6 or sug.transcript != "p01_dana"
            else "reject" if i % 3 == 2 else "accept"})
    store = proj.store
    seg = b.segments[1]
    review.code_passage(store, "p99_zed", seg.start, seg.end, "emotional_demands", "Researcher")
    proj.close()
    return path


@pytest.fixture
def project(root):
    proj = open_project(root)
    yield proj
    proj.close()


def test_counts_match_the_analysis_and_the_decisions(project):
    report = build_report(project)
    data = AnalysisData.from_store(project.store, project.codebook(check_patterns=False))
    freq = frequencies(data).set_index("code")
    codes = {c.id: c for c in report.all_codes()}
    assert set(codes) == set(freq.index)
    for code_id, row in freq.iterrows():
        assert (codes[code_id].segments, codes[code_id].participants, codes[code_id].of) == (
            row["segments"], row["participants"], row["of"])
    assert report.participants == 4 and report.by == "works_alone"
    assert codes["working_alone"].segments > 0

    every = project.store.codings()
    m = report.methods
    decisions = [c for c in every if c.suggestion_id is not None]
    assert m.accepted == sum(c.status == "accepted" for c in decisions)
    assert m.rejected == sum(c.status == "rejected" for c in decisions)
    decided = {c.suggestion_id for c in decisions}
    assert m.pending == sum(c.status == "suggested" and c.id not in decided for c in every) > 0
    assert m.by_hand == 1 and m.codebook == "Keyworker experiences" and m.version
    assert {w.coder for w in m.coders} == {"Researcher", "Assistant"}
    assert m.agreement and m.agreement_coders == ["Assistant", "Researcher"]


def test_include_all_adds_only_undecided_suggestions(project):
    from qualkit.analysis import counted as counted_by
    from qualkit.analysis import statuses_for

    every = project.store.codings()
    counted = counted_by(every, statuses_for("all"))
    assert not any(c.status == "rejected" for c in counted)
    decided = {c.suggestion_id for c in every if c.suggestion_id}
    assert all(c.id not in decided for c in counted if c.status == "suggested")
    accepted = {c.id: c.segments for c in build_report(project).all_codes()}
    both = {c.id: c.segments for c in build_report(project, include="all").all_codes()}
    assert all(both[k] >= accepted[k] for k in accepted) and both != accepted


def test_coverage_by_attribute_and_cooccurrence(project):
    report = build_report(project, by="works_alone")
    sizes = {g.value: g.of for g in report.group_sizes}
    assert sum(sizes.values()) == report.participants
    alone = next(c for c in report.all_codes() if c.id == "working_alone")
    assert sum(g.participants for g in alone.groups) == alone.participants
    assert len(report.heatmap) == len(report.heatmap_codes) >= 2
    assert build_report(project, by="none").by is None
    assert build_report(project, by="region").by == "region"


def test_extracts_come_from_different_participants_with_their_location(project):
    report = build_report(project, extracts=3)
    spread = [c for c in report.all_codes() if c.participants >= 2 and not c.is_theme]
    assert spread
    for code in spread:
        people = [q.transcript for q in code.extracts]
        assert len(set(people[:2])) == 2, (code.id, people)
    dana = next(q for c in report.all_codes() for q in c.extracts if q.transcript == "p01_dana")
    assert dana.pseudonym == "Dana" and re.fullmatch(
        r"Dana, p01_dana, turn \d+, \d\d:\d\d:\d\d", dana.attribution)
    assert build_report(project, extracts=0).all_codes()[1].extracts == []


def test_pick_extracts_is_deterministic_and_prefers_readable_passages():
    def q(who: str, words: int, turn: int) -> Quote:
        return Quote(" ".join(["word"] * words), who, who, turn, None, "c")

    quotes = [q("a", 3, 1), q("a", 30, 2), q("a", 200, 3), q("b", 20, 5), q("c", 2, 9)]
    picked = pick_extracts(quotes, 4)
    assert [(x.transcript, x.turn) for x in picked] == [("a", 2), ("b", 5), ("c", 9), ("a", 1)]
    assert pick_extracts(list(reversed(quotes)), 4) == picked


def test_markdown_has_charts_beside_it_and_escapes_transcript_text(project, tmp_path):
    report = build_report(project)
    written = write_report(report, tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    folder = tmp_path / "summary_files"
    assert {p.name for p in folder.iterdir()} == {"frequency.png", "coverage.png",
                                                  "cooccurrence.png"}
    assert len(written) == 4 and "](summary_files/frequency.png)" in text
    assert (folder / "frequency.png").read_bytes()[:4] == b"\x89PNG"
    assert "<script>" not in text and r"\<script\>" in text and "— Zed \\<b\\>, p99\\_zed" in text
    assert "## Methods appendix" in text and "## Isolation" in text
    quotes = [q for c in report.all_codes() for q in c.extracts]
    assert quotes and all(f"> “{md(q.text)}”" in text for q in quotes)


def test_html_is_self_contained_and_escaped(project, tmp_path):
    report = build_report(project)
    write_report(report, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert "Zed &lt;b&gt;, p99_zed" in page
    assert page.count("data:image/png;base64,") == 3
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "Content-Security-Policy" in page and "<h2>Methods appendix" not in page
    assert all(html.escape(c.name) in page for c in report.all_codes())
    assert all(html.escape(q.text) in page for c in report.all_codes() for q in c.extracts)


def test_docx_opens_with_headings_tables_pictures_and_quotes(project, tmp_path):
    import docx

    report = build_report(project)
    write_report(report, tmp_path / "r.docx")
    doc = docx.Document(str(tmp_path / "r.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == "Theme summary: Keyworker experiences"
    assert {"Overview", "Isolation", "Working alone", "Methods appendix", "Coders",
            "Agreement between coders"} <= set(headings)
    assert len(doc.tables) >= 4 and doc.tables[0].style.name == "Light List Accent 1"
    overview = doc.tables[0]
    isolation = next(r for r in overview.rows if r.cells[0].text == "Isolation")
    code = next(c for c in report.all_codes() if c.id == "isolation")
    assert isolation.cells[1].text == str(code.segments)
    assert len(doc.inline_shapes) == 3
    text = "\n".join(p.text for p in doc.paragraphs)
    assert EVIL in text and "— Zed <b>, p99_zed, turn 2, 00:00:09" in text
    with zipfile.ZipFile(tmp_path / "r.docx") as z:
        assert sum(n.startswith("word/media/") for n in z.namelist()) == 3
    quote = next(q for c in report.all_codes() for q in c.extracts)
    quote.text += " bell\x07 here"  # control characters XML cannot hold are dropped
    write_report(report, tmp_path / "r2.docx")
    assert any("bell here" in p.text for p in docx.Document(str(tmp_path / "r2.docx")).paragraphs)


def test_cli_writes_each_format_and_infers_it_from_the_name(root, tmp_path):
    for name in ("out.md", "out.html", "out.docx"):
        r = runner.invoke(app, ["report", "-p", str(root), "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert (tmp_path / name).stat().st_size > 1000
    r = runner.invoke(app, ["report", "-p", str(root), "-o", str(tmp_path / "x.txt"),
                            "--format", "html", "--include", "all", "--by", "none",
                            "--extracts", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.txt").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("args, words", [
    (["-o", "r.txt"], ["--format", ".md, .html or .docx"]),
    (["-o", "r.md", "--format", "pdf"], ["--format", "unknown format 'pdf'"]),
    (["-o", "r.md", "--by", "shoe_size"], ["--by", "shoe_size", "works_alone"]),
    (["-o", "r.md", "--include", "some"], ["--include: unknown choice 'some'",
                                             "use accepted or all"]),
    (["-o", "r.md", "--extracts", "-1"], ["--extracts"]),
    (["-o", "blocker/r.md"], ["--output", "cannot write"]),
])
def test_cli_errors_are_one_line(root, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    r = runner.invoke(app, ["report", "-p", str(root), *args])
    assert r.exit_code == 1, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    for word in words:
        assert word in r.stderr, (word, r.stderr)


def test_a_participant_known_only_by_the_transcript_is_named_once(one_coder):
    quote = next(q for c in build_report(one_coder).all_codes() for q in c.extracts)
    assert quote.pseudonym == "kim" and quote.attribution == "kim, turn 2"
    assert Quote("x", "P21", "p21_kerry", None, None, "c").attribution == "P21, p21_kerry"


def test_charts_and_heatmap_show_the_same_leaf_codes(project):
    report = build_report(project)
    book = project.codebook(check_patterns=False)
    leaves = [c.id for c in book.leaves()]
    assert [c.id for c in report.leaves()] == [c for c in leaves if c in
                                                {x.id for x in report.all_codes()}]
    assert report.heatmap_codes == [c.name for c in report.leaves() if c.segments]
    assert all(c.color == book.color_of(c.id) for c in report.all_codes() if c.id)


def test_single_coder_project_says_plainly_there_is_no_agreement(one_coder):
    report = build_report(one_coder)
    m = report.methods
    assert not m.agreement and "only tester coded" in m.agreement_note


def test_empty_project_reports_what_to_do(tmp_path, make_project):
    proj = make_project("empty")
    report = build_report(proj)
    assert report.participants == 0 and "qualkit import" in report.notes[0]
    write_report(report, tmp_path / "e.docx")
    write_report(report, tmp_path / "e.html")


@pytest.fixture
def one_coder(make_project):
    b = TextBuilder()
    b.add("Interviewer", "And?")
    b.add("Kim", "I work alone most days.")
    proj = make_project("one", transcripts=[Transcript("kim", b.text, b.segments, {})])
    seg = b.segments[1]
    review.code_passage(proj.store, "kim", seg.start, seg.end, "working_alone", "tester")
    return proj


def test_a_failed_write_is_a_clear_error(project, tmp_path, monkeypatch):
    import qualkit.fileio
    from qualkit.errors import QualkitError

    def refuse(path, text):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(qualkit.fileio, "atomic_write_text", refuse)
    with pytest.raises(QualkitError, match="--output: cannot write the report: Permission denied"):
        write_report(build_report(project, extracts=0), tmp_path / "r.html")


def _many_codes_yaml(themes: int = 6, per_theme: int = 20) -> str:
    lines = ["name: Many codes", "speakers: [participant]", "codes:"]
    for t in range(themes):
        lines += [f"  - id: t{t}", f"    name: Theme {t}", f'    color: "#{t}{t}0000"',
                  "    children:"]
        lines += [f"      - id: t{t}_c{k}\n        name: Theme {t} code {k}"
                  for k in range(per_theme)]
    return "\n".join(lines) + "\n"


def test_a_report_on_many_codes_says_what_scanning_every_coding_says(make_project, tmp_path):
    """120 leaf codes (more than a chart shows): per-code figures, co-occurring codes and
    extracts as counting every coding for every code gives them; charts keep to the codes
    most participants mention and say so; the overview table still lists every code."""
    import random

    from qualkit.analysis import cooccurrence
    from qualkit.model import Coding, ImportedDocument
    from qualkit.report.charts import report_charts
    from qualkit.report.model import CHART_CODES
    from qualkit.report.render import render_markdown

    rng = random.Random(12)
    leaves = [f"t{t}_c{k}" for t in range(6) for k in range(20)]
    docs = []
    for i in range(6):
        b = TextBuilder()
        for turn in range(10):
            b.add("Interviewer", "And then?")
            b.add(f"P{i}", f"Answer {turn} of person {i}, said in a few plain words here.")
        tr = Transcript(f"p{i}", b.text, b.segments, {"works_alone": "yes" if i % 2 else "no"})
        codings = [Coding(code, tr.name, seg.start, seg.end, "ann", segment_index=seg.index)
                   for seg in b.segments[1::2] for code in rng.sample(leaves, 3)]
        docs.append(ImportedDocument(tr, codings))
    project = make_project(codebook=_many_codes_yaml(), transcripts=docs)
    report = build_report(project, extracts=2)
    book = project.codebook(check_patterns=False)
    data = AnalysisData.from_store(project.store, book)
    order = data.code_order()
    co = cooccurrence(data, order)
    codes = {c.id: c for c in report.all_codes()}
    assert list(codes) == order
    for code_id, c in codes.items():
        family = book.members(code_id) | {a.id for a in book.ancestors(code_id)}
        together = sorted(((int(co.loc[code_id, o]), o) for o in leaves
                           if o not in family and co.loc[code_id, o] > 0),
                          key=lambda t: (-t[0], order.index(t[1])))[:3]
        assert c.cooccurring == [(book.display_name(o), n) for n, o in together]
        assert (c.color, c.depth) == (book.color_of(code_id), len(book.ancestors(code_id)))
        mine = sorted((x for x in data.codings if x.code_id == code_id),
                      key=lambda x: (x.transcript, x.start, x.end))
        assert {(q.transcript, q.turn) for q in c.extracts} <= {
            (x.transcript, x.segment_index + 1) for x in mine}
        assert len(c.extracts) == min(2, len({(x.transcript, x.start) for x in mine}))
    occurring = [c for c in report.leaves() if c.segments]
    assert len(occurring) > CHART_CODES == len(report.heatmap_codes) == len(report.charted())
    assert report.heatmap_of == len(occurring)
    ranked = sorted(report.leaves(), key=lambda c: -c.participants)
    assert min(c.participants for c in report.charted()) >= ranked[CHART_CODES].participants
    assert report.heatmap_codes == [c.name for c in report.charted()]
    charts = {c.name: c for c in report_charts(report)}
    assert f"of {len(report.leaves())}" in charts["frequency"].caption
    assert f"of the {len(occurring)} that occur" in charts["cooccurrence"].caption
    text = render_markdown(report, list(charts.values()), "files")
    assert all(md(c.name) in text for c in report.all_codes())


def test_word_built_in_short_bodies_is_the_same_document(project, monkeypatch):
    """Blocks built a few at a time in a detached body (so a long report is not quadratic)
    give exactly the document.xml of adding every block to the document directly."""
    from contextlib import contextmanager
    from io import BytesIO

    import qualkit.report.render as render
    from qualkit.report.charts import report_charts

    report = build_report(project)
    charts = report_charts(report)

    def body(data: bytes) -> bytes:
        with zipfile.ZipFile(BytesIO(data)) as z:
            return z.read("word/document.xml")

    monkeypatch.setattr(render, "WORD_FLUSH", 3)
    short = body(render.render_docx(report, charts))

    @contextmanager
    def plain(doc):
        yield lambda: None

    monkeypatch.setattr(render, "_short_body", plain)
    assert short == body(render.render_docx(report, charts))


def test_participants_without_a_value_are_named_in_words(make_project, tmp_path):
    """A transcript with no works_alone value is counted as "no value", never as "(none)"
    inside the report's own brackets ("works_alone ((none): 3")."""
    from qualkit.report import build_report, write_report

    project = make_project(transcripts={
        "p01.txt": "---\nworks_alone: \"yes\"\n---\nInterviewer: Hi.\n\nDana: I work alone.\n",
        "p02.txt": "Interviewer: Hi.\n\nKim: I work alone too.\n"},
        decisions={"ann": "accept"}, suggesters=("rules",))
    [path] = write_report(build_report(project, by="works_alone"), tmp_path / "r.md", "md")[:1]
    text = path.read_text(encoding="utf-8")
    assert "no value: 1" in text and "((none)" not in text and "= (none)" not in text
