"""Pseudonymised exports: a project's table of identifying strings and their replacements.

Interview data is personal data. Reports, extract tables and REFI-QDA files shared with
co-authors, supervisors or an archive should not carry the names of participants, colleagues,
clients, places or employers. The project keeps a table (``store.pseudonyms``) of identifying
strings (``original``) and what each becomes (``replacement``), with a status: ``use``
(replaced in every pseudonymised export), ``proposed`` (a candidate qualkit found, waiting for
the researcher) or ``ignore`` (the researcher said it is not identifying).

- ``seed``: entries from what qualkit knows: speakers' names (not role labels such as
  "Interviewer"), person names in the participant attributes (``use``), organisations and
  places in the attributes (``proposed``);
- ``propose``: capitalised words and phrases that recur across turns away from the start of a
  sentence, are not common English words and not in the codebook, and a trained spaCy
  pipeline's PERSON/ORG/GPE/LOC/FAC entities when one is installed (all ``proposed``);
- ``pseudonymise(text, table)``: whole words, any case, longest original first, possessives
  kept ("Dana's" -> "P01's"), with an ``OffsetMap`` taking a coding's span in the original to
  the span of the same words in the new text;
- ``Pseudonymiser``: the one object every export applies where text leaves qualkit (quotes,
  cells, attribute values, participant labels, source names);
- ``check``: every remaining occurrence of an identifying string (status ``use``) in an
  export (.md, .html, .csv, .txt, .xlsx, .docx, .qdpx).

The transcript text in the database is never changed. docs/pseudonyms.md says what is
replaced and the limits.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import QualkitError
from .model import INTERVIEWER, PARTICIPANT, Codebook, Coding, Segment, Transcript

if TYPE_CHECKING:
    import pandas as pd

    from .store import Store

USE, PROPOSED, IGNORE = "use", "proposed", "ignore"
STATUSES = (USE, PROPOSED, IGNORE)
MIN_TURNS = 2  # a capitalised word is proposed when it occurs in at least this many turns
MAX_CHARS = 300  # the database column's width

ROLE_LABELS = frozenset({
    "interviewer", "int", "i", "iv", "researcher", "res", "facilitator", "moderator", "mod",
    "participant", "part", "p", "respondent", "resp", "r", "interviewee", "ie", "speaker",
    "spk", "q", "a", "question", "answer", "unknown", "narrator", "host", "guest", "other",
    "note", "transcriber", "everyone", "all", "group", "audience", "male", "female", "man",
    "woman", "voice", "child", "parent", "staff", "client"})
PERSON_KEYS = ("name", "full_name", "first_name", "given_name", "surname", "last_name",
               "family_name", "real_name", "participant_name")
ORGANISATION_KEYS = ("organisation", "organization", "org", "employer", "company",
                     "workplace", "agency", "school", "service", "provider")
PLACE_KEYS = ("region", "place", "location", "city", "town", "village", "area", "site",
              "county", "country", "address", "postcode", "neighbourhood", "neighborhood")
CALENDAR = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "christmas", "easter", "english", "british", "i", "ok", "okay",
    "mr", "mrs", "ms", "dr", "miss", "sir", "mum", "dad", "god"})
ENTITY_KINDS = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place",
                "FAC": "place"}

# A name stands alone: no letter or digit right before or after it ("_" and "'" separate, so
# "p01_dana" and "Dana's" are found).
_BEFORE = r"(?<![^\W_])"
_AFTER = r"(?![^\W_])"


@dataclass
class Pseudonym:
    """One entry of the project's table."""

    original: str
    replacement: str
    status: str = USE
    origin: str = "added"  # speaker, attribute, added, proposed, entity
    actor: str = ""
    updated_at: datetime | None = None


def load(store: Store) -> list[Pseudonym]:
    """The project's table, by original."""
    return [Pseudonym(*row) for row in store.pseudonyms()]


# --------------------------------------------------------------------------------------------
# Replacing


