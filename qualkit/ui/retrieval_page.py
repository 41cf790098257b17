"""Retrieval: every passage coded with a code (a theme: any code under it), optionally with a
second code in the same turn or within one group of participants; each in its context, with a
jump to its place in the transcript and recode / uncode / memo through ``qualkit.review``."""

from __future__ import annotations

import streamlit as st

from qualkit import retrieval, review
from qualkit.analysis import INCLUDE
from qualkit.ui.common import Context, load_context, plain, run, show_flash

ANY = "(any participant)"
NONE = "—"
PAGE_SIZE = 50
# status marks in Streamlit Markdown: colour and a Material icon (served by the app itself)
ACCEPTED = ":green[:material/check_circle: accepted]"
PENDING = ":orange[:material/pending: pending suggestion]"


def _open(transcript: str, turn: int | None) -> None:
    """(A button's callback.) Open a passage in the Coding page, scrolled to its turn. A page
    switch forgets every widget's value, so the sidebar's (who is coding, blind coding) are
    set again first, to survive it."""
    for key in ("coder", "blind"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.session_state["transcript"] = transcript
    st.session_state["goto_turn"] = (transcript, turn if turn is not None else 0)
    st.session_state["_retrieval_open"] = True


def _attributes(ctx: Context) -> list[str]:
    return sorted({k for t in ctx.store.transcripts() for k, v in t.attributes.items()
                   if isinstance(v, (str, int, float, bool))})


def render() -> None:
    if st.session_state.pop("_retrieval_open", False):
        st.switch_page("views/coding.py")
    ctx = load_context()
    st.title("Retrieval")
    show_flash()
    if ctx.codebook is None:
        st.info("The project has no codebook yet: choose one on the Project page.")
        return
    ids = ctx.codebook.ids()
    a, b = st.columns(2)
    code = a.selectbox("Code or theme", ids, format_func=ctx.code_label, key="rt_code",
                       help="A theme brings every passage coded with any code under it.")
    other = b.selectbox("…in the same turn as (optional)", [NONE] + ids,
                        format_func=lambda c: c if c == NONE else ctx.code_label(c),
                        key="rt_with")
    c, d, e = st.columns([2, 2, 3])
    attrs = _attributes(ctx)
    attribute = c.selectbox("Participants", [ANY] + attrs, key="rt_attr",
                            format_func=lambda x: x if x == ANY else f"by {x}")
    value = None
    if attribute != ANY:
        value = d.selectbox(f"{attribute} is", retrieval.attribute_values(ctx.store, attribute),
                            key=f"rt_value_{attribute}")
    include = e.radio("Count", list(INCLUDE), horizontal=True, key="rt_include",
                      format_func=lambda k: INCLUDE[k].description.capitalize())
    context = st.slider("Turns of context before and after", 0, retrieval.MAX_CONTEXT, 1,
                        key="rt_context")
    found = retrieval.passages(
        ctx.store, ctx.codebook, code, with_code=None if other == NONE else other,
        attribute=None if attribute == ANY else attribute, value=value, include=include,
        context=context, coders=[ctx.coder] if ctx.blind and ctx.coder else None)
    pending = sum(p.pending for p in found)
    st.caption(f"{len(found)} passages" + (f" ({pending} pending suggestions)" if pending
                                           else "")
               + (f"; showing the first {PAGE_SIZE}" if len(found) > PAGE_SIZE else ""))
    if not found:
        st.info("No passage matches: try counting suggestions too, or another group.")
    for p in found[:PAGE_SIZE]:
        _passage(ctx, p)


def _passage(ctx: Context, p: retrieval.Passage) -> None:
    key = f"{p.coding_id}_{p.version}"
    with st.container(border=True):
        badge = PENDING if p.pending else ACCEPTED
        st.markdown(f"**{plain(p.participant)}** · {plain(p.location)} · "
                    f"{plain(p.speaker)} · {plain(ctx.name(p.code_id))} · {badge} · "
                    f"{plain(p.coder)}")
        st.markdown(f"> {plain(p.text)}")
        if p.memo:
            st.caption(f"Memo: {plain(p.memo)}")
        if p.before or p.after:
            with st.expander("Context"):
                for t in p.before:
                    st.caption(f"{t.index + 1} · {plain(t.speaker)}: {plain(t.text)}")
                st.markdown(f"**{p.turn + 1 if p.turn is not None else ''} · "
                            f"{plain(p.speaker)}:** {plain(p.text)}")
                for t in p.after:
                    st.caption(f"{t.index + 1} · {plain(t.speaker)}: {plain(t.text)}")
        cols = st.columns([2, 3, 1, 1])
        cols[0].button("Open in transcript", key=f"rt_open_{key}", on_click=_open,
                       args=(p.transcript, p.turn), icon=":material/open_in_new:")
        if not ctx.coder:
            cols[1].caption("Enter your name in the sidebar to change codings.")
            return
        _actions(ctx, p, key, cols)


def _actions(ctx: Context, p: retrieval.Passage, key: str, cols: list) -> None:
    coder = ctx.coder
    assert p.coding_id is not None
    cid, version = p.coding_id, p.version
    choices = ctx.code_choices()
    if p.pending:
        new = cols[1].selectbox("Code", choices, format_func=ctx.code_label,
                                index=choices.index(p.code_id) if p.code_id in choices else 0,
                                key=f"rt_recode_{key}", label_visibility="collapsed")
        if cols[2].button("Accept", key=f"rt_accept_{key}", type="primary",
                          help="Accept the suggestion with the code chosen beside"):
            run(lambda: review.accept(ctx.store, cid, coder, code_id=new,
                                      codebook=ctx.codebook),
                f"Accepted as {ctx.name(new)}.", ctx=ctx)
        if cols[3].button("Reject", key=f"rt_reject_{key}"):
            run(lambda: review.reject(ctx.store, cid, coder), "Rejected.", ctx=ctx)
        return
    if p.coder != coder:
        cols[1].caption(f"Coded by {plain(p.coder)}: only they can change it.")
        return
    new = cols[1].selectbox("Code", choices, format_func=ctx.code_label,
                            index=choices.index(p.code_id) if p.code_id in choices else 0,
                            key=f"rt_recode_{key}", label_visibility="collapsed")
    if cols[2].button("Recode", key=f"rt_recode_btn_{key}", disabled=new == p.code_id):
        run(lambda: review.set_code(ctx.store, cid, new, coder, version, ctx.codebook),
            f"Recoded as {ctx.name(new)}.", ctx=ctx)
    if cols[3].button("Uncode", key=f"rt_uncode_{key}"):
        run(lambda: review.remove(ctx.store, cid, coder, version), "Coding removed.", ctx=ctx)
    memo = st.text_input("Memo", value=p.memo, key=f"rt_memo_{key}")
    if memo != p.memo and st.button("Save memo", key=f"rt_memo_btn_{key}"):
        run(lambda: review.set_memo(ctx.store, cid, memo, coder, version), "Memo saved.",
            ctx=ctx)
