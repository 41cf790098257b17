"""Crash test (issue #12): real processes killed with SIGKILL at random moments; afterwards
nothing saved is lost and the project's integrity holds.

    python -m benchmarks.crash [--kills-code 10] [--kills-review 18] [--kills-codebook 30]
        [--transcripts 200] [--review-transcripts 40] [--codebook-transcripts 20]
        [--backend all|sqlite|pg] [--pg URL] [--seed 7] [--keep]

Three scenarios, each on a SQLite project (a file in a temporary folder) and, when
$QUALKIT_TEST_PG is set or ``--pg URL`` is given (a role that may create databases), on
PostgreSQL: a fresh database per scenario, dropped at the end.

- ``code``: `qualkit code --suggesters rules` (a real subprocess) on ``--transcripts`` generated
  transcripts (``benchmarks.corpus``, bundled keyworker codebook) is killed ``--kills-code``
  times, each time once a random number of transcripts were coded (plus a random fraction of
  one), or during start-up; then run to completion, and once more. Checks: no duplicate
  (transcript, segment, code) suggestion row; every transcript holds exactly the suggestions the
  rules suggester makes for it; every suggestion row seen after a kill is still there (lost
  otherwise); the last run adds, removes and changes nothing.
- ``review``: a child process decides in a loop (``review.accept``/``reject``/``code_passage``/
  ``undo``), appending to a side file (fsynced) each decision's coding id AFTER the call
  returned (and an ``undo-intent`` line before each undo, the undone id after); killed
  ``--kills-review`` times at random moments. Checks: every id in the side file exists in the
  database with its own audit event (accept/reject/code, entity_id the id, not undone) unless
  the side file records its undo (or an undo in flight when it was killed undid it); every
  coding of the coder has exactly one live creating event; no coder has two decisions on one
  suggestion or two identical hand codings.
- ``codebook``: a child process applies codebook changes in a loop (``edit.apply_change`` with
  renames to a new id that move codings, recolours, added codes), recording each new version
  and its note after the call returned; killed ``--kills-codebook`` times. After each kill the
  project is reopened: its codebook (``Project.codebook()``) holds every code id any coding
  uses; codebook.yaml parses and is the view of the database's newest version; the number of
  codings never changed; every recorded version is in the database with its note; opening
  the project did not take crash leftovers for a hand edit.

Integrity: ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` on SQLite; on
PostgreSQL (which has no such check) the logical checks above ("checks ok").

Prints one table: scenario, backend, kills, operations completed, lost (must be 0), integrity,
elapsed. Exits 1 if anything was lost or any check failed. tests/test_crash.py runs the same
harness small on both backends.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.pgscratch import scratch_database

REPO = Path(__file__).resolve().parent.parent
PG_ENV = "QUALKIT_TEST_PG"
CODEBOOK = "keyworker"
OWNER = "owner"  # who acts on a SQLite project (on a server: the login)
CODER = "ann"
CHILD_TIMEOUT = 300.0  # seconds any one child may run before it counts as hung


@dataclass
class Result:
    scenario: str
    backend: str
    kills: int = 0
    operations: int = 0
    lost: int = 0
    integrity: str = "not checked"
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(text)


# -- databases ------------------------------------------------------------------------------
def backend_of(db_url: str | None) -> str:
    return "postgresql" if db_url and db_url.startswith("postgresql") else "sqlite"


def _engine(db_url: str | None, root: Path) -> Any:
    """A plain engine on the project's database, for the checker's own queries."""
    from qualkit.project import sqlite_url
    from qualkit.store import make_engine

    return make_engine(db_url or sqlite_url(root))


def _url_args(db_url: str | None) -> list[str]:
    return ["--db", db_url] if db_url else []


def _settle(engine: Any, timeout: float = 30.0) -> None:
    """Wait until the killed child's PostgreSQL sessions are gone. A child killed just after
    sending COMMIT leaves a server process that may still commit it a moment later; checked
    before that, the commit would look as if the checker's own opening had made it. (SQLite
    has no server: a killed writer's transaction is settled when the process is gone.)"""
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    end = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < end:
            others = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalar()
            if not others:
                return
            time.sleep(0.05)


