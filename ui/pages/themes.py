"""The themes page (a script run by st.navigation)."""

from ui.themes_page import render

render()
