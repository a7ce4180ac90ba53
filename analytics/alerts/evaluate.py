"""The figures the rules read, measured per scope (global, and each customer) in one scan.

A figure is a `Reading`: its value (None without data) and how many samples it rests
on, so a rule can refuse to judge a rate or a percentile from too few of them.
Percentiles interpolate linearly between closest ranks (DuckDB `quantile_cont`, numpy's
default), as in the summary. Rates are percentages 0..100; memory and bundle sizes are in
MB (MiB, as in the summary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from analytics.alerts.rules import MIB

GLOBAL = ""  # the scope key of the global scope; a customer's scope key is its customerId


@dataclass(frozen=True, slots=True)
class Reading:
    """A figure's value over a window and the number of samples behind it."""

    value: float | None
    samples: int


Readings = dict[str, Reading]

# metric -> (value expression, samples expression), aggregated per scope.
_FIGURES: dict[str, tuple[str, str]] = {
    "persistence.success_rate": (
        "100.0 * count(*) FILTER (type = 'persistence' AND success)"
        " / nullif(count(*) FILTER (type = 'persistence'), 0)",
        "count(*) FILTER (type = 'persistence')",
    ),
    "persistence.data_loss": (
        "count(*) FILTER (type = 'persistence' AND data_loss)"
        " + count(*) FILTER (type = 'navigation' AND NOT data_preserved)",
        "count(*) FILTER (type IN ('persistence', 'navigation'))",
    ),
    "persistence.p95_duration": (
        "quantile_cont(duration, 0.95) FILTER (type = 'persistence')",
        "count(duration) FILTER (type = 'persistence')",
    ),
    "persistence.restore_time": (
        "quantile_cont(duration, 0.95) FILTER (type = 'restoration')",
        "count(duration) FILTER (type = 'restoration')",
    ),
    "render.message_time": (
        "quantile_cont(render_time, 0.95) FILTER (type = 'render')",
        "count(render_time) FILTER (type = 'render')",
    ),
    "scroll.fps": (
        "avg(avg_fps) FILTER (type = 'scroll')",
        "count(avg_fps) FILTER (type = 'scroll')",
    ),
    "scroll.jank_percentage": (
        "avg(jank_percentage) FILTER (type = 'scroll')",
        "count(jank_percentage) FILTER (type = 'scroll')",
    ),
    "tabsync.latency": (
        "quantile_cont(latency, 0.95) FILTER (type = 'tabSync')",
        "count(latency) FILTER (type = 'tabSync')",
    ),
    "memory.peak": (
        f"max(used_js_heap_size) FILTER (type = 'memory') / {MIB}",
        "count(used_js_heap_size) FILTER (type = 'memory')",
    ),
    "memory.average": (
        f"avg(used_js_heap_size) FILTER (type = 'memory') / {MIB}",
        "count(used_js_heap_size) FILTER (type = 'memory')",
    ),
    "api.latency": (
        "quantile_cont(duration, 0.95) FILTER (type = 'api')",
        "count(duration) FILTER (type = 'api')",
    ),
    "api.error_rate": (
        "100.0 * count(*) FILTER (type = 'api' AND NOT success) / nullif(count(*) FILTER (type = 'api'), 0)",
        "count(*) FILTER (type = 'api')",
    ),
    # The summary's definition (issue 2: % of calls cached; a call that does not say is not
    # a hit), so the alert, the dashboard and the health score always agree.
    "api.cache_hit_rate": (
        "100.0 * count(*) FILTER (type = 'api' AND cached) / nullif(count(*) FILTER (type = 'api'), 0)",
        "count(*) FILTER (type = 'api')",
    ),
    "bundle.load_time": (
        "avg(load_time) FILTER (type = 'bundle')",
        "count(load_time) FILTER (type = 'bundle')",
    ),
    "bundle.cache_hit_rate": (
        "100.0 * count(*) FILTER (type = 'bundle' AND cached) / nullif(count(*) FILTER (type = 'bundle'), 0)",
        "count(*) FILTER (type = 'bundle')",
    ),
}

# `bundle.size`: what one widget load downloads, i.e. the distinct bundles of a session
# (a bundle loaded twice counts once), and the largest such total in the window.
_BUNDLE_SIZE_SQL = """
WITH per_bundle AS (
    SELECT customer_id,
           coalesce(session_id, 'row:' || CAST(rowid AS VARCHAR)) AS load,
           coalesce(bundle_name, 'row:' || CAST(rowid AS VARCHAR)) AS bundle,
           max(bundle_size) AS bytes
    FROM events
    WHERE type = 'bundle' AND bundle_size IS NOT NULL AND ({where})
    GROUP BY ALL
), per_load AS (
    SELECT customer_id, load, sum(bytes) AS bytes FROM per_bundle GROUP BY ALL
)
SELECT {head}, max(bytes) / {mib} AS value, count(*) AS samples
FROM per_load
{groups}
"""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open range of event times [start, end)."""

    start: datetime
    end: datetime


def measure(
    cur: duckdb.DuckDBPyConnection,
    ranges: Sequence[TimeRange],
    *,
    per_customer: bool,
) -> dict[str, Readings]:
    """Every figure over the events in `ranges`, by scope key (`GLOBAL` or a customerId).

    The global scope is always present (with empty readings when there is no data);
    a customer appears when it has events in the ranges and `per_customer` is on.
    """
    where, params = _ranges_sql(ranges)
    if per_customer:
        head, groups = (
            "grouping(customer_id) AS whole, customer_id",
            "GROUP BY GROUPING SETS ((), (customer_id))",
        )
    else:
        head, groups = "1 AS whole, NULL AS customer_id", ""
    select = ", ".join(
        f"{value} AS {_col(metric)}_v, {samples} AS {_col(metric)}_n"
        for metric, (value, samples) in _FIGURES.items()
    )
    sql = f"SELECT {head}, {select} FROM events WHERE {where} {groups}"
    scopes: dict[str, Readings] = {GLOBAL: empty_readings()}
    cursor = cur.execute(sql, params)
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        key = _scope_key(record)
        if key is None:
            continue
        scopes[key] = {
            metric: Reading(_float(record[f"{_col(metric)}_v"]), int(record[f"{_col(metric)}_n"]))
            for metric in _FIGURES
        }
        scopes[key]["bundle.size"] = Reading(None, 0)
    bundle_sql = _BUNDLE_SIZE_SQL.format(where=where, mib=MIB, head=head, groups=groups)
    for whole, customer_id, value, samples in cur.execute(bundle_sql, params).fetchall():
        key = _scope_key({"whole": whole, "customer_id": customer_id})
        if key is not None and key in scopes:
            scopes[key]["bundle.size"] = Reading(_float(value), int(samples))
    return scopes


def empty_readings() -> Readings:
    """The readings of a scope without events: nothing known, and no data lost."""
    readings = {metric: Reading(None, 0) for metric in (*_FIGURES, "bundle.size")}
    readings["persistence.data_loss"] = Reading(0.0, 0)
    return readings


def _scope_key(record: dict[str, Any]) -> str | None:
    if record["whole"]:
        return GLOBAL
    customer_id = record["customer_id"]
    return None if customer_id is None or customer_id == GLOBAL else str(customer_id)


def _ranges_sql(ranges: Sequence[TimeRange]) -> tuple[str, list[Any]]:
    if not ranges:
        return "false", []
    clauses = " OR ".join("(ts >= ? AND ts < ?)" for _ in ranges)
    params: list[Any] = []
    for r in ranges:
        params += [r.start, r.end]
    return f"({clauses})", params


def _col(metric: str) -> str:
    return metric.replace(".", "__")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
