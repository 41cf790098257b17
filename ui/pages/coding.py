"""The coding page (a script run by st.navigation)."""

from ui.coding_page import render

render()
