"""Coding view: read a transcript with its codes, decide on suggestions, code by hand, memo."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from qualkit import review
from qualkit.errors import StoreError
from qualkit.model import MAX_PER_TURN, Transcript, strength
from qualkit.ui.common import (
    Context,
    coder_label,
    load_context,
    mark,
    plain,
    require_coder,
    run,
    show_error,
    show_flash,
)
from qualkit.ui.transcript_component import KEYS_HELP, PLAYER_KEY, transcript_view


def _filters(infos: list) -> list:
    attrs = sorted({k for i in infos for k, v in i.attributes.items()
                    if isinstance(v, (str, int, float, bool))})
    if not attrs:
        return infos
    with st.expander("Filter by participant attributes"):
        cols = st.columns(min(3, len(attrs)))
        chosen = {}
        for n, attr in enumerate(attrs):
            values = sorted({str(i.attributes.get(attr)) for i in infos if attr in i.attributes})
            chosen[attr] = cols[n % len(cols)].multiselect(attr, values, key=f"filter_{attr}")
    return [i for i in infos if all(not v or str(i.attributes.get(a)) in v
                                    for a, v in chosen.items())]


def _turn_parts(transcript: Transcript, start: int, end: int) -> list[tuple[int, int, int]]:
    """The selection clipped to each speaker turn holding some of its words:
    (turn index, start, end)."""
    text = transcript.text
    parts = []
    for seg in transcript.segments:
        a, b = max(start, seg.start), min(end, seg.end)
        if a < b and text[a:b].strip():
            parts.append((seg.index, a, b))
    return parts


class _Part:
    """One turn's part of a selection, as ``review.code_hits`` takes passages."""

    def __init__(self, transcript: str, segment: int, start: int, end: int) -> None:
        self.transcript, self.segment, self.start, self.end = transcript, segment, start, end


def _selection_panel(ctx: Context, transcript: Transcript, coder: str) -> None:
    name = transcript.name
    sel = st.session_state.get("selection")
    if not sel or sel.get("transcript") != name:
        st.caption("Select words in the transcript to code them by hand.")
        show_error("hand")
        return
    st.markdown("**Selected passage**")
    st.caption(f"“{sel['text'][:300]}”")
    parts = _turn_parts(transcript, sel["start"], sel["end"])
    choices = ctx.code_choices_for(coder)
    code = st.selectbox("Code", choices, format_func=ctx.code_label, key="hand_code",
                        help="The codes you used most recently come first.")
    if len(parts) > 1:
        st.caption(f"The selection runs across {len(parts)} speaker turns. A coding belongs "
                   f"to one turn, so each turn's part becomes its own coding ({len(parts)} "
                   "in all; one undo takes them all back).")
        if st.button(f"Code each turn's part ({len(parts)})", type="primary",
                     key="hand_apply"):
            st.session_state.pop("selection", None)
            passages = [_Part(name, i, a, b) for i, a, b in parts]
            run(lambda: review.code_hits(ctx.store, passages, code, coder, ctx.codebook),
                f"Coded {len(parts)} passages, one per turn, as {ctx.name(code)}.",
                where="hand", ctx=ctx)
    else:
        memo = st.text_input("Memo (optional)", key="hand_memo")
        if st.button("Code selection", type="primary", key="hand_apply"):
            st.session_state.pop("selection", None)
            run(lambda: review.code_passage(ctx.store, name, sel["start"], sel["end"], code,
                                            coder, memo, ctx.codebook),
                f"Coded as {ctx.name(code)}.", where="hand", ctx=ctx)
    show_error("hand")


