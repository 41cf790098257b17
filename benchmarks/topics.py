"""Topic suggestions: planted-theme recovery, the sample study, and speed.

    python -m benchmarks.topics [--segments 5000] [--skip-sample]

1. Planted themes: a generated corpus (benchmarks/corpus.py, five themes) through the real
   UMAP + HDBSCAN path; adjusted Rand index of topics against the planted themes (target 0.8).
2. The sample study: sample_transcripts/ coded with codebooks/keyworker.yaml (rules); a topic
   run must flag a theme the codebook does not name (funding insecurity, rural travel) as a
   candidate new code.
3. Speed: a topic run over N passages with warm (cached) embeddings, in a fresh process so the
   numba compilation of UMAP is included (target: 5,000 in under 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SPEED = r"""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
from benchmarks.corpus import topic_corpus
from qualkit.embed import Embedder
from qualkit.store import Store
from qualkit.topics import Passage, TopicSettings, fit_topics
texts, truth = topic_corpus(int(sys.argv[2]), seed=1)
emb = Embedder(Store("sqlite:///" + sys.argv[3])).encode(texts)   # warm: from the cache
t = time.perf_counter()
from qualkit.topics import bertopic_embedder
passages = [Passage("t", i, 0, len(x), "P", x) for i, x in enumerate(texts)]
model, topics = fit_topics(passages, emb, TopicSettings(),
                           bertopic_embedder(Embedder(Store("sqlite:///" + sys.argv[3]))))
print(f"{time.perf_counter() - t:.1f} {len(set(topics) - {-1})}")
"""


def planted(cache: Path, n: int = 1000) -> None:
    from sklearn.metrics import adjusted_rand_score

    from benchmarks.corpus import topic_corpus
    from qualkit.embed import Embedder
    from qualkit.store import Store
    from qualkit.topics import Passage, TopicSettings, bertopic_embedder, fit_topics

    texts, truth = topic_corpus(n, seed=1)
    embedder = Embedder(Store(f"sqlite:///{cache}"))
    emb = embedder.encode(texts)
    passages = [Passage("t", i, 0, len(x), "P", x) for i, x in enumerate(texts)]
    _, topics = fit_topics(passages, emb, TopicSettings(seed=0), bertopic_embedder(embedder))
    print(f"planted themes: {len(set(truth))} themes, {n} passages -> "
          f"{len(set(topics) - {-1})} topics, adjusted Rand index "
          f"{adjusted_rand_score(truth, topics):.3f} (target >= 0.8)")


def sample_study() -> None:
    from qualkit.pipeline import code_project, import_paths
    from qualkit.project import init_project
    from qualkit.topics import run_topics

    with tempfile.TemporaryDirectory() as tmp:
        project = init_project(Path(tmp) / "p", REPO / "codebooks" / "keyworker.yaml", "bench")
        import_paths(project, [REPO / "sample_transcripts"], "bench")
        code_project(project, actor="bench", suggesters=("rules",))
        t = time.perf_counter()
        run = run_topics(project, actor="bench")
        print(f"sample study: {len(run.passages)} passages from {run.participants} transcripts "
              f"-> {len(run.topics)} topics in {time.perf_counter() - t:.0f} s (cold embeddings)")
        for topic in run.topics:
            print(f"  topic {topic.id:2d} [{topic.size:3d} passages, {topic.participants:2d}/"
                  f"{run.participants} participants, {topic.coded_share:4.0%} coded] "
                  f"{topic.label}" + (f"  <- {topic.hint}" if topic.hint else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=5000)
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args()
    out = REPO / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    cache = out / "cache.db"
    planted(cache)
    if not args.skip_sample:
        sample_study()
    from benchmarks.corpus import topic_corpus
    from qualkit.embed import Embedder
    from qualkit.store import Store

    texts, _ = topic_corpus(args.segments, seed=1)
    Embedder(Store(f"sqlite:///{cache}")).encode(texts)  # warm the cache first
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-c", SPEED, str(REPO), str(args.segments),
                             str(cache)], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seconds, n_topics = result.stdout.split()[-2:]
    # The CPU time covers the whole child process (imports too); it tells a busy machine's
    # slow wall clock from a slow program.
    print(f"speed: {args.segments} passages, warm embeddings, fresh process (numba compile "
          f"included): topic run {seconds} s, {n_topics} topics (target < 30 s); "
          f"whole process {cpu:.1f} s of CPU time; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
