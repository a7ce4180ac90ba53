"""Overview: overall health and status, category scores, active alerts, key figures."""

import contextlib
from functools import partial

import streamlit as st

from streamlit_app.alert_actions import act, show_outcome
from streamlit_app.api_client import ApiError
from streamlit_app.context import page_context
from streamlit_app.figures import KEY_FIGURES
from streamlit_app.layout import compared_with, figure_registry, load_summaries, require_data, show_figures
from streamlit_app.registry import weights_text
from streamlit_app.session import may_act_on_alerts
from streamlit_app.shaping import (
    Figure,
    alerts_for_customer,
    category_scores,
    figure_view,
    severity_badge,
    sort_alerts,
    status_badge,
    status_of,
    summary_source_note,
    telemetry_note,
    telemetry_view,
)
from streamlit_app.text import literal

ctx = page_context()
st.title("Overview")
window = literal(ctx.filters.describe())
current, previous = load_summaries(ctx, telemetry=True)
require_data(ctx, current)
st.caption(
    f"Health of the chat widget over the {window}; changes against {compared_with(ctx)}; "
    f"{summary_source_note(current)}."
)
label = ctx.filters.window_label
compare_label = (
    f"vs previous {label.removeprefix('Last ').lower()}" if label.startswith("Last ") else "vs window before"
)

registry = figure_registry(ctx)
health = current["health"]
label, colour = status_badge(health.get("status"))
left, right = st.columns([1, 2])
with left:
    # a score: higher is better
    overall = figure_view(Figure("Overall health", ("health", "overall"), "", True), current, previous)
    st.metric(
        "Overall health score",
        overall.value or "—",
        delta=overall.delta,
        border=True,
        delta_description=compare_label if overall.delta is not None else None,
        help=f"Weighted: {weights_text(registry.health_weights)}" if registry.health_weights else None,
    )
    st.badge(label, color=colour, icon=":material/circle:")  # type: ignore[arg-type]
with right:
    for name, score in category_scores(current):
        if score is None:
            text = f"{name}: no data"
        else:
            state, tint = status_badge(status_of(score, registry.status_bands))
            # `:g` keeps a score just under the healthy band as it is: rounded up to the band's
            # edge it would sit beside a "Degraded" badge
            text = f"**{name}: {score:g}** :{tint}-badge[{state}]"
        st.progress(min(1.0, max(0.0, (score or 0) / 100)), text=text)

st.subheader("Active alerts")
show_outcome()
active = (current.get("alerts") or {}).get("active") or []
if ctx.filters.customer_id is not None:
    # the summary's section for one customer holds only its own alerts; add those over everyone
    # (an API without the alerts endpoint answers 404: then the summary's section is all there is)
    with contextlib.suppress(ApiError):
        active = alerts_for_customer(ctx.client.alerts(resolved=False), ctx.filters.customer_id)
alerts = sort_alerts(active)
acts = may_act_on_alerts(ctx.whoami)
if not alerts:
    st.success("No active alerts.", icon=":material/check_circle:")
for alert in alerts[:10]:
    sev_label, sev_colour = severity_badge(alert.get("severity"))
    with st.container(border=True):
        row = st.columns([6, 1])
        with row[0]:
            st.badge(sev_label, color=sev_colour)  # type: ignore[arg-type]
            st.markdown(f"**{literal(alert.get('title', ''))}** — {literal(alert.get('message', ''))}")
            st.caption(
                literal(
                    f"{alert.get('category')} · {alert.get('customerId') or 'all customers'} · "
                    f"{alert.get('createdAt')}"
                )
            )
        alert_id = str(alert.get("id"))
        if acts and row[1].button("Resolve", key=f"overview-resolve-{alert_id}"):
            act(
                partial(ctx.client.resolve_alert, alert_id, by="dashboard"), f"Resolved: {alert.get('title')}"
            )
if alerts:
    st.page_link(
        "app_pages/alerts.py",
        label=f"{'Manage' if acts else 'See'} {len(alerts)} alert(s) on the Alerts page",
        icon=":material/arrow_forward:",
    )

st.subheader("Key figures")
show_figures(ctx, KEY_FIGURES, current, previous)

telemetry = telemetry_view(current)
if telemetry is not None:
    overall_t, by_customer = telemetry
    st.subheader("Telemetry delivery")
    cols = st.columns(4)
    cols[0].metric("Expected events", f"{overall_t['expected'] or 0:,}", border=True)
    cols[1].metric("Received", f"{overall_t['received'] or 0:,}", border=True)
    cols[2].metric("Lost", f"{overall_t['lost'] or 0:,}", border=True)
    done = overall_t["completeness"]
    cols[3].metric("Completeness", "—" if done is None else f"{done:.2f}%", border=True)
    counted = telemetry_note(current)
    if counted is not None:
        st.caption(counted)
    if not by_customer.empty:
        st.dataframe(by_customer, hide_index=True, width="stretch")