@dataclass(frozen=True)
class Replaced:
    """One replacement: ``[start, end)`` in the original became ``[new_start, new_end)``."""

    start: int
    end: int
    new_start: int
    new_end: int


@dataclass
class OffsetMap:
    """Positions in the original text -> positions in the pseudonymised text. A position
    inside a replaced string moves to the start (for a span's start) or end (for its end) of
    its replacement, so a span still covers the same words."""

    replaced: list[Replaced] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ends = [r.end for r in self.replaced]

    def position(self, offset: int, end: bool = False) -> int:
        """Where ``offset`` went; inside a replaced string, the start of its replacement (or
        with ``end``, its end)."""
        from bisect import bisect_right

        i = bisect_right(self._ends, offset)  # replacements ending at or before offset
        if i < len(self.replaced) and self.replaced[i].start < offset:
            r = self.replaced[i]
            return r.new_end if end else r.new_start
        if i == 0:
            return offset
        before = self.replaced[i - 1]
        return offset + before.new_end - before.end

    def span(self, start: int, end: int) -> tuple[int, int]:
        new_start = self.position(start)
        return new_start, max(new_start, self.position(end, end=True))


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _cased(replacement: str, found: str) -> str:
    """The replacement in the case the occurrence was written in: as given, or all lower
    ("p01_dana" -> "p01_p01") or all upper case."""
    letters = [c for c in found if c.isalpha()]
    if letters and all(c.islower() for c in letters):
        return replacement.lower()
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    return replacement


