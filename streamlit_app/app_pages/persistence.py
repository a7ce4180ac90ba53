"""Persistence: operations, success, durations, data loss, errors by type, restoration, navigation."""

import streamlit as st

from streamlit_app.charts import bar_chart
from streamlit_app.context import page_context
from streamlit_app.figures import PERSISTENCE
from streamlit_app.layout import Trend, figure_registry, open_figure_page, show_sections, show_trends
from streamlit_app.registry import figure_hint
from streamlit_app.shaping import errors_frame, format_number, lookup

ctx = page_context()
TRENDS = [
    Trend("persistence.successRate", group_by="customerId"),
    Trend("persistence.dataLoss", group_by="customerId"),
]
data = open_figure_page(ctx, "Persistence", TRENDS)
current, previous = data.current, data.previous
show_sections(ctx, PERSISTENCE[:2], current, previous)

st.subheader("Reliability")
left, right = st.columns([1, 2])
LOSS = ("persistence", "reliability", "dataLossIncidents")
loss = lookup(current, LOSS) or 0
with left:
    hint = figure_hint(figure_registry(ctx).at(LOSS))
    st.metric("Data loss incidents", format_number(loss), border=True, help=hint)
    if loss:
        st.error(f"{loss} data loss incident(s) in this window.", icon=":material/warning:")
with right:
    errors = errors_frame(current)
    if errors.empty:
        st.caption("No failed persistence operation in this window.")
    else:
        st.markdown("**Failed operations by error type**")
        st.altair_chart(bar_chart(errors, category="errorType"), width="stretch")

show_sections(ctx, PERSISTENCE[2:], current, previous)
show_trends("Over time", data)
