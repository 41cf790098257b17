"""The themes page (a script run by st.navigation)."""

from qualkit.ui.themes_page import render

render()
