"""Per-event values of one figure for two groups to be compared (the Compare page).

A value metric gives its number per event; a rate gives 100 or 0 per event (so the
mean of the samples is the rate); a count gives 1 or 0. Above `limit` events a
seeded reservoir sample keeps the answer small and the same on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from analytics.errors import InvalidQuery
from analytics.queries.metric_catalogue import metric_named
from analytics.storage.lake import events_source
from analytics.window import Window, iso

MAX_SAMPLES = 50_000
SAMPLE_SEED = 42


@dataclass(frozen=True, slots=True)
class SampleQuery:
    """Which events to draw values from."""

    metric: str
    start: datetime
    end: datetime
    customer_id: str | None = None
    widget_version: str | None = None
    limit: int = 5000

    @classmethod
    def between(
        cls,
        metric: str,
        start: datetime | None,
        end: datetime | None,
        customer_id: str | None = None,
        widget_version: str | None = None,
        limit: int = 5000,
    ) -> SampleQuery:
        """The query over [start, end): `end` defaults to now, `start` to 24 hours before it."""
        w = Window.between(start, end, customer_id=customer_id, widget_version=widget_version)
        return cls(metric, w.start, w.end, w.customer_id, w.widget_version, limit)

    @property
    def window(self) -> Window:
        return Window(self.start, self.end, self.customer_id, self.widget_version)


def read_samples(cur: duckdb.DuckDBPyConnection, query: SampleQuery) -> dict[str, Any]:
    """The values of `query.metric` in the window, at most `query.limit` of them.

    Returns ``{"metric", "kind", "unit", "total", "sampled", "values"}`` where
    `total` counts every matching event and `sampled` says whether `values` is a
    reservoir sample of them.
    """
    metric = metric_named(query.metric)
    if not 1 <= query.limit <= MAX_SAMPLES:
        raise InvalidQuery(f"limit must be between 1 and {MAX_SAMPLES}", parameter="limit")
    if query.start >= query.end:
        raise InvalidQuery("from must be before to", parameter="from")
    if metric.kind == "value":
        value_sql, not_null = metric.expr, f"AND ({metric.expr}) IS NOT NULL"
    elif metric.kind == "rate":
        value_sql, not_null = f"CASE WHEN coalesce({metric.expr}, false) THEN 100.0 ELSE 0.0 END", ""
    else:
        value_sql, not_null = f"CASE WHEN coalesce({metric.expr}, false) THEN 1.0 ELSE 0.0 END", ""
    types = ", ".join(f"'{t}'" for t in metric.types)
    events = events_source(cur, query.start, query.end, metric.types)
    matching = f"""
        SELECT CAST({value_sql} AS DOUBLE) AS v FROM {events}
        WHERE type IN ({types}) AND {query.window.where} {not_null}
    """
    params = query.window.params()
    row = cur.execute(f"SELECT count(*) FROM ({matching})", params).fetchone()
    total = int(row[0]) if row else 0
    sampled = total > query.limit
    sample_clause = (
        f"USING SAMPLE reservoir({query.limit} ROWS) REPEATABLE ({SAMPLE_SEED})" if sampled else ""
    )
    values = [v for (v,) in cur.execute(f"SELECT v FROM ({matching}) {sample_clause}", params).fetchall()]
    return {
        "metric": metric.name,
        "kind": metric.kind,
        "unit": metric.unit,
        "from": iso(query.start),
        "to": iso(query.end),
        "customerId": query.customer_id,
        "widgetVersion": query.widget_version,
        "total": total,
        "sampled": sampled,
        "source": "raw",  # each value is an event's own
        "errorBound": None,
        "values": values,
    }
