"""The search page (a script run by st.navigation)."""

from qualkit.ui.search_page import render

render()
