"""Search every transcript for words, a phrase, lemmas or a regular expression, with
keyword-in-context (KWIC) results.

Modes (``SearchQuery.mode``); every match lies inside one speaker turn, never across two:

- ``words``: every word of the query occurs, as a whole word, somewhere in the same turn, in any
  order. One hit per turn: its span runs from the first to the last word of the shortest stretch
  of the turn holding them all, and ``marks`` are the words themselves.
- ``phrase``: the words in this order as whole words, with any whitespace between them.
- ``lemma``: the words in this order, each in any spelling with the same lemma ("worked alone"
  finds "work alone", "works alone", "working alone"), on the turn's tokens (the spaCy
  tokenizer, so "I'm" is two tokens) with the lookup lemma table of ``qualkit.nlp``. Lemmas
  are lower-case, so lemma search ignores case.
- ``regex``: a regular expression (Python syntax, applied to each turn's text, so ``^`` and
  ``$`` are the turn's start and end); empty matches are skipped. A pattern longer than
  ``MAX_PATTERN`` characters is refused; a pattern that cannot compile gives one line naming
  the problem; each turn is matched with a timeout (the ``regex`` module's, which stops a
  catastrophically backtracking pattern such as ``(a|aa)+$`` inside the engine) and the whole
  search with a time budget.

Words, phrase and regex ignore case unless ``case_sensitive``. A hit's ``start``/``end`` are
offsets into the transcript's text (``text[start:end]`` is what matched, for ``words`` the
stretch holding the words). Transcripts are read one at a time (``Store.iter_transcripts``),
so memory stays flat however large the project.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import QualkitError
from .model import Segment, Transcript, attribute_value

if TYPE_CHECKING:
    from .store import Store

MODES: dict[str, str] = {  # the first is the default
    "phrase": "these words in this order",
    "words": "every word somewhere in the same turn, in any order",
    "lemma": "these words in this order, in any form (worked alone finds work alone)",
    "regex": "a regular expression (Python syntax), matched within each turn",
}
MAX_PATTERN = 500  # characters of a regular expression
TURN_TIMEOUT = 1.0  # seconds a regular expression may take on one turn
SEARCH_BUDGET = 20.0  # seconds a regular expression may take over the whole search
CONTEXT = 60  # characters of context on each side in KWIC lines
DEFAULT_LIMIT = 1000


class SearchError(QualkitError):
    """A search that cannot be run as asked (an empty query, a bad pattern)."""


@dataclass(frozen=True)
class SearchQuery:
    text: str
    mode: str = "phrase"  # one of MODES
    case_sensitive: bool = False
    roles: tuple[str, ...] = ()  # speaker roles to search (empty: every role)
    attributes: Mapping[str, str] = field(default_factory=dict)  # participant attribute = value
    transcripts: tuple[str, ...] = ()  # transcript names (empty: all)
    language: str = "en"  # the lemmas "lemma" mode matches on (the project codebook's language)


@dataclass(frozen=True)
class Hit:
    transcript: str
    segment: int  # the turn's index
    speaker: str
    role: str
    start: int  # offsets into the transcript's text: text[start:end] is the matched text
    end: int
    text: str
    left: str  # context before and after, within the turn, runs of whitespace as one space
    right: str
    marks: tuple[tuple[int, int], ...] = ()  # the matched words (offsets into the text)

    @property
    def kwic(self) -> str:
        """One keyword-in-context line: the match in [brackets]."""
        return f"{self.left}[{_flat(self.text)}]{self.right}".strip()


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _check(query: SearchQuery) -> None:
    if query.mode not in MODES:
        raise SearchError(f"unknown search mode {query.mode!r}", field="mode",
                          hint="choose one of " + ", ".join(MODES))
    if not query.text.strip():
        raise SearchError("the search is empty", field="query", hint="type words to search for")


def _word_pattern(word: str) -> str:
    """``word`` as a whole word: not inside a longer word on either side."""
    escaped = re.escape(word)
    before = r"(?<!\w)" if re.match(r"\w", word) else ""
    after = r"(?!\w)" if re.search(r"\w$", word) else ""
    return before + escaped + after


def _flags(query: SearchQuery) -> int:
    return 0 if query.case_sensitive else re.IGNORECASE


def compile_regex(pattern: str, case_sensitive: bool = False) -> Any:
    """A user's regular expression compiled with the ``regex`` module, or one-line
    ``SearchError`` saying what is wrong."""
    import regex

    if len(pattern) > MAX_PATTERN:
        raise SearchError(f"the regular expression is {len(pattern)} characters long (at most "
                          f"{MAX_PATTERN})", field="query", hint="search for something shorter")
    try:
        return regex.compile(pattern, regex.V0 | (0 if case_sensitive else regex.IGNORECASE))
    except regex.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise SearchError(f"invalid regular expression: {exc.msg}{where}", field="query",
                          hint="check brackets and escapes (a literal ( is \\( )") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        raise SearchError(f"invalid regular expression: {exc}", field="query") from None


class _Matcher:
    """Finds a query's matches in one turn: (start, end, marks) relative to the turn."""

    def __init__(self, query: SearchQuery) -> None:
        self.query = query
        self.mode = query.mode
        words = query.text.split()
        if self.mode == "words":
            self.patterns = [re.compile(_word_pattern(w), _flags(query))
                             for w in dict.fromkeys(words if query.case_sensitive
                                                    else [w.lower() for w in words])]
        elif self.mode == "phrase":
            self.phrase = re.compile(r"\s+".join(_word_pattern(w) for w in words), _flags(query))
        elif self.mode == "lemma":
            from functools import partial

            from .nlp import lemma_of, load_pipeline

            language = query.language
            self.tokenizer = load_pipeline(language).tokenizer
            self.lemma_of = partial(lemma_of, language=language)
            self.lemmas = [self.lemma_of(t.text) for t in self.tokenizer(query.text)
                           if not t.is_space]
            if not self.lemmas:
                raise SearchError("the search has no words", field="query")
            self.cache: dict[str, str] = {}
            # A turn can only match if its lower-cased text holds some spelling of every
            # lemma (a token is a piece of the text), so most turns are never tokenized.
            from .nlp import forms_of

            self.needed = [re.compile("|".join(re.escape(f) for f in sorted(
                forms_of(lemma, language) | {lemma}, key=len, reverse=True)))
                for lemma in set(self.lemmas)]
        else:
            self.regex = compile_regex(query.text, query.case_sensitive)
            self.deadline = time.monotonic() + SEARCH_BUDGET

    def find(self, text: str, where: str) -> Iterator[tuple[int, int, tuple[tuple[int, int],
                                                                        ...]]]:
        if self.mode == "words":
            yield from self._words(text)
        elif self.mode == "phrase":
            for m in self.phrase.finditer(text):
                yield m.start(), m.end(), ((m.start(), m.end()),)
        elif self.mode == "lemma":
            yield from self._lemma(text)
        else:
            yield from self._regex(text, where)

    def _words(self, text: str) -> Iterator[tuple[int, int, tuple[tuple[int, int], ...]]]:
        found = [[(m.start(), m.end()) for m in p.finditer(text)] for p in self.patterns]
        if not all(found):
            return
        # the shortest stretch holding every word (the earliest if several are as short)
        events = sorted((s, e, k) for k, spans in enumerate(found) for s, e in spans)
        last: dict[int, tuple[int, int]] = {}
        best: tuple[int, int] | None = None
        for s, e, k in events:
            last[k] = (s, e)
            if len(last) == len(found):
                lo = min(v[0] for v in last.values())
                hi = max(v[1] for v in last.values())
                if best is None or hi - lo < best[1] - best[0]:
                    best = (lo, hi)
        if best is not None:
            lo, hi = best
            marks = tuple(sorted((s, e) for s, e, _ in events if lo <= s and e <= hi))
            yield lo, hi, marks

    def _lemma(self, text: str) -> Iterator[tuple[int, int, tuple[tuple[int, int], ...]]]:
        lowered = text.lower()
        if not all(p.search(lowered) for p in self.needed):
            return
        tokens = [t for t in self.tokenizer(text) if not t.is_space]
        cache = self.cache
        lemmas = []
        for t in tokens:
            low = t.lower_
            lemma = cache.get(low)
            if lemma is None:
                lemma = cache[low] = self.lemma_of(low)
            lemmas.append(lemma)
        n = len(self.lemmas)
        i = 0
        while i + n <= len(tokens):
            if lemmas[i:i + n] == self.lemmas:
                first, last = tokens[i], tokens[i + n - 1]
                start, end = first.idx, last.idx + len(last.text)
                yield start, end, tuple((t.idx, t.idx + len(t.text))
                                        for t in tokens[i:i + n])
                i += n
            else:
                i += 1

    def _regex(self, text: str, where: str) -> Iterator[tuple[int, int, tuple[tuple[int, int],
                                                                           ...]]]:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._too_slow(where, f"the whole search over {SEARCH_BUDGET:g} s")
        try:
            found = [(m.start(), m.end()) for m in self.regex.finditer(
                text, timeout=min(TURN_TIMEOUT, left))]
        except TimeoutError:
            raise self._too_slow(where, f"over {TURN_TIMEOUT:g} s on one turn") from None
        for s, e in found:
            if e > s:
                yield s, e, ((s, e),)

    @staticmethod
    def _too_slow(where: str, how: str) -> SearchError:
        return SearchError(f"the regular expression took too long ({how}, at {where}); "
                           "the search was stopped", field="query",
                           hint="simplify it: avoid nested repeats such as (a+)+ or (a|aa)+")


