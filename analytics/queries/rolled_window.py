"""Measures over one window from the hourly rollups, merged into one total and sketch each.

The rows are read as a series from the rollups reads them (`analytics.queries.rolled_series`),
with the whole window as its one bucket: whole UTC days without a dirty hour from the daily
rows, the other whole hours from the hourly rows, and the partial hours at the edges and the
dirty hours (pending, or with events received after the watermark) from raw events, measured
into the same shape. Three statements read every measure, whatever their number: the totals
and the sketch buckets from the rollups, then both from raw events (one scan per set of event
types): counts, sums, min and max are exact, quantiles within `ALPHA`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from analytics.figures import Measure, Tally
from analytics.figures.figure import LABEL_SEPARATOR
from analytics.queries.rolled_series import dirty_hours_of, in_spans, raw_spans, whole_days, whole_hours
from analytics.rollups.hourly import DAILY, DAY, RolledUp
from analytics.rollups.sketch import Sketch, bucket_sql
from analytics.storage.lake import events_source
from analytics.window import Window

_DIRTY = (
    "WITH dirty AS (SELECT unnest($dirty::TIMESTAMPTZ[]) AS hour), "
    "dirty_days AS (SELECT DISTINCT time_bucket(INTERVAL 1 DAY, hour) AS hour FROM dirty) "
)
_DAYS = "hour >= $dfirst AND hour < $dlast AND hour NOT IN (SELECT hour FROM dirty_days)"
_STATS = "measure, events, n, total, low, high, zeros"


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which rows answer for which part of a window."""

    window: Window
    first: datetime  # the whole hours: [first, last)
    last: datetime
    first_day: datetime  # the whole days in them: [first_day, last_day)
    last_day: datetime
    dirty: list[datetime]  # whole hours read from raw events
    ranges: list[tuple[datetime, datetime]]  # whole hours read from the hourly rows (less `dirty`)

    @classmethod
    def of(cls, cur: duckdb.DuckDBPyConnection, window: Window) -> _Plan:
        first, last = whole_hours(window.start, window.end)
        first_day, last_day = whole_days(first, last)
        dirty = dirty_hours_of(cur, window)
        ranges = _hourly_ranges(first, last, first_day, last_day, dirty)
        return cls(window, first, last, first_day, last_day, dirty, ranges)

    @property
    def raw_spans(self) -> list[tuple[datetime, datetime]]:
        """The times raw events are read for: the partial hours at the edges and the dirty hours."""
        return raw_spans(self.window, self.dirty)

    @property
    def level(self) -> tuple[str, str]:
        return _level(self.window)

    def rolled_params(self, measures: list[str] | None = None) -> dict[str, Any]:
        """The parameters of `_rolled`'s rows; `$measures` when its rows are picked by name."""
        params: dict[str, Any] = {"dfirst": self.first_day, "dlast": self.last_day, "dirty": self.dirty}
        if measures is not None:
            params["measures"] = measures
        params |= _scope_params(self.window)
        for n, (a, b) in enumerate(self.ranges):
            params |= {f"h{n}a": a, f"h{n}b": b}
        return params

    def raw_params(self) -> dict[str, Any]:
        return in_spans(self.raw_spans)[1] | self.window.params()


def rolled_window(
    cur: duckdb.DuckDBPyConnection, wanted: Sequence[Measure], window: Window
) -> dict[str, RolledUp]:
    """Each measure of `wanted` over `window` (one customer when it says; every version)."""
    if not wanted:
        return {}
    plan = _Plan.of(cur, window)
    raw_stats, raw_buckets = _raw_parts(cur, wanted, plan)
    totals: dict[str, list[Any]] = {m.name: [0, 0, 0.0, None, None, 0] for m in wanted}
    for name, *row in _rolled_stats(cur, wanted, plan) + raw_stats:
        _add(totals[name], row)
    buckets: dict[str, dict[int, int]] = {m.name: {} for m in wanted if m.kind == "value"}
    for name, k, n in _rolled_buckets(cur, wanted, plan) + raw_buckets:
        buckets[name][int(k)] = buckets[name].get(int(k), 0) + int(n)
    merged = {}
    for measure in wanted:
        events, n, total, low, high, zeros = totals[measure.name]
        sketch = None
        if measure.kind == "value":
            sketch = Sketch.from_rows(
                buckets[measure.name].items(), zeros=zeros, count=n, total=total, low=low, high=high
            )
        merged[measure.name] = RolledUp(measure, events, n, sketch)
    return merged


