"""The retrieval page (a script run by st.navigation)."""

from qualkit.ui.retrieval_page import render

render()