def compile_table(table: Iterable[Pseudonym]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One pattern for every entry in use (longest first, so "Dana Reid" is found before
    "Dana"; words of an original may be split by any whitespace) and the replacements by
    normalised original."""
    replacements: dict[str, str] = {}
    for p in table:
        key = _norm(p.original)
        if p.status == USE and key:
            replacements.setdefault(key, p.replacement)
    if not replacements:
        return None, replacements
    alternatives = [r"\s+".join(re.escape(w) for w in key.split())
                    for key in sorted(replacements, key=lambda k: (-len(k), k))]
    pattern = re.compile(_BEFORE + "(?:" + "|".join(alternatives) + ")" + _AFTER,
                         re.IGNORECASE)
    return pattern, replacements


def _apply(text: str, pattern: re.Pattern[str] | None, replacements: Mapping[str, str]
           ) -> tuple[str, OffsetMap]:
    if pattern is None or not text:
        return text, OffsetMap()
    parts: list[str] = []
    replaced: list[Replaced] = []
    last = 0
    length = 0
    for m in pattern.finditer(text):
        new = _cased(replacements[_norm(m.group())], m.group())
        parts.append(text[last:m.start()])
        length += m.start() - last
        replaced.append(Replaced(m.start(), m.end(), length, length + len(new)))
        parts.append(new)
        length += len(new)
        last = m.end()
    parts.append(text[last:])
    return "".join(parts), OffsetMap(replaced)


def pseudonymise(text: str, table: Iterable[Pseudonym]) -> tuple[str, OffsetMap]:
    """``text`` with every identifying string in use replaced, and where its spans went."""
    pattern, replacements = compile_table(table)
    return _apply(text, pattern, replacements)


T = TypeVar("T")


class Pseudonymiser:
    """The one mechanism behind every pseudonymised export: built once from the table, then
    applied wherever text leaves qualkit. ``Pseudonymiser.none()`` changes nothing, so an
    export takes one and never asks whether it pseudonymises."""

    def __init__(self, table: Iterable[Pseudonym]) -> None:
        self.table = [p for p in table if p.status == USE]
        self.pattern, self.replacements = compile_table(self.table)

    @classmethod
    def none(cls) -> Pseudonymiser:
        return cls([])

    @classmethod
    def of(cls, store: Store) -> Pseudonymiser:
        return cls(load(store))

    def __bool__(self) -> bool:
        return self.pattern is not None

    def text(self, text: str) -> str:
        return _apply(text, self.pattern, self.replacements)[0] if text else text

    def mapped(self, text: str) -> tuple[str, OffsetMap]:
        return _apply(text, self.pattern, self.replacements)

    def value(self, value: T) -> T:
        """A value as an export shows it: text replaced, inside lists and mappings too;
        numbers, dates and flags unchanged."""
        if isinstance(value, str):
            return self.text(value)  # type: ignore[return-value]
        if isinstance(value, list):
            return [self.value(v) for v in value]  # type: ignore[return-value]
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)  # type: ignore[return-value]
        if isinstance(value, dict):
            return {self.value(k): self.value(v)  # type: ignore[return-value]
                    for k, v in value.items()}
        return value

    def attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Participant attributes with their values replaced (the keys are the researcher's
        own words, kept)."""
        return {k: self.value(v) for k, v in attributes.items()}

    def transcript(self, transcript: Transcript, codings: Sequence[Coding] = ()
                   ) -> tuple[Transcript, list[Coding]]:
        """A transcript as an export shows it (name, text, speakers, attributes replaced;
        segments moved) and its codings moved onto the same words (memos replaced)."""
        if not self:
            return transcript, list(codings)
        text, offsets = self.mapped(transcript.text)
        segments = []
        for seg in transcript.segments:
            start, end = offsets.span(seg.start, seg.end)
            segments.append(dataclasses.replace(seg, start=start, end=end,
                                                speaker=self.text(seg.speaker),
                                                text=text[start:end]))
        shown = dataclasses.replace(transcript, name=self.text(transcript.name), text=text,
                                    segments=segments,
                                    attributes=self.attributes(transcript.attributes))
        moved = []
        for c in codings:
            start, end = offsets.span(c.start, c.end)
            moved.append(dataclasses.replace(c, transcript=shown.name, start=start, end=end,
                                             memo=self.text(c.memo),
                                             rationale=self.text(c.rationale)))
        return shown, moved

    def segment(self, seg: Segment) -> Segment:
        return dataclasses.replace(seg, speaker=self.text(seg.speaker), text=self.text(seg.text))

    def frame(self, table: pd.DataFrame, keep: Iterable[str] = ()) -> pd.DataFrame:
        """A table with every text cell (and header) replaced, except columns in ``keep``."""
        if not self:
            return table
        kept = set(keep)
        out = table.copy()
        from pandas.api.types import is_numeric_dtype

        for column in out.columns:
            if column not in kept and not is_numeric_dtype(out[column].dtype):
                out[column] = out[column].map(self.value)
        return out.rename(columns={c: self.text(c) for c in out.columns
                                   if isinstance(c, str) and c not in kept})

    def dataclass(self, obj: T, keep: frozenset[str] = frozenset()) -> T:
        """A copy of a tree of dataclasses with every string replaced, except fields named in
        ``keep`` (ids, colours): how a report is pseudonymised whole."""
        if not self:
            return obj
        return self._walk(obj, keep)

    def _walk(self, obj: Any, keep: frozenset[str]) -> Any:
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, list):
            return [self._walk(v, keep) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self._walk(v, keep) for v in obj)
        if isinstance(obj, dict):
            return {self._walk(k, keep): self._walk(v, keep) for k, v in obj.items()}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {f.name: self._walk(getattr(obj, f.name), keep)
                       for f in dataclasses.fields(obj) if f.init and f.name not in keep}
            return dataclasses.replace(obj, **changes)
        return obj


# --------------------------------------------------------------------------------------------
# Seeding and proposing


def role_label(label: str) -> bool:
    """True for a speaker label that names a role, not a person: "Interviewer", "INT", "P1",
    "Participant 3", "R"."""
    core = re.sub(r"[\s_\-.#:]*\d+[a-z]?$", "", label.strip().lower())
    return not core or core in ROLE_LABELS or not any(c.isalpha() for c in core)


def _is_name(text: str) -> bool:
    return bool(text) and text[0].isupper() and any(c.isalpha() for c in text)


