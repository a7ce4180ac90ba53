"""Acting on alerts from any page: the call goes to the API, the outcome shows after the rerun."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from streamlit_app.api_client import ApiError
from streamlit_app.text import literal

_FLASH = "alert_flash"


def act(call: Callable[[], Any], done: str) -> None:
    """Run an alert action; say `done`, or the API's reason when it refuses (e.g. already resolved).

    `done` is plain text (it holds alert titles): it is shown as it is, never as Markdown.
    """
    try:
        call()
    except ApiError as exc:
        st.session_state[_FLASH] = ("warning", f"Not done: {literal(exc.message)}")
    else:
        st.session_state[_FLASH] = ("success", literal(done))
    st.rerun()


def show_outcome() -> None:
    """The outcome of the last action, once."""
    flash = st.session_state.pop(_FLASH, None)
    if flash is None:
        return
    kind, text = flash
    if kind == "success":
        st.success(text, icon=":material/check:")
    else:
        st.warning(text, icon=":material/info:")
