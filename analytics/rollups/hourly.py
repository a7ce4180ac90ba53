"""Hourly rollups of every measure of the registry: exact totals and a sketch per hour, customer
and widget version, written from the raw events of the hours asked for.

Per (hour, measure, customer, widget version), `rollup_stats` holds the events of the
measure's types, and for a value the number of values, their sum, min, max and zeros; for a
rate or a count, the events matching its condition. `rollup_buckets` holds a value's sketch
(`analytics.rollups.sketch`): one row per bucket, merged across hours, customers and
versions with `SUM`. `..._by_version` hold the same summed over customers: a series that
neither filters nor groups by customer (the Trends page's default, or one series per
version) reads those, a small fraction of the rows when there are many customers. There is
no level summed over versions too: few versions are live in any hour, so it would hold
nearly as many rows as `_by_version` (0.72x in the demo's mix) for no faster read, and it
was a fifth of the rollups' bytes. The rows of an hour
are replaced whole (`roll_up`), so an hour rolled up again after late events counts each
event once, and only that hour's raw events are read. Every insert is sorted by its key
(`ORDER BY ALL`), so a table's rows lie in (hour, measure, customer, version, bucket) order:
its compressed size is ~20 % smaller than in hash order (one day of the bench's data).

The rows are generated from `analytics.figures.rolled_up()` (the tables' layout is fixed, with
the measure's name as a column): a measure registered later is rolled up from then on, and
over the hours rolled up before it at the next start (`analytics.rollups.backfill`). A
missing customer or version is stored as '' (part of the key). Each table has a `_daily`
twin, summed from the hourly rows whenever a rewrite touches a day. The same rewrite
replaces the hours' per-tab numbers (`analytics.rollups.tabs`, for telemetry completeness).
The tables have no primary key: `roll_up` writes each key once (GROUP BY, after deleting
the hours it rewrites), and DuckDB's index would make every rewrite several times slower.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.figures import Measure, Tally, rolled_up
from analytics.figures.figure import LABEL_SEPARATOR
from analytics.rollups import tabs
from analytics.rollups.sketch import ALPHA, Sketch, bucket_sql
from analytics.storage.lake import events_source
from analytics.transaction import transaction
from analytics.window import CUSTOMER_SQL, HOUR_OF_TS, VERSION_SQL, as_utc, hour_of

HOUR = timedelta(hours=1)
NO_VALUE = ""  # a missing customerId or widgetVersion, in the key

SCHEMA_SQL = (
    """CREATE TABLE IF NOT EXISTS rollup_stats (
    hour TIMESTAMPTZ NOT NULL, measure VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL, widget_version VARCHAR NOT NULL,
    events BIGINT NOT NULL, n BIGINT NOT NULL,
    total DOUBLE, low DOUBLE, high DOUBLE, zeros BIGINT)""",
    """CREATE TABLE IF NOT EXISTS rollup_buckets (
    hour TIMESTAMPTZ NOT NULL, measure VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL, widget_version VARCHAR NOT NULL,
    k INTEGER NOT NULL, n BIGINT NOT NULL)""",
    # the same summed over customers
    """CREATE TABLE IF NOT EXISTS rollup_stats_by_version (
    hour TIMESTAMPTZ NOT NULL, measure VARCHAR NOT NULL, widget_version VARCHAR NOT NULL,
    events BIGINT NOT NULL, n BIGINT NOT NULL,
    total DOUBLE, low DOUBLE, high DOUBLE, zeros BIGINT)""",
    """CREATE TABLE IF NOT EXISTS rollup_buckets_by_version (
    hour TIMESTAMPTZ NOT NULL, measure VARCHAR NOT NULL, widget_version VARCHAR NOT NULL,
    k INTEGER NOT NULL, n BIGINT NOT NULL)""",
)
# (suffix, the key columns kept) of the tables summed from the full ones
LEVELS = (("_by_version", "widget_version, "),)
FULL_TABLES = ("rollup_stats", "rollup_buckets")
SUMMED_TABLES = tuple(f"{table}{suffix}" for suffix, _ in LEVELS for table in FULL_TABLES)
HOURLY_TABLES = FULL_TABLES + SUMMED_TABLES
# The same per UTC day (`hour` holds the day's first hour), summed from the hourly rows of
# the days a rewrite touched: a long series with daily buckets reads 24x fewer rows.
DAILY = "_daily"
DAILY_TABLES = tuple(f"{table}{DAILY}" for table in HOURLY_TABLES)
TABLES = HOURLY_TABLES + DAILY_TABLES
DAY = timedelta(days=1)
# a release before 2026-12-03 also kept the rows summed over versions: dropped at start
DROPPED_TABLES = tuple(f"{table}_all{grain}" for grain in ("", DAILY) for table in FULL_TABLES)

# A tally's rows of one label are named `<tally>/<label>` (LABEL_SEPARATOR; its row named
# `<tally>` holds every event of its types, and those counted): deleted, summed and kept like
# any measure's. Labels are whatever clients send (an error type), so an hour keeps the
# `MAX_LABELS` most frequent per customer and version and counts the rest as `OTHER_LABEL`:
# the rollups stay bounded whatever a client sends, where raw events would list each.
MAX_LABELS = 50
OTHER_LABEL = "(other)"


def _key(measure: str = "$measure") -> str:
    """An hourly row's key from a raw event, its `measure` the SQL `measure`."""
    return (
        f"{HOUR_OF_TS} AS hour, {measure} AS measure, "
        f"coalesce(customer_id, '{NO_VALUE}') AS customer_id, "
        f"coalesce(widget_version, '{NO_VALUE}') AS widget_version"
    )


