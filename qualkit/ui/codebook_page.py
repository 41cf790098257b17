"""Codebook: the code tree with definitions, rules, examples and counts; refine it in place.

Every change is validated, applied to existing codings (renames and merges move them) and saved
back to the project's codebook YAML.
"""

from __future__ import annotations

import html

import streamlit as st

from qualkit.codebook import edit
from qualkit.model import Code
from qualkit.ui.common import html_text, load_context, run, show_flash


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _apply(ctx, change) -> str:
    edit.apply_change(ctx.project, change, ctx.coder or "app", base=ctx.codebook)
    return change.description + "."


def _tree(ctx, counts) -> None:
    def show(code, depth: int) -> None:
        n = counts.get(code.id, {})
        tally = f"{n.get('accepted', 0)} accepted · {n.get('suggested', 0)} suggested"
        prefix = " " * (depth - 1) + "↳ " if depth else ""
        with st.expander(f"{prefix}{code.name} ({code.id}) — {tally}"):
            # The chip needs HTML; the name and id are untrusted (a YAML upload, a .qdc/.qdpx
            # import, the edit form), so they are escaped (html_text) before joining it.
            color = html.escape(ctx.color(code.id), quote=True)
            st.markdown(f"<span style='color:{color}'>■</span> "
                        f"<strong>{html_text(code.name)}</strong> · "
                        f"<code>{html_text(code.id)}</code>", unsafe_allow_html=True)
            if code.definition:
                st.write(code.definition)
            for label, items in (("Include", code.include), ("Exclude", code.exclude),
                                 ("Examples", code.examples), ("Keywords", code.keywords)):
                if items:
                    st.caption(label + ": " + " · ".join(items))
            if code.children:
                st.caption("Codes: " + ", ".join(c.name for c in code.children)
                           + (" (one per segment)" if code.exclusive else ""))
        for child in code.children:
            show(child, depth + 1)

    for code in ctx.codebook.codes:
        show(code, 0)


def render() -> None:
    ctx = load_context()
    st.title("Codebook")
    show_flash()
    if ctx.codebook is None:
        st.info("No codebook yet: choose one on the Project page.")
        return
    book = ctx.codebook
    st.caption(f"{book.name} · version {book.version} · {len(book.all_codes())} codes. "
               f"Saved to {ctx.project.codebook_path}.")
    counts = ctx.store.code_counts()
    _tree(ctx, counts)
    ids = book.ids()
    label = ctx.code_label

    st.subheader("Edit a code")
    code_id = st.selectbox("Code", ids, format_func=label, key="edit_code")
    code = book.get(code_id)
    if code is None:  # the box offers only the codebook's own ids
        raise RuntimeError(f"code {code_id!r} is not in the codebook")
    with st.form("edit_form"):
        name = st.text_input("Name", code.name)
        new_id = st.text_input("Id", code.id)
        color = st.color_picker("Colour", code.color or ctx.color(code.id))
        definition = st.text_area("Definition", code.definition)
        include = st.text_area("Include (one per line)", "\n".join(code.include))
        exclude = st.text_area("Exclude (one per line)", "\n".join(code.exclude))
        examples = st.text_area("Examples (one per line)", "\n".join(code.examples))
        keywords = st.text_area("Keywords (one per line)", "\n".join(code.keywords))
        if st.form_submit_button("Save code", type="primary"):
            def save() -> str:
                try:
                    change = edit.update_code(
                        book, code_id, name=name, id=new_id, color=color,
                        definition=definition,
                        include=_lines(include), exclude=_lines(exclude),
                        examples=_lines(examples), keywords=_lines(keywords))
                except edit.NothingChanged:
                    return "Nothing changed."
                return _apply(ctx, change)
            run(save)

    left, right = st.columns(2)
    with left:
        st.subheader("Add a code")
        with st.form("add_form"):
            parent = st.selectbox("Under", ["(top level)"] + ids,
                                  format_func=lambda c: c if c == "(top level)" else label(c))
            add_id = st.text_input("Id (e.g. funding_worries)")
            add_name = st.text_input("Name")
            add_def = st.text_area("Definition")
            if st.form_submit_button("Add code"):
                run(lambda: _apply(ctx, edit.add_code(
                    book, None if parent == "(top level)" else parent,
                    Code(id=add_id.strip(), name=add_name.strip(), definition=add_def))))
        st.subheader("Move a code")
        with st.form("move_form"):
            mover = st.selectbox("Code", ids, format_func=label)
            dest = st.selectbox("New parent", ["(top level)"] + ids,
                                format_func=lambda c: c if c == "(top level)" else label(c))
            if st.form_submit_button("Move"):
                run(lambda: _apply(ctx, edit.move_code(
                    book, mover, None if dest == "(top level)" else dest)))
    with right:
        st.subheader("Merge codes")
        with st.form("merge_form"):
            sources = st.multiselect("Merge these", ids, format_func=label)
            target = st.selectbox("into", ids, format_func=label)
            if st.form_submit_button("Merge"):
                run(lambda: _apply(ctx, edit.merge_codes(book, sources, target)))
        st.subheader("Split a code")
        with st.form("split_form"):
            splitting = st.selectbox("Code", ids, format_func=label)
            parts = st.text_area("New codes, one per line as id: name")
            children = st.checkbox("Add them under this code")
            if st.form_submit_button("Split"):
                run(lambda: _apply(ctx, edit.split_code(
                    book, splitting, edit.parse_split_lines(parts), children)))
        st.subheader("Delete a code")
        with st.form("delete_form"):
            victim = st.selectbox("Code", ids, format_func=label)
            to = st.selectbox("Move its codings to", ["(none)"] + ids, format_func=lambda c:
                              c if c == "(none)" else label(c))
            if st.form_submit_button("Delete"):
                run(lambda: _apply(ctx, edit.delete_code(
                    book, victim, None if to == "(none)" else to,
                    {k: sum(v.values()) for k, v in counts.items()})))
