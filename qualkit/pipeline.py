"""Import and batch coding: the work behind `qualkit import` and `qualkit code` (and the app).

Progress is reported through an optional callback so the CLI can show a Rich bar and the app a
progress widget, without this module knowing about either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CodebookChanged, QualkitError
from .model import Suggestion, Transcript
from .project import Project
from .readers import (
    checked_layout,
    describe_formats,
    find_transcripts,
    read_documents,
    reader_for,
)
from .store import ImportOutcome

if TYPE_CHECKING:
    from .cluster import ClusterSpec

Progress = Callable[[int, int, str], None]
MAX_REFITS = 3  # codebook changes a batch run follows before it gives up
ADVICE_TRANSCRIPTS = 5  # transcripts read to tell whether the interviews look English


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
                 progress: Progress | None = None, layout: str = "auto") -> ImportReport:
    """Import files and folders. Each file is one transaction, all or nothing: a bad file (or
    one whose second transcript clashes with the project) is reported and nothing of it is
    kept, and every other file is imported. Transcripts are cut as ``layout``: speaker turns
    ("transcript"), paragraphs ("document") or as their text suggests ("auto")."""
    from . import media

    layout = checked_layout(layout)

    found = find_transcripts(list(paths))
    # recordings go with their transcripts (same name, e.g. p01.txt + p01.mp3): given
    # explicitly or lying beside it; a recording on its own is not a transcript
    recordings = [p for p in found if media.is_media(p)]
    files = [p for p in found if not media.is_media(p)]
    report = ImportReport()
    if not files:
        report.errors.append(f"no files to import found (qualkit reads {describe_formats()})")
    paired: set[Path] = set()
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            reader = reader_for(path)
            if reader.project:  # a whole project: codebook, documents, memos
                _import_project(project, path, reader.read(path), actor, report)
                continue
            outcomes = project.store.add_documents(read_documents(reader, path, layout), actor)
            report.outcomes.extend(outcomes)
        except QualkitError as exc:
            report.errors.append(str(exc))
            continue
        recording = next((r for r in recordings if r.stem == path.stem
                          and r.parent == path.parent), None) or media.beside(path)
        if recording is not None and len(outcomes) == 1:
            paired.add(recording)
            _attach_beside(project, outcomes[0].name, recording, actor, report)
    for recording in recordings:
        if recording not in paired:
            report.errors.append(f"{recording}: a recording is imported with its transcript "
                                 "(the same name, e.g. p01.txt beside p01.mp3); `qualkit media "
                                 "attach TRANSCRIPT FILE` attaches it to one already imported")
    if progress:
        progress(len(files), len(files), "")
    return report


def _attach_beside(project: Project, transcript: str, recording: Path, actor: str,
                   report: ImportReport) -> None:
    """Attach the recording found with a transcript file (one more transaction, with its own
    event); the same recording already attached is left as it is."""
    import hashlib

    from . import media

    try:
        have = project.store.media_info(transcript)
        if have is not None and have.name == recording.name and \
                have.size == recording.stat().st_size:
            digest = hashlib.sha256()
            for chunk in media.read_chunks(recording):
                digest.update(chunk)
            if digest.hexdigest() == have.sha256:
                return
        info = media.attach(project.store, transcript, recording, actor)
        report.notes.append(f"{transcript}: recording {info.name} attached "
                            f"({info.size / 1024 ** 2:,.1f} MB)")
    except (QualkitError, OSError) as exc:
        report.errors.append(f"the recording was not attached to {transcript!r}: {exc}")


def _attach_from_archive(project: Project, path: Path, content: Any, added: set[str],
                         actor: str, report: ImportReport) -> None:
    """The recordings a .qdpx carries, each streamed from the archive onto the transcript it
    belongs to (a transcript already in the project keeps what it has)."""
    from . import media
    from .exchange.reader import read_recording

    for name, (member, file_name) in getattr(content, "recordings", {}).items():
        if name not in added:
            continue
        try:
            info = media.attach_stream(project.store, name, file_name,
                                       read_recording(path, member), actor)
        except QualkitError as exc:
            report.errors.append(f"{path.name}: the recording of {name!r} was not attached: "
                                 f"{exc}")
        else:
            report.notes.append(f"{path.name}: recording {info.name} attached to {name!r}")


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
    outcomes = project.store.add_documents(content.documents, actor, codebook, content.memos)
    report.outcomes.extend(outcomes)
    report.notes.extend(notes)
    _attach_from_archive(project, path, content, {o.name for o in outcomes
                                                  if o.status == "added"}, actor, report)
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
    learned_codes: list[str] = field(default_factory=list)  # those a learned model took over
    advice: str = ""  # e.g. the interviews do not look English and the model is English's


class BatchRun:
    """One batch run's fitted suggesters and the rules both ways of running it share (here, one
    transcript at a time; ``qualkit.cluster``, transcripts spread over a Dask cluster): which
    texts to embed for a transcript, how its suggestions are made, how they are stored and how
    the run follows a codebook change."""

    def __init__(self, project: Project, names_on: Sequence[str], embedder: Any) -> None:
        from .suggest.base import Scope
        from .suggest.registry import SUGGESTERS

        self.project = project
        self.names_on = names_on
        self.embedder = embedder
        self.learns = any(SUGGESTERS[n].learns for n in names_on)
        self.codebook = project.codebook()
        self.examples: list[Any] = []
        # what is embedded for a transcript: the sentences of turns some code applies to (the
        # semantic suggester), every turn's sentences (the learned one, when there are decisions)
        self.sentences = any(SUGGESTERS[n].embeds and not SUGGESTERS[n].learns for n in names_on)
        self.scope = Scope(self.codebook)
        self.refits = 0
        self.suggester: Any = None

    @property
    def turns(self) -> bool:
        from .suggest.registry import SUGGESTERS

        return bool(self.examples) and any(SUGGESTERS[n].embeds and SUGGESTERS[n].learns
                                           for n in self.names_on)

    def gather(self) -> None:
        """The decisions to learn from, and the conversations around them embedded."""
        from .suggest.features import turn_pieces
        from .suggest.training import examples_from_project

        self.examples = (examples_from_project(self.project.store, self.codebook)
                         if self.learns else [])
        if self.turns:  # the learned suggester reads whole conversations around a decided turn
            seen: set[str] = set()
            for ex in self.examples:
                if ex.view.transcript not in seen:
                    seen.add(ex.view.transcript)
                    self.embedder.encode([p for seg in ex.view.segments
                                          for p in turn_pieces(seg.text)])

    def fit(self, report: CodeReport) -> None:
        """Fit the suggesters on the gathered decisions; the report records what each code's
        suggestions now rest on."""
        from .suggest.combine import CombinedSuggester

        if "semantic" in self.names_on:
            fit_study_scale(self.project.store, self.codebook, self.embedder)
        self.suggester = CombinedSuggester(self.embedder, self.names_on).fit(self.codebook,
                                                                             self.examples)
        report.learned = self.suggester.learned_summary()
        report.learned_codes = self.suggester.learned_codes

    def texts(self, transcript: Transcript) -> list[str]:
        return texts_to_embed(transcript, self.scope, self.sentences, self.turns)

    def save(self, name: str, suggestions: list[Suggestion], actor: str,
             report: CodeReport) -> bool:
        """Store one transcript's suggestions in one transaction. False when the codebook
        changed under the run (a rename in the app): the suggesters are refitted on the new
        one, and the caller makes this transcript's suggestions again."""
        try:
            report.suggestions += self.project.store.replace_suggestions(name, suggestions,
                                                                         actor)
        except CodebookChanged:
            self.refits += 1
            if self.refits > MAX_REFITS:
                raise
            self.codebook = self.project.codebook()
            from .suggest.base import Scope

            self.scope = Scope(self.codebook)
            self.gather()
            self.fit(report)
            return False
        report.transcripts += 1
        for s in suggestions:
            report.by_code[s.code_id] = report.by_code.get(s.code_id, 0) + 1
        return True


