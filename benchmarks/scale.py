"""Cost curves: how import, coding, the app's pages, the report and the exports grow with the
number of transcripts (100, 1,000, 10,000), and batch coding on 1 and 2 Dask workers.

    python -m benchmarks.scale [--sizes 100,1000] [--steps all] [--workers-compare 200]
                               [--keep DIR [--reuse]]

For each size a study of generated interviews (benchmarks/corpus.py; 40 turns, half of them the
participant's, 8 sentences a turn: about 2,000 words an interview) is written as .txt files with
front matter (participant id, a works_alone attribute), then, each step a `qualkit` command (or
the library call behind the app) in a fresh child process of its own, so its peak RSS is its
own: import, rule coding, semantic coding (rules + semantic, empty embedding cache), a team's
decisions on the first ten transcripts (two coders, not timed), retraining (every decision, then
re-suggesting the transcripts still open), `qualkit status`, the app's Coding, Themes and
Agreement pages server-side (Streamlit's AppTest runs a page's script exactly as the server
does: the first run in a fresh process, imports included, then a rerun), the report (HTML,
every coding counted) and the exports (coded-segments table, extracts, framework matrix,
REFI-QDA project). Each figure is printed with wall and CPU seconds (CPU of the child and the
processes it waited for: the honest figure on a shared machine), the cost per transcript, the
child's peak RSS and the load average; the last table puts the sizes side by side with the
growth of the per-transcript cost from the smallest size to the largest.

``--workers-compare N`` codes the first N transcripts of the smallest study with rules and
semantic suggestions on a local Dask cluster of 1 and then 2 worker processes (`qualkit code
--workers`), each on a fresh copy of the imported project (empty cache), with wall and CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STEPS = ["import", "rules", "semantic", "decide", "retrain", "status", "page:Coding",
         "page:Themes", "page:Agreement", "report", "export:table", "export:extracts",
         "export:framework", "export:qdpx"]
UNTIMED = {"decide"}
TARGETS = {"import": 1.5, "rules": 1.5, "semantic": 1.5, "report": 1.5}  # growth, max
DECIDED = 10  # transcripts the team decides on (a constant: the work a team does by hand)


def write_study(folder: Path, n: int) -> int:
    """``n`` generated interviews as .txt files; returns the words written."""
    from benchmarks.corpus import generate

    folder.mkdir(parents=True, exist_ok=True)
    words = 0
    for i, g in enumerate(generate(n, seed=11, turns=40, sentences=8)):
        alone = "yes" if "working_alone" in g.themes else "no"
        text = (f"---\nparticipant: P{i:05d}\nworks_alone: \"{alone}\"\n---\n"
                + g.transcript.text)
        (folder / f"{g.transcript.name}.txt").write_text(text, encoding="utf-8")
        words += len(g.transcript.text.split())
    return words


# -- one step, in a child process ------------------------------------------------------------

def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _cli(*args: str) -> None:
    from qualkit.cli import app

    try:
        app(list(args), standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise RuntimeError(f"qualkit {' '.join(args)} exited {exc.code}") from exc


def _decide(root: Path) -> None:
    """Two coders decide on every rule suggestion in the first transcripts."""
    from qualkit import review
    from qualkit.project import open_project

    project = open_project(root)
    store, book = project.store, project.codebook()
    for name in store.transcript_names()[:DECIDED]:
        for i, sug in enumerate(store.codings(transcript=name, status="suggested")):
            review.accept(store, sug.id, "ann", codebook=book) if i % 3 else \
                review.reject(store, sug.id, "ann")
            if i % 2:  # bob agrees on some, disagrees on others
                review.accept(store, sug.id, "bob", codebook=book)
            else:
                review.reject(store, sug.id, "bob")
    # the suggestions count as up to date with these decisions, so the app's pages start no
    # retraining in the background while they are timed (the retrain step times retraining)
    from qualkit.retrain import TRAINED_ON, decisions

    store.set_meta(TRAINED_ON, str(decisions(store)), "bench")
    project.close()


def _retrain(root: Path) -> None:
    from qualkit.project import open_project
    from qualkit.retrain import retrain

    project = open_project(root)
    retrain(project, "ann")
    project.close()


PROBE_FIRST: dict[str, Any] = {}


def _page(root: Path, page: str) -> dict[str, float]:
    """A page's first run in this fresh process (imports included) and a rerun."""
    from streamlit.testing.v1 import AppTest

    os.environ["QUALKIT_PROJECT"] = str(root)
    at = AppTest.from_file(str(REPO / "qualkit" / "ui" / "app.py"), default_timeout=3600)
    at.session_state["coder"] = "ann"
    t = time.perf_counter()
    if page == "Coding":
        at.run()
    else:
        at.run()  # the app opens on the Coding page; then the page measured
        t = time.perf_counter()
        at.switch_page(f"views/{page.lower()}.py").run()
    first = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"{page} page: {at.exception}")
    t = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - t
    return {"first": first, "rerun": rerun}


