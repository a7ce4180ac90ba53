"""`widget-monitor demo`: POST the demo dataset through the API, 1000 events per request."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

import httpx

from analytics.demo_data import generate_demo
from widget_monitor.api_auth import admin_headers, refusal
from widget_monitor.progress import Progress

BATCH = 1000


class DemoLoadFailed(RuntimeError):
    """The API refused a batch or could not be reached."""


def load_demo(
    api_url: str,
    *,
    days: float = 3.0,
    seed: int = 7,
    end: datetime | None = None,
    out: TextIO | None = sys.stderr,
) -> int:
    """Generate the demo events ending at `end` (default now), post them; return how many were stored."""
    events = generate_demo(end=end or datetime.now(UTC), days=days, seed=seed)
    stored = 0
    url = api_url.rstrip("/") + "/api/monitoring/widget"
    progress = None if out is None else Progress("loading demo data", len(events), out)
    with httpx.Client(timeout=60, headers=admin_headers()) as client:
        for first in range(0, len(events), BATCH):
            batch = events[first : first + BATCH]
            try:
                answer = client.post(url, json=batch)
            except httpx.TransportError as exc:
                raise DemoLoadFailed(f"cannot reach {url}: {exc}") from exc
            if answer.status_code != 200:
                raise DemoLoadFailed(refusal(url, answer, admin=True))
            stored += int(answer.json()["stored"])
            if progress is not None:
                progress.show(first + len(batch))
        # Evaluate the alert rules now rather than at the next periodic check, so the
        # demo's ongoing render regression shows as an alert at once (older servers: 404).
        try:
            client.post(api_url.rstrip("/") + "/api/monitoring/alerts/check", json={})
        except httpx.TransportError as exc:
            raise DemoLoadFailed(f"the data is stored, but the alert check failed: {exc}") from exc
    if out is not None:
        out.write(f"\nstored {stored} demo events ({days:g} days, seed {seed})\n")
    return stored