def _integrity(engine: Any) -> str:
    """SQLite's own checks; PostgreSQL has none to run (the logical checks stand)."""
    if engine.dialect.name != "sqlite":
        return "checks ok"
    with engine.connect() as conn:
        found = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
        fks = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if found != ["ok"]:
        return "integrity_check: " + "; ".join(map(str, found))[:200]
    if fks:
        return f"foreign_key_check: {len(fks)} rows"
    return "ok"


# -- projects -------------------------------------------------------------------------------
def make_project(root: Path, db_url: str | None, transcripts: int, seed: int,
                 code: bool = False, codebook: str | Path = CODEBOOK) -> None:
    """A project with ``transcripts`` generated transcripts and ``codebook`` (default: the
    bundled keyworker codebook, whose themes the corpus plants); with ``code``, rule
    suggestions too (in this process)."""
    from benchmarks.corpus import generate
    from qualkit.model import ImportedDocument
    from qualkit.pipeline import code_project
    from qualkit.project import init_project

    project = init_project(root, codebook, actor=None, db_url=db_url)
    try:
        actor = project.actor(None if project.store.login else OWNER)
        project.store.add_documents([ImportedDocument(g.transcript)
                                     for g in generate(transcripts, seed=seed)], actor)
        if code:
            code_project(project, actor=actor, suggesters="rules")
    finally:
        project.close()


def _env() -> dict[str, str]:
    env = dict(os.environ, QUALKIT_CODER=OWNER)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=REPO, env=_env(), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL ``proc`` if it still runs; True if it was killed (not already finished)."""
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.returncode == -signal.SIGKILL


def _wait_until(proc: subprocess.Popen[bytes], ready: Callable[[], bool],
                timeout: float = CHILD_TIMEOUT, every: float = 0.02) -> bool:
    """Poll until ``ready()`` or the process ends; False if it ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(every)
    raise TimeoutError(f"child {proc.pid} neither got ready nor ended in {timeout:.0f} s")


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


# -- scenario a: `qualkit code` ---------------------------------------------------------------
def _suggest_events(engine: Any, after: int) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events WHERE action = 'suggest' "
                                     "AND id > :a"), {"a": after}).scalar() or 0)


def _coded(engine: Any, after: int, target: int) -> Callable[[], bool]:
    return lambda: _suggest_events(engine, after) >= target


def _max_event(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar() or 0)


def _suggestion_rows(engine: Any) -> dict[int, tuple[Any, ...]]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(text(
            "SELECT c.id, t.name, c.segment_idx, c.code_id, c.start_char, c.end_char, c.score, "
            "c.version FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
            "WHERE c.status = 'suggested'"))}


def expected_suggestions(root: Path, db_url: str | None) -> dict[str, set[tuple[int, str]]]:
    """What the rules suggester makes for each transcript: (segment, code) keys, the way
    ``pipeline.code_project`` computes them."""
    from qualkit.embed import Embedder
    from qualkit.project import open_project
    from qualkit.suggest.base import views_of
    from qualkit.suggest.combine import CombinedSuggester
    from qualkit.suggest.registry import chosen

    project = open_project(root, db_url)
    try:
        suggester = CombinedSuggester(Embedder(project.store), chosen("rules")).fit(
            project.codebook(), [])
        out: dict[str, set[tuple[int, str]]] = {}
        for transcript in project.store.iter_transcripts():
            views = views_of(transcript)
            out[transcript.name] = {(s.segment_index, s.code_id) for s in
                                    suggester.decide(suggester.score(views), views)
                                    if s.segment_index is not None}
        return out
    finally:
        project.close()


def code_once_more(root: Path, db_url: str | None) -> int:
    """`qualkit code --suggesters rules` once more, in this process: how many it added."""
    from qualkit.pipeline import code_project
    from qualkit.project import open_project

    project = open_project(root, db_url)
    try:
        actor = project.actor(None if project.store.login else OWNER)
        return code_project(project, actor=actor, suggesters="rules").suggestions
    finally:
        project.close()


