"""Turning API answers into what the pages show: figures with deltas, badges, frames.

Plain functions over dicts, tested without Streamlit. A figure with no data is None
and shows as a dash; a delta is only given when both windows have the figure. The domain's
facts (units, directions, buckets, status bands) are the API's figure registry's: they come
in as arguments (streamlit_app/registry.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

TARGET_POINTS = 120  # how dense a chart the pages draw by default

STATUS_BADGES: dict[str, tuple[str, str]] = {
    "healthy": ("Healthy", "green"),
    "degraded": ("Degraded", "yellow"),
    "unhealthy": ("Unhealthy", "red"),
    "no_data": ("No data", "gray"),
}
SEVERITY_BADGES: dict[str, tuple[str, str]] = {
    "info": ("Info", "blue"),
    "warning": ("Warning", "yellow"),
    "error": ("Error", "orange"),
    "critical": ("Critical", "red"),
}
SEVERITY_ORDER = ("critical", "error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of the summary, where to find it, and which way is better."""

    label: str
    path: tuple[str, ...]
    unit: str = ""
    higher_is_better: bool | None = None  # None: neither (a volume, or a figure of unknown sense)
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class FigureView:
    """A figure ready for `st.metric`: formatted value, signed delta and its colour rule."""

    label: str
    value: str | None
    delta: str | float | None
    delta_color: str
    hint: str | None