def rolled_tally(cur: duckdb.DuckDBPyConnection, tally: Tally, window: Window) -> dict[str, int]:
    """The tally's count per label over `window`, most first: its label rows in the rollups
    (an hour's least frequent labels as `hourly.OTHER_LABEL`), and the raw events of the
    partial and dirty hours."""
    plan = _Plan.of(cur, window)
    rows = _rolled("rollup_stats", "measure, n", plan, which="starts_with(measure, $prefix)")
    prefix = tally.name + LABEL_SEPARATOR
    params = plan.rolled_params() | {"prefix": prefix}
    counts = raw_tally(cur, tally, window, plan.raw_spans)
    for measure, n in cur.execute(
        f"{_DIRTY}SELECT measure, sum(n) FROM ({rows}) GROUP BY ALL", params
    ).fetchall():
        label = measure.removeprefix(prefix)
        counts[label] = counts.get(label, 0) + int(n)
    return dict(sorted(((k, n) for k, n in counts.items() if n), key=lambda item: (-item[1], item[0])))


def raw_tally(
    cur: duckdb.DuckDBPyConnection,
    tally: Tally,
    window: Window,
    spans: list[tuple[datetime, datetime]] | None = None,
) -> dict[str, int]:
    """The tally's count per label over the raw events of `window` (of `spans` in it), most first."""
    spans = [(window.start, window.end)] if spans is None else spans
    if not spans:  # every hour from the rollups: no statement to plan (~2 ms)
        return {}
    rows = cur.execute(
        f"SELECT {tally.label_sql} AS label, count(*) AS n {_raw_from(cur, tally.types, spans)} "
        f"AND ({tally.where}) GROUP BY ALL ORDER BY n DESC, label",
        in_spans(spans)[1] | window.params(),
    ).fetchall()
    return {label: int(n) for label, n in rows}


def newest_hour_with(cur: duckdb.DuckDBPyConnection, measure: Measure, window: Window) -> datetime | None:
    """The newest whole hour of `window` whose rollup rows hold a value of `measure` in the
    window's scope; None when none does. Read raw from that hour on, a window gives its newest
    value: the hour holds values, and no value before the hour is newer than them."""
    first, last = whole_hours(window.start, window.end)
    if first >= last:
        return None
    suffix, scope = _level(window)
    row = cur.execute(
        f"SELECT max(hour) FROM rollup_stats{suffix} WHERE measure = $measure AND n > 0 "
        f"AND hour >= $first AND hour < $last{scope}",
        {"measure": measure.name, "first": first, "last": last} | _scope_params(window),
    ).fetchone()
    return None if row is None else row[0]


def _level(window: Window) -> tuple[str, str]:
    """The rollup tables' suffix and filter: the coarsest rows that answer the window's scope."""
    if window.customer_id:
        return "", " AND customer_id = $customer" + (
            " AND widget_version = $version" if window.widget_version else ""
        )
    if window.widget_version:
        return "_by_version", " AND widget_version = $version"
    return "_by_version", ""  # every version's rows, summed


def _scope_params(window: Window) -> dict[str, Any]:
    """The parameters of `_level`'s filter."""
    params: dict[str, Any] = {}
    if window.customer_id:
        params["customer"] = window.customer_id
    if window.widget_version:
        params["version"] = window.widget_version
    return params


def _add(into: list[Any], row: Sequence[Any]) -> None:
    """Add a row (events, n, total, low, high, zeros) into running totals."""
    events, n, total, low, high, zeros = row
    into[0] += int(events or 0)
    into[1] += int(n or 0)
    into[2] += float(total or 0.0)
    if low is not None:
        into[3] = low if into[3] is None else min(into[3], low)
    if high is not None:
        into[4] = high if into[4] is None else max(into[4], high)
    into[5] += int(zeros or 0)


def _hourly_ranges(
    first: datetime, last: datetime, first_day: datetime, last_day: datetime, dirty: list[datetime]
) -> list[tuple[datetime, datetime]]:
    """The stretches of whole hours read from the hourly rows: those outside the clean whole
    days (read from the daily rows). Each is a range of `hour`, which the tables' min and max
    per row group answer without reading the other rows."""
    if first_day >= last_day:
        return [(first, last)]
    dirty_days = sorted({hour.replace(hour=0) for hour in dirty})
    ranges = [(first, first_day), (last_day, last)]
    ranges += [(day, day + DAY) for day in dirty_days if first_day <= day < last_day]
    return [(a, b) for a, b in ranges if a < b]


def _rolled(table: str, columns: str, plan: _Plan, which: str = "list_contains($measures, measure)") -> str:
    """The rows of `table` for the plan whose measure is `which` (SQL): its hourly ranges
    ($h<n>a, $h<n>b), and the clean whole days."""
    suffix, filters = plan.level
    hourly = [
        f"SELECT {columns} FROM {table}{suffix} WHERE {which} "
        f"AND hour >= $h{n}a AND hour < $h{n}b AND hour NOT IN (SELECT hour FROM dirty){filters}"
        for n in range(len(plan.ranges))
    ]
    daily = f"SELECT {columns} FROM {table}{suffix}{DAILY} WHERE {which} AND {_DAYS}{filters}"
    return " UNION ALL ".join([*hourly, daily])


