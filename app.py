"""qualkit browser app: `qualkit app` (or `streamlit run app.py -- --project PATH`).

A thin edge: each page reads and changes the project only through the qualkit library.
"""

from __future__ import annotations

import streamlit as st

from ui import coding_page, project_page, queue_page

st.set_page_config(page_title="qualkit", layout="wide")
pages = [
    st.Page(coding_page.render, title="Coding", icon=":material/edit_note:", url_path="coding",
            default=True),
    st.Page(queue_page.render, title="Review queue", icon=":material/checklist:",
            url_path="queue"),
    st.Page(project_page.render, title="Project", icon=":material/folder:", url_path="project"),
]
st.navigation(pages).run()
