"""Limits at scale: a theme report over a 5,000-code codebook, and semantic coding of one
50,000-turn transcript (issue #12).

    python -m benchmarks.limits_scale [--part report|semantic|all] [--codes 5000]
        [--transcripts 40] [--turns 40] [--per-turn 4] [--semantic-turns 50000]
        [--unique] [--pipeline]

Report: a generated codebook of ``--codes`` codes (themes of 100 codes each: the theme and 99
leaves under it), a project of ``--transcripts`` generated transcripts (benchmarks/corpus.py)
whose participant turns each carry ``--per-turn`` accepted codings of random leaf codes; times
``build_report`` and then the charts and the Markdown, HTML and Word renderings.

Semantic: one generated transcript of ``--semantic-turns`` turns (half of them the
participant's), coded with the real MiniLM model from the installed package and no embedding
cache: the semantic suggester alone, then rules + semantic scored and decided as `qualkit code
--suggesters semantic` does. The corpus repeats its sentences, so the model embeds few distinct
texts; ``--unique`` stamps every sentence with a number so every sentence is new to the model
(the honest cold case, dominated by the model's speed). ``--pipeline`` also imports the
transcript into a temporary project and runs ``pipeline.code_project`` on it.

Each part runs in a child process of its own, so the peak RSS printed (``resource.getrusage``)
is that part's.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THEME_SIZE = 100  # codes per theme: the theme and 99 leaves


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


_CLOCK = {"cpu": 0.0}


def start() -> float:
    """Start timing: wall seconds now (CPU seconds are kept for ``line``)."""
    _CLOCK["cpu"] = time.process_time()
    return time.perf_counter()


def line(label: str, seconds: float) -> None:
    """One figure: wall seconds since ``start``, CPU seconds (every thread; the honest figure
    on a busy machine) and the peak RSS so far."""
    cpu = time.process_time() - _CLOCK["cpu"]
    print(f"  {label:<44} {seconds:8.2f} s wall {cpu:8.2f} s CPU   peak RSS "
          f"{rss_mb():6.0f} MB   (load {os.getloadavg()[0]:.1f})", flush=True)


# --------------------------------------------------------------------------------------------
# Report


def codebook_yaml(n_codes: int) -> str:
    import yaml

    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    codes = []
    made = 0
    t = 0
    while made < n_codes:
        size = min(THEME_SIZE, n_codes - made)
        kids = [{"id": f"t{t:03d}_c{k:03d}", "name": f"Theme {t} code {k}",
                 "definition": f"Passages about aspect {k} of theme {t}."}
                for k in range(1, size)]
        theme: dict[str, object] = {"id": f"t{t:03d}", "name": f"Theme {t}",
                                    "definition": f"Everything about theme {t}.",
                                    "color": palette[t % len(palette)]}
        if kids:
            theme["children"] = kids
        codes.append(theme)
        made += size
        t += 1
    return yaml.safe_dump({"name": f"Scale codebook ({n_codes} codes)", "version": "1.0",
                           "speakers": ["participant"], "codes": codes}, sort_keys=False)


def make_report_project(root: Path, n_codes: int, n_transcripts: int, turns: int,
                        per_turn: int, coders: int = 2, seed: int = 5) -> object:
    from benchmarks.corpus import generate
    from qualkit.model import Coding, ImportedDocument
    from qualkit.project import init_project

    book_path = root.parent / "scale_codebook.yaml"
    book_path.write_text(codebook_yaml(n_codes), encoding="utf-8")
    project = init_project(root, book_path, actor="bench")
    leaves = [c.id for c in project.codebook(check_patterns=False).leaves()]
    rng = random.Random(seed)
    people = ["ann", "bob", "cat", "dev"][:max(1, coders)]
    for i, g in enumerate(generate(n_transcripts, seed=seed, turns=turns)):
        tr = g.transcript
        tr.attributes = {"works_alone": rng.choice(["yes", "no"]), "pseudonym": f"Person {i}"}
        codings = [Coding(code_id=code, transcript=tr.name, start=seg.start, end=seg.end,
                          coder=rng.choice(people), status="accepted", source="import",
                          segment_index=seg.index)
                   for seg in tr.segments if seg.role != "interviewer"
                   for code in rng.sample(leaves, per_turn)]
        project.store.add_document(ImportedDocument(tr, codings), "bench")  # type: ignore[attr-defined]
    return project


def run_report(args: argparse.Namespace) -> None:
    from qualkit.report import build_report
    from qualkit.report.charts import report_charts
    from qualkit.report.render import render_docx, render_html, render_markdown

    print(f"report: {args.codes:,} codes, {args.transcripts} transcripts of {args.turns} turns, "
          f"{args.per_turn} codings per participant turn "
          f"({args.transcripts * (args.turns // 2) * args.per_turn:,} codings, "
          f"{args.coders} coder(s))", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = start()
        project = make_report_project(Path(tmp) / "proj", args.codes, args.transcripts,
                                      args.turns, args.per_turn, args.coders)
        line("building the project", time.perf_counter() - t0)
        t0 = start()
        cpu0 = _CLOCK["cpu"]
        report = build_report(project)
        line("build_report", time.perf_counter() - t0)
        total = time.perf_counter() - t0
        t0 = start()
        charts = report_charts(report)
        took = time.perf_counter() - t0
        total += took
        line(f"charts ({len(charts)}, {sum(len(c.png) for c in charts) // 1024} KB)", took)
        for label, render in (("Markdown", lambda: render_markdown(report, charts, "files")),
                              ("HTML", lambda: render_html(report, charts)),
                              ("Word", lambda: render_docx(report, charts))):
            t0 = start()
            out = render()
            took = time.perf_counter() - t0
            total += took
            line(f"{label} ({len(out) // 1024:,} KB)", took)
        _CLOCK["cpu"] = cpu0
        line("report total (build + charts + 3 formats)", total)
        project.close()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Semantic coding


def big_transcript(turns: int, unique: bool, seed: int = 9) -> object:
    """One generated transcript of ``turns`` turns; ``unique``: every sentence is new."""
    from benchmarks.corpus import generate
    from qualkit.model import Transcript
    from qualkit.segment import TextBuilder

    g = next(generate(1, seed=seed, turns=turns)).transcript
    if not unique:
        return g
    b = TextBuilder()
    for k, seg in enumerate(g.segments):
        text = seg.text
        if seg.role != "interviewer":
            sentences = [s for s in text.split(". ") if s]
            text = ". ".join(f"On visit {k * 10 + j} {s[0].lower()}{s[1:]}"
                             for j, s in enumerate(sentences))
        b.add(seg.speaker, text)
    return Transcript(g.name, b.text, b.segments, g.attributes)


def run_semantic(args: argparse.Namespace) -> None:
    from qualkit.codebook import load_codebook
    from qualkit.embed import Embedder, load_model
    from qualkit.suggest.base import views_of
    from qualkit.suggest.combine import CombinedSuggester
    from qualkit.suggest.semantic import SemanticSuggester

    repo = Path(__file__).resolve().parent.parent
    codebook = load_codebook(repo / "codebooks" / "keyworker.yaml")
    t0 = start()
    transcript = big_transcript(args.semantic_turns, args.unique)
    views = views_of(transcript)  # type: ignore[arg-type]
    print(f"semantic: one transcript of {len(views):,} turns "
          f"({len(transcript.text) // 1024:,} KB of text; "  # type: ignore[attr-defined]
          f"{'every sentence distinct' if args.unique else 'the corpus sentences repeat'})",
          flush=True)
    line("generating the transcript", time.perf_counter() - t0)
    t0 = start()
    load_model()
    line("loading MiniLM", time.perf_counter() - t0)

    embedder = Embedder()
    t0 = start()
    semantic = SemanticSuggester(embedder).fit(codebook)
    scores = semantic.score(views)
    took = time.perf_counter() - t0
    line(f"semantic fit + score ({embedder.computed:,} texts embedded)", took)
    print(f"  per 1,000 turns: {1000 * took / len(views):.2f} s; "
          f"{len(scores.rationale):,} scores with evidence", flush=True)

    embedder = Embedder()
    t0 = start()
    combined = CombinedSuggester(embedder, ("rules", "semantic")).fit(codebook)
    suggestions = combined.decide(combined.score(views), views)
    took = time.perf_counter() - t0
    line(f"rules + semantic, decided ({len(suggestions):,} sugg.)", took)

    if args.pipeline:
        from qualkit.model import ImportedDocument
        from qualkit.pipeline import code_project
        from qualkit.project import init_project

        with tempfile.TemporaryDirectory() as tmp:
            project = init_project(Path(tmp) / "proj", repo / "codebooks" / "keyworker.yaml",
                                   actor="bench")
            project.store.add_document(ImportedDocument(transcript), "bench")  # type: ignore[arg-type]
            t0 = start()
            result = code_project(project, suggesters=("semantic",))
            line(f"pipeline.code_project ({result.embedded:,} embedded)",
                 time.perf_counter() - t0)
            project.close()


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=("report", "semantic", "all"), default="all")
    parser.add_argument("--codes", type=int, default=5000)
    parser.add_argument("--transcripts", type=int, default=40)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--per-turn", type=int, default=4)
    parser.add_argument("--coders", type=int, default=2,
                        help="coders sharing the codings (2+: the report computes agreement)")
    parser.add_argument("--semantic-turns", type=int, default=50_000)
    parser.add_argument("--unique", action="store_true",
                        help="every sentence of the big transcript distinct (cold model)")
    parser.add_argument("--pipeline", action="store_true",
                        help="also run pipeline.code_project on the big transcript")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.part == "all":  # each part in its own process, so each peak RSS is its own
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}", flush=True)
        for part in ("report", "semantic"):
            argv = ["--codes", str(args.codes), "--transcripts", str(args.transcripts),
                    "--turns", str(args.turns), "--per-turn", str(args.per_turn),
                    "--coders", str(args.coders),
                    "--semantic-turns", str(args.semantic_turns)]
            argv += ["--unique"] * args.unique + ["--pipeline"] * args.pipeline
            subprocess.run([sys.executable, "-m", "benchmarks.limits_scale", "--part", part,
                            *argv], check=True)
        return
    (run_report if args.part == "report" else run_semantic)(args)


if __name__ == "__main__":
    main()
