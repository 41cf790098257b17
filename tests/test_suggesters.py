"""Semantic, learned and combined suggesters with the real MiniLM model and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from qualkit.codebook import parse_codebook
from qualkit.embed import Embedder
from qualkit.model import Transcript
from qualkit.segment import TextBuilder
from qualkit.store import Store
from qualkit.suggest.base import Example, NotFittedError, views_of
from qualkit.suggest.combine import CombinedSuggester, noisy_or
from qualkit.suggest.learned import LearnedSuggester, uncertainty
from qualkit.suggest.semantic import SemanticSuggester, chunks

BOOK = parse_codebook("""
name: Travel and money
speakers: [participant]
codes:
  - id: topics
    name: Topics
    definition: What the participant talks about.
    children:
      - id: travel
        name: Rural travel
        definition: Long journeys by car or bus between villages to reach clients.
        examples: ["I spend hours driving between the villages every week."]
        keywords: [mileage]
      - id: funding
        name: Funding insecurity
        definition: Worry that the service's short-term funding or contract will end.
        examples: ["Nobody knows if the contract will be renewed next March."]
  - id: mood
    name: Mood
    exclusive: true
    children:
      - id: upbeat
        name: Upbeat
        definition: The participant sounds positive, happy and satisfied.
        examples: ["I really love this job, it's brilliant."]
      - id: downbeat
        name: Downbeat
        definition: The participant sounds negative, tired and unhappy.
        examples: ["Honestly I'm exhausted and fed up with it all."]