def crash_code(root: Path, db_url: str | None = None, kills: int = 10, transcripts: int = 200,
               seed: int = 7,
               codebook: str | Path = CODEBOOK) -> Result:
    """Scenario a: kill `qualkit code` ``kills`` times, then let it finish; see the module
    docstring for the checks."""
    result = Result("qualkit code", backend_of(db_url))
    started = time.monotonic()
    rng = random.Random(seed)
    make_project(root, db_url, transcripts, seed, codebook=codebook)
    engine = _engine(db_url, root)
    log = root.parent / f"{root.name}-code.log"
    cmd = ["-m", "qualkit.cli", "code", "-p", str(root), "--suggesters", "rules",
           *_url_args(db_url)]
    seen: set[int] = set()  # suggestion rows present after some kill
    try:
        attempts = 0
        while result.kills < kills and attempts < kills * 3:
            attempts += 1
            base = _max_event(engine)
            target = rng.randrange(-1, transcripts)  # -1: during start-up
            proc = _start(cmd, log)
            if target < 0:
                time.sleep(rng.uniform(0.0, 3.0))
            elif not _wait_until(proc, _coded(engine, base, target)):
                pass  # finished first: no kill this time
            else:
                time.sleep(rng.uniform(0.0, 0.08))  # somewhere inside the next transcript
            killed = _kill(proc)
            result.kills += killed
            result.operations += _suggest_events(engine, base)
            if not killed and proc.returncode != 0:
                result.problem(f"`qualkit code` failed (exit {proc.returncode}): {_tail(log)}")
            seen |= set(_suggestion_rows(engine))
        base = _max_event(engine)
        proc = _start(cmd, log)
        proc.wait(timeout=CHILD_TIMEOUT)
        result.operations += _suggest_events(engine, base)
        if proc.returncode != 0:
            result.problem(f"`qualkit code` to completion failed (exit {proc.returncode}): "
                           f"{_tail(log)}")
        before = _suggestion_rows(engine)
        added = code_once_more(root, db_url)
        after = _suggestion_rows(engine)
        if added or after != before:
            result.problem(f"a final run added {added}; rows: {len(set(after) - set(before))} "
                           f"new, {len(set(before) - set(after))} gone, "
                           f"{sum(after[i] != before[i] for i in set(after) & set(before))} "
                           "changed")
        rows = _suggestion_rows(engine)
        result.lost = len(seen - set(rows))
        if result.lost:
            result.problem(f"{result.lost} suggestion rows present after a kill are gone")
        keys = Counter((r[0], r[1], r[2]) for r in rows.values())
        dupes = [k for k, n in keys.items() if n > 1]
        if dupes:
            result.problem(f"{len(dupes)} duplicate (transcript, segment, code) suggestions, "
                           f"e.g. {dupes[0]}")
        expected = expected_suggestions(root, db_url)
        have: dict[str, set[tuple[int, str]]] = {}
        for name, segment, code in keys:
            have.setdefault(name, set()).add((segment, code))
        missing = sum(len(want - have.get(name, set())) for name, want in expected.items())
        extra = sum(len(got - expected.get(name, set())) for name, got in have.items())
        if missing or extra:
            result.lost += missing
            result.problem(f"suggestions differ from the rules suggester's: {missing} missing, "
                           f"{extra} extra")
        if len(expected) != transcripts:
            result.problem(f"{len(expected)} transcripts in the project, not {transcripts}")
        result.notes.append(f"{len(rows)} suggestions on {len(expected)} transcripts")
        result.integrity = _integrity(engine)
    finally:
        engine.dispose()
    result.elapsed = time.monotonic() - started
    return result


# -- scenario b: review decisions --------------------------------------------------------------
def _record(side: Any, *parts: Any) -> None:
    side.write(" ".join(str(p) for p in parts) + "\n")
    side.flush()
    os.fsync(side.fileno())


def review_child(url: str, side_path: str, seed: int) -> None:
    """Decide in a loop until killed; each decision's coding id goes to the side file after
    the call returned."""
    from qualkit import review
    from qualkit.errors import QualkitError
    from qualkit.store import Store

    rng = random.Random(seed)
    store = Store(url)
    coder = store.login or CODER
    codings = store.codings()
    decided = {c.suggestion_id for c in codings if c.coder == coder and c.suggestion_id}
    todo = [c.id for c in codings
            if c.status == "suggested" and c.id is not None and c.id not in decided]
    rng.shuffle(todo)
    turns = []
    for name in store.transcript_names()[:10]:
        tr = store.load_transcript(name)
        turns += [(name, g.start, g.end) for g in tr.segments if g.role == "participant"]
    codes = sorted({c.code_id for c in codings})
    with open(side_path, "a", encoding="utf-8") as side:
        _record(side, "start", os.getpid())
        while True:
            roll = rng.random()
            try:
                if roll < 0.7 and todo:
                    sid = todo.pop()
                    if roll < 0.4:
                        made = review.accept(store, sid, coder)
                        _record(side, "accept", made.id)
                    else:
                        made = review.reject(store, sid, coder)
                        _record(side, "reject", made.id)
                elif roll < 0.88:
                    name, start, end = rng.choice(turns)
                    a = rng.randrange(start, end - 1)
                    b = rng.randrange(a + 1, min(end, a + 80) + 1)
                    made = review.code_passage(store, name, a, b, rng.choice(codes), coder)
                    _record(side, "code", made.id)
                else:
                    before = _last_undo(store, coder)
                    _record(side, "undo-intent")
                    review.undo(store, coder)
                    after = _last_undo(store, coder)  # what it undid, from its audit event
                    _record(side, "undo", after[1] if after and after != before else "-")
            except QualkitError as exc:  # a refusal (a duplicate passage, say): go on
                _record(side, "refused", type(exc).__name__)


