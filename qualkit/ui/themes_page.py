"""Themes: coverage charts by participant attribute, a theme map (themes, codes and how strongly
they co-occur) to rearrange and download, full-width tables by name, extracts marked accepted or
pending, memos on codes and themes, and the project journal.

The figures are computed here from ``analysis`` (the one home of the counts); the theme map's
layout and its downloadable picture (PNG or SVG drawn by matplotlib on the server, so nothing
is fetched from the internet and no kaleido is needed) are plain functions, tested without a
browser.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from qualkit import journal, retrieval
from qualkit.analysis import (
    INCLUDE,
    AnalysisData,
    cooccurrence,
    cooccurring,
    coverage_by_attribute,
    framework_matrix,
    frequencies,
    statuses_for,
)
from qualkit.errors import QualkitError
from qualkit.ui.common import Context, load_context, plain, run, show_flash
from qualkit.ui.retrieval_page import ACCEPTED, PENDING

ALL = "All participants"
LAYOUTS = {"circle": "Circle (codes beside their theme)",
           "spring": "Spring (codes that occur together pull close)"}
TABLE_ROW_PX = 35
MIN_LINKS = 8


# --------------------------------------------------------------------------------------------
# The theme map: nodes, edges, layouts and a picture of it


@dataclass
class Node:
    id: str
    name: str
    color: str
    theme: bool
    segments: int
    parent: str | None = None  # the theme it hangs from (a node too), if any


@dataclass
class Edge:
    a: str
    b: str
    weight: int  # segments carrying both; 0 for a theme -> code link
    kind: str = "cooccur"  # or "member"


@dataclass
class ThemeMap:
    nodes: list[Node]
    edges: list[Edge]
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def strongest(self) -> int:
        return max((e.weight for e in self.edges if e.kind == "cooccur"), default=0)


def theme_map(data: AnalysisData, themes_only: bool = False, minimum: int = 1) -> ThemeMap:
    """Themes and the codes that occur, hung from their themes, with co-occurrence (segments
    carrying both) between codes as weighted edges; with ``themes_only``, the top-level
    themes and how often they share a segment. Pairs sharing fewer than ``minimum`` segments
    are left out."""
    book = data.codebook
    index = data.index()
    units = {c: len({(u[0], u[1]) for u in data.units(c)}) for c in data.code_order()}
    nodes: list[Node] = []
    if themes_only:
        tops = [c.id for c in book.codes] if book else data.code_order()
        for cid in tops:
            if units.get(cid):
                code = index.get(cid) if index else None
                nodes.append(Node(cid, data.name(cid), _color(data, cid),
                                  bool(code and code.children), units[cid]))
        linked = [n.id for n in nodes]
    else:
        leaves = [c for c in data.leaf_order() if units.get(c)]
        keep = set(leaves)
        for cid in leaves:  # and every theme above an occurring code
            keep |= {a.id for a in (index.ancestors(cid) if index else [])}
        for cid in data.code_order():
            if cid in keep:
                parent = index.ancestors(cid)[0].id if index and index.ancestors(cid) else None
                nodes.append(Node(cid, data.name(cid), _color(data, cid), cid not in leaves,
                                  units.get(cid, 0), parent))
        linked = leaves
    edges = [Edge(n.parent, n.id, 0, "member") for n in nodes if n.parent]
    together = cooccurring(data, linked) if linked else {}
    for i, a in enumerate(linked):
        for b in linked[i + 1:]:
            n = together.get(a, {}).get(b, 0)
            if n >= max(1, minimum):
                edges.append(Edge(a, b, n))
    return ThemeMap(nodes, edges)


def readable_minimum(tmap: ThemeMap) -> int:
    """A first threshold for links that keeps the map readable: about as many links as marks
    (at least ``MIN_LINKS``), the strongest ones."""
    weights = sorted((e.weight for e in tmap.edges if e.kind == "cooccur"), reverse=True)
    keep = max(MIN_LINKS, len(tmap.nodes))
    return weights[keep - 1] if len(weights) > keep else 1


def _color(data: AnalysisData, code_id: str) -> str:
    index = data.index()
    return index.color_of(code_id) if index is not None else "#888888"


def arrange(tmap: ThemeMap, how: str = "circle", seed: int = 1) -> ThemeMap:
    """Place the nodes (x, y in [-1, 1]): ``circle`` puts codes on a ring in codebook order
    beside their theme, themes on an inner ring; ``spring`` is a seeded force layout
    (Fruchterman-Reingold) where codes that occur together, and a theme and its codes, pull
    together. The same seed gives the same picture."""
    if how not in LAYOUTS:
        raise QualkitError(f"unknown layout {how!r}", field="layout",
                           hint="use " + " or ".join(LAYOUTS))
    nodes = tmap.nodes
    if not nodes:
        tmap.positions = {}
    elif how == "circle":
        tmap.positions = _circle(tmap)
    else:
        tmap.positions = _spring(tmap, seed)
    return tmap


def _circle(tmap: ThemeMap) -> dict[str, tuple[float, float]]:
    outer = [n for n in tmap.nodes if not n.theme] or tmap.nodes
    pos: dict[str, tuple[float, float]] = {}
    for i, n in enumerate(outer):
        angle = math.pi / 2 - 2 * math.pi * i / len(outer)
        pos[n.id] = (math.cos(angle), math.sin(angle))
    themes = [n for n in tmap.nodes if n.id not in pos]
    below: dict[str, list[str]] = {}
    for n in tmap.nodes:
        if n.parent:
            below.setdefault(n.parent, []).append(n.id)

    def placed_under(theme: str) -> list[tuple[float, float]]:
        out = []
        for child in below.get(theme, []):
            out += [pos[child]] if child in pos else placed_under(child)
        return out

    for j, n in enumerate(themes):
        points = placed_under(n.id)
        if points:
            x, y = sum(p[0] for p in points), sum(p[1] for p in points)
            norm = math.hypot(x, y)
            if norm > 1e-9:
                pos[n.id] = (0.55 * x / norm, 0.55 * y / norm)
                continue
        angle = math.pi / 2 - 2 * math.pi * j / max(len(themes), 1)
        pos[n.id] = (0.35 * math.cos(angle), 0.35 * math.sin(angle))
    return pos


def _spring(tmap: ThemeMap, seed: int, steps: int = 300) -> dict[str, tuple[float, float]]:
    import numpy as np

    ids = [n.id for n in tmap.nodes]
    n = len(ids)
    if n == 1:
        return {ids[0]: (0.0, 0.0)}
    at = {cid: i for i, cid in enumerate(ids)}
    weights = np.zeros((n, n))
    top = max(tmap.strongest, 1)
    for e in tmap.edges:
        w = 1.0 if e.kind == "member" else 0.3 + e.weight / top
        weights[at[e.a], at[e.b]] = weights[at[e.b], at[e.a]] = w
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (n, 2))
    k = math.sqrt(4.0 / n)
    temperature = 0.2
    for _ in range(steps):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        force = (k * k / dist ** 2 - weights * dist / k)[:, :, None] * delta
        shift = force.sum(axis=1)
        length = np.maximum(np.linalg.norm(shift, axis=-1), 1e-9)[:, None]
        pos += shift / length * np.minimum(length, temperature)
        temperature = max(temperature * 0.985, 0.005)
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max() or 1.0
    pos /= scale
    return {cid: (float(pos[i, 0]), float(pos[i, 1])) for i, cid in enumerate(ids)}


def _size(n: Node, biggest: int) -> float:
    """Marker diameter in points: the area grows with the segments."""
    return 10 + 30 * math.sqrt(n.segments / biggest) if biggest else 12


def _width(e: Edge, strongest: int) -> float:
    return 1 + 7 * e.weight / strongest if strongest else 1


def _alpha(e: Edge, strongest: int) -> float:
    return 0.15 + 0.6 * e.weight / strongest if strongest else 0.5


def _side(xy: tuple[float, float]) -> tuple[str, str, str, tuple[float, float]]:
    """Where a mark's label goes, away from the middle: plotly's textposition, matplotlib's
    horizontal and vertical alignment, and the offset direction."""
    x, y = xy
    if y > 0.35 or (abs(x) < 0.2 and y >= 0):
        return "top center", "center", "bottom", (0, 1)
    if y < -0.35 or abs(x) < 0.2:
        return "bottom center", "center", "top", (0, -1)
    if x > 0:
        return "middle right", "left", "center", (1, 0)
    return "middle left", "right", "center", (-1, 0)


def map_figure(tmap: ThemeMap) -> Any:
    """The theme map as a plotly figure (hover a node or a link's middle for its numbers)."""
    import plotly.graph_objects as go

    pos = tmap.positions
    fig = go.Figure()
    strongest = tmap.strongest
    for e in tmap.edges:
        (x0, y0), (x1, y1) = pos[e.a], pos[e.b]
        member = e.kind == "member"
        fig.add_trace(go.Scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
            line={"width": 1 if member else _width(e, strongest),
                  "color": "#bbbbbb" if member else
                  f"rgba(70, 90, 140, {_alpha(e, strongest):.2f})",
                  "dash": "dot" if member else "solid"}))
    names = {n.id: n.name for n in tmap.nodes}
    links = [e for e in tmap.edges if e.kind == "cooccur"]
    if links:
        fig.add_trace(go.Scatter(
            x=[(pos[e.a][0] + pos[e.b][0]) / 2 for e in links],
            y=[(pos[e.a][1] + pos[e.b][1]) / 2 for e in links], mode="markers",
            marker={"size": 8, "opacity": 0}, showlegend=False, hoverinfo="text",
            hovertext=[f"{names[e.a]} + {names[e.b]}: {e.weight} segment"
                       + ("s" if e.weight != 1 else "") for e in links]))
    biggest = max((n.segments for n in tmap.nodes), default=0)
    for theme in (True, False):
        group = [n for n in tmap.nodes if n.theme == theme]
        if not group:
            continue
        fig.add_trace(go.Scatter(
            x=[pos[n.id][0] for n in group], y=[pos[n.id][1] for n in group],
            mode="markers+text", name="themes" if theme else "codes",
            text=[n.name for n in group],
            textposition=[_side(pos[n.id])[0] for n in group],
            textfont={"size": 13 if theme else 11},
            marker={"size": [_size(n, biggest) for n in group],
                    "color": [n.color for n in group],
                    "symbol": "diamond" if theme else "circle",
                    "line": {"width": 2 if theme else 1, "color": "#333333"}},
            hoverinfo="text",
            hovertext=[f"{n.name}: {n.segments} segment" + ("s" if n.segments != 1 else "")
                       for n in group]))
    fig.update_layout(
        height=640, margin={"l": 10, "r": 10, "t": 10, "b": 10}, plot_bgcolor="white",
        legend={"orientation": "h"}, dragmode="pan",
        xaxis={"visible": False, "range": [-1.35, 1.35]},
        yaxis={"visible": False, "range": [-1.25, 1.3], "scaleanchor": "x"})
    return fig


