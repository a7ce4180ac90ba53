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

from datetime import datetime
from typing import Any

import duckdb

from analytics.figures import measure_named
from analytics.rollups.hourly import DAILY, DAY, HOUR, NO_VALUE, RolledUp
from analytics.rollups.sketch import ALPHA, GAMMA, Sketch, bucket_sql
from analytics.storage.lake import events_source
from analytics.window import CUSTOMER_SQL, HOUR_OF_TS, VERSION_SQL, Window, as_utc, hour_of

QUANTILE_STATS = ("p50", "p95", "p99")
# The value at a 0-based rank of `picked` (zeros first, then each bucket's representative
# 2γ^k / (γ + 1) clamped to the exact min and max: `sketch.representative`).
_AT_RANK = (
    "CASE WHEN p.{rank} < p.zeros THEN 0.0 "
    f"ELSE least(greatest(2.0 * pow({GAMMA!r}, p.{{k}}) / ({GAMMA!r} + 1.0), p.low), p.high) END"
)
# Hours the rollups may not hold as they stand: marked pending, or with events received
# after the watermark (not looked at yet). Read whole from raw events, and not from rollups.
# The watermark comes with the pending hours, and is given to the scan as a value: DuckDB
# prunes row groups by a constant, not by a subquery's result (1M unmarked events: 4.2
# against 7.3 ms).
_PENDING_HOURS = (
    "SELECT (SELECT watermark FROM rollup_state WHERE id = 1), "
    "list(hour) FILTER (hour >= $first AND hour < $last) FROM rollup_pending"
)
_UNMARKED = "FROM events WHERE received_at > $watermark AND ts >= $first AND ts < $last"
# ... read once, and given to the statement: the rollups it leaves out are the raw events it reads
_DIRTY = "WITH dirty AS (SELECT unnest($dirty::TIMESTAMPTZ[]) AS hour) "
_ROLLED_HOURS = (
    "measure = $measure AND hour >= $first AND hour < $last AND hour NOT IN (SELECT hour FROM dirty)"
)
# With daily buckets, whole days without a dirty hour come from the daily rows, and their hours
# are left out of the hourly ones.
_DIRTY_DAYS = ", dirty_days AS (SELECT DISTINCT time_bucket(INTERVAL 1 DAY, hour) AS hour FROM dirty)"
_ROLLED_DAYS = (
    "measure = $measure AND hour >= $dfirst AND hour < $dlast AND hour NOT IN (SELECT hour FROM dirty_days)"
)
_NOT_IN_ROLLED_DAYS = (
    " AND NOT (hour >= $dfirst AND hour < $dlast "
    "AND time_bucket(INTERVAL 1 DAY, hour) NOT IN (SELECT hour FROM dirty_days))"
)
_CUSTOMER = f" AND {CUSTOMER_SQL}"
_VERSION = f" AND {VERSION_SQL}"
Row = tuple[datetime, Any, float | None, int]  # bucket, group, value, events


def error_bound(stat: str) -> float:
    """The relative error of `stat` read from rollups: α for a quantile, 0 for exact totals."""
    return ALPHA if stat in QUANTILE_STATS else 0.0


def dirty_hours_of(cur: duckdb.DuckDBPyConnection, window: Window) -> list[datetime]:
    """The whole hours of the window the rollups may not hold as they stand: pending, or with
    events received after the watermark (`_UNMARKED`); the partial hours at its edges are read
    from raw events anyway. The open hour's events (in no whole hour yet) are not looked at.

    The unmarked events' first and last `ts` answer when they share an hour (as they mostly
    do: they arrived since the last roll-up run), at the cost of a min and a max; their
    distinct hours otherwise (1M unmarked events: 0.6 against 7 ms)."""
    first, last = whole_hours(window.start, window.end)
    if first >= last:
        return []
    params = {"first": first, "last": last}
    row = cur.execute(_PENDING_HOURS, params).fetchone()
    watermark, pending = row if row is not None else (None, None)
    hours = {as_utc(hour) for hour in pending or []}
    params["watermark"] = watermark
    span = cur.execute(f"SELECT min(ts), max(ts) {_UNMARKED}", params).fetchone()
    if span is not None and span[0] is not None:
        low, high = (hour_of(moment) for moment in span)
        if low == high:
            hours.add(low)
        else:
            rows = cur.execute(f"SELECT DISTINCT {HOUR_OF_TS} {_UNMARKED}", params).fetchall()
            hours |= {as_utc(hour) for (hour,) in rows}
    return sorted(hours)