def _coding_panel(ctx: Context, coding_id: int, coder: str) -> None:
    try:
        c = ctx.store.get_coding(coding_id)
    except StoreError:  # removed meanwhile
        st.session_state.pop("selected", None)
        return
    st.markdown(f"**{plain(ctx.code_label(c.code_id))}** · {c.status}"
                + (f" · {strength(c.score, c.confidence)}" if c.status == "suggested" else "")
                + f" · {plain(coder_label(c))}")
    if c.rationale:
        st.caption(c.rationale)
    choices = ctx.code_choices()
    sel = st.session_state.get("selection")
    if c.status == "suggested":
        a, b = st.columns(2)
        if a.button("Accept", type="primary", key="sel_accept"):
            run(lambda: review.accept(ctx.store, c.id, coder, codebook=ctx.codebook),
                f"Accepted {ctx.name(c.code_id)}.", where="panel", ctx=ctx)
        if b.button("Reject", key="sel_reject"):
            run(lambda: review.reject(ctx.store, c.id, coder),
                f"Rejected {ctx.name(c.code_id)}.", where="panel", ctx=ctx)
        other = st.selectbox("Change the code to", choices, format_func=ctx.code_label,
                             index=choices.index(c.code_id) if c.code_id in choices else 0,
                             key="sel_recode")
        if st.button("Accept with this code", key="sel_recode_btn"):
            run(lambda: review.accept(ctx.store, c.id, coder, code_id=other,
                                      codebook=ctx.codebook), f"Accepted as {ctx.name(other)}.",
                where="panel", ctx=ctx)
        if sel and sel.get("transcript") == c.transcript:
            if st.button("Accept with the selected words as span", key="sel_span"):
                run(lambda: review.accept(ctx.store, c.id, coder, start=sel["start"],
                                          end=sel["end"], codebook=ctx.codebook),
                    f"Accepted {ctx.name(c.code_id)} on the selected words.", where="panel",
                    ctx=ctx)
    elif c.coder == coder:
        memo = st.text_area("Memo", value=c.memo, key=f"memo_{c.id}_{c.version}")
        if st.button("Save memo", key="sel_memo"):
            run(lambda: review.set_memo(ctx.store, c.id, memo, coder, c.version),
                "Memo saved.", where="panel", ctx=ctx)
        if sel and sel.get("transcript") == c.transcript and st.button(
                "Use the selected words as span", key="sel_setspan"):
            run(lambda: review.set_span(ctx.store, c.id, sel["start"], sel["end"], coder,
                                        c.version), "Now coded on the selected words.",
                where="panel", ctx=ctx)
        if st.button("Remove this coding", key="sel_remove"):
            st.session_state.pop("selected", None)
            run(lambda: review.remove(ctx.store, c.id, coder, c.version),
                f"Removed your {ctx.name(c.code_id)} coding.", where="panel", ctx=ctx)
    show_error("panel")


@st.cache_resource(max_entries=2, show_spinner=False)
def _recording(_store: Any, url: str, transcript: str, sha256: str) -> bytes:
    """A recording's bytes, read once per project, transcript and version (``_store`` is not
    part of the key). Streamlit's media file manager serves the player from memory anyway,
    holding this same object."""
    from qualkit.media import read_bytes

    return read_bytes(_store, transcript)


def _player(ctx: Context, name: str, coder: str) -> bool:
    """The transcript's recording (a player the turns' play buttons seek) and the uploader that
    attaches or replaces it; whether there is a recording."""
    from qualkit import media
    from qualkit.fileio import save_upload, upload_stem, upload_suffix

    info = ctx.store.media_info(name)
    if info is not None:
        st.markdown("**Recording**")
        data = _recording(ctx.store, ctx.store.url, name, info.sha256)
        with st.container(key=PLAYER_KEY):
            if media.is_video(info.mime):
                st.video(data, format=info.mime)
            else:
                st.audio(data, format=info.mime)
        st.caption(f"{plain(info.name)} · {info.size / 1024 ** 2:,.1f} MB. ▶ on a turn plays from "
                   "its timestamp.")
    label = "Replace the recording" if info is not None else "Attach a recording"
    with st.expander(label):
        upload = st.file_uploader(f"Audio or video ({media.describe()})",
                                  type=[e.lstrip(".") for e in media.MEDIA_TYPES],
                                  key=f"media_upload_{name}")
        if upload is not None and st.button("Attach", key=f"media_attach_{name}"):
            def attach() -> None:
                import tempfile

                with tempfile.TemporaryDirectory() as tmp:
                    path = save_upload(tmp, upload.name, upload.getvalue())
                    media.attach(ctx.store, name, path, coder,
                                 name=upload_stem(upload.name) + upload_suffix(upload.name))
            run(attach, f"Recording attached to {name}.", where="media", ctx=ctx)
        show_error("media")
    return info is not None


