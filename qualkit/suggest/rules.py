"""Rule suggester: codebook keywords matched on lemmas, plus spaCy Matcher patterns.

A simple negation guard drops matches that follow a negation cue in the same clause
("I never felt isolated" is not evidence of isolation).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ..model import Codebook, Coding, Segment, Suggestion, Transcript, speaker_matches
from .base import check_fitted

NEGATORS = frozenset({"not", "n't", "never", "no", "nobody", "nothing", "hardly", "barely",
                      "neither", "nor", "without", "cannot", "none", "nt"})
# "not only", "no doubt" and friends do not negate what follows.
NOT_NEGATING = frozenset({("not", "only"), ("not", "just"), ("no", "doubt"), ("not", "least"),
                          ("never", "mind")})
CLAUSE_BREAKS = frozenset({".", ",", ";", ":", "!", "?", "—", "–", "-", "but", "though",
                           "although", "however", "yet", "because", "whereas", "except"})
NEGATION_WINDOW = 5
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


@dataclass
class _Hit:
    code_id: str
    start: int  # token index in the segment doc
    end: int
    phrase: str
    kind: str  # "keyword" or "pattern"


def negated(doc: Any, start: int, window: int = NEGATION_WINDOW) -> bool:
    """True if a negation cue precedes token ``start`` within the same clause."""
    i = start - 1
    steps = 0
    while i >= 0 and steps < window:
        low = doc[i].lower_
        if low in CLAUSE_BREAKS or doc[i].is_punct:
            return False
        if low in NEGATORS:
            following = doc[i + 1].lower_ if i + 1 < len(doc) else ""
            return (low, following) not in NOT_NEGATING
        i -= 1
        steps += 1
    return False


def sentence_span(text: str, char_start: int, char_end: int) -> tuple[int, int]:
    """The sentence(s) of ``text`` that contain [char_start, char_end), trimmed."""
    bounds = [0] + [m.end() for m in SENTENCE_END.finditer(text)] + [len(text)]
    s = max(b for b in bounds if b <= char_start)
    e = min((b for b in bounds if b >= char_end), default=len(text))
    chunk = text[s:e]
    return s + (len(chunk) - len(chunk.lstrip())), e - (len(chunk) - len(chunk.rstrip()))


class RuleSuggester:
    """Keyword and pattern matching against a codebook."""

    name = "rules"

    def __init__(self, nlp: Any = None, batch_size: int = 256) -> None:
        self.nlp = nlp
        self.batch_size = batch_size

    def fit(self, codebook: Codebook, codings: Iterable[Coding] = ()) -> "RuleSuggester":
        from spacy.matcher import Matcher, PhraseMatcher

        from ..nlp import load_pipeline

        nlp = self.nlp if self.nlp is not None else load_pipeline()
        phrase = PhraseMatcher(nlp.vocab, attr="LEMMA")
        matcher = Matcher(nlp.vocab, validate=True)
        keyword_docs = []
        for code in codebook.all_codes():
            if code.keywords:
                docs = list(nlp.pipe([k.strip() for k in code.keywords]))
                phrase.add(code.id, docs)
                keyword_docs.extend(docs)
            if code.patterns:
                matcher.add(code.id, code.patterns)
        self.nlp_ = nlp
        self.codebook_ = codebook
        self.phrase_ = phrase
        self.matcher_ = matcher
        self.speakers_ = {c.id: codebook.speakers_for(c.id) for c in codebook.all_codes()}
        self.exclusive_ = {child.id: parent.id for child, parent in codebook.walk()
                           if parent is not None and parent.exclusive}
        return self

    def _codable(self, segment: Segment) -> bool:
        return any(speaker_matches(allowed, segment) for allowed in self.speakers_.values())

    def suggest(self, transcripts: Iterable[Transcript]
                ) -> Iterator[tuple[Transcript, list[Suggestion]]]:
        """Stream (transcript, suggestions) pairs; segments go through nlp.pipe in batches."""
        check_fitted(self, "matcher_")
        for transcript in transcripts:
            segments = [s for s in transcript.segments if s.text.strip() and self._codable(s)]
            docs = self.nlp_.pipe((s.text for s in segments), batch_size=self.batch_size)
            out: list[Suggestion] = []
            for segment, doc in zip(segments, docs):
                out.extend(self._suggest_segment(transcript.name, segment, doc))
            yield transcript, out

    def _hits(self, doc: Any) -> list[_Hit]:
        strings = self.nlp_.vocab.strings
        hits = [_Hit(strings[m], s, e, doc[s:e].text, "keyword") for m, s, e in self.phrase_(doc)]
        hits += [_Hit(strings[m], s, e, doc[s:e].text, "pattern") for m, s, e in self.matcher_(doc)]
        return hits

    def _suggest_segment(self, transcript: str, segment: Segment, doc: Any) -> list[Suggestion]:
        by_code: dict[str, list[_Hit]] = defaultdict(list)
        for hit in self._hits(doc):
            if not speaker_matches(self.speakers_.get(hit.code_id, []), segment):
                continue
            if negated(doc, hit.start):
                continue
            by_code[hit.code_id].append(hit)
        # Exclusive parents: keep only the child with the most evidence.
        best: dict[str, tuple[int, str]] = {}
        for code_id, hits in by_code.items():
            parent = self.exclusive_.get(code_id)
            if parent is not None:
                strength = len({h.phrase.lower() for h in hits})
                if parent not in best or strength > best[parent][0]:
                    best[parent] = (strength, code_id)
        keep = {code for _, code in best.values()}
        out = []
        for code_id, hits in by_code.items():
            if code_id in self.exclusive_ and code_id not in keep:
                continue
            hits.sort(key=lambda h: h.start)
            first, last = hits[0], hits[-1]
            s, _ = sentence_span(segment.text, doc[first.start].idx, doc[first.end - 1].idx + 1)
            _, e = sentence_span(segment.text, doc[last.start].idx, doc[last.end - 1].idx + 1)
            distinct = list(dict.fromkeys(f'{h.kind} "{h.phrase}"' for h in hits))
            score = min(0.95, 0.5 + 0.15 * len(distinct))
            out.append(Suggestion(code_id=code_id, transcript=transcript,
                                  segment_index=segment.index, start=segment.start + s,
                                  end=segment.start + e, score=round(score, 3),
                                  source=self.name, rationale="matched " + ", ".join(distinct[:5])))
        return out
