"""Start the real app on a project and drive it with Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("QUALKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(project: Path, log: Path, db_url: str | None = None) -> Iterator[str]:
    """Run the packaged app (as `qualkit app` does) on 127.0.0.1 for the project (its database
    on a server with ``db_url``); yield its URL."""
    from qualkit.serve import streamlit_command, wait_until_ready

    port = free_port()
    env = dict(os.environ, QUALKIT_PROJECT=str(project), HF_HUB_OFFLINE="1")
    if db_url:
        env["QUALKIT_DB"] = db_url
    with log.open("w") as out:
        proc = subprocess.Popen(streamlit_command(port), env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            if not wait_until_ready(url, proc, timeout=60):
                raise RuntimeError("the app did not start: " + log.read_text()[-2000:])
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def browser_page(width: int = 1400, height: int = 1000) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            # A Streamlit rerun after an upload can take over Playwright's default 30 s on
            # two busy cores (seen once in a CI dry run); a real failure still fails.
            page.set_default_timeout(60000)
            yield page
        finally:
            browser.close()


def upload(page: object, label: str, files: list[str], button: str, attempts: int = 3) -> None:
    """Give the uploader whose label holds ``label`` the ``files`` until ``button`` shows.

    The uploader is found by its label, not its place: while a rerun draws the page, another
    uploader can be the first in it (a CI run once gave the transcripts to the codebook's).
    An uploader redrawn by a rerun still under way (a radio just clicked) drops what it was
    given, hence the attempts."""
    from playwright.sync_api import expect

    uploader = (page.get_by_test_id("stFileUploader").filter(has_text=label)
                .locator("input[type=file]"))
    for attempt in range(1, attempts + 1):
        expect(uploader).to_have_count(1, timeout=60000)  # not two while a rerun redraws
        uploader.set_input_files(files)
        try:
            page.get_by_role("button", name=button, exact=True).wait_for(timeout=20000)
            return
        except Exception:
            if attempt == attempts:
                raise


def set_coder(page: object, name: str) -> None:
    box = page.get_by_role("textbox", name="Your name (coder)")
    box.fill(name)
    box.press("Enter")


def select_text(page: object, needle: str) -> None:
    """Select the first occurrence of ``needle`` inside one transcript piece, as a mouse would."""
    page.evaluate(
        """(needle) => {
          const pieces = Array.from(document.querySelectorAll('.qk-piece'));
          const piece = pieces.find(p => p.textContent.includes(needle));
          const node = piece.firstChild;
          const i = node.data.indexOf(needle);
          const range = document.createRange();
          range.setStart(node, i); range.setEnd(node, i + needle.length);
          const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
          piece.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""", needle)
