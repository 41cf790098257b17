"""Project: import transcripts, choose the codebook, run batch coding, download exports."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from qualkit.errors import QualkitError
from qualkit.ui.common import flash, load_context, show_flash

REPO = Path(__file__).resolve().parent.parent


def _progress_bar(text: str):
    bar = st.progress(0.0, text=text)

    def update(done: int, total: int, item: str) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0,
                     text=f"{text} {item}" if item else text)

    return bar, update


def _import(ctx, files) -> None:
    """Import the uploads, then suggest codes on what was added (when there is a codebook), so
    new transcripts arrive ready for review. Messages name the uploaded files, never the
    server's temporary folder; some files failing does not hide that the others came in."""
    from qualkit.fileio import save_upload
    from qualkit.pipeline import code_project, import_paths

    with tempfile.TemporaryDirectory() as tmp:
        # Each in a fresh folder under a cleaned name: the transcript is named after its file.
        paths = [save_upload(tmp, f.name, f.getvalue(), keep_name=True) for f in files]
        bar, update = _progress_bar("Importing…")
        report = import_paths(ctx.project, paths, ctx.coder or "app", update)
        bar.empty()
        problems = [_named(error, paths, files, tmp) for error in report.errors]
    added = [o.name for o in report.outcomes if o.status == "added"]
    message = f"{report.added} added, {report.unchanged} already in the project."
    if added and ctx.codebook is not None:
        bar, update = _progress_bar("Suggesting codes for the new transcripts…")
        try:
            coded = code_project(ctx.project, added, actor=ctx.coder or "app",
                                 progress=update)
            message += f" {coded.suggestions} suggestions are ready for review."
        except QualkitError as exc:
            problems.append(f"suggestions could not be made: {exc}")
        bar.empty()
    if problems:
        failed = "Not imported: " + " ".join(problems)
        flash(f"{message} {failed}" if report.added else failed,
              "warning" if report.added else "error")
    else:
        flash(message)


def _named(error: str, paths: list[Path], files, tmp: str) -> str:
    """An import error with each temporary path replaced by the name the file was uploaded
    under (and any other mention of the temporary folder removed)."""
    for path, upload in zip(paths, files):
        error = error.replace(str(path), upload.name)
    return error.replace(str(Path(tmp)) + "/", "").replace(str(Path(tmp)), "")


def _set_codebook(ctx, data: bytes, name: str) -> None:
    from qualkit.fileio import save_upload

    with tempfile.TemporaryDirectory() as tmp:
        path = save_upload(tmp, name, data)  # never the client's name as a path
        book = ctx.project.set_codebook(path, ctx.coder or "app")
    flash(f"Codebook set: {book.name} {book.version}.")


def render() -> None:
    ctx = load_context()
    st.title("Project")
    show_flash()
    counts = ctx.store.status_counts()
    st.caption(f"{ctx.project.root} · {counts['transcripts']} transcripts, "
               f"{counts['segments']} turns · codings: {counts['by_status']['suggested']} "
               f"suggested, {counts['by_status']['accepted']} accepted, "
               f"{counts['by_status']['rejected']} rejected")

    st.subheader("Import transcripts")
    from qualkit.readers import describe_formats, supported_extensions

    files = st.file_uploader(describe_formats().capitalize(), accept_multiple_files=True,
                             type=[ext.lstrip(".") for ext in supported_extensions()])
    if files and st.button("Import", type="primary"):
        _import(ctx, files)
        st.rerun()

    st.subheader("Codebook")
    st.write(f"Current: **{ctx.codebook.name} {ctx.codebook.version}**" if ctx.codebook
             else "No codebook yet.")
    shipped = sorted((REPO / "codebooks").glob("*.yaml"))
    options = {p.name: p for p in shipped}
    pick = st.selectbox("Use a codebook from codebooks/", ["—"] + list(options))
    upload = st.file_uploader("…or upload a codebook (.yaml)", type=["yaml", "yml"])
    if st.button("Set codebook"):
        try:
            if upload is not None:
                _set_codebook(ctx, upload.getvalue(), upload.name)
            elif pick in options:
                _set_codebook(ctx, options[pick].read_bytes(), pick)
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()

    st.subheader("Batch coding")
    from qualkit.suggest.registry import SUGGESTERS

    chosen = st.multiselect("Suggesters", list(SUGGESTERS), default=list(SUGGESTERS),
                            format_func=lambda n: f"{n}: {SUGGESTERS[n].description}",
                            help="The rules always run: the others add to them.")
    if st.button("Run suggesters on all transcripts", disabled=ctx.codebook is None):
        from qualkit.pipeline import code_project

        bar, update = _progress_bar("Coding…")
        try:
            report = code_project(ctx.project, actor=ctx.coder or "app", progress=update,
                                  suggesters=tuple(chosen))
            flash(f"{report.transcripts} transcripts coded; {report.suggestions} new "
                  "suggestions.")
        except QualkitError as exc:
            flash(str(exc), "error")
        bar.empty()
        st.rerun()

    st.subheader("Downloads")
    from qualkit.analysis import INCLUDE, statuses_for

    include = st.radio("Codings", list(INCLUDE), horizontal=True,
                       help="; ".join(f"{k}: {v.description}" for k, v in INCLUDE.items()))
    statuses = statuses_for(include)
    if st.button("Prepare coded-segments table"):
        from qualkit.codedtable import write_coded_table
        from qualkit.tables import project_rows

        with tempfile.TemporaryDirectory() as tmp:
            for ext in ("csv", "xlsx"):
                path = Path(tmp) / f"coded_segments.{ext}"
                write_coded_table(project_rows(ctx.store, statuses), path)
                st.session_state[f"download_{ext}"] = path.read_bytes()
    for ext, mime in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-"
                                                    "officedocument.spreadsheetml.sheet")):
        if f"download_{ext}" in st.session_state:
            st.download_button(f"Download coded_segments.{ext}",
                               st.session_state[f"download_{ext}"],
                               file_name=f"coded_segments.{ext}", mime=mime)

    st.subheader("Recent changes")
    events = ctx.store.events(15)
    st.dataframe([{"when": e.at.strftime("%Y-%m-%d %H:%M"), "who": e.actor, "what": e.action,
                   "on": f"{e.entity} {e.entity_id}"} for e in events], hide_index=True)
