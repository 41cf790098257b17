"""Search: words, a phrase, lemmas or a regular expression across every transcript, results as
keyword-in-context lines; open a hit in the Coding page, or select hits and code them in one
action (one undo takes them all back)."""

from __future__ import annotations

import streamlit as st

from qualkit import review
from qualkit.errors import QualkitError
from qualkit.search import MODES, Hit, SearchQuery, search
from qualkit.ui.common import Context, load_context, plain, show_flash

LIMIT = 500  # hits one search returns
SHOWN = 200  # hits listed at once
ANY = "(any)"
ROLES = ["participant", "interviewer"]


def _hit_key(h: Hit) -> str:
    return f"hit|{h.transcript}|{h.start}|{h.end}"


def _kwic(h: Hit) -> str:
    """A hit as Markdown with every piece of transcript text escaped; the match in bold."""
    match = " ".join(h.text.split())
    return (f"{plain(h.transcript)}, turn {h.segment} · {plain(h.speaker or '?')}: "
            f"{plain(h.left)}**{plain(match)}**{plain(h.right)}")


def _filters(ctx: Context) -> tuple[list[str], dict[str, str]]:
    infos = ctx.store.transcripts()
    attrs = sorted({k for i in infos for k, v in i.attributes.items()
                    if isinstance(v, (str, int, float, bool))})
    with st.expander("Filter by speaker role and participant attributes"):
        roles = st.multiselect("Speaker roles (none chosen: every role)", ROLES,
                               key="search_roles", accept_new_options=True)
        chosen: dict[str, str] = {}
        if attrs:
            cols = st.columns(min(3, len(attrs)))
            for n, attr in enumerate(attrs):
                values = sorted({str(i.attributes[attr]) for i in infos
                                 if attr in i.attributes})
                value = cols[n % len(cols)].selectbox(attr, [ANY, *values],
                                                      key=f"search_attr_{attr}")
                if value != ANY:
                    chosen[attr] = value
    return roles, chosen


def _select_all(keys: list[str], value: bool) -> None:
    for key in keys:
        st.session_state[key] = value


def _open(transcript: str, turn: int) -> None:
    """(A button's callback.) Open a hit's transcript in the Coding page, which picks its
    transcript from the ``transcript`` key of the session (its transcript box). A page switch
    made by the app (``st.switch_page``) forgets every widget's value, so the sidebar's (who
    is coding, blind coding) are set again here, before the switch, to survive it."""
    for key in ("coder", "blind"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.session_state["transcript"] = transcript
    st.session_state["goto_turn"] = (transcript, turn)  # the Coding page scrolls to it
    st.session_state["_search_open"] = True


def _code_panel(ctx: Context, chosen: list[Hit], keys: list[str]) -> None:
    choices = ctx.code_choices()
    if not choices:
        st.info("The project has no codebook yet: choose one on the Project page to code hits.")
        return
    if not ctx.coder:
        st.info("Enter your name in the sidebar to code hits: every coding is stored with the "
                "coder's name.")
        return
    cols = st.columns([3, 2, 2])
    code = cols[0].selectbox("Code", choices, format_func=ctx.code_label, key="search_code")
    extent = cols[1].selectbox("Code what", list(review.EXTENTS),
                               format_func=review.EXTENTS.__getitem__, key="search_extent")
    cols[2].write("")
    if cols[2].button(f"Code selected hits ({len(chosen)})", type="primary",
                      disabled=not chosen, key="search_apply"):
        try:
            made = review.code_hits(ctx.store, chosen, code, ctx.coder, ctx.codebook, extent)
        except QualkitError as exc:
            st.session_state["_search_message"] = ("error", str(exc))
        else:
            st.session_state["_search_message"] = ("toast", _coded(
                len(made), len(chosen) - len(made), ctx.name(code)))
            _select_all(keys, False)
        st.rerun()


def _coded(made: int, skipped: int, name: str) -> str:
    text = f"Coded {made} passage{'s' if made != 1 else ''} with {name}"
    if skipped:
        text += f"; {skipped} {'was' if skipped == 1 else 'were'} already coded"
    return text + "."


def _message() -> None:
    item = st.session_state.pop("_search_message", None)
    if item:
        kind, text = item
        if kind == "toast":
            st.toast(text)
            st.success(text)
        else:
            st.error(text)


def _results(ctx: Context, query: SearchQuery, fresh: bool) -> tuple[list[Hit], bool]:
    """The hits of ``query``, kept for this session until the next search (ticking hits and
    coding them do not search again)."""
    kept = st.session_state.get("search_result")
    if fresh or kept is None or kept[0] != query:
        hits = search(ctx.store, query, limit=LIMIT + 1)
        kept = (query, hits[:LIMIT], len(hits) > LIMIT)
        st.session_state["search_result"] = kept
    return kept[1], kept[2]


def render() -> None:
    if st.session_state.pop("_search_open", False):
        st.switch_page("views/coding.py")
    ctx = load_context()
    st.title("Search")
    show_flash()
    _message()
    last: SearchQuery | None = st.session_state.get("search_query")
    if last is not None and "search_text" not in st.session_state:  # back from another page
        st.session_state["search_text"] = last.text
        st.session_state["search_mode"] = last.mode
    with st.form("search_form"):
        cols = st.columns([4, 2, 1])
        text = cols[0].text_input("Search for", key="search_text",
                                  placeholder="e.g. worked alone")
        mode = cols[1].selectbox("Match", list(MODES),
                                 format_func=lambda m: f"{m}: {MODES[m]}", key="search_mode")
        cols[2].write("")
        case = cols[2].checkbox("Match case", key="search_case")
        roles, attributes = _filters(ctx)
        submitted = st.form_submit_button("Search", type="primary")
    if submitted:
        st.session_state["search_query"] = SearchQuery(
            text=text, mode=mode, case_sensitive=case, roles=tuple(roles),
            attributes=attributes,
            language=ctx.codebook.language if ctx.codebook else "en")
    query: SearchQuery | None = st.session_state.get("search_query")
    if query is None or not query.text.strip():
        st.caption("Words: every word somewhere in one turn · phrase: the words in order · "
                   "lemma: the words in any form · regex: a regular expression. Hits are "
                   "shown in context; tick some and code them in one go.")
        return
    try:
        hits, more = _results(ctx, query, submitted)
    except QualkitError as exc:
        st.error(str(exc))
        return
    if not hits:
        st.info("No hits.")
        return
    shown = hits[:SHOWN]
    st.caption(f"{len(hits)}{'+' if more else ''} hit{'s' if len(hits) != 1 else ''}"
               + (f"; the first {SHOWN} are listed" if len(hits) > SHOWN else ""))
    keys = [_hit_key(h) for h in shown]
    a, b, _ = st.columns([1, 1, 4])
    a.button("Select all", on_click=_select_all, args=(keys, True), key="search_all")
    b.button("Clear selection", on_click=_select_all, args=(keys, False), key="search_none")
    chosen = [h for h, key in zip(shown, keys) if st.session_state.get(key)]
    _code_panel(ctx, chosen, keys)
    st.divider()
    for n, (h, key) in enumerate(zip(shown, keys)):
        left, right = st.columns([12, 1])
        left.checkbox(_kwic(h), key=key)
        right.button("Open", key=f"search_open_{n}", on_click=_open,
                     args=(h.transcript, h.segment),
                     help="Open this transcript in the Coding page")
