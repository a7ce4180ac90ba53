"""The summary as a flat list of metrics under the seed's names, for external monitoring.

`format=export` answers `{"timestamp", "timeWindow", "metrics": [{name, value, unit,
labels}, ...]}`; `format=prometheus` renders the same list in the Prometheus text
exposition format (names with `_` for `.`, prefixed `widget_`).
"""

from __future__ import annotations

import math
from typing import Any

from analytics.health import lookup

# (seed metric name, unit, path in the summary, extra labels)
_EXPORTED: tuple[tuple[str, str, tuple[str, ...], dict[str, str]], ...] = (
    ("persistence.operations", "count", ("persistence", "operations", "total"), {}),
    ("persistence.success_rate", "percent", ("persistence", "operations", "successRate"), {}),
    ("persistence.error_rate", "percent", ("persistence", "operations", "errorRate"), {}),
    ("persistence.data_loss", "count", ("persistence", "reliability", "dataLossIncidents"), {}),
    ("persistence.duration", "ms", ("persistence", "performance", "avgDuration"), {"stat": "avg"}),
    ("persistence.duration", "ms", ("persistence", "performance", "p50Duration"), {"stat": "p50"}),
    ("persistence.duration", "ms", ("persistence", "performance", "p95Duration"), {"stat": "p95"}),
    ("persistence.duration", "ms", ("persistence", "performance", "p99Duration"), {"stat": "p99"}),
    ("persistence.restore_time", "ms", ("persistence", "restoration", "avgDuration"), {"stat": "avg"}),
    ("persistence.restore_success_rate", "percent", ("persistence", "restoration", "successRate"), {}),
    ("persistence.navigation_data_loss", "count", ("persistence", "navigation", "dataLossCount"), {}),
    ("render.message_time", "ms", ("performance", "renders", "avgTime"), {"stat": "avg"}),
    ("render.message_time", "ms", ("performance", "renders", "p95Time"), {"stat": "p95"}),
    ("render.count", "count", ("performance", "renders", "count"), {}),
    ("render.slow_render_rate", "percent", ("performance", "renders", "slowRenderRate"), {}),
    ("scroll.fps", "fps", ("performance", "scroll", "avgFps"), {"stat": "avg"}),
    ("scroll.fps", "fps", ("performance", "scroll", "minFps"), {"stat": "min"}),
    ("scroll.jank_percentage", "percent", ("performance", "scroll", "jankPercentage"), {}),
    ("tabsync.latency", "ms", ("performance", "tabSync", "avgLatency"), {"stat": "avg"}),
    ("tabsync.latency", "ms", ("performance", "tabSync", "p95Latency"), {"stat": "p95"}),
    ("tabsync.failure_rate", "percent", ("performance", "tabSync", "failureRate"), {}),
    ("memory.usage", "bytes", ("performance", "memory", "current", "bytes"), {}),
    ("memory.peak", "bytes", ("performance", "memory", "peak", "bytes"), {}),
    ("memory.average", "bytes", ("performance", "memory", "average", "bytes"), {}),
    ("api.latency", "ms", ("performance", "api", "avgDuration"), {"stat": "avg"}),
    ("api.latency", "ms", ("performance", "api", "p95Duration"), {"stat": "p95"}),
    ("api.calls", "count", ("performance", "api", "totalCalls"), {}),
    ("api.error_rate", "percent", ("performance", "api", "errorRate"), {}),
    ("api.cache_hit_rate", "percent", ("performance", "api", "cacheHitRate"), {}),
    ("bundle.load_time", "ms", ("performance", "bundles", "avgLoadTime"), {"stat": "avg"}),
    ("bundle.size", "bytes", ("performance", "bundles", "totalSize", "bytes"), {}),
    ("bundle.cache_hit_rate", "percent", ("performance", "bundles", "cacheHitRate"), {}),
    ("health.overall", "score", ("health", "overall"), {}),
    ("telemetry.expected", "count", ("telemetry", "expected"), {}),
    ("telemetry.received", "count", ("telemetry", "received"), {}),
    ("telemetry.lost", "count", ("telemetry", "lost"), {}),
    ("telemetry.completeness", "percent", ("telemetry", "completeness"), {}),
)


def export_metrics(summary: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """Flatten a summary; `labels` (e.g. the customer filter) go on every metric."""
    ops = summary["persistence"]["operations"]
    error_rate = None if ops["total"] == 0 else round(100.0 * ops["failed"] / ops["total"], 2)
    extended = {**summary, "persistence": {**summary["persistence"]}}
    extended["persistence"]["operations"] = {**ops, "errorRate": error_rate}
    metrics = [
        {"name": name, "value": lookup(extended, path), "unit": unit, "labels": {**labels, **extra}}
        for name, unit, path, extra in _EXPORTED
    ]
    for category, score in summary["health"]["scores"].items():
        metrics.append(
            {
                "name": "health.score",
                "value": score,
                "unit": "score",
                "labels": {**labels, "category": category},
            }
        )
    for error_type, count in summary["persistence"]["reliability"]["errorsByType"].items():
        metrics.append(
            {
                "name": "persistence.errors",
                "value": count,
                "unit": "count",
                "labels": {**labels, "errorType": error_type},
            }
        )
    telemetry = summary.get("telemetry") or {}
    by_customer = {} if "customerId" in labels else telemetry.get("byCustomer", {})
    for customer, figures in by_customer.items():
        metrics.append(
            {
                "name": "telemetry.completeness",
                "value": figures["completeness"],
                "unit": "percent",
                "labels": {**labels, "customerId": customer},
            }
        )
    return {
        "timestamp": summary["timestamp"],
        "timeWindow": summary["timeWindow"],
        "metrics": metrics,
    }


def to_prometheus(exported: dict[str, Any]) -> str:
    """The exported metrics in Prometheus text exposition format; null values are left out."""
    lines: list[str] = []
    typed: set[str] = set()
    for metric in exported["metrics"]:
        value = metric["value"]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        name = "widget_" + metric["name"].replace(".", "_") + _unit_suffix(metric["unit"])
        if name not in typed:
            lines.append(f"# TYPE {name} gauge")
            typed.add(name)
        labels = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(metric["labels"].items()))
        lines.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")
    return "\n".join(lines) + "\n"


def _unit_suffix(unit: str) -> str:
    return {"ms": "_milliseconds", "bytes": "_bytes", "percent": "_percent"}.get(unit, "")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
