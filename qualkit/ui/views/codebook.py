"""The codebook page (a script run by st.navigation)."""

from qualkit.ui.codebook_page import render

render()
