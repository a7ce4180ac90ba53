"""A time series read from the hourly rollups, with raw events where the rollups cannot answer.

Whole hours of the range that are rolled up come from `rollup_stats` / `rollup_buckets`; the
partial hours at the edges and the hours still pending (`rollup_pending`: the open hour,
hours with late events not yet rolled again) come from raw events, measured into the same
shape (totals and sketch buckets). So do hours with events received after the rollups'
watermark: an hour is read whole from one source, never partly from both. Both are merged
per series bucket and group, so a statistic is as exact as the rollups are: counts, sums,
rates, min and max exactly, and quantiles within the sketch's relative error `ALPHA`.

Buckets are `time_bucket` of the hour (or of `ts`) with the raw query's width and origin,
so an hour lands in the series bucket its events would: widths must be whole hours.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import duckdb

from analytics.figures import measure_named
from analytics.rollups.hourly import HOUR, NO_VALUE, RolledUp
from analytics.rollups.sketch import ALPHA, Sketch, bucket_sql
from analytics.window import Window, as_utc

QUANTILE_STATS = ("p50", "p95", "p99")
# Hours the rollups may not hold as they stand: marked pending, or with events received
# after the watermark (not looked at yet). Read whole from raw events, and not from rollups.
_DIRTY = (
    "WITH dirty AS (SELECT hour FROM rollup_pending UNION SELECT DISTINCT time_bucket(INTERVAL 1 HOUR, ts) "
    "FROM events WHERE received_at > (SELECT watermark FROM rollup_state WHERE id = 1) "
    "AND ts >= $start AND ts < $end) "
)
_ROLLED = (
    "measure = $measure AND hour >= $first AND hour < $last AND hour NOT IN (SELECT hour FROM dirty) "
    "AND ($customer IS NULL OR customer_id = $customer) AND ($version IS NULL OR widget_version = $version)"
)
_RAW_REST = "(ts < $first OR ts >= $last OR time_bucket(INTERVAL 1 HOUR, ts) IN (SELECT hour FROM dirty))"
Row = tuple[datetime, Any, float | None, int]  # bucket, group, value, events


def error_bound(stat: str) -> float:
    """The relative error of `stat` read from rollups: α for a quantile, 0 for exact totals."""
    return ALPHA if stat in QUANTILE_STATS else 0.0


def whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first and the end of the whole hours inside [start, end) (first >= end: none)."""
    start, end = as_utc(start), as_utc(end)
    first = start.replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += HOUR
    return first, max(first, end.replace(minute=0, second=0, microsecond=0))


def rolled_rows(
    cur: duckdb.DuckDBPyConnection,
    *,
    metric_name: str,
    stat: str,
    window: Window,
    width_s: int,
    group_column: str | None,
    no_group: str,
) -> list[Row]:
    """(bucket, group, value, events) per series bucket and group with events, as the raw
    time series computes them (events: a value's values, a rate's events).

    Two statements: run it in one transaction, so that a rollup committed between them
    cannot split what they read.
    """
    if width_s % 3600:
        raise ValueError("rollups answer series with buckets of whole hours")
    measure = measure_named(metric_name)
    first, last = whole_hours(window.start, window.end)
    params = {**window.params(), "width": width_s, "measure": measure.name, "first": first, "last": last}
    types = ", ".join(f"'{t}'" for t in measure.types)
    raw_from = f"FROM events WHERE type IN ({types}) AND {Window.where} AND {_RAW_REST}"
    rolled_group = f"CASE WHEN {group_column} = '{NO_VALUE}' THEN '{no_group}' ELSE {group_column} END"
    group = (rolled_group, f"coalesce({group_column}, '{no_group}')") if group_column else ("NULL", "NULL")
    e = measure.expr
    if measure.kind == "value":
        raw_stats = f"count({e}), sum({e}), min({e}), max({e}), count(*) FILTER (({e}) = 0)"
    else:
        raw_stats = f"count(*) FILTER ({e}), NULL, NULL, NULL, NULL"
    stats_sql = _DIRTY + (
        f"SELECT time_bucket(to_seconds($width), hour) AS bucket, {group[0]} AS grp, sum(events), sum(n), "
        f"sum(total), min(low), max(high), sum(zeros) FROM rollup_stats WHERE {_ROLLED} GROUP BY ALL "
        f"UNION ALL SELECT time_bucket(to_seconds($width), ts), {group[1]}, count(*), {raw_stats} "
        f"{raw_from} GROUP BY ALL"
    )
    parts: dict[tuple[datetime, Any], list[Any]] = {}
    for bucket, grp, events, n, total, low, high, zeros in cur.execute(stats_sql, params).fetchall():
        merged = parts.setdefault((bucket, grp), [0, 0, 0.0, None, None, 0])
        merged[0] += int(events)
        merged[1] += int(n)
        merged[2] += float(total or 0.0)
        merged[3] = low if merged[3] is None else (merged[3] if low is None else min(merged[3], low))
        merged[4] = high if merged[4] is None else (merged[4] if high is None else max(merged[4], high))
        merged[5] += int(zeros or 0)
    buckets: dict[tuple[datetime, Any], list[tuple[int, int]]] = defaultdict(list)
    if measure.kind == "value" and stat in QUANTILE_STATS:
        bucket_rows = _DIRTY + (
            f"SELECT time_bucket(to_seconds($width), hour), {group[0]}, k, sum(n) FROM rollup_buckets "
            f"WHERE {_ROLLED} GROUP BY ALL "
            f"UNION ALL SELECT time_bucket(to_seconds($width), ts), {group[1]}, {bucket_sql(e)}, count(*) "
            f"{raw_from} AND ({e}) > 0 GROUP BY ALL"
        )
        for bucket, grp, k, n in cur.execute(bucket_rows, params).fetchall():
            buckets[bucket, grp].append((int(k), int(n)))
    rows: list[Row] = []
    for (bucket, grp), (events, n, total, low, high, zeros) in parts.items():
        sketch = None
        if measure.kind == "value":
            sketch = Sketch.from_rows(
                buckets.get((bucket, grp), []), zeros=zeros, count=n, total=total, low=low, high=high
            )
        counted = n if measure.kind == "value" else events
        if counted:
            rows.append((bucket, grp, RolledUp(measure, events, n, sketch).stat(stat), counted))
    rows.sort(key=lambda r: (str(r[1]), r[0]))
    return rows
