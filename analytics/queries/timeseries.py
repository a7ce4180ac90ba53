"""One figure over time: a statistic per time bucket, optionally one series per group.

Buckets are aligned in UTC (DuckDB `time_bucket`, origin Monday 2000-01-03, so
hours start on the hour, days at midnight UTC and weeks on Monday). A bucket
without events is absent rather than zero: no data is not a measurement.

The source (`analytics.queries.source.source_for`): a range of up to 24 h is answered exactly from raw
events; a longer one with buckets of an hour or more from the hourly rollups
(`analytics.queries.rolled_series`: totals exact, quantiles within `errorBound`), unless
`exact` asks for raw events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb

from analytics.alerts.config import AlertingConfig
from analytics.errors import InvalidQuery
from analytics.queries.metric_catalogue import Metric, Threshold, aggregate_sql, check_stat, metric_named
from analytics.queries.rolled_series import error_bound, rolled_rows
from analytics.queries.source import Source, source_for
from analytics.storage.lake import events_source
from analytics.window import Window, iso

BUCKETS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 21_600,
    "1d": 86_400,
    "1w": 604_800,
}
GROUP_COLUMNS: dict[str, str] = {"widgetVersion": "widget_version", "customerId": "customer_id"}
MAX_BUCKETS = 2000
MAX_GROUPS = 12
NO_GROUP = "(none)"


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A validated request for one figure over [start, end)."""

    metric: Metric
    stat: str
    bucket: str
    start: datetime
    end: datetime
    customer_id: str | None = None
    widget_version: str | None = None
    group_by: str | None = None
    exact: bool = False  # raw events whatever the range (where they are kept)
    raw_from: datetime | None = None  # raw events before this are gone (retention); None: all kept

    @property
    def source(self) -> Source:
        """Raw events for up to `EXACT_SPAN`, for buckets under an hour, or when `exact`; else rollups.

        A range reaching back before `raw_from` comes from the rollups even then (the raw
        events of those days are gone), when its buckets are whole hours.
        """
        if self.bucket_seconds % 3600:
            return "raw"
        return source_for(self.start, self.end, exact=self.exact, raw_from=self.raw_from)

    @property
    def bucket_seconds(self) -> int:
        return BUCKETS[self.bucket]

    @property
    def window(self) -> Window:
        return Window(self.start, self.end, self.customer_id, self.widget_version)


def series_query(
    metric: str,
    *,
    stat: str | None = None,
    bucket: str = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
    customer_id: str | None = None,
    widget_version: str | None = None,
    group_by: str | None = None,
    exact: bool = False,
    raw_from: datetime | None = None,
    now: datetime | None = None,
) -> SeriesQuery:
    """Check every parameter; raise InvalidQuery with a message naming what is valid.

    `end` defaults to now and `start` to 24 hours before `end`.

    >>> from datetime import UTC
    >>> q = series_query("render.renderTime", bucket="1h", now=datetime(2026, 1, 2, tzinfo=UTC))
    >>> (q.stat, q.start.isoformat())
    ('p95', '2026-01-01T00:00:00+00:00')
    """
    entry = metric_named(metric)
    chosen_stat = check_stat(entry, stat)
    if bucket not in BUCKETS:
        raise InvalidQuery(
            f"unknown bucket {bucket!r}; expected one of {', '.join(BUCKETS)}", parameter="bucket"
        )
    if group_by is not None and group_by not in GROUP_COLUMNS:
        raise InvalidQuery(
            f"cannot group by {group_by!r}; expected one of {', '.join(GROUP_COLUMNS)}",
            parameter="groupBy",
        )
    window = Window.between(start, end, now=now)
    start, end = window.start, window.end
    if start >= end:
        raise InvalidQuery(
            f"from ({start.isoformat()}) must be before to ({end.isoformat()})", parameter="from"
        )
    buckets = bucket_count(start, end, BUCKETS[bucket])
    if buckets > MAX_BUCKETS:
        fitting = next((b for b, s in BUCKETS.items() if bucket_count(start, end, s) <= MAX_BUCKETS), None)
        hint = f"; use bucket={fitting} or a shorter range" if fitting else "; use a shorter range"
        raise InvalidQuery(
            f"{buckets} buckets of {bucket} between from and to is over the limit of {MAX_BUCKETS}{hint}",
            parameter="bucket",
        )
    return SeriesQuery(
        entry, chosen_stat, bucket, start, end, customer_id, widget_version, group_by, exact, raw_from
    )


