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


LAYOUT_LABELS = {"auto": "Decide from the text", "transcript": "Speaker turns (a transcript)",
                 "document": "Paragraphs (a paper, notes: no speakers)"}


def _import(ctx, files, layout: str = "auto") -> None:
    """Import the uploads, then suggest codes on what was added (when there is a codebook), so
    new transcripts arrive ready for review. Messages name the uploaded files, never the
    server's temporary folder; some files failing does not hide that the others came in."""
    from qualkit.fileio import save_upload
    from qualkit.pipeline import code_project, import_paths

    with tempfile.TemporaryDirectory() as tmp:
        # Each in a fresh folder under a cleaned name: the transcript is named after its file.
        paths = [save_upload(tmp, f.name, f.getvalue(), keep_name=True) for f in files]
        bar, update = _progress_bar("Importing…")
        report = import_paths(ctx.project, paths, ctx.coder or "app", update, layout=layout)
        bar.empty()
        problems = [_named(error, paths, files, tmp) for error in report.errors]
    added = [o.name for o in report.outcomes if o.status == "added"]
    message = f"{report.added} added, {report.unchanged} already in the project."
    advice = ""  # the interviews do not look English and the model is English's
    if added and ctx.codebook is not None:
        bar, update = _progress_bar("Suggesting codes for the new transcripts…")
        try:
            coded = code_project(ctx.project, added, actor=ctx.coder or "app",
                                 progress=update)
            message += f" {coded.suggestions} suggestions are ready for review."
            advice = coded.advice
            if advice:
                message += f" {advice}"
        except QualkitError as exc:
            problems.append(f"suggestions could not be made: {exc}")
        bar.empty()
    if problems:
        failed = "Not imported: " + " ".join(problems)
        flash(f"{message} {failed}" if report.added else failed,
              "warning" if report.added else "error")
    else:
        flash(message, "warning" if advice else "success")


def _named(error: str, paths: list[Path], files, tmp: str) -> str:
    """An import error with each temporary path replaced by the name the file was uploaded
    under (and any other mention of the temporary folder removed)."""
    for path, upload in zip(paths, files):
        error = error.replace(str(path), upload.name)
    return error.replace(str(Path(tmp)) + "/", "").replace(str(Path(tmp)), "")


REPORT_FORMATS = {"Word (.docx)": "docx", "Web page (.html)": "html"}


def _report_download(ctx) -> None:
    """The theme summary report (as `qualkit report`), built on request and downloaded."""
    from qualkit.report.build import INCLUDE_CHOICES

    st.subheader("Theme summary report")
    if ctx.codebook is None:
        st.caption("A report needs a codebook.")
        return
    left, middle, right = st.columns(3)
    kind = left.selectbox("Format", list(REPORT_FORMATS), key="report_format")
    include = middle.selectbox("Codings", list(INCLUDE_CHOICES), key="report_include",
                               help="accepted: decisions only; all: pending suggestions too")
    from qualkit.ui.pseudonyms_page import pseudonymise_choice, warn_left

    pseudonymiser = pseudonymise_choice(ctx, "report_pseudonymise")
    if right.button("Prepare the report", key="report_make"):
        from qualkit.report import build_report
        from qualkit.report.write import write_report

        fmt = REPORT_FORMATS[kind]
        with st.spinner("Writing the report…"), tempfile.TemporaryDirectory() as tmp:
            try:
                [path, *_] = write_report(build_report(ctx.project, include=include,
                                                       pseudonymiser=pseudonymiser),
                                          Path(tmp) / f"themes.{fmt}", fmt)
            except QualkitError as exc:
                st.error(str(exc))
                return
            warn_left(ctx, [path], pseudonymiser)
            st.session_state["report_file"] = (f"themes.{fmt}", path.read_bytes())
    if "report_file" in st.session_state:
        name, data = st.session_state["report_file"]
        st.download_button(f"Download {name}", data, file_name=name, key="report_download")


