"""Memory & API: heap usage, API latency and errors, bundle sizes and load times."""

import streamlit as st

from streamlit_app.context import page_context
from streamlit_app.figures import MEMORY_API
from streamlit_app.layout import open_figure_page, show_sections, show_trend

ctx = page_context()
current, previous = open_figure_page(ctx, "Memory & API")
show_sections(ctx, MEMORY_API, current, previous)
st.subheader("Over time")
left, right = st.columns(2)
with left:
    show_trend(ctx, "memory.usedJSHeapSize", stat="max")
with right:
    show_trend(ctx, "api.duration", stat="p95", group_by="widgetVersion")
