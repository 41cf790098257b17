"""Batch coding on a Dask cluster (qualkit.cluster): the same suggestions as one process, one
writer, resumable after a failure without duplicates, and the workers' vectors in the project's
cache. The cluster is a real local one, its workers threads of the test process."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from benchmarks.corpus import generate
from qualkit import pipeline
from qualkit.cli import app
from qualkit.cluster import ClusterSpec
from qualkit.errors import QualkitError
from qualkit.pipeline import code_project
from qualkit.suggest.base import Scope

ALL = ("rules", "semantic", "learned")
NAMES = [f"gen_{i:04d}" for i in range(6)]


def transcripts() -> list:
    return [g.transcript for g in generate(len(NAMES), seed=3, turns=8, sentences=4)]


def who(db_url: str) -> str:
    """The name work is recorded under: on a server, the database login."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).username or "ann"


def decide(i: int, _sug) -> str:
    return "accept" if i % 3 else "reject"


def local() -> ClusterSpec:
    return ClusterSpec(workers=2, processes=False, batch=2)


def machine(project) -> list[tuple]:
    """Every pending machine suggestion, as what a coder would see of it."""
    return sorted((c.transcript, c.segment_index, c.code_id, c.start, c.end, c.source,
                   c.rationale, round(c.score or 0.0, 5),
                   None if c.confidence is None else round(c.confidence, 5))
                  for c in project.store.codings(status="suggested"))


def test_cluster_gives_the_same_suggestions_as_one_process(make_project, db_url):
    # decisions on two transcripts' rule suggestions, so the learned suggester and the
    # calibration are fitted and shipped too
    ann = who(db_url)
    setup = {"transcripts": transcripts(), "suggesters": ("rules",),
             "decisions": {ann: decide}, "actor": ann}
    one = make_project("one", **setup)
    spread = make_project("spread", db_url=db_url, **setup)
    single = code_project(one, actor=ann, suggesters=ALL)
    report = code_project(spread, actor=ann, suggesters=ALL, cluster=local())
    assert report.examples == single.examples > 0
    assert report.transcripts == single.transcripts == len(NAMES)
    assert machine(spread) == machine(one)
    assert machine(one)  # something was suggested
    assert report.by_code == single.by_code


def test_worker_vectors_land_in_the_project_cache(make_project, db_url):
    ann = who(db_url)
    project = make_project(db_url=db_url, transcripts=transcripts(), actor=ann)
    report = code_project(project, actor=ann, suggesters=("rules", "semantic"),
                          cluster=local())
    assert report.embedded > 0
    scope = Scope(project.codebook())
    texts = [t for tr in project.store.iter_transcripts()
             for t in pipeline.texts_to_embed(tr, scope, True, False)]
    from qualkit.embed import MODEL_ID, text_hash

    hashes = sorted({text_hash(t) for t in texts})
    assert hashes and set(project.store.get_embeddings(MODEL_ID, hashes)) == set(hashes)
    # a second run finds every vector in the cache: the workers compute nothing
    again = code_project(project, actor=ann, suggesters=("rules", "semantic"),
                         cluster=local())
    assert again.embedded == 0


def counts(project) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in project.store.codings(status="suggested"):
        out[c.transcript] = out.get(c.transcript, 0) + 1
    return out


def test_workers_embed_with_the_project_s_model(make_project):
    """A multilingual project's workers load e5, not MiniLM: the same suggestions as one
    process, and every vector they return cached under e5's name."""
    from qualkit.embed import E5_ID, MODEL_ID, text_hash

    setup = {"transcripts": transcripts()[:4], "actor": "ann"}
    one, spread = make_project("one", **setup), make_project("spread", **setup)
    for project in (one, spread):
        project.set_embeddings("multilingual", "ann")
    code_project(one, actor="ann", suggesters=("rules", "semantic"))
    code_project(spread, actor="ann", suggesters=("rules", "semantic"), cluster=local())
    assert machine(spread) == machine(one) and machine(one)
    scope = Scope(spread.codebook())
    hashes = sorted({text_hash(t) for tr in spread.store.iter_transcripts()
                     for t in pipeline.texts_to_embed(tr, scope, True, False)})
    assert set(spread.store.get_embeddings(E5_ID, hashes)) == set(hashes)
    assert not spread.store.get_embeddings(MODEL_ID, hashes)