def _last_undo(store: Any, coder: str) -> tuple[int, str] | None:
    """The coder's newest undo event: its id and the id of the coding it took back (read from
    the audit log, not from the words ``review.undo`` answers with)."""
    from sqlalchemy import text

    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT id, entity_id FROM events WHERE actor = :c AND "
                                "action = 'undo' ORDER BY id DESC LIMIT 1"), {"c": coder}).first()
    return None if row is None else (int(row[0]), str(row[1]))


def check_review(engine: Any, side_path: Path, coder: str, result: Result) -> None:
    """Every id the side file says was decided is there with its audit event, unless undone."""
    from sqlalchemy import text

    state: dict[int, tuple[str, int]] = {}  # coding id -> (action or "undone", line number)
    intents: list[int] = []  # lines of an undo-intent with no undo after it (yet)
    inflight: list[int] = []  # lines of an undo-intent whose child was killed before the undo
    for n, line in enumerate(side_path.read_text(encoding="utf-8").splitlines()):
        kind, _, rest = line.partition(" ")
        if kind in ("accept", "reject", "code"):
            state[int(rest)] = (kind, n)
            result.operations += 1
        elif kind == "undo-intent":
            intents.append(n)
        elif kind == "undo":
            intents.pop()
            result.operations += 1
            if rest != "-":
                state[int(rest)] = ("undone", n)
        elif kind == "refused":
            result.operations += 1
        elif kind == "start":  # a new child: an intent left by the killed one was in flight
            inflight += intents
            intents = []
    with engine.connect() as conn:
        rows = {r[0]: r for r in conn.execute(text(
            "SELECT id, coder, status, suggestion_id, source FROM codings WHERE coder = :c"),
            {"c": coder})}
        events = conn.execute(text(
            "SELECT id, action, entity_id, detail FROM events WHERE actor = :c "
            "AND action IN ('accept', 'reject', 'code', 'undo') ORDER BY id"),
            {"c": coder}).all()
        twice = conn.execute(text(
            "SELECT suggestion_id, coder, count(*) FROM codings WHERE suggestion_id IS NOT NULL "
            "GROUP BY suggestion_id, coder HAVING count(*) > 1")).all()
        hand_twice = conn.execute(text(
            "SELECT transcript_id, coder, code_id, start_char, end_char, count(*) FROM codings "
            "WHERE suggestion_id IS NULL AND source = 'manual' GROUP BY transcript_id, coder, "
            "code_id, start_char, end_char HAVING count(*) > 1")).all()
    undone_events = {int(_json(d).get("undoes", 0)) for _, a, _, d in events if a == "undo"}
    live: dict[int, list[str]] = {}  # coding id -> actions of its creating events not undone
    undone_ids: set[int] = set()
    for eid, action, entity_id, _ in events:
        if action == "undo":
            continue
        if eid in undone_events:
            undone_ids.add(int(entity_id))
        else:
            live.setdefault(int(entity_id), []).append(action)
    inflight += intents  # the last child too was killed
    excused = 0
    for cid, (kind, at) in state.items():
        if kind == "undone":
            continue
        if cid in rows and live.get(cid) == [kind]:
            continue
        if cid not in rows and cid in undone_ids and excused < len(inflight) \
                and any(n > at for n in inflight):
            excused += 1  # undone by an undo in flight when its child was killed
            continue
        result.lost += 1
        result.problem(f"coding {cid} ({kind}) recorded as made is "
                       + ("missing" if cid not in rows else f"there with events {live.get(cid)}"))
    for cid in rows:
        if len(live.get(cid, [])) != 1:
            result.problem(f"coding {cid} has {len(live.get(cid, []))} live creating events")
    for cid, actions in live.items():
        if cid not in rows:
            result.problem(f"a live {actions} event for coding {cid}, which is not there")
    if twice:
        result.problem(f"{len(twice)} suggestions with two decisions by one coder: {twice[0]}")
    if hand_twice:
        result.problem(f"{len(hand_twice)} duplicate hand codings: {hand_twice[0]}")
    result.notes.append(f"{len(rows)} codings by {coder}, {len(state)} ids recorded, "
                        f"{sum(k == 'undone' for k, _ in state.values())} undone, {excused} "
                        f"undone by one of {len(inflight)} undos in flight at a kill")


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def crash_review(root: Path, db_url: str | None = None, kills: int = 18, transcripts: int = 40,
                 seed: int = 7,
                 codebook: str | Path = CODEBOOK) -> Result:
    """Scenario b: kill a deciding child ``kills`` times; see the module docstring."""
    from qualkit.project import sqlite_url
    from qualkit.store import Store

    result = Result("review decisions", backend_of(db_url))
    started = time.monotonic()
    rng = random.Random(seed)
    make_project(root, db_url, transcripts, seed, code=True, codebook=codebook)
    url = db_url or sqlite_url(root)
    store = Store(url)
    coder = store.login or CODER
    store.close()
    side = root.parent / f"{root.name}-review.side"
    log = root.parent / f"{root.name}-review.log"
    engine = _engine(db_url, root)
    try:
        attempt = 0
        while result.kills < kills and attempt < kills * 3:
            attempt += 1
            starts = _count_lines(side, "start ")
            proc = _start(["-m", "benchmarks.crash", "--child", "review", "--url", url,
                           "--side", str(side), "--seed", str(seed * 1000 + attempt)], log)
            if rng.random() < 0.1:  # now and then during start-up
                time.sleep(rng.uniform(0.0, 1.0))
            elif _wait_until(proc, _started(side, starts)):
                time.sleep(rng.uniform(0.0, 1.5))
            if _kill(proc):
                result.kills += 1
            else:
                result.problem(f"the review child ended by itself (exit {proc.returncode}): "
                               f"{_tail(log)}")
                break
        if side.exists():
            check_review(engine, side, coder, result)
        else:
            result.problem("no decisions were recorded")
        result.integrity = _integrity(engine)
    finally:
        engine.dispose()
    result.elapsed = time.monotonic() - started
    return result


