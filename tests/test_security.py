"""Security regressions: HTML escaping in the app, uploads, exports that would overwrite the
project, CSV formula injection, database passwords in messages."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from qualkit.cli import app as cli_app

from .conftest import APP, SMALL_CODEBOOK

runner = CliRunner()

MARKUP = '<iframe srcdoc="<script>alert(1)</script>">'
FORMULAS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]


# -- 1. no user text reaches HTML unescaped ----------------------------------------------------

def test_codebook_page_escapes_code_names(make_project, monkeypatch):
    book = SMALL_CODEBOOK.replace("name: Working alone", f"name: '{MARKUP}'")
    project = make_project(codebook=book)
    assert project.codebook().get("working_alone").name == MARKUP
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.run()
    at.switch_page("views/codebook.py").run()
    assert not at.exception, at.exception
    html = [m.value for m in at.markdown if m.proto.allow_html]
    assert html, "the code tree shows each code's colour chip as HTML"
    assert not any("<iframe" in body or "<script" in body for body in html)
    assert any("&lt;iframe" in body for body in html)


# -- 2. an upload's name never chooses where it is written --------------------------------------

@pytest.mark.parametrize("name", ["../../evil.yaml", "..\\..\\evil.yaml", "/etc/evil.yaml",
                                  "..", "", "a/../../../evil.txt"])
def test_save_upload_stays_in_its_folder(tmp_path, name):
    from qualkit.fileio import save_upload

    folder = tmp_path / "a" / "b" / "tmp"
    folder.mkdir(parents=True)
    for keep in (False, True):
        path = save_upload(folder, name, b"data", keep_name=keep)
        assert path.resolve().is_relative_to(folder.resolve())
        assert path.read_bytes() == b"data"
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["tmp"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]


def test_save_upload_keeps_a_plain_name_and_suffix(tmp_path):
    from qualkit.fileio import save_upload

    kept = save_upload(tmp_path, "../p01 dana.TXT", b"x", keep_name=True)
    assert kept.name == "p01 dana.txt" and kept.parent.parent == tmp_path
    fresh = save_upload(tmp_path, "../../evil.yaml", b"x")
    assert fresh.suffix == ".yaml" and "evil" not in fresh.name and fresh.parent == tmp_path
    assert save_upload(tmp_path, "x.ya;ml", b"x").suffix == ""


def test_codebook_upload_writes_nothing_outside_the_temp_folder(make_project, tmp_path,
                                                                monkeypatch):
    from types import SimpleNamespace

    from qualkit.ui import project_page

    project = make_project(codebook=None)
    nest = tmp_path / "t1" / "t2" / "t3"
    nest.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(nest))
    monkeypatch.setattr(project_page, "flash", lambda *a, **k: None)
    ctx = SimpleNamespace(project=project, coder="ann")
    project_page._set_codebook(ctx, SMALL_CODEBOOK.encode(), "../../evil.yaml")
    assert project.codebook().name == "Small test codebook"
    assert not list(tmp_path.rglob("evil.yaml"))
    assert sorted(p.name for p in (tmp_path / "t1" / "t2").iterdir()) == ["t3"]


# -- 3. exports never overwrite the project's own files --------------------------------------

EXPORTS = [["report", "--format", "md"], ["report", "--format", "html"],
           ["export", "table"], ["export", "extracts"], ["export", "framework"],
           ["export", "qdpx"], ["export", "qdc"]]


@pytest.fixture
def coded(make_project, monkeypatch):
    project = make_project(transcripts={"p01.txt": "Interviewer: How is it?\n\nDana: I work "
                                                    "alone and I love it.\n"},
                           suggesters=("rules",), decisions={"ann": "accept"})
    project.close()
    monkeypatch.chdir(project.root)
    return project.root


@pytest.mark.parametrize("command", EXPORTS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("target", ["qualkit.db", "codebook.yaml", "qualkit.db-wal",
                                    "sub/../qualkit.db-journal"])
def test_exports_refuse_the_projects_own_files(coded, command, target):
    from qualkit.project import open_project

    db_before = (coded / "qualkit.db").read_bytes()
    book_before = (coded / "codebook.yaml").read_bytes()
    result = runner.invoke(cli_app, [*command, "-o", target], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "project" in lines[0] and "choose another" in lines[0], lines[0]
    assert Path(target).name in lines[0]
    assert (coded / "qualkit.db").read_bytes() == db_before
    assert (coded / "codebook.yaml").read_bytes() == book_before
    project = open_project(coded)
    try:
        assert project.store.status_counts()["transcripts"] == 1
        assert project.codebook().name == "Small test codebook"
    finally:
        project.close()


def test_check_output_allows_ordinary_names_and_follows_links(coded):
    from qualkit.errors import QualkitError
    from qualkit.project import open_project

    project = open_project(coded)
    try:
        assert project.check_output("report.md") == Path("report.md")
        (coded / "link.csv").symlink_to(coded / "qualkit.db")
        with pytest.raises(QualkitError, match="qualkit.db"):
            project.check_output("link.csv")
    finally:
        project.close()


def test_check_output_protects_the_database_a_db_url_names(tmp_path):
    from qualkit.errors import QualkitError
    from qualkit.project import check_output

    url = f"sqlite:///{tmp_path / 'data.csv'}"
    for name in ("data.csv", "data.csv-wal", "data.csv-shm"):
        with pytest.raises(QualkitError, match="choose another name"):
            check_output(tmp_path / name, tmp_path / "elsewhere", url)
    assert check_output(tmp_path / "out.csv", tmp_path, url) == tmp_path / "out.csv"


# -- 4. CSV formula injection ------------------------------------------------------------------

def test_csv_guard_round_trips():
    from qualkit.csvsafe import csv_guard, csv_unguard

    for value in FORMULAS + ["\tx", "\rx", "'=x", "''+x", "'cause", "plain", "", "-"]:
        guarded = csv_guard(value)
        assert guarded[:1] not in ("=", "+", "-", "@", "\t", "\r"), value
        assert csv_unguard(guarded) == value
    assert csv_guard("'cause") == "'cause" and csv_unguard("'cause") == "'cause"
    assert csv_guard(3) == 3 and csv_guard(-2) == -2


@pytest.fixture
def formula_project(make_project, monkeypatch):
    text = "Interviewer: How is it?\n\n" + "\n\n".join(
        f"P{i}: {f} I work alone." for i, f in enumerate(FORMULAS)) + "\n"
    from qualkit.model import ImportedDocument
    from qualkit.readers import read_path

    folder = Path(tempfile.mkdtemp())
    (folder / "doc.txt").write_text(text, encoding="utf-8")
    [doc] = read_path(folder / "doc.txt")
    # Formula-like text in every kind of cell: turn text, speaker, attribute, coder, memo.
    doc.transcript.attributes["site"] = "=HYPERLINK(\"http://x\")"
    for seg in doc.transcript.segments:
        seg.text = seg.text.lstrip()
    project = make_project(transcripts=[ImportedDocument(doc.transcript, [])],
                           suggesters=("rules",),
                           decisions={"=HYPERLINK(\"http://x\")": lambda i, s: ("accept",
                                                                              "@SUM(1)")})
    monkeypatch.chdir(project.root)
    return project


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def _assert_guarded(path: Path) -> None:
    cells = _cells(path)
    bad = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not bad, bad
    joined = "\n".join(cells)
    for formula in FORMULAS:
        assert formula in joined, formula


@pytest.mark.parametrize("command", [["export", "table"], ["export", "extracts"],
                                     ["export", "framework", "--cells", "extracts"]],
                         ids=lambda c: " ".join(c))
def test_every_csv_export_guards_formulas(formula_project, command):
    result = runner.invoke(cli_app, [*command, "-o", "out.csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    _assert_guarded(formula_project.root / "out.csv")


def test_coded_table_reads_back_its_own_export_exactly(formula_project, tmp_path):
    from qualkit.codedtable import read_table_rows, write_coded_table
    from qualkit.tables import project_rows

    rows = project_rows(formula_project.store, ("accepted",))
    assert any(r.text.startswith("=") for r in rows) and any(r.coder.startswith("=")
                                                             for r in rows)
    path = write_coded_table(rows, tmp_path / "t.csv")
    _assert_guarded(path)
    back = read_table_rows(path)
    assert [(r.document, r.segment, r.speaker, r.text, r.codes, r.coder, r.memo,
             {k: str(v) for k, v in r.attributes.items()}) for r in back] == \
        [(r.document, r.segment, r.speaker, r.text, r.codes, r.coder, r.memo,
          {k: str(v) for k, v in r.attributes.items()}) for r in rows]


def test_app_coded_segments_download_guards_formulas(formula_project, monkeypatch, tmp_path):
    monkeypatch.setenv("QUALKIT_PROJECT", str(formula_project.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["coder"] = "ann"
    at.run()
    at.switch_page("views/project.py").run()
    [prepare] = [b for b in at.button if b.label == "Prepare coded-segments table"]
    prepare.click().run()
    assert not at.exception, at.exception
    path = tmp_path / "download.csv"
    path.write_bytes(at.session_state["download_csv"])
    _assert_guarded(path)


# -- 5. a database URL's password never reaches the output ------------------------------------

@pytest.mark.parametrize("command", [["status"], ["init", "newproj"], ["code"],
                                     ["export", "table", "-o", "x.csv"]])
@pytest.mark.parametrize("url", ["postgresql+psycopg://u:s3cret@127.0.0.1:1/x",
                                 "postgresql+psycopg://u:s3cret@127.0.0.1:notaport/x",
                                 "bogus://u:s3cret@h/x"])
def test_db_errors_never_show_the_password(tmp_path, monkeypatch, command, url):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli_app, [*command, "--db", url])
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output
    assert "***" in result.output


@pytest.mark.parametrize("url", ["postgresql+psycopg://u@127.0.0.1:1/x?password=s3cret",
                                 "postgresql+psycopg://u:s3c@ret1@127.0.0.1:1/x"])
def test_db_errors_never_show_a_query_or_at_sign_password(tmp_path, monkeypatch, url):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli_app, ["status", "--db", url])
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output and "ret1" not in result.output
