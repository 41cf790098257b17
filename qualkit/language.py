"""Does a study's text look English? qualkit's default embedding model (and its keyword lemmas)
serve English interviews; on another language that model floods the review queue (the sample
study in German with a German codebook: about six times the decisions per interview for a
lower F1, docs/study.md), so a project coded with it is told when its interviews do not look
English and which model suits them.

The test is the share of words that are common English function words (spaCy's English stop
words): about 0.6 in English speech (the sample study 0.60, AnnoMI 0.59), 0.04 in the sample
translated into German. It reads a bounded number of words."""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"[^\W\d_]+")
MAX_WORDS = 20_000  # words read at most
MIN_WORDS = 50  # fewer than this cannot tell (the two shares lie far apart)
ENGLISH_SHARE = 0.25  # below this share of English function words, the text is not English


def english_share(texts: Iterable[str], max_words: int = MAX_WORDS) -> float | None:
    """The share of the first ``max_words`` words that are English function words, or None
    when there are fewer than ``MIN_WORDS`` words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    seen = hits = 0
    for text in texts:
        for match in WORD.finditer(text):
            hits += match.group().lower() in STOP_WORDS
            seen += 1
            if seen >= max_words:
                return hits / seen
    return hits / seen if seen >= MIN_WORDS else None


def embeddings_advice(embeddings: str, texts: Iterable[str]) -> str:
    """A line for a project using the English model on interviews that do not look English;
    empty otherwise."""
    if embeddings != "english":
        return ""
    share = english_share(texts)
    if share is None or share >= ENGLISH_SHARE:
        return ""
    return (f"These interviews do not look English ({share:.0%} of their words are common "
            "English words, about 60% in English speech): the English embedding model suits "
            "them badly. Choose the multilingual one (`qualkit embeddings multilingual`, or "
            "the Project page) and code again.")