def render() -> None:
    ctx = load_context()
    st.title("Coding")
    show_flash()
    coder = require_coder(ctx)
    infos = ctx.store.transcripts()
    if not infos:
        st.info("No transcripts yet: import some on the Project page or with `qualkit import`.")
        return
    shown = _filters(infos)
    if not shown:
        st.warning("No transcript matches these filters.")
        return
    labels = {i.name: f"{i.name} ({i.segments} turns)" for i in shown}
    name = st.selectbox("Transcript", list(labels), format_func=labels.__getitem__,
                        key="transcript")
    transcript = ctx.store.load_transcript(name)
    if transcript.attributes:
        st.caption(" · ".join(f"{k}: {v}" for k, v in transcript.attributes.items()
                              if not isinstance(v, (dict, list))))
    every = ctx.store.codings(transcript=name)
    held = review.held_back(every, coder)
    show_all = held > 0 and st.toggle(
        f"Show {held} more suggestions", key="show_held",
        help=f"Each turn shows its {MAX_PER_TURN} strongest suggestions; the others wait "
             "until one of those is decided.")
    codings = review.visible(every, coder, ctx.blind, all_suggestions=show_all)
    pending = sum(c.status == "suggested" for c in codings)
    st.caption(f"{pending} suggestions to review · {len(codings) - pending} decisions shown"
               + (" (yours only: blind)" if ctx.blind else "")
               + ". Dashed: qualkit's suggestions; solid: decisions.")
    st.caption(KEYS_HELP)
    with st.sidebar:
        st.divider()
        has_media = _player(ctx, name, coder)
        st.divider()
        selected = st.session_state.get("selected")
        if selected:
            _coding_panel(ctx, selected, coder)
            st.divider()
        _selection_panel(ctx, transcript, coder)
        st.divider()
        memos = ctx.store.transcript_memos(name)
        saved = memos.get(coder, "")
        # keyed by what is stored, so an undo (or another tab) shows in the box at once
        # instead of the box keeping, and a second Save writing back, the old text
        memo = st.text_area("Transcript memo", value=saved,
                            key=f"tmemo_{name}_{hashlib.sha1(saved.encode()).hexdigest()[:12]}")
        if st.button("Save transcript memo"):
            run(lambda: review.set_transcript_memo(ctx.store, name, memo, coder),
                "Transcript memo saved.", where="tmemo", ctx=ctx)
        show_error("tmemo")
        for other, text in memos.items():
            if other != coder and not ctx.blind:
                st.caption(f"{other}: {text}")
        st.divider()
        marked = ctx.store.coded_ranges().get(name, {}).get(coder)
        if marked:
            st.caption("You marked this transcript as coded: agreement counts you in all of "
                       "its turns, \"none of the codes\" where you applied nothing.")
        elif st.button("I have coded this whole transcript", key="mark_coded",
                       help="Agreement counts a coder only in the turns they decided on, "
                            "unless they say they worked through the whole transcript."):
            run(lambda: review.mark_coded(ctx.store, name, coder),
                f"Marked {name} as coded by you.", where="mark", ctx=ctx)
        show_error("mark")
    from qualkit.media import seconds_or_none

    segments = [{"i": s.index, "start": s.start, "end": s.end, "speaker": s.speaker,
                 "ts": s.timestamp, "at": seconds_or_none(s.timestamp), "text": s.text,
                 "role": s.role}
                for s in transcript.segments]
    # a turn to show once, scrolled to and marked, from the Search page's "Open"
    goto = st.session_state.pop("goto_turn", None)
    current = goto[1] if isinstance(goto, tuple) and goto[0] == name else None
    show_error("view")
    result = transcript_view(segments, [mark(ctx, c) for c in codings], key=f"view_{name}",
                             selected=st.session_state.get("selected"), current=current,
                             player=has_media)
    if result.selection:
        st.session_state["selection"] = {**result.selection, "transcript": name}
        st.rerun()
    action = result.action
    if action:
        op, cid = action.get("op"), action.get("id")
        what = next((ctx.name(c.code_id) for c in codings if c.id == cid), "the suggestion")
        if op == "select":
            st.session_state["selected"] = cid
            st.rerun()
        elif op == "clear":
            st.session_state.pop("selected", None)
            st.rerun()
        elif op == "accept":
            run(lambda: review.accept(ctx.store, cid, coder, codebook=ctx.codebook),
                f"Accepted {what}.", where="view", ctx=ctx)
        elif op == "reject":
            run(lambda: review.reject(ctx.store, cid, coder), f"Rejected {what}.",
                where="view", ctx=ctx)