def lookup(summary: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    node: Any = summary
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def format_number(value: float | int | None, unit: str = "") -> str | None:
    """`12.5 ms`, `99.8%`, `1,250`; None stays None.

    >>> format_number(12.345, "ms"), format_number(99.84, "%"), format_number(1250)
    ('12.35 ms', '99.84%', '1,250')
    """
    if value is None:
        return None
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if unit == "%":
        return text + "%"
    return f"{text} {unit}".strip()


def figure_view(figure: Figure, current: dict[str, Any], previous: dict[str, Any] | None) -> FigureView:
    """The figure in `current`, with its change since `previous` when both have it."""
    value = lookup(current, figure.path)
    before = lookup(previous, figure.path) if previous is not None else None
    delta: str | float | None = None
    if value is not None and before is not None:
        whole = isinstance(value, int) and isinstance(before, int)
        change = value - before if whole else round(float(value) - float(before), 2)
        if change == 0:
            delta = 0
        else:
            unit = "pp" if figure.unit == "%" else figure.unit
            text = f"{change:+,}" if whole else f"{change:+,.2f}"
            delta = f"{text} {unit}".strip()
    colour = {True: "normal", False: "inverse", None: "off"}[figure.higher_is_better]
    return FigureView(figure.label, format_number(value, figure.unit), delta, colour, figure.hint)


def with_derived_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary plus figures the pages show that the API does not state directly.

    `performance.bundles.avgSize.kb`: the average size of a loaded bundle.

    >>> s = {"performance": {"bundles": {"totalLoaded": 4, "totalSize": {"bytes": 4096}}}}
    >>> with_derived_figures(s)["performance"]["bundles"]["avgSize"]
    {'kb': 1.0}
    """
    bundles = lookup(summary, ("performance", "bundles")) or {}
    loaded, size = bundles.get("totalLoaded"), lookup(bundles, ("totalSize", "bytes"))
    avg = round(size / loaded / 1024, 2) if loaded and size is not None else None
    performance = {**(summary.get("performance") or {}), "bundles": {**bundles, "avgSize": {"kb": avg}}}
    return {**summary, "performance": performance}


def has_data(summary: dict[str, Any] | None) -> bool:
    """Whether the window holds any event at all."""
    if not summary:
        return False
    counts = (
        ("persistence", "operations", "total"),
        ("persistence", "restoration", "total"),
        ("persistence", "navigation", "total"),
        ("performance", "renders", "count"),
        ("performance", "tabSync", "operations"),
        ("performance", "api", "totalCalls"),
        ("performance", "bundles", "totalLoaded"),
    )
    present = (("performance", "scroll", "avgFps"), ("performance", "memory", "peak", "bytes"))
    return any((lookup(summary, p) or 0) > 0 for p in counts) or any(
        lookup(summary, p) is not None for p in present
    )


def status_of(score: float | None, bands: Mapping[str, float]) -> str:
    """The status of a score in the registry's `bands`: healthy from `bands["healthy"]` up,
    degraded from `bands["degraded"]`, unhealthy below.

    >>> bands = {"healthy": 80, "degraded": 50}
    >>> [status_of(s, bands) for s in (80, 79.9, 50, 49.9, None)]
    ['healthy', 'degraded', 'degraded', 'unhealthy', 'no_data']
    """
    if score is None:
        return "no_data"
    if score >= bands["healthy"]:
        return "healthy"
    return "degraded" if score >= bands["degraded"] else "unhealthy"


def status_badge(status: str | None) -> tuple[str, str]:
    """(label, colour) of the seed's status: green healthy, yellow degraded, red unhealthy."""
    return STATUS_BADGES.get(status or "no_data", STATUS_BADGES["no_data"])


def severity_badge(severity: str | None) -> tuple[str, str]:
    return SEVERITY_BADGES.get(severity or "info", (str(severity).title(), "gray"))


def category_scores(summary: dict[str, Any]) -> list[tuple[str, float | None]]:
    """(category, score 0..100 or None) in the seed's order."""
    scores = lookup(summary, ("health", "scores")) or {}
    return [(name.title() if name != "api" else "API", scores.get(name)) for name in scores]


def errors_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """Failed persistence operations by error type, most frequent first."""
    errors = lookup(summary, ("persistence", "reliability", "errorsByType")) or {}
    frame = pd.DataFrame({"errorType": list(errors), "count": [int(v) for v in errors.values()]})
    return frame.sort_values(["count", "errorType"], ascending=[False, True], ignore_index=True)


def telemetry_view(summary: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The SDK's delivery figures (overall, and a frame by customer), or None when absent."""
    telemetry = summary.get("telemetry")
    if not isinstance(telemetry, dict):
        return None
    by_customer = telemetry.get("byCustomer") or {}
    rows = [{"customerId": cid, **figures} for cid, figures in by_customer.items()]
    frame = pd.DataFrame(rows, columns=["customerId", "expected", "received", "lost", "completeness"])
    overall = {k: telemetry.get(k) for k in ("expected", "received", "lost", "completeness")}
    return overall, frame


def alerts_frame(alerts: list[dict[str, Any]]) -> pd.DataFrame:
    """Alerts as a table, most severe then newest first."""
    columns = ["severity", "title", "category", "customerId", "status", "value", "threshold"]
    columns += ["createdAt", "lastSeenAt", "resolvedAt", "resolvedBy", "id"]
    frame = pd.DataFrame([{c: a.get(c) for c in columns} for a in alerts], columns=columns)
    if frame.empty:
        return frame
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    frame["_rank"] = frame["severity"].map(lambda s: rank.get(s, len(rank)))
    frame = frame.sort_values(["_rank", "createdAt"], ascending=[True, False], ignore_index=True)
    return frame.drop(columns="_rank")


def sort_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most severe first, then newest first."""
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    newest_first = sorted(alerts, key=lambda a: str(a.get("createdAt") or ""), reverse=True)
    return sorted(newest_first, key=lambda a: rank.get(a.get("severity") or "", len(rank)))


def alerts_for_customer(alerts: list[dict[str, Any]], customer_id: str | None) -> list[dict[str, Any]]:
    """The alerts that concern a customer: its own and those over all customers (no customerId).

    >>> [a["id"] for a in alerts_for_customer(
    ...     [{"id": 1, "customerId": None}, {"id": 2, "customerId": "a"}, {"id": 3, "customerId": "b"}], "a")]
    [1, 2]
    """
    if customer_id is None:
        return alerts
    return [a for a in alerts if a.get("customerId") in (None, customer_id)]


def alert_stats(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """The seed's alert statistics over a list of alerts."""
    by_severity: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for alert in alerts:
        severity, category = str(alert.get("severity")), str(alert.get("category"))
        by_severity[severity] = by_severity.get(severity, 0) + 1
        by_category[category] = by_category.get(category, 0) + 1
    return {
        "total": len(alerts),
        "unresolved": sum(1 for a in alerts if not a.get("resolved")),
        "bySeverity": by_severity,
        "byCategory": by_category,
    }


def counts_frame(counts: dict[str, int], key: str) -> pd.DataFrame:
    return pd.DataFrame({key: list(counts), "count": list(counts.values())})


def series_frame(payload: dict[str, Any]) -> pd.DataFrame:
    """The time-series answer as a frame: time (UTC), series, value, events."""
    points = payload.get("points") or []
    label = payload.get("label") or payload.get("metric") or "value"
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime([p["t"] for p in points], utc=True),
            "series": [p["group"] if p.get("group") is not None else label for p in points],
            "value": [p["value"] for p in points],
            "events": [p["events"] for p in points],
        }
    )
    return frame


