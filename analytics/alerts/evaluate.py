"""The figures the rules read, measured per scope (global, and each customer) in one scan.

The figures are those the alert rules and baselines read (see `analytics.alerts.rules`),
measured by `analytics.queries.figure_sql` as the summary measures its own; a figure is a
`Reading`: its value (None without data) and how many samples it rests on, so a rule can
refuse to judge a rate or a percentile from too few of them. Rates are percentages
0..100; memory and bundle sizes are in MB (MiB, as in the summary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from analytics.figures import Figure, derived, figures
from analytics.queries import figure_sql
from analytics.queries.figure_sql import GLOBAL, Reading, Readings

__all__ = ["GLOBAL", "Reading", "Readings", "TimeRange", "alert_figures", "empty_readings", "measure"]


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open range of event times [start, end)."""

    start: datetime
    end: datetime


@derived
def alert_figures() -> tuple[Figure, ...]:
    """The figures a rule or a baseline reads."""
    return tuple(f for f in figures() if f.rule is not None or f.baseline)


def measure(
    cur: duckdb.DuckDBPyConnection,
    ranges: Sequence[TimeRange],
    *,
    per_customer: bool,
) -> dict[str, Readings]:
    """Every figure the rules read over the events in `ranges`, by scope key (`GLOBAL` or a customerId).

    The global scope is always present (with empty readings when there is no data);
    a customer appears when it has events in the ranges and `per_customer` is on.
    """
    where, params = _ranges_sql(ranges)
    spans = [(r.start, r.end) for r in ranges]
    return figure_sql.measure_figures(
        cur, alert_figures(), where, params, per_customer=per_customer, spans=spans
    )


def empty_readings() -> Readings:
    """The readings of a scope without events: nothing known, and no data lost."""
    return figure_sql.empty_readings(alert_figures())


def _ranges_sql(ranges: Sequence[TimeRange]) -> tuple[str, dict[str, Any]]:
    if not ranges:
        return "false", {}
    clauses = " OR ".join(f"(ts >= $start{n} AND ts < $end{n})" for n in range(len(ranges)))
    params: dict[str, Any] = {}
    for n, r in enumerate(ranges):
        params |= {f"start{n}": r.start, f"end{n}": r.end}
    return f"({clauses})", params
