"""Topics: run or load the latest topic model, browse topics and their extracts, promote one."""

from __future__ import annotations

from functools import partial

import streamlit as st

from qualkit.ui.common import load_context, plain, run, show_flash


def render() -> None:
    ctx = load_context()
    st.title("Topics")
    show_flash()
    st.caption("BERTopic over the participants' passages: themes the codebook may lack. Topics "
               "whose passages carry few codes are flagged as candidate new codes.")
    from qualkit.topics import TopicSettings, latest_run, topic_figures

    with st.expander("Run the topic model"):
        unassigned = st.checkbox("Only passages without an accepted code")
        seed = st.number_input("Random state", value=0, step=1)
        size = st.number_input("Smallest topic (0: scaled to the corpus)", value=0, step=1)
        if st.button("Run topics", type="primary"):
            from qualkit.topics import run_topics

            bar = st.progress(0.0, text="Embedding passages…")

            def progress(done: int, total: int, item: str) -> None:
                bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{item}…")

            settings = TopicSettings(unassigned, int(size) or None, int(seed))

            def work() -> str:
                found = run_topics(ctx.project, settings, ctx.coder or "app", progress)
                return f"Found {len(found.topics)} topics."

            run(work)
    latest = latest_run(ctx.project)
    if latest is None:
        st.info("No topic run yet: run the topic model above (the first run takes a minute).")
        return
    st.write(f"Run {latest.id} of {latest.created_at}: {len(latest.topics)} topics over "
             f"{len(latest.passages)} passages from {latest.participants} transcripts.")
    with st.spinner("Drawing the topic map…"):  # once per run: stored with it after that
        figures = topic_figures(ctx.project, latest)
    charts = [name for name in ("map", "barchart") if name in figures]
    if charts:
        import plotly.io as pio

        for tab, name in zip(st.tabs(["Topic map" if n == "map" else "Top words"
                                      for n in charts]), charts):
            tab.plotly_chart(pio.from_json(figures[name]), width="stretch")
    for t in latest.topics:
        title = f"Topic {t.id}: {t.label} — {t.size} passages, {t.participants}/" \
                f"{latest.participants} participants" + (f" · {t.hint}" if t.hint else "")
        with st.expander(title, expanded=t.candidate):
            st.write("**Keywords:** " + ", ".join(w for w, _ in t.keywords[:10]))
            st.write(f"**Already coded:** {t.coded_share:.0%} of passages"
                     + (" — " + ", ".join(f"{ctx.name(c)} ({n})" for c, n in
                                          list(t.overlap.items())[:5]) if t.overlap else ""))
            for i in t.extracts:
                p = latest.passages[i]
                st.markdown(f"> {plain(p.text)}")
                st.caption(f"{p.speaker}, {p.transcript}")
            code_name = st.text_input("Code name",
                                      value=t.label.replace(" · ", " / ").capitalize(),
                                      key=f"topic_name_{latest.id}_{t.id}")
            if st.button("Promote to a code", key=f"promote_{latest.id}_{t.id}",
                         disabled=ctx.codebook is None):
                run(partial(_promote, ctx, latest, t.id, code_name))


def _promote(ctx, latest, topic_id: int, name: str) -> str:
    from qualkit.topics import promote

    code, added = promote(ctx.project, latest, topic_id, ctx.coder or "app", name)
    return f"Added '{code.name}' to the codebook with {added} suggestions to review."
