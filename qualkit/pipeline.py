"""Import and batch coding: the work behind `qualkit import` and `qualkit code` (and the app).

Progress is reported through an optional callback so the CLI can show a Rich bar and the app a
progress widget, without this module knowing about either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CodebookChanged, QualkitError
from .project import Project
from .readers import describe_formats, find_transcripts, reader_for
from .store import ImportOutcome

Progress = Callable[[int, int, str], None]
MAX_REFITS = 3  # codebook changes a batch run follows before it gives up


@dataclass
class ImportReport:
    outcomes: list[ImportOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(o.status == "added" for o in self.outcomes)

    @property
    def unchanged(self) -> int:
        return sum(o.status == "unchanged" for o in self.outcomes)


def import_paths(project: Project, paths: Iterable[str | Path], actor: str,
                 progress: Progress | None = None) -> ImportReport:
    """Import files and folders. Each file is one transaction, all or nothing: a bad file (or
    one whose second transcript clashes with the project) is reported and nothing of it is
    kept, and every other file is imported."""
    files = find_transcripts(list(paths))
    report = ImportReport()
    if not files:
        report.errors.append(f"no files to import found (qualkit reads {describe_formats()})")
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            reader = reader_for(path)
            if reader.project:  # a whole project: codebook, documents, memos
                _import_project(project, path, reader.read(path), actor, report)
                continue
            report.outcomes.extend(project.store.add_documents(reader.read(path), actor))
        except QualkitError as exc:
            report.errors.append(str(exc))
    if progress:
        progress(len(files), len(files), "")
    return report


def _import_project(project: Project, path: Path, content: Any, actor: str,
                    report: ImportReport) -> None:
    """What a project format's reader returned (a REFI-QDA .qdpx project or .qdc codebook:
    ``exchange.QdpxContent``), in one transaction. Its codebook becomes the project's only when
    the project has none yet, so an existing codebook is never replaced silently."""
    from .codebook import dump_codebook, parse_codebook

    notes = [f"{path.name}: {w}" for w in content.warnings]
    codebook = None
    if content.codebook is not None:
        if project.codebook_state() is not None:
            notes.append(f"{path.name}: the project already has a codebook; the archive's was "
                         "not applied (use `qualkit code --codebook`)")
        else:
            text = dump_codebook(content.codebook)
            parse_codebook(text, str(path))  # every field checked before anything is stored
            codebook = (text, f"from {path.name}")
            notes.append(f"{path.name}: codebook {content.codebook.name!r} set for the project")
    report.outcomes.extend(project.store.add_documents(content.documents, actor, codebook,
                                                       content.memos))
    report.notes.extend(notes)
    if codebook is not None:
        project.codebook_state()  # writes codebook.yaml, the view of the new codebook


@dataclass
class CodeReport:
    transcripts: int = 0
    suggestions: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    examples: int = 0
    embedded: int = 0
    learned: list[str] = field(default_factory=list)  # per code with decisions: what it rests on


def code_project(project: Project, names: list[str] | None = None, actor: str = "qualkit",
                 progress: Progress | None = None,
                 suggesters: Iterable[str] | str | None = None) -> CodeReport:
    """Run the suggesters (``suggest.registry.SUGGESTERS``: all by default, else the names
    given) over all (or the named) transcripts and store their suggestions.

    The learned suggester trains on the decisions already made in the project. Pending
    suggestions are replaced; decisions a person made are kept and not suggested again.
    """
    from .embed import Embedder
    from .suggest.base import Scope, views_of
    from .suggest.combine import CombinedSuggester
    from .suggest.registry import SUGGESTERS, chosen
    from .suggest.semantic import chunks
    from .suggest.training import examples_from_project

    names_on = chosen(suggesters)
    on = [SUGGESTERS[name] for name in names_on]
    codebook = project.codebook()
    store = project.store
    names = store.transcript_names() if names is None else names
    known = set(store.transcript_names())
    missing = [n for n in names if n not in known]
    if missing:
        raise QualkitError(f"no transcript named {missing[0]!r} in this project",
                           hint="`qualkit status --list` shows the transcript names")
    report = CodeReport()
    embedder = Embedder(store)
    examples = examples_from_project(store, codebook) if any(s.learns for s in on) else []
    report.examples = len(examples)
    sentences = any(s.embeds and not s.learns for s in on)  # the semantic suggester
    turns = bool(examples) and any(s.embeds and s.learns for s in on)  # the learned one
    if sentences or turns:
        # Embed up front, a transcript at a time (memory stays flat), only what the chosen
        # suggesters read: the sentences of turns some code applies to, and whole turns when
        # the learned suggester runs; the suggesters then read the cache.
        scope = Scope(codebook)
        for i, transcript in enumerate(store.iter_transcripts(names)):
            if progress:
                progress(i, len(names), f"embedding {transcript.name}")
            texts: list[str] = []
            for seg in transcript.segments:
                if turns:
                    texts.append(seg.text)
                if sentences and scope.mask(seg).any():
                    texts.extend(seg.text[a:b] for a, b in chunks(seg.text))
            embedder.encode(texts)
        # The learned suggester reads whole conversations around each decided turn.
        seen = set(names)
        for ex in examples:
            if turns and ex.view.transcript not in seen:
                seen.add(ex.view.transcript)
                embedder.encode([seg.text for seg in ex.view.segments])
        report.embedded = embedder.computed
    if progress and examples:
        progress(0, len(names), f"training on {len(examples)} decisions")
    suggester = CombinedSuggester(embedder, names_on).fit(codebook, examples)
    report.learned = suggester.learned_summary()
    refits = 0
    for i, transcript in enumerate(store.iter_transcripts(names)):
        if progress:
            progress(i, len(names), transcript.name)
        views = views_of(transcript)
        while True:
            suggestions = suggester.decide(suggester.score(views), views)
            try:
                report.suggestions += store.replace_suggestions(transcript.name, suggestions,
                                                                actor)
                break
            except CodebookChanged:
                # the codebook changed under this run (a rename in the app): start again from
                # the new one for this transcript and the rest
                refits += 1
                if refits > MAX_REFITS:
                    raise
                codebook = project.codebook()
                if any(s.learns for s in on):
                    examples = examples_from_project(store, codebook)
                suggester = CombinedSuggester(embedder, names_on).fit(codebook, examples)
                report.learned = suggester.learned_summary()
        report.transcripts += 1
        for s in suggestions:
            report.by_code[s.code_id] = report.by_code.get(s.code_id, 0) + 1
    if progress:
        progress(len(names), len(names), "")
    return report
