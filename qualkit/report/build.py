"""Theme summary reports, gathering: one plain model (``model``) of the project's themes, which
``render`` lays out as Markdown, HTML or Word with charts (``charts``).

Gathering is kept apart from rendering so the three formats say exactly the same thing. Counts
come from ``analysis`` (a participant is a transcript; a theme counts any of its codes). Only
accepted codings count unless asked otherwise; ``include="all"`` adds the machine suggestions
no person has decided on yet (rejected ones never count): ``analysis.INCLUDE``, of which a
report offers ``INCLUDE_CHOICES``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ..analysis import (
    AnalysisData,
    cooccurrence,
    cooccurring,
    counted,
    coverage_by_attribute,
    frequencies,
    include_choice,
)
from ..errors import QualkitError
from ..model import DEFAULT_COLOR, Codebook, Coding, Transcript, page_of
from ..pseudonym import Pseudonymiser
from .model import (
    AgreementRow,
    CoderWork,
    CodeSummary,
    GroupCount,
    JournalNote,
    MemoNote,
    Methods,
    Quote,
    Report,
    Section,
    top_codes,
)

INCLUDE_CHOICES = ("accepted", "all")  # of analysis.INCLUDE
PSEUDONYMISED_KEEP = frozenset({"id", "code_id", "color"})  # never replaced in a report
AUTO = "auto"  # ``by``: split by works_alone when the transcripts have it
DEFAULT_BY = "works_alone"
QUOTE_WORDS = 80  # longer passages are cut with " […]" so a quote stays readable
TOP_COOCCURRING = 3


# --------------------------------------------------------------------------------------------
# Gathering


def resolve_by(by: str | None, attributes: dict[str, dict[str, Any]]) -> str | None:
    """The attribute to split coverage by: ``auto`` picks works_alone when present."""
    known = sorted({k for attrs in attributes.values() for k in attrs})
    if by is None or by.lower() == "none":
        return None
    if by == AUTO:
        return DEFAULT_BY if DEFAULT_BY in known else None
    if by not in known:
        raise QualkitError(f"no participant attribute {by!r}", field="--by",
                           hint="choose one of: " + (", ".join(known) or "(none: the "
                                                     "transcripts have no attributes)")
                           + ", or none")
    return by


def build_report(project: Any, include: str = "accepted", by: str | None = AUTO,
                 extracts: int = 3, today: date | None = None,
                 pseudonymiser: Pseudonymiser | None = None) -> Report:
    """Everything a theme summary says, gathered once from a project; with a
    ``pseudonymiser``, every text in it (quotes, participant labels, transcript names,
    attribute values, memos, journal) as a pseudonymised export shows it."""
    if extracts < 0:
        raise QualkitError("must be 0 or more", field="--extracts")
    choice = include_choice(include, INCLUDE_CHOICES)
    store = project.store
    book = project.codebook_if_any()
    every = store.codings()
    data = AnalysisData(counted(every, choice.statuses),
                        {t.name: dict(t.attributes) for t in store.transcripts()}, book)
    by = resolve_by(by, data.attributes)

    transcripts: dict[str, Transcript] = {}

    def transcript(name: str) -> Transcript:
        if name not in transcripts:
            transcripts[name] = store.load_transcript(name)
        return transcripts[name]

    data.text_of = lambda name: transcript(name).text
    summaries = _summaries(data, book, by, extracts, transcript)
    sections = _sections(book, summaries)
    occurring = [c for s in sections for c in [s.theme, *s.codes] if c.leaf and c.segments]
    heat = top_codes(occurring)  # at most CHART_CODES, as the charts show
    matrix = cooccurrence(data, [c.id for c in heat]) if heat else None
    group_sizes = []
    if by:
        sizes: dict[str, int] = {}
        for value in data.groups(by).values():
            sizes[value] = sizes.get(value, 0) + 1
        group_sizes = [GroupCount(v, n, n) for v, n in sorted(sizes.items())]
    coded = {(c.transcript, c.segment_index if c.segment_index is not None else c.start)
             for c in data.codings}
    methods = _methods(project, book, every, choice.description)
    report = Report(
        title=f"Theme summary: {book.name}" if book else "Theme summary",
        project=Path(project.root).resolve().name, generated=today or date.today(),
        include=choice.description, participants=len(data.attributes),
        coded_segments=len(coded),
        by=by, group_sizes=group_sizes, sections=sections,
        heatmap_codes=[c.name for c in heat],
        heatmap=matrix.values.tolist() if matrix is not None else [],
        heatmap_of=len(occurring), methods=methods)
    report.notes = _notes(report, include)
    if pseudonymiser is not None:
        report = pseudonymiser.dataclass(report, keep=PSEUDONYMISED_KEEP)
    return report


def _summaries(data: AnalysisData, book: Codebook | None, by: str | None, n_extracts: int,
               transcript: Any) -> dict[str, CodeSummary]:
    order = data.code_order()
    if not order:
        return {}
    index = data.index()
    freq = frequencies(data).set_index("code").to_dict("index")
    split = coverage_by_attribute(data, by).set_index("code").to_dict("index") if by else None
    co = cooccurring(data, order)
    leaves = data.leaf_order()
    is_leaf = set(leaves)
    place: dict[str, int] = {}
    for i, code_id in enumerate(order):
        place.setdefault(code_id, i)
    out: dict[str, CodeSummary] = {}
    for code_id in order:
        code = index.get(code_id) if index else None
        row = freq[code_id]
        groups = []
        if split is not None:
            prefix = f"{by}="
            for column, cell in split[code_id].items():
                if str(column).startswith(prefix):
                    have, of = (int(x) for x in str(cell).split("/"))
                    groups.append(GroupCount(str(column)[len(prefix):], have, of))
        above = {c.id for c in index.ancestors(code_id)} if index else set()
        family = data.members(code_id) | above
        together = sorted(((n, other) for other, n in co[code_id].items()
                           if other in is_leaf and other not in family and n > 0),
                          key=lambda t: (-t[0], place[t[1]]))[:TOP_COOCCURRING]
        out[code_id] = CodeSummary(
            id=code_id, name=data.name(code_id),
            definition=code.definition.strip() if code else "",
            color=index.color_of(code_id) if index else DEFAULT_COLOR,
            depth=len(above), is_theme=bool(code and code.is_theme), leaf=code_id in is_leaf,
            segments=int(row["segments"]),
            participants=int(row["participants"]), of=int(row["of"]), groups=groups,
            cooccurring=[(data.name(other), n) for n, other in together],
            extracts=pick_extracts(_quotes(data, code_id, transcript), n_extracts))
    return out


def _sections(book: Codebook | None, summaries: dict[str, CodeSummary]) -> list[Section]:
    sections = []
    placed: set[str] = set()
    for top in (book.codes if book else []):
        below = [summaries[c.id] for c in top.subtree()[1:]]
        sections.append(Section(summaries[top.id], below))
        placed |= {top.id} | {c.id for c in below}
    others = [s for cid, s in summaries.items() if cid not in placed]
    if others:  # codings with codes the codebook no longer has
        for s in others:
            s.depth = 1
        sections.append(Section(CodeSummary(
            id="", name="Codes not in the codebook", definition="Codings whose code is not "
            "(or no longer) in the codebook.", color=DEFAULT_COLOR, depth=0, is_theme=True,
            segments=0, participants=0, of=others[0].of), others))
    return sections


def _quotes(data: AnalysisData, code_id: str, transcript: Any) -> list[Quote]:
    """Every passage coded with exactly this code, once each (two coders accepting the same
    passage give one extract)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for c in sorted(data.by_code().get(code_id, ()), key=lambda c: (c.transcript, c.start,
                                                                      c.end)):
        if (c.transcript, c.start, c.end) in seen:
            continue
        seen.add((c.transcript, c.start, c.end))
        tr = transcript(c.transcript)
        seg = (tr.segments[c.segment_index] if c.segment_index is not None
               and 0 <= c.segment_index < len(tr.segments) else tr.segment_at(c.start))
        out.append(Quote(text=tidy(tr.text[c.start:c.end]),
                         pseudonym=data.participant(c.transcript), transcript=c.transcript,
                         turn=seg.index + 1 if seg else None,
                         timestamp=seg.timestamp if seg else None, code_id=code_id,
                         page=page_of(tr, c.start)))
    return [q for q in out if q.text]


