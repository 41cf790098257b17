"""Render a theme report as Markdown, HTML or Word.

The report is first laid out once as a list of plain blocks (headings, paragraphs, tables,
charts, quotes), so the three formats say the same thing and each renderer only maps blocks
to its format. Transcript text is untrusted: HTML escapes everything, Markdown escapes its
markup characters, Word takes it as plain runs.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Union

from ..model import NO_VALUE
from .charts import Chart
from .model import CodeSummary, Report, number


@dataclass
class Heading:
    level: int  # 0: title, 1: section, 2: theme/code, 3: code under a code
    text: str
    new_page: bool = False


@dataclass
class Para:
    text: str
    kind: str = "body"  # body, subtitle, definition, note, caption
    label: str = ""  # shown in bold before the text


@dataclass
class Row:
    cells: list[str]
    depth: int = 0
    bold: bool = False


@dataclass
class Table:
    header: list[str]
    rows: list[Row]
    numeric_from: int = 1  # columns from here on are right-aligned


@dataclass
class Image:
    chart: Chart


@dataclass
class QuoteBlock:
    text: str
    attribution: str


Block = Union[Heading, Para, Table, Image, QuoteBlock]


# --------------------------------------------------------------------------------------------
# Layout

def _group(value: str) -> str:
    """A group of participants by an attribute's value, in words: those without one are "no
    value", never "(none)" inside the report's own brackets."""
    return "no value" if value == NO_VALUE else value


def pct(have: int, of: int) -> str:
    return f"{round(100 * have / of)}%" if of else "–"


def percent(share: float) -> str:
    return "–" if share != share else f"{share:.0%}"  # NaN: undefined


def counts_line(c: CodeSummary) -> str:
    seg = "segment" if c.segments == 1 else "segments"
    return (f"{c.segments} {seg} from {c.participants} of {c.of} participants "
            f"({pct(c.participants, c.of)}).")


def counts_para(c: CodeSummary, by: str | None) -> Para:
    """The counts line, with the split by ``by`` where the report has one."""
    groups = (f" By {by}: " + ", ".join(f"{_group(g.value)} {g.participants} of {g.of}"
                                         for g in c.groups) + ".") if by and c.groups else ""
    return Para(counts_line(c) + groups)


def layout(report: Report, charts: list[Chart]) -> list[Block]:
    """The report as blocks, in reading order."""
    chart = {c.name: c for c in charts}
    m = report.methods
    blocks: list[Block] = [
        Heading(0, report.title),
        Para(f"Project {report.project} · {report.generated:%d %B %Y} · "
             f"{report.participants} participants · codebook {m.codebook}"
             + (f" version {m.version}" if m.version else ""), "subtitle"),
    ]
    blocks += [Para(n, "note") for n in report.notes]
    blocks += [Heading(1, "Overview"), Para(
        f"This summary counts {report.include}. {report.coded_segments} segments (speaker "
        f"turns) carry at least one code. Participants are the {report.participants} "
        "interviews in the project, coded or not; a theme counts every segment and participant "
        "where any of its codes appears." + (
            f" Coverage is also split by the participant attribute {report.by} ("
            + ", ".join(f"{_group(g.value)}: {g.of}" for g in report.group_sizes) + ")."
            if report.by else ""))]
    blocks.append(_overview_table(report))
    for name in ("frequency", "coverage"):
        if name in chart:
            blocks += [Image(chart[name]), Para(chart[name].caption, "caption")]
    for section in report.sections:
        blocks += _section(report, section.theme, section.codes)
    blocks.append(Heading(1, "Codes that occur together"))
    if "cooccurrence" in chart:
        blocks += [Para("How often two codes are applied to the same segment. Pairs that occur "
                        "together often may be one idea, or a relationship worth writing up."),
                   Image(chart["cooccurrence"]), Para(chart["cooccurrence"].caption, "caption")]
    else:
        blocks.append(Para("Fewer than two codes occur, so there is nothing to compare."))
    blocks += _methods(report)
    return blocks


