"""Learning while the researcher works: after every few decisions the suggesters retrain on
them and re-suggest, in the background, without anyone asking.

Only transcripts nobody has worked right through are re-suggested: a reviewed transcript keeps
its decisions and is not refilled with new suggestions (which would also stop its unmarked
turns counting as "none of these codes" in training).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QualkitError
from .pipeline import CodeReport, Progress, code_project
from .project import Project, open_project
from .store import Store
from .suggest.training import reviewed

RETRAIN_EVERY = 10  # decisions between automatic retrainings
TRAINED_ON = "trained_on_decisions"  # meta key: decisions the current suggestions learned from


def decisions(store: Store) -> int:
    """Decisions people have made in the project (accepts, rejects, hand codes, imports)."""
    return store.decision_count()


def due(store: Store, every: int = RETRAIN_EVERY) -> bool:
    """Whether enough new decisions have come in since the suggestions were last made."""
    return decisions(store) - int(store.get_meta(TRAINED_ON, "0") or 0) >= every


def open_transcripts(store: Store) -> list[str]:
    """Transcripts nobody has worked right through (see ``suggest.training.reviewed``)."""
    # only a transcript with decisions can have been worked through: the others are open
    # without a query each
    done = {name for name in store.decided_transcripts()
            if reviewed(store.codings(transcript=name))}
    return [name for name in store.transcript_names() if name not in done]


def retrain(project: Project, actor: str, progress: Progress | None = None,
            suggesters: Iterable[str] | None = None) -> CodeReport:
    """Retrain on every decision so far and re-suggest the transcripts still open."""
    count = decisions(project.store)
    names = open_transcripts(project.store)
    report = code_project(project, names, actor, progress, suggesters) if names else \
        CodeReport()
    project.store.set_meta(TRAINED_ON, str(count), actor)
    return report


def describe(report: CodeReport) -> str:
    """One line for the researcher: what the suggesters learned from and what changed."""
    learned = f"learned from {report.examples} decisions" if report.examples else \
        "no decisions to learn from yet"
    return (f"Suggestions refreshed ({learned}): {report.suggestions} new across "
            f"{report.transcripts} open transcripts." + (f" {report.advice}" if report.advice
                                                         else ""))


@dataclass
class Background:
    """One retraining at a time for one project, in a thread of the app's server process.

    The thread opens its own connection; every write it makes is its own transaction, so the
    researcher keeps deciding while it runs."""

    root: Path
    db_url: str | None = None  # a server's database (with the login), else the folder's file
    running: bool = False
    last: str = ""  # what the latest retraining did (``describe``), for the pages to show
    learned: list[str] = field(default_factory=list)  # per code: what its suggestions rest on
    error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, actor: str, done: Callable[[], None] | None = None) -> bool:
        """Start a retraining unless one is running; returns whether it started."""
        with self._lock:
            if self.running:
                return False
            self.running = True
        threading.Thread(target=self._run, args=(actor, done), daemon=True).start()
        return True

    def _run(self, actor: str, done: Callable[[], None] | None) -> None:
        project = None
        try:
            project = open_project(self.root, self.db_url)
            report = retrain(project, actor)
            self.last, self.learned, self.error = describe(report), report.learned, ""
        except QualkitError as exc:
            self.error = f"Retraining failed: {exc}"
        finally:
            if project is not None:
                project.close()
            self.running = False
            if done:
                done()