_RAW = "FROM {events} WHERE type IN ({types}) AND ts >= $start AND ts < $end"


def create_tables(cur: duckdb.DuckDBPyConnection) -> None:
    for sql in SCHEMA_SQL:
        cur.execute(sql)
    tabs.create_table(cur)
    for table in DROPPED_TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    had_daily = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $name", {"name": f"rollup_stats{DAILY}"}
    ).fetchone() == (1,)
    if had_daily:
        return
    with transaction(cur):  # the tables and their first sums together: killed between, redone
        for table in HOURLY_TABLES:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {table}{DAILY} AS SELECT * FROM {table} LIMIT 0")
        sum_days(cur, "hour IS NOT NULL", {})  # rollups of a release before the daily tables


def hours_of(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole hours covering [start, end): the range `roll_up` rewrites."""
    first, last = hour_of(start), hour_of(end)
    return first, last if last == as_utc(end) else last + HOUR


def roll_up(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> int:
    """Replace the rollups of the whole hours covering [start, end) with what the raw events
    of those hours say; returns the stats rows written. Run it inside a transaction to make
    the replacement atomic for readers (the caller's, or this one's when none is open)."""
    first, stop = hours_of(start, end)
    params = {"start": first, "end": stop}
    for table in FULL_TABLES:
        cur.execute(f"DELETE FROM {table} WHERE hour >= $start AND hour < $end", params)
    written = 0
    for measure in rolled_up():
        # the hours' events wherever they are: moved to the lake, or still in `events`
        events = events_source(cur, first, stop, measure.types)
        raw = _RAW.format(events=events, types=", ".join(f"'{t}'" for t in measure.types))
        bind = {**params, "measure": measure.name}
        *buckets, stats = inserts_of(measure, raw)
        for sql in buckets:
            cur.execute(sql, bind)
        row = cur.execute(stats, bind).fetchone()
        written += int(row[0]) if row else 0
    sum_levels(cur, "hour >= $start AND hour < $end", params)  # from the rows just written (no raw rescan)
    days = {"start": _day_of(first), "end": _day_of(stop - HOUR) + DAY}
    sum_days(cur, "hour >= $start AND hour < $end", days)
    tabs.roll_up(cur, first, stop)  # the numbers each tab sent, for telemetry
    return written


def inserts_of(measure: Measure | Tally, raw: str) -> list[str]:
    """The statements writing the measure's (or tally's) hourly rows from the raw events of
    `raw` (a FROM and WHERE clause, with `$measure` bound to its name): a value's buckets or a
    tally's labels, then its stats, whose statement is last (its row says how many it wrote)."""
    insert = "INSERT INTO rollup_{table} SELECT {key}, {columns} {raw} GROUP BY ALL ORDER BY ALL"
    if isinstance(measure, Tally):
        counted = f"count(*), count(*) FILTER ({measure.where}), NULL, NULL, NULL, NULL"
        return [
            _labels_insert(measure, raw),
            insert.format(table="stats", key=_key(), columns=counted, raw=raw),
        ]
    e = measure.expr
    if measure.kind != "value":
        stats = f"count(*), count(*) FILTER ({e}), NULL, NULL, NULL, NULL"
        return [insert.format(table="stats", key=_key(), columns=stats, raw=raw)]
    stats = f"count(*), count({e}), sum({e}), min({e}), max({e}), count(*) FILTER (({e}) = 0)"
    buckets = f"{bucket_sql(e)} AS k, count(*)"
    return [
        insert.format(table="buckets", key=_key(), columns=buckets, raw=f"{raw} AND ({e}) > 0"),
        insert.format(table="stats", key=_key(), columns=stats, raw=raw),
    ]


def _labels_insert(tally: Tally, raw: str) -> str:
    """The statement writing a tally's label rows: per hour, customer and version, its
    `MAX_LABELS` most frequent labels (ties by label), and the rest summed as `OTHER_LABEL`."""
    ranked = (
        f"SELECT {_key()}, {tally.label_sql} AS label, count(*) AS n {raw} AND ({tally.where}) GROUP BY ALL"
    )
    kept = (
        "CASE WHEN row_number() OVER (PARTITION BY hour, customer_id, widget_version "
        "ORDER BY n DESC, label) "
        f"<= {MAX_LABELS} THEN label ELSE '{OTHER_LABEL}' END"
    )
    return (
        f"INSERT INTO rollup_stats SELECT hour, measure || '{LABEL_SEPARATOR}' || label, customer_id, "
        "widget_version, sum(n), sum(n), NULL, NULL, NULL, NULL "
        f"FROM (SELECT hour, measure, customer_id, widget_version, {kept} AS label, n FROM ({ranked})) "
        "GROUP BY ALL ORDER BY ALL"
    )


