"""Crash safety (issue #12), small: the harness of benchmarks/crash.py kills real processes with
SIGKILL (a `qualkit code` run, a coder deciding, a lead changing the codebook) twice each, on a
SQLite file and on PostgreSQL (``db_url``), and checks nothing saved was lost and the project's
integrity holds. The benchmark runs the same at full size (docs/reliability.md)."""

from __future__ import annotations

import sys

import pytest

from benchmarks.crash import Result, crash_code, crash_codebook, crash_review

from .conftest import SMALL_CODEBOOK

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _held(result: Result, kills: int) -> None:
    assert result.problems == [], result.problems
    assert result.lost == 0
    assert result.kills == kills
    assert result.integrity.startswith(("ok", "checks ok")), result.integrity
    print(f"\n{result.scenario} on {result.backend}: {result.kills} kills, "
          f"{result.operations} operations, lost {result.lost}, {result.integrity}, "
          f"{result.elapsed:.0f} s")


@pytest.fixture
def codebook(tmp_path):
    """A small codebook (two of the corpus's themes), so each run and change is quick."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_CODEBOOK, encoding="utf-8")
    return path


def test_killing_qualkit_code_loses_no_suggestion(tmp_path, db_url, codebook):
    result = crash_code(tmp_path / "proj", db_url, kills=2, transcripts=10, seed=3,
                        codebook=codebook)
    _held(result, 2)
    assert result.operations >= 10  # the run to completion coded every transcript


def test_killing_a_coder_loses_no_decision(tmp_path, db_url, codebook):
    result = crash_review(tmp_path / "proj", db_url, kills=2, transcripts=6, seed=3,
                          codebook=codebook)
    _held(result, 2)
    assert result.operations > 0


def test_killing_a_codebook_change_loses_no_coding(tmp_path, db_url, codebook):
    result = crash_codebook(tmp_path / "proj", db_url, kills=2, transcripts=6, seed=3,
                            codebook=codebook)
    _held(result, 2)
