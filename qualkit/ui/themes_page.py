"""Themes: frequencies, participant coverage, framework matrix, co-occurrence and extracts."""

from __future__ import annotations

import streamlit as st

from qualkit.analysis import (
    INCLUDE,
    AnalysisData,
    cooccurrence,
    coverage_by_attribute,
    extracts,
    framework_matrix,
    frequencies,
    statuses_for,
)
from qualkit.ui.common import load_context, plain, show_flash


def _show_extracts(items: list) -> None:
    if not items:
        st.caption("No coded passages.")
    for e in items:
        st.markdown(f"> {plain(e.text)}")
        st.caption(f"{e.participant} ({e.transcript}) · {e.code_id} · {e.coder}"
                   + (f" · memo: {e.memo}" if e.memo else ""))


def render() -> None:
    ctx = load_context()
    st.title("Themes")
    show_flash()
    choices = ("accepted", "all")  # of analysis.INCLUDE
    which = st.radio("Count", choices, horizontal=True,
                     format_func=lambda k: INCLUDE[k].description.capitalize(),
                     help="Suggestions count only while nobody has accepted or rejected them.")
    statuses = statuses_for(which, choices)
    coders = None
    if ctx.blind and ctx.coder:
        coders = [ctx.coder]
    data = AnalysisData.from_store(ctx.store, ctx.codebook, statuses, coders)
    if not data.attributes:
        st.info("No transcripts yet.")
        return
    freq = frequencies(data)
    st.subheader("Frequencies and coverage")
    st.caption(f"Coverage: how many of the {len(data.attributes)} participants mention each "
               "code (a theme counts any of its codes).")
    st.dataframe(freq, hide_index=True, width="stretch")

    attrs = sorted({k for a in data.attributes.values() for k, v in a.items()
                    if isinstance(v, (str, int, bool))})
    st.subheader("Framework matrix")
    by = st.selectbox("Rows", ["transcript"] + attrs, key="matrix_by")
    matrix = framework_matrix(data, None if by == "transcript" else by)
    leaves = data.leaf_order()
    st.dataframe(matrix[leaves], width="stretch")
    a, b = st.columns(2)
    row = a.selectbox("Extracts for row", list(matrix.index), key="cell_row")
    code = b.selectbox("and code", leaves, format_func=ctx.code_label, key="cell_code")
    with st.expander(f"Extracts: {row} × {ctx.name(code)}", expanded=False):
        groups = data.groups(None if by == "transcript" else by)
        names = [n for n, value in groups.items() if value == row]
        _show_extracts([e for e in extracts(data, code) if e.transcript in names])

    if attrs:
        st.subheader("Coverage by participant attribute")
        attribute = st.selectbox("Attribute", attrs,
                                 index=attrs.index("works_alone") if "works_alone" in attrs
                                 else 0, key="coverage_attr")
        st.dataframe(coverage_by_attribute(data, attribute), hide_index=True,
                     width="stretch")

    st.subheader("Co-occurrence")
    table = cooccurrence(data, leaves)
    import plotly.express as px

    labels = [ctx.name(c) for c in leaves]
    fig = px.imshow(table.values, x=labels, y=labels, color_continuous_scale="Blues",
                    labels={"color": "segments"}, aspect="auto", text_auto=True)
    fig.update_layout(height=max(400, 24 * len(leaves)), margin={"l": 10, "r": 10, "t": 10})
    st.plotly_chart(fig, width="stretch")

    st.subheader("Extracts")
    c1, c2 = st.columns(2)
    first = c1.selectbox("Code", data.code_order(), format_func=ctx.code_label, key="ex_a")
    second = c2.selectbox("…together with (optional)", ["—"] + leaves,
                          format_func=lambda c: c if c == "—" else ctx.code_label(c),
                          key="ex_b")
    _show_extracts(extracts(data, first, None if second == "—" else second, limit=50))