def _overview_table(report: Report) -> Table:
    header = ["Theme / code", "Segments", f"Participants (of {report.participants})"]
    header += [f"{report.by}: {_group(g.value)} (of {g.of})" for g in report.group_sizes]
    rows = []
    for c in report.all_codes():
        if not c.id:  # the "not in the codebook" heading row
            rows.append(Row([c.name] + [""] * (len(header) - 1), 0, True))
            continue
        cells = [c.name, str(c.segments), f"{c.participants} ({pct(c.participants, c.of)})"]
        cells += [f"{g.participants} ({pct(g.participants, g.of)})" for g in c.groups]
        rows.append(Row(cells, c.depth, c.depth == 0 and c.is_theme))
    return Table(header, rows)


def _code_blocks(report: Report, c: CodeSummary, level: int) -> list[Block]:
    out: list[Block] = [Heading(level, c.name)]
    if c.definition:
        out.append(Para(c.definition, "definition"))
    out.append(counts_para(c, report.by))
    if c.cooccurring:
        out.append(Para(", ".join(f"{name} ({n})" for name, n in c.cooccurring) + ".",
                        label="Often in the same segment as: "))
    out += [QuoteBlock(q.text, q.attribution) for q in c.extracts]
    return out


def _section(report: Report, theme: CodeSummary, codes: list[CodeSummary]) -> list[Block]:
    blocks: list[Block] = [Heading(1, theme.name)]
    if theme.definition:
        blocks.append(Para(theme.definition, "definition"))
    if theme.id:
        blocks.append(counts_para(theme, report.by))
    if theme.id and theme.extracts:
        blocks += [Para("Coded with the theme itself:", "body")]
        blocks += [QuoteBlock(q.text, q.attribution) for q in theme.extracts]
    for c in codes:
        blocks += _code_blocks(report, c, min(2 + max(c.depth - 1, 0), 3))
    return blocks


def _methods(report: Report) -> list[Block]:
    m = report.methods
    blocks: list[Block] = [Heading(1, "Methods appendix", new_page=True), Para(
        f"{m.codebook}" + (f", version {m.version}" if m.version else "") + ".",
        label="Codebook: "), Para(m.include[0].upper() + m.include[1:] + ".", label="Counted: ")]
    blocks.append(Heading(2, "Coders"))
    if m.coders:
        imported = any(w.imported for w in m.coders)
        blocks.append(Para("Accepted and rejected count each person's decisions on machine "
                           "suggestions; recoded ones were accepted with another code."))
        blocks.append(Table(
            ["Coder", "Accepted", "of which recoded", "Rejected", "Coded by hand"]
            + ["Imported"] * imported + ["Decisions"],
            [Row([w.coder, str(w.accepted), str(w.recoded), str(w.rejected), str(w.by_hand)]
                 + [str(w.imported)] * imported + [str(w.decisions)]) for w in m.coders]))
    else:
        blocks.append(Para("No person has coded or decided on anything yet."))
    blocks.append(Heading(2, "Machine suggestions"))
    made = ", ".join(f"{src} {n}" for src, n in m.sources.items())
    blocks.append(Table(["", "Codings"], [
        Row(["Suggested by the machine" + (f" ({made})" if made else ""), str(m.suggested)]),
        Row(["Accepted by a person", str(m.accepted)]),
        Row(["of which with another code", str(m.recoded)], depth=1),
        Row(["Rejected by a person", str(m.rejected)]),
        Row(["Not yet decided by anyone", str(m.pending)]),
        Row(["Coded by hand", str(m.by_hand)]),
        Row(["Imported already coded", str(m.imported)]),
    ]))
    blocks.append(Para("A person's accept or reject is a decision of its own; when two people "
                       "decide on one suggestion both count. Only accepted codings appear in "
                       "this report unless it says otherwise above.", "note"))
    blocks += [Heading(2, "Agreement between coders"), Para(m.agreement_note)]
    if m.agreement:
        blocks.append(Table(["Code", "Segments", "Agreement", "Kappa", "Alpha"],
                            [Row([r.name, str(r.units), percent(r.percent), number(r.kappa),
                                  number(r.alpha)]) for r in m.agreement]))
        blocks.append(Para("Agreement: share of agreeing coder pairs per segment. Kappa: "
                           "Cohen's kappa, the mean over pairs of coders. Alpha: Krippendorff's "
                           "alpha (nominal). Formulas as in qualkit's docs/agreement.md; a dash "
                           "means undefined (for example one category throughout).", "note"))
    blocks += _writing(report)
    blocks += [Heading(2, "How to read this report"), Para(
        "A participant is one interview transcript. Segments are speaker turns. Coverage is the "
        "number of participants in whom a code appears at least once. Extracts are chosen "
        "deterministically: one per participant before a second from anyone, passages of 12 "
        "to 60 words first; longer passages are cut with […]. Each extract names the "
        "participant's pseudonym, the transcript, the turn (counting every speaker's turns from "
        "1) and the timestamp where the transcript has one.")]
    return blocks