def pick_extracts(quotes: list[Quote], n: int) -> list[Quote]:
    """Up to ``n`` extracts, deterministically: one per participant before a second from anyone
    (participants with most passages first); within a participant, passages of a readable
    length (12 to 60 words) before very short or long ones, then the earliest."""

    def fit(q: Quote) -> int:
        words = len(q.text.split())
        return 12 - words if words < 12 else max(0, words - 60)

    by_person: dict[str, list[Quote]] = {}
    for q in quotes:
        by_person.setdefault(q.transcript, []).append(q)
    queues = [sorted(qs, key=lambda q: (fit(q), q.turn or 0)) for _, qs in
              sorted(by_person.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    out: list[Quote] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if len(out) >= n:
                return out
            if round_ < len(queue):
                out.append(queue[round_])
    return out


def tidy(text: str) -> str:
    """One line, and at most QUOTE_WORDS words."""
    words = text.split()
    return " ".join(words[:QUOTE_WORDS]) + (" […]" if len(words) > QUOTE_WORDS else "")


def _methods(project: Any, book: Codebook | None, every: list[Coding], include: str) -> Methods:
    """The methods appendix; ``include`` describes which codings the report counts."""
    suggestions = [c for c in every if c.status == "suggested"]
    by_id = {c.id: c for c in suggestions}
    people: dict[str, CoderWork] = {}
    decided: set[int] = set()
    for c in every:
        if c.status == "suggested":
            continue
        work = people.setdefault(c.coder, CoderWork(c.coder))
        if c.suggestion_id is not None:
            decided.add(c.suggestion_id)
            if c.status == "rejected":
                work.rejected += 1
            else:
                work.accepted += 1
                sug = by_id.get(c.suggestion_id)
                work.recoded += bool(sug and sug.code_id != c.code_id)
        elif c.status == "accepted":
            if c.source == "manual":
                work.by_hand += 1
            else:
                work.imported += 1
    sources: dict[str, int] = {}
    for c in suggestions:
        sources[c.source] = sources.get(c.source, 0) + 1
    coders = sorted(people.values(), key=lambda w: (-w.decisions, w.coder))
    rows, units, names, note = _agreement(project, book, sorted(people))
    return Methods(
        codebook=book.name if book else "(no codebook)", version=book.version if book else "",
        include=include, coders=coders, suggested=len(suggestions),
        sources=dict(sorted(sources.items())), accepted=sum(w.accepted for w in coders),
        recoded=sum(w.recoded for w in coders), rejected=sum(w.rejected for w in coders),
        pending=sum(1 for c in suggestions if c.id not in decided),
        by_hand=sum(w.by_hand for w in coders), imported=sum(w.imported for w in coders),
        agreement_coders=names, agreement_units=units, agreement=rows, agreement_note=note,
        memos=_memo_notes(project, book), journal=_journal_notes(project))


def _memo_notes(project: Any, book: Codebook | None) -> list[MemoNote]:
    """Every person's memos on codes and themes (``qualkit.journal``), in codebook order."""
    from ..journal import code_memos

    return [MemoNote(m.name, m.coder, m.updated_at.date(), m.text)
            for m in code_memos(project.store, book)]


def _journal_notes(project: Any) -> list[JournalNote]:
    """The project journal, oldest entry first."""
    from ..journal import entries

    return [JournalNote(e.at.date(), e.author, e.text) for e in entries(project.store)]


def _agreement(project: Any, book: Codebook | None, people: list[str]
               ) -> tuple[list[AgreementRow], int, list[str], str]:
    """Agreement between the people who made decisions (``people``), computed as
    `qualkit agreement` does."""
    from ..agreement.project import project_agreement

    result = project_agreement(project.store, book)
    if len(result.coders) < 2 or not result.units:
        who = (f"only {people[0]} coded" if len(people) == 1 else "nobody has coded yet"
               if not people else "no transcript was coded by two or more people")
        return [], 0, people, (f"No agreement figures: {who}. Double-code some transcripts "
                               "(two people deciding independently) to measure agreement.")
    name = book.display_name if book else str
    figures = []
    for code_id, a in result.codes.items():
        if a.applied:
            figures.append(AgreementRow(name(code_id), a.units, a.percent_agreement,
                                        a.kappa_mean, a.krippendorff_alpha))
    for parent, g in result.groups.items():
        figures.append(AgreementRow(f"{name(parent)} (one of its codes)", g.units,
                                    g.percent_agreement, g.kappa_mean, g.krippendorff_alpha))
    note = (f"{len(result.coders)} people coded {result.units} segments in common "
            f"({result.single_coded} further segments were coded by one person only and are "
            "left out). Per code: presence or absence in each segment.")
    return figures, result.units, result.coders, note


def _notes(report: Report, include: str) -> list[str]:
    notes = []
    m = report.methods
    if not report.participants:
        notes.append("The project has no transcripts yet: import some with `qualkit import`.")
    elif not report.coded_segments:
        notes.append("Nothing is coded yet" + (
            f": {m.pending} machine suggestions await review. Review them, or pass "
            "--include all to count them." if include == "accepted" and m.pending else "."))
    return notes
