"""Coded extracts and framework matrices as spreadsheets (.csv or .xlsx) for analysis and reports.

- ``extracts_table``: one row per coding: code, theme, participant and their attributes,
  speaker, segment, span, the quoted text, who coded it, status, how (rules, semantic, learned,
  hand, import), the machine's evidence and confidence, and time. ``evidence`` is the strength
  of a suggester's evidence (0-1, what ranks suggestions; not a probability); ``confidence`` is
  a calibrated probability, filled only where the app showed a percentage for the suggestion.
  A person's own codings have neither.
- ``framework_table``: participants (or the values of one attribute) x codes; cells count coded
  segments, exactly as ``analysis.framework_matrix``, or hold the extracts' text.
- ``write_sheet``: either table to .csv or .xlsx by the file's extension, atomically.

CSV is UTF-8 with a byte-order mark: Excel then reads accents and curly quotes correctly (without
it Excel guesses a legacy code page), and pandas and ``csv`` with ``encoding="utf-8-sig"`` read it
unchanged. Transcript text is untrusted: a CSV cell starting with ``=``, ``+``, ``-`` or ``@``
gets a leading apostrophe so a spreadsheet never runs it as a formula (OWASP "CSV injection");
XLSX cells are stored as text, never formulas, and keep the text exactly, except characters an
.xlsx cannot hold at all (control characters a project stored before qualkit refused them on
import: ``codedtable.excel_text`` makes a form feed a newline and the rest U+FFFD). XLSX gets a
bold, frozen header row, column widths fitted to the content and wrapped text in extract columns.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codedtable import excel_text
from .csvsafe import csv_guard
from .errors import QualkitError
from .fileio import atomic_write_bytes
from .model import Codebook, Coding, page_of, segment_of

if TYPE_CHECKING:
    import pandas as pd

    from .analysis import AnalysisData
    from .pseudonym import Pseudonymiser
    from .store import Store

FIXED_BEFORE = ["code", "code_name", "theme", "transcript", "participant"]
FIXED_AFTER = ["speaker", "segment", "start", "end", "text", "coder", "status", "source",
               "evidence", "confidence", "memo", "time_utc"]
SOURCE_NAMES = {"manual": "hand"}
EXCEL_CELL_LIMIT = 32_767  # characters Excel holds in one cell
WRAP_WIDTH = 70


def code_members(codebook: Codebook | None, code_id: str, seen: Iterable[str]) -> set[str]:
    """A code and, for a theme, every code under it; an unknown code is refused by name."""
    code = codebook.get(code_id) if codebook else None
    if codebook is None or code is None:
        if code_id in set(seen):
            return {code_id}
        known = ", ".join(codebook.ids()[:12]) if codebook else "none yet"
        raise QualkitError(f"no code {code_id!r} in the codebook or the codings",
                           field="--code", hint=f"use a code id such as: {known}")
    return codebook.members(code_id)


def _time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def extracts_table(store: Store, codebook: Codebook | None,
                   statuses: Sequence[str] = ("accepted",),
                   code: str | None = None,
                   pseudonymiser: Pseudonymiser | None = None) -> pd.DataFrame:
    """One row per coding (with ``code``: that code and, for a theme, the codes under it),
    ordered by transcript and position; every participant attribute gets its own column.
    With a ``pseudonymiser`` every row is built from the pseudonymised transcript (text,
    names, attributes, memos; start and end in its text)."""
    import pandas as pd

    from .analysis import counted

    codings = counted(store.codings(), statuses)
    if code is not None:
        wanted = code_members(codebook, code, (c.code_id for c in codings))
        codings = [c for c in codings if c.code_id in wanted]
    by_transcript: dict[str, list[Coding]] = {}
    for c in codings:
        by_transcript.setdefault(c.transcript, []).append(c)
    infos = {t.name: t.attributes for t in store.transcripts()}
    attributes = _attribute_columns(infos[name] for name in sorted(infos))
    rows = []
    paged = False  # a "page" column only when some transcript has pages (a PDF)
    for transcript in store.iter_transcripts(sorted(by_transcript)):
        mine = by_transcript[transcript.name]
        # the page from the original text's offsets (a pseudonymised text's differ)
        pages = {c.id: page_of(transcript, c.start) for c in mine}
        paged = paged or bool(transcript.pages)
        if pseudonymiser is not None:
            transcript, mine = pseudonymiser.transcript(transcript, mine)
        attrs = transcript.attributes
        speakers = {seg.index: seg.speaker for seg in transcript.segments}
        for c in sorted(mine, key=lambda c: (c.start, c.end, c.code_id, c.coder)):
            seg = segment_of(transcript, c)
            parent = codebook.parent_of(c.code_id) if codebook else None
            row: dict[str, Any] = {
                "code": c.code_id,
                "code_name": codebook.display_name(c.code_id) if codebook else c.code_id,
                "theme": parent.name if parent else "", "transcript": transcript.name,
                "participant": transcript.participant}
            row.update({column: attrs.get(key, "") for key, column in attributes.items()})
            row.update({
                "speaker": speakers.get(seg, "") if seg is not None else "",
                "segment": seg, "page": f"p. {pages[c.id]}" if pages.get(c.id) else "",
                "start": c.start, "end": c.end,
                "text": transcript.text[c.start:c.end], "coder": c.coder, "status": c.status,
                "source": SOURCE_NAMES.get(c.source, c.source),
                "evidence": c.score, "confidence": c.confidence, "memo": c.memo,
                "time_utc": _time(c.time)})
            rows.append(row)
    after = FIXED_AFTER[:2] + ["page"] + FIXED_AFTER[2:] if paged else FIXED_AFTER
    columns = FIXED_BEFORE + list(attributes.values()) + after
    table = pd.DataFrame(rows, columns=columns, dtype=object)  # attribute values as given
    return table.astype({"segment": "Int64", "start": "Int64", "end": "Int64",
                         "evidence": "float64", "confidence": "float64"})


def _attribute_columns(attribute_sets: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Attribute name -> column name, in first-seen order; a name clashing with a fixed column
    (such as a ``participant`` id beside the participant column) gets a suffix."""
    fixed = set(FIXED_BEFORE + FIXED_AFTER)
    out: dict[str, str] = {}
    for attrs in attribute_sets:
        for key in attrs:
            if key not in out:
                out[key] = f"{key} (attribute)" if key in fixed else key
    return out