def _writing(report: Report) -> list[Block]:
    """The researchers' own writing: memos on codes and themes, and the project journal (each
    on one line: its text is untrusted and escaped by every renderer like any other; a label
    loses the control characters Word cannot hold, as Word's text runs do)."""
    m = report.methods
    blocks: list[Block] = []
    if m.memos:
        blocks += [Heading(2, "Memos on codes and themes")]
        blocks += [Para(" ".join(n.text.split()),
                        label=xml_safe(f"{n.code} ({n.coder}, {n.updated:%d %B %Y}): "))
                   for n in m.memos]
    if m.journal:
        blocks += [Heading(2, "Project journal"),
                   Para("Entries as written during the analysis, oldest first.", "note")]
        blocks += [Para(" ".join(n.text.split()), label=xml_safe(f"{n.at:%d %B %Y}, {n.author}: "))
                   for n in m.journal]
    return blocks


# --------------------------------------------------------------------------------------------
# Markdown


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&])")


def md(text: str) -> str:
    """Escape Markdown (and inline HTML) so untrusted text shows as written."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(report: Report, charts: list[Chart], folder: str) -> str:
    lines: list[str] = []
    for b in layout(report, charts):
        if isinstance(b, Heading):
            lines += ["---", ""] if b.new_page else []
            lines += ["#" * (b.level + 1) + " " + md(b.text), ""]
        elif isinstance(b, Para):
            text = (f"**{md(b.label.strip())}** " if b.label else "") + md(b.text)
            text = {"subtitle": f"*{text}*", "definition": f"*{text}*", "caption": f"*{text}*",
                    "note": f"> **Note:** {text}"}.get(b.kind, text)
            lines += [text, ""]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(md(h) for h in b.header) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(b.header) - 1)) + "|")
            for r in b.rows:
                first = "\u2003" * r.depth + md(r.cells[0])
                first = f"**{first}**" if r.bold and r.cells[0] else first
                lines.append("| " + " | ".join([first] + [md(c) for c in r.cells[1:]]) + " |")
            lines.append("")
        elif isinstance(b, Image):
            lines += [f"![{md(b.chart.title)}]({folder}/{b.chart.name}.png)", ""]
        elif isinstance(b, QuoteBlock):
            lines += [f"> “{md(b.text)}”", ">", f"> — {md(b.attribution)}", ""]
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# HTML

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.5; }
h1, h2, h3, h4 { font-family: 'Helvetica Neue', Arial, sans-serif; color: #1f3864; }
h1.title { font-size: 2rem; margin-bottom: 0.2rem; }
p.subtitle { color: #555; margin-top: 0; }
p.definition { font-style: italic; color: #444; }
p.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4rem 0.8rem; }
p.caption { font-size: 0.85rem; color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1rem 0; font-family: Arial, sans-serif;
        font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #dbe5f1; }
td.num, th.num { text-align: right; }
tr.bold td { font-weight: bold; }
blockquote { margin: 0.8rem 0 0.8rem 2rem; padding-left: 0.8rem; border-left: 3px solid #9db3d6;
             font-style: italic; }
blockquote footer { font-style: normal; font-size: 0.85rem; color: #555; margin-top: 0.2rem; }
img { max-width: 100%; }
h2.new-page { border-top: 1px solid #ccc; padding-top: 1.5rem; margin-top: 2.5rem; }
@media print { h2.new-page { page-break-before: always; border: 0; } }
"""


