"""App speed: time to the first page after start, and a rerun of the coding view.

    python -m benchmarks.app_speed [--segments 500]

1. Starts `streamlit run app.py` on a sample project and times: process start -> server ready,
   and server ready -> the first page fully shown in Chromium (Debian's, via Playwright).
2. Builds a project with one generated transcript of N turns, suggestions on a third of them,
   and times reruns of the coding view server-side (Streamlit's AppTest runs the page script
   exactly as the server does, without a browser).
3. Checks that no heavy library (torch, sentence-transformers, BERTopic) is imported by a page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PROBE = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["REPO"])
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(os.environ["REPO"], "qualkit", "ui", "app.py"),
                      default_timeout=120)
first = time.perf_counter()
at.run()  # a fresh process: the first page, imports included, without a coder yet
first = time.perf_counter() - first
at.session_state["coder"] = "bench"
at.run()
times = []
for _ in range(int(os.environ["RUNS"])):
    t = time.perf_counter(); at.run(); times.append(time.perf_counter() - t)
heavy = sorted(m for m in ("torch", "sentence_transformers", "bertopic", "umap")
               if m in sys.modules)
print(json.dumps({"first": first, "times": times, "heavy": heavy,
                  "exception": str(at.exception or "")}))
"""


def build_project(root: Path, turns: int) -> None:
    from qualkit.model import ImportedDocument, Suggestion, Transcript
    from qualkit.project import init_project
    from qualkit.segment import TextBuilder

    project = init_project(root, REPO / "codebooks" / "keyworker.yaml", "bench")
    codes = [c.id for c in project.codebook().all_codes() if not c.is_theme]
    b = TextBuilder()
    for i in range(turns):
        speaker = "Interviewer" if i % 2 == 0 else "Dana"
        b.add(speaker, f"Turn {i}: most days I work alone, and there is nobody to debrief with "
                       f"after a hard visit, so I ring a colleague from the network instead.")
    project.store.add_document(ImportedDocument(Transcript("long", b.text, b.segments)), "bench")
    sugg = [Suggestion(codes[i % len(codes)], "long", s.index, s.start, s.end, 0.6, "rules", "m")
            for i, s in enumerate(b.segments) if s.index % 3 == 1]
    project.store.replace_suggestions("long", sugg, "bench")
    project.close()


def first_page(project: Path) -> tuple[float, float, float]:
    from qualkit.serve import streamlit_command
    from tests.browser import browser_page, free_port, set_coder  # noqa: F401

    port = free_port()
    env = dict(os.environ, QUALKIT_PROJECT=str(project))
    start = time.perf_counter()
    proc = subprocess.Popen(streamlit_command(port), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        ready = time.perf_counter() - start
        shown = []
        with browser_page() as page:
            for _ in range(2):  # the first load, then a reload with the server warm
                t = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}")
                page.get_by_text("Enter your name in the sidebar").wait_for(timeout=30000)
                shown.append(time.perf_counter() - t)
        return ready, shown[0], shown[1]
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        build_project(project, args.segments)
        env = dict(os.environ, REPO=str(REPO), QUALKIT_PROJECT=str(project), RUNS=str(args.runs))
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                             text=True, check=True)
        probe = json.loads(out.stdout.strip().splitlines()[-1])
        times = sorted(probe["times"])
        p90 = times[int(0.9 * len(times))]
        print(f"coding view, {args.segments} turns, server-side rerun: median "
              f"{statistics.median(times) * 1000:.0f} ms, p90 {p90 * 1000:.0f}"
              f" ms over {len(times)} runs (target < 200 ms)")
        print(f"first page script run in a fresh server process (imports included): "
              f"{probe['first'] * 1000:.0f} ms")
        print(f"heavy libraries imported by the page: {probe['heavy'] or 'none'}")
        if probe["exception"]:
            print("page error:", probe["exception"])
        try:
            ready, shown, again = first_page(project)
            print(f"first page: server ready {ready:.2f} s after start; first page shown in "
                  f"Chromium {shown:.2f} s later, {ready + shown:.2f} s after start (target "
                  f"< 2 s); a reload with the server warm {again:.2f} s")
        except Exception as exc:  # no Chromium here
            print(f"first page in a browser: not measured ({exc})")


if __name__ == "__main__":
    main()
