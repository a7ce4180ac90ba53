"""Reading the server's summary for one customer until the browser's events have arrived."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.server import ServerProcess


def summary(server: ServerProcess, customer_id: str) -> dict[str, Any]:
    """The summary of the last hour for `customer_id`, bypassing the 30 s cache."""
    answer = httpx.get(
        f"{server.url}/api/monitoring/widget",
        params={"window": 3_600_000, "customerId": customer_id},
        headers={"Cache-Control": "no-cache"},
        timeout=10,
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def wait_for_summary(
    server: ServerProcess,
    customer_id: str,
    ready: Callable[[dict[str, Any]], bool],
    timeout_s: float = 20.0,
) -> dict[str, Any]:
    """Poll until `ready(summary)`; the last summary is in the error when it never is."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = summary(server, customer_id)
        if ready(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"the summary never became ready: {current}")
        time.sleep(0.25)
