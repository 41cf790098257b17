"""The codebook page (a script run by st.navigation)."""

from ui.codebook_page import render

render()
