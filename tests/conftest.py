"""Shared fixtures: real SQLite projects in tmp folders, small codebooks, the shared data.

Every test project is made by one factory, ``build_project`` (the ``make_project`` fixture
makes them in the test's tmp folder and closes them afterwards), the way Datasette's tests
build an app with ``make_app_client(**options)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Union

import pytest

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "qualkit" / "ui" / "app.py"  # the Streamlit app every page test runs

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

# The tables each migration revision added, so a test can make a current project look like one
# an older release wrote (drop_tables_after).
TABLES_ADDED = {"0004": ("codebook_versions",), "0005": ("coded_ranges",),
                "0006": ("code_memos", "journal"),
                "0007": ("media_chunks", "media", "pseudonyms")}
# The columns each revision added to an existing table: (table, column).
COLUMNS_ADDED = {"0007": (("transcripts", "pages"), ("transcripts", "layout"))}


def drop_tables_after(execute, revision: str) -> None:
    """Drop every table (and column) added by a revision after ``revision``, newest first,
    with the caller's ``execute(sql)``."""
    for rev in sorted(TABLES_ADDED, reverse=True):
        if rev > revision:
            for table in TABLES_ADDED[rev]:
                execute(f"DROP TABLE {table}")
            for table, column in COLUMNS_ADDED.get(rev, ()):
                execute(f"ALTER TABLE {table} DROP COLUMN {column}")


@pytest.fixture
def small_codebook(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_CODEBOOK, encoding="utf-8")
    return path


# A decision rule: "accept" or "reject" for every suggestion, or a function of (its index in
# the store's order, the suggestion) giving "accept", "reject", ("accept", memo) or None (leave
# it for review).
Rule = Union[str, Callable[[int, Any], Any]]


def build_project(root: Path, *, codebook: str | Path | None = SMALL_CODEBOOK,
                  transcripts: Iterable[Any] | Mapping[str, str] = (),
                  suggesters: Iterable[str] = (), suggestions: Iterable[Any] = (),
                  decisions: Mapping[str, Rule] | None = None, actor: str = "tester",
                  db_url: str | None = None):
    """A real project in ``root``, made as a researcher would make it.

    - ``codebook``: YAML text (default: SMALL_CODEBOOK), a file, a bundled name, or None.
    - ``transcripts``: {file name: text} written beside the project and imported like
      `qualkit import` (front matter, speakers, roles); files or folders, imported the same
      way; ``ImportedDocument`` (with any codings it carries) or ``Transcript`` objects, stored
      as they are. Imported in the order given; a file that does not import fails the test.
    - ``suggesters``: run over every transcript like `qualkit code` (e.g. ``("rules",)``).
    - ``suggestions``: ``Suggestion`` objects stored as a machine's (actor "bot").
    - ``db_url``: the project's database on a server (default: the folder's SQLite file).
    - ``decisions``: {coder: rule} applied to each suggestion in the store's order, coder by
      coder (see ``Rule``), through ``review.accept``/``review.reject``.
    """
    from qualkit import review
    from qualkit.model import ImportedDocument, Transcript
    from qualkit.pipeline import code_project, import_paths
    from qualkit.project import init_project

    if isinstance(codebook, str) and "\n" in codebook:  # YAML text
        text, codebook = codebook, root.parent / f"{root.name}_codebook.yaml"
        codebook.write_text(text, encoding="utf-8")
    project = init_project(root, codebook, actor=actor, db_url=db_url)
    if isinstance(transcripts, Mapping):
        sources = root.parent / f"{root.name}_sources"
        sources.mkdir(parents=True, exist_ok=True)
        for name, text in transcripts.items():
            (sources / name).write_text(text, encoding="utf-8")
        transcripts = [sources / name for name in transcripts]
    for item in transcripts:
        if isinstance(item, Transcript):
            item = ImportedDocument(item)
        if isinstance(item, ImportedDocument):
            project.store.add_document(item, actor)
        else:
            report = import_paths(project, [item], actor)
            assert not report.errors and report.added, (item, report.errors)
    if suggesters:
        code_project(project, actor=actor, suggesters=tuple(suggesters))
    by_transcript: dict[str, list[Any]] = {}
    for sug in suggestions:
        by_transcript.setdefault(sug.transcript, []).append(sug)
    for name, found in by_transcript.items():
        project.store.replace_suggestions(name, found, "bot")
    if decisions:
        store = project.store
        book = project.codebook_if_any()
        for i, sug in enumerate(store.codings(status="suggested")):
            for coder, rule in decisions.items():
                choice = rule(i, sug) if callable(rule) else rule
                action, memo = choice if isinstance(choice, tuple) else (choice, "")
                if action == "accept":
                    review.accept(store, sug.id, coder, memo=memo, codebook=book)
                elif action == "reject":
                    review.reject(store, sug.id, coder, memo=memo)
                else:
                    assert action is None, f"unknown decision {action!r}"
    return project


@pytest.fixture
def make_project(tmp_path: Path):
    """``make_project(name="proj", **options)``: a project from ``build_project`` in this
    test's tmp folder, closed after the test."""
    made = []

    def make(name: str = "proj", **options: Any):
        made.append(build_project(tmp_path / name, **options))
        return made[-1]

    yield make
    for proj in made:
        proj.close()


@pytest.fixture
def project(make_project):
    """An empty project with SMALL_CODEBOOK."""
    return make_project()


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


def run_app(page: str | None = None, coder: str | None = "ann") -> Any:
    """The app headless (Streamlit's AppTest) on the project in $QUALKIT_PROJECT: signed in as
    ``coder``, switched to ``page`` if given, checked to have run without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    if coder:
        at.session_state["coder"] = coder
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def chromium() -> None:
    """Debian's Chromium for the browser tests: they skip without it, except where
    QUALKIT_REQUIRE_BROWSER is set (CI): there a skip is a failure."""
    from .browser import chromium_available

    if not chromium_available():
        if os.environ.get("QUALKIT_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here but /usr/bin/chromium is missing")
        pytest.skip("Chromium not installed (apt-get install chromium)")


# -- PostgreSQL ---------------------------------------------------------------------------------
# A server for the store, concurrency and team tests: QUALKIT_TEST_PG names a role that may
# create databases and roles (.ci/run starts Debian's postgresql and sets it). Without it those
# tests skip, except where QUALKIT_REQUIRE_PG is set (CI): there a skip is a failure.
PG_ENV = "QUALKIT_TEST_PG"


def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV, "")
    if not url:
        message = (f"no PostgreSQL server for this test: set {PG_ENV} to a URL of a role that "
                   "may create databases and roles (see .ci/run)")
        if os.environ.get("QUALKIT_REQUIRE_PG"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test (``benchmarks.pgscratch``), dropped
    afterwards with every role whose name starts with the database's."""
    from benchmarks.pgscratch import scratch_database

    with scratch_database(pg_admin_url()) as url:
        yield url


def login_url(url: str, role: str, password: str) -> str:
    """``url`` with another login."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=role, password=password).render_as_string(
        hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The same test on a SQLite file and on a PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'q.db'}"
    return request.getfixturevalue("pg_url")
