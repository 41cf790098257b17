"""The spaCy pipeline qualkit codes with, built without any download.

A trained English pipeline is used when one is installed (``en_core_web_sm`` or larger);
otherwise ``spacy.blank("en")`` with a sentencizer and a lookup lemmatizer that looks up the
lower-cased form (spaCy's lookup table is case-sensitive, so "Felt" would stay "Felt").
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

TRAINED = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")


def _register() -> None:
    from spacy.language import Language

    if "qualkit_lemmatizer" in Language.factories:
        return

    @Language.factory("qualkit_lemmatizer")
    def make_lemmatizer(nlp: Language, name: str) -> "LowerLookupLemmatizer":
        return LowerLookupLemmatizer(nlp)


class LowerLookupLemmatizer:
    """Sets every token's lemma from spacy-lookups-data, keyed by the lower-cased form.

    The table is turned into a hash -> hash map once, and lemmas are written with one
    ``Doc.from_array`` call per doc, which keeps this near tokenizer speed.
    """

    def __init__(self, nlp: Any) -> None:
        from spacy.lookups import load_lookups

        table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        strings = nlp.vocab.strings
        self.by_lower: dict[int, int] = {key: strings.add(lemma.lower())
                                         for key, lemma in table.items()}

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


def pipeline_name(nlp: Any) -> str:
    meta = getattr(nlp, "meta", {})
    return f"{meta.get('lang', 'en')}_{meta.get('name', 'pipeline')}"
