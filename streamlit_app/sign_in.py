"""Signing the dashboard in: the token from the environment or typed in, checked with /whoami.

`WIDGET_MONITOR_API_TOKEN` (a wall screen) is used as it is. Without it, when the API asks
for a credential (401), the dashboard shows a sign-in form instead of the pages; a token
typed there is kept in this session's `st.session_state` only (never in the link, never
logged, never shown back) and forgotten by "Sign out".
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from streamlit_app.api_client import ENV_API_TOKEN, ApiError, ApiUnavailable, MonitorClient
from streamlit_app.session import NOBODY, UNGUARDED, signed_in_as
from streamlit_app.text import literal

_TOKEN = "_api_token"
_NOTICE = "_sign_in_notice"


def signed_in(client: MonitorClient) -> tuple[MonitorClient, dict[str, Any]] | None:
    """The client to call the API with and its `/whoami` answer; None when a sign-in is needed.

    `client` carries the environment's token, if any. A refused environment token stops the
    run with an error (a wall screen has nobody to type one); a refused session token is
    forgotten, and the form says why.
    """
    from_environment = client.token is not None
    if not from_environment:
        client = client.with_token(st.session_state.get(_TOKEN))
    try:
        return client, client.whoami()
    except ApiUnavailable:
        return client, dict(NOBODY)  # the pages say the API is down; nothing to act on meanwhile
    except ApiError as exc:
        if exc.status in (404, 405):  # an API from before access control
            return client, dict(UNGUARDED)
        if exc.status != 401:
            st.error(f"**The API refused this dashboard:** {literal(exc.message)}", icon=":material/block:")
            st.stop()
        if from_environment:
            st.error(
                f"**The API refused the token in `{ENV_API_TOKEN}`** ({literal(exc.message)}). "
                "Set a valid token and restart the dashboard.",
                icon=":material/key_off:",
            )
            st.stop()
        if client.token is not None:
            del st.session_state[_TOKEN]
            st.session_state[_NOTICE] = f"Signed out: {exc.message}. Sign in again."
        return None


def sign_in_form(client: MonitorClient) -> None:
    """The sign-in form; a token the API accepts is kept for the session and the app reruns."""
    st.title("Sign in")
    st.caption(f"The monitoring API at {literal(client.base_url)} asks for an API token.")
    notice = st.session_state.pop(_NOTICE, None)
    if notice is not None:
        st.warning(literal(notice), icon=":material/logout:")
    with st.form("sign_in", clear_on_submit=True):
        typed = st.text_input(
            "API token",
            type="password",
            help="A viewer, editor or admin token (`widget-monitor tokens create`)",
        )
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if not submitted:
        return
    token = typed.strip()
    if not token:
        st.error("Enter a token to sign in.", icon=":material/key:")
        return
    try:
        client.with_token(token).whoami()
    except ApiError as exc:
        st.error(
            f"**This token was not accepted** ({literal(exc.message)}). Check it and try again.",
            icon=":material/key_off:",
        )
        return
    except ApiUnavailable as exc:
        st.error(f"The API is not reachable ({literal(exc.reason)}); try again in a moment.")
        return
    st.session_state[_TOKEN] = token
    st.rerun()


def show_identity(whoami: dict[str, Any]) -> None:
    """Who is signed in (plain text: the name and customer are user strings), and "Sign out"."""
    who = signed_in_as(whoami)
    if who is None:
        return
    st.text(who)
    if _TOKEN in st.session_state:
        st.button("Sign out", icon=":material/logout:", on_click=_sign_out, key="sign_out")


def _sign_out() -> None:
    # everything goes: the token, and the page context that holds a client made with it
    st.session_state.clear()