def test_workers_match_a_german_codebook_on_german_lemmas(make_project):
    """The pipeline travels by its language: a worker loads the German one, so it tokenizes
    "bin's" as one process does (the English tokenizer splits it) and finds "Kollegen" for
    the keyword "Kollege"."""
    from .test_rules import GERMAN_BOOK

    texts = {f"de_{i}.txt": f"Interviewer: Und?\nDana: Meine Kollegen helfen. Ich bin's leid, "
                            f"Fall {i}.\n" for i in range(4)}
    setup = {"codebook": GERMAN_BOOK, "transcripts": texts, "actor": "ann"}
    one, spread = make_project("one", **setup), make_project("spread", **setup)
    code_project(one, actor="ann", suggesters=("rules",))
    code_project(spread, actor="ann", suggesters=("rules",), cluster=local())
    assert machine(spread) == machine(one)
    assert [c[2] for c in machine(one)] == ["colleagues", "fed_up"] * 4


def test_a_failed_transcript_leaves_the_others_saved_and_a_rerun_completes(
        make_project, db_url, monkeypatch):
    reference = make_project("reference", transcripts=transcripts())
    code_project(reference, actor="ann", suggesters=("rules", "semantic"))
    ann = who(db_url)
    project = make_project("broken", db_url=db_url, transcripts=transcripts(), actor=ann)
    real = pipeline.suggestions_for

    def fails_on_one(suggester, transcript):
        if transcript.name == NAMES[2]:
            raise RuntimeError("worker ran out of memory")
        return real(suggester, transcript)

    monkeypatch.setattr(pipeline, "suggestions_for", fails_on_one)
    with pytest.raises(QualkitError, match=f"1 of 6 transcripts were not coded.*{NAMES[2]}"
                                           ".*ran out of memory"):
        code_project(project, actor=ann, suggesters=("rules", "semantic"), cluster=local())
    saved = counts(project)
    assert NAMES[2] not in saved
    assert {n: saved[n] for n in saved} == {n: v for n, v in counts(reference).items()
                                            if n != NAMES[2]}
    monkeypatch.setattr(pipeline, "suggestions_for", real)
    code_project(project, actor=ann, suggesters=("rules", "semantic"), cluster=local())
    assert machine(project) == machine(reference)  # completed, nothing twice


def test_a_lost_task_loses_only_its_batch(make_project, monkeypatch):
    import qualkit.cluster as cluster

    reference = make_project("reference", transcripts=transcripts())
    code_project(reference, actor="ann", suggesters=("rules",))
    project = make_project("lost", transcripts=transcripts())
    real = cluster.code_batch

    def dies(key, payload, batch, known):
        if any(t.name == NAMES[0] for t in batch):
            raise OSError("worker lost")
        return real(key, payload, batch, known)

    monkeypatch.setattr(cluster, "code_batch", dies)
    with pytest.raises(QualkitError, match="2 of 6 transcripts were not coded"):
        code_project(project, actor="ann", suggesters=("rules",), cluster=local())
    assert set(counts(project)) == set(counts(reference)) - {NAMES[0], NAMES[1]}
    monkeypatch.setattr(cluster, "code_batch", real)
    code_project(project, actor="ann", suggesters=("rules",), cluster=local())
    assert machine(project) == machine(reference)


def test_the_cluster_follows_a_rename_made_while_it_works(make_project):
    """Someone renames a code while the workers run: the writer's next write is refused by the
    store, the run refits, ships the new suggesters once, and suggests again every transcript
    whose suggestions were made with the old ones."""
    from qualkit.codebook import edit
    from qualkit.project import open_project

    project = make_project(transcripts=transcripts())
    real = project.store.replace_suggestions
    calls = []

    def rename_second(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            other = open_project(project.root)
            edit.apply_change(other, edit.rename_code(other.codebook(), "working_alone",
                                                      new_id="lone_work"), "bob")
            other.close()
        return real(*args, **kwargs)

    project.store.replace_suggestions = rename_second
    report = code_project(project, actor="ann", suggesters=("rules",), cluster=local())
    assert report.transcripts == len(NAMES)
    codes = {c.code_id for c in project.store.codings(status="suggested")}
    assert "lone_work" in codes and "working_alone" not in codes
    reference = make_project("reference", transcripts=transcripts())
    edit.apply_change(reference, edit.rename_code(reference.codebook(), "working_alone",
                                                  new_id="lone_work"), "bob")
    code_project(reference, actor="ann", suggesters=("rules",))
    assert [m[:5] for m in machine(project)] == [m[:5] for m in machine(reference)]


def test_cli_refuses_a_bad_cluster_address_in_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["code", "--cluster", "localhost:8786", "--project",
                                 str(tmp_path)])
    assert result.exit_code == 1
    assert "is not a scheduler address" in result.output and "tcp://HOST:8786" in result.output
    result = runner.invoke(app, ["code", "--workers", "0", "--project", str(tmp_path)])
    assert result.exit_code == 1 and "--workers 0 must be 1 or more" in result.output
    result = runner.invoke(app, ["code", "--workers", "1", "--cluster", "tcp://h:8786",
                                 "--project", str(tmp_path)])
    assert result.exit_code == 1 and "either a scheduler address or a number" in result.output
