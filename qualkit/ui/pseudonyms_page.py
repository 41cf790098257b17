"""Pseudonyms: the names pseudonymised downloads replace. Find names (speakers, attributes,
recurring capitalised words), accept or ignore what qualkit proposes, edit replacements, add
names, and check an export before sharing it. Also the "pseudonymise" choice every download
offers (``pseudonymise_choice``, ``warn_left``)."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from qualkit.ui.common import load_context, plain, run, show_error, show_flash

SHOWN = 50  # proposed entries listed at a time


def pseudonymise_choice(ctx: Any, key: str) -> Any:
    """A "pseudonymise" checkbox for a download: the project's ``Pseudonymiser`` when ticked
    (None otherwise); disabled, saying why, while the table has no names in use."""
    from qualkit.pseudonym import Pseudonymiser

    found = Pseudonymiser.of(ctx.store)
    ticked = st.checkbox("Pseudonymise", key=key, disabled=not found,
                         help="Replace the names in the pseudonym table (Pseudonyms page)"
                         if found else "The pseudonym table has no names in use yet: "
                                       "see the Pseudonyms page.")
    return found if ticked and found else None


def warn_left(ctx: Any, paths: list[Path], pseudonymiser: Any) -> None:
    """After writing a pseudonymised download: say which identifying strings remain."""
    if pseudonymiser is None:
        return
    from qualkit.pseudonym import check_files

    left = check_files(paths, pseudonymiser.table)
    if left:
        st.warning(f"{len(left)} identifying strings remain in the download, e.g. "
                   + ", ".join(sorted({repr(o.original) for o in left})[:8])
                   + ": check it before sharing.")


def render() -> None:
    ctx = load_context()
    st.title("Pseudonyms")
    show_flash()
    st.caption("Names of participants, colleagues, places and employers, and what "
               "pseudonymised downloads and exports (`--pseudonymise`) put instead. The "
               "transcripts themselves never change.")
    from qualkit.pseudonym import IGNORE, PROPOSED, USE, load

    actor = ctx.coder or "app"
    if st.button("Find names", key="pseudonyms_find",
                 help="Speakers' names and names in the participant attributes; capitalised "
                      "words that recur across turns are proposed for you to decide."):
        run(lambda: _find(ctx, actor), where="pseudonyms_find", ctx=ctx)
    show_error("pseudonyms_find")
    entries = load(ctx.store)
    proposed = [p for p in entries if p.status == PROPOSED]
    st.subheader(f"Proposed ({len(proposed)})")
    if not proposed:
        st.caption("Nothing waiting for a decision.")
    elif st.button("Accept all proposed", key="pseudonyms_accept_all"):
        run(lambda: ctx.store.set_pseudonym_status([p.original for p in proposed], USE,
                                                   actor),
            done=f"{len(proposed)} names in use.", where="pseudonyms_proposed", ctx=ctx)
    show_error("pseudonyms_proposed")
    for i, p in enumerate(proposed[:SHOWN]):
        name, replacement, accept, ignore = st.columns([3, 3, 1, 1],
                                                       vertical_alignment="bottom")
        name.markdown(f"**{plain(p.original)}** · {plain(p.origin)}")
        value = replacement.text_input("Replacement", p.replacement, key=f"pseudonym_rep_{i}",
                                       label_visibility="collapsed")
        if accept.button("Accept", key=f"pseudonym_accept_{i}"):
            run(partial(_set, ctx, p.original, value, USE, actor),
                done=f"{p.original} → {value}", where="pseudonyms_proposed", ctx=ctx)
        if ignore.button("Ignore", key=f"pseudonym_ignore_{i}"):
            run(partial(ctx.store.set_pseudonym_status, [p.original], IGNORE, actor),
                done=f"{p.original} ignored", where="pseudonyms_proposed", ctx=ctx)
    if len(proposed) > SHOWN:
        st.caption(f"{len(proposed) - SHOWN} more after these.")

    _table(ctx, [p for p in entries if p.status != PROPOSED], actor)
    _add(ctx, actor)
    _check(ctx)


def _find(ctx: Any, actor: str) -> str:
    from qualkit.pseudonym import propose_project, seed_project

    seeded = seed_project(ctx.store, actor)
    proposed = propose_project(ctx.store, ctx.codebook, actor)
    return f"{seeded} names from speakers and attributes, {proposed} further candidates."


def _set(ctx: Any, original: str, replacement: str, status: str, actor: str) -> None:
    from qualkit.pseudonym import add_entry

    add_entry(ctx.store, original, replacement, actor, status)


def _table(ctx: Any, entries: list[Any], actor: str) -> None:
    from qualkit.pseudonym import IGNORE, PROPOSED, USE, checked_entry

    st.subheader("In use and ignored")
    if not entries:
        st.caption("None yet.")
        return
    rows = [{"original": p.original, "replacement": p.replacement, "status": p.status,
             "from": p.origin} for p in entries]
    edited = st.data_editor(
        rows, key="pseudonyms_table", hide_index=True, width="stretch", disabled=["original",
                                                                                   "from"],
        column_config={"status": st.column_config.SelectboxColumn(
            "status", options=[USE, IGNORE, PROPOSED], required=True)})
    changes = [(row["original"], row["replacement"], row["status"], p.origin)
               for row, p in zip(edited, entries, strict=True)
               if (row["replacement"], row["status"]) != (p.replacement, p.status)]
    if st.button("Save changes", key="pseudonyms_save", disabled=not changes):
        def save() -> str:
            for original, replacement, _, _ in changes:
                checked_entry(original, str(replacement or ""))
            ctx.store.upsert_pseudonyms(
                [(o, " ".join(str(r).split()), s, origin) for o, r, s, origin in changes],
                actor)
            return f"{len(changes)} entries changed."

        run(save, where="pseudonyms_table", ctx=ctx)
    show_error("pseudonyms_table")


def _add(ctx: Any, actor: str) -> None:
    from qualkit.pseudonym import USE

    st.subheader("Add a name")
    with st.form("pseudonyms_add", clear_on_submit=True):
        left, right = st.columns(2)
        original = left.text_input("Name, place or employer", key="pseudonym_new_original")
        replacement = right.text_input('Replace with (e.g. "Colleague 2", "[place]")',
                                       key="pseudonym_new_replacement")
        if st.form_submit_button("Add"):
            run(lambda: _set(ctx, original, replacement, USE, actor),
                done=f"{original} → {replacement}", where="pseudonyms_add", ctx=ctx)
    show_error("pseudonyms_add")


def _check(ctx: Any) -> None:
    from qualkit.errors import QualkitError
    from qualkit.fileio import save_upload
    from qualkit.pseudonym import CHECKED, check, load

    st.subheader("Check an export")
    upload = st.file_uploader("An export to check before sharing",
                              type=[k.lstrip(".") for k in CHECKED], key="pseudonyms_check")
    if upload is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = save_upload(tmp, upload.name, upload.getvalue())  # qualkit names the file
        try:
            left = check(path, load(ctx.store))
        except QualkitError as exc:
            st.error(exc.message)
            return
    if not left:
        st.success("No identifying string from the table found.")
        return
    st.warning(f"{len(left)} identifying strings remain:")
    st.dataframe([{"found": o.original, "line": o.line,
                   "where": o.where.split("!", 1)[1] if "!" in o.where else "",
                   "context": o.context} for o in left], hide_index=True, width="stretch")