def framework_table(data: AnalysisData, by: str | None = None,
                    cells: str = "count",
                    pseudonymiser: Pseudonymiser | None = None) -> pd.DataFrame:
    """The framework matrix as a flat table: one row per transcript (or value of ``by``), one
    column per code (its name as header), cells = coded segments or the extracts' text.

    Columns are the codes coded directly: every code without children, in codebook order, then
    any theme applied as a whole (its own codings only; its codes have their columns) and codes
    not in the codebook. A leaf's counts are exactly ``framework_matrix``'s; a cell's extracts
    are its distinct passages, however many coders coded each. A ``pseudonymiser`` replaces
    the text of every cell (transcript names, labels, attribute values, extracts)."""
    import pandas as pd

    if cells not in ("count", "extracts"):
        raise QualkitError(f"unknown choice {cells!r}", field="--cells",
                           hint="use count or extracts")
    if by is not None:
        known = sorted({k for attrs in data.attributes.values() for k in attrs})
        if by not in known:
            raise QualkitError(f"no transcript has an attribute {by!r}", field="--by",
                               hint="use one of: " + ", ".join(known) if known
                               else "add attributes in the transcripts' front matter")
    group = data.groups(by)
    index = sorted(set(group.values()))
    columns = _framework_codes(data)
    headers = _headers(data.codebook, columns, reserved={by or "transcript", "participant",
                                                          "participants"})
    units: dict[tuple[str, str], set[tuple[str, int | None, int]]] = {}
    texts: dict[tuple[str, str], dict[tuple[str, int, int], Coding]] = {}
    for c in sorted(data.codings, key=lambda c: (c.transcript, c.start, c.end)):
        if c.transcript not in group or c.code_id not in headers:
            continue
        key = (group[c.transcript], c.code_id)
        units.setdefault(key, set()).add(
            (c.transcript, c.segment_index, -1 if c.segment_index is not None else c.start))
        texts.setdefault(key, {}).setdefault((c.transcript, c.start, c.end), c)
    rows = []
    for value in index:
        members = [n for n in sorted(group) if group[n] == value]
        row: dict[str, Any] = {by or "transcript": value}
        if by:
            row["participants"] = len(members)
        else:
            row["participant"] = data.participant(value)
        for code in columns:
            if cells == "count":
                row[headers[code]] = len(units.get((value, code), ()))
            else:
                row[headers[code]] = _joined(data, texts.get((value, code), {}).values(),
                                             labelled=bool(by))
        rows.append(row)
    first = [by, "participants"] if by else ["transcript", "participant"]
    table = pd.DataFrame(rows, columns=first + [headers[c] for c in columns])
    return pseudonymiser.frame(table) if pseudonymiser is not None else table


