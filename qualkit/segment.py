"""Speaker turns and sentences with exact character offsets.

Readers turn a file into one text; this module finds the turns inside it, so every segment's
``text`` equals ``transcript.text[start:end]`` by construction.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import INTERVIEWER, PARTICIPANT, Segment, Span

TIMESTAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
# A turn line: optional [timestamp], a short speaker label (optionally **bold** in Markdown),
# optional (timestamp) after it, a colon, an optional [timestamp] after the colon (as in
# "INT: [00:00:05] So..."), then the words. A timestamp is never part of the turn's text.
TURN_RE = re.compile(
    rf"^[ \t]*(?:[\[(](?P<ts>{TIMESTAMP})[\])][ \t]*)?"
    r"(?P<mk>\*\*|__)?(?P<speaker>[A-Za-z0-9][\w.'\- ]{0,38}?)(?P=mk)?"
    rf"[ \t]*(?:[\[(](?P<ts2>{TIMESTAMP})[\])])?[ \t]*(?:(?P=mk)?:(?P=mk)?|(?P=mk)?:)"
    rf"[ \t]+(?:[\[(](?P<ts3>{TIMESTAMP})[\])][ \t]+)?(?P<text>\S.*?)[ \t]*$"
)
INTERVIEWER_NAMES = {"interviewer", "int", "i", "q", "researcher", "facilitator", "moderator",
                     "interviewer 1", "interviewer 2"}
MAX_SPEAKER_WORDS = 4


def default_role(speaker: str, roles: dict[str, str] | None = None) -> str:
    """The role of a speaker: from an explicit map, else 'interviewer' for the usual labels."""
    if roles:
        for name, role in roles.items():
            if name.casefold() == speaker.casefold():
                return role
    key = speaker.casefold().strip()
    if key in INTERVIEWER_NAMES or key.startswith("interviewer"):
        return INTERVIEWER
    return PARTICIPANT


def _speaker_ok(label: str) -> bool:
    return len(label.split()) <= MAX_SPEAKER_WORDS and not label.lower().startswith("http")


LAYOUTS = ("auto", "transcript", "document")
"""How a text is cut into segments: ``transcript`` (speaker turns), ``document`` (paragraphs,
for a paper, field notes or a report) or ``auto`` (``looks_like_transcript`` decides)."""

DOCUMENT = "document"
"""The role of text in a transcript that nobody says: a title, a heading or notes before the
first speaker label. Such text is a segment (it can be coded by hand) with an empty speaker;
codes scoped to interviewers or participants are not suggested there."""

MAX_TRANSCRIPT_SPEAKERS = 12
"""At most this many distinct labels for a text to read as a transcript: an interview has two
or three speakers and a focus group up to about ten with its moderators, while a paper misread
as dialogue has dozens ("Abstract", "Keywords", "This study asks", ...)."""


@dataclass
class _Line:
    start: int  # offset of the line in the text
    line: str  # without its line ending
    label: re.Match[str] | None  # a speaker label that opens a turn here
    heading: bool  # a Markdown heading
    rule: bool  # a Markdown rule (no words: never a segment)
    para: int  # which paragraph (blank lines, headings and rules separate paragraphs)


def _lines(text: str, start: int, end: int, markdown: bool) -> list[_Line]:
    """The non-blank lines of ``text[start:end]`` with what each is."""
    out: list[_Line] = []
    pos, para, gap = start, 0, True
    for raw in text[start:end].splitlines(keepends=True):
        line_start, line = pos, raw.rstrip("\r\n")
        pos += len(raw)
        stripped = line.strip()
        if not stripped:
            gap = True
            continue
        heading = markdown and stripped.startswith("#")
        rule = markdown and re.fullmatch(r"[-*_]{3,}", stripped) is not None
        match = None if heading or rule else TURN_RE.match(line)
        if match and not _speaker_ok(match.group("speaker")):
            match = None
        if gap or heading or rule or (out and (out[-1].heading or out[-1].rule)):
            para += 1
        gap = False
        out.append(_Line(line_start, line, match, heading, rule, para))
    return out


def looks_like_transcript(lines: list[_Line]) -> bool:
    """Whether the labels found make a dialogue, not a document with colons in it.

    A transcript has at least one label, at most ``MAX_TRANSCRIPT_SPEAKERS`` distinct labels,
    no more unlabelled text before the first label than after it, and either a label opening
    at least two thirds of the paragraphs from the first label on (short turns: the labels
    cover most of the text), or three or more labelled turns of which at least two thirds are
    by a label used more than once, with a label opening at least every fourth paragraph (long
    answers over several paragraphs: people take turns). A paper's "Abstract:", "Keywords:",
    "Method:" open few of its paragraphs and each appears once.
    """
    labels = [ln.label.group("speaker").strip().casefold() for ln in lines if ln.label]
    if not labels or len(set(labels)) > MAX_TRANSCRIPT_SPEAKERS:
        return False
    first = next(i for i, ln in enumerate(lines) if ln.label)
    before = sum(len(ln.line.strip()) for ln in lines[:first])
    after = sum(len(ln.line.strip()) for ln in lines[first:])
    if before > after:
        return False
    paras = {ln.para for ln in lines[first:] if not ln.rule}
    opened = {ln.para for i, ln in enumerate(lines[first:], first)
              if ln.label and (i == 0 or lines[i - 1].para != ln.para)}
    if len(opened) * 3 >= len(paras) * 2:
        return True
    counts = Counter(labels)
    repeated = sum(1 for label in labels if counts[label] >= 2)
    return (len(labels) >= 3 and repeated * 3 >= len(labels) * 2
            and len(opened) * 4 >= len(paras))


def segment_text(text: str, start: int = 0, end: int | None = None,
                 roles: dict[str, str] | None = None, markdown: bool = False,
                 layout: str = "auto") -> tuple[list[Segment], str]:
    """The segments of ``text[start:end]`` and the layout used ("transcript" or "document").

    ``transcript``: a line ``Name: words`` (optionally ``[hh:mm:ss] Name: words``) opens a
    turn; following lines without a label continue it until a blank line; a later unlabelled
    paragraph is a new segment of the same speaker; text before the first label and Markdown
    headings are segments of their own (empty speaker, role ``DOCUMENT``). ``document``: every
    paragraph (and heading) is a segment with an empty speaker and the participant role, so
    every non-blank character is in a segment. ``auto``: ``looks_like_transcript`` chooses.
    Markdown rules are never segments.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    end = len(text) if end is None else end
    lines = _lines(text, start, end, markdown)
    if layout == "auto":
        layout = "transcript" if looks_like_transcript(lines) else "document"
    # unlabelled text before the first label is nobody's; with no label at all, the
    # paragraphs are the text itself (as in a document)
    front = DOCUMENT if layout == "transcript" and any(ln.label for ln in lines) else None
    turns: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    para = -1
    speaker = ""  # the last label seen: an unlabelled paragraph after it is theirs
    for ln in lines:
        if ln.rule:
            current = None
            continue
        lead = len(ln.line) - len(ln.line.lstrip())
        trail = len(ln.line.rstrip())
        if ln.heading:
            lead += len(ln.line.lstrip()) - len(ln.line.lstrip().lstrip("#").lstrip())
            if lead >= trail:  # a heading mark without words
                current = None
                continue
        if layout == "transcript" and ln.label is not None:
            match = ln.label
            speaker = match.group("speaker").strip()
            current = {"speaker": speaker, "start": ln.start + match.start("text"),
                       "end": ln.start + match.end("text"),
                       "ts": match.group("ts") or match.group("ts2") or match.group("ts3")}
            turns.append(current)
        elif current is not None and ln.para == para:
            current["end"] = ln.start + trail
        else:
            who = "" if ln.heading or layout == "document" else speaker
            current = {"speaker": who, "start": ln.start + lead, "end": ln.start + trail,
                       "ts": None, "role": None if who else front}
            turns.append(current)
        para = ln.para
        if ln.heading:
            current = None
    return [Segment(index=i, start=t["start"], end=t["end"], speaker=t["speaker"],
                    text=text[t["start"]:t["end"]],
                    role=t.get("role") or default_role(t["speaker"], roles), timestamp=t["ts"])
            for i, t in enumerate(turns)], layout


