"""Review queue: pending suggestions one at a time, the most uncertain first."""

from __future__ import annotations

import streamlit as st

from qualkit import review
from qualkit.model import strength
from qualkit.ui.common import (
    load_context,
    mark,
    plain,
    require_coder,
    run,
    show_error,
    show_flash,
)
from qualkit.ui.transcript_component import transcript_view


def _retrain(ctx, coder: str) -> str:
    from qualkit.retrain import describe, retrain

    bar = st.progress(0.0, text="Training on your decisions…")

    def progress(done: int, total: int, item: str) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{item or 'working'}…")

    report = retrain(ctx.project, coder, progress)
    bar.empty()
    return describe(report)


def render() -> None:
    ctx = load_context()
    st.title("Review queue")
    show_flash()
    coder = require_coder(ctx)
    with st.sidebar:
        st.divider()
        if st.button("Retrain and re-suggest", help="Learn from every decision made so far "
                     "and refresh the suggestions of the transcripts still open (this also "
                     "happens by itself after every few decisions)."):
            run(lambda: _retrain(ctx, coder), where="retrain", ctx=ctx)
        show_error("retrain")
    skipped = st.session_state.setdefault("skipped", set())
    queue = [c for c in review.pending(ctx.store, coder) if c.id not in skipped]
    st.caption(f"{len(queue)} suggestions waiting for you, most uncertain first. Keys: "
               "a accept · r reject (with the suggestion focused).")
    show_error("queue")
    if not queue:
        st.success("Nothing left to review." + (" (Some were skipped.)" if skipped else ""))
        if skipped and st.button("Show skipped again"):
            skipped.clear()
            st.rerun()
        return
    c = queue[0]
    cid = c.id
    if cid is None:  # every coding read from the store has its row id
        raise RuntimeError(f"a pending suggestion of {c.code_id!r} has no id")
    transcript = ctx.store.load_transcript(c.transcript)
    seg = next((s for s in transcript.segments if s.index == c.segment_index), None)
    around = [s for s in transcript.segments
              if seg is not None and seg.index - 1 <= s.index <= seg.index]
    st.markdown(f"**{plain(ctx.code_label(c.code_id))}** · suggested, "
                f"{strength(c.score, c.confidence)} · {plain(c.transcript)}"
                + (f", turn {c.segment_index}" if c.segment_index is not None else ""))
    if c.rationale:
        st.caption(c.rationale)
    segments = [{"i": s.index, "start": s.start, "end": s.end, "speaker": s.speaker,
                 "ts": s.timestamp, "text": s.text, "role": s.role} for s in around]
    result = transcript_view(segments, [mark(ctx, c)], key=f"queue_{cid}", selected=cid,
                             current=c.segment_index, focus=True)
    cols = st.columns(4)
    what = ctx.name(c.code_id)
    if cols[0].button("Accept", type="primary", key="q_accept"):
        run(lambda: review.accept(ctx.store, cid, coder, codebook=ctx.codebook),
            f"Accepted {what}.", where="queue", ctx=ctx)
    if cols[1].button("Reject", key="q_reject"):
        run(lambda: review.reject(ctx.store, cid, coder), f"Rejected {what}.", where="queue",
            ctx=ctx)
    if cols[2].button("Skip", key="q_skip"):
        skipped.add(cid)
        st.rerun()
    choices = ctx.code_choices()
    other = cols[3].selectbox("Other code", choices, format_func=ctx.code_label,
                              index=choices.index(c.code_id) if c.code_id in choices else 0,
                              label_visibility="collapsed", key=f"q_other_{cid}")
    if other != c.code_id and st.button(f"Accept as {ctx.name(other)}", key="q_recode"):
        run(lambda: review.accept(ctx.store, cid, coder, code_id=other, codebook=ctx.codebook),
            f"Accepted as {ctx.name(other)}.", where="queue", ctx=ctx)
    action = result.action
    if action and action.get("id") == cid:
        if action.get("op") == "accept":
            run(lambda: review.accept(ctx.store, cid, coder, codebook=ctx.codebook),
                f"Accepted {what}.", where="queue", ctx=ctx)
        elif action.get("op") == "reject":
            run(lambda: review.reject(ctx.store, cid, coder), f"Rejected {what}.",
                where="queue", ctx=ctx)
