"""The spaCy pipeline qualkit codes with, built without any download.

A trained English pipeline is used when one is installed (``en_core_web_sm`` or larger);
otherwise ``spacy.blank("en")`` with a sentencizer and a lookup lemmatizer that looks up the
lower-cased form (spaCy's lookup table is case-sensitive, so "Felt" would stay "Felt").

With the lookup lemmatizer a word's lemma depends on its spelling alone, so matching "on lemmas"
can be done on lower-cased forms instead: ``forms_of`` lists every spelling whose lemma is a
given lemma, and the rule suggester expands keywords into those spellings once. Coding then
needs only the tokenizer, which keeps it near bare tokenization speed.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

TRAINED = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")


def _lookup_table() -> dict[str, str]:
    """The English lemma table as {spelling: lemma}, lower-cased, from spacy-lookups-data."""
    import gzip
    import json
    from pathlib import Path

    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data: dict[str, str] = json.load(handle)
    return {k: v.lower() for k, v in data.items() if k == k.lower()}


@lru_cache(maxsize=1)
def lemma_table() -> dict[str, str]:
    return _lookup_table()


@lru_cache(maxsize=1)
def lemma_forms() -> dict[str, frozenset[str]]:
    """lemma -> every lower-case spelling whose lemma it is (including itself)."""
    table = lemma_table()
    forms: dict[str, set[str]] = defaultdict(set)
    for spelling, lemma in table.items():
        forms[lemma].add(spelling)
    return {lemma: frozenset(spellings) for lemma, spellings in forms.items()}


def lemma_of(word: str) -> str:
    low = word.lower()
    return lemma_table().get(low, low)


def forms_of(lemma: str) -> frozenset[str]:
    """Spellings w with lemma_of(w) == lemma."""
    spellings = set(lemma_forms().get(lemma, ()))
    if lemma_of(lemma) == lemma:
        spellings.add(lemma)
    return frozenset(spellings)


def _register() -> None:
    from spacy.language import Language

    if "qualkit_lemmatizer" in Language.factories:
        return

    @Language.factory("qualkit_lemmatizer")
    def make_lemmatizer(nlp: Language, name: str) -> LowerLookupLemmatizer:
        return LowerLookupLemmatizer(nlp)


class LowerLookupLemmatizer:
    """Sets every token's lemma from the lookup table, keyed by the lower-cased form.

    The table becomes a hash -> hash map once; lemmas are written with one ``Doc.from_array``
    call per doc.
    """

    def __init__(self, nlp: Any) -> None:
        strings = nlp.vocab.strings
        self.by_lower: dict[int, int] = {strings.add(k): strings.add(v)
                                         for k, v in lemma_table().items()}

    def __call__(self, doc: Any) -> Any:
        import numpy
        from spacy.attrs import LEMMA, LOWER

        if len(doc):
            lowers = doc.to_array(LOWER)
            get = self.by_lower.get
            lemmas = numpy.fromiter((get(h, h) for h in lowers.tolist()), dtype="uint64",
                                    count=len(lowers))
            doc.from_array([LEMMA], lemmas.reshape(-1, 1))
        return doc


def is_lookup_pipeline(nlp: Any) -> bool:
    """True for qualkit's blank pipeline, whose lemmas depend on spelling alone."""
    return "qualkit_lemmatizer" in nlp.pipe_names


@lru_cache(maxsize=1)
def load_pipeline() -> Any:
    """The shared pipeline (built once per process)."""
    import spacy
    from spacy.util import is_package

    for name in TRAINED:
        if is_package(name):
            return spacy.load(name, exclude=["ner", "textcat"])
    _register()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("qualkit_lemmatizer")
    return nlp