def _rolled_stats(cur: duckdb.DuckDBPyConnection, wanted: Sequence[Measure], plan: _Plan) -> list[Any]:
    sql = (
        f"{_DIRTY}SELECT measure, sum(events), sum(n), sum(total), min(low), max(high), sum(zeros) "
        f"FROM ({_rolled('rollup_stats', _STATS, plan)}) GROUP BY measure"
    )
    return cur.execute(sql, plan.rolled_params([m.name for m in wanted])).fetchall()


def _rolled_buckets(cur: duckdb.DuckDBPyConnection, wanted: Sequence[Measure], plan: _Plan) -> list[Any]:
    values = [m.name for m in wanted if m.kind == "value"]
    if not values:
        return []
    rows = _rolled("rollup_buckets", "measure, k, n", plan)
    sql = f"{_DIRTY}SELECT measure, k, sum(n) FROM ({rows}) GROUP BY ALL"
    return cur.execute(sql, plan.rolled_params(values)).fetchall()


def _by_types(wanted: Sequence[Measure]) -> dict[tuple[str, ...], list[int]]:
    """The measures' places in `wanted`, by the event types they read: one scan of raw events each."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, measure in enumerate(wanted):
        groups.setdefault(measure.types, []).append(i)
    return groups


def _raw_from(cur: duckdb.DuckDBPyConnection, types: tuple[str, ...], spans: list[Any]) -> str:
    listed = ", ".join(f"'{t}'" for t in types)
    return (
        f"FROM {events_source(cur, types=types, spans=spans)} "
        f"WHERE type IN ({listed}) AND {Window.where} AND {in_spans(spans)[0]}"
    )


def _raw_parts(
    cur: duckdb.DuckDBPyConnection, wanted: Sequence[Measure], plan: _Plan
) -> tuple[list[Any], list[Any]]:
    """Each measure's totals (as `rollup_stats` holds them) and each value measure's sketch
    buckets (as `rollup_buckets` does) over the raw events of the plan's spans outside the
    rolled hours. One statement, one scan per set of event types: its totals and each value
    measure's buckets are grouping sets of one aggregate (a scan per set of types and another
    per value measure took ~25 % longer, mostly opening the same lake files again; unnesting
    a row of (measure, bucket) pairs per event took 8x as long)."""
    if not plan.raw_spans:
        # A window of whole hours the rollups hold (a comparison window on the hour): nothing
        # raw to read, and the statement's planning alone took ~26 ms (nine parts of grouping sets)
        return [], []
    groups = _by_types(wanted)
    selects = []
    for types, places in groups.items():
        values = [i for i in places if wanted[i].kind == "value"]
        keys = "".join(
            f", CASE WHEN ({wanted[i].expr}) > 0 THEN {bucket_sql(wanted[i].expr)} END AS k{i}"
            for i in values
        )
        columns = [f"GROUPING(k{i}) AS g{i}, k{i}" for i in values] + ["count(*) AS events"]
        for i in places:
            e = wanted[i].expr
            if wanted[i].kind == "value":
                columns += [
                    f"count({e}) AS n{i}, sum({e}) AS t{i}, min({e}) AS lo{i}, max({e}) AS hi{i}",
                    f"count(*) FILTER (({e}) = 0) AS z{i}",
                ]
            else:
                columns.append(f"count(*) FILTER ({e}) AS n{i}")
        sets = ", ".join(["()", *(f"(k{i})" for i in values)])
        selects.append(
            f"SELECT {', '.join(columns)} FROM (SELECT *{keys} {_raw_from(cur, types, plan.raw_spans)}) "
            f"GROUP BY GROUPING SETS ({sets})"
        )
    cursor = cur.execute(
        " UNION ALL BY NAME ".join(f"SELECT {n} AS part, * FROM ({s})" for n, s in enumerate(selects)),
        plan.raw_params(),
    )
    names = [d[0] for d in cursor.description]
    parts = list(groups.values())  # each statement part's places in `wanted`
    totals: dict[int, dict[str, Any]] = {}
    buckets = []
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        places = parts[record["part"]]
        grouped = [i for i in places if record.get(f"g{i}") == 0]  # the bucket rows of measure i
        if not grouped:
            totals[record["part"]] = record
        elif record[f"k{grouped[0]}"] is not None:  # NULL: its values <= 0 or missing
            buckets.append((wanted[grouped[0]].name, record[f"k{grouped[0]}"], record["events"]))
    stats = []
    for part, places in enumerate(parts):
        got = totals.get(part, {})
        for i in places:
            stats.append(
                (
                    wanted[i].name,
                    got.get("events"),
                    got.get(f"n{i}"),
                    got.get(f"t{i}"),
                    got.get(f"lo{i}"),
                    got.get(f"hi{i}"),
                    got.get(f"z{i}"),
                )
            )
    return stats, buckets