def participant_replacement(name: str, attributes: Mapping[str, Any], number: int) -> str:
    """What a participant's name becomes: their pseudonym attribute when it is not the name
    itself, else their participant id, else "Participant N"."""
    low = _norm(name)
    for key in ("pseudonym", "participant"):
        value = str(attributes.get(key) or "").strip()
        if value and _norm(value) != low and low not in _norm(value).split():
            return value
    return f"Participant {number}"


@dataclass
class _Table:
    """The entries being gathered, by normalised original; numbered labels stay unique."""

    known: dict[str, Pseudonym]
    added: dict[str, Pseudonym] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def has(self, original: str) -> bool:
        key = _norm(original)
        return key in self.known or key in self.added

    def add(self, original: str, replacement: str, status: str, origin: str) -> None:
        original = " ".join(original.split())[:MAX_CHARS]
        if original and not self.has(original):
            self.added[_norm(original)] = Pseudonym(original, replacement[:MAX_CHARS], status,
                                                    origin)

    def numbered(self, kind: str) -> str:
        """"[place 1]", "[place 2]", ... skipping numbers the table already uses."""
        used = {p.replacement for p in [*self.known.values(), *self.added.values()]}
        n = self.counters.get(kind, 0)
        while True:
            n += 1
            label = f"[{kind} {n}]"
            if label not in used:
                self.counters[kind] = n
                return label


def _codebook_text(book: Codebook | None) -> str:
    """The codebook's words (names, definitions, keywords), normalised: never proposed."""
    if book is None:
        return ""
    parts = []
    for code in book.all_codes():
        for text in [code.id, code.name, code.definition, *code.keywords, *code.include,
                     *code.examples]:
            parts.append(" ".join(re.findall(r"[^\W\d_]+", text)))
    return " " + _norm(" | ".join(parts)) + " "


def seed(transcripts: Iterable[Transcript], known: Iterable[Pseudonym] = ()
         ) -> list[Pseudonym]:
    """Entries from what qualkit knows, for originals the table does not have yet: speakers'
    names (``use``; a part of a full name that is also an English word is ``proposed``),
    person names in the attributes (``use``), organisations and places in the attributes
    (``proposed``)."""
    table = _Table({_norm(p.original): p for p in known})
    common = _common_words()
    interviewers: dict[str, str] = {}
    for number, tr in enumerate(sorted(transcripts, key=lambda t: t.name), start=1):
        label = participant_replacement(_first_speaker_name(tr), tr.attributes, number)
        for seg in tr.segments:
            speaker = " ".join(seg.speaker.split())
            if not speaker or role_label(speaker) or not _is_name(speaker) or \
                    _norm(speaker) == _norm(label):
                continue
            if seg.role == INTERVIEWER:
                replacement = interviewers.setdefault(_norm(speaker),
                                                      f"Interviewer {len(interviewers) + 1}")
            elif seg.role == PARTICIPANT:
                replacement = label
            else:
                replacement = table.numbered("colleague")
            _add_name(table, speaker, replacement, "speaker", common)
        for key in PERSON_KEYS:
            value = str(tr.attributes.get(key) or "").strip()
            if value and _is_name(value):
                _add_name(table, value, label, "attribute", common)
        for keys, kind in ((ORGANISATION_KEYS, "organisation"), (PLACE_KEYS, "place")):
            for key in keys:
                place = tr.attributes.get(key)
                if isinstance(place, str) and _is_name(place.strip()) and \
                        not table.has(place) and _norm(place) not in common:
                    table.add(place, table.numbered(kind), PROPOSED, "attribute")
    return list(table.added.values())


def _first_speaker_name(tr: Transcript) -> str:
    for seg in tr.segments:
        if seg.role == PARTICIPANT and not role_label(seg.speaker):
            return seg.speaker
    return ""


