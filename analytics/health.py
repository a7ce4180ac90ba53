"""Health scores 0..100 per category, derived from the seed's targets and alert thresholds.

Each figure scores 100 at or better than its target, 70 exactly at its alert
threshold (the edge between "degraded" and "unhealthy"), and falls on the same
line beyond it, clamped to 0..100. A category's score is the mean of its figures
that have data; data loss caps persistence at 50, since the seed treats any loss as
critical. Overall is the 40/30/15/15 weighted mean over categories with data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

HEALTHY = 90
DEGRADED = 70
DATA_LOSS_CAP = 50

CATEGORY_WEIGHTS: dict[str, float] = {
    "persistence": 0.40,
    "performance": 0.30,
    "memory": 0.15,
    "api": 0.15,
}


@dataclass(frozen=True, slots=True)
class Target:
    """A figure's target (scores 100) and alert threshold (scores 70)."""

    category: str
    path: tuple[str, ...]
    target: float
    threshold: float

    @property
    def higher_is_better(self) -> bool:
        return self.target > self.threshold

    def score(self, value: float) -> float:
        """Linear through (target, 100) and (threshold, 70), clamped to 0..100.

        >>> Target("api", ("x",), target=300, threshold=500).score(400)
        85.0
        """
        span = self.threshold - self.target
        worse_by = (value - self.target) / span  # 0 at target, 1 at threshold
        return max(0.0, min(100.0, 100.0 - 30.0 * worse_by))


TARGETS: tuple[Target, ...] = (
    # persistence: seed targets >99% success, restore <200 ms (excellent <100 ms)
    Target("persistence", ("persistence", "operations", "successRate"), 99, 95),
    Target("persistence", ("persistence", "performance", "p95Duration"), 100, 200),
    Target("persistence", ("persistence", "restoration", "successRate"), 99, 95),
    Target("persistence", ("persistence", "restoration", "avgDuration"), 100, 200),
    # cross-page navigation: success like storage operations (derived from successCount / total)
    Target("persistence", ("persistence", "navigation", "successRate"), 99, 95),
    # performance: render p95 16 ms (excellent avg <10), 58/55 fps, jank 5/10 %, tab sync 50 ms
    Target("performance", ("performance", "renders", "p95Time"), 10, 16),
    Target("performance", ("performance", "scroll", "avgFps"), 58, 55),
    Target("performance", ("performance", "scroll", "jankPercentage"), 5, 10),
    Target("performance", ("performance", "tabSync", "p95Latency"), 25, 50),
    # bundles: load time <500 ms target, >1000 ms alert; cache hits >70 % target, <50 % alert
    Target("performance", ("performance", "bundles", "avgLoadTime"), 500, 1000),
    Target("performance", ("performance", "bundles", "cacheHitRate"), 70, 50),
    # memory, in MB: usage 30/50, peak 50/75, average 40/60
    Target("memory", ("performance", "memory", "current", "mb"), 30, 50),
    Target("memory", ("performance", "memory", "peak", "mb"), 50, 75),
    Target("memory", ("performance", "memory", "average", "mb"), 40, 60),
    # api: p95 300/500 ms, error rate 0.5/1 %, cache hits 60/40 %
    Target("api", ("performance", "api", "p95Duration"), 300, 500),
    Target("api", ("performance", "api", "errorRate"), 0.5, 1),
    Target("api", ("performance", "api", "cacheHitRate"), 60, 40),
)

Status = Literal["healthy", "degraded", "unhealthy", "no_data"]


def status_of(score: float | None) -> Status:
    """The seed's status for a score: healthy ≥ 90, degraded 70–89, unhealthy < 70."""
    if score is None:
        return "no_data"
    if score >= HEALTHY:
        return "healthy"
    if score >= DEGRADED:
        return "degraded"
    return "unhealthy"


def lookup(summary: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` in a nested summary, or None where any step is missing."""
    node: Any = summary
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def score_health(summary: dict[str, Any]) -> dict[str, Any]:
    """The `health` section for a summary whose figures are already filled in."""
    parts: dict[str, list[float]] = {category: [] for category in CATEGORY_WEIGHTS}
    figures = _with_navigation_success_rate(summary)
    for target in TARGETS:
        value = lookup(figures, target.path)
        if value is not None:
            parts[target.category].append(target.score(value))
    data_loss = lookup(summary, ("persistence", "reliability", "dataLossIncidents")) or 0
    scores: dict[str, float | None] = {}
    for category, values in parts.items():
        score = sum(values) / len(values) if values else None
        if category == "persistence" and data_loss > 0:
            score = min(score if score is not None else 100.0, DATA_LOSS_CAP)
        scores[category] = None if score is None else round(score, 2)
    weighted = [(CATEGORY_WEIGHTS[c], s) for c, s in scores.items() if s is not None]
    overall = round(sum(w * s for w, s in weighted) / sum(w for w, _ in weighted), 2) if weighted else None
    return {"overall": overall, "scores": scores, "status": status_of(overall)}


def _with_navigation_success_rate(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary plus `persistence.navigation.successRate` (%), which the seed's shape lacks."""
    navigation = lookup(summary, ("persistence", "navigation"))
    if not isinstance(navigation, dict) or not navigation.get("total"):
        return summary
    rate = 100.0 * navigation["successCount"] / navigation["total"]
    persistence = {**summary["persistence"], "navigation": {**navigation, "successRate": rate}}
    return {**summary, "persistence": persistence}
