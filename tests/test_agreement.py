"""Agreement statistics: equal to scikit-learn, the krippendorff package and published worked
examples; the report's figures on a hand-computed table and on AnnoMI's ten-coder subset."""

from __future__ import annotations

import csv
import json
import math
import random
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from qualkit.agreement.stats import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    format_report,
    krippendorff_alpha_nominal,
    percent_agreement,
    report_to_dict,
    span_overlap_agreement,
)
from qualkit.codebook import load_codebook, parse_codebook
from qualkit.codedtable import TableRow
from qualkit.model import Code, Codebook, Coding

from .conftest import REPO, SMALL_CODEBOOK

nan = float("nan")


def same(x: float, y: float, tol: float = 1e-9) -> bool:
    return (math.isnan(x) and math.isnan(y)) or abs(x - y) <= tol


def sk_kappa(a, b, undefined: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(a, b, replace_undefined_by=undefined))


# ---------------------------------------------------------------- Cohen's kappa vs scikit-learn

LABEL_SETS = [["a", "b"], ["a", "b", "c", "d", "e"], ["only"], [True, False], ["x", "y", "z"]]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda ls: f"{len(ls)}labels")
def test_cohen_kappa_equals_sklearn_on_random_data(seed, labels):
    rng = random.Random(seed)
    for n in (1, 2, 3, 10, 200):
        weights = [rng.random() ** 3 for _ in labels]  # skewed marginals, some near zero
        a = rng.choices(labels, weights, k=n)
        # b copies a with some probability, so kappa spans the range rather than hugging 0.
        keep = rng.random()
        b = [x if rng.random() < keep else rng.choice(labels) for x in a]
        assert same(cohen_kappa(a, b), sk_kappa(a, b, 1.0))
        assert same(cohen_kappa(a, b, undefined=nan), sk_kappa(a, b, nan))


@pytest.mark.parametrize("a,b", [
    (["a"] * 5, ["a"] * 5),            # one shared category: p_e = 1, undefined
    (["a"] * 5, ["b"] * 5),            # each coder constant, different categories: kappa 0
    (["a"] * 5, ["a", "b", "a", "b", "a"]),  # one coder constant
    (["a", "b"], ["b", "a"]),          # complete disagreement: kappa -1
    (["a", "b", "c"], ["a", "b", "c"]),
])
def test_cohen_kappa_degenerate_cases_equal_sklearn(a, b):
    assert same(cohen_kappa(a, b), sk_kappa(a, b, 1.0))
    assert same(cohen_kappa(a, b, undefined=nan), sk_kappa(a, b, nan))


def test_cohen_kappa_without_units_is_undefined():
    # scikit-learn refuses empty input; qualkit returns the undefined value.
    assert cohen_kappa([], []) == 1.0
    assert math.isnan(cohen_kappa([None, "a"], ["b", None], undefined=nan))


def test_cohen_kappa_drops_units_missing_for_either_coder():
    rng = random.Random(3)
    a = [rng.choice(["p", "q", "r", None]) for _ in range(300)]
    b = [rng.choice(["p", "q", "r", None]) for _ in range(300)]
    kept = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    assert same(cohen_kappa(a, b), sk_kappa([x for x, _ in kept], [y for _, y in kept], 1.0))
    with pytest.raises(ValueError, match="same units"):
        cohen_kappa(["a"], ["a", "b"])


# ---------------------------------------------------------------- Fleiss' kappa

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories; counts per
# category. Published: P-bar = 0.378, P_e = 0.213, kappa = 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def counts_to_units(table: list[list[int]]) -> list[list[int]]:
    return [[j for j, c in enumerate(row) for _ in range(c)] for row in table]


def test_fleiss_kappa_wikipedia_worked_example():
    units = counts_to_units(WIKIPEDIA_FLEISS)
    assert all(len(u) == 14 for u in units)
    assert round(fleiss_kappa(units), 3) == 0.210
    assert round(percent_agreement(units), 3) == 0.378  # P-bar: mean pairwise agreement


def test_fleiss_kappa_equals_statsmodels():
    from statsmodels.stats import inter_rater as irr
    rng = random.Random(11)
    for _ in range(5):
        raters = rng.randint(2, 8)
        units = [[rng.choice("abcd") for _ in range(raters)] for _ in range(rng.randint(5, 60))]
        table, _ = irr.aggregate_raters(units)
        assert same(fleiss_kappa(units), float(irr.fleiss_kappa(table, method="fleiss")))


