"""Performance: render times, scroll smoothness, tab sync."""

import streamlit as st

from streamlit_app.context import page_context
from streamlit_app.figures import PERFORMANCE
from streamlit_app.layout import load_summaries, require_data, show_sections, show_trend

ctx = page_context()
st.title("Performance")
current, previous = load_summaries(ctx)
require_data(ctx, current)
st.caption(f"{ctx.filters.describe().capitalize()}; arrows: change against the window before.")
show_sections(PERFORMANCE, current, previous)
st.subheader("Over time, by widget version")
left, right = st.columns(2)
with left:
    show_trend(ctx, "render.renderTime", stat="p95", group_by="widgetVersion")
with right:
    show_trend(ctx, "scroll.avgFps", stat="avg", group_by="widgetVersion")
