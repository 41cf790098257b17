"""The pseudonyms page (a script run by st.navigation)."""

from qualkit.ui.pseudonyms_page import render

render()
