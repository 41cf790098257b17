"""The `qualkit` commands end to end on real files, and their error messages."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualkit.cli import app

from .conftest import SMALL_CODEBOOK

runner = CliRunner()

INTERVIEW = """---
participant: P09
works_alone: "yes"
---
Interviewer: Tell me about a normal week.

Helen: Honestly, I work alone most of the time. There's no one to debrief with after a bad visit.

Interviewer: Do you enjoy it?

Helen: I love the clients. I never felt like a lone worker when the team was bigger.
"""


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "cb.yaml").write_text(SMALL_CODEBOOK)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p09_helen.txt").write_text(INTERVIEW)
    return tmp_path


def test_init_import_code_status_export(folder: Path):
    proj = str(folder / "proj")
    r = invoke("init", proj, "--codebook", str(folder / "cb.yaml"), "--coder", "ann")
    assert r.exit_code == 0 and "Small test codebook" in r.output
    r = invoke("import", str(folder / "in"), "--project", proj)
    assert r.exit_code == 0, r.output
    assert "1 added, 0 already in the project, 0 failed" in r.output
    r = invoke("import", str(folder / "in"), "-p", proj)
    assert "0 added, 1 already in the project" in r.output
    r = invoke("code", "-p", proj, "--suggesters", "rules")
    assert r.exit_code == 0, r.output
    assert "1 transcripts coded; 3 new suggestions" in r.output
    r = invoke("status", "-p", proj, "--list")
    assert "Transcripts: 1   Segments: 4" in r.output
    assert "Codings: 3 suggested, 0 accepted, 0 rejected" in r.output
    assert "p09_helen" in r.output
    out = folder / "table.csv"
    r = invoke("export", "table", "-o", str(out), "-p", proj, "--include", "suggested")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["codes"] for r in rows] == ["", "working_alone;no_debrief", "", "upbeat"]
    assert rows[1]["works_alone"] == "yes" and rows[1]["speaker"] == "Helen"
    assert rows[1]["coder"] == "rules"
    xlsx = folder / "table.xlsx"
    assert invoke("export", "table", "-o", str(xlsx), "-p", proj).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    header, *cells = [[c if c is not None else "" for c in row]
                      for row in sheet.iter_rows(values_only=True)]
    assert header == list(rows[0])
    # the default (accepted codings) has none yet: the same segments, none coded
    back = [dict(zip(header, row)) for row in cells]
    assert [(r["segment"], r["text"]) for r in back] == [(int(r["segment"]), r["text"])
                                                          for r in rows]
    assert [r["codes"] for r in back] == ["", "", "", ""]


def test_code_remembers_a_new_codebook(folder: Path):
    proj = folder / "proj"
    invoke("init", str(proj))
    invoke("import", str(folder / "in"), "-p", str(proj))
    r = invoke("code", "-p", str(proj))
    assert r.exit_code == 1 and "no codebook yet" in r.output
    r = invoke("code", "-p", str(proj), "--codebook", str(folder / "cb.yaml"))
    assert r.exit_code == 0
    assert (proj / "codebook.yaml").read_text().endswith("\n" + SMALL_CODEBOOK)
    assert invoke("code", "-p", str(proj), "-t", "p09_helen").exit_code == 0
    r = invoke("code", "-p", str(proj), "-t", "nobody")
    assert r.exit_code == 1 and "no transcript named 'nobody'" in r.output


def test_codebook_check(folder: Path):
    r = invoke("codebook", "check", str(folder / "cb.yaml"))
    assert r.exit_code == 0 and "OK" in r.output and "6 codes (2 themes)" in r.output
    assert "language en: keywords matched on English lemmas" in r.output
    bad = folder / "bad.yaml"
    bad.write_text("name: x\ncodes:\n  - id: a\n    name: A\n    colour: red\n  - id: a\n")
    r = invoke("codebook", "check", str(bad))
    assert r.exit_code == 1
    assert "bad.yaml:5: codes[0].colour: unknown field 'colour'" in r.output
    assert "bad.yaml:6: codes[1].id: duplicate id 'a'" in r.output
    assert "bad.yaml:6: codes[1].name: a code needs a name (non-empty text)" in r.output


def test_user_mistakes_exit_1_with_one_clear_line(folder: Path, monkeypatch):
    monkeypatch.chdir(folder)
    r = invoke("status")
    assert r.exit_code == 1 and "no qualkit project here" in r.output and "qualkit init" in r.output
    proj = str(folder / "proj")
    invoke("init", proj)
    (folder / "in" / "broken.txt").write_bytes(b"\x00\x01binary")
    r = invoke("import", str(folder / "in"), "-p", proj)
    assert r.exit_code == 1 and "1 added, 0 already in the project, 1 failed" in r.output
    assert "broken.txt: this is a binary" in r.output
    r = invoke("export", "table", "-o", str(folder / "x.pdf"), "-p", proj)
    assert r.exit_code == 1 and "must end in .csv or .xlsx" in r.output
    r = invoke("init", proj, "--codebook", str(folder / "nope.yaml"))
    assert r.exit_code == 1 and "nope.yaml: file not found" in r.output


GERMAN = """Interviewer: Wie sieht eine normale Woche aus?