def _framework_codes(data: AnalysisData) -> list[str]:
    book = data.codebook
    used = {c.code_id for c in data.codings}
    if book is None:
        return sorted(used)
    themes = [c.id for c in book.all_codes() if c.is_theme and c.id in used]
    return [c.id for c in book.leaves()] + themes + sorted(used - set(book.ids()))


def _headers(book: Codebook | None, codes: list[str], reserved: set[str]) -> dict[str, str]:
    """Code id -> column header: the code's name; a theme says so; a name used twice gets its
    parent's name, then its id."""
    def name(code_id: str) -> str:
        if book is None:
            return code_id
        code = book.get(code_id)
        shown = book.display_name(code_id)
        return f"{shown} (theme)" if code is not None and code.is_theme else shown

    headers = {c: name(c) for c in codes}
    taken = list(headers.values()) + list(reserved)
    for code_id, header in list(headers.items()):
        if taken.count(header) > 1:
            parent = book.parent_of(code_id) if book else None
            headers[code_id] = f"{parent.name} › {header}" if parent else header
    taken = list(headers.values()) + list(reserved)
    for code_id, header in list(headers.items()):
        if taken.count(header) > 1:
            headers[code_id] = f"{header} ({code_id})"
    return headers


def _joined(data: AnalysisData, codings: Iterable[Coding], labelled: bool) -> str:
    """Extracts for one cell, one paragraph each; labelled with the participant when a row
    holds several."""
    parts = []
    for c in codings:
        text = data.text_of(c.transcript)[c.start:c.end] if data.text_of else ""
        text = " ".join(text.split())
        if labelled:
            text = f"{data.participant(c.transcript)}: {text}"
        parts.append(text)
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------------
# Writing


def sheet_path(path: str | Path) -> Path:
    """Refuse, before any work, an output file that is neither .csv nor .xlsx."""
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".xlsx"):
        raise QualkitError("the output file must end in .csv or .xlsx", path=str(p),
                           field="--output", hint="e.g. -o extracts.xlsx")
    return p


def write_sheet(table: pd.DataFrame, path: str | Path, sheet: str = "qualkit",
                wrap: Iterable[str] = (), key_columns: int = 0) -> Path:
    """Write a table to .csv or .xlsx (by extension), atomically. In XLSX, ``wrap`` names the
    columns holding long text (wrapped and wide) and the first ``key_columns`` columns stay in
    view when scrolling sideways, as the header row does when scrolling down."""
    p = sheet_path(path)
    header = [str(c) for c in table.columns]
    rows = [[_plain(v) for v in values] for values in table.itertuples(index=False, name=None)]
    if p.suffix.lower() == ".xlsx":
        return atomic_write_bytes(p, _xlsx_bytes(header, rows, sheet, set(wrap),
                                                  key_columns))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([csv_guard(h) for h in header])
    for row in rows:
        writer.writerow([csv_guard(v) for v in row])
    return atomic_write_bytes(p, buffer.getvalue().encode("utf-8-sig"))


def _plain(value: Any) -> Any:
    """pandas' missing values (None, NaN, NA) become empty cells; numpy numbers plain ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if type(value).__name__ in ("NAType", "NaTType"):
        return ""
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if isinstance(value, (list, tuple, set, dict)):  # e.g. a front-matter list
        return str(value)
    return value


def _xlsx_bytes(header: list[str], rows: list[list[Any]], sheet: str, wrap: set[str],
                key_columns: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    bold = Font(bold=True)
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for j, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=j, value=excel_text(name))
        cell.data_type = "s"
        cell.font = bold
        cell.alignment = wrapped if name in wrap else top
    for i, values in enumerate(rows, start=2):
        for j, value in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j, value=_excel_value(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula
            cell.alignment = wrapped if header[j - 1] in wrap else top
    for j, name in enumerate(header, start=1):
        longest = max([len(name)] + [_longest_line(r[j - 1]) for r in rows[:2000]])
        width = WRAP_WIDTH if name in wrap else min(max(longest + 2, 8), 40)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = f"{get_column_letter(key_columns + 1)}2"
    ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _excel_value(value: Any) -> Any:
    """A value as an .xlsx cell holds it: characters XML cannot carry replaced
    (``codedtable.excel_text``), text cut to Excel's limit with a note saying so."""
    value = excel_text(value)
    if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT:
        note = " […cut: Excel holds at most 32,767 characters in a cell; the CSV has it all]"
        return value[:EXCEL_CELL_LIMIT - len(note)] + note
    return value


def _longest_line(value: Any) -> int:
    return max((len(line) for line in str(value).splitlines()), default=0)
