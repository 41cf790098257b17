"""Telling whether interviews look English, on the sample study and its German translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualkit.codedtable import read_coded_table
from qualkit.language import ENGLISH_SHARE, embeddings_advice, english_share

GOLD = Path(__file__).resolve().parent.parent / "benchmarks" / "gold"


def turns(table: str) -> list[str]:
    return [seg.text for doc in read_coded_table(GOLD / table)
            for seg in doc.transcript.segments]


def test_english_and_german_interviews_lie_far_either_side_of_the_line():
    english, german = english_share(turns("keyworker_gold.csv")), \
        english_share(turns("keyworker_gold_de.csv"))
    assert english is not None and german is not None
    assert german < ENGLISH_SHARE / 4 and english > ENGLISH_SHARE * 2
    assert english_share(["Yes, I think so."]) is None  # too few words to tell


def test_advice_only_for_the_english_model_on_text_that_is_not_english():
    german = turns("keyworker_gold_de.csv")
    advice = embeddings_advice("english", german)
    assert "do not look English" in advice and "qualkit embeddings multilingual" in advice
    assert embeddings_advice("multilingual", german) == ""
    assert embeddings_advice("english", turns("keyworker_gold.csv")) == ""


def test_only_so_many_words_are_read():
    def texts():
        yield "und " * 2000
        raise AssertionError("read past the bound")

    assert english_share(texts(), max_words=1000) == pytest.approx(0.0)


def test_the_app_s_retraining_line_carries_the_advice():
    from qualkit.pipeline import CodeReport
    from qualkit.retrain import describe

    advice = embeddings_advice("english", turns("keyworker_gold_de.csv"))
    assert describe(CodeReport(transcripts=2, advice=advice)).endswith(advice)
    assert "look English" not in describe(CodeReport(transcripts=2))