def map_image(tmap: ThemeMap, fmt: str = "png") -> bytes:
    """The theme map as a picture for a paper (PNG at 200 dpi, or SVG), drawn on the server
    with matplotlib (``Figure`` and a plain canvas, never pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    if fmt not in ("png", "svg"):
        raise QualkitError(f"unknown picture format {fmt!r}", hint="use png or svg")
    fig = Figure(figsize=(9, 8), dpi=200)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96))
    ax.set_axis_off()
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.3, 1.35)
    ax.set_aspect("equal")
    pos = tmap.positions
    strongest = tmap.strongest
    for e in tmap.edges:
        (x0, y0), (x1, y1) = pos[e.a], pos[e.b]
        if e.kind == "member":
            ax.plot([x0, x1], [y0, y1], color="#bbbbbb", lw=0.8, ls=":", zorder=1)
        else:
            ax.plot([x0, x1], [y0, y1], color="#465a8c", alpha=_alpha(e, strongest),
                    lw=0.6 * _width(e, strongest), zorder=1, solid_capstyle="round")
    biggest = max((n.segments for n in tmap.nodes), default=0)
    for n in tmap.nodes:
        x, y = pos[n.id]
        ax.scatter([x], [y], s=_size(n, biggest) ** 2, c=[n.color],
                   marker="D" if n.theme else "o", edgecolors="#333333",
                   linewidths=1.5 if n.theme else 0.8, zorder=2)
        _, ha, va, (dx, dy) = _side((x, y))
        gap = _size(n, biggest) / 2 + 3
        ax.annotate(n.name, (x, y), textcoords="offset points",
                    xytext=(dx * gap, dy * gap), ha=ha, va=va,
                    fontsize=10 if n.theme else 8, fontweight="bold" if n.theme else "normal",
                    zorder=3)
    if not tmap.nodes:
        ax.text(0, 0, "Nothing coded yet", ha="center", va="center", color="#555555")
    buf = io.BytesIO()
    (FigureCanvasSVG if fmt == "svg" else FigureCanvasAgg)(fig)
    fig.savefig(buf, format=fmt, facecolor="white",
                metadata={"Date": None} if fmt == "svg" else None)  # the same map, same file
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Coverage by attribute


def coverage_rows(data: AnalysisData, codes: list[str], by: str | None,
                  label: Any) -> list[dict[str, Any]]:
    """Per code (and value of ``by``): participants mentioning it of those in the group, the
    counts from ``analysis.coverage_by_attribute`` (or ``frequencies`` without a split)."""
    rows: list[dict[str, Any]] = []
    if by is None:
        freq = frequencies(data).set_index("code").to_dict("index")
        for c in codes:
            have, of = int(freq[c]["participants"]), int(freq[c]["of"])
            rows.append({"code": label(c), "group": ALL, "participants": have, "of": of,
                         "share": 100 * have / of if of else 0.0})
        return rows
    split = coverage_by_attribute(data, by).set_index("code").to_dict("index")
    prefix = f"{by}="
    for c in codes:
        for column, cell in split[c].items():
            if str(column).startswith(prefix):
                have, of = (int(x) for x in str(cell).split("/"))
                rows.append({"code": label(c), "group": str(column)[len(prefix):],
                             "participants": have, "of": of,
                             "share": 100 * have / of if of else 0.0})
    return rows


def _attributes(data: AnalysisData) -> list[str]:
    return sorted({k for a in data.attributes.values() for k, v in a.items()
                   if isinstance(v, (str, int, float, bool))})


def _table_height(rows: int) -> int:
    return TABLE_ROW_PX * (min(rows, 40) + 1) + 3


# --------------------------------------------------------------------------------------------
# The page


def render() -> None:
    ctx = load_context()
    st.title("Themes")
    show_flash()
    choices = ("accepted", "all")  # of analysis.INCLUDE
    which = st.radio("Count", choices, horizontal=True, key="themes_include",
                     format_func=lambda k: INCLUDE[k].description.capitalize(),
                     help="Suggestions count only while nobody has accepted or rejected them.")
    statuses = statuses_for(which, choices)
    coders = [ctx.coder] if ctx.blind and ctx.coder else None
    data = AnalysisData.from_store(ctx.store, ctx.codebook, statuses, coders)
    charts, tmap, tables, quotes, notes = st.tabs(
        ["Coverage", "Theme map", "Tables", "Extracts", "Memos and journal"])
    coded = bool(data.codings) and bool(data.attributes)
    empty = ("No transcripts yet." if not data.attributes else
             "Nothing counted yet: " + ("no accepted codings. Review suggestions, or count "
                                        "them with the choice above." if which == "accepted"
                                        else "no codings or suggestions."))
    for tab, show in ((charts, lambda: _coverage(ctx, data)),
                      (tmap, lambda: _theme_map(ctx, data)),
                      (tables, lambda: _tables(ctx, data)),
                      (quotes, lambda: _extracts(ctx, which, data))):
        with tab:
            if coded:
                show()
            else:
                st.info(empty)
    with notes:
        _memos(ctx)
        _journal(ctx)


def _chart_codes(ctx: Context, data: AnalysisData, show: str) -> list[str]:
    leaves = data.leaf_order()
    if show == "codes":
        return leaves
    themes = [c.id for c in ctx.codebook.codes if c.children] if ctx.codebook else []
    if show == "themes":
        return themes
    order = data.code_order()
    return [c for c in order if c in set(leaves) | set(themes)]


def _coverage(ctx: Context, data: AnalysisData) -> None:
    import pandas as pd
    import plotly.express as px

    n = len(data.attributes)
    attrs = _attributes(data)
    a, b = st.columns(2)
    by = a.selectbox("Split by participant attribute", ["(no split)"] + attrs,
                     index=1 + attrs.index("works_alone") if "works_alone" in attrs else 0,
                     key="coverage_by")
    show = b.radio("Show", ["themes and codes", "themes", "codes"], horizontal=True,
                   key="coverage_show")
    codes = _chart_codes(ctx, data, show.split()[-1] if show != "themes and codes" else "both")
    if not codes:
        st.info("The codebook has no themes (codes with codes under them) to show.")
        return
    split = None if by == "(no split)" else by
    frame = pd.DataFrame(coverage_rows(data, codes, split, ctx.code_label))
    st.caption(f"Share of participants in whom each theme or code appears (of {n}"
               + (f", split by {split}" if split else "") + "). A theme counts any of its "
               "codes. Hover a bar for the counts.")
    fig = px.bar(frame, x="share", y="code", color="group", barmode="group", orientation="h",
                 custom_data=["participants", "of", "group"],
                 labels={"share": "% of participants", "code": "", "group": split or ""},
                 category_orders={"code": list(dict.fromkeys(frame["code"]))})
    fig.update_traces(hovertemplate="%{y}<br>%{customdata[2]}: %{customdata[0]} of "
                                    "%{customdata[1]} (%{x:.0f}%)<extra></extra>")
    groups = frame["group"].nunique()
    fig.update_layout(height=max(320, 26 * len(codes) * max(1, groups) ** 0.6 + 120),
                      xaxis={"range": [0, 100], "ticksuffix": "%"},
                      yaxis={"autorange": "reversed"}, showlegend=split is not None,
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    st.plotly_chart(fig, width="stretch", key="coverage_chart")


def _theme_map(ctx: Context, data: AnalysisData) -> None:
    a, b, c, d = st.columns([2, 3, 1, 2])
    level = a.radio("Show", ["themes and codes", "themes only"], key="map_level")
    how = b.radio("Layout", list(LAYOUTS), format_func=LAYOUTS.__getitem__, key="map_layout")
    seed = int(c.number_input("Seed", 1, 9999, 1, key="map_seed",
                              help="Another seed rearranges the spring layout.",
                              disabled=how != "spring"))
    full = theme_map(data, themes_only=level == "themes only")
    strongest = full.strongest
    minimum = 1
    if strongest > 1:
        minimum = int(d.slider("Links sharing at least (segments)", 1, strongest,
                               readable_minimum(full), key=f"map_min_{level}",
                               help="Fewer, stronger links: raise it. The default keeps about "
                                    "as many links as there are marks."))
    tmap = arrange(theme_map(data, level == "themes only", minimum), how, seed)
    if not tmap.nodes:
        st.info("Nothing coded yet, so there is nothing to map.")
        return
    links = [e for e in tmap.edges if e.kind == "cooccur"]
    st.caption(("Themes (diamonds) and the codes under them (circles, dotted to their theme); "
                if level == "themes and codes" else "Top-level themes; ")
               + "a bigger mark carries more segments, a thicker line joins two that share "
               "more segments (speaker turns). Hover for the numbers."
               + ("" if links else " No two of them share a segment yet."))
    st.plotly_chart(map_figure(tmap), width="stretch", key="theme_map",
                    config={"displaylogo": False, "toImageButtonOptions": {
                        "format": "png", "filename": "theme-map", "scale": 2}})
    e, f = st.columns(2)
    # drawn when asked for (on a click), not on every run of the page
    e.download_button("Download the map as PNG", lambda: map_image(tmap, "png"),
                      "theme-map.png", "image/png", key="map_png", icon=":material/download:")
    f.download_button("Download the map as SVG", lambda: map_image(tmap, "svg"),
                      "theme-map.svg", "image/svg+xml", key="map_svg",
                      icon=":material/download:")


def _tables(ctx: Context, data: AnalysisData) -> None:
    import plotly.express as px

    n = len(data.attributes)
    freq = frequencies(data)
    freq.insert(0, "theme / code", [ctx.code_label(c) for c in freq["code"]])
    freq["coverage"] = (100 * freq["coverage"]).round(0)
    st.subheader("Frequencies and coverage")
    st.caption(f"Coverage: how many of the {n} participants mention each code (a theme counts "
               "any of its codes).")
    st.dataframe(freq, hide_index=True, width="stretch", height=_table_height(len(freq)),
                 column_config={"code": None, "name": None,  # ids kept in the data, not shown
                                "coverage": st.column_config.ProgressColumn(
                                    "coverage", format="%.0f%%", min_value=0, max_value=100)})
    st.subheader("Framework matrix")
    attrs = _attributes(data)
    by = st.selectbox("Rows", ["participant"] + attrs, key="matrix_by")
    matrix = framework_matrix(data, None if by == "participant" else by)
    leaves = data.leaf_order()
    shown = matrix[leaves].copy()
    shown.columns = [ctx.code_label(c) for c in leaves]
    if by == "participant":
        shown.index = [f"{data.participant(t)} ({t})" if data.participant(t) != t else t
                       for t in shown.index]
    shown.index.name = by
    st.dataframe(shown, width="stretch", height=_table_height(len(shown)))

    st.subheader("Co-occurrence")
    occurring = [c for c in leaves if data.units(c)]
    table = cooccurrence(data, occurring) if len(occurring) >= 2 else None
    off = 0
    if table is not None:
        values = table.values.copy()
        for i in range(len(values)):
            values[i, i] = 0
        off = int(values.max())
    if table is None or off == 0:
        st.info("Not enough data for a co-occurrence chart: "
                + ("fewer than two codes occur." if table is None else
                   "no two codes share a segment yet."))
        return
    labels = [ctx.name(c) for c in occurring]
    fig = px.imshow(table.values, x=labels, y=labels, color_continuous_scale="Blues",
                    zmin=0, zmax=off, labels={"color": "segments"}, aspect="auto",
                    text_auto=True)
    fig.update_layout(height=max(400, 28 * len(occurring) + 150),
                      margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.caption("Segments carrying both codes (the diagonal: segments carrying the code). "
               f"The colour scale runs from 0 to {off}, the most any two codes share.")
    st.plotly_chart(fig, width="stretch", key="cooccurrence_chart")


def _extracts(ctx: Context, which: str, data: AnalysisData) -> None:
    if ctx.codebook is None:
        st.info("The project has no codebook yet.")
        return
    ids = ctx.codebook.ids()
    c1, c2 = st.columns(2)
    first = c1.selectbox("Code or theme", ids, format_func=ctx.code_label, key="ex_a")
    second = c2.selectbox("…in the same turn as (optional)", ["—"] + ids,
                          format_func=lambda c: c if c == "—" else ctx.code_label(c),
                          key="ex_b")
    found = retrieval.passages(ctx.store, ctx.codebook, first,
                               with_code=None if second == "—" else second, include=which,
                               coders=[ctx.coder] if ctx.blind and ctx.coder else None,
                               attributes=data.attributes)
    pending = sum(p.pending for p in found)
    st.caption(f"{len(found)} passages" + (f", {pending} of them pending suggestions"
                                           if pending else "")
               + (". Showing the first 50; the Retrieval page lists every one, with its "
                  "context, and lets you recode or uncode it." if len(found) > 50 else "."))
    for p in found[:50]:
        badge = PENDING if p.pending else ACCEPTED
        st.markdown(f"> {plain(p.text)}")
        st.caption(f"{badge} · {plain(p.participant)} · {plain(p.location)} · "
                   f"{plain(ctx.name(p.code_id))} · {plain(p.coder)}"
                   + (f" · memo: {plain(p.memo)}" if p.memo else ""))
    _extracts_download(ctx, which, first)


def _extracts_download(ctx: Context, which: str, code: str) -> None:
    """The coded extracts of the chosen code or theme as a spreadsheet (as `qualkit export
    extracts --code`), pseudonymised if asked."""
    import tempfile
    from pathlib import Path

    from qualkit.sheets import extracts_table, write_sheet
    from qualkit.ui.pseudonyms_page import pseudonymise_choice, warn_left

    left, right = st.columns(2)
    pseudonymiser = pseudonymise_choice(ctx, "extracts_pseudonymise")
    fmt = left.radio("File", ["xlsx", "csv"], horizontal=True, key="extracts_format")
    if right.button("Prepare the extracts", key="extracts_make"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"extracts.{fmt}"
            write_sheet(extracts_table(ctx.store, ctx.codebook, statuses_for(which), code,
                                       pseudonymiser), path, "coded extracts",
                        wrap=("text", "memo"))
            warn_left(ctx, [path], pseudonymiser)
            st.session_state["extracts_file"] = (path.name, path.read_bytes())
    if "extracts_file" in st.session_state:
        name, data = st.session_state["extracts_file"]
        st.download_button(f"Download {name}", data, file_name=name, key="extracts_download")


def _memos(ctx: Context) -> None:
    st.subheader("Memos on codes and themes")
    if ctx.codebook is None:
        st.info("The project has no codebook yet.")
        return
    ids = ctx.codebook.ids()
    code = st.selectbox("Code or theme", ids, format_func=ctx.code_label, key="memo_code")
    definition = ctx.codebook.get(code)
    if definition is not None and definition.definition:
        st.caption(f"Definition: {plain(definition.definition.strip())}")
    if ctx.coder:
        saved = journal.code_memo(ctx.store, code, ctx.coder)
        digest = hashlib.sha1(saved.encode()).hexdigest()[:12]
        text = st.text_area(f"Your memo on {ctx.name(code)}", value=saved,
                            key=f"code_memo_{code}_{digest}")
        if st.button("Save memo", key="code_memo_save"):
            run(lambda: journal.set_code_memo(ctx.store, code, ctx.coder, text, ctx.codebook),
                "Memo saved.", ctx=ctx)
    else:
        st.caption("Enter your name in the sidebar to write memos.")
    if not ctx.blind:
        for m in journal.code_memos(ctx.store, ctx.codebook, code):
            if m.coder != ctx.coder:
                st.caption(f"{plain(m.coder)} ({m.updated_at:%Y-%m-%d}): {plain(m.text)}")


def _journal(ctx: Context) -> None:
    st.subheader("Project journal")
    st.caption("A dated record of how the analysis went: decisions, doubts, changes to the "
               "codebook. Entries are kept as written and go into the report's methods "
               "appendix, with the memos on codes and themes.")
    if ctx.coder:
        with st.form("journal_form", clear_on_submit=True):
            text = st.text_area("New entry", key="journal_text")
            if st.form_submit_button("Add to the journal"):
                run(lambda: journal.add_entry(ctx.store, ctx.coder, text),
                    "Added to the journal.", ctx=ctx)
    else:
        st.caption("Enter your name in the sidebar to write in the journal.")
    query = st.text_input("Search the journal and the memos", key="journal_search")
    found = journal.search_entries(ctx.store, query)
    memos = journal.search_memos(ctx.store, query, ctx.codebook,
                                 [ctx.coder] if ctx.blind else None) if query else []
    if query:
        st.caption(f"{len(found)} journal entries and {len(memos)} memos hold "
                   f"“{plain(query)}”.")
    elif not found:
        st.caption("No journal entries yet.")
    for e in found[:100]:
        st.markdown(f"**{plain(e.author)}** · {e.at:%Y-%m-%d %H:%M}")
        st.text(e.text)
    for m in memos:
        st.markdown(f"**Memo on {plain(m.name)}** · {plain(m.coder)}")
        st.text(m.text)