def test_fleiss_kappa_needs_complete_equal_ratings():
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa([["a", "b"], ["a", "b", "c"]])
    with pytest.raises(ValueError, match="missing"):
        fleiss_kappa([["a", None], ["a", "b"]])
    assert math.isnan(fleiss_kappa([]))
    assert math.isnan(fleiss_kappa([["a", "a"], ["a", "a"]]))  # P_e = 1


# ---------------------------------------------------------------- Krippendorff's alpha

def test_krippendorff_alpha_published_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: 4 observers,
    # 12 units, nominal, missing values; published alpha = 0.743. Rows are units here.
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [list(u) for u in zip(*observers)]
    assert round(krippendorff_alpha_nominal(units), 3) == 0.743


def test_krippendorff_alpha_equals_krippendorff_package():
    import krippendorff
    import numpy as np

    rng = random.Random(5)
    checked = 0
    for _ in range(40):
        coders, n_units, k = rng.randint(2, 7), rng.randint(3, 80), rng.randint(2, 5)
        missing = rng.choice([0.0, 0.1, 0.4])
        truth = [rng.randrange(k) for _ in range(n_units)]
        keep = rng.random()
        data = [[None if rng.random() < missing else
                 (t if rng.random() < keep else rng.randrange(k)) for t in truth]
                for _ in range(coders)]
        units = [list(u) for u in zip(*data)]
        values = {v for u in units if sum(x is not None for x in u) >= 2 for v in u if
                  v is not None}
        if len(values) < 2:  # the package raises where alpha is undefined
            assert math.isnan(krippendorff_alpha_nominal(units))
            continue
        matrix = np.array([[np.nan if v is None else v for v in row] for row in data], float)
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        assert same(krippendorff_alpha_nominal(units), float(expected), 1e-9)
        checked += 1
    assert checked >= 30


def test_krippendorff_alpha_undefined_cases():
    assert math.isnan(krippendorff_alpha_nominal([]))
    assert math.isnan(krippendorff_alpha_nominal([["a", None], [None, "b"]]))  # nothing pairable
    assert math.isnan(krippendorff_alpha_nominal([["a", "a"], ["a", "a", None]]))  # D_e = 0


def test_percent_agreement_by_hand():
    # a,a,b: 1 agreeing pair of 3; c,c: 1 of 1; a unit with one value is skipped.
    assert percent_agreement([["a", "a", "b"], ["c", "c"], ["a", None]]) == pytest.approx(
        (1 / 3 + 1) / 2)
    assert math.isnan(percent_agreement([["a", None]]))


# ---------------------------------------------------------------- the report, by hand

HAND_ROWS = [
    # document, segment, coder, codes
    ("d1", 0, "ann", ["working_alone", "upbeat"]),
    ("d1", 0, "bob", ["upbeat", "working_alone"]),
    ("d1", 0, "cy", ["working_alone", "upbeat"]),
    ("d1", 1, "ann", ["working_alone"]),
    ("d1", 1, "bob", []),
    ("d1", 1, "cy", []),
    ("d1", 2, "ann", []),
    ("d1", 2, "bob", []),
    ("d1", 3, "ann", ["downbeat"]),
    ("d1", 3, "bob", ["upbeat"]),
    ("d2", 0, "ann", ["no_debrief", "downbeat"]),
    ("d2", 0, "bob", ["working_alone", "downbeat"]),
    ("d2", 1, "ann", ["working_alone"]),  # one coder only: left out
]


def hand_rows() -> list[TableRow]:
    return [TableRow(doc, seg, "Dana", f"turn {doc}/{seg}", codes, coder)
            for doc, seg, coder, codes in HAND_ROWS]


@pytest.fixture(scope="module")
def hand_report():
    return agreement_report(hand_rows(), parse_codebook(SMALL_CODEBOOK, check_patterns=False))


def test_disagreements_filtered_by_code_and_theme(hand_report):
    from qualkit.agreement.stats import disagreement_counts, disagreements_on

    book = parse_codebook(SMALL_CODEBOOK, check_patterns=False)
    where = lambda found: [(d.document, d.segment) for d in found]  # noqa: E731
    # d1#1: ann working_alone, bob and cy none; d1#3: ann downbeat, bob upbeat;
    # d2#0: ann no_debrief + downbeat, bob working_alone + downbeat
    assert where(disagreements_on(hand_report, "working_alone")) == [("d1", 1), ("d2", 0)]
    assert where(disagreements_on(hand_report, "downbeat", book)) == [("d1", 3)]
    # a theme is applied where any code under it is: both applied isolation in d2#0
    assert where(disagreements_on(hand_report, "isolation", book)) == [("d1", 1)]
    assert disagreements_on(hand_report, "talk_type", book) == []  # each chose a child
    assert disagreements_on(hand_report, "isolation") == []  # no codebook: nobody applied it
    assert disagreement_counts(hand_report, book) == {
        "isolation": 1, "working_alone": 2, "no_debrief": 1, "upbeat": 1, "downbeat": 1}
    assert "isolation" not in disagreement_counts(hand_report)