def fit_study_scale(store: Any, codebook: Any, embedder: Any) -> None:
    """Set ``embedder.scale`` to the study's own map of similarities onto MiniLM's scale
    (``semantic.study_scale``), read from the same few turns of every run: up to
    ``SCALE_TRANSCRIPTS`` of the project's transcripts, evenly spread by name, so it does not
    move as transcripts are reviewed. Only a model that ``adapts`` reads anything."""
    from .suggest.semantic import SCALE_TRANSCRIPTS, evenly, study_scale

    if embedder.spec.adapts:
        names = evenly(sorted(store.transcript_names()), SCALE_TRANSCRIPTS)
        embedder.scale = study_scale(codebook, embedder, store.iter_transcripts(names))


def texts_to_embed(transcript: Transcript, scope: Any, sentences: bool,
                   turns: bool) -> list[str]:
    """What the chosen suggesters will read of a transcript, embedded up front in one go."""
    from .suggest.features import turn_pieces

    texts: list[str] = []
    for seg in transcript.segments:
        if turns or (sentences and scope.mask(seg).any()):
            texts.extend(turn_pieces(seg.text))
    return texts


def suggestions_for(suggester: Any, transcript: Transcript) -> list[Suggestion]:
    """A fitted suggester's suggestions for one transcript (it computes; nothing is written)."""
    from .suggest.base import views_of

    views = views_of(transcript)
    return list(suggester.decide(suggester.score(views), views))


