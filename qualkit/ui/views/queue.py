"""The queue page (a script run by st.navigation)."""

from qualkit.ui.queue_page import render

render()
