"""The rule suggester with the real spaCy pipeline: lemmas, patterns, negation, scoping."""

from __future__ import annotations

import pytest

from qualkit.codebook import parse_codebook
from qualkit.model import Transcript
from qualkit.segment import parse_turns
from qualkit.suggest.base import NotFittedError
from qualkit.suggest.rules import RuleSuggester

from .conftest import SMALL_CODEBOOK


def run(text: str, codebook: str = SMALL_CODEBOOK):
    tr = Transcript("t", text, parse_turns(text))
    suggester = RuleSuggester().fit(parse_codebook(codebook))
    [(_, suggestions)] = list(suggester.suggest([tr]))
    return tr, suggestions


def codes(text: str) -> list[str]:
    return sorted(s.code_id for s in run(text)[1])


def test_keywords_match_on_lemmas_of_any_case():
    assert codes("Dana: I WORKED ALONE for years.") == ["working_alone"]
    assert codes("Dana: There was no debriefing, I had to Offload at home.") == ["no_debrief"]


@pytest.mark.parametrize("sentence", [
    "I never worked alone.",
    "I don't work alone any more.",
    "It's not that I'm on my own.",
    "I have hardly ever been a lone worker.",
])
def test_negation_guard_drops_negated_matches(sentence):
    assert codes(f"Dana: {sentence}") == []


@pytest.mark.parametrize("sentence", [
    "I'm not sure, but I work alone.",          # negation in another clause
    "Not only do I work alone, I drive alone.",  # 'not only' does not negate
    "No. I work alone.",
])
def test_negation_guard_keeps_real_evidence(sentence):
    assert codes(f"Dana: {sentence}") == ["working_alone"]


def test_patterns_and_rationale_and_span():
    tr, [s] = run("Dana: It was a hard day. Nobody else was there. So I went home.")
    assert s.code_id == "working_alone" and s.source == "rules"
    assert tr.text[s.start:s.end] == "Nobody else was there."
    assert 'pattern "Nobody else"' in s.rationale
    assert 0 < s.score <= 1


def test_interviewer_turns_are_not_coded():
    assert codes("Interviewer: Do you work alone?\n\nDana: Yes.") == []


def test_exclusive_parent_yields_one_child():
    found = codes("Dana: I love it, I enjoy it, though I dread Mondays.")
    assert found == ["upbeat"]


def test_code_level_speakers_override():
    book = SMALL_CODEBOOK.replace("        keywords: [no one to debrief with, debrief, offload]",
                                  "        keywords: [no one to debrief with, debrief, offload]\n"
                                  "        speakers: [interviewer]")
    tr, sug = run("Interviewer: Can you debrief?\n\nDana: I debrief at home.", book)
    assert [(s.code_id, s.segment_index) for s in sug] == [("no_debrief", 0)]


GERMAN_BOOK = """\
name: Keyworker (Deutsch)
language: de
speakers: [participant]
codes:
  - id: colleagues
    name: Kollegen
    keywords: [Kollege, Überstunde]
  - id: no_debrief
    name: Keine Nachbesprechung
    keywords: [Nachbesprechung]
  - id: fed_up
    name: Es leid sein
    keywords: ["bin's leid"]
"""


def test_a_german_codebook_matches_its_keywords_on_german_lemmas():
    """German nouns are capitalised in spaCy's table: "Kollegen" and "Überstunden" reach their
    lemmas only through the German table; the English negation words do not apply, and the
    German tokenizer keeps "bin's" whole (the English one splits off "'s")."""
    text = ("Dana: Meine Kollegen machen viele Überstunden.\n\n"
            "Interviewer: Und danach?\n\n"
            "Dana: Es gibt keine Nachbesprechung, nie. Ich bin's leid.")
    tr, found = run(text, GERMAN_BOOK)
    assert sorted((s.code_id, s.segment_index) for s in found) == [
        ("colleagues", 0), ("fed_up", 2), ("no_debrief", 2)]
    assert 'keyword "Kollegen", keyword "Überstunden"' in found[0].rationale
    english = GERMAN_BOOK.replace("language: de\n", "")
    # the written forms only (and "bin's leid" as the English tokenizer splits it)
    assert sorted(s.code_id for s in run(text, english)[1]) == ["fed_up", "no_debrief"]


def test_refuses_to_suggest_before_fit():
    with pytest.raises(NotFittedError, match=r"RuleSuggester is not fitted yet; call fit\(\)"):
        list(RuleSuggester().suggest([]))


EQUIV_BOOK = SMALL_CODEBOOK.replace(
    "          - [{LOWER: nobody}, {LOWER: else}]",
    "          - [{LOWER: nobody}, {LOWER: else}]\n"
    "          - [{LEMMA: feel}, {LOWER: {IN: [so, very, really]}, OP: '?'}, {LEMMA: isolate}]\n"
    "          - [{LEMMA: {IN: [drive, travel]}}, {IS_PUNCT: false, OP: '*'}, {LOWER: miles}]")

EQUIV_TEXT = ("Dana: Nobody else comes. I FEEL so isolated. She feels isolated too. "
              "I drove forty long miles. I'm travelling miles. They WORKED ALONE. "
              "I debriefed nobody. We offloaded to each other, Nobody Else could help.")


def test_spelling_expansion_matches_exactly_what_lemma_matching_matches():
    book = parse_codebook(EQUIV_BOOK)
    tr = Transcript("t", EQUIV_TEXT, parse_turns(EQUIV_TEXT))
    fast = RuleSuggester().fit(book)
    slow = RuleSuggester(expand_lemmas=False).fit(book)
    assert fast.lookup_ and not slow.lookup_
    [(_, a)] = list(fast.suggest([tr]))
    [(_, b)] = list(slow.suggest([tr]))
    assert a == b
    rationale = a[0].rationale
    for phrase in ('"Nobody else"', '"FEEL so isolated"', '"feels isolated"',
                   '"drove forty long miles"', '"travelling miles"'):
        assert phrase in rationale
