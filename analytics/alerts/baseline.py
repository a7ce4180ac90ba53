"""Baselines: what "normal" looked like, and how far the figures have drifted from it.

Two kinds: a captured baseline (the seed's `captureBaseline()`: the key figures of a
window, stored with who captured it), and a rolling one, measured on demand over the
same hour of the day on each of the previous 7 days. Degradation is signed so that a
positive number is always worse: for latencies a rise, for FPS a fall.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.alerts.alert import iso
from analytics.alerts.evaluate import GLOBAL, Reading, Readings, TimeRange, measure
from analytics.alerts.rules import baselined_figures as baselined

ROLLING_DAYS = 7
ROLLING_SPAN = timedelta(hours=1)


def degradation(metric: str, current: float, baseline: float) -> float | None:
    """How much worse `current` is than `baseline`, in percent of the baseline (negative: better).

    None when the baseline is zero or negative, where a percentage means nothing.

    >>> degradation("render.message_time", 12.0, 10.0)
    20.0
    >>> degradation("scroll.fps", 45.0, 60.0)
    25.0
    >>> degradation("scroll.fps", 66.0, 60.0)
    -10.0
    """
    if baseline <= 0:
        return None
    _, higher_is_worse = baselined()[metric]
    change = (current - baseline) if higher_is_worse else (baseline - current)
    return round(100.0 * change / baseline, 6)


def rolling_ranges(now: datetime, days: int = ROLLING_DAYS) -> list[TimeRange]:
    """The hour before `now`'s time of day, on each of the previous `days` days."""
    return [
        TimeRange(now - timedelta(days=d) - ROLLING_SPAN, now - timedelta(days=d)) for d in range(1, days + 1)
    ]


def baseline_figures(readings: Readings) -> dict[str, dict[str, Any]]:
    """The baseline figures of a scope's readings, as stored: {metric: {value, samples}}."""
    return {
        metric: {"value": readings[metric].value, "samples": readings[metric].samples}
        for metric in baselined()
    }


def capture_baseline(
    cur: duckdb.DuckDBPyConnection,
    *,
    now: datetime,
    window: timedelta,
    customer_id: str | None,
    by: str,
    label: str | None = None,
) -> dict[str, Any]:
    """Snapshot the key figures of [now - window, now) for one scope (not stored here)."""
    span = TimeRange(now - window, now)
    scopes = measure(cur, [span], per_customer=customer_id is not None)
    readings = scopes.get(customer_id or GLOBAL) or {m: Reading(None, 0) for m in baselined()}
    return {
        "id": f"baseline_{uuid.uuid4().hex[:16]}",
        "customerId": customer_id,
        "capturedAt": now,
        "capturedBy": by,
        "label": label,
        "windowStart": span.start,
        "windowEnd": span.end,
        "figures": baseline_figures(readings),
    }


def baseline_to_wire(baseline: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **baseline,
        "capturedAt": iso(baseline["capturedAt"]),
        "windowStart": iso(baseline["windowStart"]),
        "windowEnd": iso(baseline["windowEnd"]),
    }


def reference(
    metric: str,
    *,
    source: str,
    captured: Mapping[str, Any] | None,
    rolling: Readings | None,
    min_samples: int,
) -> dict[str, Any] | None:
    """The baseline value to compare `metric` with, and where it came from; None when there is none.

    `source` is the config's choice: `captured` (the latest captured baseline of the
    scope), `rolling` (the same hour over the previous 7 days) or `auto` (captured when
    there is one, else rolling). A baseline figure from fewer than `min_samples` samples
    is not trusted.
    """
    if source in ("auto", "captured") and captured is not None:
        figure = captured["figures"].get(metric) or {}
        value, samples = figure.get("value"), int(figure.get("samples") or 0)
        if value is not None and samples >= min_samples and value > 0:
            return {
                "source": "captured",
                "id": captured["id"],
                "capturedAt": iso(captured["capturedAt"]),
                "value": value,
                "samples": samples,
            }
        if source == "captured":
            return None
    if source == "captured" or rolling is None:
        return None
    reading = rolling[metric]
    if reading.value is None or reading.samples < min_samples or reading.value <= 0:
        return None
    return {
        "source": "rolling",
        "id": None,
        "capturedAt": None,
        "value": reading.value,
        "samples": reading.samples,
    }
