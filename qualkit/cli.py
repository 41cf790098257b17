"""The `qualkit` command line: parse options, call one library function, show the result.

User mistakes (QualkitError) print one clear line and exit 1, never a traceback. Library modules
are imported inside commands so `qualkit --help` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console

from .analysis import include_help
from .embed import EMBEDDINGS
from .readers import describe_formats
from .report.build import INCLUDE_CHOICES as REPORT_INCLUDE
from .suggest import registry as suggesters_registry

app = typer.Typer(help="qualkit: code interview transcripts against a YAML codebook.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
codebook_app = typer.Typer(help="Check codebooks.", no_args_is_help=True)
export_app = typer.Typer(help="Export the project.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
app.add_typer(export_app, name="export")
team_app = typer.Typer(help="A team project on a PostgreSQL server: each member logs in as "
                            "their own database role (docs/reliability.md).",
                       no_args_is_help=True)
app.add_typer(team_app, name="team")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ProjectOpt = Annotated[Optional[Path], typer.Option(
    "--project", "-p", help="Project folder (default: the current folder).")]
DbOpt = Annotated[Optional[str], typer.Option(
    "--db", help="Database URL instead of the project's SQLite file, "
                 "e.g. postgresql+psycopg://user@host/db.")]
CoderOpt = Annotated[Optional[str], typer.Option(
    "--coder", help="Who is acting (default: $QUALKIT_CODER or your login name).")]
SuggestersOpt = Annotated[str, typer.Option(help=suggesters_registry.help_text())]
EMBEDDINGS_HELP = ("Embedding model for similarity and learning: "
                   + "; ".join(m.label for m in EMBEDDINGS.values())
                   + ". Unless given, English for a codebook in English, else multilingual.")
EmbeddingsOpt = Annotated[Optional[str], typer.Option(help=EMBEDDINGS_HELP)]
ALL_SUGGESTERS = ",".join(suggesters_registry.SUGGESTERS)

SheetOpt = Annotated[Path, typer.Option("--output", "-o", help="FILE.csv or FILE.xlsx")]
IncludeOpt = Annotated[str, typer.Option(help=include_help())]
QDPX_INCLUDE = ("accepted", "all")  # a .qdpx carries decided codings and open suggestions
PseudonymiseOpt = Annotated[bool, typer.Option(
    "--pseudonymise", help="Replace the names in the project's pseudonym table (`qualkit "
                           "pseudonyms`), then check the file; exit 3 if any remain.")]

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn QualkitError into one line on stderr and exit 1 (database failures arrive as
    ``StoreError``, translated once in qualkit.store)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import QualkitError

        try:
            return func(*args, **kwargs)
        except QualkitError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted; work already saved is kept")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _open(project: Optional[Path], db: Optional[str]) -> Any:
    from .project import open_project

    return open_project(project, db)


def _check_output_here(output: Path, project: Optional[Path] = None) -> None:
    """For a command that works without a project: never write over the files of the project
    in --project or the current folder, if there is one."""
    from .project import check_output

    check_output(output, project if project is not None else Path.cwd())


def _progress(description: str) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[item]}"), TimeRemainingColumn(),
                    console=err, transient=True)


def _run_with_bar(description: str, work: Callable[[Callable[[int, int, str], None]], Any]) -> Any:
    with _progress(description) as bar:
        task = bar.add_task(description, total=None, item="")

        def update(done: int, total: int, item: str) -> None:
            bar.update(task, completed=done, total=total, item=item)

        return work(update)


@app.command()
@friendly
def init(
    path: Annotated[Path, typer.Argument(help="Project folder to create.")] = Path("."),
    codebook: Annotated[Optional[Path], typer.Option(
        help="Codebook YAML file, or a bundled codebook by name (keyworker, annomi_mi).")] = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
    embeddings: EmbeddingsOpt = None,
) -> None:
    """Create a project folder (database and codebook)."""
    from .project import init_project

    project = init_project(path, codebook, coder, db, embeddings)
    out.print(f"Project ready in {project.root.resolve()}"
              + (f" with codebook {project.codebook().name!r}" if codebook else "")
              + f"; embeddings: {EMBEDDINGS[project.embeddings].label}")
    if not codebook:
        from .bundled import codebooks

        out.print("Next: import transcripts, then qualkit code --codebook FILE.yaml (or a "
                  f"bundled codebook by name: {', '.join(codebooks())})")


@app.command("import", help=f"Import {describe_formats()}.")
@friendly
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders.")],
    layout: Annotated[str, typer.Option(
        help="How transcripts are cut into segments: transcript (speaker turns), document "
             "(paragraphs: a paper, field notes) or auto (decided from the text).")] = "auto",
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    from .pipeline import import_paths
    from .readers import checked_layout

    chosen = checked_layout(layout)  # refuse an unknown layout before opening anything
    proj = _open(project, db)
    actor = proj.actor(coder)
    report = _run_with_bar("Importing", lambda cb: import_paths(proj, paths, actor, cb,
                                                                layout=chosen))
    for o in report.outcomes:
        extra = f", {o.codings} codings" if o.codings else ""
        note = f" ({o.note})" if o.note else ""
        out.print(f"  {o.status:9} {o.name}{extra}{note}", highlight=False)
    out.print(f"{report.added} added, {report.unchanged} already in the project, "
              f"{len(report.errors)} failed")
    for line in report.notes:
        out.print(f"  note: {line}", highlight=False)
    for line in report.errors:
        err.print(f"[bold red]error:[/] {line}", highlight=False)
    if report.errors:
        raise typer.Exit(1)


@app.command()
@friendly
def code(
    codebook: Annotated[Optional[Path], typer.Option(
        help="Use (and remember) this codebook; default: the project's codebook.")] = None,
    transcript: Annotated[Optional[list[str]], typer.Option(
        "--transcript", "-t", help="Only these transcripts (repeatable).")] = None,
    suggesters: SuggestersOpt = ALL_SUGGESTERS,
    cluster: Annotated[Optional[str], typer.Option(
        help="Spread the transcripts over a running Dask cluster: its scheduler's address, "
             "tcp://HOST:8786 (docs/scale.md).")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="Spread the transcripts over N worker processes on this machine (a local Dask "
             "cluster).")] = None,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Run the machine suggesters over the transcripts and store their suggestions."""
    from .pipeline import code_project

    chosen = suggesters_registry.chosen(suggesters)  # refuse an unknown name before any work
    spec = None
    if cluster is not None or workers is not None:
        from .cluster import ClusterSpec

        spec = ClusterSpec(address=cluster, workers=workers)  # checked before any work
    proj = _open(project, db)
    actor = proj.actor(coder)
    if codebook is not None:
        proj.set_codebook(codebook, actor)
    report = _run_with_bar("Coding", lambda cb: code_project(proj, transcript, actor, cb,
                                                             chosen, cluster=spec))
    learned = f"; learned from {report.examples} decisions" if report.examples else ""
    out.print(f"{report.transcripts} transcripts coded; {report.suggestions} new suggestions "
              f"stored for review ({report.embedded} texts embedded{learned})")
    for code_id, n in sorted(report.by_code.items(), key=lambda kv: -kv[1]):
        out.print(f"  {n:5}  {code_id}", highlight=False)
    if report.advice:
        err.print(f"[yellow]{report.advice}[/yellow]", highlight=False)


