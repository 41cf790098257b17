"""The Streamlit app, headless (AppTest), on a real project."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from qualkit.pipeline import code_project, import_paths

from .conftest import REPO

TEXT = ("Interviewer: How is it?\n\nDana: I work alone, <script>alert(1)</script> and nobody "
        "else is there.\n")


@pytest.fixture
def coded_project(project, tmp_path, monkeypatch):
    src = tmp_path / "p01_dana.txt"
    src.write_text(TEXT)
    import_paths(project, [src], "tester")
    code_project(project, actor="tester")
    monkeypatch.setenv("QUALKIT_PROJECT", str(project.root))
    return project


def test_app_lists_transcripts_and_coded_segments(coded_project):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.selectbox[0].options == ["p01_dana (2 segments)"]
    html = " ".join(m.value for m in at.markdown)
    assert "Working alone" in html and "suggested" in html
    assert "&lt;script&gt;" in html and "<script>" not in html  # transcript text is escaped
    at.radio[0].set_value("accepted").run()
    assert not at.exception
    assert at.metric[0].value == "0"


def test_app_without_project_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALKIT_PROJECT", str(tmp_path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "no qualkit project here" in at.error[0].value
