"""Rule coding speed against bare spaCy tokenization, and memory as the corpus grows.

    python -m benchmarks.rule_coding [--transcripts 1000] [--codebook codebooks/keyworker.yaml]

Both runs stream the same generated transcripts (benchmarks/corpus.py) and process the same
texts: the participant turns the codebook codes. The time spent generating the corpus is measured
in a pass of its own and taken off both runs. Memory is the process's resident set size,
sampled as the rule coder works through the corpus; streamed coding keeps it flat.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from pathlib import Path

from benchmarks.corpus import generate
from qualkit.codebook import load_codebook
from qualkit.suggest.rules import RuleSuggester

REPO = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def sample_density(suggester: RuleSuggester) -> float:
    """Rule suggestions per 1,000 coded words in sample_transcripts/, for comparison."""
    from qualkit.readers import find_transcripts, read_path

    words = found = 0
    for path in find_transcripts([REPO / "sample_transcripts"]):
        for doc in read_path(path):
            words += sum(len(s.text.split()) for s in doc.transcript.segments
                         if suggester._allowed(s))
            found += sum(len(s) for _, s in suggester.suggest([doc.transcript]))
    return 1000 * found / words if words else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs; best is kept")
    parser.add_argument("--codebook", default=str(REPO / "codebooks" / "keyworker.yaml"))
    args = parser.parse_args()
    n = args.transcripts

    import spacy

    suggester = RuleSuggester().fit(load_codebook(args.codebook))

    def coded():
        return ((g.transcript, s) for g in generate(n) for s in g.transcript.segments
                if suggester._allowed(s))

    list(suggester.suggest(g.transcript for g in generate(20, seed=99)))  # warm caches
    words = sum(len(seg.text.split()) for _, seg in coded())
    t0 = time.perf_counter()
    for _ in coded():
        pass
    t_gen = time.perf_counter() - t0

    bare = spacy.blank("en")
    list(bare.pipe(g.transcript.text for g in generate(20, seed=99)))  # warm caches

    def run_bare() -> float:
        t0 = time.perf_counter()
        for _ in bare.pipe((seg.text for _, seg in coded()), batch_size=256):
            pass
        return time.perf_counter() - t0 - t_gen

    samples: list[tuple[int, float]] = []
    suggestions = 0

    def run_rules() -> float:
        nonlocal suggestions
        suggestions = 0
        t0 = time.perf_counter()
        for i, (_, found) in enumerate(suggester.suggest(g.transcript for g in generate(n)), 1):
            suggestions += len(found)
            if i in (n // 10, n // 2, n) and len(samples) < 3:
                samples.append((i, rss_mb()))
        return time.perf_counter() - t0 - t_gen

    # Interleaved repeats, best of each: other load on the machine slows both alike.
    t_bare, t_rules = float("inf"), float("inf")
    for _ in range(args.repeat):
        t_bare = min(t_bare, run_bare())
        t_rules = min(t_rules, run_rules())

    bare_wps, rules_wps = words / t_bare, words / t_rules
    pipeline = "lookup-lemma spellings" if suggester.lookup_ else "full"
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"spaCy {spacy.__version__}, pipeline {pipeline}")
    print(f"corpus: {n} generated transcripts, {words:,} words in coded turns "
          f"(generation {t_gen:.2f} s, taken off both runs; best of {args.repeat})")
    print(f"bare spaCy tokenization (nlp.pipe): {bare_wps:12,.0f} words/s")
    print(f"rule coding (qualkit):              {rules_wps:12,.0f} words/s "
          f"({suggestions:,} suggestions)")
    print(f"suggestion density: {1000 * suggestions / words:.1f} per 1,000 words "
          f"(sample study: {sample_density(suggester):.1f})")
    print(f"ratio rule coding / tokenization:   {rules_wps / bare_wps:12.0%}  (target >= 70%)")
    print("memory (RSS) while coding: " + ", ".join(f"{i} transcripts {mb:.0f} MB"
                                                    for i, mb in samples))


if __name__ == "__main__":
    main()
