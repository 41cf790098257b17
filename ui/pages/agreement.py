"""The agreement page (a script run by st.navigation)."""

from ui.agreement_page import render

render()
