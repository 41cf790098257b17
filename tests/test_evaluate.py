"""`qualkit evaluate`: its figures equal an independent computation with scikit-learn."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support
from typer.testing import CliRunner

from qualkit.codebook import parse_codebook
from qualkit.codedtable import TableRow, documents_from_rows, write_coded_table
from qualkit.evaluate import evaluate, gold_codes

from .conftest import SMALL_CODEBOOK

LINES = [
    ("I work alone most days.", ["working_alone"]),
    ("Nobody else is around, I'm a lone worker.", ["working_alone"]),
    ("There is no one to debrief with after visits.", ["no_debrief"]),
    ("I love the job.", ["upbeat"]),
    ("I dread Mondays.", ["downbeat"]),
    ("I enjoy the team meetings.", ["upbeat"]),
    ("We had a good week.", []),
    ("I offload to my partner at home, nobody else.", ["no_debrief", "working_alone"]),
]


def rows(doc: str, shift: int = 0) -> list[TableRow]:
    out = []
    for i, (text, codes) in enumerate(LINES[shift:] + LINES[:shift]):
        out.append(TableRow(doc, 2 * i, "Interviewer", "Can you say more?", [], "gold"))
        out.append(TableRow(doc, 2 * i + 1, "Dana", text, codes, "gold"))
    return out


@pytest.fixture(scope="module")
def result():
    book = parse_codebook(SMALL_CODEBOOK)
    test = documents_from_rows(rows("test1") + rows("test2", 3))
    train = documents_from_rows(rows("a", 1) + rows("b", 2) + rows("c", 5))
    return book, test, evaluate(book, test, train)


def test_figures_match_scikit_learn(result):
    book, test, res = result
    gold = gold_codes(test)
    predicted: dict[tuple[str, int], set[str]] = {}
    for s in res.predictions:
        predicted.setdefault((s.transcript, s.segment_index), set()).add(s.code_id)
    keys = [(d.transcript.name, s.index) for d in test for s in d.transcript.segments
            if s.speaker == "Dana"]
    for code in ("working_alone", "no_debrief", "upbeat", "downbeat"):
        y = [code in gold[k] for k in keys]
        p = [code in predicted.get(k, ()) for k in keys]
        prec, rec, f1, _ = precision_recall_fscore_support(y, p, average="binary",
                                                           zero_division=0)
        m = res.codes[code]
        assert (m.precision, m.recall, m.f1) == pytest.approx((prec, rec, f1), abs=1e-4)
        assert m.kappa == pytest.approx(cohen_kappa_score(y, p), abs=1e-4)
        assert m.support == sum(y)
    scored = [m for m in res.codes.values() if m.support]
    assert res.macro["f1"] == pytest.approx(sum(m.f1 for m in scored) / len(scored), abs=1e-4)
    # the exclusive parent: multi-class over turns whose gold carries one of its children
    kids = ["upbeat", "downbeat"]
    truth, guess = [], []
    for k in keys:
        t = [c for c in kids if c in gold[k]]
        if t:
            g = [c for c in kids if c in predicted.get(k, ())]
            truth.append(t[0])
            guess.append(g[0] if g else "none")
    group = res.groups["talk_type"]
    assert group.support == len(truth) == 6
    assert group.kappa == pytest.approx(cohen_kappa_score(truth, guess), abs=1e-4)


def test_each_suggester_is_reported(result):
    _, _, res = result
    assert set(res.suggesters) == {"rules", "semantic", "learned", "combined"}
    assert res.info["train_examples"] == 24 and res.info["stacked"]
    assert res.suggesters["combined"].macro == res.macro


def test_cli_writes_json_of_the_documented_shape(result, tmp_path):
    from qualkit.cli import app

    (tmp_path / "cb.yaml").write_text(SMALL_CODEBOOK)
    write_coded_table(rows("test1"), tmp_path / "test.csv")
    write_coded_table(rows("a", 1) + rows("b", 2) + rows("c", 5), tmp_path / "train.xlsx")
    out = tmp_path / "out.json"
    r = CliRunner().invoke(app, ["evaluate", "--codebook", str(tmp_path / "cb.yaml"), "--test",
                                 str(tmp_path / "test.csv"), "--train",
                                 str(tmp_path / "train.xlsx"), "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "macro" in r.output and "talk_type" in r.output
    data = json.loads(out.read_text())
    assert set(data) >= {"codes", "macro", "groups", "suggesters"}
    assert set(data["codes"]["working_alone"]) == {"precision", "recall", "f1", "kappa",
                                                   "support"}
    assert set(data["macro"]) == {"precision", "recall", "f1", "kappa"}
    assert set(data["groups"]["talk_type"]) == {"kappa", "accuracy", "support"}
    assert set(data["suggesters"]["rules"]) == {"macro", "groups"}
    r = CliRunner().invoke(app, ["evaluate", "--codebook", str(tmp_path / "cb.yaml"), "--test",
                                 str(tmp_path / "missing.csv")])
    assert r.exit_code == 1 and "missing.csv: file not found" in r.output