def render_html(report: Report, charts: list[Chart]) -> str:
    """One self-contained file: inline CSS, charts as data URIs, no scripts, every text
    escaped (and a content security policy that forbids scripts anyway)."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
             'img-src data:; style-src \'unsafe-inline\'">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>"]
    for b in layout(report, charts):
        if isinstance(b, Heading):
            tag, cls = f"h{b.level + 1}", ' class="title"' if b.level == 0 else ""
            cls = ' class="new-page"' if b.new_page else cls
            parts.append(f"<{tag}{cls}>{e(b.text)}</{tag}>")
        elif isinstance(b, Para):
            label = f"<strong>{e(b.label)}</strong>" if b.label else ""
            parts.append(f'<p class="{b.kind}">{label}{e(b.text)}</p>')
        elif isinstance(b, Table):
            head = "".join(f'<th class="num">{e(h)}</th>' if i >= b.numeric_from
                           else f"<th>{e(h)}</th>" for i, h in enumerate(b.header))
            body = []
            for r in b.rows:
                cells = "".join(
                    f'<td class="num">{e(c)}</td>' if i >= b.numeric_from else
                    f'<td style="padding-left:{0.6 + 1.2 * r.depth:.1f}rem">{e(c)}</td>'
                    for i, c in enumerate(r.cells))
                body.append(f'<tr class="bold">{cells}</tr>' if r.bold else f"<tr>{cells}</tr>")
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
                         "</tbody></table>")
        elif isinstance(b, Image):
            data = base64.b64encode(b.chart.png).decode("ascii")
            parts.append(f'<figure><img alt="{e(b.chart.title)}" '
                         f'src="data:image/png;base64,{data}"></figure>')
        elif isinstance(b, QuoteBlock):
            parts.append(f"<blockquote><p>“{e(b.text)}”</p>"
                         f"<footer>— {e(b.attribution)}</footer></blockquote>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------
# Word


FONT = "Arial"  # everywhere: Word has it, LibreOffice maps it to metric-equal Liberation Sans
TABLE_STYLE = "Light List Accent 1"
MAX_PICTURE_CM = 15.0


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Drop the control characters XML (and so Word) cannot hold; python-docx refuses them."""
    return _NOT_XML.sub("", text)


def render_docx(report: Report, charts: list[Chart]) -> bytes:
    """A Word document a researcher can paste from: built-in title, heading and table styles,
    indented quotes with attribution, charts as pictures, page numbers in the footer."""
    from docx import Document
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))
    section.top_margin = section.bottom_margin = Cm(2.0)
    doc.core_properties.title = report.title
    doc.core_properties.subject = f"Theme summary of project {report.project}"
    for name in ("Normal", "Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3"):
        _font(doc.styles[name], FONT)
    doc.styles["Normal"].font.size = Pt(10.5)
    _footer(doc, f"{report.title} · page ")
    page_width, left_margin, right_margin = (section.page_width, section.left_margin,
                                             section.right_margin)
    if page_width is None or left_margin is None or right_margin is None:
        raise RuntimeError("the Word section lost the page width or margins set above")
    usable = page_width - left_margin - right_margin
    grey = RGBColor(0x55, 0x55, 0x55)

    with _short_body(doc) as new_block:
        for b in layout(report, charts):
            new_block()
            _docx_block(doc, b, usable, grey)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


WORD_FLUSH = 200  # blocks built in a short detached body before moving them into the document