def _set_codebook(ctx, data: bytes, name: str) -> None:
    from qualkit.embed import EMBEDDINGS
    from qualkit.fileio import save_upload

    model = ctx.project.embeddings
    with tempfile.TemporaryDirectory() as tmp:
        path = save_upload(tmp, name, data)  # never the client's name as a path
        book = ctx.project.set_codebook(path, ctx.coder or "app")
    chosen = ctx.project.embeddings
    flash(f"Codebook set: {book.name} {book.version}." + (
        f" Its language is {book.language}, not English: embedding model "
        f"{EMBEDDINGS[chosen].label} (Batch coding below)." if chosen != model else ""))


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
    layout = st.radio("Cut transcripts into", list(LAYOUT_LABELS), horizontal=True,
                      format_func=LAYOUT_LABELS.__getitem__, key="import_layout")
    if files and st.button("Import", type="primary"):
        _import(ctx, files, layout)
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
    from qualkit.embed import EMBEDDINGS
    from qualkit.suggest.registry import SUGGESTERS

    now = ctx.project.embeddings  # no widget key: the radio follows a change made elsewhere
    model = st.radio("Embedding model", list(EMBEDDINGS), index=list(EMBEDDINGS).index(now),
                     format_func=lambda k: EMBEDDINGS[k].label, horizontal=True,
                     help="multilingual for interviews not in English; the next run of the "
                          "suggesters (or retraining) uses it.")
    if not ctx.project.embeddings_chosen:
        st.caption(f"The model for the codebook's language ({ctx.project.language}); choosing "
                   "one keeps it whatever the language.")
    if model != now:
        try:
            ctx.project.set_embeddings(model, ctx.coder or "app")
            flash(f"Embedding model: {EMBEDDINGS[model].label}. Run the suggesters to use it.")
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()

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
                  "suggestions." + (f" {report.advice}" if report.advice else ""),
                  "warning" if report.advice else "success")
        except QualkitError as exc:
            flash(str(exc), "error")
        bar.empty()
        st.rerun()

    st.subheader("Downloads")
    from qualkit.analysis import INCLUDE, statuses_for

    include = st.radio("Codings", list(INCLUDE), horizontal=True,
                       help="; ".join(f"{k}: {v.description}" for k, v in INCLUDE.items()))
    statuses = statuses_for(include)
    from qualkit.ui.pseudonyms_page import pseudonymise_choice, warn_left

    table_pseudonymiser = pseudonymise_choice(ctx, "table_pseudonymise")
    if st.button("Prepare coded-segments table"):
        from qualkit.codedtable import write_coded_table
        from qualkit.tables import project_rows

        with tempfile.TemporaryDirectory() as tmp:
            for ext in ("csv", "xlsx"):
                path = Path(tmp) / f"coded_segments.{ext}"
                write_coded_table(project_rows(ctx.store, statuses, table_pseudonymiser), path)
                warn_left(ctx, [path], table_pseudonymiser)
                st.session_state[f"download_{ext}"] = path.read_bytes()
    for ext, mime in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-"
                                                    "officedocument.spreadsheetml.sheet")):
        if f"download_{ext}" in st.session_state:
            st.download_button(f"Download coded_segments.{ext}",
                               st.session_state[f"download_{ext}"],
                               file_name=f"coded_segments.{ext}", mime=mime)

    _report_download(ctx)

    st.subheader("Recent changes")
    events = ctx.store.events(15)
    st.dataframe([{"when": e.at.strftime("%Y-%m-%d %H:%M"), "who": e.actor, "what": e.action,
                   "on": f"{e.entity} {e.entity_id}"} for e in events], hide_index=True)

    _transcripts(ctx)


ROLES = ("participant", "interviewer")