def _add_name(table: _Table, name: str, replacement: str, origin: str,
              common: frozenset[str]) -> None:
    table.add(name, replacement, USE, origin)
    parts = name.split()
    if len(parts) > 1:  # "Dana Reid": "Dana" and "Reid" alone too
        for part in parts:
            if len(part) > 1 and _is_name(part):
                table.add(part, replacement, PROPOSED if part.casefold() in common else USE,
                          origin)


def _common_words(language: str = "en") -> frozenset[str]:
    """Common words of English and of the codebook's language (every spelling and lemma in
    spaCy's lookup tables, spaCy's stop words, what its abbreviations stand for), days and
    months: capitalised, they are not names. In German every noun is capitalised: with
    English words alone the German sample study got 541 proposals, nearly all of them nouns;
    with German words too 230, among them every name the English original got that the
    translation still has in two turns."""
    from spacy.symbols import NORM
    from spacy.util import get_lang_class

    from .nlp import lemma_table

    words = set(CALENDAR)
    for lang in dict.fromkeys(("en", language)):
        for spelling, lemma in lemma_table(lang).items():
            # Other languages' tables hold names by their genitive ("Pauls" -> "Paul",
            # "Hamburgs" -> "Hamburg"), and mostly by nothing else: such a pair makes
            # neither word common (a noun has other forms: "Kollegen" -> "Kollege"). The
            # English table keeps no capitalised entries (nlp), so no names.
            if lang == "en" or spelling != lemma + "s":
                # casefolded as the words looked up are: "Straße" is "strasse" then
                words.update((spelling.casefold(), lemma.casefold()))
        try:
            defaults = get_lang_class(lang).Defaults
        except ImportError:  # a language spaCy does not know: its lemma table only
            continue
        words |= {w.casefold() for w in defaults.stop_words}
        # what the language's abbreviations stand for ("Jan." -> "Januar", "Str." ->
        # "Straße"): months, days and titles a lemma table may know only by a genitive
        words |= {str(norm).casefold() for forms in defaults.tokenizer_exceptions.values()
                  for form in forms if (norm := form.get(NORM))}
    return frozenset(words)


def trained_pipeline() -> str | None:
    """The name of an installed trained English pipeline (``nlp.TRAINED``), if any."""
    from spacy.util import is_package

    from .nlp import TRAINED

    return next((name for name in TRAINED if is_package(name)), None)


def _entities(texts: Iterable[str]) -> dict[str, str]:
    """PERSON/ORG/GPE/LOC/FAC entities a trained pipeline finds: {text: kind}; nothing when
    no trained pipeline is installed."""
    name = trained_pipeline()
    if name is None:
        return {}
    import spacy

    nlp = spacy.load(name, exclude=["lemmatizer", "textcat", "parser"])
    if "ner" not in nlp.pipe_names:
        return {}
    found: dict[str, str] = {}
    for doc in nlp.pipe(texts, batch_size=32):
        for ent in doc.ents:
            kind = ENTITY_KINDS.get(ent.label_)
            text = " ".join(ent.text.split()).strip(" '’.,")
            if kind and _is_name(text):
                found.setdefault(text, kind)
    return found


def propose(transcripts: Iterable[Transcript], book: Codebook | None,
            known: Iterable[Pseudonym] = ()) -> list[Pseudonym]:
    """Candidates (status ``proposed``) the table does not have: capitalised words and
    phrases found, away from the start of a sentence, in at least ``MIN_TURNS`` turns, that
    are not common words (of English and of the codebook's language), stop words or codebook
    words; and, with a trained English pipeline, its named entities."""
    from .nlp import load_pipeline

    table = _Table({_norm(p.original): p for p in known})
    language = book.language if book is not None else "en"
    common = _common_words(language)
    codebook = _codebook_text(book)
    nlp = load_pipeline(language)
    turns: dict[str, set[tuple[str, int]]] = {}
    spelling: dict[str, str] = {}
    texts: list[str] = []
    for tr in transcripts:
        for seg in tr.segments:
            texts.append(seg.text)
            for phrase in _capitalised(nlp(seg.text)):
                words = phrase.split()
                if (len(words) == 1 and phrase.casefold() in common) or \
                        f" {_norm(phrase)} " in codebook:
                    continue
                if all(w.casefold().removesuffix("s") in CALENDAR for w in words):
                    continue
                if len(words) == 1 and (phrase.isupper() or phrase[:-1].isupper()):
                    continue  # an acronym (GP, CVs): rarely a name
                key = _norm(phrase)
                turns.setdefault(key, set()).add((tr.name, seg.index))
                spelling.setdefault(key, phrase)
    for key in sorted(turns, key=lambda k: (-len(turns[k]), k)):
        if len(turns[key]) >= MIN_TURNS and not table.has(key):
            table.add(spelling[key], table.numbered("name"), PROPOSED, "proposed")
    for text, kind in sorted(_entities(texts).items()):
        if _norm(text) not in common and not table.has(text):
            table.add(text, table.numbered(kind), PROPOSED, "entity")
    return list(table.added.values())


