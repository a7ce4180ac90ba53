"""The alert rules: one small object per row of the seed's Alerting Rules table, plus the
Metrics Tracked thresholds the table leaves out, generated from the figures that declare a
rule (`Figure.rule`, see `analytics.figures`).

A rule reads one figure (named after the seed's metric, e.g. `persistence.success_rate`)
and fires when the figure is past a threshold in its `direction`. A rule with several
levels (success rate: error below 95 %, critical below 90 %) opens one alert at the most
severe level the figure is past. Degradation rules read the same figures but compare them
with a baseline (see `analytics.alerts.baseline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from analytics.figures import Figure, derived, figures

Severity = Literal["info", "warning", "error", "critical"]
Category = Literal["persistence", "performance", "memory", "api", "error_rate", "scroll", "tab_sync"]
Direction = Literal["above", "below"]
Kind = Literal["threshold", "degradation"]

SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error", "critical")
CATEGORIES: tuple[Category, ...] = (
    "persistence",
    "performance",
    "memory",
    "api",
    "error_rate",
    "scroll",
    "tab_sync",
)
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

MIB = 1_048_576


@dataclass(frozen=True, slots=True)
class Level:
    """One severity of a rule and the threshold past which it applies."""

    severity: Severity
    threshold: float


@dataclass(frozen=True, slots=True)
class AlertRule:
    """What fires, when, and how loud.

    Examples
    --------
    >>> rule = rules()["persistence.success_rate"]
    >>> rule.severity_at(92.0, rule.levels)
    'error'
    >>> rule.severity_at(95.0, rule.levels) is None
    True
    """

    id: str
    category: Category
    title: str
    metric: str  # the figure read: the seed's metric name
    config_key: tuple[str, str]  # where its thresholds live in the config: (group, key)
    direction: Direction
    levels: tuple[Level, ...]  # the defaults, least severe first
    unit: str
    bounds: tuple[float, float]  # every value the figure can take
    action: str
    needs_samples: bool = True  # rates, percentiles and averages need `minSamples` readings
    kind: Kind = "threshold"
    window: str = "last 5 min"

    def past(self, value: float, threshold: float) -> bool:
        """Whether `value` is past `threshold` (strictly: a value at the threshold is fine)."""
        return value > threshold if self.direction == "above" else value < threshold

    def severity_at(self, value: float, levels: tuple[Level, ...]) -> Severity | None:
        """The most severe level `value` is past, or None when it is past none."""
        hit = [level for level in levels if self.past(value, level.threshold)]
        return max(hit, key=lambda level: SEVERITY_RANK[level.severity]).severity if hit else None

    @property
    def operator(self) -> str:
        return ">" if self.direction == "above" else "<"


def rule_of(figure: Figure) -> AlertRule:
    """The threshold rule a figure declares (`Figure.rule`), with its levels least severe first."""
    spec = figure.rule
    assert spec is not None, figure.name
    if spec.category not in CATEGORIES or any(s not in SEVERITY_RANK for s in spec.levels):
        raise ValueError(f"rule {figure.name!r}: unknown category or severity")
    ordered = tuple(
        Level(cast(Severity, s), float(t))
        for s, t in sorted(spec.levels.items(), key=lambda kv: SEVERITY_RANK[kv[0]])
    )
    return AlertRule(
        id=figure.name,
        category=cast(Category, spec.category),
        title=spec.title,
        metric=figure.name,
        config_key=spec.config_key,
        direction=figure.direction,
        levels=ordered,
        unit=figure.unit,
        bounds=spec.bounds,
        action=spec.action,
        needs_samples=spec.needs_samples,
        window=spec.window,
    )


@derived
def threshold_rules() -> tuple[AlertRule, ...]:
    """One rule per figure that declares one: the seed's Alerting Rules table, plus the
    Metrics Tracked thresholds the table leaves out."""
    return tuple(rule_of(f) for f in figures() if f.rule is not None)


@derived
def baselined_figures() -> dict[str, tuple[str, bool]]:
    """The figures a baseline snapshots: their label, and whether a higher value is worse."""
    return {f.name: (f.label, not f.higher_is_better) for f in figures() if f.baseline}


DEGRADATION_KEY = ("performance", "degradationPercent")


@derived
def degradation_rules() -> tuple[AlertRule, ...]:
    """A rule per baselined figure: fires when it is 20 % (configurable) worse than its baseline."""
    return tuple(
        AlertRule(
            id=f"{metric}.degradation",
            category="performance",
            title=f"{label} degraded vs baseline",
            metric=metric,
            config_key=DEGRADATION_KEY,
            direction="above",
            levels=(Level("warning", 20.0),),
            unit="%",
            # lower-is-worse figures (FPS) can lose at most 100 %; the others are unbounded
            bounds=(-float("inf"), 100.0 if not higher_is_worse else float("inf")),
            action="Compare with baseline",
            kind="degradation",
            window="vs baseline",
        )
        for metric, (label, higher_is_worse) in baselined_figures().items()
    )


@derived
def rules() -> dict[str, AlertRule]:
    """Every rule by id: threshold rules, then degradation rules."""
    return {rule.id: rule for rule in (*threshold_rules(), *degradation_rules())}


_AS_OF_NOW = {
    "RULES": rules,
    "THRESHOLD_RULES": threshold_rules,
    "BASELINE_FIGURES": baselined_figures,
    "DEGRADATION_RULES": degradation_rules,
}


def __getattr__(name: str) -> Any:
    # The rules as they stand now: the registry may have grown since this module was imported.
    if name in _AS_OF_NOW:
        return _AS_OF_NOW[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
