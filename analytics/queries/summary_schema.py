"""The JSON Schema of the summary's answer, generated from the figure registry.

Every figure the summary shows (`Figure.summary`, `Figure.shown`) is a property at its path,
typed by its shape (an integer count; a number or null; `{bytes, mb}`; `{bytes, kb, mb}`) and
described by its label and unit; the sections that are not figures (health, errors by type,
telemetry, alerts) are written here once. The OpenAPI document serves it
(`ingest_api.openapi`), so a client generator sees the same shape the summary writes.
"""

from __future__ import annotations

from typing import Any

from analytics.figures import Figure, figures, tallies
from analytics.queries.health import CATEGORY_WEIGHTS

_NUMBER = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_STATUS = {"type": "string", "enum": ["healthy", "degraded", "unhealthy", "no_data"]}


def summary_schema() -> dict[str, Any]:
    """The schema of `GET /api/monitoring/widget` (`format=json`).

    >>> schema = summary_schema()
    >>> schema["properties"]["performance"]["properties"]["renders"]["properties"]["p95Time"]["type"]
    ['number', 'null']
    """
    root: dict[str, Any] = _object(
        {
            "timestamp": {"type": "string", "format": "date-time"},
            "timeWindow": {"type": "integer", "description": "the window's length in ms"},
            "source": {
                "type": "string",
                "enum": ["raw", "rollup"],
                "description": "where the figures come from: raw events (exact), or the hourly rollups",
            },
            "errorBound": {
                **_NUMBER,
                "description": "from the rollups: a percentile's largest relative error (null: exact)",
            },
            "health": _object(
                {
                    "overall": _NUMBER,
                    "scores": _object({category: _NUMBER for category in CATEGORY_WEIGHTS}),
                    "status": _STATUS,
                }
            ),
        }
    )
    for figure in figures():
        if figure.summary is not None and figure.shown:
            _place(root, figure.summary, _leaf(figure))
    for tally in tallies():
        if tally.summary is not None:
            counts = {"type": "object", "additionalProperties": _COUNT, "description": tally.label}
            _place(root, tally.summary, counts)
    completeness = {
        "expected": _COUNT,
        "received": _COUNT,
        "lost": {"type": "integer"},
        "completeness": {**_NUMBER, "description": "% of the events widgets tracked that reached the store"},
    }
    moment = {"type": "string", "format": "date-time"}
    root["properties"]["telemetry"] = {
        **_object(
            {
                "from": {
                    **moment,
                    "description": (
                        "the window counted: the summary's, or its last 24 h from their first hour's start"
                    ),
                },
                "to": moment,
                **completeness,
                "byCustomer": {"type": "object", "additionalProperties": _object(completeness)},
            }
        ),
        "description": "events expected, received and lost, counted per tab (absent with `telemetry=false`)",
    }
    root["properties"]["alerts"] = {
        "type": "object",
        "description": "active alerts and their statistics (absent with `alerts=false`)",
        "properties": {"active": {"type": "array", "items": {"type": "object"}}, "stats": {"type": "object"}},
        "required": ["active", "stats"],
    }
    root["required"] = [k for k in root["properties"] if k not in ("alerts", "telemetry")]
    return root


def export_schema() -> dict[str, Any]:
    """The schema of `format=export`: the summary as a flat list of named metrics."""
    metric = _object(
        {
            "name": {"type": "string"},
            "value": _NUMBER,
            "unit": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    )
    return _object(
        {
            "timestamp": {"type": "string", "format": "date-time"},
            "timeWindow": {"type": "integer"},
            "metrics": {"type": "array", "items": metric},
        }
    )


def _leaf(figure: Figure) -> dict[str, Any]:
    about = f"{figure.label}" + (f", {figure.unit}" if figure.unit else "")
    if figure.shape == "int":
        return {**_COUNT, "description": about}
    if figure.shape in ("mb", "size"):
        parts = {"bytes": {"type": ["integer", "null"]}, "mb": _NUMBER}
        if figure.shape == "size":
            parts = {"bytes": parts["bytes"], "kb": _NUMBER, "mb": _NUMBER}
        return {**_object(parts), "description": figure.label}
    return {**_NUMBER, "description": about}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _place(root: dict[str, Any], path: tuple[str, ...], leaf: dict[str, Any]) -> None:
    node = root
    for key in path[:-1]:
        _require(node, key)
        node = node["properties"].setdefault(key, {"type": "object", "properties": {}, "required": []})
    _require(node, path[-1])
    node["properties"][path[-1]] = leaf


def _require(node: dict[str, Any], key: str) -> None:
    required = node.setdefault("required", [])
    if key not in required:
        required.append(key)
