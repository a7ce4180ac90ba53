"""Performance: render times, scroll smoothness, tab sync."""

from streamlit_app.context import page_context
from streamlit_app.figures import PERFORMANCE
from streamlit_app.layout import Trend, open_figure_page, show_sections, show_trends

ctx = page_context()
TRENDS = [
    Trend("render.renderTime", stat="p95", group_by="widgetVersion"),
    Trend("scroll.avgFps", stat="avg", group_by="widgetVersion"),
]
data = open_figure_page(ctx, "Performance", TRENDS)
show_sections(ctx, PERFORMANCE, data.current, data.previous)
show_trends("Over time, by widget version", data)
