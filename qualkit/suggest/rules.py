"""Rule suggester: codebook keywords matched on lemmas, plus spaCy Matcher patterns.

A simple negation guard drops keyword matches that follow a negation cue in the same clause
("I never felt isolated" is not evidence of isolation); patterns are taken as written. Keywords
are matched on the lemmas of the codebook's language; the negation guard is English only.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Codebook, Segment, Suggestion, Transcript, speaker_matches
from .base import Example, Scope, Scores, SegmentView, check_fitted, decide, views_of

# The negation guard's words are English; in another language only punctuation ends a clause
# and no word negates. German cues were measured and not kept: "keine Nachbesprechung" is
# evidence of no debrief, not against it, and the German sample study's keyword rules fell
# from 0.549 to 0.533 macro F1 with them (docs/study.md).
NEGATORS = frozenset({"not", "n't", "never", "no", "nobody", "nothing", "hardly", "barely",
                      "neither", "nor", "without", "cannot", "none", "nt"})
# "not only", "no doubt" and friends do not negate what follows.
NOT_NEGATING = frozenset({("not", "only"), ("not", "just"), ("no", "doubt"), ("not", "least"),
                          ("never", "mind")})
PUNCTUATION_BREAKS = frozenset({".", ",", ";", ":", "!", "?", "—", "–", "-"})
CLAUSE_BREAKS = PUNCTUATION_BREAKS | {"but", "though", "although", "however", "yet", "because",
                                      "whereas", "except"}
NEGATION_WINDOW = 5
TURN_BREAK = "\n\n"
PATTERN_KEY = "\x1fpattern"
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


@dataclass
class _Hit:
    code_id: str
    start: int  # character offsets in the segment's text
    end: int
    phrase: str
    kind: str  # "keyword" or "pattern"


class _TokenView:
    """Lazy access to the few token attributes the rule suggester needs, near its matches."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self._cache: dict[int, tuple[int, bool, int, int]] = {}

    def _get(self, i: int) -> tuple[int, bool, int, int]:
        found = self._cache.get(i)
        if found is None:
            t = self.doc[i]
            found = (t.lower, t.is_punct or t.is_space, t.idx, t.idx + len(t))
            self._cache[i] = found
        return found

    def __len__(self) -> int:
        return len(self.doc)

    def lower(self, i: int) -> int:
        return self._get(i)[0]

    def breaks(self, i: int) -> bool:
        return self._get(i)[1]

    def idx(self, i: int) -> int:
        return self._get(i)[2]

    def end(self, i: int) -> int:
        return self._get(i)[3]


def negated(tokens: _TokenView, start: int, neg: Negation,
            window: int = NEGATION_WINDOW) -> bool:
    """True if a negation cue precedes token ``start`` within the same clause.

    Punctuation, a turn break and words such as "but" end the clause.
    """
    i = start - 1
    steps = 0
    while i >= 0 and steps < window:
        low = tokens.lower(i)
        if low in neg.breaks or tokens.breaks(i):
            return False
        if low in neg.cues:
            following = tokens.lower(i + 1) if i + 1 < len(tokens) else 0
            return (low, following) not in neg.exceptions
        i -= 1
        steps += 1
    return False


@dataclass
class Negation:
    """The negation word lists as string ids of one vocabulary (compared without strings)."""

    cues: frozenset[int]
    breaks: frozenset[int]
    exceptions: frozenset[tuple[int, int]]

    @classmethod
    def for_vocab(cls, strings: Any, language: str = "en") -> Negation:
        if language != "en":
            return cls(frozenset(), frozenset(strings.add(w) for w in PUNCTUATION_BREAKS),
                       frozenset())
        return cls(frozenset(strings.add(w) for w in NEGATORS),
                   frozenset(strings.add(w) for w in CLAUSE_BREAKS),
                   frozenset((strings.add(a), strings.add(b)) for a, b in NOT_NEGATING))


def sentence_bounds(text: str) -> list[int]:
    return [0] + [m.end() for m in SENTENCE_END.finditer(text)] + [len(text)]


