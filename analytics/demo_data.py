"""A realistic demo dataset: a few days of widget traffic with two incidents to find.

Four customers with diurnal traffic (busiest mid-afternoon UTC) use three widget
versions. Two incidents are planted so that a newcomer's dashboard has a story:

- **a render regression**: version `2.5.0` rolls out from `ROLLOUT_START_H` hours
  before the end, ramping to half of all sessions; its renders take about twice
  as long, putting its p95 above the seed's 16 ms, and it scrolls less smoothly.
- **a storage outage**: for two hours (`OUTAGE_START_H`..`OUTAGE_END_H` before the
  end) customer `globex` loses a quarter of its saves, some with data loss.

The generator is a pure function of its arguments: the same call gives the same
events, ready to POST (wire camelCase, timestamps in epoch milliseconds).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

CUSTOMERS: dict[str, float] = {"acme": 1.0, "globex": 0.7, "initech": 0.45, "umbrella": 0.3}
OLD_VERSION, STABLE_VERSION, REGRESSED_VERSION = "2.3.1", "2.4.0", "2.5.0"
ROLLOUT_START_H = 30.0
ROLLOUT_RAMP_H = 12.0
OUTAGE_CUSTOMER = "globex"
OUTAGE_START_H, OUTAGE_END_H = 14.0, 12.0
SESSIONS_PER_HOUR = 60.0  # for a customer of weight 1 at the daily peak
LOST_IN_TRANSIT = 0.003
MIB = 1_048_576
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Session:
    """One visitor's widget session: who, which version, when."""

    id: str
    customer: str
    version: str
    start_ms: float
    in_outage: bool


def generate_demo(*, end: datetime, days: float = 3.0, seed: int = 7) -> list[dict[str, Any]]:
    """Every demo event from `end - days` to `end`, sorted by time.

    >>> from datetime import UTC
    >>> events = generate_demo(end=datetime(2026, 1, 1, tzinfo=UTC), days=0.25)
    >>> events == generate_demo(end=datetime(2026, 1, 1, tzinfo=UTC), days=0.25)
    True
    """
    rng = np.random.default_rng(seed)
    end_ms = end.timestamp() * 1000
    run = f"demo-{seed}-{int(end_ms // 60_000)}"
    events: list[dict[str, Any]] = []
    for session in _sessions(rng, end_ms, days, run):
        events.extend(_session_events(rng, session, end_ms))
    events.sort(key=lambda e: e["metric"]["timestamp"])
    for i, event in enumerate(events):
        event["metric"]["eventId"] = f"{run}-{i}"
    return events


def diurnal(hour_utc: float) -> float:
    """Relative traffic at an hour of the day: 0.25 at night, 1.0 at 14:00 UTC."""
    return 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour_utc - 6.0) / 16.0))


def version_shares(hours_before_end: float) -> dict[str, float]:
    """The share of new sessions on each widget version at a moment."""
    ramp = (ROLLOUT_START_H - hours_before_end) / ROLLOUT_RAMP_H
    regressed = 0.5 * min(1.0, max(0.0, ramp))
    old = 0.15 * min(1.0, max(0.2, hours_before_end / 72.0))
    return {OLD_VERSION: old, STABLE_VERSION: 1.0 - old - regressed, REGRESSED_VERSION: regressed}


def _sessions(rng: np.random.Generator, end_ms: float, days: float, run: str) -> Iterator[Session]:
    hours = math.ceil(days * 24)
    start_ms = end_ms - days * 24 * HOUR_MS
    n = 0
    for h in range(hours):
        hour_start = max(start_ms, end_ms - (hours - h) * HOUR_MS)
        hour_end = end_ms - (hours - h - 1) * HOUR_MS
        span = hour_end - hour_start
        if span <= 0:
            continue
        hour_of_day = (hour_start / HOUR_MS) % 24
        for customer, weight in CUSTOMERS.items():
            expected = SESSIONS_PER_HOUR * weight * diurnal(hour_of_day) * span / HOUR_MS
            for _ in range(int(rng.poisson(expected))):
                at = hour_start + float(rng.random()) * span
                before_h = (end_ms - at) / HOUR_MS
                shares = version_shares(before_h)
                version = str(rng.choice(list(shares), p=list(shares.values())))
                outage = customer == OUTAGE_CUSTOMER and OUTAGE_END_H <= before_h < OUTAGE_START_H
                n += 1
                yield Session(f"{run}-s{n}", customer, version, at, outage)


