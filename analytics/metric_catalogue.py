"""The figures one can chart or compare over time: what each reads and the seed's threshold.

A metric is either a *value* (a number per event: durations, fps, bytes) that takes
the statistics count/avg/min/max/p50/p95/p99, a *rate* (the percentage of a type's
events matching a condition, e.g. successful saves), or a *count* of incidents
(e.g. data loss). Names are the wire's camelCase: `<type>.<field>` for values,
`<type>.<something>Rate` for rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from analytics.errors import InvalidQuery

Kind = Literal["value", "rate", "count"]
Direction = Literal["above", "below"]

VALUE_STATS: tuple[str, ...] = ("count", "avg", "min", "max", "p50", "p95", "p99")
RATE_STATS: tuple[str, ...] = ("rate", "count")
COUNT_STATS: tuple[str, ...] = ("count",)
QUANTILES: dict[str, float] = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
MIB = 1_048_576


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
    """One chartable figure: the event type it reads and the SQL of its per-event value.

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
    threshold: Threshold | None = None
    higher_is_better: bool = False

    @property
    def stats(self) -> tuple[str, ...]:
        return {"value": VALUE_STATS, "rate": RATE_STATS, "count": COUNT_STATS}[self.kind]

    def unit_of(self, stat: str) -> str:
        if stat == "count":
            return "events" if self.kind == "value" else "count"
        return self.unit

    def threshold_for(self, stat: str) -> Threshold | None:
        """The threshold to draw for `stat`: only where the seed states it for that stat."""
        t = self.threshold
        if t is not None and (t.stat == stat or (t.stat == "any" and stat != "count")):
            return t
        return None

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


def _value(
    name: str,
    label: str,
    type_: str,
    expr: str,
    unit: str,
    stat: str = "p95",
    threshold: Threshold | None = None,
    *,
    higher_is_better: bool = False,
) -> Metric:
    return Metric(name, label, "value", (type_,), expr, unit, stat, threshold, higher_is_better)


def _rate(
    name: str,
    label: str,
    type_: str,
    condition: str,
    threshold: Threshold | None = None,
    *,
    higher_is_better: bool = False,
) -> Metric:
    return Metric(name, label, "rate", (type_,), condition, "%", "rate", threshold, higher_is_better)


_METRICS: tuple[Metric, ...] = (
    # persistence
    _value(
        "persistence.duration",
        "Persistence duration",
        "persistence",
        "duration",
        "ms",
        threshold=Threshold(200, "above", "p95", rule="persistence.p95_duration"),
    ),
    _rate(
        "persistence.successRate",
        "Persistence success rate",
        "persistence",
        "success",
        Threshold(95, "below", "rate", rule="persistence.success_rate"),
        higher_is_better=True,
    ),
    _rate(
        "persistence.errorRate",
        "Persistence error rate",
        "persistence",
        "NOT success",
        Threshold(1, "above", "rate"),
    ),
    Metric(
        "persistence.dataLoss",
        "Data loss incidents",
        "count",
        ("persistence", "navigation"),
        "(type = 'persistence' AND data_loss) OR (type = 'navigation' AND NOT data_preserved)",
        "count",
        "count",
        Threshold(0, "above", "count", rule="persistence.data_loss"),
    ),
    _value(
        "restoration.duration",
        "Restore time",
        "restoration",
        "duration",
        "ms",
        threshold=Threshold(200, "above", "any", rule="persistence.restore_time"),
    ),
    _rate(
        "restoration.successRate",
        "Restore success rate",
        "restoration",
        "success",
        Threshold(95, "below", "rate"),
        higher_is_better=True,
    ),
    _value("navigation.duration", "Navigation duration", "navigation", "duration", "ms"),
    _rate(
        "navigation.dataPreservedRate",
        "Navigation data preserved",
        "navigation",
        "data_preserved",
        higher_is_better=True,
    ),
    # render
    _value(
        "render.renderTime",
        "Render time",
        "render",
        "render_time",
        "ms",
        threshold=Threshold(16, "above", "p95", rule="render.message_time"),
    ),
    _rate("render.slowRenderRate", "Slow render rate (>16 ms)", "render", "render_time > 16"),
    # scroll
    _value(
        "scroll.avgFps",
        "Scroll FPS",
        "scroll",
        "avg_fps",
        "fps",
        "avg",
        Threshold(55, "below", "avg", rule="scroll.fps"),
        higher_is_better=True,
    ),
    _value(
        "scroll.minFps",
        "Minimum scroll FPS",
        "scroll",
        "coalesce(min_fps, avg_fps)",
        "fps",
        "min",
        higher_is_better=True,
    ),
    _value(
        "scroll.jankPercentage",
        "Scroll jank",
        "scroll",
        "jank_percentage",
        "%",
        "avg",
        Threshold(10, "above", "avg", rule="scroll.jank_percentage"),
    ),
    # memory, in MiB as the seed states its thresholds
    _value(
        "memory.usedJSHeapSize",
        "JS heap used",
        "memory",
        f"used_js_heap_size / {MIB}",
        "MB",
        "max",
        Threshold(75, "above", "max", rule="memory.peak", severity="error"),
    ),
    # tab sync
    _value(
        "tabSync.latency",
        "Tab sync latency",
        "tabSync",
        "latency",
        "ms",
        threshold=Threshold(50, "above", "p95", rule="tabsync.latency"),
    ),
    _rate("tabSync.failureRate", "Tab sync failure rate", "tabSync", "success = false"),
    # api
    _value(
        "api.duration",
        "API latency",
        "api",
        "duration",
        "ms",
        threshold=Threshold(500, "above", "p95", rule="api.latency"),
    ),
    _rate(
        "api.errorRate",
        "API error rate",
        "api",
        "NOT success",
        Threshold(1, "above", "rate", rule="api.error_rate"),
    ),
    _rate(
        "api.cacheHitRate",
        "API cache hit rate",
        "api",
        "coalesce(cached, false)",
        Threshold(40, "below", "rate", rule="api.cache_hit_rate"),
        higher_is_better=True,
    ),
    # bundles
    _value(
        "bundle.loadTime",
        "Bundle load time",
        "bundle",
        "load_time",
        "ms",
        "avg",
        Threshold(1000, "above", "avg", rule="bundle.load_time"),
    ),
    _value("bundle.size", "Bundle size", "bundle", "bundle_size / 1024", "KB", "avg"),
    _rate(
        "bundle.cacheHitRate",
        "Bundle cache hit rate",
        "bundle",
        "coalesce(cached, false)",
        Threshold(50, "below", "rate", rule="bundle.cache_hit_rate"),
        higher_is_better=True,
    ),
)

METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}


def metric_named(name: str) -> Metric:
    """The catalogue entry for `name`, or InvalidQuery listing the valid names.

    >>> metric_named("render.renderTime").unit
    'ms'
    """
    try:
        return METRICS[name]
    except KeyError:
        raise InvalidQuery(
            f"unknown metric {name!r}; expected one of {', '.join(METRICS)}", parameter="metric"
        ) from None


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


def aggregate_sql(metric: Metric, stat: str) -> str:
    """The SQL aggregate of `stat` over rows already filtered to `metric.types`."""
    if metric.kind == "value":
        if stat == "count":
            return f"count({metric.expr})"
        if stat in QUANTILES:
            return f"quantile_cont({metric.expr}, {QUANTILES[stat]})"
        return f"{stat}({metric.expr})"
    if stat == "count":
        return f"count(*) FILTER ({metric.expr})"
    # rate: percentage of the type's events where the condition holds
    return f"100.0 * count(*) FILTER ({metric.expr}) / count(*)"
