"""Retraining after every few decisions: when it is due, what it re-suggests, in the background."""

from __future__ import annotations

import time

from qualkit import retrain, review
from qualkit.pipeline import code_project, import_paths

TURNS = ["I work alone most days, nobody else is around.",
         "I love the job, honestly.",
         "There is no one to debrief with after a bad visit.",
         "On my own again this week, a lone worker out in the dales."]


def coded(project, tmp_path, n: int = 3):
    for i in range(n):
        src = tmp_path / f"t{i}.txt"
        src.write_text(f"Interviewer: Interview {i}.\n\n" + "".join(
            f"Interviewer: And then?\n\nDana: {t}\n\n" for t in TURNS))
    import_paths(project, [tmp_path / f"t{i}.txt" for i in range(n)], "setup")
    code_project(project, actor="setup", suggesters=("rules",))
    return project


def work_through(project, name: str, coder: str = "ann") -> int:
    """Decide every suggestion of one transcript: accept working_alone, reject the rest."""
    n = 0
    for s in review.pending(project.store, coder, name):
        if s.code_id == "working_alone":
            review.accept(project.store, s.id, coder)
        else:
            review.reject(project.store, s.id, coder)
        n += 1
    return n


def test_due_after_every_few_decisions_and_only_open_transcripts_are_resuggested(
        project, tmp_path):
    coded(project, tmp_path)
    assert not retrain.due(project.store)
    made = work_through(project, "t0")
    assert retrain.decisions(project.store) == made
    assert retrain.open_transcripts(project.store) == ["t1", "t2"]
    assert retrain.due(project.store, every=made) and not retrain.due(project.store, made + 1)
    before = {c.id for c in project.store.codings(transcript="t0")}
    report = retrain.retrain(project, "ann", suggesters=("rules",))
    assert report.transcripts == 2  # t0 was worked through: left as it is
    assert {c.id for c in project.store.codings(transcript="t0")} == before
    assert not retrain.due(project.store, every=1)
    assert "learned from" in retrain.describe(report) or report.examples == 0


def test_background_retraining_reports_what_it_did(project, tmp_path):
    coded(project, tmp_path)
    work_through(project, "t0")
    project.close()
    bg = retrain.Background(project.root)
    assert bg.start("ann") and not bg.start("ann")  # one at a time
    deadline = time.time() + 120
    while bg.running and time.time() < deadline:
        time.sleep(0.2)
    assert not bg.running and not bg.error, bg.error
    assert bg.last.startswith("Suggestions refreshed")