def parse_turns(text: str, start: int = 0, end: int | None = None,
                roles: dict[str, str] | None = None, markdown: bool = False,
                layout: str = "auto") -> list[Segment]:
    """The segments of ``text[start:end]`` (``segment_text`` without the layout it chose)."""
    return segment_text(text, start, end, roles, markdown, layout)[0]


@dataclass
class TextBuilder:
    """Builds a transcript text turn by turn, recording each turn's exact offsets.

    Used by readers whose input is not already one text (subtitles, tables, Word tables).
    """

    roles: dict[str, str] | None = None
    parts: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    length: int = 0

    def add(self, speaker: str, words: str, timestamp: str | None = None) -> Segment:
        words = words.strip()
        prefix = ("\n\n" if self.parts else "") + (f"[{timestamp}] " if timestamp else "")
        prefix += f"{speaker}: " if speaker else ""
        start = self.length + len(prefix)
        self.parts.append(prefix + words)
        self.length += len(prefix) + len(words)
        seg = Segment(index=len(self.segments), start=start, end=start + len(words),
                      speaker=speaker, text=words, role=default_role(speaker, self.roles),
                      timestamp=timestamp)
        self.segments.append(seg)
        return seg

    @property
    def text(self) -> str:
        return "".join(self.parts)


@lru_cache(maxsize=1)
def _sentencizer() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as absolute spans, trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    doc = _sentencizer()(text[start:end])
    return list(spans_from_doc_sents(doc.sents, start))


def spans_from_doc_sents(sents: Iterable[Any], offset: int) -> Iterable[Span]:
    for sent in sents:
        s = sent.start_char
        e = sent.end_char
        chunk = sent.text
        s += len(chunk) - len(chunk.lstrip())
        e -= len(chunk) - len(chunk.rstrip())
        if e > s:
            yield Span(offset + s, offset + e)