def run_step(step: str, root: Path, extra: list[str]) -> dict[str, Any]:
    out = root.parent / "out"
    out.mkdir(exist_ok=True)
    cpu, t = _cpu(), time.perf_counter()
    detail: dict[str, Any] = {}
    proj = ["--project", str(root)]
    if step == "init":
        _cli("init", str(root), "--codebook", "keyworker", "--coder", "bench")
    elif step == "import":
        _cli("import", *extra, *proj, "--coder", "bench")
    elif step == "rules":
        _cli("code", "--suggesters", "rules", *proj, "--coder", "bench")
    elif step == "semantic":
        _cli("code", "--suggesters", "rules,semantic", *extra, *proj, "--coder", "bench")
    elif step == "decide":
        _decide(root)
    elif step == "retrain":
        _retrain(root)
    elif step == "status":
        _cli("status", *proj)
    elif step.startswith("page:"):
        detail = _page(root, step.split(":", 1)[1])
    elif step == "report":
        _cli("report", "-o", str(out / "report.html"), "--include", "all", *proj)
    elif step == "export:table":
        _cli("export", "table", "-o", str(out / "table.csv"), "--include", "all", *proj)
    elif step == "export:extracts":
        _cli("export", "extracts", "-o", str(out / "extracts.csv"), "--include", "all", *proj)
    elif step == "export:framework":
        _cli("export", "framework", "-o", str(out / "framework.csv"), "--include", "all",
             *proj)
    elif step == "export:qdpx":
        _cli("export", "qdpx", "-o", str(out / "project.qdpx"), "--include", "all", *proj)
    else:
        raise SystemExit(f"unknown step {step!r}")
    return {"wall": time.perf_counter() - t, "cpu": _cpu() - cpu, "rss": _peak_mb(), **detail}


