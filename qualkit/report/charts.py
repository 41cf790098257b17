"""Charts for theme reports, as PNG bytes: code frequency, coverage by a participant attribute,
and a co-occurrence heatmap.

matplotlib is imported inside the functions and used through ``Figure`` with the Agg canvas
(never pyplot), so no global state or display is involved and ``qualkit --help`` stays fast.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Report

DPI = 150
GREY = "#555555"


@dataclass
class Chart:
    name: str  # file stem, e.g. "frequency"
    title: str
    caption: str
    png: bytes
    width_in: float  # width at DPI, so renderers can size it


def report_charts(report: Report) -> list[Chart]:
    """Every chart the report can show (coverage needs an attribute split, the heatmap two
    codes that occur)."""
    charts = [frequency_chart(report)]
    coverage = coverage_chart(report)
    if coverage is not None:
        charts.append(coverage)
    heat = heatmap_chart(report)
    if heat is not None:
        charts.append(heat)
    return charts


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.set_layout_engine("constrained")
    return fig


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _of_all(report: Report, shown: int) -> str:
    """What a chart leaves out, for its caption: nothing, or how many codes it shows of all."""
    every = len(report.leaves())
    return "" if shown >= every else (
        f" It shows the {shown} codes most participants mention, of {every:,}; the overview "
        "table lists every code.")


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=GREY, labelsize=8)
    ax.xaxis.label.set_color(GREY)


def frequency_chart(report: Report) -> Chart:
    """Participants mentioning each code (bars, in the theme's colour), with segment counts."""
    from matplotlib.patches import Patch

    codes = report.charted()  # the leaf codes (Codebook.leaves), at most CHART_CODES
    n = report.participants
    fig = _figure(7.0, 1.1 + 0.2 * max(len(codes), 1))
    ax = fig.add_subplot()
    y = list(range(len(codes)))
    ax.barh(y, [c.participants for c in codes], color=[c.color for c in codes], height=0.7)
    shown = {c.id for c in codes}
    themes = [s.theme for s in report.sections if s.codes and s.theme.id
              and any(c.id in shown for c in s.codes)]
    if themes:
        fig.legend(handles=[Patch(color=t.color, label=t.name) for t in themes],
                   loc="outside upper center", ncols=min(3, len(themes)), fontsize=7,
                   frameon=False)
    ax.set_yticks(y, [c.name for c in codes])
    ax.invert_yaxis()
    ax.set_xlim(0, max(n, 1) * 1.22)
    ax.set_xlabel(f"participants (of {n})")
    for i, c in enumerate(codes):
        ax.text(c.participants + max(n, 1) * 0.01, i, f"{c.participants}/{n} · {c.segments} seg.",
                va="center", fontsize=7, color=GREY)
    _style(ax)
    return Chart("frequency", "Participants mentioning each code",
                 f"Bars: how many of the {n} participants mention each code; labels add the "
                 f"number of coded segments. Counting {report.include}." + _of_all(report,
                                                                                    len(codes)),
                 _png(fig), 7.0)


def coverage_chart(report: Report) -> Chart | None:
    """Share of each attribute group mentioning each code (grouped bars)."""
    if not report.by or not report.group_sizes:
        return None
    codes = report.charted()
    groups = report.group_sizes
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
    fig = _figure(7.0, 1.2 + 0.2 * max(len(codes), 1) * max(1, len(groups) / 2))
    ax = fig.add_subplot()
    height = 0.8 / len(groups)
    for g_i, group in enumerate(groups):
        shares = []
        for c in codes:
            found = next((g for g in c.groups if g.value == group.value), None)
            shares.append(100 * found.participants / found.of if found and found.of else 0)
        ax.barh([i + g_i * height - 0.4 + height / 2 for i in range(len(codes))], shares,
                height=height, color=palette[g_i % len(palette)],
                label=f"{report.by} = {group.value} (n={group.of})")
    ax.set_yticks(range(len(codes)), [c.name for c in codes])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of participants in the group")
    fig.legend(loc="outside upper center", ncols=min(3, len(groups)), fontsize=7,
               frameon=False)
    _style(ax)
    return Chart("coverage", f"Coverage by {report.by}",
                 f"Share of participants in each {report.by} group who mention each code."
                 + _of_all(report, len(codes)), _png(fig), 7.0)


def heatmap_chart(report: Report) -> Chart | None:
    """Segments carrying both codes, for every pair of codes that occur."""
    names, matrix = report.heatmap_codes, report.heatmap
    if len(names) < 2:
        return None
    import numpy as np

    values = np.array(matrix, dtype=float)
    np.fill_diagonal(values, np.nan)  # the diagonal is the code's own frequency
    size = min(7.0, 2.2 + 0.3 * len(names))
    fig = _figure(size + 0.6, size)
    ax = fig.add_subplot()
    top = np.nanmax(values) if np.isfinite(values).any() else 0
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=max(top, 1))
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(names)):
            if i != j and matrix[i][j]:
                ax.text(j, i, str(matrix[i][j]), ha="center", va="center", fontsize=6,
                        color="white" if matrix[i][j] > top * 0.6 else "#222222")
    ax.tick_params(length=0, colors=GREY)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.6)
    bar.ax.tick_params(labelsize=7, colors=GREY)
    bar.set_label("segments with both codes", fontsize=7, color=GREY)
    left_out = "" if report.heatmap_of <= len(names) else (
        f" It shows the {len(names)} codes most participants mention, of the "
        f"{report.heatmap_of:,} that occur.")
    return Chart("cooccurrence", "Codes that occur together",
                 "Segments carrying both codes (the diagonal, each code's own count, is left "
                 "blank)." + left_out, _png(fig), size + 0.6)