def _started(side: Path, before: int) -> Callable[[], bool]:
    """True once a child wrote its start line to ``side`` (there were ``before``)."""
    return lambda: _count_lines(side, "start ") > before


def _changes_done(side: Path, n: int) -> Callable[[], bool]:
    return lambda: _count_lines(side, "version ") >= n


def _count_lines(path: Path, prefix: str) -> int:
    try:
        return sum(line.startswith(prefix) for line in
                   path.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return 0


# -- scenario c: codebook edits ---------------------------------------------------------------
def codebook_child(root: str, url: str | None, side_path: str, seed: int) -> None:
    """Apply codebook changes in a loop until killed; each new version and its note go to the
    side file after ``apply_change`` returned."""
    from qualkit.codebook import edit
    from qualkit.errors import QualkitError
    from qualkit.model import Code
    from qualkit.project import open_project

    rng = random.Random(seed)
    project = open_project(root, url)
    actor = project.actor(None if project.store.login else OWNER)
    project.codebook()  # spaCy loaded before the first kill may land
    with open(side_path, "a", encoding="utf-8") as side:
        _record(side, "start", os.getpid())
        while True:
            book = project.codebook(check_patterns=False)
            used = set(project.store.code_counts())
            leaves = [c.id for c in book.leaves()]
            roll = rng.random()
            tag = f"{seed}x{rng.randrange(10 ** 6)}"
            if roll < 0.45:
                old = rng.choice(sorted(used & set(leaves)) or leaves)
                stem = re.sub(r"_r[0-9x]+$", "", old)
                change = edit.rename_code(book, old, new_id=f"{stem}_r{tag}")
            elif roll < 0.8:
                change = edit.recolour(book, rng.choice(leaves), f"#{rng.randrange(16 ** 6):06x}")
            else:
                parent = rng.choice([c.id for c in book.codes])
                change = edit.add_code(book, parent, Code(id=f"added_{tag}",
                                                          name=f"Added {tag}"))
            try:
                edit.apply_change(project, change, actor, base=book)
            except QualkitError as exc:
                _record(side, "refused", json.dumps(str(exc)))
                continue
            head = project.store.codebook_head()
            version = head[0] if head else 0
            _record(side, "version", json.dumps({"version": version,
                                                 "note": change.description[:1000]}))


def check_codebook(root: Path, db_url: str | None, codings: int, result: Result) -> str:
    """Reopen the project after a kill and check the codebook against the codings and
    codebook.yaml; returns the integrity verdict."""
    from qualkit.codebook import dump_codebook, parse_codebook
    from qualkit.project import CODEBOOK_FILE, _body, codebook_view, open_project

    engine = _engine(db_url, root)
    try:
        _settle(engine)
        versions_before = _versions(engine)
        project = open_project(root, db_url)
        try:
            book = project.codebook(check_patterns=False)
            store = project.store
            counts = store.code_counts()
            unknown = sorted(set(counts) - set(book.ids()))
            if unknown:
                result.problem(f"codings use codes not in the codebook: {unknown[:5]}")
            now = sum(sum(v.values()) for v in counts.values())
            if now != codings:
                result.lost += max(0, codings - now)
                result.problem(f"{now} codings, not {codings}")
            head = store.codebook_head()
            on_disk = (root / CODEBOOK_FILE).read_text(encoding="utf-8")
            if head is None or on_disk != codebook_view(*head):
                result.problem("codebook.yaml is not the view of the newest version "
                               f"({head[0] if head else None})")
            elif dump_codebook(parse_codebook(_body(on_disk), check_patterns=False)) != \
                    dump_codebook(parse_codebook(head[1], check_patterns=False)):
                result.problem("codebook.yaml parses to another codebook than the database's")
        finally:
            project.close()
        versions_after = _versions(engine)
        taken = {v: n for v, n in versions_after.items() if v not in versions_before}
        if taken:
            result.problem(f"opening the project made codebook versions {taken}")
        return _integrity(engine)
    finally:
        engine.dispose()


def _versions(engine: Any) -> dict[int, str]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {int(v): str(n) for v, n in conn.execute(text(
            "SELECT version, note FROM codebook_versions"))}


def crash_codebook(root: Path, db_url: str | None = None, kills: int = 30,
                   transcripts: int = 20, seed: int = 7,
                   codebook: str | Path = CODEBOOK) -> Result:
    """Scenario c: kill a child applying codebook changes ``kills`` times, checking the
    project after each kill; see the module docstring."""
    result = Result("codebook edits", backend_of(db_url))
    started = time.monotonic()
    rng = random.Random(seed)
    make_project(root, db_url, transcripts, seed, code=True, codebook=codebook)
    engine = _engine(db_url, root)
    try:
        from sqlalchemy import text

        with engine.connect() as conn:
            codings = int(conn.execute(text("SELECT count(*) FROM codings")).scalar() or 0)
    finally:
        engine.dispose()
    side = root.parent / f"{root.name}-codebook.side"
    log = root.parent / f"{root.name}-codebook.log"
    verdicts: Counter[str] = Counter()
    attempt = 0
    while result.kills < kills and attempt < kills * 3:
        attempt += 1
        starts = _count_lines(side, "start ")
        proc = _start(["-m", "benchmarks.crash", "--child", "codebook", "--root", str(root),
                       *(["--url", db_url] if db_url else []), "--side", str(side),
                       "--seed", str(seed * 1000 + attempt)], log)
        done = _count_lines(side, "version ")
        wanted = rng.randrange(0, 3)
        if rng.random() < 0.1:  # now and then during start-up
            time.sleep(rng.uniform(0.0, 2.0))
        elif _wait_until(proc, _started(side, starts)) and _wait_until(
                proc, _changes_done(side, done + wanted)):
            time.sleep(rng.uniform(0.0, 1.5))  # a change takes about a second
        if _kill(proc):
            result.kills += 1
        else:
            result.problem(f"the codebook child ended by itself (exit {proc.returncode}): "
                           f"{_tail(log)}")
            break
        verdicts[check_codebook(root, db_url, codings, result)] += 1
    engine = _engine(db_url, root)
    try:
        stored = _versions(engine)
    finally:
        engine.dispose()
    refused = []
    for line in side.read_text(encoding="utf-8").splitlines() if side.exists() else []:
        kind, _, rest = line.partition(" ")
        if kind == "version":
            result.operations += 1
            made = json.loads(rest)
            if stored.get(made["version"]) != made["note"]:
                result.lost += 1
                result.problem(f"codebook version {made['version']} ({made['note']!r}) "
                               f"recorded as made is {stored.get(made['version'])!r}")
        elif kind == "refused":
            refused.append(json.loads(rest))
    if refused:
        result.problem(f"{len(refused)} changes refused, e.g. {refused[0]}")
    leftovers = list(root.glob(".codebook.yaml.*.tmp"))
    if leftovers:
        result.notes.append(f"{len(leftovers)} temporary .codebook.yaml.*.tmp files left "
                            "behind by killed writes")
    result.notes.append(f"{codings} codings; {len(stored)} codebook versions")
    result.integrity = ", ".join(f"{v} x{n}" if n > 1 else v for v, n in verdicts.items()) \
        or "not checked"
    result.elapsed = time.monotonic() - started
    return result


# -- the run ----------------------------------------------------------------------------------
SCENARIOS = ("code", "review", "codebook")


def run_scenario(name: str, workdir: Path, db_url: str | None, args: Any) -> Result:
    root = workdir / f"{name}-{backend_of(db_url)}"
    if name == "code":
        return crash_code(root, db_url, args.kills_code, args.transcripts, args.seed)
    if name == "review":
        return crash_review(root, db_url, args.kills_review, args.review_transcripts, args.seed)
    return crash_codebook(root, db_url, args.kills_codebook, args.codebook_transcripts,
                          args.seed)


def table(results: list[Result]) -> str:
    head = ("scenario", "backend", "kills", "operations completed", "lost", "integrity",
            "elapsed")
    rows = [head] + [(r.scenario, r.backend, str(r.kills), str(r.operations), str(r.lost),
                      r.integrity, f"{r.elapsed:.0f} s") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills-code", type=int, default=10)
    parser.add_argument("--kills-review", type=int, default=18)
    parser.add_argument("--kills-codebook", type=int, default=30)
    parser.add_argument("--transcripts", type=int, default=200,
                        help="transcripts in the `qualkit code` project")
    parser.add_argument("--review-transcripts", type=int, default=40)
    parser.add_argument("--codebook-transcripts", type=int, default=20)
    parser.add_argument("--backend", choices=("all", "sqlite", "pg"), default="all")
    parser.add_argument("--pg", help=f"PostgreSQL admin URL (default ${PG_ENV})")
    parser.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", choices=("review", "codebook"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "review":
        review_child(args.url, args.side, args.seed)
        return 0
    if args.child == "codebook":
        codebook_child(args.root, args.url, args.side, args.seed)
        return 0
    pg = args.pg or os.environ.get(PG_ENV)
    backends: list[str] = []
    if args.backend in ("all", "sqlite"):
        backends.append("sqlite")
    if args.backend in ("all", "pg"):
        if pg:
            backends.append("pg")
        elif args.backend == "pg":
            parser.error(f"--backend pg needs --pg URL or ${PG_ENV}")
        else:
            print(f"(no PostgreSQL: set ${PG_ENV} or pass --pg URL to run there too)")
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    workdir = Path(tempfile.mkdtemp(prefix="qualkit-crash-"))
    results: list[Result] = []
    try:
        for name in scenarios:
            for backend in backends:
                if backend == "sqlite":
                    results.append(run_scenario(name, workdir, None, args))
                else:
                    assert pg is not None
                    with scratch_database(pg, "qk_crash") as url:
                        results.append(run_scenario(name, workdir, url, args))
                r = results[-1]
                print(f"{r.scenario} on {r.backend}: {r.kills} kills, {r.operations} "
                      f"operations, lost {r.lost}, {r.integrity}, {r.elapsed:.0f} s"
                      + "".join(f"\n  note: {n}" for n in r.notes)
                      + "".join(f"\n  PROBLEM: {p}" for p in r.problems), flush=True)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(results))
    bad = [r for r in results if not r.ok]
    print("\nlost: 0, every check held" if not bad else
          f"\nFAILED: {', '.join(f'{r.scenario} on {r.backend}' for r in bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