def _capitalised(doc: Any) -> list[str]:
    """Runs of capitalised words that do not start a sentence ("Dales Pathways Trust");
    stop words and "I" end a run."""
    runs: list[str] = []
    current: list[Any] = []

    def close() -> None:
        if current:
            runs.append(" ".join(t.text for t in current))
            current.clear()

    for tok in doc:
        word = tok.text
        capital = tok.is_alpha and word[0].isupper() and len(word) > 1 and not tok.is_stop
        if capital and (current or not tok.is_sent_start):
            current.append(tok)
        else:
            close()
    close()
    return runs


# --------------------------------------------------------------------------------------------
# Checking an export


@dataclass(frozen=True)
class Occurrence:
    """An identifying string still present in an export."""

    where: str  # the file (and, in an archive, the member)
    line: int
    original: str
    context: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.original!r} in {self.context!r}"


CHECKED = (".md", ".markdown", ".html", ".htm", ".csv", ".txt", ".xlsx", ".docx", ".qdpx")
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"</(?:w:p|si|c|row|p|div|li|td|th|h\d)>|<w:(?:tab|br)\s*/>|<br\s*/?>")


def _find(text: str, where: str, pattern: re.Pattern[str], replacements: Mapping[str, str]
          ) -> list[Occurrence]:
    out = []
    for m in pattern.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        context = " ".join(text[max(0, m.start() - 40):m.end() + 40].split())
        out.append(Occurrence(where, line, m.group(), context))
    return out


def _find_markup(text: str, where: str, pattern: re.Pattern[str],
                 replacements: Mapping[str, str]) -> list[Occurrence]:
    """In XML or HTML: the text as written (names in attributes too), and the text between
    tags (a name a program split across runs), whichever finds more of each string."""
    raw = _find(html.unescape(text), where, pattern, replacements)
    flat = _find(html.unescape(_TAG.sub("", _BREAK.sub("\n", text))), where, pattern,
                 replacements)
    out = list(raw)
    for key in {_norm(o.original) for o in flat}:
        have = [o for o in raw if _norm(o.original) == key]
        extra = [o for o in flat if _norm(o.original) == key]
        out.extend(extra[len(have):])
    return out


def _zip_members(path: Path) -> Iterable[tuple[str, str]]:
    from .zipguard import OFFICE_LIMITS, QDPX_LIMITS, GuardedZip

    limits = QDPX_LIMITS if path.suffix.lower() == ".qdpx" else OFFICE_LIMITS
    with GuardedZip(path, limits=limits, error=QualkitError,
                    not_zip_hint="write the export again") as archive:
        for name in sorted(archive.members):
            if name.lower().endswith((".xml", ".qde", ".txt", ".rels")):
                yield name, archive.read(name).decode("utf-8", errors="replace")


