"""The topics page (a script run by st.navigation)."""

from qualkit.ui.topics_page import render

render()
