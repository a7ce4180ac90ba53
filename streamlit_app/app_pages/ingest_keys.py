"""Ingest keys: what each key's senders did since the API started, so a leaked or noisy key shows (admin)."""

import streamlit as st

from streamlit_app.api_client import ApiError
from streamlit_app.context import page_context
from streamlit_app.key_usage import (
    HIGH_SHARE,
    may_list_keys,
    outcomes_frame,
    table,
    usage_chart,
    usage_frame,
)
from streamlit_app.text import literal

ctx = page_context()
st.title("Ingest keys")
if not may_list_keys(ctx.whoami):  # the menu leaves the page out then; this is for a typed link
    st.info(
        "Ingest keys are an admin's to see: sign in with an admin token that is not scoped to a customer.",
        icon=":material/lock:",
    )
    st.stop()

try:
    keys = ctx.client.ingest_keys()
except ApiError as exc:
    if exc.status in (404, 405):
        st.warning("This API has no keys endpoint (`/api/monitoring/keys`); upgrade the server.")
        st.stop()
    if exc.status in (401, 403):
        st.info(f"The API refused to list the keys: {literal(exc.message)}", icon=":material/lock:")
        st.stop()
    raise

customer = ctx.filters.customer_id
frame = usage_frame(keys, customer)
whose = f"customer {customer}'s keys" if customer else "every key"
st.caption(
    f"Counters of {literal(whose)} since the API server started (a restart sets them to zero; "
    "`GET /metrics` serves the same for Prometheus). Rotate a key that sends another customer's "
    "events or comes from an origin it does not allow; raise the limits of one throttled in good use."
)
if frame.empty:
    none = f"No ingest key of customer {literal(customer)}" if customer else "No ingest key yet"
    st.info(
        f"**{none}.** Make one with `widget-monitor keys create --customer-id ...` "
        "or `POST /api/monitoring/keys`; widgets send it as `?key=`.",
        icon=":material/key:",
    )
    st.stop()

cols = st.columns(4)
cols[0].metric("Active keys", int((frame["status"] == "active").sum()), border=True)
cols[1].metric("Events accepted", f"{int(frame['accepted'].sum()):,}", border=True)
cols[2].metric("Events rejected", f"{int(frame['rejected'].sum()):,}", border=True)
cols[3].metric("429 answers", f"{int(frame['429'].sum()):,}", border=True)

worth_a_look = frame[frame["look at"] != ""]
if not worth_a_look.empty:
    lines = [
        f"- {literal(row['key'])} ({literal(row['customer'])}): {literal(row['look at'])}"
        for _, row in worth_a_look.iterrows()
    ]
    st.warning("**Keys worth a look**\n\n" + "\n".join(lines), icon=":material/key_off:")

left, right = st.columns(2)
with left:
    st.markdown("**Events per key**")
    st.altair_chart(usage_chart(outcomes_frame(frame, "events"), "events"), width="stretch")
with right:
    st.markdown("**Requests per key**")
    st.altair_chart(usage_chart(outcomes_frame(frame, "requests"), "requests"), width="stretch")

st.subheader(f"Every key ({len(frame)})")
st.dataframe(table(frame), hide_index=True, width="stretch")
st.caption(
    f"Shaded: a key whose events named another customer, that was refused an origin, or with "
    f"{HIGH_SHARE:.0%} or more of its events rejected or of its requests answered 429."
)