def test_report_units_and_coders(hand_report):
    assert hand_report.coders == ["ann", "bob", "cy"]
    assert hand_report.units == 5
    assert hand_report.single_coded == 1
    assert list(hand_report.codes) == ["isolation", "working_alone", "no_debrief", "talk_type",
                                       "upbeat", "downbeat"]


def test_presence_kappa_by_hand(hand_report):
    wa = hand_report.codes["working_alone"]
    # ann T T F F F, bob T F F F T over five units; cy T F on the first two.
    pairs = {(p.coder_a, p.coder_b): (p.kappa, p.units) for p in wa.pairs}
    assert pairs[("ann", "bob")][1] == 5
    assert pairs[("ann", "bob")][0] == pytest.approx(1 / 6)  # p_o 3/5, p_e 13/25
    assert pairs[("ann", "cy")] == (pytest.approx(0.0), 2)  # p_o 1/2, p_e 1/2
    assert pairs[("bob", "cy")] == (pytest.approx(1.0), 2)
    assert (wa.kappa_min, wa.kappa_max) == (pytest.approx(0.0), pytest.approx(1.0))
    assert wa.kappa_mean == pytest.approx((1 / 6 + 0 + 1) / 3)
    assert wa.units == 5 and wa.applied == 3
    assert wa.percent_agreement == pytest.approx((1 + 1 / 3 + 1 + 1 + 0) / 5)
    # Fleiss over the two units all three coded: TTT and TFF.
    assert wa.fleiss_units == 2
    assert wa.fleiss_kappa == pytest.approx(0.25)  # P-bar 2/3, P_e 5/9
    # coincidences: o_TT 3, o_FF 5, o_TF = o_FT = 2; n_T 5, n_F 7.
    assert wa.krippendorff_alpha == pytest.approx(1 - 11 * 4 / (144 - 25 - 49))
    # A theme is applied when any code below it is: ann T T F F T, bob T F F F T.
    iso = hand_report.codes["isolation"]
    ab = next(p for p in iso.pairs if (p.coder_a, p.coder_b) == ("ann", "bob"))
    assert ab.kappa == pytest.approx((0.8 - 0.48) / 0.52)


def test_exclusive_parent_by_hand(hand_report):
    g = hand_report.groups["talk_type"]
    assert g.categories == ["upbeat", "downbeat"]
    assert g.support == 3  # units 1 and 2 have no talk type from anyone
    ab = next(p for p in g.pairs if (p.coder_a, p.coder_b) == ("ann", "bob"))
    assert (ab.kappa, ab.units) == (pytest.approx(0.4), 3)  # p_o 2/3, p_e 4/9
    assert [p.units for p in g.pairs] == [3, 1, 1]  # cy gave one talk type
    assert all(math.isnan(p.kappa) for p in g.pairs[1:])  # one shared unit, one category
    assert g.kappa_min == g.kappa_max == g.kappa_mean == pytest.approx(0.4)
    assert g.fleiss_units == 1 and math.isnan(g.fleiss_kappa)
    assert g.krippendorff_alpha == pytest.approx(0.5)  # 1 - 6 * 2 / (49 - 16 - 9)
    assert g.percent_agreement == pytest.approx(2 / 3)
    assert g.multi_coded == 0


def test_disagreements_by_hand(hand_report):
    got = [(d.document, d.segment, d.differing, d.codes) for d in hand_report.disagreements]
    assert got == [
        ("d1", 1, ["working_alone"], {"ann": ["working_alone"], "bob": [], "cy": []}),
        ("d1", 3, ["upbeat", "downbeat"], {"ann": ["downbeat"], "bob": ["upbeat"]}),
        ("d2", 0, ["working_alone", "no_debrief"],
         {"ann": ["no_debrief", "downbeat"], "bob": ["working_alone", "downbeat"]}),
    ]
    assert hand_report.disagreements[0].text == "turn d1/1"
    assert hand_report.disagreements[0].speaker == "Dana"


