"""Replay study: a researcher reviewing suggestions against a gold standard, checkpoint by
checkpoint (qualkit.simulate; the same as `qualkit evaluate --simulate`).

    python -m benchmarks.study [--data sample|sample-de|annomi|both] [--checkpoints 0,25,...]
                               [--max-transcripts N] [--suggesters rules,semantic,learned]
                               [--embeddings english|multilingual] [--codebook FILE]
                               [--seed 0 | --seeds 0,1,2,3] [--shared ../shared] [--json OUT]

- sample: benchmarks/gold/keyworker_gold.csv (the twenty sample interviews, adjudicated gold)
  with codebooks/keyworker.yaml: 20 sparse leaf codes, several per turn possible. Also the
  human ceiling: macro F1 of coder A's table against coder B's (benchmarks/gold), so the
  machine can be read as a share of it.
- sample-de: the same interviews and gold translated into German
  (benchmarks/gold/keyworker_gold_de.csv) against the English codebook: a study whose
  interviews are not in the codebook's language. Its ceiling is the English coders'.
  ``--codebook benchmarks/gold/keyworker_de.yaml`` gives it the codebook in German (the same
  codes; how it was made is in benchmarks/gold/README.md).
- annomi: AnnoMI-simple (expert-coded counselling dialogues) with codebooks/annomi_mi.yaml: two
  exclusive parents, a child on nearly every utterance. ``--max-transcripts N`` replays a seeded
  random sample of N of its 133 transcripts (seed 0, listed in the output), for a quicker run.

Every figure is printed: one table per checkpoint (per code and macro precision, recall, F1 and
kappa on the transcripts not yet reviewed; the TF-IDF baseline; suggestions and gold codes per
turn; turns with five or more suggestions; top-1 and top-3 precision; reliability and expected
calibration error; review effort), then a summary. Nothing is tuned here.

``--seeds`` replays each data set once per seed (the order the transcripts are opened in) and
ends with the headline figures of every order side by side: one order can flatter a design
that another order sinks, and the studies qualkit is used on come in orders nobody chose.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOLD = REPO / "benchmarks" / "gold"


def _progress(done: int, total: int, item: str) -> None:
    if item:
        print(f"  [{time.strftime('%H:%M:%S')}] {done}/{total} transcripts reviewed: {item}",
              file=sys.stderr, flush=True)


def sample_study(args: argparse.Namespace, table: str = "keyworker_gold.csv") -> dict:
    from qualkit.codebook import load_codebook
    from qualkit.codedtable import read_coded_table
    from qualkit.simulate import format_simulation, human_ceiling, simulate

    codebook = Path(args.codebook)
    gold = read_coded_table(GOLD / table)
    ceiling = human_ceiling(load_codebook(codebook),
                            read_coded_table(GOLD / "keyworker_coder_a.csv"),
                            read_coded_table(GOLD / "keyworker_coder_b.csv"))
    f1 = ceiling.macro["f1"]
    shown = codebook.relative_to(REPO) if codebook.is_relative_to(REPO) else codebook
    print(f"\n#### Sample study: benchmarks/gold/{table}, {shown}")
    print(f"human ceiling: coder A against coder B, macro F1 {f1:.3f} over "
          f"{ceiling.macro_over['f1']} codes (per code F1 "
          f"{min(m.f1 for m in ceiling.codes.values()):.3f}-"
          f"{max(m.f1 for m in ceiling.codes.values()):.3f}); 80% of it: {0.8 * f1:.3f}")
    t0 = time.perf_counter()
    sim = simulate(codebook, gold, args.checkpoints, args.suggesters, args.seed, _progress,
                   embeddings=args.embeddings)
    seconds = time.perf_counter() - t0
    print(format_simulation(sim, ceiling=f1))
    print(f"wall time: {seconds:.0f} s")
    return {"simulation": sim, "human_ceiling": ceiling.to_dict(),
            "wall_seconds": round(seconds, 1)}


def annomi_study(args: argparse.Namespace) -> dict:
    from benchmarks.annomi import shared_dir, simple_rows
    from qualkit.codedtable import documents_from_rows
    from qualkit.simulate import format_simulation, simulate

    rows = simple_rows(shared_dir(args.shared) / "data" / "annomi" / "AnnoMI-simple.csv")
    ids = sorted(rows, key=int)
    if args.max_transcripts and args.max_transcripts < len(ids):
        ids = sorted(random.Random(0).sample(ids, args.max_transcripts), key=int)
    gold = documents_from_rows([r for t in ids for r in rows[t]], "annomi")
    print("\n#### AnnoMI: AnnoMI-simple.csv, codebooks/annomi_mi.yaml")
    print(f"transcripts: {len(ids)} of {len(rows)}"
          + (f" (a random sample, seed 0: {', '.join(ids)})" if len(ids) < len(rows) else "")
          + f"; {sum(len(rows[t]) for t in ids)} utterances")
    t0 = time.perf_counter()
    sim = simulate(REPO / "codebooks" / "annomi_mi.yaml", gold, args.checkpoints,
                   args.suggesters, args.seed, _progress, embeddings=args.embeddings)
    seconds = time.perf_counter() - t0
    print(format_simulation(sim))
    print(f"wall time: {seconds:.0f} s")
    return {"transcript_ids": ids, "simulation": sim, "wall_seconds": round(seconds, 1)}


def across_orders(runs: dict[int, dict]) -> str:
    """Per data set, per seed and checkpoint: decisions (interviews reviewed), macro F1 of the
    machine / the codebook alone, ECE / its floor and the share of suggestions with a
    percentage, and from how many interviews on a learned model scored some codes; then how
    many checkpoints fell below the codebook or missed ECE 0.05."""
    from qualkit.evaluate import num

    lines = []
    for data in ("sample", "sample-de", "annomi"):
        below = missed = shown = measured = 0
        short = 0.0
        rows = []
        for seed, report in runs.items():
            if data not in report:
                continue
            cells = []
            checkpoints = report[data]["simulation"].checkpoints[1:]
            first = next((cp for cp in checkpoints if cp.learned_codes), None)
            for cp in checkpoints:
                f1, cb = cp.machine.macro["f1"], cp.codebook.macro["f1"]
                below += f1 < cb
                short = max(short, cb - f1)
                measured += 1
                share = cp.calibrated / cp.suggestions if cp.suggestions else 0.0
                if not math.isnan(cp.ece):  # a percentage was shown
                    shown += 1
                    missed += cp.ece > 0.05
                cells.append(f"{cp.decisions}({cp.reviewed}) {f1:.3f}/{cb:.3f} "
                             f"{num(cp.ece, 0)}/{num(cp.ece_floor, 0)} {share:.0%}")
            took = f"a learned model from {first.reviewed} interviews on ({first.decisions} " \
                f"decisions)" if first else "the codebook alone throughout"
            rows.append(f"  seed {seed}: " + "; ".join(cells) + f"; {took}")
        if rows:
            lines += [f"{data}: decisions (interviews) machine/codebook macro F1, ECE/floor, "
                      f"with %", *rows,
                      f"  below the codebook at {below} of {measured} checkpoints (by at most "
                      f"{short:.4f}); ECE over 0.05 at {missed} of the {shown} with percentages"]
    return "\n".join(lines)


def main() -> None:
    from qualkit.embed import DEFAULT_EMBEDDINGS, EMBEDDINGS
    from qualkit.evaluate import json_ready
    from qualkit.simulate import CHECKPOINTS, SUGGESTERS, parse_checkpoints, parse_suggesters

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("sample", "sample-de", "annomi", "both"),
                        default="both", help="sample-de: the sample in German, English codebook")
    parser.add_argument("--embeddings", choices=sorted(EMBEDDINGS), default=DEFAULT_EMBEDDINGS,
                        help="embedding model (qualkit.embed.EMBEDDINGS)")
    parser.add_argument("--codebook", type=lambda p: Path(p).resolve(),
                        default=REPO / "codebooks" / "keyworker.yaml",
                        help="the sample study's codebook (sample, sample-de)")
    parser.add_argument("--checkpoints", default=",".join(map(str, CHECKPOINTS)))
    parser.add_argument("--max-transcripts", type=int, default=None,
                        help="AnnoMI: replay a seeded random sample of this many transcripts")
    parser.add_argument("--suggesters", default=",".join(SUGGESTERS))
    parser.add_argument("--seed", type=int, default=0, help="order the transcripts are opened in")
    parser.add_argument("--seeds", help="several orders, e.g. 0,1,2,3, compared at the end")
    parser.add_argument("--shared", help="the folder holding data/annomi (default ../shared)")
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "out" / "study.json"))
    args = parser.parse_args()
    args.checkpoints = parse_checkpoints(args.checkpoints)
    args.suggesters = parse_suggesters(args.suggesters)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    except ValueError:
        parser.error(f"--seeds: {args.seeds!r} is not a comma-separated list of whole numbers "
                     "(e.g. 0,1,2,3)")
    print(f"checkpoints {','.join(map(str, args.checkpoints))}; suggesters "
          f"{','.join(args.suggesters)}; {args.embeddings} embeddings; seed "
          f"{','.join(map(str, seeds))}")
    runs: dict[int, dict] = {}
    for seed in seeds:
        args.seed = seed
        report = runs[seed] = {}
        if args.data in ("sample", "both"):
            report["sample"] = sample_study(args)
        if args.data == "sample-de":
            report["sample-de"] = sample_study(args, "keyworker_gold_de.csv")
        if args.data in ("annomi", "both"):
            report["annomi"] = annomi_study(args)
    if len(seeds) > 1:
        print("\n#### Across orders\n" + across_orders(runs))
    for report in runs.values():
        for study in report.values():
            study["simulation"] = study["simulation"].to_dict()
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = runs[seeds[0]] if len(seeds) == 1 else {str(s): r for s, r in runs.items()}
    out.write_text(json.dumps(json_ready(result), indent=2, allow_nan=False) + "\n",
                   encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
