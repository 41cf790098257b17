"""Suggestion speed: the combined suggester over 10,000 turns with warm embeddings.

    python -m benchmarks.suggest_speed [--segments 10000] [--decisions 40] [--cold 1000]

Builds generated interview transcripts (benchmarks/corpus.py; 40 turns each, half of them the
participant's), measures cold embedding speed on fresh texts (sentences per second, no cache),
warms the embedding cache with every turn and sentence as `qualkit code` does, fits the
combined suggester (rules, semantic, learned) on decisions for the first transcripts (each
participant turn coded with the themes planted in it), and times scoring and deciding for all
turns. The target is under 10 s for 10,000 turns once embeddings are cached.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import THEMES, generate, topic_corpus
from qualkit.codebook import load_codebook
from qualkit.embed import Embedder
from qualkit.model import Coding
from qualkit.store import Store
from qualkit.suggest.base import Scope, views_of
from qualkit.suggest.combine import CombinedSuggester
from qualkit.suggest.semantic import chunks
from qualkit.suggest.training import examples_from_codings

REPO = Path(__file__).resolve().parent.parent
TURNS = 40
SENTENCE_THEME = {s: theme for theme, sentences in THEMES.items() for s in sentences}


def planted_codings(transcript) -> list[Coding]:
    """Each participant turn coded with the themes of the planted sentences it holds."""
    out = []
    for seg in transcript.segments:
        for theme in sorted({t for s, t in SENTENCE_THEME.items() if s in seg.text}):
            out.append(Coding(code_id=theme, transcript=transcript.name, start=seg.start,
                              end=seg.end, coder="bench", status="accepted", source="import",
                              segment_index=seg.index))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=40,
                        help="transcripts whose turns count as decided (training)")
    parser.add_argument("--cold", type=int, default=1000, help="texts for the cold-embedding run")
    parser.add_argument("--codebook", default=str(REPO / "codebooks" / "keyworker.yaml"))
    parser.add_argument("--cache", help="embedding cache database to keep (default: a temporary "
                        "one, so the cache is warmed from scratch)")
    parser.add_argument("--profile", help="write a cProfile of the suggesting step here")
    args = parser.parse_args()
    codebook = load_codebook(args.codebook)
    n_transcripts = max(1, args.segments // TURNS)
    transcripts = [g.transcript for g in generate(n_transcripts, seed=11, turns=TURNS)]
    n_segments = sum(len(t.segments) for t in transcripts)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"corpus: {n_transcripts} generated transcripts, {n_segments:,} turns")

    # Cold embedding, model already loaded, no cache: single sentences (the unit the model's
    # speed is quoted in) and whole participant turns (about six sentences each).
    sentences = list(dict.fromkeys(topic_corpus(3 * args.cold, seed=12345)[0]))[:args.cold]
    turns = [s.text for g in generate(args.cold // (TURNS // 2) + 1, seed=12345, turns=TURNS)
             for s in g.transcript.segments if s.role != "interviewer"][:args.cold // 4]
    cold = Embedder()
    cold.encode(["warm up the model"])
    for label, texts in (("sentences", sentences), ("turns", turns)):
        t0 = time.perf_counter()
        cold.encode(texts)
        took = time.perf_counter() - t0
        words = sum(len(t.split()) for t in texts) / len(texts)
        print(f"cold embedding: {len(texts)} {label} ({words:.0f} words each) in {took:.1f} s, "
              f"{len(texts) / took:.0f} {label}/s"
              + (" (target: about 200 sentences/s on 2 cores)" if label == "sentences" else ""))

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{args.cache or Path(tmp) / 'cache.db'}")
        embedder = Embedder(store)
        texts = []
        for t in transcripts:
            for seg in t.segments:
                texts.append(seg.text)
                texts.extend(seg.text[a:b] for a, b in chunks(seg.text))
        t0 = time.perf_counter()
        embedder.encode(texts)
        print(f"warming the cache: {len(set(texts)):,} distinct texts "
              f"({embedder.computed:,} embedded) in {time.perf_counter() - t0:.1f} s")

        scope = Scope(codebook)
        train = transcripts[:args.decisions]
        examples = [ex for t in train
                    for ex in examples_from_codings(t, planted_codings(t), scope, True)]
        t0 = time.perf_counter()
        suggester = CombinedSuggester(embedder).fit(codebook, examples)
        fit_s = time.perf_counter() - t0
        print(f"fit: {len(examples)} decided turns from {len(train)} transcripts in {fit_s:.1f} s "
              f"(components: {suggester.source}; stacked: {suggester.stacked})")

        # A fresh Embedder on the same cache: vectors come from the database, not memory.
        suggester.embedder = Embedder(store)
        for part in suggester.components_.values():
            for attr in ("embedder", "embedder_"):
                if hasattr(part, attr):
                    setattr(part, attr, suggester.embedder)
            features = getattr(part, "features_", None)
            if features is not None:
                features.embedder = suggester.embedder
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0, cpu0 = time.perf_counter(), time.process_time()
        total = 0
        for t in transcripts:
            views = views_of(t)
            total += len(suggester.decide(suggester.score(views), views))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        print(f"suggesting: {n_segments:,} turns, warm embeddings, in {seconds:.1f} s "
              f"({n_segments / seconds:,.0f} turns/s; {total:,} suggestions; target < 10 s); "
              f"CPU time {cpu:.1f} s, load average {os.getloadavg()[0]:.1f}")
        print(f"  texts the model had to embed while suggesting: {suggester.embedder.computed}")


if __name__ == "__main__":
    main()