def check(source: str | Path, table: Iterable[Pseudonym]) -> list[Occurrence]:
    """Every occurrence of an identifying string in use left in an export: a ``Path`` is read
    as the file its extension names (``CHECKED``); a ``str`` is checked as text."""
    pattern, replacements = compile_table(table)
    if pattern is None:
        return []
    if isinstance(source, str):
        return _find(source, "text", pattern, replacements)
    path = source
    kind = path.suffix.lower()
    if kind not in CHECKED:
        raise QualkitError("qualkit cannot check this kind of file", path=str(path),
                           hint="check an export ending in " + ", ".join(CHECKED))
    if not path.is_file():
        raise QualkitError("no such file", path=str(path), hint="give an export's path")
    if kind in (".xlsx", ".docx", ".qdpx"):
        out: list[Occurrence] = []
        for name, text in _zip_members(path):
            out.extend(_find_markup(text, f"{path}!{name}", pattern, replacements))
        return out
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if kind in (".html", ".htm"):
        return _find_markup(text, str(path), pattern, replacements)
    return _find(text, str(path), pattern, replacements)


def check_files(paths: Iterable[Path], table: Iterable[Pseudonym]) -> list[Occurrence]:
    """``check`` over several files (a report's folder of charts is skipped: pictures)."""
    entries = list(table)
    return [o for p in paths if p.suffix.lower() in CHECKED for o in check(p, entries)]


# --------------------------------------------------------------------------------------------
# Working on a project's table


def seed_project(store: Store, actor: str) -> int:
    """Add what ``seed`` finds to the project's table (entries already there, and the
    researcher's decisions on them, kept); returns how many were added."""
    known = load(store)
    found = seed(store.iter_transcripts(), known)
    return store.upsert_pseudonyms(((p.original, p.replacement, p.status, p.origin)
                                    for p in found), actor, overwrite=False,
                                   action="pseudonyms_seed") if found else 0


def propose_project(store: Store, book: Codebook | None, actor: str) -> int:
    """Add ``propose``'s candidates to the project's table as ``proposed``; returns how
    many."""
    known = load(store)
    found = propose(store.iter_transcripts(), book, known)
    return store.upsert_pseudonyms(((p.original, p.replacement, p.status, p.origin)
                                    for p in found), actor, overwrite=False,
                                   action="pseudonyms_propose") if found else 0


def checked_entry(original: str, replacement: str) -> tuple[str, str]:
    """An entry typed by the researcher, tidied, or refused with one line."""
    original = " ".join(original.split())
    replacement = " ".join(replacement.split())
    if not original:
        raise QualkitError("the identifying string is empty", field="original",
                           hint="give the name or place to replace")
    if not replacement:
        raise QualkitError("the replacement is empty", field="replacement",
                           hint='give what it becomes, e.g. "Participant 3" or "[place]"')
    if len(original) > MAX_CHARS or len(replacement) > MAX_CHARS:
        raise QualkitError(f"at most {MAX_CHARS} characters", field="original/replacement")
    if _norm(original) in _norm(replacement).split() or _norm(original) == _norm(replacement):
        raise QualkitError(f"the replacement {replacement!r} still contains {original!r}",
                           field="replacement", hint="choose a replacement without the name")
    return original, replacement


def add_entry(store: Store, original: str, replacement: str, actor: str,
              status: str = USE) -> None:
    """Add a name by hand, or change an entry's replacement (one transaction)."""
    if status not in STATUSES:
        raise QualkitError(f"unknown status {status!r}", field="status",
                           hint="use one of: " + ", ".join(STATUSES))
    original, replacement = checked_entry(original, replacement)
    origin = next((p.origin for p in load(store) if _norm(p.original) == _norm(original)),
                  "added")
    store.upsert_pseudonyms([(original, replacement, status, origin)], actor)


def unknown(store: Store, originals: Iterable[str]) -> list[str]:
    have = {_norm(p.original) for p in load(store)}
    return [o for o in originals if _norm(o) not in have]


def export_checker(store: Store) -> Callable[[Iterable[Path]], list[Occurrence]]:
    """Checks written export files against the project's table (status ``use``)."""
    table = load(store)
    return lambda paths: check_files(paths, table)