def child(step: str, root: Path, extra: list[str] | None = None) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--step", step,
                           "--root", str(root), "--", *(extra or [])],
                          cwd=REPO, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{\"wall\"")]
    if proc.returncode or not lines:
        raise RuntimeError(f"step {step} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


# -- the parent ------------------------------------------------------------------------------

def line(size: int, step: str, r: dict[str, Any]) -> None:
    per = r["wall"] / size * 1000
    extra = ""
    if "first" in r:
        extra = f"   page first run {r['first']:.2f} s, rerun {r['rerun']:.2f} s"
    print(f"  {size:>6} {step:<18} {r['wall']:9.2f} s wall {r['cpu']:9.2f} s CPU "
          f"{per:8.2f} ms/transcript   peak RSS {r['rss']:6.0f} MB   load "
          f"{os.getloadavg()[0]:.1f}{extra}", flush=True)


def measure(size: int, base: Path, steps: list[str], reuse: bool = False
            ) -> dict[str, dict[str, Any]]:
    root = base / f"study_{size}" / "project"
    if reuse and root.exists():  # the steps again on a study an earlier run built and kept
        print(f"\n{size} transcripts, the study kept in {root}", flush=True)
    else:
        words = write_study(root.parent / "interviews", size)
        print(f"\n{size} transcripts, {words:,} words ({words / size:.0f} a transcript)",
              flush=True)
        child("init", root)
    results: dict[str, dict[str, Any]] = {}
    for step in steps:
        extra = [str(root.parent / "interviews")] if step == "import" else []
        results[step] = r = child(step, root, extra)
        line(size, step, r)
    return results


def compare_workers(base: Path, n: int) -> None:
    root = base / "workers" / "project"
    write_study(root.parent / "interviews", n)
    child("init", root)
    child("import", root, [str(root.parent / "interviews")])
    print(f"\nbatch coding, rules + semantic, {n} transcripts, empty embedding cache:")
    walls = {}
    for workers in (1, 2):
        copy = base / "workers" / f"w{workers}"
        shutil.copytree(root, copy)
        r = child("semantic", copy, ["--workers", str(workers)])
        walls[workers] = r["wall"]
        print(f"  --workers {workers}: {r['wall']:8.2f} s wall {r['cpu']:8.2f} s CPU (this "
              f"process and its workers)   load {os.getloadavg()[0]:.1f}", flush=True)
    single = base / "workers" / "single"
    shutil.copytree(root, single)
    r = child("semantic", single)
    print(f"  one process, no cluster: {r['wall']:8.2f} s wall {r['cpu']:8.2f} s CPU")
    print(f"  two workers / one worker: {walls[1] / walls[2]:.2f}x (target 1.7x on a machine "
          f"with the cores for it; this one has {os.cpu_count()})")


def summary(all_results: dict[int, dict[str, dict[str, Any]]]) -> None:
    sizes = sorted(all_results)
    print("\nper transcript (ms), wall; growth = largest size / smallest size")
    print(f"  {'step':<18}" + "".join(f"{s:>12}" for s in sizes) + "      growth")
    for step in STEPS:
        if step in UNTIMED or not all(step in all_results[s] for s in sizes):
            continue
        per = [all_results[s][step]["wall"] / s * 1000 for s in sizes]
        growth = per[-1] / per[0] if per[0] else float("nan")
        target = f"  (target <= {TARGETS[step]}x)" if step in TARGETS else ""
        print(f"  {step:<18}" + "".join(f"{p:12.2f}" for p in per) + f"   {growth:7.2f}x"
              + target)
    pages = [s for s in STEPS if s.startswith("page:")]
    print("\napp pages server-side (s): first run / rerun (target < 2 s at 10,000)")
    for step in pages:
        if all(step in all_results[s] for s in sizes):
            print(f"  {step:<18}" + "".join(
                f"{all_results[s][step]['first']:8.2f}/{all_results[s][step]['rerun']:<6.2f}"
                for s in sizes))
    print("\npeak RSS (MB)")
    for step in ("import", "rules", "semantic", "retrain", "report"):
        if all(step in all_results[s] for s in sizes):
            print(f"  {step:<18}" + "".join(f"{all_results[s][step]['rss']:12.0f}"
                                            for s in sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--steps", default="all",
                        help=f"comma-separated, from {','.join(STEPS)}")
    parser.add_argument("--workers-compare", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Build the studies here and keep them.")
    parser.add_argument("--reuse", action="store_true",
                        help="With --keep: run the steps on the studies already kept there.")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.root, args.extra)), flush=True)
        return
    steps = STEPS if args.steps == "all" else args.steps.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load {os.getloadavg()[0]:.1f} at start")
    base = args.keep or Path(tempfile.mkdtemp(prefix="qualkit-scale-"))
    try:
        results = {size: measure(size, base, steps, args.reuse) for size in sizes}
        if len(sizes) > 1:
            summary(results)
        if args.workers_compare:
            compare_workers(base, args.workers_compare)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
