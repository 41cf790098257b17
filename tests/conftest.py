"""Shared fixtures: real SQLite projects in tmp folders, small codebooks, the shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SMALL_CODEBOOK = """\
name: Small test codebook
version: "0.1"
description: For tests.
speakers: [participant]
codes:
  - id: isolation
    name: Isolation
    definition: Being without colleagues.
    color: "#1f77b4"
    children:
      - id: working_alone
        name: Working alone
        definition: Doing the job without colleagues nearby.
        keywords: [work alone, on my own, lone worker]
        patterns:
          - [{LOWER: nobody}, {LOWER: else}]
      - id: no_debrief
        name: No one to debrief with
        definition: Nobody to talk difficult work through with.
        keywords: [no one to debrief with, debrief, offload]
  - id: talk_type
    name: Talk type
    exclusive: true
    children:
      - id: upbeat
        name: Upbeat
        keywords: [love, enjoy]
      - id: downbeat
        name: Downbeat
        keywords: [hate, dread]
"""


@pytest.fixture
def small_codebook(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_CODEBOOK, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, small_codebook: Path):
    from qualkit.project import init_project

    proj = init_project(tmp_path / "proj", small_codebook, actor="tester")
    yield proj
    proj.close()


def shared_dir() -> Path | None:
    """../shared beside the repository (or $QUALKIT_SHARED); None where it is absent."""
    candidates = [os.environ.get("QUALKIT_SHARED"), REPO.parent / "shared"]
    for c in candidates:
        if c and Path(c, "data").is_dir():
            return Path(c)
    return None


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if path is None:
        if os.environ.get("QUALKIT_REQUIRE_SHARED") == "1":
            pytest.fail("../shared is required here (QUALKIT_REQUIRE_SHARED=1) but is missing")
        pytest.skip("../shared (AnnoMI data, REFI-QDA schemas) is not beside this clone")
    return path
