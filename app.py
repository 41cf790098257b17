"""qualkit browser app: `qualkit app` (or `streamlit run app.py -- --project PATH`).

A thin edge: it reads the project through the qualkit library and shows it; nothing here
talks SQL or holds coding logic.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from pathlib import Path

import streamlit as st

from qualkit.errors import QualkitError
from qualkit.project import open_project


def project_root() -> Path:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--project", default=os.environ.get("QUALKIT_PROJECT", "."))
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.project).resolve()


@st.cache_resource
def get_project(root: str):  # one open database per server process, shared by sessions
    return open_project(root)


def highlight(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    """Escape the transcript text and mark coded spans; overlapping spans are nested in order."""
    marks = sorted(spans)
    out, pos = [], 0
    for start, end, label, color in marks:
        if start < pos:
            continue  # overlapping spans are listed under the turn instead
        out.append(html.escape(text[pos:start]))
        out.append(f'<mark style="background:{color}33;border-bottom:2px solid {color}" '
                   f'title="{html.escape(label)}">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def main() -> None:
    st.set_page_config(page_title="qualkit", layout="wide")
    root = project_root()
    try:
        project = get_project(str(root))
    except QualkitError as exc:
        st.error(str(exc))
        st.stop()
    store = project.store
    try:
        book = project.codebook()
    except QualkitError as exc:
        book = None
        st.warning(str(exc))
    names = {c.id: c.name for c in book.all_codes()} if book else {}
    colors = {}
    if book:
        for code, parent in book.walk():
            colors[code.id] = code.color or (parent.color if parent and parent.color else "#888888")

    st.title("qualkit")
    st.caption(f"Project {root}" + (f" · codebook {book.name} {book.version}" if book else ""))
    infos = store.transcripts()
    if not infos:
        st.info("No transcripts yet. Import some with `qualkit import PATH`.")
        return
    status = st.radio("Show codings", ["accepted", "suggested", "all"], horizontal=True,
                      index=2)
    labels = {f"{i.name} ({i.segments} segments)": i.name for i in infos}
    choice = st.selectbox("Transcript", list(labels))
    transcript = store.load_transcript(labels[choice])
    if transcript.attributes:
        st.write(" · ".join(f"**{k}**: {v}" for k, v in transcript.attributes.items()))
    codings = [c for c in store.codings(transcript=transcript.name)
               if status == "all" or c.status == status]
    by_segment: dict[int, list] = {}
    for c in codings:
        by_segment.setdefault(c.segment_index if c.segment_index is not None else -1, []).append(c)
    st.metric("Codings shown", len(codings))
    for seg in transcript.segments:
        here = by_segment.get(seg.index, [])
        spans = [(c.start - seg.start, c.end - seg.start, names.get(c.code_id, c.code_id),
                  colors.get(c.code_id, "#888888")) for c in here]
        left, right = st.columns([3, 1])
        left.markdown(f"**{html.escape(seg.speaker or '—')}**"
                      + (f" <small>[{seg.timestamp}]</small>" if seg.timestamp else "")
                      + f"<br>{highlight(seg.text, spans)}", unsafe_allow_html=True)
        for c in here:
            right.markdown(f"<span style='color:{colors.get(c.code_id, '#888')}'>■</span> "
                           f"**{html.escape(names.get(c.code_id, c.code_id))}** · {c.status}"
                           + (f" · {c.score:.2f}" if c.score is not None else "")
                           + f"<br><small>{html.escape(c.rationale)}</small>",
                           unsafe_allow_html=True)


main()