def _context(text: str, start: int, end: int, width: int) -> tuple[str, str]:
    """Up to ``width`` characters either side of text[start:end], cut at a word boundary."""
    left = text[max(0, start - width):start]
    right = text[end:end + width]
    if start - width > 0 and " " in left:
        left = "…" + left[left.index(" ") + 1:]
    if end + width < len(text) and " " in right:
        right = right[:right.rindex(" ")] + "…"
    return _flat(left), _flat(right)


def selected_transcripts(store: Store, query: SearchQuery) -> list[str]:
    """The transcripts a query looks in: those named (all if none), with every participant
    attribute filter met (a missing value is ``model.NO_VALUE``)."""
    wanted = set(query.transcripts)
    infos = store.transcripts()
    if wanted:
        unknown = sorted(wanted - {i.name for i in infos})
        if unknown:
            raise SearchError(f"no transcript named {unknown[0]!r} in this project",
                              field="transcript", hint="`qualkit status --list` lists them")
    return [i.name for i in infos if (not wanted or i.name in wanted)
            and all(attribute_value(i.attributes, k) == str(v)
                    for k, v in query.attributes.items())]


def segments_of(transcript: Transcript, roles: Sequence[str]) -> list[Segment]:
    return [s for s in transcript.segments if not roles or s.role in roles]


