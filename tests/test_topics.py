"""Topic suggestions: the fast path (PCA + KMeans) for the logic, and one real UMAP/HDBSCAN run
that must recover planted themes as separate topics."""

from __future__ import annotations

import json
import random

import pytest
from sklearn.metrics import adjusted_rand_score

from benchmarks.corpus import topic_corpus
from qualkit.model import Coding, ImportedDocument, Transcript
from qualkit.segment import TextBuilder
from qualkit.topics import (
    TopicSettings,
    latest_run,
    min_topic_size,
    promote,
    run_topics,
    topic_figures,
)

THEMES = ["funding", "travel", "pets"]


def corpus(n_transcripts: int = 6, per_theme: int = 8, seed: int = 1):
    """Transcripts of planted-theme sentences (benchmarks/corpus.py), one sentence a turn."""
    texts, themes = topic_corpus(n_transcripts * per_theme * len(THEMES), THEMES, seed)
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    docs, truth = [], []
    for t in range(n_transcripts):
        b = TextBuilder()
        for i in order[t::n_transcripts]:
            b.add("Interviewer", "And then?")
            b.add(f"P{t}", texts[i])
            truth.append(themes[i])
        docs.append(ImportedDocument(Transcript(f"t{t}", b.text, b.segments,
                                                {"works_alone": "yes" if t % 2 else "no"})))
    return docs, truth


@pytest.fixture
def topic_project(make_project):
    docs, truth = corpus()
    project = make_project(transcripts=docs)
    # the codebook's working_alone code already covers the travel passages in one transcript
    tr = docs[0].transcript
    for seg in tr.segments:
        if " between " in seg.text:  # the travel template
            project.store.create_coding(Coding("working_alone", "t0", seg.start, seg.end, "ann",
                                               segment_index=seg.index), "ann", "code")
    return project, truth


def test_min_topic_size_scales_with_the_corpus():
    assert min_topic_size(100) == 10 and min_topic_size(3_000) == 43
    assert min_topic_size(1_000_000) == 150


def test_fast_path_topics_overlap_and_promotion(topic_project):
    project, truth = topic_project
    run = run_topics(project, TopicSettings(fast=True, n_topics=3), actor="ann")
    assert len(run.topics) == 3 and run.participants == 6
    assert sum(t.size for t in run.topics) == len(run.passages) == len(truth)
    labels = [p.topic for p in run.passages]
    assert adjusted_rand_score(truth, labels) > 0.8
    for topic in run.topics:
        assert topic.keywords and topic.label and len(topic.extracts) == 5
        assert topic.participants == 6
        words = " ".join(w for w, _ in topic.keywords)
        assert not {"the", "and", "to"} & set(words.split())  # stop words removed
    travel = max(run.topics, key=lambda t: t.overlap.get("working_alone", 0))
    assert travel.overlap["working_alone"] >= 6  # the coded travel passages of t0
    assert sum(t.candidate for t in run.topics) >= 2  # funding and pets carry no code
    assert all(t.hint == "candidate new code" for t in run.topics if t.candidate)
    # stored: the page can open the latest run without recomputing
    again = latest_run(project)
    assert again.id == run.id and [t.label for t in again.topics] == [t.label for t in run.topics]
    # figures are drawn only when asked for (the Topics page), from the stored run, then kept
    assert run.figures == {} and again.figures == {}
    # the map is drawn with the run's own embedding model, whatever the project uses now
    assert again.embeddings == "english"
    project.set_embeddings("multilingual", "ann")
    figures = topic_figures(project, again)
    from qualkit.embed import E5_ID, text_hash

    assert not project.store.get_embeddings(E5_ID, [text_hash(p.text) for p in run.passages])
    assert set(figures) == {"map", "barchart"} and latest_run(project).figures == figures
    [circles] = json.loads(figures["map"])["data"]
    assert sorted(circles["text"]) == sorted(str(t.id) for t in run.topics)
    bars = json.loads(figures["barchart"])["data"]
    assert [b["y"][::-1] for b in bars] == [[w for w, _ in t.keywords[:5]] for t in run.topics]
    funding = next(t for t in run.topics if any(w in ("funding", "contract", "renewed", "grant")
                                                for w, _ in t.keywords[:5]))
    code, added = promote(project, run, funding.id, "ann", name="Funding insecurity")
    assert code.id == "funding_insecurity" and project.codebook().get(code.id) is not None
    assert added == funding.size
    suggested = [c for c in project.store.codings(status="suggested") if c.code_id == code.id]
    assert len(suggested) == funding.size and all(c.source == "topic" for c in suggested)
    assert not [c for c in project.store.codings() if c.code_id == code.id
                and c.status == "accepted"]  # nothing applied without a person


@pytest.mark.slow
def test_real_umap_hdbscan_recovers_planted_themes(make_project):
    docs, truth = corpus(per_theme=20)  # 360 passages, as many phrasings as a real study
    project = make_project(transcripts=docs)
    run = run_topics(project, TopicSettings(seed=0), actor="ann")
    labels = [p.topic for p in run.passages]
    assert len(run.topics) >= 3
    assert adjusted_rand_score(truth, labels) >= 0.8
    assert set(topic_figures(project, run)) == {"barchart", "map"}