def bucket_count(start: datetime, end: datetime, bucket_seconds: int) -> int:
    """How many aligned buckets [start, end) touches (an upper bound, off by one at most)."""
    return math.ceil((end - start).total_seconds() / bucket_seconds) + 1


def threshold_in_force(threshold: Threshold | None, alerting: AlertingConfig | None) -> Threshold | None:
    """The threshold to draw: the alerting config's value for the same rule when the rule
    is enabled there (`source` "alerting"), else the seed's (`source` "seed").

    >>> from analytics.alerts.rules import Level
    >>> from analytics.queries.metric_catalogue import catalogue
    >>> seed = catalogue()["render.renderTime"].threshold
    >>> levels = {**AlertingConfig().levels, "render.message_time": (Level("warning", 20.0),)}
    >>> threshold_in_force(seed, AlertingConfig(levels=levels)).value, threshold_in_force(seed, None).value
    (20.0, 16)
    """
    if threshold is None or threshold.rule is None or alerting is None:
        return threshold
    value = alerting.level_of(threshold.rule, threshold.severity)
    return threshold if value is None else replace(threshold, value=value, source="alerting")


def compute_timeseries(
    cur: duckdb.DuckDBPyConnection, query: SeriesQuery, alerting: AlertingConfig | None = None
) -> dict[str, Any]:
    """The figure per bucket (and per group), as the API answers it.

    Returns a dict with the query echoed back, the threshold to draw (`alerting`'s when
    given, see `threshold_in_force`), the groups
    shown (the `MAX_GROUPS` largest by events), and `points`: one
    `{"t", "group", "value", "events"}` per bucket with events, ordered by group then time.
    """
    metric = query.metric
    group_col = GROUP_COLUMNS.get(query.group_by or "")
    source = query.source
    if source == "rollup":
        rows: list[Any] = rolled_rows(
            cur,
            metric_name=metric.name,
            stat=query.stat,
            window=query.window,
            width_s=query.bucket_seconds,
            group_column=group_col,
            no_group=NO_GROUP,
        )
    else:
        rows = _raw_rows(cur, query, group_col)
    totals: dict[Any, int] = {}
    for _, grp, _, events in rows:
        totals[grp] = totals.get(grp, 0) + events
    kept = sorted(totals, key=lambda g: (-totals[g], str(g)))[:MAX_GROUPS]
    kept_set = set(kept)
    points = [
        {"t": iso(bucket), "group": grp, "value": _finite(value), "events": events}
        for bucket, grp, value, events in rows
        if grp in kept_set and events > 0
    ]
    threshold = threshold_in_force(metric.threshold_for(query.stat), alerting)
    return {
        "metric": metric.name,
        "label": metric.label,
        "stat": query.stat,
        "unit": metric.unit_of(query.stat),
        "bucket": query.bucket,
        "bucketSeconds": query.bucket_seconds,
        "from": iso(query.start),
        "to": iso(query.end),
        "customerId": query.customer_id,
        "widgetVersion": query.widget_version,
        "groupBy": query.group_by,
        "threshold": None if threshold is None else threshold.to_dict(),
        "higherIsBetter": metric.higher_is_better,
        "groups": sorted(str(g) for g in kept) if group_col else [],
        "omittedGroups": len(totals) - len(kept),
        "source": source,
        # the largest relative error of a value (quantiles from the rollups' sketch); null: exact
        "errorBound": error_bound(query.stat) if source == "rollup" else None,
        "points": points,
    }


def _raw_rows(cur: duckdb.DuckDBPyConnection, query: SeriesQuery, group_col: str | None) -> list[Any]:
    metric = query.metric
    group_sql = f"coalesce({group_col}, '{NO_GROUP}')" if group_col else "NULL"
    events_sql = f"count({metric.expr})" if metric.kind == "value" else "count(*)"
    types = ", ".join(f"'{t}'" for t in metric.types)
    sql = f"""
        SELECT time_bucket(to_seconds($width), ts) AS bucket, {group_sql} AS grp,
               {aggregate_sql(metric, query.stat)} AS value, {events_sql} AS events
        FROM {events_source(cur, query.start, query.end, metric.types)}
        WHERE type IN ({types}) AND {Window.where}
        GROUP BY ALL
        ORDER BY grp, bucket
    """
    return cur.execute(sql, {"width": query.bucket_seconds, **query.window.params()}).fetchall()


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)
