"""Is B different from A by more than noise? Bootstrap intervals and a rank test, in numpy.

For each figure the difference B − A of its statistic (p95, mean, rate) gets a 95%
percentile-bootstrap confidence interval: both samples are resampled with
replacement `n_boot` times and the statistic recomputed. The difference is called
real when the interval excludes zero. For per-event values the Mann-Whitney U test
(normal approximation with tie and continuity corrections) adds a p-value for "one
group tends to take larger values".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
MIN_SAMPLES = 10

# statistic over axis=-1, so one call computes it for every bootstrap replicate
STATISTICS: dict[str, Callable[[Array], Array]] = {
    "avg": lambda x: np.mean(x, axis=-1),
    "rate": lambda x: np.mean(x, axis=-1),  # samples are 100/0 per event
    "p50": lambda x: np.quantile(x, 0.5, axis=-1),
    "p95": lambda x: np.quantile(x, 0.95, axis=-1),
    "p99": lambda x: np.quantile(x, 0.99, axis=-1),
    "max": lambda x: np.max(x, axis=-1),
    "min": lambda x: np.min(x, axis=-1),
}


@dataclass(frozen=True, slots=True)
class CompareFigure:
    """A figure of the Compare page: which metric, which statistic; its unit and which way is
    better come from the API's chart catalogue (`with_catalogue`)."""

    label: str
    metric: str
    stat: str
    unit: str = ""
    higher_is_better: bool | None = None  # None: unknown, the verdict says only higher or lower


# which figures the page compares, in which order, under which label (the page's choice)
COMPARE_FIGURES: tuple[CompareFigure, ...] = (
    CompareFigure("Render p95", "render.renderTime", "p95"),
    CompareFigure("Render average", "render.renderTime", "avg"),
    CompareFigure("Slow render rate", "render.slowRenderRate", "rate"),
    CompareFigure("Persistence success", "persistence.successRate", "rate"),
    CompareFigure("Persistence p95", "persistence.duration", "p95"),
    CompareFigure("Restore time", "restoration.duration", "avg"),
    CompareFigure("Scroll FPS", "scroll.avgFps", "avg"),
    CompareFigure("Scroll jank", "scroll.jankPercentage", "avg"),
    CompareFigure("Memory used", "memory.usedJSHeapSize", "avg"),
    CompareFigure("Tab sync p95", "tabSync.latency", "p95"),
    CompareFigure("API p95", "api.duration", "p95"),
    CompareFigure("API error rate", "api.errorRate", "rate"),
    CompareFigure("API cache hits", "api.cacheHitRate", "rate"),
    CompareFigure("Bundle load", "bundle.loadTime", "avg"),
)


def with_catalogue(
    figures: Iterable[CompareFigure], catalogue: Iterable[Mapping[str, object]]
) -> tuple[CompareFigure, ...]:
    """The figures whose metric the chart catalogue has, with the catalogue's unit and direction
    (a metric the API does not chart has no samples to compare either).

    >>> [f] = with_catalogue(COMPARE_FIGURES[:1], [{"name": "render.renderTime", "unit": "ms",
    ...     "higherIsBetter": False}])
    >>> f.label, f.unit, f.higher_is_better
    ('Render p95', 'ms', False)
    """
    by_name = {str(m["name"]): m for m in catalogue}

    def completed(figure: CompareFigure) -> CompareFigure:
        metric = by_name[figure.metric]
        higher = metric.get("higherIsBetter")
        unit = str(metric.get("unit") or "")
        return replace(figure, unit=unit, higher_is_better=higher if isinstance(higher, bool) else None)

    return tuple(completed(figure) for figure in figures if figure.metric in by_name)


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: which events (window, customer, widget version) and its name."""

    label: str
    start: datetime
    end: datetime
    customer_id: str | None = None
    widget_version: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """A and B's statistic, their difference with its confidence interval, and the verdict."""

    a: float | None
    b: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_a: int
    n_b: int
    verdict: str

    @property
    def diff_pct(self) -> float | None:
        if self.diff is None or not self.a:
            return None
        return 100.0 * self.diff / abs(self.a)


