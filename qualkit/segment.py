"""Speaker turns and sentences with exact character offsets.

Readers turn a file into one text; this module finds the turns inside it, so every segment's
``text`` equals ``transcript.text[start:end]`` by construction.
"""

from __future__ import annotations

import re
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


def parse_turns(text: str, start: int = 0, end: int | None = None,
                roles: dict[str, str] | None = None, markdown: bool = False) -> list[Segment]:
    """Find speaker turns in ``text[start:end]``.

    A line ``Name: words`` (optionally ``[hh:mm:ss] Name: words``) opens a turn; following lines
    without a label continue it until a blank line; a later unlabelled paragraph is a new segment
    of the same speaker. Without any labels, each paragraph becomes a segment with an empty
    speaker. Markdown headings and rules are not segments.
    """
    end = len(text) if end is None else end
    turns: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    labelled = False
    pos = start
    for raw in text[start:end].splitlines(keepends=True):
        line_start, line = pos, raw.rstrip("\r\n")
        pos += len(raw)
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        if markdown and (stripped.startswith("#") or re.fullmatch(r"[-*_]{3,}", stripped)):
            current = None
            continue
        match = TURN_RE.match(line)
        if match and _speaker_ok(match.group("speaker")):
            labelled = True
            s = line_start + match.start("text")
            current = {"speaker": match.group("speaker").strip(), "start": s,
                       "end": line_start + match.end("text"),
                       "ts": match.group("ts") or match.group("ts2") or match.group("ts3")}
            turns.append(current)
            continue
        lead = len(line) - len(line.lstrip())
        trail = len(line.rstrip())
        if current is not None:
            current["end"] = line_start + trail
        else:
            # A new paragraph without a label continues the previous speaker's turn.
            speaker = turns[-1]["speaker"] if turns else ""
            current = {"speaker": speaker, "start": line_start + lead,
                       "end": line_start + trail, "ts": None}
            turns.append(current)
    if labelled:
        # Unlabelled paragraphs before the first label (titles, notes) are not turns.
        turns = [t for t in turns if t["speaker"]]
    return [Segment(index=i, start=t["start"], end=t["end"], speaker=t["speaker"],
                    text=text[t["start"]:t["end"]], role=default_role(t["speaker"], roles),
                    timestamp=t["ts"])
            for i, t in enumerate(turns)]


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
