"""The README documents every command, and CI runs exactly the README's test command."""

from __future__ import annotations

import re

import typer.main

from qualkit.cli import app

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def command_paths() -> list[str]:
    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        out.extend(f"{name} {s}" for s in sub) if sub else out.append(name)
    return out


def test_every_command_is_documented():
    missing = [c for c in command_paths() if f"qualkit {c}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```\n(.*?)\n```", README, re.S)
    test_cmd = next(b for b in blocks if "pytest" in b).strip()
    assert test_cmd in (REPO / ".ci" / "run").read_text()


def test_readme_quotes_measured_figures():
    assert "FIGURES_PENDING" not in README


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's script, run as written in a folder holding the sample transcripts."""
    import shutil

    code = re.search(r"```python\n(.*?)\n```", README, re.S).group(1)
    shutil.copytree(REPO / "sample_transcripts", tmp_path / "sample_transcripts")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "study" / "themes.html").stat().st_size > 1000
    assert "p01_dana" in (tmp_path / "study" / "coded.csv").read_text(encoding="utf-8-sig")
    assert (tmp_path / "study" / "study.qdpx").is_file()


def test_public_api_is_small_and_lazy():
    import subprocess
    import sys

    import qualkit

    for name in qualkit.__all__:
        assert getattr(qualkit, name) is not None
    code = "import sys, qualkit; print(sorted(m for m in sys.modules if m.startswith('qualkit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['qualkit']"


def test_readme_lists_every_input_format():
    from qualkit.readers import READERS

    table = README.split("## Transcripts", 1)[1].split("\n\n", 2)[1]
    missing = [ext for ext in READERS if f"`{ext}`" not in table]
    assert not missing, f"formats missing from the README's table: {missing}"
