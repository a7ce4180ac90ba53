"""The registry of alert rules: one small object per row of the seed's Alerting Rules table,
plus the Metrics Tracked thresholds the table leaves out.

A rule reads one figure (named after the seed's metric, e.g. `persistence.success_rate`)
and fires when the figure is past a threshold in its `direction`. A rule with several
levels (success rate: error below 95 %, critical below 90 %) opens one alert at the most
severe level the figure is past. Degradation rules read the same figures but compare them
with a baseline (see `analytics.alerts.baseline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from analytics.events import MAX_BYTES, MAX_DURATION_MS

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
_PERCENT = (0.0, 100.0)
_MS = (0.0, float(MAX_DURATION_MS))
_MB = (0.0, MAX_BYTES / MIB)


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
    >>> rule = RULES["persistence.success_rate"]
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


def _rule(
    rule_id: str,
    category: Category,
    title: str,
    config_key: tuple[str, str],
    direction: Direction,
    levels: dict[Severity, float],
    unit: str,
    bounds: tuple[float, float],
    action: str,
    *,
    needs_samples: bool = True,
    window: str = "last 5 min",
) -> AlertRule:
    ordered = tuple(
        Level(s, float(t)) for s, t in sorted(levels.items(), key=lambda kv: SEVERITY_RANK[kv[0]])
    )
    return AlertRule(
        id=rule_id,
        category=category,
        title=title,
        metric=rule_id,
        config_key=config_key,
        direction=direction,
        levels=ordered,
        unit=unit,
        bounds=bounds,
        action=action,
        needs_samples=needs_samples,
        window=window,
    )


THRESHOLD_RULES: tuple[AlertRule, ...] = (
    # Alerting Rules: persistence
    _rule(
        "persistence.success_rate",
        "persistence",
        "Persistence success rate low",
        ("persistence", "successRate"),
        "below",
        {"error": 95, "critical": 90},
        "%",
        _PERCENT,
        "Investigate the storage adapter; below 90 %: immediate investigation",
    ),
    _rule(
        "persistence.data_loss",
        "persistence",
        "Conversation data lost",
        ("persistence", "dataLoss"),
        "above",
        {"critical": 0},
        "",
        (0.0, float("inf")),
        "Emergency response",
        needs_samples=False,
        window="any",
    ),
    _rule(
        "persistence.p95_duration",
        "persistence",
        "Persistence p95 duration high",
        ("persistence", "p95Duration"),
        "above",
        {"warning": 200},
        "ms",
        _MS,
        "Performance review",
    ),
    # Metrics Tracked: restore time
    _rule(
        "persistence.restore_time",
        "persistence",
        "Conversation restore p95 slow",
        ("persistence", "restoreTime"),
        "above",
        {"warning": 200},
        "ms",
        _MS,
        "Profile conversation restoration",
    ),
    # Alerting Rules: performance
    _rule(
        "render.message_time",
        "performance",
        "Message render p95 slow",
        ("performance", "renderTime"),
        "above",
        {"warning": 16},
        "ms",
        _MS,
        "Optimize render logic",
    ),
    _rule(
        "scroll.fps",
        "scroll",
        "Scroll FPS low",
        ("scroll", "fps"),
        "below",
        {"warning": 55},
        "fps",
        (0.0, 1000.0),
        "Scroll optimization",
    ),
    _rule(
        "scroll.jank_percentage",
        "scroll",
        "Scroll jank high",
        ("scroll", "jankPercentage"),
        "above",
        {"warning": 10},
        "%",
        _PERCENT,
        "Identify bottlenecks",
    ),
    # Metrics Tracked: tab sync
    _rule(
        "tabsync.latency",
        "tab_sync",
        "Tab sync p95 latency high",
        ("tabSync", "latency"),
        "above",
        {"warning": 50},
        "ms",
        _MS,
        "Check the tab synchronization channel",
    ),
    # Alerting Rules: memory (peak), Metrics Tracked: memory average
    _rule(
        "memory.peak",
        "memory",
        "Memory peak high",
        ("memory", "peakMb"),
        "above",
        {"warning": 50, "error": 75},
        "MB",
        _MB,
        "Memory leak check; above 75 MB: immediate cleanup",
        needs_samples=False,
        window="current (last 5 min)",
    ),
    _rule(
        "memory.average",
        "memory",
        "Memory average high",
        ("memory", "averageMb"),
        "above",
        {"warning": 60},
        "MB",
        _MB,
        "Memory leak check",
    ),
    # Alerting Rules: API
    _rule(
        "api.latency",
        "api",
        "API p95 latency high",
        ("api", "latency"),
        "above",
        {"warning": 500},
        "ms",
        _MS,
        "API optimization",
    ),
    _rule(
        "api.error_rate",
        "error_rate",
        "API error rate high",
        ("api", "errorRate"),
        "above",
        {"warning": 1, "error": 5},
        "%",
        _PERCENT,
        "Error investigation; above 5 %: service health check",
    ),
    # Metrics Tracked: API cache, bundles
    _rule(
        "api.cache_hit_rate",
        "api",
        "API cache hit rate low",
        ("api", "cacheHitRate"),
        "below",
        {"warning": 40},
        "%",
        _PERCENT,
        "Check API cache configuration",
    ),
    _rule(
        "bundle.load_time",
        "performance",
        "Bundle load time high",
        ("bundle", "loadTime"),
        "above",
        {"warning": 1000},
        "ms",
        _MS,
        "Check CDN and bundle splitting",
    ),
    _rule(
        "bundle.size",
        "performance",
        "Widget bundle size large",
        ("bundle", "sizeMb"),
        "above",
        {"warning": 1},
        "MB",
        _MB,
        "Review the last deploy's bundle size",
        needs_samples=False,
        window="current (last 5 min)",
    ),
    _rule(
        "bundle.cache_hit_rate",
        "performance",
        "Bundle cache hit rate low",
        ("bundle", "cacheHitRate"),
        "below",
        {"warning": 50},
        "%",
        _PERCENT,
        "Check cache headers of the bundles",
    ),
)

# The figures a baseline snapshots: their label, and whether a higher value is worse.
BASELINE_FIGURES: dict[str, tuple[str, bool]] = {
    "render.message_time": ("Message render p95", True),
    "scroll.fps": ("Scroll FPS", False),
    "persistence.p95_duration": ("Persistence p95 duration", True),
    "persistence.restore_time": ("Conversation restore p95", True),
    "api.latency": ("API p95 latency", True),
    "tabsync.latency": ("Tab sync p95 latency", True),
    "memory.average": ("Memory average", True),
}

DEGRADATION_KEY = ("performance", "degradationPercent")

DEGRADATION_RULES: tuple[AlertRule, ...] = tuple(
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
    for metric, (label, higher_is_worse) in BASELINE_FIGURES.items()
)

RULES: dict[str, AlertRule] = {rule.id: rule for rule in (*THRESHOLD_RULES, *DEGRADATION_RULES)}
