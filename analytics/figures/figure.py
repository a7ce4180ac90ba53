"""What a figure is: one number the product reports over a window, declared once.

A `Measure` is a per-event value or condition one can chart over time (the time-series
catalogue: `render.renderTime`, `api.errorRate`). A `Figure` is one statistic of the
events of a window: "render p95, in ms, lower is better, target 10, alert above 16 as a
warning". It carries every name it goes by (its own, which is the seed's metric name and
rule id where the seed has one; its place in the summary; its export name; the measure
and statistic it is on a chart), the SQL that computes it, and what the seed says about
it (target, alert threshold, rule levels, how health scores it). The summary, alert
evaluation, health, the catalogue and the export are generated from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MIB = 1_048_576

# How a figure's value is computed from its SQL columns:
#   "count": an integer (`sql` counts rows); "value": a number (`sql`);
#   "rate": the percentage 0..100 of the figure's rows where `sql` (a condition) holds.
Kind = Literal["count", "value", "rate"]
# How the summary writes it: "int"; "r2" (rounded to 2 decimals); "mb" (a value in MiB
# written as {"bytes", "mb"}); "size" (a value in MiB written as {"bytes", "kb", "mb"}).
Shape = Literal["int", "r2", "mb", "size"]
MeasureKind = Literal["value", "rate", "count"]
HealthCategory = Literal["persistence", "performance", "memory", "api"]


@dataclass(frozen=True, slots=True)
class Measure:
    """A per-event value or condition one can chart or compare over time.

    For a value, `expr` is the number; for a rate or count it is the boolean condition
    counted (rates are 100 * matching / events of `types`).
    """

    name: str
    label: str
    kind: MeasureKind
    types: tuple[str, ...]
    expr: str
    unit: str
    default_stat: str
    higher_is_better: bool = False


# A tally's rollup rows of one label are named `<tally>/<label>`: no registered name holds it.
LABEL_SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class Tally:
    """The events of `types` where `where` holds, counted by a label (the SQL `by`): the failed
    persistence operations by error type. Read raw over a short window, and from the rollups
    (one row per hour, customer, version and label) over a long one."""

    name: str
    label: str
    types: tuple[str, ...]
    where: str
    by: str
    summary: tuple[str, ...] | None = None  # its place in the summary: {label: count}, most first

    @property
    def label_sql(self) -> str:
        """The label as SQL that is never NULL (a NULL label is '')."""
        return f"coalesce(CAST(({self.by}) AS VARCHAR), '')"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """The seed's alert rule on a figure: where its thresholds live, its levels, its words."""

    category: str
    title: str
    config_key: tuple[str, str]
    levels: dict[str, float]  # severity -> default threshold
    bounds: tuple[float, float]  # every value the figure can take
    action: str
    needs_samples: bool = True
    window: str = "last 5 min"


@dataclass(frozen=True, slots=True)
class Export:
    """The figure in the flat export (`format=export` / `format=prometheus`)."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Figure:
    """One number over a window: its names, its SQL, and what the seed says about it.

    `sql` is an aggregate over the rows of `types` in the window (for a rate: the
    condition); `samples` counts what the value rests on, so that a rule can refuse to
    judge from too few. A figure with `sum_of` adds other figures' values and samples; one
    with `scan` is computed by its own SQL template (see `analytics.queries.figure_sql`).
    `target` scores 100 in health and `threshold` 70: the seed's alert threshold, whose
    direction is `higher_is_better`'s.
    """

    name: str
    label: str
    unit: str
    types: tuple[str, ...] = ()
    kind: Kind = "value"
    sql: str = ""
    samples: str = "count(*)"
    higher_is_better: bool | None = False  # None: neither (a volume)
    summary: tuple[str, ...] | None = None
    shape: Shape = "r2"
    # False: the summary's JSON keeps the seed's shape and leaves the figure out; health and
    # the export (`format=export`) still read it at `summary`.
    shown: bool = True
    series: tuple[str, str] | None = None  # (measure name, statistic)
    # (measure name, part): a value the measure's rollups hold though it is no chart of it:
    # "events" (every event of its types), "count" (those matching), "unmatched" (the rest),
    # "sum" (a value's total)
    rolled: tuple[str, str] | None = None
    # The rollups' value times this is the figure's (a unit apart: a sum in KB, a figure in MB).
    rolled_scale: float = 1.0
    # A latest value (the newest sample's): the measure of the same samples, whose rollups say
    # which hours hold one. From the rollups, raw events are read from the newest such hour
    # on (not the whole window), and the samples are the measure's count.
    latest_of: str | None = None
    export: Export | None = None
    target: float | None = None
    threshold: float | None = None
    health: HealthCategory | None = None
    rule: RuleSpec | None = None
    baseline: bool = False  # snapshotted by baselines, and watched for degradation
    sum_of: tuple[str, ...] = ()
    scan: str | None = None
    # A quantile figure keeps its expression and q apart, so that the quantiles of one
    # expression are computed by one `quantile_cont(expr, [q, ...])`.
    quantile: tuple[str, float] | None = None

    @property
    def value_path(self) -> tuple[str, ...] | None:
        """Where the summary holds the value in the figure's unit (a size's `mb`)."""
        if self.summary is None:
            return None
        return (*self.summary, "mb") if self.shape in ("mb", "size") else self.summary

    @property
    def rollup_reading(self) -> tuple[str, str] | None:
        """(measure name, statistic or part) that gives the figure from the rollups; None: raw events only."""
        return self.rolled or self.series

    @property
    def direction(self) -> Literal["above", "below"]:
        """Which side of its threshold is bad."""
        return "below" if self.higher_is_better else "above"

    def to_dict(self) -> dict[str, Any]:
        """The wire form served by `GET /api/monitoring/figures` (camelCase)."""
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "kind": self.kind,
            "eventTypes": list(self.types),
            "higherIsBetter": self.higher_is_better,
            "summaryPath": None if self.value_path is None else list(self.value_path),
            "inSummary": self.summary is not None and self.shown,
            "series": None if self.series is None else {"metric": self.series[0], "stat": self.series[1]},
            "export": None
            if self.export is None
            else {"name": self.export.name, "labels": self.export.labels},
            "target": self.target,
            "threshold": self.threshold,
            "health": self.health,
            "rule": None if self.rule is None else self.name,
            "baseline": self.baseline,
        }
