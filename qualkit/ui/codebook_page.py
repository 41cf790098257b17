"""Codebook: the code tree on the left, one editor for the selected code on the right.

The tree shows every code indented under its parent, with its colour, its name, its codings by
status and whether it is exclusive (one of its codes per segment). Choosing a code opens its
editor: its fields (saved with ``edit.update_code``), then what can be done to it: move it (up,
down, out of its parent, under another code), merge other codes into it, split it, add a code
under it, delete it (its codings moved to another code first). Below the tree, the language
the keywords are written in can be set.

Every change goes through ``edit.apply_change`` with the codebook this tab showed as its base:
a codebook changed in another tab (or by someone else) since is refused with a message, never
overwritten, and the page then shows the current codebook.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from qualkit.codebook import dump_codebook, edit
from qualkit.errors import ConflictError, QualkitError
from qualkit.model import Code, Codebook
from qualkit.ui.common import Context, html_text, load_context, plain, show_flash

SELECTED = "cb_code"  # the id of the code whose editor is open
SEEN = "cb_seen"  # the codebook this tab last showed: the base of the next change
MESSAGE = "cb_message"  # (kind, text) of the last change, shown after the rerun
TOP = "(top level)"
STATUSES = ("accepted", "suggested", "rejected")
STALE = ("the codebook was changed in another tab or by someone else since this page showed "
         "it; nothing was changed")
STALE_HINT = "the page now shows the current codebook: make your change again"

Make = Callable[[Codebook], edit.CodebookChange]
Say = Callable[[edit.CodebookChange, int], str]


# -- small helpers ---------------------------------------------------------------------------
def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _codings(n: int) -> str:
    return f"{n} coding{'s' if n != 1 else ''}"


def _tally(by_status: dict[str, int]) -> str:
    """Codings by status in plain words: "2 accepted · 1 suggested"."""
    order = [s for s in STATUSES if by_status.get(s)]
    order += sorted(s for s in by_status if s not in STATUSES and by_status[s])
    return " · ".join(f"{by_status[s]} {s}" for s in order) or "no codings"


def _digest(code: Code, shown_color: str) -> str:
    """Changes whenever the code's editable values (or the colour it inherits) change, so its
    form shows them afresh."""
    values = (code.id, code.name, code.color, shown_color, code.definition, code.include,
              code.exclude, code.examples, code.keywords, code.exclusive,
              [c.id for c in code.children])
    return hashlib.sha256(repr(values).encode()).hexdigest()[:12]


def _siblings(book: Codebook, code_id: str) -> tuple[Code | None, list[Code], int]:
    """A code's parent (None at the top level), its siblings (itself included), its index."""
    parent = book.parent_of(code_id)
    siblings = parent.children if parent is not None else book.codes
    return parent, siblings, next(i for i, c in enumerate(siblings) if c.id == code_id)


def _q(book: Codebook, code_id: str) -> str:
    return f"'{book.display_name(code_id)}'"


def _select(code_id: str) -> None:
    st.session_state[SELECTED] = code_id


# -- making a change ---------------------------------------------------------------------------
def _act(ctx: Context, base: Codebook, make: Make, say: Say | None = None,
         select: str | Callable[[edit.CodebookChange], str | None] | None = None) -> None:
    """Make a change from the codebook this tab showed (``base``) and apply it with that base,
    so a codebook changed since is refused; say what happened after the rerun."""
    kind = "success"
    try:
        if ctx.codebook is None or dump_codebook(base) != dump_codebook(ctx.codebook):
            raise ConflictError(STALE, hint=STALE_HINT)
        change = make(base)
        n = edit.apply_change(ctx.project, change, ctx.coder or "app", base=base)
    except edit.NothingChanged:
        message = "Nothing changed."
    except QualkitError as exc:
        kind, message = "error", str(exc)
    else:
        message = say(change, n) if say else change.description + "."
        chosen = select(change) if callable(select) else select
        if chosen:
            st.session_state[SELECTED] = chosen
    st.session_state[MESSAGE] = (kind, message)
    st.rerun()


def _said(kind: str, text: str) -> str:
    """A message for st.success/st.error/st.toast (Markdown) with the code names in it shown
    as typed. An error (which may run over lines) goes through ``plain``; a one-line success,
    which starts with qualkit's own words, has every character escaped that could start a
    link, an image, markup, emphasis, code, maths or an entity, and keeps its punctuation."""
    if kind != "success" or "\n" in text:
        return plain(text)
    return re.sub(r"([\\`*_\[\]<>~$&])", r"\\\1", text)