@contextmanager
def _short_body(doc: Any) -> Iterator[Callable[[], None]]:
    """python-docx adds each paragraph or table before the body's closing section properties
    (``w:sectPr``), which it finds by scanning every element already in the body: a long
    report would take quadratic time. Blocks are built in a short detached ``w:body`` instead
    and moved in front of ``w:sectPr`` every ``WORD_FLUSH`` blocks (and at the end), the same
    elements in the same order. The ``new_block()`` it yields is called before each block."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    body = getattr(doc, "_body", None)
    real = getattr(body, "_element", None)
    if body is None or real is None:  # another python-docx: the plain way
        yield lambda: None
        return
    closing = real.find(qn("w:sectPr"))
    # The short body sits in the same XML tree (after the real one), so moving its elements
    # is relinking them, not copying them from another document.
    short = OxmlElement("w:body")
    real.addnext(short)
    body._element = short
    count = 0

    def flush() -> None:
        for child in list(short):
            if closing is not None:
                closing.addprevious(child)
            else:
                real.append(child)

    def new_block() -> None:
        nonlocal count
        if count and count % WORD_FLUSH == 0:
            flush()
        count += 1

    try:
        yield new_block
    finally:
        flush()
        body._element = real
        short.getparent().remove(short)


def _docx_block(doc: Any, b: Block, usable: int, grey: Any) -> None:
    """One block of the layout, added to the document."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    if isinstance(b, Heading):
        doc.add_heading(xml_safe(b.text), level=b.level).paragraph_format.page_break_before = \
            b.new_page
    elif isinstance(b, Para):
        p = doc.add_paragraph()
        if b.label:
            p.add_run(b.label).bold = True
        run = p.add_run(xml_safe(b.text))
        if b.kind == "subtitle":
            p.style = doc.styles["Subtitle"]
        elif b.kind == "definition":
            run.italic = True
            p.paragraph_format.keep_with_next = True
        elif b.kind in ("caption", "note"):
            run.font.size = Pt(8.5)
            run.font.color.rgb = grey
            if b.kind == "caption":
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif isinstance(b, Table):
        _docx_table(doc, b, usable)
    elif isinstance(b, Image):
        width = min(Cm(b.chart.width_in * 2.54), Cm(MAX_PICTURE_CM), usable)
        doc.add_picture(io.BytesIO(b.chart.png), width=width)
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        doc.paragraphs[-1].paragraph_format.keep_with_next = True  # with its caption
    elif isinstance(b, QuoteBlock):
        p = doc.add_paragraph()
        p.paragraph_format.left_indent = Cm(1.0)
        p.paragraph_format.right_indent = Cm(1.0)
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.keep_with_next = True  # with its attribution
        p.add_run(f"“{xml_safe(b.text)}”").italic = True
        a = doc.add_paragraph()
        a.paragraph_format.left_indent = Cm(1.0)
        a.paragraph_format.space_after = Pt(8)
        run = a.add_run(f"— {xml_safe(b.attribution)}")
        run.font.size = Pt(8.5)
        run.font.color.rgb = grey


def _docx_table(doc: Any, b: Table, usable: int) -> None:
    """A table in a built-in style (TABLE_STYLE); numbers right-aligned."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Cm

    table = doc.add_table(rows=1, cols=len(b.header))
    table.style = doc.styles[TABLE_STYLE]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    longest = max(len(r.cells[0]) + 2 * r.depth for r in b.rows) if b.rows else 10
    first = Cm(min(max(0.21 * longest + 0.6, 3.0), 7.5))
    rest = min(Cm(2.6), int((usable - first) / max(len(b.header) - 1, 1)))
    widths = [first] + [rest] * (len(b.header) - 1)
    for i, text in enumerate(b.header):
        _cell(table.rows[0].cells[i], text, i >= b.numeric_from, bold=True)
    for r in b.rows:
        cells = table.add_row().cells
        for i, text in enumerate(r.cells):
            p = _cell(cells[i], text, i >= b.numeric_from, bold=r.bold)
            if i == 0 and r.depth:
                p.paragraph_format.left_indent = Cm(0.4 * r.depth)
    for row in table.rows:  # Word reads the cell widths, LibreOffice the grid
        for cell, width in zip(row.cells, widths):
            cell.width = width
    for col, width in zip(table.columns, widths):
        col.width = width
    doc.add_paragraph()


def _cell(cell: Any, text: str, right: bool, bold: bool = False) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = cell.paragraphs[0]
    run = p.add_run(xml_safe(text))
    run.font.size = Pt(9)
    run.bold = bold
    p.paragraph_format.space_after = Pt(0)
    if right:
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return p


def _font(style: Any, name: str) -> None:
    """Set a style's font outright: the built-in styles otherwise follow the theme's Calibri
    and Cambria, which machines without them replace unpredictably."""
    from docx.oxml.ns import qn

    style.font.name = name
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:cs"), name)


def _footer(doc: Any, prefix: str) -> None:
    """Footer text followed by a PAGE field, so every page shows its number."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    p = doc.sections[0].footer.paragraphs[0]
    run = p.add_run(prefix)
    run.font.size = Pt(8)
    field_ = OxmlElement("w:fldSimple")
    field_.set(qn("w:instr"), "PAGE")
    inner = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    inner.append(text)
    field_.append(inner)
    p._p.append(field_)
