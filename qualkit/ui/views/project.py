"""The project page (a script run by st.navigation)."""

from qualkit.ui.project_page import render

render()