def _message() -> None:
    """The outcome of the last change: a toast, and the same words at the top of the editor."""
    item = st.session_state.pop(MESSAGE, None)
    if item:
        kind, raw = item
        text = _said(kind, raw)
        st.toast(text, icon=":material/check_circle:" if kind == "success" else
                 ":material/error:")
        getattr(st, kind)(text)


# -- the tree ------------------------------------------------------------------------------
def _tree(ctx: Context, book: Codebook, counts: dict[str, dict[str, int]],
          selected: str) -> None:
    codes = book.all_codes()
    with st.container(height=640 if len(codes) > 12 else "content", border=True):
        for code in codes:
            depth = book.depth(code.id)
            chosen = code.id == selected
            row, pick = st.columns([3, 1], vertical_alignment="center", gap="small")
            # The swatch needs HTML; the name is untrusted (a YAML upload, a .qdc/.qdpx
            # import, this editor), so every piece of text goes through html_text.
            color = html.escape(ctx.color(code.id), quote=True)
            name = html_text(code.name)
            exclusive = " · <em>exclusive: one per segment</em>" if code.exclusive else ""
            tally = html_text(_tally(counts.get(code.id, {})))
            row.markdown(
                f"<span style='display:inline-block;padding-left:{1.4 * depth}em'>"
                f"<span style='color:{color}'>■</span> "
                + (f"<strong>{name}</strong>" if chosen else name)
                + f"{exclusive} <small style='opacity:0.7'>· {tally}</small></span>",
                unsafe_allow_html=True)
            pick.button("Editing" if chosen else "Edit", key=f"cb_pick_{code.id}",
                        type="primary" if chosen else "tertiary", on_click=_select,
                        width="stretch",
                        args=(code.id,), help=f"Open {plain(code.name)} in the editor")


def _add_top(ctx: Context, base: Codebook) -> None:
    with st.expander("Add a code at the top level"):
        with st.form("cb_add_top", clear_on_submit=True):
            new_id = st.text_input("Id (e.g. funding_worries)", key="cb_top_id")
            name = st.text_input("Name", key="cb_top_name")
            definition = st.text_area("Definition", key="cb_top_definition")
            if st.form_submit_button("Add code"):
                new = Code(id=new_id.strip(), name=name.strip(), definition=definition)
                _act(ctx, base, lambda b: edit.add_code(b, None, new), select=new.id)


def _language(ctx: Context, base: Codebook) -> None:
    """The language the keywords are written in: matched on that language's lemmas."""
    from qualkit.embed import EMBEDDINGS
    from qualkit.nlp import keyword_matching

    with st.expander(f"Language of the keywords: {base.language}"):
        with st.form("cb_language"):
            language = st.text_input("Language code (ISO 639-1: en, de, fr, es, nl, ...)",
                                     base.language, key=f"cb_language_{base.language}")
            if st.form_submit_button("Set language"):
                model = ctx.project.embeddings

                def say(change: edit.CodebookChange, n: int) -> str:
                    now = ctx.project.embeddings
                    return (f"{change.description}: from the next coding run, "
                            f"{keyword_matching(change.codebook.language)}."
                            + (f" Embedding model: {EMBEDDINGS[now].label}, the one for that "
                               "language (nobody had chosen one)." if now != model else ""))

                _act(ctx, base, lambda b: edit.set_language(b, language), say)


# -- the editor ------------------------------------------------------------------------------
def _heading(ctx: Context, book: Codebook, code: Code, counts: dict[str, dict[str, int]]
             ) -> None:
    color = html.escape(ctx.color(code.id), quote=True)
    st.markdown(f"<span style='color:{color}'>■</span> <strong>{html_text(code.name)}</strong>"
                f" · <code>{html_text(code.id)}</code>", unsafe_allow_html=True)
    path = " › ".join(c.name for c in reversed(book.ancestors(code.id)))
    where = f"Under {path}" if path else "At the top level"
    own = _tally(counts.get(code.id, {}))
    kind = (f"a theme with {len(code.children)} code{'s' if len(code.children) != 1 else ''}"
            + (", exclusive: one of them per segment" if code.exclusive else "")
            if code.children else "a code")
    st.caption(plain(f"{where}; {kind}; {own}."))


