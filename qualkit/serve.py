"""Starting the browser app: Streamlit in a child process, local and silent, then the
researcher's browser once the page answers.

The settings are passed as flags as well as shipped in ``ui/.streamlit/config.toml``, because
flags win over anything in the user's own ``~/.streamlit``: the server never prompts for an
e-mail address (a prompt with no terminal stops the app), never sends usage statistics and
shows no Deploy button, whatever that machine was told before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import webbrowser
from collections.abc import Callable
from pathlib import Path

from .errors import QualkitError

SETTINGS = {
    "server.headless": "true",
    "server.showEmailPrompt": "false",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "viewer",
}


def app_script() -> Path:
    """The packaged entry script (qualkit/ui/app.py)."""
    return Path(__file__).resolve().parent / "ui" / "app.py"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    flags = {**SETTINGS, "server.address": address, "server.port": str(port),
             "browser.serverAddress": address}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_script())]
    for key, value in flags.items():
        cmd += [f"--{key}", value]
    return cmd


def has_display() -> bool:
    """Whether a browser window can open here (a desktop, not a server or a container)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def wait_until_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> bool:
    """Poll the server's health endpoint until it answers, the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def serve(root: Path, port: int = 8501, address: str = "127.0.0.1",
          open_browser: bool | None = None,
          on_ready: Callable[[str], None] | None = None, db_url: str | None = None) -> int:
    """Run the app on the project in ``root`` (its database a server's at ``db_url``, if
    given) until it stops; returns the server's exit code."""
    env = dict(os.environ, QUALKIT_PROJECT=str(root), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    if db_url:  # through the environment, never the command line (ps shows that to everyone)
        env["QUALKIT_DB"] = db_url
    host = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    url = f"http://{host}:{port}"
    try:
        proc = subprocess.Popen(streamlit_command(port, address), env=env,
                                stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise QualkitError(f"cannot start the app server: {exc}") from None
    try:
        if wait_until_ready(url, proc):
            if on_ready:
                on_ready(url)
            if open_browser if open_browser is not None else has_display():
                webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
