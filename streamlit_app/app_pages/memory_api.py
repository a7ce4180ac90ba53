"""Memory & API: heap usage, API latency and errors, bundle sizes and load times."""

from streamlit_app.context import page_context
from streamlit_app.figures import MEMORY_API
from streamlit_app.layout import Trend, open_figure_page, show_sections, show_trends

ctx = page_context()
TRENDS = [
    Trend("memory.usedJSHeapSize", stat="max"),
    Trend("api.duration", stat="p95", group_by="widgetVersion"),
]
data = open_figure_page(ctx, "Memory & API", TRENDS)
show_sections(ctx, MEMORY_API, data.current, data.previous)
show_trends("Over time", data)