def _edit_tab(ctx: Context, base: Codebook, code: Code) -> None:
    key = _digest(code, ctx.color(code.id))  # a change made elsewhere gives fresh fields
    with st.form("cb_edit_form"):
        name = st.text_input("Name", code.name, key=f"cb_name_{key}")
        new_id = st.text_input("Id", code.id, key=f"cb_id_{key}",
                               help="A new id moves the code's codings with it.")
        color = st.color_picker("Colour", code.color or ctx.color(code.id), key=f"cb_color_{key}",
                                help=None if code.color else
                                "Inherited; pick another colour to give this code its own.")
        definition = st.text_area("Definition", code.definition, key=f"cb_def_{key}")
        include = st.text_area("Include (one per line)", "\n".join(code.include),
                               key=f"cb_inc_{key}")
        exclude = st.text_area("Exclude (one per line)", "\n".join(code.exclude),
                               key=f"cb_exc_{key}")
        examples = st.text_area("Examples (one per line)", "\n".join(code.examples),
                                key=f"cb_ex_{key}")
        keywords = st.text_area("Keywords (one per line)", "\n".join(code.keywords),
                                key=f"cb_kw_{key}")
        exclusive = st.checkbox("Exclusive: one of its codes per segment", code.exclusive,
                                key=f"cb_excl_{key}", disabled=not code.children,
                                help="Only a code with codes under it can be exclusive.")
        if st.form_submit_button("Save code", type="primary"):
            values: dict[str, Any] = dict(name=name, id=new_id, color=color, definition=definition,
                          include=_lines(include), exclude=_lines(exclude),
                          examples=_lines(examples), keywords=_lines(keywords))
            if code.children:
                values["exclusive"] = exclusive
            _act(ctx, base, lambda b: edit.update_code(b, code.id, **values),
                 select=new_id.strip() or code.id)
    if code.patterns:
        st.caption("Token patterns (edit them in codebook.yaml):")
        st.code("\n".join(json.dumps(p, ensure_ascii=False) for p in code.patterns),
                language="json", wrap_lines=True)


def _move_tab(ctx: Context, base: Codebook, book: Codebook, code: Code) -> None:
    parent, siblings, index = _siblings(book, code.id)

    def step(by: int) -> Make:
        def make(b: Codebook) -> edit.CodebookChange:
            p, _, i = _siblings(b, code.id)
            return edit.move_code(b, code.id, p.id if p else None, i + by)
        return make

    def out(b: Codebook) -> edit.CodebookChange:
        p, _, _ = _siblings(b, code.id)
        if p is None:
            raise edit.CodebookEditError(f"{_q(b, code.id)} is already at the top level")
        grand, _, at = _siblings(b, p.id)
        return edit.move_code(b, code.id, grand.id if grand else None, at + 1)

    q = _q(book, code.id)
    up, down, left = st.columns(3)
    if up.button("Move up", key="cb_up", icon=":material/arrow_upward:", disabled=index == 0,
                 width="stretch"):
        _act(ctx, base, step(-1), lambda c, n: f"Moved {q} up.")
    if down.button("Move down", key="cb_down", icon=":material/arrow_downward:",
                   disabled=index == len(siblings) - 1, width="stretch"):
        _act(ctx, base, step(1), lambda c, n: f"Moved {q} down.")
    if left.button("Move out one level", key="cb_out", icon=":material/arrow_back:",
                   disabled=parent is None, width="stretch",
                   help="Out of its parent, to just after it."):
        _act(ctx, base, out, lambda c, n: f"Moved {q} out of "
             f"{_q(book, parent.id) if parent else 'its parent'}.")
    inside = {c.id for c in code.subtree()}
    targets = [TOP] + [i for i in book.ids() if i not in inside]
    current = parent.id if parent is not None else TOP
    with st.form("cb_move_form"):
        dest = st.selectbox("Move under", targets, index=targets.index(current),
                            format_func=lambda c: c if c == TOP else ctx.code_label(c),
                            key=f"cb_dest_{code.id}",
                            help="It goes last among its new siblings; then move it up.")
        if st.form_submit_button("Move"):
            _act(ctx, base, lambda b: edit.move_code(b, code.id, None if dest == TOP else dest))


def _merge_tab(ctx: Context, base: Codebook, book: Codebook, code: Code) -> None:
    above = {c.id for c in book.ancestors(code.id)}
    options = [i for i in book.ids() if i != code.id and i not in above]
    st.caption(plain(f"The codes you choose are removed: their codings, include and exclude "
                     f"rules, examples, keywords and the codes under them join "
                     f"{_q(book, code.id)}, whose own name and definition stay."))
    with st.form("cb_merge_form"):
        sources = st.multiselect("Codes to merge into this one", options,
                                 format_func=ctx.code_label, key=f"cb_merge_{code.id}")
        if st.form_submit_button("Merge into this code"):
            names = ", ".join(_q(book, s) for s in sources)

            def say(change: edit.CodebookChange, n: int) -> str:
                return (f"Merged {names} into {_q(book, code.id)}; {_codings(n)} moved to "
                        "it.")
            _act(ctx, base, lambda b: edit.merge_codes(b, list(sources), code.id), say)