@app.command()
@friendly
def evaluate(
    codebook: Annotated[Path, typer.Option(help="Codebook YAML.")],
    test: Annotated[Path, typer.Option(help="Gold-standard coded-segments table (.csv/.xlsx).")],
    train: Annotated[Optional[Path], typer.Option(
        help="Coded-segments table to learn from; without it, the codebook alone.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON.")
                        ] = None,
    simulate: Annotated[bool, typer.Option(
        "--simulate", help="Replay a researcher reviewing suggestions against the gold, "
                           "retraining at checkpoints; figures on the transcripts not yet "
                           "reviewed.")] = False,
    checkpoints: Annotated[Optional[str], typer.Option(
        help="With --simulate: decision counts to retrain and measure at "
             "(default 0,25,50,100,200,400,800).")] = None,
    suggesters: Annotated[Optional[str], typer.Option(
        help="With --simulate: comma-separated rules, semantic, learned (default: all).")
                          ] = None,
    seed: Annotated[Optional[int], typer.Option(
        help="With --simulate: seed of the order transcripts are opened in (default 0).")
                    ] = None,
    embeddings: EmbeddingsOpt = None,
) -> None:
    """Measure the suggesters against a gold-standard table: precision, recall, F1, kappa."""
    from .codebook import load_codebook
    from .codedtable import read_coded_table
    from .embed import Embedder, embedding_model, embeddings_for
    from .evaluate import evaluate as run
    from .evaluate import format_evaluation, write_json

    if json_out:
        _check_output_here(json_out)  # never over the current folder's project
    embedding_model(embeddings)  # an unknown name is refused before any work
    if simulate or checkpoints is not None or suggesters is not None or seed is not None:
        return _simulate(codebook, test, train, json_out, simulate, checkpoints, suggesters,
                         seed, embeddings)
    book = load_codebook(codebook)
    test_docs = read_coded_table(test)
    train_docs = read_coded_table(train) if train else []
    embedder = Embedder(embeddings=embeddings or embeddings_for(book.language))
    result = _run_with_bar("Evaluating", lambda cb: run(book, test_docs, train_docs,
                                                        embedder, progress=cb))
    out.print(format_evaluation(result), highlight=False)
    if json_out:
        write_json(result, json_out)
        out.print(f"Wrote {json_out}")


def _simulate(codebook: Path, test: Path, train: Optional[Path], json_out: Optional[Path],
              simulate: bool, checkpoints: Optional[str], suggesters: Optional[str],
              seed: Optional[int], embeddings: Optional[str]) -> None:
    """`qualkit evaluate --simulate`: replay a researcher against the gold table."""
    from .codedtable import read_coded_table
    from .errors import QualkitError
    from .simulate import (
        CHECKPOINTS,
        SUGGESTERS,
        format_simulation,
        parse_checkpoints,
        parse_suggesters,
        write_json,
    )
    from .simulate import simulate as replay

    if not simulate:
        raise QualkitError("--checkpoints, --suggesters and --seed go with --simulate",
                           hint="add --simulate, or leave those options out")
    if train is not None:
        raise QualkitError("--train does not go with --simulate", field="--train",
                           hint="the replay learns only from the decisions it makes")
    marks = parse_checkpoints(checkpoints) if checkpoints is not None else CHECKPOINTS
    chosen = parse_suggesters(suggesters) if suggesters is not None else SUGGESTERS
    gold = read_coded_table(test)
    sim = _run_with_bar("Replaying", lambda cb: replay(codebook, gold, marks, chosen,
                                                       seed or 0, cb, embeddings=embeddings))
    out.print(format_simulation(sim), highlight=False)
    if json_out:
        write_json(sim, json_out)
        out.print(f"Wrote {json_out}")


topics_app = typer.Typer(help="Emergent themes: topics the codebook may lack.",
                         invoke_without_command=True)
app.add_typer(topics_app, name="topics")


