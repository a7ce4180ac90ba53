"""What the store holds: how many events, from when to when, which customers and versions."""

from __future__ import annotations

from typing import Any

import duckdb

from analytics.timeseries import iso

MAX_VALUES = 200


def list_dimensions(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The store's extent and the customers and widget versions seen, busiest first.

    An empty store answers ``{"events": 0, "firstEvent": None, "lastEvent": None,
    "customers": [], "widgetVersions": []}``.
    """
    row = cur.execute("SELECT count(*), min(ts), max(ts) FROM events").fetchone()
    total, first, last = row if row else (0, None, None)

    def values(column: str) -> list[dict[str, Any]]:
        rows = cur.execute(
            f"SELECT {column}, count(*) AS n FROM events WHERE {column} IS NOT NULL "
            f"GROUP BY ALL ORDER BY n DESC, {column} LIMIT {MAX_VALUES}"
        ).fetchall()
        return [{"id": value, "events": n} for value, n in rows]

    return {
        "events": int(total),
        "firstEvent": None if first is None else iso(first),
        "lastEvent": None if last is None else iso(last),
        "customers": values("customer_id"),
        "widgetVersions": values("widget_version"),
    }