def sentence_span(text: str, char_start: int, char_end: int,
                  bounds: list[int] | None = None) -> tuple[int, int]:
    """The sentence(s) of ``text`` that contain [char_start, char_end), trimmed."""
    bounds = sentence_bounds(text) if bounds is None else bounds
    s = bounds[bisect_right(bounds, char_start) - 1]
    k = bisect_left(bounds, char_end)
    e = bounds[k] if k < len(bounds) else len(text)
    chunk = text[s:e]
    return s + (len(chunk) - len(chunk.lstrip())), e - (len(chunk) - len(chunk.rstrip()))


MAX_SPELLINGS = 2000


def _spellings(nlp: Any, keywords: list[str]) -> list[Any]:
    """Docs for every spelling of each keyword whose words have the keyword's lemmas (in the
    pipeline's language)."""
    from spacy.tokens import Doc

    from ..nlp import forms_of, lemma_of

    docs: list[Doc] = []
    lang = nlp.lang
    for keyword in keywords:
        options = [sorted(forms_of(lemma_of(t.text, lang), lang)) or [t.lower_]
                   for t in nlp.tokenizer(keyword)]
        combos = list(itertools.islice(itertools.product(*options), MAX_SPELLINGS))
        docs.extend(Doc(nlp.vocab, words=list(words)) for words in combos)
    return docs


def _as_phrases(pattern: list[dict[str, Any]]) -> list[list[str]] | None:
    """The word sequences a pattern of plain LOWER tokens (optionally OP '?') matches, or None."""
    options: list[list[str | None]] = []
    for token in pattern:
        op = token.get("OP")
        if set(token) - {"LOWER", "OP"} or op not in (None, "?"):
            return None
        values = _token_values(token)
        if values is None:
            return None
        options.append(sorted(values) + ([None] if op == "?" else []))
    combos = itertools.islice(itertools.product(*options), MAX_SPELLINGS + 1)
    phrases = [[w for w in combo if w is not None] for combo in combos]
    if len(phrases) > MAX_SPELLINGS or any(not p for p in phrases):
        return None
    return phrases


def _lemma_to_lower(pattern: list[dict[str, Any]], lang: str
                    ) -> list[dict[str, Any]] | None:
    """Rewrite LEMMA predicates as LOWER-in-spellings; None if a predicate cannot be rewritten."""
    from ..nlp import forms_of, lemma_of

    out = []
    for token in pattern:
        if "LEMMA" not in token:
            out.append(token)
            continue
        if "LOWER" in token:
            return None
        value = token["LEMMA"]
        rest = {k: v for k, v in token.items() if k != "LEMMA"}
        if isinstance(value, str):
            rest["LOWER"] = {"IN": sorted(forms_of(lemma_of(value, lang), lang))}
        elif isinstance(value, dict) and set(value) <= {"IN", "NOT_IN"}:
            rest["LOWER"] = {op: sorted(set().union(*(forms_of(lemma_of(v, lang), lang)
                                                      for v in values)))
                             for op, values in value.items()}
        else:
            return None
        out.append(rest)
    return out


REQUIRED_OPS = re.compile(r"^(?:\+|!?\{[1-9]\d*(?:,\d*)?\}|1)$")


def _triggers(nlp: Any, patterns: list[list[dict[str, Any]]]) -> frozenset[int] | None:
    """Lower-case word hashes of which every pattern needs at least one, or None if some pattern
    has no such word (then the Matcher runs on every doc)."""
    strings = nlp.vocab.strings
    out: set[int] = set()
    for pattern in patterns:
        best: set[str] | None = None
        for token in pattern:
            op = token.get("OP")
            if op is not None and not REQUIRED_OPS.match(str(op)):
                continue
            values = _token_values(token)
            if values is not None and (best is None or len(values) < len(best)):
                best = values
        if best is None:
            return None
        out.update(strings.add(v) for v in best)
    return frozenset(out)


def _token_values(token: dict[str, Any]) -> set[str] | None:
    """The lower-case words a token pattern can match, if that is a finite set."""
    for attr in ("LOWER", "ORTH", "TEXT"):
        value = token.get(attr)
        if isinstance(value, str):
            return {value.lower()}
        if isinstance(value, dict) and set(value) == {"IN"}:
            return {str(v).lower() for v in value["IN"]}
    return None