def _session_events(rng: np.random.Generator, s: Session, end_ms: float) -> list[dict[str, Any]]:
    def event(kind: str, offset_ms: float, **metric: Any) -> dict[str, Any]:
        at = min(s.start_ms + offset_ms, end_ms - 1)
        base = {"timestamp": round(at, 3), "sessionId": s.id, "tabId": s.id, "customerId": s.customer}
        return {"type": kind, "metric": {**base, "widgetVersion": s.version, **metric}}

    def lognormal(median: float, sigma: float) -> float:
        return round(float(median * math.exp(sigma * rng.standard_normal())), 2)

    regressed = s.version == REGRESSED_VERSION
    out: list[dict[str, Any]] = []
    restored = rng.random() < 0.995
    out.append(
        event(
            "restoration",
            5,
            success=bool(restored),
            duration=lognormal(95, 0.3),
            messagesRestored=int(rng.poisson(8)) if restored else 0,
        )
    )
    for name, size in (("main", 182_000), ("markdown", 64_000), ("vendor", 221_000)):
        cached = bool(rng.random() < 0.72)
        load = lognormal(45, 0.3) if cached else lognormal(320, 0.35)
        out.append(
            event("bundle", 1, name=name, size=size, loadTime=load, cached=cached),
        )
    messages = 2 + int(rng.poisson(6))
    t = 200.0
    for m in range(messages):
        t += float(rng.exponential(20_000))
        markdown = bool(rng.random() < 0.4)
        code = bool(markdown and rng.random() < 0.25)
        render = lognormal(11.5 if regressed else 6.0, 0.4 if regressed else 0.33) * (1.5 if code else 1.0)
        out.append(
            event(
                "render",
                t,
                messageId=f"{s.id}-m{m}",
                renderTime=min(render, 3_600_000),
                contentLength=int(rng.integers(20, 1200)),
                hasMarkdown=markdown,
                hasCodeBlocks=code,
            )
        )
        fail_p = 0.25 if s.in_outage else 0.003
        ok = bool(rng.random() >= fail_p)
        save: dict[str, Any] = {"operation": "save", "success": ok, "duration": lognormal(38, 0.45)}
        if not ok:
            save["errorType"] = "StorageUnavailableError" if s.in_outage else "QuotaExceededError"
            save["errorMessage"] = "storage backend did not answer" if s.in_outage else "quota exceeded"
            save["dataLoss"] = bool(s.in_outage and rng.random() < 0.3)
        save["metadata"] = {"messageCount": m + 1, "storageType": "localStorage", "dataSize": 900 * (m + 1)}
        out.append(event("persistence", t + 30, conversationId=f"{s.id}-c", **save))
        if rng.random() < 0.6:
            cached = bool(rng.random() < 0.66)
            api_ok = bool(rng.random() >= 0.002)
            out.append(
                event(
                    "api",
                    t + 5,
                    endpoint="/api/chat",
                    method="POST",
                    duration=lognormal(40 if cached else 240, 0.4),
                    success=api_ok,
                    status=200 if api_ok else 502,
                    cached=cached,
                )
            )
    fps = min(60.0, float(rng.normal(55.8 if regressed else 58.6, 1.0)))
    out.append(
        event(
            "scroll",
            t + 1000,
            avgFps=round(fps, 2),
            minFps=round(max(10.0, fps - abs(float(rng.normal(6, 3)))), 2),
            jankPercentage=round(min(100.0, float(rng.gamma(2.0, 3.2 if regressed else 1.6))), 2),
            frameCount=int(rng.integers(60, 600)),
            messageCount=messages,
        )
    )
    heap = max(8.0, float(rng.normal(27, 5))) * MIB
    for k in range(2):
        out.append(
            event(
                "memory",
                t * (k + 1) / 2 + 50,
                usedJSHeapSize=int(heap * (1 + 0.15 * k)),
                totalJSHeapSize=int(heap * 1.4),
                jsHeapSizeLimit=4096 * MIB,
            )
        )
    if rng.random() < 0.35:
        for _ in range(1 + int(rng.poisson(2))):
            out.append(
                event(
                    "tabSync",
                    t * float(rng.random()),
                    latency=lognormal(14, 0.45),
                    success=bool(rng.random() >= 0.005),
                    operation="broadcast",
                    tabCount=2,
                )
            )
    if rng.random() < 0.3:
        kept = bool(rng.random() >= (0.2 if s.in_outage else 0.002))
        out.append(
            event(
                "navigation",
                t + 2000,
                success=kept,
                dataPreserved=kept,
                duration=lognormal(60, 0.4),
                fromPage="/pricing",
                toPage="/checkout",
            )
        )
    # The SDK numbers a tab's events 1, 2, 3, ...; a few never reach the server (a closed
    # page, a dropped beacon), which the summary's telemetry completeness shows as gaps.
    out.sort(key=lambda e: e["metric"]["timestamp"])
    for seq, item in enumerate(out, start=1):
        item["metric"]["seq"] = seq
    return [item for item in out if rng.random() >= LOST_IN_TRANSIT]
