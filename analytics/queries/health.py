"""Health scores 0..100 per category, derived from the seed's targets and alert thresholds.

The targets are those of the figure registry (`Figure.target`, `Figure.threshold`,
`Figure.health`); a figure is scored where the summary shows it.

Each figure scores 100 at or better than its target, 70 exactly at its alert
threshold (the edge between "degraded" and "unhealthy"), and falls on the same
line beyond it, clamped to 0..100. A category's score is the mean of its figures
that have data; data loss caps persistence at 50, since the seed treats any loss as
critical. Overall is the 40/30/15/15 weighted mean over categories with data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from analytics.figures import derived, figures

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


@derived
def health_targets() -> tuple[Target, ...]:
    """The target and alert threshold of every figure health scores, from the registry."""
    return tuple(
        Target(f.health, f.value_path, f.target, f.threshold)
        for f in figures()
        if f.health is not None
        and f.value_path is not None
        and f.target is not None
        and f.threshold is not None
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
    for target in health_targets():
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
    """The summary with `persistence.navigation.successRate` (%) where it lacks it: a summary
    written before the field (the seed's shape has none) still scores its navigations."""
    navigation = lookup(summary, ("persistence", "navigation"))
    if not isinstance(navigation, dict) or "successRate" in navigation or not navigation.get("total"):
        return summary
    rate = 100.0 * navigation["successCount"] / navigation["total"]
    persistence = {**summary["persistence"], "navigation": {**navigation, "successRate": rate}}
    return {**summary, "persistence": persistence}


def __getattr__(name: str) -> Any:
    # `TARGETS`: the targets as they stand now (the registry may have grown since import).
    if name == "TARGETS":
        return health_targets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
