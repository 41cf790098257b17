"""The built wheel on its own: installed in a fresh virtual environment, away from the checkout,
it builds the demo project, codes with a bundled codebook by name and starts the app.

Slow (a fresh environment installs every dependency), so it runs where QUALKIT_WHEEL_TEST=1
(CI sets it) and is skipped otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qualkit.serve import wait_until_ready

from .browser import free_port
from .conftest import REPO

pytestmark = pytest.mark.skipif(os.environ.get("QUALKIT_WHEEL_TEST") != "1",
                                reason="set QUALKIT_WHEEL_TEST=1 to build and install the wheel")


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 1800) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def test_wheel_installs_and_runs_anywhere(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
         str(dist), str(REPO)], REPO, dict(os.environ))
    [wheel] = dist.glob("qualkit-*.whl")
    names = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheel)],
                           capture_output=True, text=True, check=True).stdout
    for member in ("qualkit/ui/app.py", "qualkit/ui/views/coding.py",
                   "qualkit/ui/.streamlit/config.toml", "qualkit/_data/codebooks/keyworker.yaml",
                   "qualkit/_data/sample_transcripts/p01_dana.txt",
                   "qualkit/migrations/env.py",
                   "qualkit/migrations/versions/r0004_codebook_versions.py"):
        assert member in names, f"{member} is missing from the wheel"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, dict(os.environ))
    bin_ = venv / "bin"
    run([str(bin_ / "pip"), "install", "-q", str(wheel)], tmp_path, dict(os.environ))

    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"  # far from the checkout: nothing can come from the repository
    work.mkdir()
    env = {"PATH": f"{bin_}:/usr/bin:/bin", "HOME": str(home), "HF_HUB_OFFLINE": "1",
           "LANG": os.environ.get("LANG", "C.UTF-8")}
    where = run([str(bin_ / "python"), "-c", "import qualkit; print(qualkit.__file__)"], work, env)
    assert str(venv) in where and str(REPO) not in where

    out = run([str(bin_ / "qualkit"), "demo", "--no-serve", "--suggesters", "rules,semantic"],
              work, env)
    assert "20 transcripts added" in out, out

    run([str(bin_ / "qualkit"), "init", "study", "--codebook", "keyworker"], work, env)
    sample = work / "p01.txt"
    sample.write_text("Interviewer: How is it?\n\nDana: I work alone and there is nobody to "
                      "debrief with after a bad visit.\n", encoding="utf-8")
    run([str(bin_ / "qualkit"), "import", str(sample), "-p", "study"], work, env)
    out = run([str(bin_ / "qualkit"), "code", "-p", "study", "--suggesters", "rules"], work, env)
    status = run([str(bin_ / "qualkit"), "status", "-p", "study"], work, env)
    assert "working_alone" in status, out + status

    port = free_port()
    log = tmp_path / "app.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([str(bin_ / "qualkit"), "app", "-p", "sample_project",
                                 "--port", str(port)], cwd=work, env=env,
                                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            assert wait_until_ready(f"http://127.0.0.1:{port}", proc, timeout=120), \
                log.read_text()[-2000:]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
    assert "Email" not in log.read_text()
