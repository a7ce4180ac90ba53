"""Performance: render times, scroll smoothness, tab sync."""

import streamlit as st

from streamlit_app.context import page_context
from streamlit_app.figures import PERFORMANCE
from streamlit_app.layout import open_figure_page, show_sections, show_trend

ctx = page_context()
current, previous = open_figure_page(ctx, "Performance")
show_sections(ctx, PERFORMANCE, current, previous)
st.subheader("Over time, by widget version")
left, right = st.columns(2)
with left:
    show_trend(ctx, "render.renderTime", stat="p95", group_by="widgetVersion")
with right:
    show_trend(ctx, "scroll.avgFps", stat="avg", group_by="widgetVersion")
