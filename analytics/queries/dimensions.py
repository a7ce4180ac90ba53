"""What the store holds: how many events, from when to when, which customers and versions."""

from __future__ import annotations

from typing import Any

import duckdb

from analytics.storage.lake import events_source
from analytics.window import iso

MAX_VALUES = 200


def list_dimensions(cur: duckdb.DuckDBPyConnection, customer_id: str | None = None) -> dict[str, Any]:
    """The store's extent and the customers and widget versions seen, busiest first.

    With `customer_id`, that customer's events alone (and no other customer named).
    An empty store answers ``{"events": 0, "firstEvent": None, "lastEvent": None,
    "customers": [], "widgetVersions": []}``.
    """
    scope = "" if customer_id is None else "customer_id = $customer AND "
    params = {} if customer_id is None else {"customer": customer_id}
    events = events_source(cur)
    row = cur.execute(f"SELECT count(*), min(ts), max(ts) FROM {events} WHERE {scope}true", params).fetchone()
    total, first, last = row if row else (0, None, None)

    def values(column: str) -> list[dict[str, Any]]:
        rows = cur.execute(
            f"SELECT {column}, count(*) AS n FROM {events} WHERE {scope}{column} IS NOT NULL "
            f"GROUP BY ALL ORDER BY n DESC, {column} LIMIT {MAX_VALUES}",
            params,
        ).fetchall()
        return [{"id": value, "events": n} for value, n in rows]

    return {
        "events": int(total),
        "firstEvent": None if first is None else iso(first),
        "lastEvent": None if last is None else iso(last),
        "customers": values("customer_id"),
        "widgetVersions": values("widget_version"),
    }