def _transcripts(ctx) -> None:
    """Rename, delete or replace a transcript; its attributes and speaker roles; attributes for
    every participant from a sheet. Library calls only (qualkit.sources)."""
    from qualkit import sources

    st.subheader("Transcripts")
    infos = ctx.store.transcripts()
    if not infos:
        st.caption("No transcripts yet: import some above.")
        return
    if "src_pick_next" in st.session_state:  # after a rename: show it under its new name
        st.session_state["src_pick"] = st.session_state.pop("src_pick_next")
    names = [i.name for i in infos]
    if st.session_state.get("src_pick") not in names:
        st.session_state.pop("src_pick", None)
    name = st.selectbox("Transcript", names, key="src_pick")
    info = next(i for i in infos if i.name == name)
    actor = ctx.coder or "app"
    transcript = ctx.store.load_transcript(name)

    st.markdown("**Participant attributes**")
    st.caption(", ".join(f"{k}: {v}" for k, v in info.attributes.items()) or "None yet.")
    if st.toggle("Edit attributes", key=f"src_attrs_edit_{name}"):
        _attributes(ctx, name, info.attributes, actor)

    st.markdown("**Speakers**")
    current = sources.speakers(transcript)
    chosen: dict[str, str] = {}
    for i, (speaker, role) in enumerate(current.items()):
        options = list(ROLES) + ([role] if role not in ROLES else [])
        chosen[speaker] = st.selectbox(speaker or "(no label)", options,
                                       index=options.index(role), key=f"src_role_{name}_{i}")
    if st.button("Save roles", key=f"src_roles_{name}"):
        said = []
        try:
            for speaker, role in chosen.items():
                if role != current[speaker]:
                    said.append(sources.set_role(ctx.store, name, speaker, role, actor,
                                                 ctx.codebook).summary())
            flash(" ".join(said) or "No role was changed.")
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()

    st.markdown("**Layout**")
    now = ctx.store.load_transcript(name).layout or "transcript"
    choices = ["transcript", "document"]
    picked = st.radio(f"Read as (now: {LAYOUT_LABELS[now].lower()})", choices,
                      index=choices.index(now) if now in choices else 0, horizontal=True,
                      format_func=LAYOUT_LABELS.__getitem__, key=f"src_layout_{name}")
    if st.button("Change layout", key=f"src_layout_go_{name}", disabled=picked == now):
        try:
            flash(sources.set_layout(ctx.store, name, picked, actor).summary())
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()

    st.markdown("**Rename**")
    new_name = st.text_input("New name", value=name, key=f"src_name_{name}")
    if st.button("Rename", key=f"src_rename_{name}"):
        try:
            done = sources.rename_transcript(ctx.store, name, new_name, actor)
            st.session_state["src_pick_next"] = done
            flash(f"Renamed {name} to {done}.")
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()

    st.markdown("**Replace with a corrected file**")
    from qualkit.readers import READERS, TRANSCRIPTS

    kinds = [ext.lstrip(".") for ext, r in READERS.items() if r.kind == TRANSCRIPTS]
    upload = st.file_uploader("The corrected transcript: codings stay with their text; those "
                              "whose text is gone are listed", type=kinds,
                              key=f"src_file_{name}")
    if upload is not None and st.button("Replace", key=f"src_replace_{name}"):
        _replace(ctx, name, upload, actor)
        st.rerun()

    st.markdown("**Delete**")
    mine = ctx.store.codings(name)
    people = sum(c.status != "suggested" for c in mine)
    sure = st.checkbox(f"Yes, delete {name} with its {len(mine)} codings ({people} made by "
                       "people) and its memos", key=f"src_sure_{name}")
    if st.button("Delete transcript", disabled=not sure, key=f"src_delete_{name}"):
        try:
            flash(sources.delete_transcript(ctx.store, name, actor, force=True).summary())
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()

    st.markdown("**Attributes for every participant from a sheet**")
    sheet = st.file_uploader("A .csv or .xlsx sheet with one row per participant",
                             type=["csv", "xlsx"], key="src_sheet")
    column = st.text_input("Column naming the participant (or the transcript)",
                           value="participant", key="src_sheet_column")
    if sheet is not None and st.button("Import attributes", key="src_sheet_go"):
        from qualkit.fileio import save_upload

        with tempfile.TemporaryDirectory() as tmp:
            path = save_upload(tmp, sheet.name, sheet.getvalue())
            try:
                report = sources.import_attributes(ctx.store, path, actor, column)
                lines = report.summary().splitlines()
                flash("  \n".join(lines), "warning" if len(lines) > 1 else "success")
            except QualkitError as exc:
                flash(_named(str(exc), [path], [sheet], tmp), "error")
        st.rerun()


def _attributes(ctx, name: str, attributes: dict, actor: str) -> None:
    import pandas as pd

    from qualkit import sources

    table = pd.DataFrame({"attribute": list(attributes),
                          "value": ["" if v is None else str(v) for v in attributes.values()]},
                         columns=["attribute", "value"], dtype="object")
    edited = st.data_editor(table, num_rows="dynamic", hide_index=True,
                            key=f"src_attrs_{name}", width="stretch")
    if st.button("Save attributes", key=f"src_attrs_save_{name}"):
        values: dict[str, object] = {}
        for key, value in zip(edited["attribute"], edited["value"]):
            key = "" if key is None or pd.isna(key) else str(key).strip()
            if not key:
                continue
            text = "" if value is None or pd.isna(value) else str(value)
            old = attributes.get(key)
            # an unchanged value keeps its type (a number stays a number)
            values[key] = old if old is not None and str(old) == text else text
        for key in attributes:
            if key not in values:
                values[key] = None  # its row was deleted
        try:
            sources.set_attributes(ctx.store, name, values, actor)
            flash(f"Attributes of {name} saved.")
        except QualkitError as exc:
            flash(str(exc), "error")
        st.rerun()


def _replace(ctx, name: str, upload, actor: str) -> None:
    from qualkit.fileio import save_upload
    from qualkit.sources import replace_transcript

    with tempfile.TemporaryDirectory() as tmp:
        path = save_upload(tmp, upload.name, upload.getvalue())  # never the client's name
        try:
            report = replace_transcript(ctx.project, name, path, actor, source=upload.name)
        except QualkitError as exc:
            flash(_named(str(exc), [path], [upload], tmp), "error")
            return
    book = ctx.codebook
    lines = [f"{name} now has the corrected text ({report.turns} turns): {report.kept} codings "
             f"kept, {report.moved} of them moved to where their text now is."]
    if report.lost:
        lines.append(f"{len(report.lost)} codings could not be kept because their text is no "
                     "longer there:")
        for c in report.lost:
            code = book.display_name(c.code) if book is not None else c.code
            lines.append(f"- {code}, by {c.coder} ({c.status}): “{' '.join(c.text.split())}”")
    if report.suggestions_removed:
        lines.append(f"{report.suggestions_removed} suggestions on text that is gone were "
                     "removed; run the suggesters again to update them.")
    lines.extend(report.notes)
    flash("  \n".join(lines), "warning" if report.lost else "success")