""")

TRAVEL = ["The drive out to the farms takes me an hour each way.",
          "Buses only run twice a day up the valley, so clients miss appointments.",
          "I clock up so many miles in the car visiting people in remote hamlets.",
          "Getting from one village to the next eats half my day on those roads."]
FUNDING = ["Our funding runs out next year and nobody has told us what happens after.",
           "Every spring we wait to hear whether the grant will be renewed.",
           "The commissioners keep the contract on a twelve-month rolling basis.",
           "I might be redundant if the bid isn't successful."]


def transcript(name: str, answers: list[str]) -> Transcript:
    b = TextBuilder()
    for a in answers:
        b.add("Interviewer", "Can you say more?")
        b.add("Sam", a)
    return Transcript(name, b.text, b.segments)


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_chunks_are_exact_trimmed_sentences():
    text = "Yes. I drive a lot, honestly. Nobody else. Then I go home and rest for a while."
    spans = chunks(text)
    assert [text[a:b] for a, b in spans] == ["Yes. I drive a lot, honestly.",
                                              "Nobody else. Then I go home and rest for a while."]


def test_embedder_cache_means_a_second_run_computes_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    first = Embedder(store)
    a = first.encode(["one text", "another text", "one text"])
    assert first.computed == 2 and a.shape == (3, 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    second = Embedder(Store(f"sqlite:///{tmp_path / 'c.db'}"))
    b = second.encode(["another text", "one text"])
    assert second.computed == 0 and np.allclose(b, a[[1, 0]])


def test_semantic_finds_codes_from_the_codebook_alone(embedder):
    tr = transcript("t1", [TRAVEL[0] + " After that I usually stop for a coffee in town.",
                           FUNDING[0]])
    sem = SemanticSuggester(embedder).fit(BOOK)
    views = views_of(tr)
    scores = sem.score(views)
    j_travel, j_funding = scores.codes.index("travel"), scores.codes.index("funding")
    assert scores.values[1, j_travel] > scores.values[1, j_funding]
    assert scores.values[3, j_funding] > scores.values[3, j_travel]
    assert not scores.values[0].any() and not scores.values[2].any()  # interviewer turns
    assert scores.values[:, scores.codes.index("topics")].max() == 0  # themes are not suggested
    a, b = scores.spans[(1, j_travel)]
    assert tr.text[a:b] == TRAVEL[0]
    assert "similar (" in scores.rationale[(1, j_travel)]


def test_semantic_calibrates_on_decisions(embedder):
    tr = transcript("t1", TRAVEL + FUNDING)
    views = [v for v in views_of(tr) if v.segment.speaker == "Sam"]
    examples = [Example(v, frozenset({"travel"}), frozenset({"funding"})) for v in views[:4]] + \
               [Example(v, frozenset({"funding"}), frozenset({"travel"})) for v in views[4:]]
    sem = SemanticSuggester(embedder).fit(BOOK, examples)
    assert set(sem.curves_) == {sem.codes_.index("travel"), sem.codes_.index("funding")}
    assert sum(p.kind == "accepted extract" for p in sem.prototypes_) == 8


def labelled(embedder, n_transcripts: int = 4) -> list[Example]:
    out = []
    for t in range(n_transcripts):
        tr = transcript(f"t{t}", TRAVEL[t:] + TRAVEL[:t] + FUNDING[t:] + FUNDING[:t])
        for v in views_of(tr):
            if v.segment.speaker != "Sam":
                continue
            code = "travel" if v.segment.text in TRAVEL else "funding"
            other = "funding" if code == "travel" else "travel"
            mood = "downbeat" if code == "funding" else "upbeat"
            out.append(Example(v, frozenset({code, mood}),
                               frozenset({other, "downbeat" if mood == "upbeat" else "upbeat"})))
    return out


def test_learned_suggester_learns_and_orders_by_uncertainty(embedder):
    with pytest.raises(NotFittedError):
        LearnedSuggester(embedder).score([])
    examples = labelled(embedder)
    learned = LearnedSuggester(embedder).fit(BOOK, examples)
    assert learned.exhaustive_ == ["mood"]
    new = transcript("new", ["Another long drive on the moor roads to see a client today.",
                             "The grant might not be renewed, we're all worried.",
                             "It was a Tuesday."])
    views = views_of(new)
    scores = learned.score(views)
    t, f = scores.codes.index("travel"), scores.codes.index("funding")
    assert scores.values[1, t] > 0.5 > scores.values[1, f]
    assert scores.values[3, f] > 0.5 > scores.values[3, t]
    assert "learned from 32 decisions" in scores.rationale[(1, t)]
    order = np.argsort(-uncertainty(scores.values[[1, 3, 5]]))
    assert order[0] == 2  # the neutral sentence is the least certain


def test_combined_without_decisions_is_rules_or_semantic(embedder):
    combined = CombinedSuggester(embedder).fit(BOOK)
    assert set(combined.components_) == {"rules", "semantic"}
    tr = transcript("t", ["My mileage claims are huge. " + TRAVEL[0], "It was a Tuesday."])
    [(_, suggestions)] = list(combined.suggest([tr]))
    travel = [s for s in suggestions if s.code_id == "travel"]
    assert travel and "matched keyword" in travel[0].rationale and "similar" in travel[0].rationale
    assert travel[0].source == "rules+semantic"
    assert all(s.segment_index % 2 == 1 for s in suggestions)  # only the participant's turns
    assert np.allclose(noisy_or(np.array([0.5]), np.array([0.5])), [0.75])


def test_combined_with_decisions_stacks_and_keeps_exclusive_parents_to_one_child(embedder):
    examples = labelled(embedder, 4)
    combined = CombinedSuggester(embedder).fit(BOOK, examples)
    assert "learned" in combined.components_ and combined.stack_
    assert "mood" in combined.exhaustive_
    new = transcript("new", ["Another long drive on the moor roads to see a client today.",
                             "The grant might not be renewed, we're all worried."])
    [(_, suggestions)] = list(combined.suggest([new]))
    by_seg: dict[int, set[str]] = {}
    for s in suggestions:
        by_seg.setdefault(s.segment_index, set()).add(s.code_id)
        assert 0.0 <= s.score <= 1.0
    assert "travel" in by_seg[1] and "funding" in by_seg[3]
    for codes in by_seg.values():
        assert len(codes & {"upbeat", "downbeat"}) == 1  # exhaustive and exclusive
