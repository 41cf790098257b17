"""A new user's first start: an empty HOME, no terminal, no network. The app must come up with no
prompt, listen on 127.0.0.1 only, fetch nothing from outside and show no Deploy button, whether
started by `qualkit app` or by `streamlit run app.py`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

from qualkit.serve import wait_until_ready

from .browser import browser_page, free_port
from .conftest import REPO

QUALKIT = Path(sys.executable).with_name("qualkit")


def _clean_env(home: Path, project: Path) -> dict[str, str]:
    """What a new machine has: no Streamlit settings or credentials, no display, no terminal."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "QUALKIT_SHARED")
    env = {k: v for k, v in os.environ.items() if k in keep}
    return dict(env, HOME=str(home), QUALKIT_PROJECT=str(project))


@contextmanager
def started(cmd: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[str]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=env.get("CWD", str(REPO)),
                                start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            if not wait_until_ready(url, proc, timeout=90):
                pytest.fail("the app did not answer: " + log.read_text()[-2000:])
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _launchers(project: Path, port: int) -> dict[str, list[str]]:
    return {
        "qualkit app": [str(QUALKIT), "app", "-p", str(project), "--port", str(port)],
        # As documented in app.py, run from the checkout with no settings on the command line.
        "streamlit run app.py": [sys.executable, "-m", "streamlit", "run", "app.py",
                                 "--server.port", str(port), "--", "--project", str(project)],
    }


@pytest.fixture
def fresh(tmp_path, project):
    home = tmp_path / "home"
    home.mkdir()
    return home, project.root


@pytest.mark.parametrize("launcher", ["qualkit app", "streamlit run app.py"])
def test_first_start_needs_no_keypress_and_stays_local(fresh, tmp_path, launcher):
    home, root = fresh
    port = free_port()
    log = tmp_path / "app.log"
    with started(_launchers(root, port)[launcher], _clean_env(home, root), log, port) as url:
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.status == 200 and b"<title>" in reply.read().lower()
    text = log.read_text()
    # No e-mail prompt, no telemetry notice, no address but this machine's.
    assert "Email" not in text and "usage statistics" not in text.lower()
    assert "Network URL" not in text and "External URL" not in text
    assert f"127.0.0.1:{port}" in text
    # Nothing was written into the new user's HOME (no credentials file from a prompt).
    assert not (home / ".streamlit" / "credentials.toml").exists()


@pytest.mark.browser
@pytest.mark.parametrize("launcher", ["qualkit app", "streamlit run app.py"])
def test_page_paints_offline_with_no_deploy_button(chromium, fresh, tmp_path, launcher):
    home, root = fresh
    port = free_port()
    outside: list[str] = []
    failed: list[str] = []

    def only_local(route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with started(_launchers(root, port)[launcher], _clean_env(home, root),
                 tmp_path / "app.log", port) as url, browser_page() as page:
        page.route("**/*", only_local)
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        page.goto(url)
        page.get_by_role("textbox", name="Your name (coder)").wait_for(timeout=60_000)
        page.get_by_text("Review queue").first.wait_for()
        page.wait_for_load_state("networkidle")
        for name in ("Review queue", "Codebook", "Themes", "Agreement", "Topics", "Project"):
            page.get_by_role("link", name=name).first.click()
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(500)
        assert outside == [], f"requests to the internet: {outside}"
        assert failed == [], f"failed to load: {failed}"
        assert page.locator("[data-testid='stAppDeployButton']").count() == 0
        assert page.get_by_role("button", name="Deploy").count() == 0
        assert page.get_by_text("Deploy", exact=True).count() == 0


def test_shipped_configs_are_the_same():
    """`streamlit run app.py` reads the root config, `qualkit app` the packaged one."""
    root = (REPO / ".streamlit" / "config.toml").read_text()
    packaged = (REPO / "qualkit" / "ui" / ".streamlit" / "config.toml").read_text()
    assert root == packaged
    for line in ('address = "127.0.0.1"', "headless = true", "gatherUsageStats = false",
                 "showEmailPrompt = false", 'toolbarMode = "viewer"'):
        assert line in root
