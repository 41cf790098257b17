"""qualkit browser app: `qualkit app` (or `streamlit run app.py -- --project PATH`).

A thin edge: each page reads and changes the project only through the qualkit library.
Pages are scripts in ui/pages/ whose logic lives in ui/*_page.py.
"""

from __future__ import annotations

import streamlit as st

from ui.common import load_context, sidebar

st.set_page_config(page_title="qualkit", layout="wide")
pages = [
    st.Page("ui/pages/coding.py", title="Coding", icon=":material/edit_note:", default=True),
    st.Page("ui/pages/queue.py", title="Review queue", icon=":material/checklist:"),
    st.Page("ui/pages/codebook.py", title="Codebook", icon=":material/account_tree:"),
    st.Page("ui/pages/themes.py", title="Themes", icon=":material/insights:"),
    st.Page("ui/pages/agreement.py", title="Agreement", icon=":material/group:"),
    st.Page("ui/pages/topics.py", title="Topics", icon=":material/bubble_chart:"),
    st.Page("ui/pages/project.py", title="Project", icon=":material/folder:"),
]
page = st.navigation(pages)
# The sidebar lives here, in the entry script, so who is coding survives page changes
# (widgets on a page are that page's own).
sidebar(load_context())
page.run()