def search(store: Store, query: SearchQuery, limit: int | None = DEFAULT_LIMIT,
           context: int = CONTEXT) -> list[Hit]:
    """Every hit of ``query`` in the project, in transcript order then text order, at most
    ``limit`` (None: all). Transcripts are read one at a time."""
    return list(iter_hits(store, query, limit, context))


def iter_hits(store: Store, query: SearchQuery, limit: int | None = DEFAULT_LIMIT,
              context: int = CONTEXT) -> Iterator[Hit]:
    _check(query)
    matcher = _Matcher(query)  # a bad pattern fails here, before any transcript is read
    if limit is not None and limit <= 0:
        return
    count = 0
    for transcript in store.iter_transcripts(selected_transcripts(store, query)):
        text = transcript.text
        for seg in segments_of(transcript, query.roles):
            where = f"{transcript.name}, turn {seg.index}"
            for s, e, marks in matcher.find(seg.text, where):
                start, end = seg.start + s, seg.start + e
                left, right = _context(seg.text, s, e, context)
                yield Hit(transcript=transcript.name, segment=seg.index, speaker=seg.speaker,
                          role=seg.role, start=start, end=end, text=text[start:end],
                          left=left, right=right,
                          marks=tuple((seg.start + a, seg.start + b) for a, b in marks))
                count += 1
                if limit is not None and count >= limit:
                    return


HIT_COLUMNS = ["transcript", "participant", "segment", "speaker", "role", "start", "end",
               "left", "match", "right", "turn"]


def hits_table(store: Store, hits: Sequence[Hit]) -> Any:
    """The hits as a pandas table for ``sheets.write_sheet``: one row per hit, with the
    participant label and the whole turn's text."""
    import pandas as pd

    from .model import participant_label

    rows = []
    cache: dict[str, Transcript] = {}
    for h in hits:
        if h.transcript not in cache:
            cache.clear()  # one transcript at a time: hits come grouped by transcript
            cache[h.transcript] = store.load_transcript(h.transcript)
        tr = cache[h.transcript]
        seg = next((s for s in tr.segments if s.index == h.segment), None)
        rows.append([h.transcript, participant_label(tr.name, tr.attributes), h.segment,
                     h.speaker, h.role, h.start, h.end, h.left, h.text, h.right,
                     seg.text if seg else ""])
    return pd.DataFrame(rows, columns=HIT_COLUMNS)
