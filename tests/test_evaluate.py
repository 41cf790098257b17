"""`qualkit evaluate`: its figures equal an independent computation with scikit-learn, every
suggested code counts, 'none' is a class of an exclusive parent, and undefined stays undefined."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support
from typer.testing import CliRunner

from qualkit.codebook import parse_codebook
from qualkit.codedtable import TableRow, documents_from_rows, write_coded_table
from qualkit.evaluate import evaluate, format_evaluation, gold_codes, score_predictions, write_json
from qualkit.model import Suggestion
from qualkit.suggest.base import Scope, views_of

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
CODES = ("working_alone", "no_debrief", "upbeat", "downbeat")
KIDS = ("upbeat", "downbeat")


def rows(doc: str, shift: int = 0, lines=LINES) -> list[TableRow]:
    out = []
    for i, (text, codes) in enumerate(lines[shift:] + lines[:shift]):
        out.append(TableRow(doc, 2 * i, "Interviewer", "Can you say more?", [], "gold"))
        out.append(TableRow(doc, 2 * i + 1, "Dana", text, codes, "gold"))
    return out


def dana_keys(docs) -> list[tuple[str, int]]:
    return [(d.transcript.name, s.index) for d in docs for s in d.transcript.segments
            if s.speaker == "Dana"]


def predicted_sets(predictions) -> dict[tuple[str, int], set[str]]:
    out: dict[tuple[str, int], set[str]] = {}
    for s in predictions:
        out.setdefault((s.transcript, s.segment_index), set()).add(s.code_id)
    return out


def sklearn_figures(gold, predicted, keys, codes):
    """Per code and macro precision/recall/F1 with scikit-learn (undefined -> NaN, skipped)."""
    y = np.array([[c in gold.get(k, ()) for c in codes] for k in keys], dtype=int)
    p = np.array([[c in predicted.get(k, ()) for c in codes] for k in keys], dtype=int)
    per_code = precision_recall_fscore_support(y, p, average=None, zero_division=np.nan)
    macro = precision_recall_fscore_support(y, p, average="macro", zero_division=np.nan)
    return per_code, macro


def group_truth_guess(gold, predicted, keys):
    truth = [next((c for c in KIDS if c in gold.get(k, ())), "none") for k in keys]
    guess = [next((c for c in KIDS if c in predicted.get(k, ())), "none") for k in keys]
    return truth, guess


@pytest.fixture(scope="module")
def result():
    book = parse_codebook(SMALL_CODEBOOK)
    test = documents_from_rows(rows("test1") + rows("test2", 3))
    train = documents_from_rows(rows("a", 1) + rows("b", 2) + rows("c", 5))
    return book, test, evaluate(book, test, train)


def test_figures_match_scikit_learn(result):
    book, test, res = result
    gold = gold_codes(test)
    predicted = predicted_sets(res.predictions)
    keys = dana_keys(test)
    codes = [c for c in CODES if c in res.codes]
    (prec, rec, f1, sup), macro = sklearn_figures(gold, predicted, keys, codes)
    for j, code in enumerate(codes):
        m = res.codes[code]
        assert [m.precision, m.recall, m.f1] == pytest.approx([prec[j], rec[j], f1[j]],
                                                              abs=1e-4, nan_ok=True)
        y = [code in gold[k] for k in keys]
        p = [code in predicted.get(k, ()) for k in keys]
        assert m.kappa == pytest.approx(cohen_kappa_score(y, p), abs=1e-4, nan_ok=True)
        assert m.support == sup[j] and m.predicted == sum(p) and m.turns == len(keys) == 16
    assert [res.macro["precision"], res.macro["recall"], res.macro["f1"]] == pytest.approx(
        list(macro[:3]), abs=1e-4)
    # the exclusive parent: multi-class over every Dana turn, 'none' a class on both sides
    truth, guess = group_truth_guess(gold, predicted, keys)
    group = res.groups["talk_type"]
    assert group.support == len(truth) == 16 and group.gold_none == truth.count("none") == 10
    assert group.kappa == pytest.approx(cohen_kappa_score(truth, guess), abs=1e-4)
    assert group.accuracy == pytest.approx(np.mean([a == b for a, b in zip(truth, guess)]),
                                           abs=1e-4)


@pytest.fixture
def hand():
    """The test side with hand-made predictions: no model involved, every figure exact."""
    book = parse_codebook(SMALL_CODEBOOK)
    docs = documents_from_rows(rows("t1") + rows("t2", 3))
    views = [v for d in docs for v in views_of(d.transcript)]
    return book, docs, views, gold_codes(docs), Scope(book)


def sug(code: str, key: tuple[str, int], score: float = 0.9) -> Suggestion:
    return Suggestion(code, key[0], key[1], 0, 1, score, "hand")


def test_none_is_a_class_over_every_turn_of_an_exclusive_parent(hand):
    book, docs, views, gold, scope = hand
    keys = dana_keys(docs)
    # the machine says 'upbeat' wherever the gold has any talk type, and on two 'none' turns
    with_child = [k for k in keys if gold[k] & set(KIDS)]
    none_turns = [k for k in keys if not gold[k] & set(KIDS)]
    preds = [sug("upbeat", k) for k in with_child + none_turns[:2]]
    res = score_predictions(views, gold, preds, scope)
    truth, guess = group_truth_guess(gold, predicted_sets(preds), keys)
    g = res.groups["talk_type"]
    # the old scoring looked at the 6 turns with a gold child only, never seeing the two
    # suggestions on turns without one
    assert g.support == 16 and g.gold_none == 10 and g.predicted_none == 8
    assert g.kappa == pytest.approx(cohen_kappa_score(truth, guess), abs=1e-4)
    assert g.accuracy == pytest.approx(12 / 16)


def test_a_code_the_gold_never_has_counts_as_errors(hand):
    book, docs, views, _, scope = hand
    # a gold without any no_debrief; the machine suggests it twice (and is right elsewhere)
    docs = documents_from_rows(rows("t1", lines=[(t, [c for c in cs if c != "no_debrief"])
                                                 for t, cs in LINES]))
    views = [v for d in docs for v in views_of(d.transcript)]
    gold = gold_codes(docs)
    keys = dana_keys(docs)
    preds = [sug(c, k) for k in keys for c in gold[k]]
    preds += [sug("no_debrief", keys[0]), sug("no_debrief", keys[1])]
    res = score_predictions(views, gold, preds, scope)
    m = res.codes["no_debrief"]
    assert (m.support, m.predicted, m.precision, m.f1) == (0, 2, 0.0, 0.0)
    assert math.isnan(m.recall)  # nothing to recall: undefined, not 0 and not 1
    codes = list(res.codes)
    assert set(codes) == set(CODES)
    (_, _, f1, _), macro = sklearn_figures(gold, predicted_sets(preds), keys, codes)
    assert res.macro["f1"] == pytest.approx(macro[2], abs=1e-4) == pytest.approx(3 / 4)
    assert res.macro["recall"] == pytest.approx(macro[1]) and res.macro_over["recall"] == 3
    assert res.macro_over["f1"] == 4 and res.macro_over["precision"] == 4


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_undefined_kappa_is_nan_never_one(hand, tmp_path):
    book, docs, views, _, scope = hand
    # every Dana turn works alone in the gold and in the predictions; no talk type anywhere
    docs = documents_from_rows(rows("t1", lines=[(t, ["working_alone"]) for t, _ in LINES]))
    views = [v for d in docs for v in views_of(d.transcript)]
    gold = gold_codes(docs)
    preds = [sug("working_alone", k) for k in dana_keys(docs)]
    res = score_predictions(views, gold, preds, scope)
    wa = res.codes["working_alone"]
    assert (wa.precision, wa.recall, wa.f1) == (1.0, 1.0, 1.0)
    y = [True] * 8
    assert math.isnan(wa.kappa) and math.isnan(cohen_kappa_score(y, y))
    assert list(res.codes) == ["working_alone"]  # nothing else is in the gold or suggested
    assert res.unscored == ["no_debrief", "upbeat", "downbeat"]
    g = res.groups["talk_type"]  # both sides 'none' throughout
    assert math.isnan(g.kappa) and g.accuracy == 1.0 and g.gold_none == g.support == 8
    assert math.isnan(res.macro["kappa"]) and res.macro_over["kappa"] == 0
    assert res.macro["f1"] == 1.0 and res.macro_over["f1"] == 1
    text = format_evaluation(res)
    group_line = next(line for line in text.splitlines() if line.startswith("talk_type"))
    assert group_line.split()[1:3] == ["–", "1.000"]  # kappa undefined, accuracy 1
    assert "working_alone" in text and "–" in text
    data = json.loads(write_json(res, tmp_path / "r.json").read_text())
    assert data["codes"]["working_alone"]["kappa"] is None
    assert data["groups"]["talk_type"]["kappa"] is None
    assert data["macro"]["kappa"] is None and data["macro_over"]["kappa"] == 0


def test_macro_kappa_skips_undefined_and_says_over_how_many(hand):
    book, docs, views, gold, scope = hand
    keys = dana_keys(docs)
    # perfect predictions: every kappa is 1; then one code's kappa becomes undefined
    preds = [sug(c, k) for k in keys for c in gold[k]]
    res = score_predictions(views, gold, preds, scope)
    assert res.macro["kappa"] == 1.0 and res.macro_over["kappa"] == 4
    docs2 = documents_from_rows(rows("t1", lines=[(t, cs + ["working_alone"]) for t, cs in LINES]))
    views2 = [v for d in docs2 for v in views_of(d.transcript)]
    gold2 = gold_codes(docs2)
    preds2 = [sug(c, k) for k in dana_keys(docs2) for c in gold2[k]]
    res2 = score_predictions(views2, gold2, preds2, scope)
    assert math.isnan(res2.codes["working_alone"].kappa)
    assert res2.macro["kappa"] == 1.0 and res2.macro_over["kappa"] == 3
    assert "kappa over 3" in format_evaluation(res2)


def test_report_says_which_turns_each_figure_rests_on(hand):
    book, docs, views, gold, scope = hand
    res = score_predictions(views, gold, [sug("upbeat", dana_keys(docs)[3])], scope)
    text = format_evaluation(res)
    assert "over 16 participant turns of 2 transcripts" in text
    [ts] = res.scored_on
    assert (ts.speakers, ts.turns, ts.transcripts) == ("participant", 16, 2)
    assert ts.groups == ["talk_type"] and set(ts.codes) == set(CODES)


def test_each_suggester_is_reported(result):
    _, _, res = result
    assert set(res.suggesters) >= {"rules", "semantic", "learned", "combined"}
    assert res.info["train_examples"] == 24
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
    assert "over 8 participant turns of 1 transcript" in r.output
    data = json.loads(out.read_text())
    assert set(data) >= {"codes", "macro", "macro_over", "groups", "suggesters", "scored_on"}
    assert set(data["codes"]["working_alone"]) == {"precision", "recall", "f1", "kappa",
                                                   "support", "predicted", "turns"}
    assert set(data["macro"]) == {"precision", "recall", "f1", "kappa"}
    assert set(data["macro_over"]) == {"precision", "recall", "f1", "kappa"}
    assert set(data["groups"]["talk_type"]) == {"kappa", "accuracy", "support", "gold_none",
                                                "predicted_none"}
    assert set(data["suggesters"]["rules"]) == {"macro", "macro_over", "groups"}
    assert "with the english embedding model" in r.output and data["info"]["embeddings"] == \
        "english"
    r = CliRunner().invoke(app, ["evaluate", "--codebook", str(tmp_path / "cb.yaml"), "--test",
                                 str(tmp_path / "missing.csv")])
    assert r.exit_code == 1 and "missing.csv: file not found" in r.output


def test_cli_measures_a_codebook_not_in_english_with_the_multilingual_model(tmp_path):
    """As a project would code it: unless --embeddings says otherwise."""
    from qualkit.cli import app

    (tmp_path / "cb.yaml").write_text(SMALL_CODEBOOK.replace('version: "0.1"\n',
                                                             'version: "0.1"\nlanguage: de\n'))
    write_coded_table(rows("test1"), tmp_path / "test.csv")
    for given, used in (([], "multilingual"), (["--embeddings", "english"], "english")):
        r = CliRunner().invoke(app, ["evaluate", "--codebook", str(tmp_path / "cb.yaml"),
                                     "--test", str(tmp_path / "test.csv"), *given])
        assert r.exit_code == 0, r.output
        assert f"with the {used} embedding model" in r.output
