"""The project page (a script run by st.navigation)."""

from ui.project_page import render

render()
