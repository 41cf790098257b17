"""Meeting-tool transcript exports whose turns have a header line instead of ``Name: words``.

Found by their content, never by file name, in any text a reader produced (.txt, .docx, .odt,
.rtf, .pdf):

- Otter .txt, and Teams .docx: ``Speaker Name  0:03`` on a line, the words on the next lines;
- Zoom .txt: ``[Speaker Name] 00:01:02`` on a line, the words on the next lines;
- Teams .docx (older): ``Speaker Name`` on a line, then ``0:00:03.120 --> 0:00:07.400``.

(Teams and Zoom .vtt files are subtitles: ``<v Name>`` voice tags and ``Name: words`` cues,
read by ``subtitles``.) A turn runs from the first word after its header to the last word
before the next header, so the header is never part of the text; every header opens a turn of
its own (two cues in a row by the same speaker stay two segments, since joining them would put
the header between them inside the quote). Text before the first header (a meeting's title and
date) is a segment with an empty speaker and the ``document`` role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Segment
from ..segment import DOCUMENT, MAX_TRANSCRIPT_SPEAKERS, default_role

TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
NAME = r"[^\W\d_][^:\[\]\n\t]{0,59}?"
NAME_TIME = re.compile(rf"^[ \t]*(?P<speaker>{NAME})[ \t]+(?P<ts>{TS})[ \t]*$")
BRACKETED = re.compile(rf"^[ \t]*\[(?P<speaker>[^\]\n]{{1,60}})\][ \t]+(?P<ts>{TS})[ \t]*$")
NAME_ONLY = re.compile(rf"^[ \t]*(?P<speaker>{NAME})[ \t]*$")
TIMING = re.compile(rf"^[ \t]*(?P<ts>{TS})[ \t]*-->[ \t]*{TS}[ \t]*$")
MAX_NAME_WORDS = 6


@dataclass
class _Header:
    line: int  # index of the header's first line
    lines: int  # how many lines the header takes (1, or 2 for a name and a timing line)
    speaker: str
    timestamp: str


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.replace(",", ".").split(":")]
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


def _headers(lines: list[str]) -> list[_Header]:
    out: list[_Header] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = BRACKETED.match(line) or NAME_TIME.match(line)
        if match:
            out.append(_Header(i, 1, match.group("speaker").strip(), match.group("ts")))
            i += 1
            continue
        name = NAME_ONLY.match(line)
        nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
        timing = TIMING.match(lines[nxt]) if name and nxt is not None else None
        if name and timing and nxt is not None:
            out.append(_Header(i, nxt - i + 1, name.group("speaker").strip(),
                               timing.group("ts")))
            i = nxt + 1
            continue
        i += 1
    return [h for h in out if len(h.speaker.split()) <= MAX_NAME_WORDS]


def _is_export(headers: list[_Header], lines: list[str]) -> bool:
    """Headers make a meeting export when there are at least two, by at most
    ``MAX_TRANSCRIPT_SPEAKERS`` names, their times never go back, there is a header for at
    most every fourth paragraph after the first, and each is followed by words that are not
    another header; a paragraph that merely ends in a time ("we met at 10:30") fails these."""
    if len(headers) < 2 or len({h.speaker.casefold() for h in headers}) > MAX_TRANSCRIPT_SPEAKERS:
        return False
    times = [_seconds(h.timestamp) for h in headers]
    if any(b < a for a, b in zip(times, times[1:], strict=False)):
        return False
    taken = {h.line + k for h in headers for k in range(h.lines)}
    paragraphs = sum(1 for k in range(headers[0].line, len(lines)) if lines[k].strip()
                     and k not in taken and (k == 0 or not lines[k - 1].strip()
                                             or k - 1 in taken))
    if len(headers) * 4 < paragraphs:
        return False
    ends = [h.line for h in headers[1:]] + [len(lines)]
    return all(any(lines[k].strip() for k in range(h.line + h.lines, end))
               for h, end in zip(headers, ends, strict=True))


def export_turns(text: str, start: int = 0, end: int | None = None,
                 roles: dict[str, str] | None = None) -> list[Segment] | None:
    """The turns of ``text[start:end]`` if it has the shape of an Otter, Zoom or Teams export,
    else None."""
    end = len(text) if end is None else end
    raw = text[start:end].splitlines(keepends=True)
    lines = [r.rstrip("\r\n") for r in raw]
    headers = _headers(lines)
    if not _is_export(headers, lines):
        return None
    offsets = [start]
    for r in raw:
        offsets.append(offsets[-1] + len(r))
    spans: list[tuple[str, str | None, str | None, int, int]] = []

    def block(first: int, last: int, speaker: str, stamp: str | None, role: str | None) -> None:
        """Lines ``first`` to ``last`` (exclusive) as one segment, trimmed; nothing if blank."""
        s, e = offsets[first], offsets[last]
        chunk = text[s:e]
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk.rstrip())
        if trail > lead:
            spans.append((speaker, stamp, role, s + lead, s + trail))

    block(0, headers[0].line, "", None, DOCUMENT)
    for h, nxt in zip(headers, [h.line for h in headers[1:]] + [len(lines)], strict=True):
        block(h.line + h.lines, nxt, h.speaker, re.split(r"[.,]", h.timestamp)[0], None)
    return [Segment(index=i, start=s, end=e, speaker=who, text=text[s:e],
                    role=role or default_role(who, roles), timestamp=stamp)
            for i, (who, stamp, role, s, e) in enumerate(spans)]