def raw_spans(window: Window, dirty: list[datetime]) -> list[tuple[datetime, datetime]]:
    """The times read from raw events: the partial hours at the window's edges (the whole
    window when it holds no whole hour) and the dirty hours, as the fewest [start, end) spans.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    >>> w = Window(t, t + 3 * HOUR)  # 10:30 to 13:30, 12:00 dirty
    >>> [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in raw_spans(w, [t.replace(hour=12, minute=0)])]
    [('10:30', '11:00'), ('12:00', '13:30')]
    """
    first, last = whole_hours(window.start, window.end)
    edges = [(window.start, first), (last, window.end)] if first < last else [(window.start, window.end)]
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(edges + [(hour, hour + HOUR) for hour in dirty]):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def in_spans(spans: list[tuple[datetime, datetime]], name: str = "span") -> tuple[str, dict[str, datetime]]:
    """A condition that `ts` is in one of the spans, and its parameters (`$<name><n>a`, ...):
    plain ranges, which DuckDB prunes row groups by (a `time_bucket(ts) IN (...)` test cost
    40 ms per million rows)."""
    if not spans:
        return "false", {}
    sql = " OR ".join(f"(ts >= ${name}{n}a AND ts < ${name}{n}b)" for n in range(len(spans)))
    params: dict[str, datetime] = {}
    for n, (a, b) in enumerate(spans):
        params |= {f"{name}{n}a": a, f"{name}{n}b": b}
    return f"({sql})", params


def whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first and the end of the whole hours inside [start, end) (first >= end: none)."""
    first = hour_of(start)
    if first < as_utc(start):
        first += HOUR
    return first, max(first, hour_of(end))


def whole_days(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The first and the end of the whole UTC days inside [first, last) (first >= end: none)."""
    start = first.replace(hour=0)
    if start < first:
        start += DAY
    return start, max(start, last.replace(hour=0))


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

    One statement merges the totals and, for a quantile, the sketch buckets of every hour in
    a series bucket and reads the quantile from their cumulative counts, as
    `Sketch.quantile` does (zeros first, each bucket's representative clamped to the exact
    min and max, linear between the closest ranks).
    """
    if width_s % 3600:
        raise ValueError("rollups answer series with buckets of whole hours")
    measure = measure_named(metric_name)
    first, last = whole_hours(window.start, window.end)
    params: dict[str, Any] = {**window.params(), "width": width_s, "measure": measure.name}
    params |= {"first": first, "last": last}
    types = ", ".join(f"'{t}'" for t in measure.types)
    dirty_hours = dirty_hours_of(cur, window)
    params["dirty"] = dirty_hours
    # the raw events read: the partial hours at the edges and the dirty hours (the lake's
    # files of the other days are not opened)
    spans = raw_spans(window, dirty_hours)
    events = events_source(cur, types=measure.types, spans=spans)
    in_raw, span_params = in_spans(spans)
    params |= span_params
    raw_from = f"FROM {events} WHERE type IN ({types}) AND {Window.where} AND {in_raw}"
    rolled_group = f"CASE WHEN {group_column} = '{NO_VALUE}' THEN '{no_group}' ELSE {group_column} END"
    group = (rolled_group, f"coalesce({group_column}, '{no_group}')") if group_column else ("''", "''")
    # the coarsest rows that answer: summed over customers when the series neither filters
    # nor groups by them
    if window.customer_id is not None or group_column == "customer_id":
        suffix, filters = "", _CUSTOMER + _VERSION
    else:
        suffix, filters = "_by_version", _VERSION
    rolled_where = _ROLLED_HOURS + filters
    dirty = _DIRTY
    first_day, last_day = whole_days(first, last)
    daily = width_s % 86_400 == 0 and first_day < last_day
    if daily:
        dirty += _DIRTY_DAYS
        rolled_where += _NOT_IN_ROLLED_DAYS
        params |= {"dfirst": first_day, "dlast": last_day}
    e = measure.expr
    if measure.kind == "value":
        raw_stats = f"count({e}), sum({e}), min({e}), max({e}), count(*) FILTER (({e}) = 0)"
    else:
        raw_stats = f"count(*) FILTER ({e}), NULL, NULL, NULL, NULL"
    rolled_stats = (
        f"SELECT time_bucket(to_seconds($width), hour), {group[0]}, sum(events), sum(n), "
        "sum(total), min(low), max(high), sum(zeros) FROM rollup_stats{table} WHERE {where} GROUP BY ALL "
    )
    rolled_counts = (
        f"SELECT time_bucket(to_seconds($width), hour), {group[0]}, k, sum(n) "
        "FROM rollup_buckets{table} WHERE {where} GROUP BY ALL "
    )
    stats_parts = rolled_stats.format(table=suffix, where=rolled_where)
    count_parts = rolled_counts.format(table=suffix, where=rolled_where)
    if daily:
        days_where = _ROLLED_DAYS + filters
        stats_parts += "UNION ALL " + rolled_stats.format(table=f"{suffix}{DAILY}", where=days_where)
        count_parts += "UNION ALL " + rolled_counts.format(table=f"{suffix}{DAILY}", where=days_where)
    sql = dirty + (
        ", parts (bucket, grp, events, n, total, low, high, zeros) AS ("
        f"{stats_parts}"
        f"UNION ALL SELECT time_bucket(to_seconds($width), ts), {group[1]}, count(*), "
        f"{raw_stats} {raw_from} GROUP BY ALL), "
        "merged AS (SELECT bucket, grp, sum(events) AS events, sum(n) AS n, "
        "coalesce(sum(total), 0) AS total, min(low) AS low, max(high) AS high, "
        "coalesce(sum(zeros), 0) AS zeros FROM parts GROUP BY ALL)"
    )
    quantile = measure.kind == "value" and stat in QUANTILE_STATS
    if quantile:
        params["q"] = {"p50": 0.5, "p95": 0.95, "p99": 0.99}[stat]
        sql += (
            ", counts (bucket, grp, k, c) AS ("
            f"{count_parts}"
            f"UNION ALL SELECT time_bucket(to_seconds($width), ts), {group[1]}, {bucket_sql(e)}, count(*) "
            f"{raw_from} AND ({e}) > 0 GROUP BY ALL), "
            "summed AS (SELECT bucket, grp, k, sum(c) AS c FROM counts GROUP BY bucket, grp, k), "
            "cum AS (SELECT bucket, grp, k, sum(c) OVER (PARTITION BY bucket, grp ORDER BY k) AS upto "
            "FROM summed), "
            "ranked AS (SELECT *, $q * (n - 1) AS h, floor($q * (n - 1)) AS lo, ceil($q * (n - 1)) AS hi "
            "FROM merged WHERE n > 0), "
            "picked AS (SELECT r.bucket, r.grp, any_value(r.lo) AS lo, any_value(r.hi) AS hi, "
            "any_value(r.zeros) AS zeros, any_value(r.low) AS low, any_value(r.high) AS high, "
            "min(c.k) FILTER (r.zeros + c.upto > r.lo) AS k_lo, "
            "min(c.k) FILTER (r.zeros + c.upto > r.hi) AS k_hi "
            "FROM ranked r LEFT JOIN cum c ON c.bucket = r.bucket AND c.grp = r.grp "
            "WHERE r.hi >= r.zeros GROUP BY r.bucket, r.grp) "
            "SELECT m.bucket, m.grp, m.events, m.n, m.total, m.low, m.high, m.zeros, "
            f"{_AT_RANK.format(rank='lo', k='k_lo')} AS v_lo, "
            f"{_AT_RANK.format(rank='hi', k='k_hi')} AS v_hi, "
            "$q * (m.n - 1) - floor($q * (m.n - 1)) AS frac "
            "FROM merged m LEFT JOIN picked p ON p.bucket = m.bucket AND p.grp = m.grp"
        )
    else:
        sql += ", m AS (SELECT * FROM merged) SELECT *, NULL, NULL, NULL FROM m"
    rows: list[Row] = []
    for bucket, grp, events, n, total, low, high, zeros, v_lo, v_hi, frac in cur.execute(
        sql, params
    ).fetchall():
        counted = int(n) if measure.kind == "value" else int(events)
        if not counted:
            continue
        if quantile:
            lo = 0.0 if v_lo is None else float(v_lo)  # None: the rank falls among the zeros
            hi = 0.0 if v_hi is None else float(v_hi)
            value: float | None = lo + float(frac) * (hi - lo)
        else:
            sketch = (
                Sketch({}, int(zeros), int(n), float(total), low, high) if measure.kind == "value" else None
            )
            value = RolledUp(measure, int(events), int(n), sketch).stat(stat)
        rows.append((bucket, grp or None if not group_column else grp, value, counted))
    rows.sort(key=lambda r: (str(r[1]), r[0]))
    return rows
