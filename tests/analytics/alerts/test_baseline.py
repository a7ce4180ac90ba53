"""captureBaseline, the rolling same-hour baseline, and degradation measured in the right direction."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analytics.alerts.baseline import degradation, rolling_ranges
from analytics.alerts.system import AlertingSystem
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import MIB, NOW, ev, make_system, put

MIN = timedelta(minutes=1)


def test_capture_snapshots_the_key_figures(store: EventStore, system: AlertingSystem) -> None:
    rng = np.random.default_rng(3)
    renders = rng.uniform(2, 20, 200).round(2)
    api = rng.uniform(50, 900, 100).round(1)
    heaps = rng.integers(20 * MIB, 40 * MIB, 30)
    put(store, [ev("render", renderTime=float(v)) for v in renders], at=NOW - 2 * MIN)
    put(store, [ev("api", duration=float(v), success=True) for v in api], at=NOW - 2 * MIN)
    put(store, [ev("memory", usedJSHeapSize=int(v)) for v in heaps], at=NOW - 2 * MIN)
    put(store, [ev("scroll", avgFps=f) for f in (58.0, 59.0, 61.0)], at=NOW - 2 * MIN)
    put(store, [ev("render", renderTime=500.0)] * 10, at=NOW - 6 * MIN)  # outside the 5 min window

    snap = system.capture_baseline(by="alice", label="before 2.3 deploy", now=NOW)
    figures = snap["figures"]
    assert snap["capturedBy"] == "alice" and snap["label"] == "before 2.3 deploy"
    assert (
        snap["capturedAt"] == "2026-11-27T12:00:00.000Z" and snap["windowStart"] == "2026-11-27T11:55:00.000Z"
    )
    assert figures["render.message_time"] == {
        "value": pytest.approx(np.percentile(renders, 95)),
        "samples": 200,
    }
    assert figures["api.latency"]["value"] == pytest.approx(np.percentile(api, 95))
    assert figures["memory.average"]["value"] == pytest.approx(heaps.mean() / MIB)
    assert figures["scroll.fps"] == {"value": pytest.approx(178 / 3), "samples": 3}
    assert figures["persistence.p95_duration"] == {"value": None, "samples": 0}
    # the report compares the figures of now with the latest captured baseline
    report = system.baseline_report(now=NOW)
    assert report["captured"]["id"] == snap["id"]
    assert report["figures"]["render.message_time"]["degradationPercent"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("metric", "current", "base", "expected"),
    [
        pytest.param("render.message_time", 15.0, 10.0, 50.0, id="slower-render-is-worse"),
        pytest.param("render.message_time", 8.0, 10.0, -20.0, id="faster-render-is-better"),
        pytest.param("scroll.fps", 45.0, 60.0, 25.0, id="fewer-fps-is-worse"),
        pytest.param("scroll.fps", 66.0, 60.0, -10.0, id="more-fps-is-better"),
        pytest.param("memory.average", 30.0, 20.0, 50.0, id="more-memory-is-worse"),
    ],
)
def test_degradation_is_positive_when_worse(
    metric: str, current: float, base: float, expected: float
) -> None:
    assert degradation(metric, current, base) == pytest.approx(expected)


def test_higher_fps_than_the_baseline_never_fires(store: EventStore, system: AlertingSystem) -> None:
    put(store, [ev("scroll", avgFps=50.0)] * 20, at=NOW - timedelta(days=1, minutes=30))
    put(store, [ev("scroll", avgFps=90.0)] * 20, at=NOW - MIN)  # 80 % higher: better, not worse
    system.check(now=NOW)
    assert system.alerts() == []
    report = system.baseline_report(now=NOW)
    assert report["figures"]["scroll.fps"]["degradationPercent"] == pytest.approx(-80.0)
    assert report["figures"]["scroll.fps"]["baseline"]["source"] == "rolling"


def test_rolling_baseline_is_the_same_hour_of_the_previous_seven_days(store: EventStore) -> None:
    ranges = rolling_ranges(NOW)
    assert [(r.start, r.end) for r in ranges] == [
        (NOW - timedelta(days=d, hours=1), NOW - timedelta(days=d)) for d in range(1, 8)
    ]
    system = make_system(store)
    day = timedelta(days=1)
    # 10 ms renders in the hour before noon on days 1 and 7; other hours and day 8 do not count
    put(store, [ev("render", renderTime=10.0)] * 10, at=NOW - day - 10 * MIN)
    put(store, [ev("render", renderTime=10.0)] * 10, at=NOW - 7 * day - 50 * MIN)
    put(store, [ev("render", renderTime=99.0)] * 10, at=NOW - day - 70 * MIN)
    put(store, [ev("render", renderTime=99.0)] * 10, at=NOW - 8 * day - 10 * MIN)
    rolling = system.baseline_report(now=NOW)["rolling"]["figures"]["render.message_time"]
    assert rolling == {"value": pytest.approx(10.0), "samples": 20}


def test_the_baseline_is_frozen_on_the_alert(store: EventStore, system: AlertingSystem) -> None:
    put(store, [ev("render", renderTime=10.0)] * 20, at=NOW - 10 * MIN)
    first = system.capture_baseline(now=NOW - 9 * MIN)
    put(store, [ev("render", renderTime=13.0)] * 20, at=NOW - MIN)  # +30 %
    system.check(now=NOW)
    (alert,) = [a for a in system.alerts() if a.rule_id == "render.message_time.degradation"]
    assert alert.baseline is not None and alert.baseline["id"] == first["id"]
    # someone captures the degraded state as the new baseline: the open alert keeps the old one
    system.capture_baseline(now=NOW)
    for k in range(1, 5):
        system.check(now=NOW + k * 30 * timedelta(seconds=1))
    again = system.alert(alert.id)
    assert again.status == "firing" and again.baseline == alert.baseline
    assert again.value == pytest.approx(30.0)


def test_degradation_needs_a_trusted_baseline(store: EventStore, system: AlertingSystem) -> None:
    put(store, [ev("render", renderTime=10.0)] * 5, at=NOW - 10 * MIN)  # too few samples
    system.capture_baseline(now=NOW - 9 * MIN)
    put(store, [ev("render", renderTime=15.0)] * 20, at=NOW - MIN)
    system.check(now=NOW)
    assert [a.rule_id for a in system.alerts()] == []
