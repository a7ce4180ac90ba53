"""Declaring figures tersely: a statistic of a measure, and the SQL of every statistic.

`on(measure, "p95", ...)` is the figure "p95 of `measure`": its event types, unit,
direction, SQL and sample count all come from the measure, written once.
"""

from __future__ import annotations

from typing import Any, Protocol

from analytics.figures.figure import Figure, Measure

VALUE_STATS: tuple[str, ...] = ("count", "avg", "min", "max", "p50", "p95", "p99")
RATE_STATS: tuple[str, ...] = ("rate", "count")
COUNT_STATS: tuple[str, ...] = ("count",)
QUANTILES: dict[str, float] = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def stats_of(measure: Measure) -> tuple[str, ...]:
    """The statistics that apply to `measure`."""
    return {"value": VALUE_STATS, "rate": RATE_STATS, "count": COUNT_STATS}[measure.kind]


class PerEvent(Protocol):
    """What the SQL of a statistic needs: a measure, or a catalogue entry built on one."""

    @property
    def kind(self) -> str: ...
    @property
    def expr(self) -> str: ...


def aggregate_sql(measure: PerEvent, stat: str) -> str:
    """The SQL aggregate of `stat` over rows already filtered to `measure.types`.

    >>> from analytics.figures.figure import Measure
    >>> m = Measure("x.t", "T", "value", ("x",), "t", "ms", "p95")
    >>> aggregate_sql(m, "p95"), aggregate_sql(m, "count")
    ('quantile_cont(t, 0.95)', 'count(t)')
    """
    if measure.kind == "value":
        if stat == "count":
            return f"count({measure.expr})"
        if stat in QUANTILES:
            return f"quantile_cont({measure.expr}, {QUANTILES[stat]})"
        return f"{stat}({measure.expr})"
    if stat == "count":
        return f"count(*) FILTER ({measure.expr})"
    # rate: percentage of the type's events where the condition holds
    return f"100.0 * count(*) FILTER ({measure.expr}) / count(*)"


def on(measure: Measure, stat: str, *, name: str, label: str, **declared: Any) -> Figure:
    """The figure `stat` of `measure` over a window (`declared` adds its other facts)."""
    if stat not in stats_of(measure):
        raise ValueError(f"stat {stat!r} does not apply to {measure.name} ({measure.kind})")
    facts: dict[str, Any] = {
        "types": measure.types,
        "unit": measure.unit,
        "higher_is_better": measure.higher_is_better,
        "series": (measure.name, stat),
    }
    if measure.kind == "rate" and stat == "rate":
        facts |= {"kind": "rate", "sql": measure.expr}
    elif stat == "count":
        facts |= {"kind": "count", "sql": aggregate_sql(measure, stat), "unit": "", "higher_is_better": None}
    else:
        facts |= {"kind": "value", "sql": aggregate_sql(measure, stat), "samples": f"count({measure.expr})"}
        if stat in QUANTILES:
            facts["quantile"] = (measure.expr, QUANTILES[stat])
    return Figure(name=name, label=label, **(facts | declared))
