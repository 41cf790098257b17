"""The agreement page (a script run by st.navigation)."""

from qualkit.ui.agreement_page import render

render()