def sum_levels(
    cur: duckdb.DuckDBPyConnection, hours: str, params: Mapping[str, object], grain: str = ""
) -> None:
    """Rewrite the summed levels (over customers; over customers and versions) of the hours
    (`grain` DAILY: the days) matching the SQL condition `hours`, from the full rows."""
    for table in SUMMED_TABLES:
        cur.execute(f"DELETE FROM {table}{grain} WHERE {hours}", params)
    for suffix, kept in LEVELS:
        cur.execute(
            f"INSERT INTO rollup_stats{suffix}{grain} SELECT hour, measure, {kept}sum(events), sum(n), "
            f"sum(total), min(low), max(high), sum(zeros) FROM rollup_stats{grain} WHERE {hours} "
            "GROUP BY ALL ORDER BY ALL",
            params,
        )
        cur.execute(
            f"INSERT INTO rollup_buckets{suffix}{grain} SELECT hour, measure, {kept}k, sum(n) "
            f"FROM rollup_buckets{grain} WHERE {hours} GROUP BY ALL ORDER BY ALL",
            params,
        )


def sum_days(
    cur: duckdb.DuckDBPyConnection, days: str, params: Mapping[str, object], hours_of_days: str | None = None
) -> None:
    """Rewrite the daily rows (every level) of the days matching the SQL condition `days` (on
    `hour`: a daily row's is its day's first hour) from the hourly full rows of those days,
    which `hours_of_days` selects (default: `days` itself, right for a range of whole days)."""
    hourly = hours_of_days or days
    for table in FULL_TABLES:
        cur.execute(f"DELETE FROM {table}{DAILY} WHERE {days}", params)
    day = "time_bucket(INTERVAL 1 DAY, hour) AS hour"
    cur.execute(
        f"INSERT INTO rollup_stats{DAILY} SELECT {day}, measure, customer_id, widget_version, sum(events), "
        f"sum(n), sum(total), min(low), max(high), sum(zeros) FROM rollup_stats WHERE {hourly} "
        "GROUP BY ALL ORDER BY ALL",
        params,
    )
    cur.execute(
        f"INSERT INTO rollup_buckets{DAILY} SELECT {day}, measure, customer_id, widget_version, k, sum(n) "
        f"FROM rollup_buckets WHERE {hourly} GROUP BY ALL ORDER BY ALL",
        params,
    )
    sum_levels(cur, days, params, DAILY)


def _day_of(moment: datetime) -> datetime:
    return as_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class RolledUp:
    """A measure over some hours, customers and versions, merged from its rollup rows."""

    measure: Measure
    events: int
    n: int
    sketch: Sketch | None  # values only

    def stat(self, stat: str) -> float | None:
        """The statistic as the raw query computes it; quantiles within `ALPHA` of it."""
        if stat == "count":
            return float(self.n)
        if self.measure.kind != "value":  # rate
            return None if self.events == 0 else 100.0 * self.n / self.events
        assert self.sketch is not None
        if self.n == 0:
            return None
        if stat == "avg":
            return self.sketch.total / self.n
        if stat == "sum":
            return self.sketch.total
        if stat == "min":
            return self.sketch.low
        if stat == "max":
            return self.sketch.high
        return self.sketch.quantile({"p50": 0.5, "p95": 0.95, "p99": 0.99}[stat])

    def error_bound(self, stat: str) -> float:
        """The relative error of `stat`: α for a quantile, 0 for the exact totals."""
        return ALPHA if stat in ("p50", "p95", "p99") else 0.0


def read_rollup(
    cur: duckdb.DuckDBPyConnection,
    measure: Measure,
    start: datetime,
    end: datetime,
    *,
    customer_id: str | None = None,
    widget_version: str | None = None,
) -> RolledUp:
    """`measure` over the whole hours in [start, end) (one customer and version when given)."""
    where = f"measure = $measure AND hour >= $start AND hour < $end AND {CUSTOMER_SQL} AND {VERSION_SQL}"
    params: dict[str, Any] = {
        "measure": measure.name,
        "start": start,
        "end": end,
        "customer": customer_id,
        "version": widget_version,
    }
    row = cur.execute(
        "SELECT coalesce(sum(events), 0), coalesce(sum(n), 0), sum(total), min(low), max(high), "
        f"coalesce(sum(zeros), 0) FROM rollup_stats WHERE {where}",
        params,
    ).fetchone()
    assert row is not None
    events, n, total, low, high, zeros = row
    sketch = None
    if measure.kind == "value":
        buckets: Iterable[tuple[int, int]] = cur.execute(
            f"SELECT k, sum(n) FROM rollup_buckets WHERE {where} GROUP BY k", params
        ).fetchall()
        sketch = Sketch.from_rows(
            buckets, zeros=int(zeros), count=int(n), total=float(total or 0.0), low=low, high=high
        )
    return RolledUp(measure, int(events), int(n), sketch)