def bootstrap_diff_ci(
    a: Array,
    b: Array,
    stat: str,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """stat(b) − stat(a) and its percentile-bootstrap interval at `level`.

    >>> a, b = np.zeros(50), np.ones(50)
    >>> bootstrap_diff_ci(a, b, "avg")
    (1.0, 1.0, 1.0)
    """
    statistic = STATISTICS[stat]
    rng = np.random.default_rng(seed)
    diff = float(statistic(b) - statistic(a))
    replicates = np.empty(n_boot)
    chunk = 100
    for first in range(0, n_boot, chunk):
        size = min(chunk, n_boot - first)
        boot_a = statistic(a[rng.integers(0, len(a), (size, len(a)))])
        boot_b = statistic(b[rng.integers(0, len(b), (size, len(b)))])
        replicates[first : first + size] = boot_b - boot_a
    tail = (1 - level) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    return diff, float(low), float(high)


def mann_whitney_u(a: Array, b: Array) -> tuple[float, float]:
    """U of `a` and the two-sided p-value (normal approximation, tie and continuity corrected).

    >>> u, p = mann_whitney_u(np.array([1.0, 2, 3]), np.array([4.0, 5, 6]))
    >>> u, round(p, 4)
    (0.0, 0.0809)
    """
    n1, n2 = len(a), len(b)
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both))
    sorted_values = both[order]
    # average ranks over ties
    _, first_index, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first_index + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    mean = n1 * n2 / 2.0
    n = n1 + n2
    tie_term = float((counts**3 - counts).sum()) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if variance <= 0:
        return u1, 1.0
    z = (abs(u1 - mean) - 0.5) / math.sqrt(variance)
    p = math.erfc(max(z, 0.0) / math.sqrt(2))
    return u1, min(1.0, p)


def compare_samples(
    a_values: list[float],
    b_values: list[float],
    figure: CompareFigure,
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> Comparison:
    """Compare B against A for one figure; the verdict says better, worse or within noise."""
    a = np.asarray(a_values, dtype=np.float64)
    b = np.asarray(b_values, dtype=np.float64)
    statistic = STATISTICS[figure.stat]
    if len(a) < MIN_SAMPLES or len(b) < MIN_SAMPLES:
        a_value = float(statistic(a)) if len(a) else None
        b_value = float(statistic(b)) if len(b) else None
        return Comparison(a_value, b_value, None, None, None, None, len(a), len(b), "not enough data")
    diff, low, high = bootstrap_diff_ci(a, b, figure.stat, n_boot=n_boot, seed=seed)
    p_value = None if figure.stat == "rate" else mann_whitney_u(a, b)[1]
    if low <= 0 <= high:
        verdict = "within noise"
    elif figure.higher_is_better is None:
        verdict = "B higher" if diff > 0 else "B lower"
    else:
        verdict = "B better" if (diff > 0) == figure.higher_is_better else "B worse"
    return Comparison(
        float(statistic(a)), float(statistic(b)), diff, low, high, p_value, len(a), len(b), verdict
    )


def comparison_row(figure: CompareFigure, result: Comparison) -> dict[str, object]:
    """One line of the Compare table (numbers rounded for display, None where unknown)."""

    def r(value: float | None, digits: int = 2) -> float | None:
        return None if value is None else round(value, digits)

    ci = None
    if result.ci_low is not None and result.ci_high is not None:
        ci = f"[{result.ci_low:+.2f}, {result.ci_high:+.2f}]"
    return {
        "figure": figure.label,
        "stat": figure.stat,
        "unit": figure.unit,
        "A": r(result.a),
        "B": r(result.b),
        "B − A": r(result.diff),
        "B − A (%)": r(result.diff_pct, 1),
        "95% CI of B − A": ci,
        "Mann-Whitney p": _p_text(result.p_value),
        "n A": result.n_a,
        "n B": result.n_b,
        "verdict": result.verdict,
    }


def _p_text(p: float | None) -> str:
    """A p-value for reading: `<0.0001` rather than a rounded 0, and a dash where there is none (rates)."""
    if p is None:
        return "—"
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"
