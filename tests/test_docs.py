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
