"""The coding page (a script run by st.navigation)."""

from qualkit.ui.coding_page import render

render()
