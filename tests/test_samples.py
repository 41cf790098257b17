"""The sample study as shipped: transcripts, attributes, and the README's main job."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from qualkit.cli import app
from qualkit.codebook import load_codebook
from qualkit.readers import find_transcripts, read_path

from .conftest import REPO

ATTRIBUTES = {"participant", "role", "organisation_type", "region", "works_alone",
              "years_in_role"}


def test_sample_transcripts_are_realistic_and_complete():
    paths = find_transcripts([REPO / "sample_transcripts"])
    assert len(paths) >= 10
    alone = set()
    for path in paths:
        [doc] = read_path(path)
        tr = doc.transcript
        words = len(path.read_text(encoding="utf-8").split())
        assert 1500 <= words <= 4000, (path.name, words)
        assert ATTRIBUTES <= set(tr.attributes), path.name
        roles = {s.role for s in tr.segments}
        assert roles == {"interviewer", "participant"}, path.name
        alone.add(tr.attributes["works_alone"])
        for seg in tr.segments:
            assert tr.text[seg.start:seg.end] == seg.text
    assert alone == {"yes", "no"}


def test_demo_codes_every_theme_and_exports_the_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["demo", "--project", "sample", "--no-serve", "--suggesters",
                            "rules"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    from qualkit.project import open_project

    project = open_project(tmp_path / "sample")
    suggestions = project.store.codings(status="suggested")
    n = len(find_transcripts([REPO / "sample_transcripts"]))
    assert project.store.transcript_names() == sorted(
        p.stem for p in (REPO / "sample_transcripts").iterdir())
    assert (f"{n} transcripts added (0 already there), {len(suggestions)} new suggestions"
            in r.output), r.output
    book = load_codebook(REPO / "codebooks" / "keyworker.yaml")
    suggested = {c.code_id for c in suggestions}
    project.close()
    for theme in book.codes:
        assert suggested & {k.id for k in theme.children}, f"no suggestion for {theme.id}"
    r = runner.invoke(app, ["export", "table", "-o", "table.csv", "-p", "sample", "--include",
                            "suggested"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(tmp_path / "table.csv", encoding="utf-8")))
    assert {"document", "segment", "speaker", "text", "codes", "coder", "memo",
            "works_alone", "region"} <= set(rows[0])
    assert sum(bool(r["codes"]) for r in rows) > 100