def source_note(payload: dict[str, Any]) -> str:
    """Where a time series came from, for its caption.

    >>> source_note({"source": "rollup", "errorBound": 0.0054})
    'from hourly rollups: within ±0.54 %'
    >>> source_note({"source": "rollup", "errorBound": 0.0}), source_note({"source": "raw"})
    ('from hourly rollups: exact', 'exact, from raw events')
    """
    if payload.get("source") != "rollup":
        return "exact, from raw events"
    bound = payload.get("errorBound") or 0.0
    return f"from hourly rollups: within ±{100 * bound:.2f} %" if bound else "from hourly rollups: exact"


def summary_source_note(summary: dict[str, Any]) -> str:
    """Where a summary's figures came from, for the page's caption.

    >>> summary_source_note({"source": "rollup", "errorBound": 0.0054})
    'figures from hourly rollups: percentiles within ±0.54 %, the rest exact'
    >>> summary_source_note({"source": "raw", "errorBound": None})
    'figures exact, from raw events'
    """
    if summary.get("source") != "rollup":
        return "figures exact, from raw events"
    bound = summary.get("errorBound") or 0.0
    return f"figures from hourly rollups: percentiles within ±{100 * bound:.2f} %, the rest exact"


def telemetry_note(summary: dict[str, Any]) -> str | None:
    """Said under the telemetry figures when they count a shorter window than the summary's.

    >>> telemetry_note({"telemetry": {"from": "2026-01-30T10:00:00.000Z", "to": "2026-01-31T10:48:00.000Z"},
    ...                 "timeWindow": 2_592_000_000})
    'Counted over the last 24.8 h of the window, from 2026-01-30 10:00 to 2026-01-31 10:48 UTC.'
    >>> telemetry_note({"telemetry": {"from": "2026-01-30T23:00:00.000Z", "to": "2026-01-31T00:00:00.000Z"},
    ...                 "timeWindow": 3_600_000}) is None
    True
    """
    telemetry = summary.get("telemetry") or {}
    if not telemetry.get("from") or not telemetry.get("to"):
        return None
    start = datetime.fromisoformat(telemetry["from"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(telemetry["to"].replace("Z", "+00:00"))
    if (end - start).total_seconds() * 1000 >= int(summary.get("timeWindow") or 0):
        return None
    hours = (end - start).total_seconds() / 3600
    return (
        f"Counted over the last {hours:.3g} h of the window, "
        f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC."
    )


def _by_width(buckets: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(buckets.items(), key=lambda item: item[1])


def auto_bucket(span: timedelta, buckets: Mapping[str, int]) -> str:
    """The finest of `buckets` (name -> seconds) that keeps the chart at about `TARGET_POINTS`
    points or fewer; the coarsest when none does.

    >>> buckets = {"1m": 60, "1h": 3600, "1d": 86_400}
    >>> auto_bucket(timedelta(hours=1), buckets), auto_bucket(timedelta(days=3), buckets)
    ('1m', '1h')
    >>> auto_bucket(timedelta(days=365), buckets)
    '1d'
    """
    seconds = span.total_seconds()
    ordered = _by_width(buckets)
    return next((name for name, width in ordered if seconds / width <= TARGET_POINTS), ordered[-1][0])


def bucket_options(span: timedelta, buckets: Mapping[str, int], max_buckets: int) -> list[str]:
    """The buckets that give at least two and fewer than `max_buckets` points over `span`
    (when none does, the one `auto_bucket` picks).

    >>> bucket_options(timedelta(hours=2), {"1m": 60, "1h": 3600, "1d": 86_400}, 100)
    ['1h']
    """
    seconds = span.total_seconds()
    fitting = [name for name, width in _by_width(buckets) if 2 <= seconds / width < max_buckets]
    return fitting or [auto_bucket(span, buckets)]