def test_report_without_codebook_uses_codes_seen():
    rows = hand_rows() + [TableRow("d3", 0, "Dana", "x", ["mystery"], "ann"),
                          TableRow("d3", 0, "Dana", "x", ["mystery"], "bob")]
    report = agreement_report(rows)
    assert list(report.codes) == ["downbeat", "mystery", "no_debrief", "upbeat",
                                  "working_alone"]
    assert report.groups == {}
    # d3/0 adds a unit both ann and bob left without working_alone: p_o 4/6, p_e 20/36.
    assert report.codes["working_alone"].kappa_mean == pytest.approx((0.25 + 0 + 1) / 3)
    assert report.codes["mystery"].applied == 1
    with_book = agreement_report(rows, parse_codebook(SMALL_CODEBOOK, check_patterns=False))
    assert with_book.unknown_codes == ["mystery"] and "mystery" not in with_book.codes


def test_in_scope_limits_units_per_code():
    rows = hand_rows() + [TableRow("d1", 9, "Interviewer", "q?", [], c) for c in ("ann", "bob")]
    book = parse_codebook(SMALL_CODEBOOK, check_patterns=False)
    everywhere = agreement_report(rows, book)
    scoped = agreement_report(rows, book, in_scope=lambda code, speaker: speaker == "Dana")
    assert everywhere.codes["working_alone"].units == 6
    assert scoped.codes["working_alone"].units == 5
    assert scoped.codes["working_alone"].kappa_mean == pytest.approx((1 / 6 + 0 + 1) / 3)


def test_multi_coded_exclusive_value_is_a_combined_category():
    rows = [TableRow("d", 0, "s", "t", ["upbeat", "downbeat"], "ann"),
            TableRow("d", 0, "s", "t", ["upbeat"], "bob")]
    g = agreement_report(rows, parse_codebook(SMALL_CODEBOOK, check_patterns=False)).groups[
        "talk_type"]
    assert g.multi_coded == 1 and g.percent_agreement == 0.0


def test_report_to_dict_is_strict_json_and_format_is_readable(hand_report):
    data = report_to_dict(hand_report)
    text = json.dumps(data, allow_nan=False)  # undefined statistics are null, not NaN
    assert json.loads(text)["groups"]["talk_type"]["support"] == 3
    assert data["groups"]["talk_type"]["fleiss_kappa"] is None
    assert data["codes"]["working_alone"]["pairs"][0] == {
        "coder_a": "ann", "coder_b": "bob", "kappa": pytest.approx(1 / 6), "units": 5}
    assert data["disagreements"][1]["differing"] == ["upbeat", "downbeat"]
    out = format_report(hand_report, max_disagreements=2)
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[:2] == ["Coders: 3 (ann, bob, cy)",
                         "Units coded by two or more coders: 5 (1 coded by one coder left out)"]
    # the figures test_presence_kappa_by_hand works out, rounded; "-" where undefined
    assert "working_alone 3 5 66.7 0.000 0.389 1.000 0.250 2 0.371" in lines
    assert "talk_type 3 66.7 0.400 0.400 0.400 - 1 0.500" in lines
    assert "Disagreements: 3 of 5 units" in lines
    assert "d1 #3 Dana: turn d1/3" in lines
    assert "... 1 more (all of them with --json FILE)" in lines


