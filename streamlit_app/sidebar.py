"""The sidebar every page shares: time window, customer, auto-refresh."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from streamlit_app.api_client import ApiError, ApiUnavailable, MonitorClient
from streamlit_app.filters import (
    ALL_CUSTOMERS,
    CUSTOM,
    DEFAULT_WINDOW,
    WINDOWS,
    Filters,
    custom_filters,
    filters_for,
)

REFRESH_EVERY_S = {"15 s": 15, "30 s": 30, "1 min": 60, "5 min": 300}


def render_sidebar(client: MonitorClient) -> tuple[Filters, dict[str, Any] | None, bool]:
    """Draw the sidebar; return the filters, the store's dimensions (None if unknown) and `fresh`."""
    try:
        dimensions: dict[str, Any] | None = client.dimensions()
    except (ApiUnavailable, ApiError):
        dimensions = None
    customers = [ALL_CUSTOMERS] + [c["id"] for c in (dimensions or {}).get("customers", [])]
    with st.sidebar:
        st.markdown("### widget-monitor")
        choices = [*WINDOWS, CUSTOM]
        label = st.selectbox("Time window", choices, index=choices.index(DEFAULT_WINDOW), key="window")
        if label == CUSTOM:
            today = datetime.now(UTC).date()
            first = st.date_input(
                "From (UTC)", value=today - timedelta(days=6), max_value=today, key="from_day"
            )
            last = st.date_input("To (UTC)", value=today, max_value=today, key="to_day")
        if st.session_state.get("customer") not in customers:
            st.session_state["customer"] = ALL_CUSTOMERS
        customer = st.selectbox("Customer", customers, key="customer")
        auto = st.toggle("Auto-refresh", key="auto_refresh", help="Reload the data periodically")
        every = st.selectbox("Every", list(REFRESH_EVERY_S), index=2, key="refresh_every", disabled=not auto)
        fresh = st.button("Refresh now", icon=":material/refresh:", help="Bypass the API's 30 s cache")
        if dimensions is None:
            st.caption(f"API {client.base_url}: not reachable")
        else:
            st.caption(f"API {client.base_url} · {dimensions['events']:,} events stored")
    if auto:
        _schedule_refresh(REFRESH_EVERY_S[every])
    if label == CUSTOM:
        return custom_filters(first, last, customer), dimensions, fresh  # type: ignore[arg-type]
    return filters_for(label, customer), dimensions, fresh


def _schedule_refresh(every_s: int) -> None:
    """Rerun the whole app every `every_s` seconds (a fragment timer that triggers a full run)."""
    st.session_state["_last_full_run"] = time.monotonic()

    @st.fragment(run_every=every_s)
    def ticker() -> None:
        if time.monotonic() - st.session_state.get("_last_full_run", 0.0) >= every_s * 0.9:
            st.rerun()

    ticker()
