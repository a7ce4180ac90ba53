"""The sidebar every page shares: who is signed in, time window, customer, auto-refresh."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import streamlit as st

from streamlit_app.api_client import ApiError, ApiUnavailable, MonitorClient
from streamlit_app.filters import (
    CUSTOM,
    DEFAULT_WINDOW,
    WINDOWS,
    Filters,
    custom_filters,
    filters_for,
    window_code,
    window_from_code,
)
from streamlit_app.session import customer_choices
from streamlit_app.sign_in import show_identity

REFRESH_EVERY_S = {"15 s": 15, "30 s": 30, "1 min": 60, "5 min": 300}


def render_sidebar(
    client: MonitorClient, whoami: dict[str, Any]
) -> tuple[Filters, dict[str, Any] | None, bool]:
    """Draw the sidebar; return the filters, the store's dimensions (None if unknown) and `fresh`.

    The customers offered are those `whoami` may see: a customer-scoped token's own alone.
    """
    try:
        dimensions: dict[str, Any] | None = client.dimensions()
    except (ApiUnavailable, ApiError):
        dimensions = None
    customers = customer_choices(whoami, [c["id"] for c in (dimensions or {}).get("customers", [])])
    _start_from_url(customers[0])
    with st.sidebar:
        st.markdown("### widget-monitor")
        show_identity(whoami)
        label = st.selectbox("Time window", [*WINDOWS, CUSTOM], key="window")
        if label == CUSTOM:
            today = datetime.now(UTC).date()
            first = st.date_input("From (UTC)", max_value=today, key="from_day")
            last = st.date_input("To (UTC)", max_value=today, key="to_day")
        if st.session_state.get("customer") not in customers:
            st.session_state["customer"] = customers[0]
        customer = st.selectbox("Customer", customers, key="customer")
        auto = st.toggle("Auto-refresh", key="auto_refresh", help="Reload the data periodically")
        every = st.selectbox("Every", list(REFRESH_EVERY_S), index=2, key="refresh_every", disabled=not auto)
        fresh = st.button("Refresh now", icon=":material/refresh:", help="Bypass the API's summary cache")
        if dimensions is None:
            st.caption(f"API {client.base_url}: not reachable")
        else:
            st.caption(f"API {client.base_url} · {dimensions['events']:,} events stored")
    if auto:
        _schedule_refresh(REFRESH_EVERY_S[every])
    _keep_in_url(label, customer, customers[0])
    if label == CUSTOM:
        return custom_filters(first, last, customer), dimensions, fresh  # type: ignore[arg-type]
    return filters_for(label, customer), dimensions, fresh


def _start_from_url(default_customer: str) -> None:
    """On a session's first run, take the window and customer from the link (so links can be shared)."""
    state = st.session_state
    if state.get("_started"):
        return
    state["_started"] = True
    today = datetime.now(UTC).date()
    state["window"], state["from_day"], state["to_day"] = DEFAULT_WINDOW, today - timedelta(days=6), today
    state["customer"] = default_customer
    chosen = window_from_code(st.query_params.get("window", ""))
    if chosen is not None:
        state["window"] = chosen
    for key in ("from_day", "to_day"):
        with contextlib.suppress(ValueError):  # a mangled date in a link: keep the default
            state[key] = date.fromisoformat(st.query_params.get(key.removesuffix("_day"), ""))
    if st.query_params.get("customer"):
        state["customer"] = st.query_params["customer"]


def _keep_in_url(label: str, customer: str, default_customer: str) -> None:
    params = {"window": window_code(label)}
    if label == CUSTOM:
        params |= {"from": str(st.session_state["from_day"]), "to": str(st.session_state["to_day"])}
    if customer != default_customer:
        params["customer"] = customer
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def _schedule_refresh(every_s: int) -> None:
    """Rerun the whole app every `every_s` seconds (a fragment timer that triggers a full run)."""
    st.session_state["_last_full_run"] = time.monotonic()

    @st.fragment(run_every=every_s)
    def ticker() -> None:
        if time.monotonic() - st.session_state.get("_last_full_run", 0.0) >= every_s * 0.9:
            st.rerun()

    ticker()
