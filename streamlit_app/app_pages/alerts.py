"""Alerts: statistics, the unresolved list with Resolve / Acknowledge / Snooze, the resolved history.

The actions show only for a token that may take them (an editor's); a viewer reads the list.
"""

from functools import partial

import streamlit as st

from streamlit_app.alert_actions import act, show_outcome
from streamlit_app.api_client import ApiError
from streamlit_app.charts import bar_chart
from streamlit_app.context import page_context
from streamlit_app.session import may_act_on_alerts, may_run_alert_check, scoped_customer
from streamlit_app.shaping import (
    alert_stats,
    alerts_for_customer,
    alerts_frame,
    counts_frame,
    severity_badge,
    sort_alerts,
)
from streamlit_app.text import literal

SNOOZE_MINUTES = {"15 min": 15, "1 hour": 60, "4 hours": 240, "24 hours": 1440}

ctx = page_context()
client = ctx.client
customer = ctx.filters.customer_id
acts = may_act_on_alerts(ctx.whoami)
st.title("Alerts")

show_outcome()

try:
    # a customer's view includes the alerts over all customers (customerId null): they concern it too
    unresolved = sort_alerts(alerts_for_customer(client.alerts(resolved=False), customer))
    resolved = alerts_for_customer(client.alerts(resolved=True), customer)
except ApiError as exc:
    if exc.status in (404, 405):
        st.warning("This API has no alerts endpoint (`/api/monitoring/alerts`); upgrade the server.")
        st.stop()
    raise

top = st.columns([3, 1])
whose = f"{customer} and over all customers" if customer else "all customers"
if scoped_customer(ctx.whoami) is not None:
    whose = str(customer)  # the alerts over every customer are not this token's to see
top[0].caption(f"Alerts for {literal(whose)}, as the API's alert engine raised them.")
if may_run_alert_check(ctx.whoami) and top[1].button("Run alert check now", icon=":material/policy:"):
    act(client.check_alerts, "Alert rules checked against the latest data.")

if scoped_customer(ctx.whoami) is None and (beyond := client.customers_beyond_cap()):
    st.info(
        f"{beyond} customers are past the per-customer cap (`maxCustomerScopes` in the alerting config): "
        "the last check evaluated them only in the global scope.",
        icon=":material/info:",
    )

stats = alert_stats(unresolved + resolved)
cols = st.columns(4)
cols[0].metric("Total alerts", stats["total"], border=True)
cols[1].metric("Unresolved", stats["unresolved"], border=True)
by_sev = alert_stats(unresolved)["bySeverity"]
cols[2].metric("Critical unresolved", by_sev.get("critical", 0), border=True)
cols[3].metric("Warnings unresolved", by_sev.get("warning", 0), border=True)
if stats["total"]:
    left, right = st.columns(2)
    with left:
        st.markdown("**By severity**")
        st.altair_chart(
            bar_chart(counts_frame(stats["bySeverity"], "severity"), category="severity"), width="stretch"
        )
    with right:
        st.markdown("**By category**")
        st.altair_chart(
            bar_chart(counts_frame(stats["byCategory"], "category"), category="category"), width="stretch"
        )

st.subheader(f"Unresolved ({len(unresolved)})")
if acts:
    by = st.text_input(
        "Acting as",
        value="dashboard",
        key="alert_actor",
        help="In open mode, recorded as who acted. Signed in, your token's name is recorded, "
        "and this name is kept as a note on a resolve.",
    )
if not unresolved:
    st.success("Nothing unresolved.", icon=":material/check_circle:")
for alert in unresolved:
    alert_id = str(alert["id"])
    sev_label, sev_colour = severity_badge(alert.get("severity"))
    with st.container(border=True):
        head = st.columns([5, 1])
        head[0].markdown(f"**{literal(alert.get('title', ''))}**")
        with head[1]:
            st.badge(sev_label, color=sev_colour)  # type: ignore[arg-type]
        st.markdown(literal(alert.get("message", "")))
        st.caption(
            literal(
                f"{alert.get('category')} · {alert.get('customerId') or 'all customers'} · "
                f"value {alert.get('value')} vs threshold {alert.get('threshold')} · "
                f"status {alert.get('status')} · "
                f"first {alert.get('createdAt')} · last {alert.get('lastSeenAt')}"
            )
        )
        if not acts:
            continue
        actions = st.columns([1, 1, 1, 2])
        title = alert.get("title")
        if actions[0].button("Resolve", key=f"resolve-{alert_id}", type="primary"):
            act(partial(client.resolve_alert, alert_id, by=by), f"Resolved: {title}")
        if actions[1].button(
            "Acknowledge", key=f"ack-{alert_id}", disabled=alert.get("status") == "acknowledged"
        ):
            act(partial(client.acknowledge_alert, alert_id, by=by), f"Acknowledged: {title}")
        snooze_for = actions[3].selectbox(
            "Snooze for", list(SNOOZE_MINUTES), key=f"snooze-for-{alert_id}", label_visibility="collapsed"
        )
        if actions[2].button("Snooze", key=f"snooze-{alert_id}"):
            minutes = SNOOZE_MINUTES[snooze_for]
            act(
                partial(client.snooze_alert, alert_id, by=by, minutes=minutes),
                f"Snoozed for {snooze_for}: {title}",
            )

st.subheader(f"Resolved history ({len(resolved)})")
if resolved:
    st.dataframe(alerts_frame(resolved), hide_index=True, width="stretch")
else:
    st.caption("No resolved alerts yet.")
