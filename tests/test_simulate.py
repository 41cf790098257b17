"""The replay benchmark (`qualkit evaluate --simulate`): a researcher replayed against a tiny gold
table with the rule suggester only, so every decision is known in advance."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from qualkit.codebook import parse_codebook
from qualkit.codedtable import TableRow, documents_from_rows, write_coded_table
from qualkit.errors import QualkitError
from qualkit.evaluate import gold_codes, score_predictions
from qualkit.simulate import (
    ece_floor,
    human_ceiling,
    parse_checkpoints,
    parse_suggesters,
    reliability,
    simulate,
    top_k_precision,
)
from qualkit.suggest.base import Scope, decide, views_of
from qualkit.suggest.rules import RuleSuggester

from .conftest import SMALL_CODEBOOK

# (text, gold codes, what the researcher does with the rule suggester's suggestions)
LINES = [
    ("I work alone most days.", ["working_alone"]),  # accept
    ("I love the job.", ["downbeat"]),  # upbeat suggested: accept as its sibling
    ("I offload to my partner at home.", []),  # no_debrief suggested: reject
    ("Nobody to talk to after visits.", ["no_debrief"]),  # nothing suggested: code by hand
    ("I enjoy it but I work alone.", ["upbeat", "working_alone"]),  # accept both
    # no_debrief and working_alone suggested, the gold has working_alone only: the sibling is
    # suggested itself, so no_debrief is rejected (not accepted as working_alone) and
    # working_alone accepted
    ("There is no one to debrief with, I am a lone worker.", ["working_alone"]),
]
PER_TRANSCRIPT = {"accepted": 4, "accepted_as": 1, "rejected": 2, "hand_coded": 1}  # 8


def rows(doc: str, shift: int) -> list[TableRow]:
    out = []
    for i, (text, codes) in enumerate(LINES[shift:] + LINES[:shift]):
        out.append(TableRow(doc, 2 * i, "Interviewer", "Can you say more?", [], "gold"))
        out.append(TableRow(doc, 2 * i + 1, "Dana", text, codes, "gold"))
    return out


@pytest.fixture
def gold():
    return documents_from_rows([r for i in range(4) for r in rows(f"t{i}", i)])


@pytest.fixture
def replay(tmp_path, small_codebook, gold):
    work = tmp_path / "work"
    seen = []
    sim = simulate(small_codebook, gold, checkpoints=(0, 8, 10, 20), suggesters=("rules",),
                   seed=3, progress=lambda done, total, item: seen.append((done, total, item)),
                   workdir=work)
    return sim, work, seen


def test_decisions_are_counted_and_checkpoints_report_the_actual_count(replay):
    sim, _, seen = replay
    assert [c.checkpoint for c in sim.checkpoints] == [0, 8, 10, 20]
    # one transcript is 8 decisions; a checkpoint is reached once the count is at least it
    assert [c.decisions for c in sim.checkpoints] == [0, 8, 16, 24]
    assert [c.reviewed for c in sim.checkpoints] == [0, 1, 2, 3]
    for cp in sim.checkpoints:
        n = cp.reviewed
        assert vars(cp.tally) == {k: v * n for k, v in PER_TRANSCRIPT.items()}
        assert cp.decisions == cp.tally.decisions
        # every gold coding of a reviewed transcript was found: 6 of 8 decisions
        assert cp.found == 6 * n and (n == 0 or cp.effort == pytest.approx(0.75))
    assert math.isnan(sim.checkpoints[0].effort)
    assert sim.stopped == "" and sim.gold_codings == 4 * 6 and sim.turns == 4 * 6
    assert seen[-1][:2] == (4, 4)


def test_accept_as_a_sibling_and_hand_codes_over_the_whole_turn(replay):
    from qualkit.project import open_project

    sim, work, _ = replay
    project = open_project(work / "project")
    try:
        first = sim.order[0]
        tr = project.store.load_transcript(first)
        mine = project.store.codings(transcript=first, coder="researcher")
        by_id = {c.id: c for c in project.store.codings(transcript=first)}
        love = next(s for s in tr.segments if s.text == "I love the job.")
        [recoded] = [c for c in mine if c.segment_index == love.index]
        assert recoded.status == "accepted" and recoded.code_id == "downbeat"
        assert by_id[recoded.suggestion_id].code_id == "upbeat"
        nobody = next(s for s in tr.segments if s.text.startswith("Nobody to talk"))
        [hand] = [c for c in mine if c.segment_index == nobody.index]
        assert (hand.code_id, hand.source, hand.start, hand.end) == (
            "no_debrief", "manual", nobody.start, nobody.end)
        lone = next(s for s in tr.segments if s.text.startswith("There is no one"))
        decided = {by_id[c.suggestion_id].code_id: c.status for c in mine
                   if c.segment_index == lone.index}
        assert decided == {"no_debrief": "rejected", "working_alone": "accepted"}
        # the researcher's codes on the reviewed transcripts are exactly the gold
        gold = gold_codes(documents_from_rows([r for i in range(4) for r in rows(f"t{i}", i)]))
        for name in sim.order[:3]:
            coded = {(name, c.segment_index, c.code_id) for c in project.store.codings(
                transcript=name, coder="researcher", status="accepted")}
            assert coded == {(name, seg, code) for (doc, seg), codes in gold.items()
                             if doc == name for code in codes}
        assert not project.store.codings(transcript=sim.order[3], coder="researcher")
    finally:
        project.close()


def test_figures_are_on_the_transcripts_not_yet_reviewed(replay, gold):
    sim, _, _ = replay
    book = parse_codebook(SMALL_CODEBOOK)
    scope = Scope(book)
    rules = RuleSuggester().fit(book)
    by_name = {d.transcript.name: d for d in gold}
    for cp in sim.checkpoints:
        left = [by_name[n] for n in sim.order[cp.reviewed:]]
        assert cp.measured == len(left) == 4 - cp.reviewed and cp.turns == 6 * len(left)
        [ts] = cp.machine.scored_on
        assert (ts.turns, ts.transcripts) == (cp.turns, cp.measured)
        # an independent computation on those transcripts alone gives the same figures
        views = [v for d in left for v in views_of(d.transcript)]
        expected = score_predictions(views, gold_codes(left),
                                     decide(rules.score(views), views, scope, "rules"), scope)
        assert cp.machine.codes == expected.codes and cp.machine.groups == expected.groups
        # per turn: 7 suggestions and 6 gold codes in every 6 turns
        assert cp.suggestions_per_turn == pytest.approx(7 / 6, abs=1e-4)
        assert cp.gold_per_turn == pytest.approx(6 / 6, abs=1e-4)
        assert cp.many_share == 0.0 and cp.turns_with_suggestions == 5 * len(left)
        # calibration is judged on the suggestions that show a percentage, and only on them
        assert sum(b.count for b in cp.reliability) == cp.calibrated <= cp.suggestions
        if not cp.calibrated:
            assert math.isnan(cp.ece)
    # before any decision nothing shows a percentage, and the machine is the codebook alone
    first = sim.checkpoints[0]
    assert first.calibrated == 0 and first.codebook.codes == first.machine.codes
    # the baseline learns only from decisions: nothing at the start, something later
    assert sim.checkpoints[0].baseline.macro["f1"] == 0.0
    assert all(m.predicted == 0 for m in sim.checkpoints[0].baseline.codes.values())
    assert any(m.predicted for m in sim.checkpoints[-1].baseline.codes.values())


def test_expected_calibration_error_on_a_hand_made_example():
    conf = [0.05, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95, 1.0, 0.1]
    hit = [False, True, False, True, True, True, False, True, True]
    table, ece = reliability(conf, hit)
    assert [b.count for b in table] == [1, 3, 0, 0, 0, 0, 0, 0, 0, 5]
    assert table[1].mean_confidence == pytest.approx((0.15 + 0.15 + 0.1) / 3, abs=1e-4)
    assert table[1].precision == pytest.approx(2 / 3, abs=1e-4)
    assert table[9].mean_confidence == pytest.approx(0.96) and table[9].precision == 0.8
    assert math.isnan(table[2].precision) and math.isnan(table[2].mean_confidence)
    by_hand = (1 * abs(0 - 0.05) + 3 * abs(2 / 3 - 0.4 / 3) + 5 * abs(0.8 - 0.96)) / 9
    assert ece == pytest.approx(by_hand, abs=1e-4)
    # perfectly calibrated: half right at 0.5, all right at 1
    assert reliability([0.5, 0.5, 1.0], [True, False, True])[1] == 0.0
    assert math.isnan(reliability([], [])[1])


def test_the_ece_floor_falls_with_more_suggestions_and_is_zero_when_certain():
    """Exact percentages still show an ECE on a few suggestions; the floor says how much."""
    few = ece_floor([0.3, 0.5, 0.7, 0.9] * 25)
    many = ece_floor([0.3, 0.5, 0.7, 0.9] * 2500)
    assert 0.03 < few < 0.12 and many < 0.01 and many < few / 4
    assert ece_floor([1.0, 0.0] * 10) == 0.0
    assert ece_floor([0.4] * 50, seed=1) == ece_floor([0.4] * 50, seed=1)  # seeded
    assert math.isnan(ece_floor([]))


def test_top_k_precision():
    ranked = [[True, False, False, True], [False, True], [True]]
    assert top_k_precision(ranked, 1) == pytest.approx(2 / 3, abs=1e-4)
    assert top_k_precision(ranked, 3) == pytest.approx((1 / 3 + 1 / 2 + 1) / 3, abs=1e-4)
    assert math.isnan(top_k_precision([], 1))


def test_stops_when_the_gold_runs_out(tmp_path, small_codebook, gold):
    sim = simulate(small_codebook, gold[:2], checkpoints=(0, 100), suggesters=("rules",),
                   workdir=tmp_path / "w")
    assert [c.checkpoint for c in sim.checkpoints] == [0]
    assert "every transcript was reviewed after 16 decisions" in sim.stopped
    assert sorted(sim.order) == ["t0", "t1"]


def test_the_order_is_seeded(tmp_path, small_codebook, gold):
    a = simulate(small_codebook, gold, (0,), ("rules",), seed=1, workdir=tmp_path / "a")
    b = simulate(small_codebook, gold, (0,), ("rules",), seed=1, workdir=tmp_path / "b")
    assert a.order == b.order and sorted(a.order) == ["t0", "t1", "t2", "t3"]


def test_human_ceiling_uses_the_same_scorer():
    book = parse_codebook(SMALL_CODEBOOK)
    a = documents_from_rows(rows("t0", 0))
    changed = [TableRow(r.document, r.segment, r.speaker, r.text,
                        ["upbeat"] if r.text == "I love the job." else r.codes, "b")
               for r in rows("t0", 0)]
    res = human_ceiling(book, a, documents_from_rows(changed))
    assert res.codes["working_alone"].f1 == 1.0
    assert res.codes["downbeat"].f1 == 0.0
    assert res.codes["upbeat"].f1 == pytest.approx(2 / 3, abs=1e-4)


def test_bad_input_is_a_qualkit_error():
    assert parse_checkpoints("50, 0,25,25") == (0, 25, 50)
    for bad in ("0,x", "-5", " , "):
        with pytest.raises(QualkitError):
            parse_checkpoints(bad)
    assert parse_suggesters("rules, learned") == ("rules", "learned")
    with pytest.raises(QualkitError, match="unknown suggester 'magic'"):
        parse_suggesters("rules,magic")


def test_cli_simulate(tmp_path, small_codebook):
    from qualkit.cli import app

    table = tmp_path / "gold.csv"
    write_coded_table([r for i in range(3) for r in rows(f"t{i}", i)], table)
    runner = CliRunner()
    base = ["evaluate", "--codebook", str(small_codebook), "--test", str(table)]
    out = tmp_path / "sim.json"
    r = runner.invoke(app, base + ["--simulate", "--checkpoints", "0,8", "--suggesters", "rules",
                                   "--seed", "2", "--embeddings", "multilingual",
                                   "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "== checkpoint 8: 8 decisions (4 accepted, 1 accepted as a sibling, 2 rejected, " \
           "1 coded by hand) ==" in r.output
    assert "over 12 participant turns of 2 transcripts" in r.output
    assert "expected calibration error" in r.output and "summary" in r.output
    assert "multilingual embeddings" in r.output
    # rules alone learn nothing: the checkpoint says every code rests on the codebook
    assert "suggestions from a learned model for 0 codes (the codebook alone for every " \
           "code)" in r.output
    data = json.loads(out.read_text())
    assert [c["checkpoint"] for c in data["checkpoints"]] == [0, 8]
    assert data["embeddings"] == "multilingual"
    cp = data["checkpoints"][1]
    assert cp["decisions"] == 8 and cp["reviewed"] == 1 and cp["measured"] == 2
    assert cp["learned_codes"] == []
    assert set(cp["machine"]) >= {"codes", "macro", "macro_over", "groups"}
    assert len(cp["reliability"]) == 10 and "f1" in cp["baseline"]["macro"]
    for args, message in (
            (["--simulate", "--checkpoints", "0,x"], "checkpoint 'x' is not a whole number"),
            (["--simulate", "--suggesters", "magic"], "unknown suggester 'magic'"),
            (["--seed", "3"], "go with --simulate"),
            (["--simulate", "--embeddings", "klingon"], "unknown embedding model 'klingon'"),
            (["--simulate", "--train", str(table)], "--train does not go with --simulate")):
        r = runner.invoke(app, base + args)
        assert r.exit_code == 1 and message in r.output, (args, r.output)