def test_agreement_statistics_import_nothing_else_from_qualkit():
    code = ("import sys, qualkit.agreement.stats; "
            "print(sorted(m for m in sys.modules if m.startswith('qualkit.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    assert out.strip() == "['qualkit.agreement', 'qualkit.agreement.stats']"


# ---------------------------------------------------------------- hand-drawn spans

def test_span_overlap_agreement_by_hand():
    def c(code, transcript, start, end, coder, status="accepted"):
        return Coding(code, transcript, start, end, coder, status=status)

    a = [c("x", "t1", 0, 10, "a"), c("x", "t1", 5, 15, "a"),  # one passage coded twice: 15
         c("x", "t2", 0, 5, "a"), c("y", "t1", 0, 4, "a")]
    b = [c("x", "t1", 10, 20, "b"), c("x", "t2", 0, 5, "b"),
         c("x", "t1", 0, 10, "b", status="rejected"),  # a rejection is not a coding
         c("y", "t2", 0, 4, "b")]  # same offsets, other transcript: no overlap
    got = span_overlap_agreement(a, b)
    assert list(got) == ["x", "y"]
    x = got["x"]
    assert (x.chars_a, x.chars_b, x.chars_both) == (20, 15, 10)
    assert x.dice == pytest.approx(2 * 10 / 35)
    assert (got["y"].chars_both, got["y"].dice) == (0, 0.0)


# ---------------------------------------------------------------- AnnoMI's ten-coder subset

TEN_CODER_TRANSCRIPTS = {"7", "27", "55", "56", "66", "109", "130"}


@lru_cache(maxsize=1)
def annomi_rows(path: Path) -> tuple[TableRow, ...]:
    """One coded-segments row per utterance and annotator of the transcripts all ten coded."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["transcript_id"] not in TEN_CODER_TRANSCRIPTS:
                continue
            therapist = r["interlocutor"] == "therapist"
            label = r["main_therapist_behaviour"] if therapist else r["client_talk_type"]
            rows.append(TableRow(document=r["transcript_id"], segment=int(r["utterance_id"]),
                                 speaker=r["interlocutor"], text=r["utterance_text"],
                                 codes=[] if label == "n/a" else [label],
                                 coder=r["annotator_id"]))
    return tuple(rows)


def annomi_codebook() -> Codebook:
    path = REPO / "codebooks" / "annomi_mi.yaml"
    if path.exists():
        return load_codebook(path, check_patterns=False)
    kids = lambda *ids: [Code(i, i) for i in ids]  # noqa: E731
    return Codebook("AnnoMI", codes=[
        Code("therapist_behaviour", "Therapist behaviour", exclusive=True,
             children=kids("reflection", "question", "therapist_input", "other")),
        Code("client_talk_type", "Client talk type", exclusive=True,
             children=kids("change", "neutral", "sustain"))])


@pytest.fixture
def annomi_report(shared):
    rows = annomi_rows(shared / "data" / "annomi" / "AnnoMI-full.csv")
    return agreement_report(rows, annomi_codebook())


@pytest.mark.parametrize("group,fleiss,low,high,mean,support", [
    ("therapist_behaviour", 0.737, 0.578, 0.830, 0.737, 216),
    ("client_talk_type", 0.467, 0.239, 0.647, 0.470, 212),
])
def test_annomi_ten_coder_agreement(annomi_report, group, fleiss, low, high, mean, support):
    assert annomi_report.coders == [str(i) for i in range(10)]
    assert annomi_report.units == 428 and annomi_report.single_coded == 0
    g = annomi_report.groups[group]
    assert g.support == g.fleiss_units == support
    assert len(g.pairs) == 45 and all(p.units == support for p in g.pairs)
    assert round(g.fleiss_kappa, 3) == fleiss
    assert round(g.krippendorff_alpha, 3) == fleiss
    assert (round(g.kappa_min, 3), round(g.kappa_max, 3)) == (low, high)
    assert round(g.kappa_mean, 3) == mean
    assert g.multi_coded == 0


def test_annomi_alpha_equals_krippendorff_package(annomi_report, shared):
    import krippendorff
    import numpy as np

    rows = annomi_rows(shared / "data" / "annomi" / "AnnoMI-full.csv")
    units = sorted({(r.document, r.segment) for r in rows if r.speaker == "therapist"})
    index = {u: i for i, u in enumerate(units)}
    labels = {"reflection": 0, "question": 1, "therapist_input": 2, "other": 3}
    data = np.full((10, len(units)), np.nan)
    for r in rows:
        if r.speaker == "therapist" and r.codes:
            data[int(r.coder), index[(r.document, r.segment)]] = labels[r.codes[0]]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert annomi_report.groups["therapist_behaviour"].krippendorff_alpha == pytest.approx(
        float(expected), abs=1e-9)


def test_qualkit_agreement_reproduces_annomi_from_a_table(shared, tmp_path):
    """The command a researcher runs: a coded-segments table built from AnnoMI-full.csv."""
    from typer.testing import CliRunner

    from qualkit.cli import app
    from qualkit.codedtable import write_coded_table

    table = write_coded_table(list(annomi_rows(shared / "data" / "annomi" / "AnnoMI-full.csv")),
                              tmp_path / "annomi_ten_coders.csv")
    result = CliRunner().invoke(app, ["agreement", str(table), "--codebook",
                                      str(REPO / "codebooks" / "annomi_mi.yaml"),
                                      "--json", str(tmp_path / "agreement.json")])
    assert result.exit_code == 0, result.output
    groups = json.loads((tmp_path / "agreement.json").read_text())["groups"]
    for group, fleiss, low, high in (("therapist_behaviour", 0.737, 0.578, 0.830),
                                     ("client_talk_type", 0.467, 0.239, 0.647)):
        g = groups[group]
        assert round(g["fleiss_kappa"], 3) == round(g["krippendorff_alpha"], 3) == fleiss
        assert (round(g["kappa_min"], 3), round(g["kappa_max"], 3)) == (low, high)
    assert "0.737" in result.output and "0.467" in result.output
