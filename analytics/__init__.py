"""The widget-monitor domain: event schema, the DuckDB store and the analytics over it.

Nothing in this package imports FastAPI or Streamlit: it is tested with plain
frames and a temporary directory, and the HTTP and UI layers are thin shells
around it.
"""
