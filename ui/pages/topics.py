"""The topics page (a script run by st.navigation)."""

from ui.topics_page import render

render()
