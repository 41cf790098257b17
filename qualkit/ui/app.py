"""The browser app's entry script: `qualkit app` runs it with Streamlit.

A thin edge: each page reads and changes the project only through the qualkit library. Pages
are scripts in views/ whose logic lives in *_page.py. The `.streamlit/config.toml` beside this
file keeps the server local, headless and silent (no e-mail prompt, no usage statistics, no
Deploy button) however it is started.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from qualkit.errors import QualkitError
from qualkit.ui.common import load_context, sidebar

# "views", not "pages": Streamlit would take a pages/ folder beside the script as its own.
PAGES = Path(__file__).resolve().parent / "views"
# A local icon: a Material icon or an emoji as page_icon makes the browser fetch it from Google.
ICON = Path(__file__).resolve().parent / "icon.png"


def main() -> None:
    st.set_page_config(page_title="qualkit", page_icon=str(ICON), layout="wide")
    pages = [
        st.Page(PAGES / "coding.py", title="Coding", icon=":material/edit_note:", default=True),
        st.Page(PAGES / "queue.py", title="Review queue", icon=":material/checklist:"),
        st.Page(PAGES / "search.py", title="Search", icon=":material/search:"),
        st.Page(PAGES / "codebook.py", title="Codebook", icon=":material/account_tree:"),
        st.Page(PAGES / "themes.py", title="Themes", icon=":material/insights:"),
        st.Page(PAGES / "retrieval.py", title="Retrieval", icon=":material/manage_search:"),
        st.Page(PAGES / "agreement.py", title="Agreement", icon=":material/group:"),
        st.Page(PAGES / "topics.py", title="Topics", icon=":material/bubble_chart:"),
        st.Page(PAGES / "project.py", title="Project", icon=":material/folder:"),
        st.Page(PAGES / "pseudonyms.py", title="Pseudonyms", icon=":material/badge:"),
    ]
    page = st.navigation(pages)
    # The sidebar lives here, in the entry script, so who is coding survives page changes
    # (widgets on a page are that page's own).
    sidebar(load_context())
    try:
        page.run()
    except QualkitError as exc:  # e.g. a busy or unreachable database while a page reads
        st.error(str(exc))


if __name__ == "__main__":
    main()
