"""The figures one can chart or compare over time: what each reads and the seed's threshold.

A metric is either a *value* (a number per event: durations, fps, bytes) that takes
the statistics count/avg/min/max/p50/p95/p99, a *rate* (the percentage of a type's
events matching a condition, e.g. successful saves), or a *count* of incidents
(e.g. data loss). Names are the wire's camelCase: `<type>.<field>` for values,
`<type>.<something>Rate` for rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from analytics.errors import InvalidQuery
from analytics.figures import Figure, Measure, derived, figures, measure_named, measures
from analytics.figures.declare import COUNT_STATS, QUANTILES, RATE_STATS, VALUE_STATS, aggregate_sql

__all__ = [
    "COUNT_STATS",
    "QUANTILES",
    "RATE_STATS",
    "VALUE_STATS",
    "Metric",
    "Threshold",
    "aggregate_sql",
    "catalogue",
    "check_stat",
    "metric_named",
    "seed_threshold",
]

Kind = Literal["value", "rate", "count"]
Direction = Literal["above", "below"]


@dataclass(frozen=True, slots=True)
class Threshold:
    """The seed's alert threshold: a value is bad when it is `direction` of `value`.

    `rule` names the alert rule whose configured level (`severity`, or its least severe
    one) holds the same threshold in the running alerting config, when there is one.
    """

    value: float
    direction: Direction
    stat: str
    rule: str | None = None
    severity: str | None = None
    source: str = "seed"  # or "alerting": the value in force in the alerting config

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "direction": self.direction, "stat": self.stat, "source": self.source}


@dataclass(frozen=True, slots=True)
class Metric:
    """One chartable measure of the registry (`analytics.figures.Measure`) and the seed's
    thresholds of its statistics, from the figures that chart it.

    For a value metric `expr` is the number; for a rate or count it is the boolean
    condition counted (rates are 100 * matching / events of `types`).
    """

    name: str
    label: str
    kind: Kind
    types: tuple[str, ...]
    expr: str
    unit: str
    default_stat: str
    threshold: Threshold | None = None  # the one a rule holds, else the first
    higher_is_better: bool = False
    thresholds: dict[str, Threshold] = field(default_factory=dict)  # by statistic

    @property
    def stats(self) -> tuple[str, ...]:
        return {"value": VALUE_STATS, "rate": RATE_STATS, "count": COUNT_STATS}[self.kind]

    def unit_of(self, stat: str) -> str:
        if stat == "count":
            return "events" if self.kind == "value" else "count"
        return self.unit

    def threshold_for(self, stat: str) -> Threshold | None:
        """The threshold to draw for `stat`: only where the seed states it for that stat."""
        return self.thresholds.get(stat)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "unit": self.unit,
            "stats": list(self.stats),
            "defaultStat": self.default_stat,
            "threshold": None if self.threshold is None else self.threshold.to_dict(),
            "higherIsBetter": self.higher_is_better,
        }


def seed_threshold(figure: Figure) -> Threshold | None:
    """The seed's alert threshold of `figure` as a chart draws it, with the rule level holding it.

    >>> from analytics.figures import figure_named
    >>> t = seed_threshold(figure_named("memory.peak"))
    >>> (t.value, t.direction, t.stat, t.rule, t.severity)
    (75, 'above', 'max', 'memory.peak', 'error')
    """
    if figure.threshold is None:
        return None
    rule, severity = None, None
    if figure.rule is not None:
        rule = figure.name
        # the level holding the seed's threshold, named only when it is not the least severe
        order = ("info", "warning", "error", "critical")
        least = min(figure.rule.levels, key=order.index)
        at = [s for s, t in figure.rule.levels.items() if t == figure.threshold]
        severity = at[0] if at and at[0] != least else None
    stat = figure.series[1] if figure.series is not None else figure.kind
    return Threshold(figure.threshold, figure.direction, stat, rule, severity)


def _metric(measure: Measure, charted: list[Figure]) -> Metric:
    thresholds = {
        f.series[1]: t for f in charted if f.series is not None and (t := seed_threshold(f)) is not None
    }
    ruled = [t for t in thresholds.values() if t.rule is not None]
    primary = ruled[0] if ruled else next(iter(thresholds.values()), None)
    return Metric(
        measure.name,
        measure.label,
        measure.kind,
        measure.types,
        measure.expr,
        measure.unit,
        measure.default_stat,
        primary,
        measure.higher_is_better,
        thresholds,
    )


@derived
def catalogue() -> dict[str, Metric]:
    """Every chartable metric by name, with the thresholds the registry's figures give it."""
    by_measure: dict[str, list[Figure]] = {}
    for figure in figures():
        if figure.series is not None:
            by_measure.setdefault(figure.series[0], []).append(figure)
    return {m.name: _metric(m, by_measure.get(m.name, [])) for m in measures()}


def metric_named(name: str) -> Metric:
    """The catalogue entry for `name`, or InvalidQuery listing the valid names.

    >>> metric_named("render.renderTime").unit
    'ms'
    """
    found = catalogue().get(name)
    if found is None:
        measure_named(name)  # raises InvalidQuery naming the valid metrics
        raise InvalidQuery(f"unknown metric {name!r}", parameter="metric")
    return found


def check_stat(metric: Metric, stat: str | None) -> str:
    """`stat`, or the metric's default when None; InvalidQuery when the metric lacks it."""
    if stat is None:
        return metric.default_stat
    if stat not in metric.stats:
        raise InvalidQuery(
            f"stat {stat!r} does not apply to {metric.name} ({metric.kind}); "
            f"expected one of {', '.join(metric.stats)}",
            parameter="stat",
        )
    return stat


def __getattr__(name: str) -> Any:
    # `METRICS`: the catalogue as it stands now (the registry may have grown since import).
    if name == "METRICS":
        return catalogue()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