def _split_tab(ctx: Context, base: Codebook, book: Codebook, code: Code) -> None:
    st.caption(plain(f"New codes split off from {_q(book, code.id)}; it stays and keeps its "
                     "codings, for you to reassign."))
    with st.form("cb_split_form"):
        parts = st.text_area("New codes, one per line as id: name", key=f"cb_parts_{code.id}",
                             placeholder="joy: Joy\nrelief: Relief")
        under = st.checkbox("Add them under this code (otherwise beside it)",
                            key=f"cb_under_{code.id}")
        if st.form_submit_button("Split"):
            _act(ctx, base, lambda b: edit.split_code(b, code.id, edit.parse_split_lines(parts),
                                                      under))


def _add_tab(ctx: Context, base: Codebook, book: Codebook, code: Code) -> None:
    with st.form("cb_add_form", clear_on_submit=True):
        new_id = st.text_input("Id (e.g. funding_worries)", key="cb_child_id")
        name = st.text_input("Name", key="cb_child_name")
        definition = st.text_area("Definition", key="cb_child_definition")
        if st.form_submit_button("Add code under this one"):
            new = Code(id=new_id.strip(), name=name.strip(), definition=definition)
            _act(ctx, base, lambda b: edit.add_code(b, code.id, new), select=new.id)


def _delete_tab(ctx: Context, base: Codebook, book: Codebook, code: Code,
                counts: dict[str, dict[str, int]]) -> None:
    q = _q(book, code.id)
    if code.children:
        st.info(plain(f"{q} has codes under it: move them out or delete them first, or merge "
                      f"{q} into another code to keep them."))
        return
    used = counts.get(code.id, {})
    total = sum(used.values())
    to: str | None = None
    if total:
        others = [i for i in book.ids() if i != code.id]
        to = st.selectbox(f"Its {_codings(total)} ({_tally(used)}) move to", others,
                          index=None, placeholder="Choose a code", format_func=ctx.code_label,
                          key=f"cb_reassign_{code.id}")
    sure = st.checkbox(f"Yes, delete {plain(q)}", key=f"cb_sure_{code.id}")
    blocked = not sure or (total > 0 and to is None)
    if st.button("Delete code", key="cb_delete", type="primary", icon=":material/delete:",
                 disabled=blocked):
        parent = book.parent_of(code.id)

        def say(change: edit.CodebookChange, n: int) -> str:
            verb = "belongs" if n == 1 else "belong"
            moved = f"; its {_codings(n)} now {verb} to {_q(book, to)}" if to else ""
            return f"Deleted {q}{moved}."
        _act(ctx, base, lambda b: edit.delete_code(b, code.id, to), say,
             select=to or (parent.id if parent is not None else None))


def _editor(ctx: Context, base: Codebook, book: Codebook, code: Code,
            counts: dict[str, dict[str, int]]) -> None:
    _heading(ctx, book, code, counts)
    _message()
    edit_tab, move, merge, split, add, delete = st.tabs(
        ["Edit", "Move", "Merge", "Split", "Add a code under it", "Delete"], key="cb_tabs")
    with edit_tab:
        _edit_tab(ctx, base, code)
    with move:
        _move_tab(ctx, base, book, code)
    with merge:
        _merge_tab(ctx, base, book, code)
    with split:
        _split_tab(ctx, base, book, code)
    with add:
        _add_tab(ctx, base, book, code)
    with delete:
        _delete_tab(ctx, base, book, code, counts)


def render() -> None:
    ctx = load_context()
    st.title("Codebook")
    show_flash()
    if ctx.codebook is None:
        st.info("No codebook yet: choose one on the Project page.")
        return
    book = ctx.codebook
    seen = st.session_state.get(SEEN)
    base = seen if isinstance(seen, Codebook) else book  # what this tab showed
    st.session_state[SEEN] = book
    selected = st.session_state.get(SELECTED)
    if not isinstance(selected, str) or book.get(selected) is None:
        selected = book.codes[0].id
        st.session_state[SELECTED] = selected
    code = book.get(selected)
    if code is None:  # chosen from the codebook's own ids just above
        raise RuntimeError(f"code {selected!r} is not in the codebook")
    from qualkit.nlp import keyword_matching

    saved = ctx.project.codebook_version()
    st.caption(plain(f"{book.name} · version {book.version} · {len(book.all_codes())} codes · "
                     f"change {saved} in this project · language {book.language}: "
                     f"{keyword_matching(book.language)}. Every change is kept in the project; "
                     "codebook.yaml in the project folder shows the latest."))
    counts = ctx.store.code_counts()
    tree, editor = st.columns([2, 3], gap="large")
    with tree:
        _tree(ctx, book, counts, selected)
        _add_top(ctx, base)
        _language(ctx, base)
    with editor:
        _editor(ctx, base, book, code, counts)