Helga: Ich arbeite fast immer allein, ohne Kollegen in der Nähe. Niemand ist da, mit dem ich
nach einem schweren Besuch reden kann.

Interviewer: Und wie geht es Ihnen damit?

Helga: Meistens komme ich zurecht. Aber an manchen Tagen fahre ich abends nach Hause und
denke noch lange über die Gespräche nach, weil ich sie mit niemandem teilen konnte.
"""


def test_a_study_not_in_english_chooses_the_multilingual_model(folder: Path):
    from sqlalchemy import select

    from qualkit.embed import E5_ID, MODEL_ID
    from qualkit.project import open_project
    from qualkit.store import EmbeddingRow

    (folder / "in" / "p09_helen.txt").unlink()
    (folder / "in" / "p10_helga.txt").write_text(GERMAN, encoding="utf-8")
    proj = str(folder / "proj")
    r = invoke("init", proj, "--embeddings", "klingon")
    assert r.exit_code == 1 and "unknown embedding model 'klingon'" in r.output
    assert "english, multilingual" in r.output and not Path(proj).exists()
    # coded with the English model, the project is told its interviews do not look English
    english = str(folder / "english")
    invoke("init", english, "--codebook", str(folder / "cb.yaml"))
    invoke("import", str(folder / "in"), "-p", english)
    r = invoke("code", "-p", english, "--suggesters", "rules,semantic")
    assert r.exit_code == 0 and "do not look English" in r.output
    assert "qualkit embeddings multilingual" in r.output
    r = invoke("init", proj, "--codebook", str(folder / "cb.yaml"), "--embeddings",
               "multilingual")
    assert r.exit_code == 0 and "embeddings: multilingual" in r.output
    invoke("import", str(folder / "in"), "-p", proj)
    r = invoke("code", "-p", proj, "--suggesters", "rules,semantic")
    assert r.exit_code == 0 and "do not look English" not in r.output, r.output
    r = invoke("status", "-p", proj)
    assert "Embeddings: multilingual" in r.output
    project = open_project(proj)
    suggested = {c.code_id for c in project.store.codings(status="suggested")}
    with project.store.transaction() as session:
        models = set(session.scalars(select(EmbeddingRow.model)))
    project.close()
    assert models == {E5_ID}  # every vector from the project's model
    assert "working_alone" in suggested  # English codebook, German interview
    r = invoke("embeddings", "-p", proj)
    assert r.exit_code == 0 and "* multilingual" in r.output and "  English" in r.output
    assert "codebook's language" not in r.output  # chosen with init --embeddings
    r = invoke("embeddings", "-p", english)
    assert "* English" in r.output and "the model for the codebook's language, en;" in r.output
    r = invoke("embeddings", "english", "-p", proj, "--coder", "ann")
    assert r.exit_code == 0 and "* English" in r.output and "qualkit code" in r.output
    r = invoke("embeddings", "klingon", "-p", proj)
    assert r.exit_code == 1 and "unknown embedding model" in r.output
    project = open_project(proj)
    assert project.embedder().model_name == MODEL_ID
    project.close()


def test_choices_come_from_one_registry_each(folder: Path):
    """--include and --suggesters are checked (and described) from the library's one table of
    choices, before any work."""
    from qualkit.analysis import INCLUDE
    from qualkit.suggest.registry import SUGGESTERS

    proj = str(folder / "proj")
    invoke("init", proj, "--codebook", str(folder / "cb.yaml"))
    r = invoke("export", "qdpx", "-o", str(folder / "p.qdpx"), "-p", proj, "--include",
               "suggested")
    assert r.exit_code == 1 and "--include: unknown choice 'suggested' (use accepted or all)" \
        in r.output
    r = invoke("export", "table", "-o", str(folder / "t.csv"), "-p", proj, "--include", "x")
    assert "(use accepted, suggested or all)" in r.output
    r = invoke("code", "-p", proj, "--suggesters", "rules,magic")
    assert r.exit_code == 1 and "unknown suggester 'magic'" in r.output
    import typer.main

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]

    def option_help(command, name: str) -> str:
        return next(p.help for p in command.params if p.name == name)

    for command in (commands["code"], commands["demo"]):
        assert all(f"{n} ({s.description})" in option_help(command, "suggesters")
                   for n, s in SUGGESTERS.items())
    assert all(f"{n} ({i.description})" in option_help(commands["export"].commands["table"],
                                                       "include") for n, i in INCLUDE.items())
    assert "suggested (" not in option_help(commands["report"], "include")


def test_a_broken_database_is_one_line_from_the_store(folder: Path):
    proj = folder / "proj"
    proj.mkdir()
    (proj / "qualkit.db").write_bytes(b"not a database " * 100)  # damaged, say
    r = invoke("status", "-p", str(proj))
    assert r.exit_code == 1, r.output
    assert r.output == (f"error: sqlite:///{(proj / 'qualkit.db').resolve()}: cannot open the "
                        "project database (file is not a database) (try again; if it persists, "
                        "check the project database)\n")


def test_real_process_help_is_fast_and_errors_have_no_traceback(tmp_path: Path):
    exe = [sys.executable, "-m", "qualkit.cli"]
    r = subprocess.run(exe + ["--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "import" in r.stdout
    r = subprocess.run(exe + ["status", "-p", str(tmp_path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "no qualkit project here" in r.stderr
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "qualkit.cli", "--help"],
                       capture_output=True, text=True, timeout=60)
    heavy = {"torch", "spacy", "sqlalchemy", "bertopic", "sentence_transformers", "streamlit"}
    imported = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines()}
    assert not heavy & imported


def test_refi_qda_export_and_import_through_the_cli(folder: Path):
    proj = str(folder / "proj")
    invoke("init", proj, "--codebook", str(folder / "cb.yaml"))
    invoke("import", str(folder / "in"), "-p", proj)
    invoke("code", "-p", proj, "--suggesters", "rules")
    r = invoke("export", "qdpx", "-o", str(folder / "p.qdpx"), "-p", proj, "--include", "all")
    assert r.exit_code == 0 and (folder / "p.qdpx").stat().st_size > 0, r.output
    r = invoke("export", "qdc", "-o", str(folder / "cb.qdc"), "-p", proj)
    assert r.exit_code == 0, r.output
    other = str(folder / "other")
    invoke("init", other)
    r = invoke("import", str(folder / "p.qdpx"), "-p", other)
    assert r.exit_code == 0, r.output
    assert "1 added, 0 already in the project, 0 failed" in r.output
    assert "codebook 'Small test codebook' set" in r.output
    r = invoke("status", "-p", other)
    # exported suggestions, imported as codings
    assert "Codings: 0 suggested, 3 accepted" in r.output
    (folder / "bad.qdpx").write_bytes(b"not a zip")
    r = invoke("import", str(folder / "bad.qdpx"), "-p", other)
    assert r.exit_code == 1 and "bad.qdpx" in r.output


def test_agreement_command_on_a_two_coder_table(folder: Path):
    table = folder / "two.csv"
    table.write_text("document,segment,speaker,text,codes,coder\n"
                     "d,0,Dana,I work alone.,working_alone,ann\n"
                     "d,0,Dana,I work alone.,working_alone,bob\n"
                     "d,1,Dana,I love it.,upbeat,ann\n"
                     "d,1,Dana,I love it.,downbeat,bob\n"
                     "d,2,Dana,Nobody to debrief with.,no_debrief,ann\n"
                     "d,2,Dana,Nobody to debrief with.,,bob\n")
    out = folder / "agree.json"
    r = invoke("agreement", str(table), "--codebook", str(folder / "cb.yaml"), "--json",
               str(out))
    assert r.exit_code == 0, r.output
    lines = [" ".join(line.split()) for line in r.output.splitlines()]
    assert "Coders: 2 (ann, bob)" in lines and "Units coded by two or more coders: 3" in lines
    # the exclusive parent: one unit with a child each, never the same one
    assert "talk_type 1 0.0 0.000 0.000 0.000 -1.000 1 0.000" in lines
    # per code (applied, units, %agree, kappa min/mean/max, Fleiss, units, alpha): both
    # coders applied working_alone on unit 0 and neither elsewhere; upbeat only ann, once
    assert "working_alone 1 3 100.0 1.000 1.000 1.000 1.000 3 1.000" in lines
    assert "upbeat 1 3 66.7 0.000 0.000 0.000 -0.200 3 0.000" in lines
    assert "Disagreements: 2 of 3 units" in lines
    import json

    data = json.loads(out.read_text())
    assert data["coders"] == ["ann", "bob"]
    assert data["codes"]["upbeat"]["percent_agreement"] == pytest.approx(2 / 3)
    assert data["codes"]["working_alone"]["kappa_mean"] == 1.0
    r = invoke("agreement", str(folder / "missing.csv"))
    assert r.exit_code == 1 and "missing.csv: file not found" in r.output


def test_agreement_with_one_coder_says_what_is_missing(folder: Path):
    table = folder / "one.csv"
    table.write_text("document,segment,speaker,text,codes,coder\n"
                     "d,0,Dana,I work alone.,working_alone,ann\n")
    r = invoke("agreement", str(table))
    assert r.exit_code == 1
    assert "no segment was coded by two or more coders (coders: ann)" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
