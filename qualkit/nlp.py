"""The spaCy pipeline qualkit codes with, built without any download.

A codebook names its language (``language``, ISO 639-1, English by default): its keywords are
matched on that language's lemmas. For English a trained pipeline is used when one is
installed (``en_core_web_sm`` or larger); otherwise, and for every other language,
``spacy.blank(language)`` with a sentencizer and a lookup lemmatizer that looks up the
lower-cased form in spaCy's lookup table for the language (spacy-lookups-data; the table is
case-sensitive, so "Felt" would stay "Felt"). A language spaCy cannot tokenize without more
packages (Japanese, Chinese, ...) gets the multi-language tokenizer; one without a lookup
table has its keywords matched as written (``keyword_matching`` says which).

With the lookup lemmatizer a word's lemma depends on its spelling alone, so matching "on lemmas"
can be done on lower-cased forms instead: ``forms_of`` lists every spelling whose lemma is a
given lemma, and the rule suggester expands keywords into those spellings once. Coding then
needs only the tokenizer, which keeps it near bare tokenization speed.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

TRAINED = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
ENGLISH = "en"
MULTI = "xx"  # spaCy's multi-language tokenizer, for a language it cannot tokenize alone


def _table_path(language: str) -> Path:
    import spacy_lookups_data

    return Path(spacy_lookups_data.__file__).parent / "data" / f"{language}_lemma_lookup.json.gz"


def keyword_matching(language: str) -> str:
    """How a codebook's keywords in ``language`` are matched, in words (for ``codebook check``)."""
    from spacy.util import get_lang_class

    try:
        name = get_lang_class(language).__name__
    except ImportError:
        name = language
    if _table_path(language).is_file():
        return f"keywords matched on {name} lemmas"
    return f"keywords matched as written (no lemma table for {name})"


def _lookup_table(language: str) -> dict[str, str]:
    """The language's lemma table as {spelling: lemma}, lower-cased, from spacy-lookups-data
    (empty for a language without one).

    English keeps only its lower-case entries (its capitalised ones are names); in other
    languages capitalised entries are ordinary words (every German noun), lower-cased where
    the table has no lower-case entry of the same spelling."""
    import gzip
    import json

    path = _table_path(language)
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data: dict[str, str] = json.load(handle)
    table = {k: v.lower() for k, v in data.items() if k == k.lower()}
    if language != ENGLISH:
        for k, v in data.items():
            table.setdefault(k.lower(), v.lower())
    return table


@lru_cache(maxsize=4)
def lemma_table(language: str = ENGLISH) -> dict[str, str]:
    return _lookup_table(language)


@lru_cache(maxsize=4)
def lemma_forms(language: str = ENGLISH) -> dict[str, frozenset[str]]:
    """lemma -> every lower-case spelling whose lemma it is (including itself)."""
    table = lemma_table(language)
    forms: dict[str, set[str]] = defaultdict(set)
    for spelling, lemma in table.items():
        forms[lemma].add(spelling)
    return {lemma: frozenset(spellings) for lemma, spellings in forms.items()}


def lemma_of(word: str, language: str = ENGLISH) -> str:
    low = word.lower()
    return lemma_table(language).get(low, low)


def forms_of(lemma: str, language: str = ENGLISH) -> frozenset[str]:
    """Spellings w with lemma_of(w, language) == lemma."""
    spellings = set(lemma_forms(language).get(lemma, ()))
    if lemma_of(lemma, language) == lemma:
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
    """Sets every token's lemma from the pipeline language's lookup table, keyed by the
    lower-cased form.

    The table becomes a hash -> hash map once; lemmas are written with one ``Doc.from_array``
    call per doc.
    """

    def __init__(self, nlp: Any) -> None:
        strings = nlp.vocab.strings
        self.by_lower: dict[int, int] = {strings.add(k): strings.add(v)
                                         for k, v in lemma_table(nlp.lang).items()}

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


@lru_cache(maxsize=4)
def load_pipeline(language: str = ENGLISH) -> Any:
    """The shared pipeline for a codebook's language (built once per process and language)."""
    import spacy
    from spacy.util import is_package

    if language == ENGLISH:
        for name in TRAINED:
            if is_package(name):
                return spacy.load(name, exclude=["ner", "textcat"])
    _register()
    try:
        nlp = spacy.blank(language)
    except ImportError:  # unknown to spaCy, or its tokenizer needs another package
        nlp = spacy.blank(MULTI)
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("qualkit_lemmatizer")
    return nlp