def code_project(project: Project, names: list[str] | None = None, actor: str = "qualkit",
                 progress: Progress | None = None,
                 suggesters: Iterable[str] | str | None = None,
                 cluster: ClusterSpec | None = None) -> CodeReport:
    """Run the suggesters (``suggest.registry.SUGGESTERS``: all by default, else the names
    given) over all (or the named) transcripts and store their suggestions.

    The learned suggester trains on the decisions already made in the project. Pending
    suggestions are replaced; decisions a person made are kept and not suggested again. Each
    transcript is one transaction, so a run that stops part way keeps what it finished and a
    re-run completes it. With ``cluster`` the transcripts are spread over a Dask cluster's
    workers (``qualkit.cluster``); this process stays the one that writes.
    """
    from .suggest.registry import chosen

    names_on = chosen(suggesters)
    store = project.store
    names = store.transcript_names() if names is None else names
    known = set(store.transcript_names())
    missing = [n for n in names if n not in known]
    if missing:
        raise QualkitError(f"no transcript named {missing[0]!r} in this project",
                           hint="`qualkit status --list` shows the transcript names")
    report = CodeReport()
    embedder = project.embedder()
    run = BatchRun(project, names_on, embedder)
    run.gather()
    report.examples = len(run.examples)
    if cluster is None and (run.sentences or run.turns):
        # Embed up front, a transcript at a time (memory stays flat); the suggesters then read
        # the cache. On a cluster each worker embeds its own transcripts.
        for i, transcript in enumerate(store.iter_transcripts(names)):
            if progress:
                progress(i, len(names), f"embedding {transcript.name}")
            embedder.encode(run.texts(transcript))
    report.embedded = embedder.computed
    if run.sentences or run.turns:
        from .language import embeddings_advice

        report.advice = embeddings_advice(project.embeddings, (
            seg.text for tr in store.iter_transcripts(names[:ADVICE_TRANSCRIPTS])
            for seg in tr.segments))
    if progress and run.examples:
        progress(0, len(names), f"training on {len(run.examples)} decisions")
    run.fit(report)
    if cluster is not None:
        from .cluster import code_on_cluster

        code_on_cluster(run, names, actor, report, cluster, progress)
    else:
        for i, transcript in enumerate(store.iter_transcripts(names)):
            if progress:
                progress(i, len(names), transcript.name)
            while not run.save(transcript.name, suggestions_for(run.suggester, transcript),
                               actor, report):
                pass  # the codebook changed: suggest this transcript again with the new one
    if progress:
        progress(len(names), len(names), "")
    return report
