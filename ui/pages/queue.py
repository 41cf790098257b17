"""The queue page (a script run by st.navigation)."""

from ui.queue_page import render

render()