class RuleSuggester:
    """Keyword and pattern matching against a codebook."""

    name = "rules"

    def __init__(self, nlp: Any = None, expand_lemmas: bool = True) -> None:
        self.nlp = nlp
        self.expand_lemmas = expand_lemmas

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> RuleSuggester:
        from spacy.matcher import Matcher, PhraseMatcher
        from spacy.tokens import Doc

        from ..nlp import is_lookup_pipeline, load_pipeline

        nlp = self.nlp if self.nlp is not None else load_pipeline(codebook.language)
        codes = codebook.all_codes()
        rewritten = {c.id: [_lemma_to_lower(p, nlp.lang) for p in c.patterns]
                     for c in codes if c.patterns}
        # With lookup lemmas, matching on lemmas equals matching on the spellings of those
        # lemmas, so only the tokenizer has to run. Otherwise run the whole pipeline.
        lookup = self.expand_lemmas and is_lookup_pipeline(nlp) and all(
            p is not None for ps in rewritten.values() for p in ps)
        # Used in lookup mode only, where every pattern was rewritten (none is dropped here).
        patterns = {cid: [p for p in ps if p is not None] for cid, ps in rewritten.items()}
        phrase = PhraseMatcher(nlp.vocab, attr="LOWER" if lookup else "LEMMA")
        # In lookup mode keywords and fixed patterns share one PhraseMatcher (one pass per
        # doc); a pattern's entries carry the code id plus PATTERN_KEY.
        pattern_phrases = phrase if lookup else PhraseMatcher(nlp.vocab, attr="LOWER")
        matcher = Matcher(nlp.vocab, validate=True)
        matcher_patterns: list[list[dict[str, Any]]] = []
        for code in codes:
            if code.keywords:
                keywords = [k.strip() for k in code.keywords]
                phrase.add(code.id, _spellings(nlp, keywords) if lookup
                           else list(nlp.pipe(keywords)))
            for pattern in (patterns.get(code.id, []) if lookup else code.patterns):
                # Fixed word sequences go to the PhraseMatcher, which costs almost nothing;
                # only patterns with open-ended parts need the per-token Matcher.
                fixed = _as_phrases(pattern) if lookup else None
                if fixed is not None:
                    pattern_phrases.add(code.id + PATTERN_KEY,
                                        [Doc(nlp.vocab, words=w) for w in fixed])
                else:
                    matcher.add(code.id, [pattern])
                    matcher_patterns.append(pattern)
        self.nlp_ = nlp
        self.lookup_ = lookup
        self.codebook_ = codebook
        self.phrase_ = phrase
        self.pattern_phrases_ = pattern_phrases if len(pattern_phrases) and \
            pattern_phrases is not phrase else None
        self.matcher_ = matcher if len(matcher) else None
        self.triggers_ = _triggers(nlp, matcher_patterns)
        self.speakers_ = {c.id: codebook.speakers_for(c.id) for c in codes}
        self.negation_ = Negation.for_vocab(nlp.vocab.strings, codebook.language)
        strings = nlp.vocab.strings
        self.label_ = {**{strings.add(c.id): (c.id, "keyword") for c in codes},
                       **{strings.add(c.id + PATTERN_KEY): (c.id, "pattern") for c in codes}}
        self.scope_ = Scope(codebook)
        self.codes_ = self.scope_.codes
        self.column_ = {c: j for j, c in enumerate(self.codes_)}
        self._allowed_cache: dict[tuple[str, str], frozenset[str]] = {}
        return self

    def _allowed(self, segment: Segment) -> frozenset[str]:
        """Codes that may apply to this segment's speaker (cached per speaker and role)."""
        key = (segment.speaker, segment.role)
        found = self._allowed_cache.get(key)
        if found is None:
            found = frozenset(c for c, allowed in self.speakers_.items()
                              if speaker_matches(allowed, segment))
            self._allowed_cache[key] = found
        return found

    def score(self, views: Sequence[SegmentView]) -> Scores:
        """Rule evidence per segment and code: 0.5 for one distinct match, +0.15 per further
        distinct match (at most 0.95), with the matched phrases and their sentences.

        The coded turns are joined (a blank line between them) and processed as one doc, so
        the per-doc costs of spaCy are paid once per transcript, not once per turn."""
        check_fitted(self, "phrase_")
        scores = Scores.empty(len(views), self.codes_)
        rows = [i for i, v in enumerate(views) if v.segment.text.strip()
                and self._allowed(v.segment)]
        if not rows:
            return scores
        starts, pos = [], 0
        for i in rows:
            starts.append(pos)
            pos += len(views[i].segment.text) + len(TURN_BREAK)
        text = TURN_BREAK.join(views[i].segment.text for i in rows)
        doc = self.nlp_.tokenizer(text) if self.lookup_ else self.nlp_(text)
        self._score_doc(scores, views, rows, starts, doc)
        return scores

    def suggest(self, transcripts: Iterable[Transcript]
                ) -> Iterator[tuple[Transcript, list[Suggestion]]]:
        """Stream (transcript, suggestions) pairs from rule evidence alone."""
        check_fitted(self, "phrase_")
        for transcript in transcripts:
            views = views_of(transcript)
            yield transcript, decide(self.score(views), views, self.scope_, self.name)

    def _matches(self, doc: Any) -> list[tuple[int, int, str, str]]:
        """(start token, end token, code id, kind) for every keyword and pattern match."""
        label = self.label_
        found = [(s, e, *label[m]) for m, s, e in self.phrase_(doc)]
        if self.pattern_phrases_ is not None:
            found += [(s, e, label[m][0], "pattern") for m, s, e in self.pattern_phrases_(doc)]
        if self.matcher_ is not None and self._may_match(doc):
            found += [(s, e, label[m][0], "pattern") for m, s, e in self.matcher_(doc)]
        return found

    def _may_match(self, doc: Any) -> bool:
        """Run the (slow, per-token) Matcher only on docs holding a word some pattern needs."""
        if self.triggers_ is None:
            return True
        from spacy.attrs import LOWER

        return not self.triggers_.isdisjoint(doc.to_array(LOWER).tolist())

    def _score_doc(self, scores: Scores, views: Sequence[SegmentView], rows: list[int],
                   starts: list[int], doc: Any) -> None:
        matches = self._matches(doc)
        if not matches:
            return
        tokens = _TokenView(doc)
        hits: dict[tuple[int, str], list[_Hit]] = defaultdict(list)
        for start, end, code_id, kind in sorted(matches):
            k = bisect_right(starts, tokens.idx(start)) - 1
            segment = views[rows[k]].segment
            first, last = tokens.idx(start) - starts[k], tokens.end(end - 1) - starts[k]
            if last > len(segment.text) or code_id not in self._allowed(segment):
                continue  # a pattern reaching into the next turn, or a code not for this speaker
            # Keywords are plain evidence and get the negation guard; a pattern is taken as
            # written (its author can build negation into it, and "?" must stay a question).
            if kind == "keyword" and negated(tokens, start, self.negation_):
                continue
            hits[(k, code_id)].append(_Hit(code_id, first, last, segment.text[first:last], kind))
        bounds: dict[int, list[int]] = {}
        for (k, code_id), found in hits.items():
            segment = views[rows[k]].segment
            text = segment.text
            if k not in bounds:
                bounds[k] = sentence_bounds(text)
            col = self.column_[code_id]
            s, _ = sentence_span(text, found[0].start, found[0].start + 1, bounds[k])
            _, e = sentence_span(text, found[-1].end - 1, found[-1].end, bounds[k])
            distinct = list(dict.fromkeys(f'{h.kind} "{h.phrase}"' for h in found))
            scores.values[rows[k], col] = min(0.95, 0.5 + 0.15 * (len(distinct) - 1))
            scores.rationale[(rows[k], col)] = "matched " + ", ".join(distinct[:5])
            scores.spans[(rows[k], col)] = (segment.start + s, segment.start + e)
