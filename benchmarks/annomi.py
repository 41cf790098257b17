"""AnnoMI benchmark: qualkit's suggestions against expert coders of counselling dialogues.

    python -m benchmarks.annomi [--shared ../shared] [--fractions 0.1 0.3 0.7] [--json OUT]

Transcripts are split, never utterances: the 7 transcripts coded by all 10 experts are always in
the test side, with a fixed 30% of the other 126 (seed 0); training uses 10%, 30% and 70% of all
other transcripts (nested subsets of the remaining 70%), and also nothing (the codebook alone).
On the 7-transcript subset the machine is also compared with each expert, beside the experts'
own pairwise range. Embeddings are cached in benchmarks/out/cache.db, so reruns are quick.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import time
from collections import defaultdict
from pathlib import Path

from qualkit.agreement import cohen_kappa
from qualkit.codebook import load_codebook
from qualkit.codedtable import TableRow, documents_from_rows
from qualkit.embed import Embedder
from qualkit.evaluate import evaluate, format_evaluation
from qualkit.store import Store

REPO = Path(__file__).resolve().parent.parent
TEN_CODER = ("7", "27", "55", "56", "66", "109", "130")
EXPERT_RANGE = {"therapist_behaviour": (0.578, 0.830, 0.737),
                "client_talk_type": (0.239, 0.647, 0.470)}


def shared_dir(arg: str | None) -> Path:
    for c in (arg, os.environ.get("QUALKIT_SHARED"), REPO.parent / "shared"):
        if c and Path(c, "data", "annomi").is_dir():
            return Path(c)
    raise SystemExit("AnnoMI data not found: pass --shared PATH (the folder holding data/annomi)")


def label(row: dict[str, str]) -> str:
    value = row["main_therapist_behaviour"] if row["interlocutor"] == "therapist" \
        else row["client_talk_type"]
    return "" if value in ("n/a", "") else value


def simple_rows(path: Path) -> dict[str, list[TableRow]]:
    """AnnoMI-simple as coded-segments rows, per transcript."""
    out: dict[str, list[TableRow]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            codes = [label(row)] if label(row) else []
            out[row["transcript_id"]].append(TableRow(
                row["transcript_id"], int(row["utterance_id"]), row["interlocutor"],
                row["utterance_text"], codes, "gold"))
    return out


def expert_labels(path: Path) -> dict[str, dict[tuple[str, int], str]]:
    """Per expert (annotator id): label of each utterance in the 7 ten-coder transcripts."""
    out: dict[str, dict[tuple[str, int], str]] = defaultdict(dict)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["transcript_id"] in TEN_CODER and label(row):
                out[row["annotator_id"]][(row["transcript_id"], int(row["utterance_id"]))] = \
                    label(row)
    return out


def split(ids: list[str], seed: int = 0) -> tuple[list[str], list[str]]:
    others = sorted((i for i in ids if i not in TEN_CODER), key=int)
    rng = random.Random(seed)
    rng.shuffle(others)
    n_test = round(0.3 * len(others))
    return others[n_test:], list(TEN_CODER) + others[:n_test]  # train pool, test


def machine_vs_experts(predictions, experts, codebook) -> dict[str, list[float]]:
    """Machine's kappa against each expert, per exclusive parent, on the ten-coder subset."""
    groups = {c.id: {k.id for k in c.children} for c in codebook.all_codes() if c.exclusive}
    parent = {k: g for g, kids in groups.items() for k in kids}
    result_preds: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for s in predictions:
        if s.code_id in parent:
            result_preds[(s.transcript, s.segment_index)][parent[s.code_id]] = s.code_id
    out = {}
    for group, kids in groups.items():
        kappas = []
        for _expert, labels in sorted(experts.items(), key=lambda kv: int(kv[0])):
            keys = [k for k, v in labels.items() if v in kids]
            truth = [labels[k] for k in keys]
            guess = [result_preds.get(k, {}).get(group, "none") for k in keys]
            kappas.append(round(cohen_kappa(truth, guess), 3))
        out[group] = kappas
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared")
    parser.add_argument("--fractions", type=float, nargs="*", default=[0.1, 0.3, 0.7])
    parser.add_argument("--codebook", default=str(REPO / "codebooks" / "annomi_mi.yaml"))
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "out" / "annomi.json"))
    args = parser.parse_args()
    data = shared_dir(args.shared) / "data" / "annomi"
    codebook = load_codebook(args.codebook)
    rows = simple_rows(data / "AnnoMI-simple.csv")
    experts = expert_labels(data / "AnnoMI-full.csv")
    pool, test_ids = split(list(rows))
    test_docs = documents_from_rows([r for t in test_ids for r in rows[t]], "annomi-test")
    (REPO / "benchmarks" / "out").mkdir(exist_ok=True)
    cache = Store(f"sqlite:///{REPO / 'benchmarks' / 'out' / 'cache.db'}")
    embedder = Embedder(cache)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"test: {len(test_ids)} transcripts ({len(TEN_CODER)} ten-coder + "
          f"{len(test_ids) - len(TEN_CODER)}), {sum(len(rows[t]) for t in test_ids)} utterances; "
          f"training pool: {len(pool)} transcripts")
    report: dict[str, dict] = {}
    for fraction in [0.0] + list(args.fractions):
        n_train = round(fraction * (len(pool) + len(test_ids) - len(TEN_CODER))) \
            if fraction else 0
        train_ids = pool[:min(n_train, len(pool))]
        train_docs = documents_from_rows([r for t in train_ids for r in rows[t]], "annomi-train") \
            if train_ids else []
        t0 = time.perf_counter()
        result = evaluate(codebook, test_docs, train_docs, embedder=embedder)
        seconds = time.perf_counter() - t0
        name = f"train {fraction:.0%} ({len(train_ids)} transcripts)" if fraction \
            else "codebook alone"
        print(f"\n== {name}: {seconds:.0f} s ==")
        print(format_evaluation(result))
        versus = machine_vs_experts(result.predictions, experts, codebook)
        for group, kappas in versus.items():
            lo, hi, mean = EXPERT_RANGE.get(group, (float("nan"),) * 3)
            print(f"machine vs each of the 10 experts, {group}: {min(kappas):.3f}-{max(kappas):.3f}"
                  f" (mean {sum(kappas) / len(kappas):.3f}); experts pairwise {lo:.3f}-{hi:.3f}"
                  f" (mean {mean:.3f})")
        report[name] = {**result.to_dict(), "seconds": round(seconds, 1),
                        "machine_vs_experts": versus}
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
