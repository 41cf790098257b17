"""The load test (benchmarks/load.py) at a size CI runs: 8 coders with two tabs each (real
processes, spawned) racing each other through the same suggestions, while a batch `qualkit code`
run and a codebook rename that moves codings run in processes of their own, on a SQLite file and
on a PostgreSQL server (each coder their own login, the rename by a lead, the batch by the
owner). Every decision reported made has its audit event and is there once (unless undone), no
coder decides twice on a suggestion or codes a passage twice with one code, nothing points at
the renamed code's old id, and nothing fails with anything but a one-line QualkitError."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks import load

CODERS, DECISIONS, TABS = 8, 40, 2
TIMEOUT = 240.0  # seconds for the whole run: a hang fails the test instead of blocking CI


def test_coders_in_two_tabs_a_batch_run_and_a_rename_at_once(db_url, tmp_path: Path):
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    started = time.perf_counter()
    setup = load.prepare(tmp_path / "load", db_url, CODERS, DECISIONS)
    assert setup.backend == backend and len(setup.suggestions) >= DECISIONS
    if backend == "postgresql":  # each coder their own login, named after the test database
        assert len({c.name for c in setup.coders}) == CODERS
        assert all(c.name.startswith(db_url.rsplit("/", 1)[1]) for c in setup.coders)
    outcome = load.run(setup, DECISIONS, TABS, TIMEOUT)
    problems = load.check(outcome)
    load.print_figures(outcome, problems)
    print(f"  (set-up, run and checks: {time.perf_counter() - started:.1f} s)")

    figures = outcome.figures()
    assert figures["processes"] == CODERS * TABS + 2
    assert len(outcome.tabs) == CODERS * TABS, outcome.failures
    assert figures["attempted"] == CODERS * TABS * (DECISIONS + DECISIONS // load.HAND_EVERY)
    assert figures["made"] > 0 and figures["refused"] > 0  # the tabs did race each other
    assert outcome.rename.get("status", "").startswith("moved"), outcome.rename
    assert problems == [], "\n".join(load.brief(p) for p in problems)
