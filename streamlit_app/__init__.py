"""The dashboard: a Streamlit multipage app that reads everything through the API."""
