"""What the entry script hands every page: the API client and who it is, the filters, the store's extent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from streamlit_app.api_client import MonitorClient
from streamlit_app.filters import Filters
from streamlit_app.registry import Registry
from streamlit_app.session import UNGUARDED

_KEY = "_page_context"


@dataclass(frozen=True, slots=True)
class PageContext:
    client: MonitorClient
    filters: Filters
    dimensions: dict[str, Any] | None  # None when the API could not be asked
    fresh: bool = False  # the user asked for a refresh: bypass the API's summary cache
    whoami: dict[str, Any] = field(default_factory=lambda: dict(UNGUARDED))  # streamlit_app/session.py
    # answers asked for once in this run (the entry script makes a new context every run)
    _asked: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def registry(self) -> Registry:
        """The API's figure registry, asked on this run's first use and kept for the rest of the run.

        Not kept across runs: a threshold an operator changes shows on the next run.
        """
        if "registry" not in self._asked:
            self._asked["registry"] = Registry.from_answer(self.client.figure_registry())
        registry: Registry = self._asked["registry"]
        return registry


def set_page_context(context: PageContext) -> None:
    st.session_state[_KEY] = context


def page_context() -> PageContext:
    context: PageContext = st.session_state[_KEY]
    return context
