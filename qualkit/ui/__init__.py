"""Streamlit pages for qualkit. Thin: widgets in, library calls, results out."""
