"""The summary as a flat list of metrics under the seed's names, for external monitoring.

Every figure that declares an export name (`Figure.export`) is in it, read from its place
in the summary.

`format=export` answers `{"timestamp", "timeWindow", "metrics": [{name, value, unit,
labels}, ...]}`; `format=prometheus` renders the same list in the Prometheus text
exposition format (names with `_` for `.`, prefixed `widget_`).
"""

from __future__ import annotations

import math
from typing import Any

from analytics.figures import derived
from analytics.figures import figures as registered_figures
from analytics.queries.health import lookup

# The export's unit names, by figure unit; a size (MiB in the figure) is exported in bytes.
_UNITS = {"": "count", "%": "percent", "ms": "ms", "fps": "fps", "MB": "bytes", "KB": "kb"}

# What the export adds beyond the registry's figures: (name, unit, path in the summary).
_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("health.overall", "score", ("health", "overall")),
    ("telemetry.expected", "count", ("telemetry", "expected")),
    ("telemetry.received", "count", ("telemetry", "received")),
    ("telemetry.lost", "count", ("telemetry", "lost")),
    ("telemetry.completeness", "percent", ("telemetry", "completeness")),
)


@derived
def exported_figures() -> tuple[tuple[str, str, tuple[str, ...], dict[str, str]], ...]:
    """(export name, unit, path in the summary, labels) of every figure the summary exports."""
    rows = []
    for f in registered_figures():
        if f.export is None or f.summary is None:
            continue
        sized = f.shape in ("mb", "size")
        path = (*f.summary, "bytes") if sized else f.summary
        rows.append((f.export.name, _UNITS.get(f.unit, f.unit), path, f.export.labels))
    return tuple(rows)


def export_metrics(summary: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """Flatten a summary; `labels` (e.g. the customer filter) go on every metric."""
    metrics = [
        {"name": name, "value": lookup(summary, path), "unit": unit, "labels": {**labels, **extra}}
        for name, unit, path, extra in exported_figures()
    ]
    metrics += [
        {"name": name, "value": lookup(summary, path), "unit": unit, "labels": dict(labels)}
        for name, unit, path in _SECTIONS
        if path[0] in summary  # a summary asked without its telemetry exports none
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