@topics_app.callback()
@friendly
def topics(
    ctx: typer.Context,
    unassigned_only: Annotated[bool, typer.Option(
        help="Only passages without an accepted code.")] = False,
    min_topic_size: Annotated[Optional[int], typer.Option(
        help="Smallest topic (default: scaled to the corpus).")] = None,
    seed: Annotated[int, typer.Option(help="Random state, for reproducible runs.")] = 0,
    fast: Annotated[bool, typer.Option(
        help="PCA + k-means instead of UMAP + HDBSCAN (quick look).")] = False,
    show: Annotated[bool, typer.Option(help="Show the latest stored run instead.")] = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Run BERTopic over the participants' passages and list topics with their evidence."""
    if ctx.invoked_subcommand is not None:
        return
    from .errors import QualkitError
    from .topics import TopicSettings, latest_run, run_topics

    proj = _open(project, db)
    if show:
        run = latest_run(proj)
        if run is None:
            raise QualkitError("no topic run stored yet", hint="run `qualkit topics` first")
    else:
        settings = TopicSettings(unassigned_only=unassigned_only, min_topic_size=min_topic_size,
                                 seed=seed, fast=fast)
        actor = proj.actor(coder)
        run = _run_with_bar("Topics", lambda cb: run_topics(proj, settings, actor, cb))
    out.print(f"Topic run {run.id} ({run.created_at}): {len(run.topics)} topics over "
              f"{len(run.passages)} passages from {run.participants} transcripts")
    for t in run.topics:
        flag = f"  [bold]{t.hint}[/]" if t.hint else ""
        out.print(f"\n[bold]Topic {t.id}: {t.label}[/]{flag}")
        out.print(f"  {t.size} passages, {t.participants} of {run.participants} participants; "
                  f"{t.coded_share:.0%} already carry a code"
                  + (": " + ", ".join(f"{c} ({n})" for c, n in list(t.overlap.items())[:4])
                     if t.overlap else ""), highlight=False)
        out.print("  keywords: " + ", ".join(w for w, _ in t.keywords[:8]), highlight=False)
        for i in t.extracts[:3]:
            p = run.passages[i]
            out.print(f"  - {p.speaker} ({p.transcript}): “{p.text[:160]}”", highlight=False)
    out.print("\nPromote a topic to a code with: qualkit topics promote TOPIC_ID --name NAME")


@topics_app.command("promote")
@friendly
def topics_promote(
    topic_id: Annotated[int, typer.Argument(help="Topic number from the latest run.")],
    name: Annotated[Optional[str], typer.Option(help="Code name (default: from keywords).")
                    ] = None,
    code_id: Annotated[Optional[str], typer.Option("--id", help="Code id (slug).")] = None,
    parent: Annotated[Optional[str], typer.Option(help="Parent theme id.")] = None,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Add a topic to the codebook as a code and suggest it on the topic's passages."""
    from .errors import QualkitError
    from .topics import latest_run, promote

    proj = _open(project, db)
    run = latest_run(proj)
    if run is None:
        raise QualkitError("no topic run stored yet", hint="run `qualkit topics` first")
    code, added = promote(proj, run, topic_id, proj.actor(coder), name, code_id, parent)
    out.print(f"Added code {code.id!r} ({code.name}) to the codebook and {added} suggestions "
              "for review. Edit its definition before coding with it.")


@app.command()
@friendly
def agreement(
    table: Annotated[Optional[Path], typer.Argument(
        help="Coded-segments table with a coder column (default: the project's codings).")
    ] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Codebook YAML.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON.")
                        ] = None,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Agreement between coders: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha per code."""
    import json

    from .agreement import format_report, report_to_dict
    from .agreement.project import decision_coders, project_agreement, rows_agreement
    from .codebook import load_codebook
    from .codedtable import read_table_rows
    from .fileio import atomic_write_text

    if table is not None:
        if json_out:
            _check_output_here(json_out, project)
        book = load_codebook(codebook) if codebook else None
        rows = read_table_rows(table)
        report = rows_agreement(rows, book)
        coders = sorted({r.coder for r in rows} - {""})
    else:
        proj = _open(project, db)
        if json_out:
            proj.check_output(json_out)
        book = load_codebook(codebook) if codebook else proj.codebook_if_any()
        report = project_agreement(proj.store, book)
        coders = decision_coders(proj.store)
    if not report.units:
        from .errors import QualkitError

        who = ", ".join(coders) or "nobody"
        raise QualkitError(f"no segment was coded by two or more coders (coders: {who})",
                           path=str(table) if table else None,
                           hint="have two people code the same transcripts, each under "
                                "their own name with blind coding on in the app, or give a "
                                "coded-segments table with a coder column")
    out.print(format_report(report), highlight=False)
    if json_out:
        atomic_write_text(json_out, json.dumps(report_to_dict(report), indent=2) + "\n")
        out.print(f"Wrote {json_out}")


@app.command()
@friendly
def report(
    output: Annotated[Path, typer.Option("--output", "-o",
                                         help="FILE.md, FILE.html or FILE.docx")],
    format_: Annotated[Optional[str], typer.Option(
        "--format", help="md, html or docx (default: from the file name).")] = None,
    by: Annotated[str, typer.Option(
        help="Participant attribute to split coverage by (default: works_alone if present; "
             "'none' for no split).")] = "auto",
    include: Annotated[str, typer.Option(help=include_help(REPORT_INCLUDE))] = "accepted",
    extracts: Annotated[int, typer.Option(help="Representative extracts per code.")] = 3,
    pseudonymise: PseudonymiseOpt = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Write a theme summary report: themes, counts, extracts, charts and a methods appendix."""
    from .report import build_report, check_output, write_report

    kind = check_output(output, format_)  # fail on a bad name before any work
    proj = _open(project, db)
    proj.check_output(output)  # never over the project's own files
    summary = build_report(proj, include=include, by=by, extracts=extracts,
                           pseudonymiser=_pseudonymiser(proj, pseudonymise))
    written = write_report(summary, output, kind)
    for note in summary.notes:
        err.print(f"note: {note}", highlight=False)
    out.print(f"Wrote {written[0]}" + (f" (charts in {written[1].parent})"
                                       if len(written) > 1 else ""), highlight=False)
    _check_pseudonymised(proj, written, pseudonymise)


@codebook_app.command("check")
@friendly
def codebook_check(file: Annotated[Path, typer.Argument(help="Codebook YAML file.")]) -> None:
    """Validate a codebook and list every problem with its line and field."""
    from .codebook import load_codebook
    from .nlp import keyword_matching

    book = load_codebook(file)
    codes = book.all_codes()
    themes = sum(c.is_theme for c in codes)
    out.print(f"{file}: OK: {book.name!r} version {book.version}, {len(codes)} codes "
              f"({themes} themes); language {book.language}: "
              f"{keyword_matching(book.language)}", highlight=False)


@app.command()
@friendly
def status(
    project: ProjectOpt = None,
    db: DbOpt = None,
    list_: Annotated[bool, typer.Option("--list", help="List the transcripts.")] = False,
) -> None:
    """Show transcripts, segments, codes and codings by status."""
    from rich.table import Table

    proj = _open(project, db)
    counts = proj.store.status_counts()
    book = proj.codebook_if_any()
    out.print(f"Project: {proj.root.resolve()}")
    out.print(f"Codebook: {book.name + ' ' + book.version if book else '(none yet)'}"
              + (f", {len(book.all_codes())} codes" if book else ""))
    out.print(f"Embeddings: {EMBEDDINGS[proj.embeddings].label}")
    out.print(f"Transcripts: {counts['transcripts']}   Segments: {counts['segments']}")
    s = counts["by_status"]
    out.print(f"Codings: {s['suggested']} suggested, {s['accepted']} accepted, "
              f"{s['rejected']} rejected")
    if counts["by_code"]:
        table = Table("code", "suggested", "accepted", "rejected")
        per: dict[str, dict[str, int]] = {}
        for code_id, st, n in counts["by_code"]:
            per.setdefault(code_id, {})[st] = n
        order = book.ids() if book else []
        for code_id in sorted(per, key=lambda c: (order.index(c) if c in order else 1e9, c)):
            row = per[code_id]
            table.add_row(code_id, *(str(row.get(k, 0)) for k in ("suggested", "accepted",
                                                                    "rejected")))
        out.print(table)
    if list_:
        for info in proj.store.transcripts():
            layout = f", {info.layout}" if info.layout else ""
            out.print(f"  {info.name}  ({info.segments} segments, {info.format}{layout})",
                      highlight=False)


@app.command()
@friendly
def embeddings(
    model: Annotated[Optional[str], typer.Argument(
        help="The model to use from now on: " + ", ".join(EMBEDDINGS) + ".")] = None,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Show or choose the project's embedding model (multilingual for a study not in English).
    The next `qualkit code` (or retraining in the app) uses it."""
    proj = _open(project, db)
    if model is not None:
        proj.set_embeddings(model, proj.actor(coder))
    for key, spec in EMBEDDINGS.items():
        mark = "*" if key == proj.embeddings else " "
        out.print(f"{mark} {spec.label}", highlight=False)
    if not proj.embeddings_chosen:
        out.print(f"(the model for the codebook's language, {proj.language}; choose one to keep "
                  "it whatever the language)", highlight=False)
    if model is not None:
        out.print("Run `qualkit code` to suggest with it (suggestions already made stay until "
                  "then).")


@app.command()
@friendly
def search(
    query: Annotated[str, typer.Argument(help="Words, a phrase or a regular expression.")],
    mode: Annotated[str, typer.Option(
        help="words (all in one turn), phrase, lemma (any form: worked alone finds work "
             "alone) or regex.")] = "phrase",
    case_sensitive: Annotated[bool, typer.Option(
        "--case-sensitive", help="Match case (words, phrase, regex).")] = False,
    role: Annotated[Optional[list[str]], typer.Option(
        help="Only turns of speakers with this role, e.g. participant (repeatable).")] = None,
    attr: Annotated[Optional[list[str]], typer.Option(
        help="Only participants with this attribute value, KEY=VALUE (repeatable).")] = None,
    transcript: Annotated[Optional[list[str]], typer.Option(
        "--transcript", "-t", help="Only these transcripts (repeatable).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many hits.", min=1)] = 1000,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Also write the hits to FILE.csv or FILE.xlsx.")] = None,
    code_id: Annotated[Optional[str], typer.Option(
        "--code", help="Code every hit with this code id, as your hand coding (one action, "
                       "undone in one step).")] = None,
    extent: Annotated[str, typer.Option(
        help="With --code: code the matched words (match), their sentence or the whole "
             "turn.")] = "match",
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Search the transcripts; print keyword-in-context lines, export or code the hits."""
    from .errors import QualkitError
    from .search import SearchQuery, hits_table
    from .search import search as run_search

    attributes: dict[str, str] = {}
    for item in attr or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise QualkitError(f"--attr {item!r} is not KEY=VALUE", field="--attr",
                               hint="e.g. --attr works_alone=yes")
        attributes[key.strip()] = value.strip()
    proj = _open(project, db)
    book = proj.codebook_if_any()
    q = SearchQuery(text=query, mode=mode, case_sensitive=case_sensitive,
                    roles=tuple(role or ()), attributes=attributes,
                    transcripts=tuple(transcript or ()),
                    language=book.language if book else "en")
    if output is not None:
        from .sheets import sheet_path

        proj.check_output(output)  # never over the project's own files
        sheet_path(output)
    actor = proj.actor(coder) if code_id else None
    book = proj.codebook_if_any() if code_id else None
    if code_id and book is not None and book.get(code_id) is None:
        raise QualkitError(f"no code {code_id!r} in the codebook", field="--code",
                           hint="`qualkit status` lists the codes in use")
    hits = run_search(proj.store, q, limit=limit + 1)
    more = len(hits) > limit
    hits = hits[:limit]
    for h in hits:
        out.print(f"{h.transcript}:{h.segment} {h.speaker}: ", end="", markup=False,
                  highlight=False, style="dim")
        out.print(h.left, end="", markup=False, highlight=False)
        out.print(" ".join(h.text.split()), end="", markup=False, highlight=False,
                  style="bold reverse")
        out.print(h.right, markup=False, highlight=False)
    out.print(f"{len(hits)} hit{'s' if len(hits) != 1 else ''}"
              + (f" (stopped at --limit {limit})" if more else ""),
              highlight=False)
    if output is not None:
        from .sheets import write_sheet

        write_sheet(hits_table(proj.store, hits), output, "search hits",
                    wrap=("left", "match", "right", "turn"))
        out.print(f"Wrote {len(hits)} hits to {output}", markup=False, highlight=False)
    if code_id and actor is not None:
        from .review import code_hits

        made = code_hits(proj.store, hits, code_id, actor, book, extent)
        skipped = len(hits) - len(made)
        name = book.display_name(code_id) if book else code_id
        out.print(f"Coded {len(made)} passages with {name} as {actor}"
                  + (f"; {skipped} already coded (skipped)" if skipped else "")
                  + ("; one undo takes them all back" if made else ""),
                  markup=False, highlight=False)


def _open_for_sheet(output: Path, include: str, project: Optional[Path], db: Optional[str]
                    ) -> tuple[Any, tuple[str, ...]]:
    """Check a spreadsheet export's file name and --include before any work, then open the
    project."""
    from .analysis import statuses_for
    from .sheets import sheet_path

    statuses = statuses_for(include)
    proj = _open(project, db)
    proj.check_output(output)  # never over the project's own files
    sheet_path(output)
    return proj, statuses


@export_app.command("table")
@friendly
def export_table(
    output: SheetOpt,
    include: IncludeOpt = "accepted",
    pseudonymise: PseudonymiseOpt = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the coded-segments table (one row per segment and coder)."""
    from .codedtable import write_coded_table
    from .tables import project_rows

    proj, statuses = _open_for_sheet(output, include, project, db)
    rows = project_rows(proj.store, statuses, _pseudonymiser(proj, pseudonymise))
    write_coded_table(rows, output)
    out.print(f"Wrote {len(rows)} rows to {output}")
    _check_pseudonymised(proj, [output], pseudonymise)


@export_app.command("extracts")
@friendly
def export_extracts(
    output: SheetOpt,
    include: IncludeOpt = "accepted",
    code: Annotated[Optional[str], typer.Option(
        help="Only this code (for a theme: it and the codes under it).")] = None,
    pseudonymise: PseudonymiseOpt = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the coded extracts: one row per coding, with code, theme, participant, text."""
    from .sheets import extracts_table, write_sheet

    proj, statuses = _open_for_sheet(output, include, project, db)
    table = extracts_table(proj.store, proj.codebook_if_any(), statuses, code,
                           _pseudonymiser(proj, pseudonymise))
    write_sheet(table, output, "coded extracts", wrap=("text", "memo"))
    out.print(f"Wrote {len(table)} extracts to {output}")
    _check_pseudonymised(proj, [output], pseudonymise)


@export_app.command("framework")
@friendly
def export_framework(
    output: SheetOpt,
    by: Annotated[Optional[str], typer.Option(
        help="Rows are the values of this participant attribute (default: one per "
             "transcript).")] = None,
    cells: Annotated[str, typer.Option(
        help="count (coded segments) or extracts (their text).")] = "count",
    include: IncludeOpt = "accepted",
    pseudonymise: PseudonymiseOpt = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the framework matrix: participants (or attribute values) x codes."""
    from .analysis import AnalysisData
    from .sheets import framework_table, write_sheet

    proj, statuses = _open_for_sheet(output, include, project, db)
    data = AnalysisData.from_store(proj.store, proj.codebook_if_any(), statuses)
    table = framework_table(data, by, cells, _pseudonymiser(proj, pseudonymise))
    wrap = list(table.columns[2:]) if cells == "extracts" else []
    write_sheet(table, output, "framework matrix", wrap=wrap, key_columns=2)
    out.print(f"Wrote a {len(table)} x {len(table.columns) - 2} framework matrix to {output}")
    _check_pseudonymised(proj, [output], pseudonymise)


@export_app.command("qdpx")
@friendly
def export_qdpx_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="FILE.qdpx")],
    include: Annotated[str, typer.Option(help=include_help(QDPX_INCLUDE))] = "accepted",
    pseudonymise: PseudonymiseOpt = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Export the project as a REFI-QDA .qdpx (NVivo, ATLAS.ti, MAXQDA, QualCoder)."""
    from .analysis import statuses_for
    from .exchange import export_qdpx

    statuses = statuses_for(include, QDPX_INCLUDE)
    proj = _open(project, db)
    proj.check_output(output)
    path = export_qdpx(proj, output, statuses, _pseudonymiser(proj, pseudonymise))
    out.print(f"Wrote {path}")
    _check_pseudonymised(proj, [path], pseudonymise)


@export_app.command("qdc")
@friendly
def export_qdc_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="FILE.qdc")],
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Export the project's codebook as a REFI-QDA .qdc."""
    from .exchange import export_qdc

    proj = _open(project, db)
    proj.check_output(output)
    out.print(f"Wrote {export_qdc(proj.codebook(check_patterns=False), output)}")


# -- pseudonyms: identifying strings replaced in exports ------------------------------------
pseudonyms_app = typer.Typer(help="The pseudonym table: names of participants, colleagues, "
                                  "places and employers, and what pseudonymised exports "
                                  "(--pseudonymise) put instead (docs/pseudonyms.md).",
                             no_args_is_help=True)
app.add_typer(pseudonyms_app, name="pseudonyms")
PSEUDONYMS_LEFT = 3  # exit status: the file was written, but identifying strings remain
OriginalsArg = Annotated[Optional[list[str]], typer.Argument(
    help="The identifying strings, as `qualkit pseudonyms list` shows them.")]


def _pseudonymiser(proj: Any, on: bool) -> Any:
    """The project's pseudonymiser for an export asked to pseudonymise, else None; a table
    with nothing in use is refused before any work (the export would not be pseudonymised)."""
    if not on:
        return None
    from .errors import QualkitError
    from .pseudonym import Pseudonymiser

    found = Pseudonymiser.of(proj.store)
    if not found:
        raise QualkitError("the pseudonym table has no names in use, so nothing would be "
                           "replaced; nothing was written", field="--pseudonymise",
                           hint="run `qualkit pseudonyms propose`, then `qualkit pseudonyms "
                                "accept`, or add names with `qualkit pseudonyms add`")
    return found


def _check_pseudonymised(proj: Any, written: list[Path], on: bool) -> None:
    """After a pseudonymised export: one warning line per identifying string still in it,
    and exit status 3 (the file is written; do not share it as it is)."""
    if on:
        from .pseudonym import check_files, load

        _report_left(check_files(written, load(proj.store)))


def _report_left(found: list[Any]) -> None:
    for occurrence in found:
        err.print(f"warning: still identifying: {occurrence}", highlight=False, markup=False)
    if found:
        err.print(f"{len(found)} identifying strings remain: check before sharing "
                  "(docs/pseudonyms.md)", highlight=False)
        raise typer.Exit(PSEUDONYMS_LEFT)


@pseudonyms_app.command("list")
@friendly
def pseudonyms_list(
    status: Annotated[Optional[str], typer.Option(
        help="Only entries with this status: use, proposed or ignore.")] = None,
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """List the pseudonym table: original -> replacement (status, where it came from)."""
    from .errors import QualkitError
    from .pseudonym import STATUSES, load

    if status is not None and status not in STATUSES:
        raise QualkitError(f"unknown status {status!r}", field="--status",
                           hint="use one of: " + ", ".join(STATUSES))
    entries = [p for p in load(_open(project, db).store) if status in (None, p.status)]
    if not entries:
        out.print("No entries: `qualkit pseudonyms propose` finds names, `qualkit pseudonyms "
                  "add` adds one.")
    for p in entries:
        out.print(f"  {p.original} -> {p.replacement}  ({p.status}, {p.origin})",
                  highlight=False, markup=False)


@pseudonyms_app.command("add")
@friendly
def pseudonyms_add(
    original: Annotated[str, typer.Argument(help="The name, place or employer to replace.")],
    replacement: Annotated[str, typer.Argument(help='What it becomes, e.g. "Participant 3" '
                                                    'or "[place 1]".')],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Add a name to replace (in use at once), or change an entry's replacement."""
    from .pseudonym import add_entry

    proj = _open(project, db)
    add_entry(proj.store, original, replacement, proj.actor(coder))
    out.print(f"{original} -> {replacement} (use)", highlight=False, markup=False)


@pseudonyms_app.command("propose")
@friendly
def pseudonyms_propose(
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Add speakers' names (in use) and candidates found in the transcripts (proposed)."""
    from .pseudonym import propose_project, seed_project

    proj = _open(project, db)
    actor = proj.actor(coder)
    seeded = seed_project(proj.store, actor)
    proposed = propose_project(proj.store, proj.codebook_if_any(), actor)
    out.print(f"{seeded} names from speakers and attributes, {proposed} further candidates "
              "added. Review them: `qualkit pseudonyms list --status proposed`, then "
              "`qualkit pseudonyms accept` or `ignore`.", highlight=False)


def _decide(status: str, originals: Optional[list[str]], every: bool, proj: Any,
            actor: str) -> int:
    from .errors import QualkitError
    from .pseudonym import PROPOSED, load

    names = list(originals or [])
    if every:
        names += [p.original for p in load(proj.store) if p.status == PROPOSED]
    elif not names:
        raise QualkitError("name the entries, or pass --all for every proposed one",
                           field="ORIGINALS")
    return int(proj.store.set_pseudonym_status(names, status, actor))


@pseudonyms_app.command("accept")
@friendly
def pseudonyms_accept(
    originals: OriginalsArg = None,
    every: Annotated[bool, typer.Option("--all", help="Every proposed entry.")] = False,
    as_: Annotated[Optional[str], typer.Option(
        "--as", help="Its replacement (one entry only).")] = None,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Accept proposed entries: replaced in pseudonymised exports from now on."""
    from .errors import QualkitError
    from .pseudonym import USE, add_entry

    proj = _open(project, db)
    actor = proj.actor(coder)
    if as_ is not None:
        if every or len(originals or []) != 1:
            raise QualkitError("--as gives one entry its replacement", field="--as",
                               hint="name exactly one entry")
        add_entry(proj.store, (originals or [""])[0], as_, actor)
        out.print(f"{(originals or [''])[0]} -> {as_} (use)", highlight=False, markup=False)
        return
    out.print(f"{_decide(USE, originals, every, proj, actor)} entries in use.")


@pseudonyms_app.command("ignore")
@friendly
def pseudonyms_ignore(
    originals: OriginalsArg = None,
    every: Annotated[bool, typer.Option("--all", help="Every proposed entry.")] = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Mark entries as not identifying: never replaced, never proposed again."""
    from .pseudonym import IGNORE

    proj = _open(project, db)
    out.print(f"{_decide(IGNORE, originals, every, proj, proj.actor(coder))} entries ignored.")


@pseudonyms_app.command("remove")
@friendly
def pseudonyms_remove(
    original: Annotated[str, typer.Argument(help="The entry's identifying string.")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Remove an entry from the table (propose may find it again; ignore keeps it out)."""
    proj = _open(project, db)
    proj.store.delete_pseudonym(original, proj.actor(coder))
    out.print(f"Removed {original!r}.", highlight=False, markup=False)


@pseudonyms_app.command("check")
@friendly
def pseudonyms_check(
    files: Annotated[list[Path], typer.Argument(
        help="Exports to check: .md .html .csv .txt .xlsx .docx .qdpx")],
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """List every identifying string (in use) still in exports; exit 3 if any."""
    from .pseudonym import check, load

    table = load(_open(project, db).store)
    found = [o for f in files for o in check(f, table)]  # another kind of file: one line
    _report_left(found)
    out.print(f"No identifying string from the table found in {len(files)} file(s).")


AddressOpt = Annotated[str, typer.Option(
    help="Address to listen on: 127.0.0.1 (this machine only) unless you mean to share it.")]
ServerDbOpt = Annotated[str, typer.Option(
    "--db", help="The project's database, as its owner: postgresql+psycopg://OWNER@HOST/DB.")]


@team_app.command("add")
@friendly
def team_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. alice.")],
    db: ServerDbOpt,
    lead: Annotated[bool, typer.Option(
        help="A lead may also change the codebook and the transcripts.")] = False,
    password_stdin: Annotated[bool, typer.Option(
        help="Read the new login's password from standard input instead of asking.")] = False,
) -> None:
    """Add a member (a new database login, or an existing one), as a coder or a lead."""
    import sys

    from .store import Store, without_login
    from .team import add_member, checked_role

    checked_role(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt(f"Password for {name} (empty: keep an existing login's)",
                                default="", hide_input=True, confirmation_prompt=True,
                                show_default=False)
    store = Store(db)
    try:
        add_member(store, name, password or None, lead)
    finally:
        store.close()
    out.print(f"{name} can now open the project as a {'lead' if lead else 'coder'}: "
              f"qualkit app --db {without_login(db)}")


@team_app.command("remove")
@friendly
def team_remove(name: Annotated[str, typer.Argument(help="Login name.")],
                db: ServerDbOpt) -> None:
    """Take a member out of the project (their login and their decisions stay)."""
    from .store import Store
    from .team import remove_member

    store = Store(db)
    try:
        remove_member(store, name)
    finally:
        store.close()
    out.print(f"{name} can no longer open the project; their decisions keep their name.")


@team_app.command("list")
@friendly
def team_list(db: ServerDbOpt) -> None:
    """The project's members and what each may do."""
    from .store import Store
    from .team import members

    store = Store(db)
    try:
        found = members(store)
    finally:
        store.close()
    for m in found:
        out.print(f"  {m.name:20} {'lead' if m.lead else 'coder'}", highlight=False)
    out.print(f"{len(found)} members")


@app.command()
@friendly
def upgrade(
    project: ProjectOpt = None,
    db: DbOpt = None,
    backup: Annotated[bool, typer.Option(
        help="Back the database up first (pg_dump on a server; a SQLite project always "
             "is).")] = True,
) -> None:
    """Bring a project's database up to this release's schema, after a backup."""
    from .migrate import backup_postgres, schema_current
    from .store import Store, sqlite_path

    root = (project or Path.cwd()).resolve()
    url = db or f"sqlite:///{root / 'qualkit.db'}"
    if db is None and not (root / "qualkit.db").exists():
        from .errors import StoreError

        raise StoreError("no qualkit project here", path=str(root),
                         hint="pass --project PATH or --db URL")
    if backup and sqlite_path(url) is None and not schema_current(url):
        out.print(f"Backed up to {backup_postgres(url, root)}")
    store = Store(url, allow_server_upgrade=True)
    try:
        if store.backup:
            out.print(f"Backed up to {store.backup}")
        from .team import has_team, setup

        if has_team(store):  # new tables get the team's grants and policies too
            setup(store)
        from .migrate import head

        out.print(f"The project's schema is up to date (revision {head()}).")
    finally:
        store.close()


OpenOpt = Annotated[Optional[bool], typer.Option(
    "--open/--no-open", help="Open the app in your browser (default: when there is a display).")]


@app.command("app")
@friendly
def app_(
    project: ProjectOpt = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    address: AddressOpt = "127.0.0.1",
    open_browser: OpenOpt = None,
    db: Annotated[Optional[str], typer.Option(
        "--db", help="The project's database on a server, e.g. postgresql+psycopg://HOST/DB. "
                     "Without a login in the URL, the app asks each person to sign in with "
                     "their own database login (a team project).")] = None,
) -> None:
    """Start the browser app on the project (on 127.0.0.1 only, unless --address says)."""
    from .project import open_project
    from .store import asks_login

    root = (project or Path.cwd()).resolve()
    if not asks_login(db):
        open_project(root, db).close()  # fail here, clearly, if there is no project
    _serve(root, port, address, open_browser, db)


def _serve(root: Path, port: int, address: str, open_browser: bool | None,
           db: str | None = None) -> None:
    from .serve import serve
    from .store import mask_url

    where = mask_url(db, db) if db else root
    out.print(f"Starting the app on http://{address}:{port} for {where} (Ctrl+C to stop)")
    code = serve(root, port, address, open_browser,
                 on_ready=lambda url: out.print(f"The app is ready at {url}"), db_url=db)
    if code not in (0, None):
        raise typer.Exit(code)


@app.command()
@friendly
def demo(
    project: Annotated[Path, typer.Option(help="Where to build the sample project.")] = Path(
        "sample_project"),
    serve: Annotated[bool, typer.Option(help="Start the app when done.")] = True,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    address: AddressOpt = "127.0.0.1",
    open_browser: OpenOpt = None,
    suggesters: SuggestersOpt = ALL_SUGGESTERS,
) -> None:
    """Build a coded project from the sample study and the keyworker codebook, then open it."""
    from .bundled import sample_transcripts
    from .pipeline import code_project, import_paths
    from .project import default_actor, init_project

    chosen = suggesters_registry.chosen(suggesters)
    actor = default_actor()
    proj = init_project(project, "keyworker", actor)
    imported = _run_with_bar("Importing", lambda cb: import_paths(
        proj, [sample_transcripts()], actor, cb))
    for line in imported.errors:
        err.print(f"[bold red]error:[/] {line}", highlight=False)
    coded = _run_with_bar("Coding", lambda cb: code_project(proj, None, actor, cb, chosen))
    out.print(f"Sample project in {proj.root.resolve()}: {imported.added} transcripts added "
              f"({imported.unchanged} already there), {coded.suggestions} new suggestions")
    proj.close()
    if serve:
        _serve(proj.root.resolve(), port, address, open_browser)


transcript_app = typer.Typer(help="Delete, rename or replace a transcript; its layout; "
                                   "participant attributes and speaker roles.",
                             no_args_is_help=True)
app.add_typer(transcript_app, name="transcript")
NameArg = Annotated[str, typer.Argument(help="The transcript's name (qualkit status --list).")]


@transcript_app.command("delete")
@friendly
def transcript_delete(
    name: NameArg,
    force: Annotated[bool, typer.Option(
        "--force", help="Delete it even though people's codings or memos are on it.")] = False,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Delete a transcript with its codings and memos (people's work on it needs --force)."""
    from .sources import delete_transcript

    proj = _open(project, db)
    out.print(delete_transcript(proj.store, name, proj.actor(coder), force).summary(),
              highlight=False)


@transcript_app.command("rename")
@friendly
def transcript_rename(
    old: NameArg,
    new: Annotated[str, typer.Argument(help="The new name.")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Rename a transcript."""
    from .sources import rename_transcript

    proj = _open(project, db)
    done = rename_transcript(proj.store, old, new, proj.actor(coder))
    out.print(f"Renamed {old!r} to {done!r}.", highlight=False)


@transcript_app.command("replace")
@friendly
def transcript_replace(
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="The corrected transcript file.")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Replace a transcript with a corrected file; codings follow their text, the lost listed."""
    from .sources import replace_transcript

    proj = _open(project, db)
    out.print(replace_transcript(proj, name, file, proj.actor(coder)).summary(),
              highlight=False)


@transcript_app.command("layout")
@friendly
def transcript_layout(
    name: NameArg,
    layout: Annotated[str, typer.Argument(help="transcript (speaker turns) or document "
                                               "(paragraphs).")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Cut a transcript again as speaker turns or paragraphs; its codings are kept."""
    from .sources import set_layout

    proj = _open(project, db)
    out.print(set_layout(proj.store, name, layout, proj.actor(coder)).summary(),
              highlight=False)


@transcript_app.command("set")
@friendly
def transcript_set(
    name: NameArg,
    values: Annotated[list[str], typer.Argument(
        help="KEY=VALUE participant attributes (KEY= removes one).")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Set participant attributes of a transcript."""
    from .sources import parse_assignments, set_attributes

    changes = parse_assignments(values)
    proj = _open(project, db)
    after = set_attributes(proj.store, name, changes, proj.actor(coder))
    out.print(f"{name}: " + (", ".join(f"{k}={v}" for k, v in after.items()) or
                             "no attributes"), highlight=False)


@transcript_app.command("role")
@friendly
def transcript_role(
    name: NameArg,
    speaker: Annotated[str, typer.Argument(help="The speaker's label, as in the transcript.")],
    role: Annotated[str, typer.Argument(help="interviewer, participant, or a role your "
                                             "codebook names.")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Set a speaker's role on all their turns (suggestions no longer in scope go)."""
    from .sources import set_role

    proj = _open(project, db)
    report = set_role(proj.store, name, speaker, role, proj.actor(coder),
                      proj.codebook_if_any())
    out.print(report.summary(), highlight=False)


@transcript_app.command("attributes")
@friendly
def transcript_attributes(
    file: Annotated[Path, typer.Argument(help="FILE.csv or FILE.xlsx, one row per "
                                              "participant.")],
    id_column: Annotated[str, typer.Option(
        "--id-column", help="The column naming each row's participant (matched to the "
                            "participant attribute, or the transcript name).")] = "participant",
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Import participant attributes for every transcript from a spreadsheet."""
    from .sources import import_attributes

    proj = _open(project, db)
    report = import_attributes(proj.store, file, proj.actor(coder), id_column)
    out.print(report.summary(), highlight=False)


media_app = typer.Typer(help="Recordings (audio or video) of transcripts: a turn with a "
                             "timestamp plays from that moment in the app.", no_args_is_help=True)
app.add_typer(media_app, name="media")


@media_app.command("attach")
@friendly
def media_attach(
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="The recording (.mp3 .m4a .wav .ogg .flac .webm "
                                              ".mp4 .mov ...).")],
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Attach a recording to a transcript (replacing the one it had)."""
    from .media import attach

    proj = _open(project, db)
    info = attach(proj.store, name, file, proj.actor(coder))
    out.print(f"Attached {info.name} ({info.mime}, {info.size / 1024 ** 2:,.1f} MB) to "
              f"{name!r}.", highlight=False)


@media_app.command("list")
@friendly
def media_list(project: ProjectOpt = None, db: DbOpt = None) -> None:
    """List the transcripts' recordings."""
    proj = _open(project, db)
    infos = proj.store.media_list()
    if not infos:
        out.print("No recordings: `qualkit media attach TRANSCRIPT FILE` adds one.")
    for i in infos:
        out.print(f"  {i.transcript}: {i.name} ({i.mime}, {i.size / 1024 ** 2:,.1f} MB, "
                  f"sha256 {i.sha256[:12]}, added by {i.actor})", highlight=False)


@media_app.command("remove")
@friendly
def media_remove(
    name: NameArg,
    project: ProjectOpt = None,
    db: DbOpt = None,
    coder: CoderOpt = None,
) -> None:
    """Remove a transcript's recording (the transcript and its codings stay)."""
    from .media import remove

    proj = _open(project, db)
    info = remove(proj.store, name, proj.actor(coder))
    out.print(f"Removed the recording {info.name} of {name!r}.", highlight=False)


@media_app.command("export")
@friendly
def media_export(
    name: NameArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    project: ProjectOpt = None,
    db: DbOpt = None,
) -> None:
    """Write a transcript's recording to a file."""
    from .media import export

    proj = _open(project, db)
    proj.check_output(output)
    info = export(proj.store, name, output)
    out.print(f"Wrote {info.name} of {name!r} to {output}.", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
