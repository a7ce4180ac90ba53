"""Health scores against hand-worked values of the documented rule.

Rule (analytics/queries/health.py, docs/summary-api.md "Health score"): a figure scores 100 at its target,
70 at its alert threshold, linear between and beyond, clamped to 0..100; a category is
the mean of its figures with data; any data loss caps persistence at 50; overall is the
40/30/15/15 weighted mean over the categories with data; healthy >= 90, degraded 70-89,
unhealthy < 70, no_data without any figure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest.intake import read_body
from analytics.queries.health import TARGETS, score_health, status_of
from analytics.queries.summary import Window, summarize_window
from analytics.storage.store import EventStore, IngestBatch


def nest(figures: dict[str, float | int | None]) -> dict[str, Any]:
    """A summary holding just `figures`, given by dotted path."""
    summary: dict[str, Any] = {}
    for dotted, value in figures.items():
        node = summary
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return summary


# The targets table as docs/summary-api.md documents it: (path, target = 100, threshold = 70).
DOCUMENTED = {
    "persistence.operations.successRate": (99, 95),
    "persistence.performance.p95Duration": (100, 200),
    "persistence.restoration.successRate": (99, 95),
    "persistence.restoration.avgDuration": (100, 200),
    "persistence.navigation.successRate": (99, 95),
    "performance.renders.p95Time": (10, 16),
    "performance.scroll.avgFps": (58, 55),
    "performance.scroll.jankPercentage": (5, 10),
    "performance.tabSync.p95Latency": (25, 50),
    "performance.bundles.avgLoadTime": (500, 1000),
    "performance.bundles.cacheHitRate": (70, 50),
    "performance.memory.current.mb": (30, 50),
    "performance.memory.peak.mb": (50, 75),
    "performance.memory.average.mb": (40, 60),
    "performance.api.p95Duration": (300, 500),
    "performance.api.errorRate": (0.5, 1),
    "performance.api.cacheHitRate": (60, 40),
}


def test_the_targets_table_is_the_documented_one() -> None:
    assert {".".join(t.path): (t.target, t.threshold) for t in TARGETS} == DOCUMENTED


# (figure, value, hand-computed score of its category when it is the only figure)
SINGLE_FIGURES = [
    ("performance.api.p95Duration", 300, 100.0),  # at target
    ("performance.api.p95Duration", 120, 100.0),  # better than target: clamped
    ("performance.api.p95Duration", 500, 70.0),  # at threshold
    ("performance.api.p95Duration", 400, 85.0),  # halfway
    ("performance.api.p95Duration", 600, 55.0),  # half a span beyond
    ("performance.api.p95Duration", 1500, 0.0),  # far beyond: clamped
    ("performance.api.cacheHitRate", 50, 85.0),  # higher is better
    ("performance.api.cacheHitRate", 90, 100.0),
    ("performance.api.cacheHitRate", 0, 10.0),  # 100 - 30 * 60/20
    ("performance.api.errorRate", 0, 100.0),
    ("performance.api.errorRate", 2.5, 0.0),  # 100 - 30 * 4
    ("performance.scroll.avgFps", 56.5, 85.0),
    ("performance.scroll.avgFps", 45, 0.0),  # 100 - 30 * 13/3 < 0
    ("performance.scroll.jankPercentage", 8, 82.0),  # 100 - 30 * 3/5
    ("performance.renders.p95Time", 13, 85.0),
    ("performance.renders.p95Time", 22, 40.0),  # 100 - 30 * 2
    ("performance.tabSync.p95Latency", 40, 82.0),  # 100 - 30 * 15/25
    ("performance.memory.peak.mb", 100, 40.0),
    ("performance.memory.average.mb", 45, 92.5),  # 100 - 30 * 5/20
    ("persistence.operations.successRate", 97, 85.0),
    ("persistence.operations.successRate", 100, 100.0),
    ("persistence.operations.successRate", 90, 32.5),  # 100 - 30 * 9/4
    ("persistence.restoration.avgDuration", 250, 55.0),
]


@pytest.mark.parametrize(
    ("path", "value", "score"),
    [pytest.param(p, v, s, id=f"{p.split('.', 1)[1]}={v}") for p, v, s in SINGLE_FIGURES],
)
def test_one_figure_scores_on_the_line_through_target_and_threshold(
    path: str, value: float, score: float
) -> None:
    health = score_health(nest({path: value}))
    category = "persistence" if path.startswith("persistence") else path.split(".")[1]
    category = {"renders": "performance", "scroll": "performance", "tabSync": "performance"}.get(
        category, category
    )
    assert health["scores"][category] == score
    assert health["overall"] == score  # the only category with data
    assert [c for c, s in health["scores"].items() if s is not None] == [category]


WORKED = {
    # persistence: 97 % -> 85, p95 150 ms -> 85, restores 100 % -> 100, 250 ms -> 55: mean 81.25
    "persistence.operations.successRate": 97,
    "persistence.performance.p95Duration": 150,
    "persistence.restoration.successRate": 100,
    "persistence.restoration.avgDuration": 250,
    # performance: render p95 13 -> 85, 56.5 fps -> 85, no jank or tab sync data: mean 85
    "performance.renders.p95Time": 13,
    "performance.scroll.avgFps": 56.5,
    "performance.scroll.jankPercentage": None,
    # memory: current 40 MB -> 85, peak 100 MB -> 40, average 30 MB -> 100: mean 75
    "performance.memory.current.mb": 40,
    "performance.memory.peak.mb": 100,
    "performance.memory.average.mb": 30,
    # api: p95 600 -> 55, errors 0 % -> 100, cache 50 % -> 85: mean 80
    "performance.api.p95Duration": 600,
    "performance.api.errorRate": 0,
    "performance.api.cacheHitRate": 50,
}


def test_a_worked_example_of_every_category_and_the_weighted_overall() -> None:
    health = score_health(nest({**WORKED, "persistence.reliability.dataLossIncidents": 0}))
    assert health["scores"] == {"persistence": 81.25, "performance": 85.0, "memory": 75.0, "api": 80.0}
    # 0.4 * 81.25 + 0.3 * 85 + 0.15 * 75 + 0.15 * 80 = 32.5 + 25.5 + 11.25 + 12
    assert health["overall"] == 81.25
    assert health["status"] == "degraded"


def test_data_loss_caps_persistence_at_50() -> None:
    health = score_health(nest({**WORKED, "persistence.reliability.dataLossIncidents": 1}))
    assert health["scores"]["persistence"] == 50.0
    # 0.4 * 50 + 25.5 + 11.25 + 12
    assert health["overall"] == 68.75
    assert health["status"] == "unhealthy"


def test_a_lower_persistence_score_is_not_raised_by_the_cap() -> None:
    health = score_health(
        nest({"persistence.operations.successRate": 90, "persistence.reliability.dataLossIncidents": 3})
    )
    assert health["scores"]["persistence"] == 32.5


def test_data_loss_alone_gives_persistence_a_score_of_50() -> None:
    # e.g. only navigation events, one of which lost data: no persistence figure, but a loss
    health = score_health(nest({"persistence.reliability.dataLossIncidents": 1}))
    assert health["scores"] == {"persistence": 50.0, "performance": None, "memory": None, "api": None}
    assert (health["overall"], health["status"]) == (50.0, "unhealthy")


def test_overall_weighs_only_the_categories_with_data() -> None:
    health = score_health(
        nest({"persistence.operations.successRate": 99.5, "performance.api.p95Duration": 600})
    )
    # (0.4 * 100 + 0.15 * 55) / (0.4 + 0.15) = 48.25 / 0.55 = 87.7272…
    assert health["scores"] == {"persistence": 100.0, "performance": None, "memory": None, "api": 55.0}
    assert health["overall"] == 87.73


def test_category_scores_round_to_two_decimals() -> None:
    # jank 6 -> 94, tab sync 30 ms -> 94, fps 57.9 -> 99: mean 95.666… -> 95.67
    health = score_health(
        nest(
            {
                "performance.scroll.jankPercentage": 6,
                "performance.tabSync.p95Latency": 30,
                "performance.scroll.avgFps": 57.9,
            }
        )
    )
    assert health["scores"]["performance"] == 95.67


@pytest.mark.parametrize(
    ("fps", "overall", "status"),
    [
        pytest.param(58, 100.0, "healthy", id="100"),
        pytest.param(57, 90.0, "healthy", id="90-healthy"),
        pytest.param(56.99, 89.9, "degraded", id="89.9-degraded"),
        pytest.param(55, 70.0, "degraded", id="70-degraded"),
        pytest.param(54.99, 69.9, "unhealthy", id="69.9-unhealthy"),
        pytest.param(40, 0.0, "unhealthy", id="0"),
    ],
)
def test_status_thresholds(fps: float, overall: float, status: str) -> None:
    health = score_health(nest({"performance.scroll.avgFps": fps}))
    assert (health["overall"], health["status"]) == (overall, status)


def test_status_of_the_score_alone() -> None:
    assert [status_of(s) for s in (None, 0, 69.99, 70, 89.99, 90, 100)] == [
        "no_data",
        "unhealthy",
        "unhealthy",
        "degraded",
        "degraded",
        "healthy",
        "healthy",
    ]


def test_no_figure_at_all_is_no_data() -> None:
    assert score_health(nest({"persistence.reliability.dataLossIncidents": 0})) == {
        "overall": None,
        "scores": {"persistence": None, "performance": None, "memory": None, "api": None},
        "status": "no_data",
    }


def test_bundles_and_navigations_alone_are_scored_not_no_data() -> None:
    """Regression: a window holding only bundle loads and navigations said `no_data`."""
    # bundles: avg load 750 ms -> 100 - 30 * (750 - 500) / 500 = 85; cache hits 60 % -> 85.
    # navigations: 3 of 4 succeeded, 75 % -> 100 - 30 * (99 - 75) / 4 = -80 -> 0 (clamped).
    health = score_health(
        nest(
            {
                "performance.bundles.avgLoadTime": 750,
                "performance.bundles.cacheHitRate": 60,
                "persistence.navigation.total": 4,
                "persistence.navigation.successCount": 3,
                "persistence.reliability.dataLossIncidents": 0,
            }
        )
    )
    assert health["scores"] == {"persistence": 0.0, "performance": 85.0, "memory": None, "api": None}
    # overall (0.4 * 0 + 0.3 * 85) / 0.7 = 36.43
    assert health["overall"] == 36.43
    assert health["status"] == "unhealthy"


def test_health_of_a_stored_window_end_to_end(tmp_path: Path) -> None:
    # 4 successful saves of 10..40 ms: 100 % -> 100, p95 38.5 ms -> 100.
    # one memory sample of 40 MiB: current 40 MB -> 85, peak 40 -> 100, average 40 -> 100: 95.
    # overall (0.4 * 100 + 0.15 * 95) / 0.55 = 54.25 / 0.55 = 98.636…
    ts = "2026-03-10T09:00:01Z"
    saves = [
        {
            "type": "persistence",
            "metric": {"operation": "save", "success": True, "duration": d, "timestamp": ts},
        }
        for d in (10, 20, 30, 40)
    ]
    memory = {"type": "memory", "metric": {"usedJSHeapSize": 40 * 1_048_576, "timestamp": ts}}
    received = 1_780_000_000_000_000
    intake = read_body(json.dumps([*saves, memory]).encode(), received_us=received)
    store = EventStore.open(tmp_path / "data")
    try:
        store.append([IngestBatch.of_events(intake.accepted, received)])
        with store.cursor() as cur:
            summary = summarize_window(
                cur, Window(datetime(2026, 3, 10, 9, tzinfo=UTC), datetime(2026, 3, 10, 10, tzinfo=UTC))
            )
    finally:
        store.close()
    assert summary["health"] == {
        "overall": 98.64,
        "scores": {"persistence": 100.0, "performance": None, "memory": 95.0, "api": None},
        "status": "healthy",
    }


@settings(max_examples=100, deadline=None)
@given(
    index=st.integers(0, len(TARGETS) - 1),
    a=st.floats(-1e6, 1e6, allow_nan=False),
    b=st.floats(-1e6, 1e6, allow_nan=False),
)
def test_a_figure_score_stays_in_0_100_and_never_rewards_a_worse_value(
    index: int, a: float, b: float
) -> None:
    target = TARGETS[index]
    worse, better = sorted((a, b), reverse=not target.higher_is_better)
    assert 0 <= target.score(worse) <= target.score(better) <= 100
