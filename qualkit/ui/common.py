"""What every page shares: the open project, the codebook, who is coding, and messages."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from qualkit.errors import QualkitError
from qualkit.model import DEFAULT_COLOR, Codebook, Coding, strength
from qualkit.palette import code_colors
from qualkit.project import Project, open_project
from qualkit.store import asks_login


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--project", default=os.environ.get("QUALKIT_PROJECT", "."))
    parser.add_argument("--db", default=os.environ.get("QUALKIT_DB") or None)
    args, _ = parser.parse_known_args(sys.argv[1:])
    return args


def project_root() -> Path:
    return Path(_args().project).resolve()


def database_url() -> str | None:
    """This session's database: the project's own file (None), the URL given with --db, or in
    team mode that URL with the login the person signed in with (kept in the server's memory
    for this session only)."""
    url = _args().db
    return st.session_state.get("_login_url") if asks_login(url) else url


@st.cache_resource(show_spinner=False)
def _project(root: str, url: str | None) -> Project:
    """One open database per server process and login, shared by that login's sessions
    (SQLite WAL or the server handle concurrent readers; every write is its own
    transaction)."""
    return open_project(root, url)


def sign_in(root: Path) -> None:
    """The sign-in form of a team project; stops the page until someone has signed in."""
    from sqlalchemy.engine import make_url

    st.title("Sign in to the team project")
    st.caption("Use your own database login: every decision you make is recorded under it.")
    with st.form("sign_in"):
        login = st.text_input("Login")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary") and login.strip():
            url = make_url(_args().db).set(username=login.strip(), password=password)
            candidate = url.render_as_string(hide_password=False)
            try:
                _project(str(root), candidate)
            except QualkitError:
                st.error("That login and password did not open the project. Check them, or "
                         "ask the project's owner to add you (qualkit team add).")
            else:
                st.session_state["_login_url"] = candidate
                st.rerun()
    st.stop()


@st.cache_resource(show_spinner=False, max_entries=4)
def _codebook(text: str) -> Codebook:
    from qualkit.codebook import parse_codebook

    return parse_codebook(text, check_patterns=False)  # validated when it was stored


@st.cache_resource(show_spinner=False, max_entries=4)
def _colors(text: str) -> dict[str, str]:
    return code_colors(_codebook(text))


# The name shown for the machine's suggestions wherever a coder's name would stand.
MACHINE = "qualkit's suggestions"

@dataclass
class Context:
    project: Project
    codebook: Codebook | None
    coder: str
    blind: bool
    colors: dict[str, str] = field(default_factory=dict)

    @property
    def store(self):  # noqa: ANN201 - the qualkit Store
        return self.project.store

    def name(self, code_id: str) -> str:
        return self.codebook.display_name(code_id) if self.codebook else code_id

    def color(self, code_id: str) -> str:
        """The codebook's colour rule (own colour, else the nearest coloured ancestor's), as
        reports draw it and the codebook editor offers it."""
        return (self.codebook.color_of(code_id) if self.codebook else None) or DEFAULT_COLOR

    def code_color(self, code_id: str) -> str:
        """The colour a code is drawn in while reading transcripts: its own, else a palette
        colour no sibling shares (``qualkit.palette``)."""
        return self.colors.get(code_id) or DEFAULT_COLOR

    def code_choices_for(self, coder: str, recent: int = 5) -> list[str]:
        """``code_choices`` with the codes this coder applied most recently first."""
        choices = self.code_choices()
        offered = set(choices)
        used = [code for code in self.store.recent_codes(coder) if code in offered][:recent]
        return used + [c for c in choices if c not in used]

    def code_choices(self) -> list[str]:
        """Codes one can apply (leaves first in codebook order; themes too, at the end)."""
        if not self.codebook:
            return []
        leaves = [c.id for c in self.codebook.leaves()]
        return leaves + [c for c in self.codebook.ids() if c not in leaves]

    def code_label(self, code_id: str) -> str:
        parent = self.codebook.parent_of(code_id) if self.codebook else None
        return f"{parent.name} › {self.name(code_id)}" if parent else self.name(code_id)


def load_context() -> Context:
    root = project_root()
    url = database_url()
    if url is None and asks_login(_args().db):
        sign_in(root)
    try:
        project = _project(str(root), url)
    except QualkitError as exc:
        st.error(str(exc))
        st.stop()
    book, colors = None, {}
    try:
        state = project.codebook_state()
        if state is not None:
            book, colors = _codebook(state[1]), _colors(state[1])
    except QualkitError as exc:
        st.error(str(exc))
    if not project.store.login and "coder" not in st.session_state:
        # remembered across reloads in the address (?coder=Name); never in team mode, where
        # the login says who is coding
        remembered = st.query_params.get("coder", "").strip()
        if remembered:
            st.session_state["coder"] = remembered[:100]
    coder = project.store.login or st.session_state.get("coder", "").strip()
    return Context(project, book, coder, bool(st.session_state.get("blind", False)), colors)


def _remember_coder() -> None:
    name = str(st.session_state.get("coder", "")).strip()
    if name:
        st.query_params["coder"] = name
    elif "coder" in st.query_params:
        del st.query_params["coder"]


def sidebar(ctx: Context) -> None:
    """Who is coding (asked first), blind mode and undo."""
    show_toasts()
    with st.sidebar:
        if ctx.store.login:  # on a database server: the login is who is coding
            st.markdown(f"Coding as **{html_text(ctx.store.login)}** (your database login)")
            if "coder" in st.query_params:
                del st.query_params["coder"]
            if "_login_url" in st.session_state and st.button("Sign out"):
                del st.session_state["_login_url"]
                st.rerun()
        else:
            st.text_input("Your name (coder)", key="coder", on_change=_remember_coder,
                          help="Every decision is stored with this name and the time. "
                               "The page's address keeps it, so a reload or a bookmark "
                               "remembers you.")
            if ctx.coder and st.query_params.get("coder") != ctx.coder:
                st.query_params["coder"] = ctx.coder  # a page change drops the address's
        st.toggle("Blind coding: hide other coders' decisions", key="blind")
        coder = ctx.coder
        if coder and st.button("Undo my last change", icon=":material/undo:"):
            from qualkit import review

            run(lambda: _undone(review.undo(ctx.store, coder)), where="undo")
        show_error("undo")
        if coder and ctx.codebook is not None:
            learning(ctx, coder)


@st.cache_resource(show_spinner=False)
def _background(root: str, url: str | None) -> Any:
    from qualkit.retrain import Background

    return Background(Path(root), url)


def learning(ctx: Context, coder: str) -> None:
    """Retrain in the background after every few decisions, and say what was learned."""
    from qualkit import retrain

    bg = _background(str(ctx.project.root), ctx.project.store.url)
    if not bg.running and retrain.due(ctx.store):
        bg.start(coder)
    if bg.running:
        st.caption("Learning from your latest decisions in the background; the suggestions "
                   "will refresh when it is done.")
    elif bg.error:
        st.warning(bg.error)
    elif bg.last:
        st.caption(bg.last)
        if bg.learned:
            with st.expander("What the suggestions rest on"):
                st.markdown("\n".join(f"- {plain(line)}" for line in bg.learned))


def require_coder(ctx: Context) -> str:
    if not ctx.coder:
        st.info("Enter your name in the sidebar to start coding: every decision is stored "
                "with the coder's name.")
        st.stop()
    return ctx.coder


def flash(message: str, kind: str = "success") -> None:
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    item = st.session_state.pop("_flash", None)
    if item:
        kind, message = item
        getattr(st, kind)(message)


def _undone(what: str) -> str:
    return what[:1].upper() + what[1:] + "."


def said(text: str, ctx: Context | None = None) -> str:
    """A message in the researcher's words: no row numbers ("coding 1236" is "this coding"),
    a code's name where its id is quoted, the machine's name as ``MACHINE``."""
    import re

    text = re.sub(r"\b([Cc])oding \d+\b",
                  lambda m: "This coding" if m.group(1) == "C" else "this coding", text)
    text = re.sub(r"\b[a-z]+(?:\+[a-z]+)+\b", MACHINE, text)  # "rules+semantic"
    if ctx is not None and ctx.codebook is not None:
        book = ctx.codebook
        text = re.sub(r"'([A-Za-z0-9_.\-]+)'", lambda m: f"'{book.display_name(m.group(1))}'"
                      if book.get(m.group(1)) else m.group(0), text)
    return text


def message_of(exc: QualkitError, ctx: Context | None = None) -> str:
    """An error for the person who caused it: the message and what to do, no file path,
    no field name."""
    text = exc.message + (f" ({exc.hint})" if exc.hint else "")
    text = said(text, ctx)
    return text[:1].upper() + text[1:]


def toast(message: str, kind: str = "success") -> None:
    """A message for the next run, shown as a toast (by ``show_toasts`` in the sidebar)."""
    st.session_state.setdefault("_toasts", []).append((kind, message))


TOAST_ICONS = {"success": ":material/check_circle:", "error": ":material/error:",
               "info": ":material/info:"}


def show_toasts() -> None:
    for kind, message in st.session_state.pop("_toasts", []):
        st.toast(message, icon=TOAST_ICONS.get(kind), duration="long" if kind == "error"
                 else "short")


def show_error(where: str) -> None:
    """The error of the action taken at ``where``, shown there (it was also a toast)."""
    item = st.session_state.get("_error")
    if item and item[0] == where:
        del st.session_state["_error"]
        st.error(item[1], icon=":material/error:")


def run(action: Callable[[], Any], done: str | None = None, where: str | None = None,
        ctx: Context | None = None) -> None:
    """Do one library action, then rerun. Its outcome is a toast; an error is a toast too and
    stays in view at ``where`` (a panel calling ``show_error(where)``), else at the top of the
    page (``show_flash``)."""
    try:
        result = action()
    except QualkitError as exc:
        message = message_of(exc, ctx)
        toast(message, "error")
        if where:
            st.session_state["_error"] = (where, message)
        else:
            flash(message, "error")
    else:
        text = done or (result if isinstance(result, str) else "Saved.")
        toast(said(text, ctx))
    st.rerun()


def plain(text: str) -> str:
    """Untrusted text for st.markdown: Markdown and HTML characters shown as they are."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)


def html_text(text: str) -> str:
    """Untrusted text inside ``st.markdown(..., unsafe_allow_html=True)``: HTML-escaped (so no
    tag or attribute can start), then Markdown-escaped like ``plain``. Every piece of user text
    (names, definitions, transcript text, memos, attributes, coders, file names) that shares a
    body with HTML goes through this; better still, keep user text out of HTML bodies."""
    import html

    return plain(html.escape(str(text), quote=False))


def coder_label(c: Coding) -> str:
    """Who made a coding, for people: a suggestion is ``MACHINE``'s, whatever suggesters
    made it."""
    return MACHINE if c.status == "suggested" else c.coder


def mark(ctx: Context, c: Coding) -> dict[str, Any]:
    return {"id": c.id, "start": c.start, "end": c.end, "code": c.code_id,
            "label": ctx.name(c.code_id), "color": ctx.code_color(c.code_id),
            "status": c.status,
            "strength": strength(c.score, c.confidence) if c.status == "suggested" else "",
            "rationale": c.rationale or c.memo, "coder": coder_label(c)}
