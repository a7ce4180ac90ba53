"""Each rule fires at its severity just past its threshold, and stays quiet at the threshold itself.

Expected values are worked by hand (or numpy, for percentiles) from the events written.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analytics.alerts.rules import RULES
from analytics.alerts.system import AlertingSystem
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import MIB, NOW, Event, ev, put


def persistence(ok: int, failed: int) -> list[Event]:
    return [ev("persistence", operation="save", success=True, duration=20.0)] * ok + [
        ev("persistence", operation="save", success=False, duration=20.0, errorType="QuotaExceeded")
    ] * failed


def durations(kind: str, field: str, top: tuple[float, float], **extra: object) -> list[Event]:
    """20 samples: 18 small ones and the two largest `top`; p95 = top[0] + 0.05 * (top[1] - top[0])."""
    values = [1.0] * 18 + list(top)
    return [ev(kind, **{field: v}, **extra) for v in values]


def api_calls(n: int, failed: int = 0, cached: int = 0) -> list[Event]:
    return [ev("api", duration=100.0, success=i >= failed, cached=i < cached) for i in range(n)]


def memory(*mb_bytes: int) -> list[Event]:
    return [ev("memory", usedJSHeapSize=b) for b in mb_bytes]


def scroll(values: list[float], field: str = "avgFps") -> list[Event]:
    other = "jankPercentage" if field == "avgFps" else "avgFps"
    neutral = 0.0 if other == "jankPercentage" else 60.0
    return [ev("scroll", **{field: v, other: neutral}) for v in values]


def bundles(load_times: list[float], cached: int = 0) -> list[Event]:
    return [
        ev("bundle", loadTime=t, name=f"chunk-{i}", size=1000, cached=i < cached, sessionId=f"s{i}")
        for i, t in enumerate(load_times)
    ]


CASES = [
    # persistence success rate: error < 95 %, critical < 90 % (1000 operations)
    pytest.param("persistence.success_rate", persistence(950, 50), None, id="success-rate-95.0-quiet"),
    pytest.param("persistence.success_rate", persistence(949, 51), "error", id="success-rate-94.9-error"),
    pytest.param("persistence.success_rate", persistence(900, 100), "error", id="success-rate-90.0-error"),
    pytest.param(
        "persistence.success_rate", persistence(899, 101), "critical", id="success-rate-89.9-critical"
    ),
    # data loss > 0: critical, from a single incident
    pytest.param("persistence.data_loss", persistence(20, 0), None, id="data-loss-0-quiet"),
    pytest.param(
        "persistence.data_loss",
        [ev("persistence", operation="save", success=False, duration=5.0, dataLoss=True)],
        "critical",
        id="data-loss-1-persistence-critical",
    ),
    pytest.param(
        "persistence.data_loss",
        [ev("navigation", success=True, dataPreserved=False, duration=30.0)],
        "critical",
        id="data-loss-1-navigation-critical",
    ),
    # persistence p95 > 200 ms: warning
    pytest.param(
        "persistence.p95_duration",
        durations("persistence", "duration", (200, 200), operation="save", success=True),
        None,
        id="persistence-p95-200-quiet",
    ),
    pytest.param(
        "persistence.p95_duration",
        durations("persistence", "duration", (200, 201), operation="save", success=True),
        "warning",
        id="persistence-p95-200.05-warning",
    ),
    # restore p95 > 200 ms: warning (Metrics Tracked)
    pytest.param(
        "persistence.restore_time",
        durations("restoration", "duration", (200, 200), success=True),
        None,
        id="restore-p95-200-quiet",
    ),
    pytest.param(
        "persistence.restore_time",
        durations("restoration", "duration", (200, 201), success=True),
        "warning",
        id="restore-p95-200.05-warning",
    ),
    # render p95 > 16 ms: warning
    pytest.param(
        "render.message_time", durations("render", "renderTime", (16, 16)), None, id="render-p95-16-quiet"
    ),
    pytest.param(
        "render.message_time",
        durations("render", "renderTime", (16, 17)),
        "warning",
        id="render-p95-16.05-warning",
    ),
    # avg FPS < 55: warning
    pytest.param("scroll.fps", scroll([55.0] * 10), None, id="fps-55-quiet"),
    pytest.param("scroll.fps", scroll([55.0] * 9 + [54.9]), "warning", id="fps-54.99-warning"),
    # jank > 10 %: warning
    pytest.param("scroll.jank_percentage", scroll([10.0] * 10, "jankPercentage"), None, id="jank-10-quiet"),
    pytest.param(
        "scroll.jank_percentage",
        scroll([10.0] * 9 + [10.1], "jankPercentage"),
        "warning",
        id="jank-10.01-warning",
    ),
    # tab sync p95 > 50 ms: warning (Metrics Tracked)
    pytest.param(
        "tabsync.latency", durations("tabSync", "latency", (50, 50)), None, id="tabsync-p95-50-quiet"
    ),
    pytest.param(
        "tabsync.latency",
        durations("tabSync", "latency", (50, 51)),
        "warning",
        id="tabsync-p95-50.05-warning",
    ),
    # memory peak > 50 MB warning, > 75 MB error: a single snapshot is enough
    pytest.param("memory.peak", memory(50 * MIB), None, id="peak-50MB-quiet"),
    pytest.param("memory.peak", memory(50 * MIB + 1), "warning", id="peak-50MB+1B-warning"),
    pytest.param("memory.peak", memory(75 * MIB), "warning", id="peak-75MB-warning"),
    pytest.param("memory.peak", memory(75 * MIB + 1), "error", id="peak-75MB+1B-error"),
    # memory average > 60 MB: warning (Metrics Tracked)
    pytest.param("memory.average", memory(*[60 * MIB] * 10), None, id="average-60MB-quiet"),
    pytest.param(
        "memory.average", memory(*[60 * MIB] * 9, 60 * MIB + 10), "warning", id="average-60MB+1B-warning"
    ),
    # API p95 > 500 ms: warning
    pytest.param(
        "api.latency", durations("api", "duration", (500, 500), success=True), None, id="api-p95-500-quiet"
    ),
    pytest.param(
        "api.latency",
        durations("api", "duration", (500, 501), success=True),
        "warning",
        id="api-p95-500.05-warning",
    ),
    # API error rate > 1 % warning, > 5 % error (1000 calls)
    pytest.param("api.error_rate", api_calls(1000, failed=10), None, id="api-errors-1.0-quiet"),
    pytest.param("api.error_rate", api_calls(1000, failed=11), "warning", id="api-errors-1.1-warning"),
    pytest.param("api.error_rate", api_calls(1000, failed=50), "warning", id="api-errors-5.0-warning"),
    pytest.param("api.error_rate", api_calls(1000, failed=51), "error", id="api-errors-5.1-error"),
    # API cache hit rate < 40 %: warning (Metrics Tracked)
    pytest.param("api.cache_hit_rate", api_calls(100, cached=40), None, id="api-cache-40-quiet"),
    pytest.param("api.cache_hit_rate", api_calls(100, cached=39), "warning", id="api-cache-39-warning"),
    # bundle load time > 1000 ms (average): warning
    pytest.param("bundle.load_time", bundles([1000.0] * 10), None, id="bundle-load-1000-quiet"),
    pytest.param(
        "bundle.load_time", bundles([1000.0] * 9 + [1001.0]), "warning", id="bundle-load-1000.1-warning"
    ),
    # bundle cache hit rate < 50 %: warning (100 loads)
    pytest.param(
        "bundle.cache_hit_rate", bundles([100.0] * 100, cached=50), None, id="bundle-cache-50-quiet"
    ),
    pytest.param(
        "bundle.cache_hit_rate", bundles([100.0] * 100, cached=49), "warning", id="bundle-cache-49-warning"
    ),
    # bundle size > 1 MB for one widget load (a session's distinct bundles): warning
    pytest.param(
        "bundle.size",
        [
            ev("bundle", loadTime=50.0, name="main", size=MIB - 1000, sessionId="s1"),
            ev("bundle", loadTime=50.0, name="vendor", size=1000, sessionId="s1"),
        ],
        None,
        id="bundle-size-1MB-quiet",
    ),
    pytest.param(
        "bundle.size",
        [
            ev("bundle", loadTime=50.0, name="main", size=MIB - 1000, sessionId="s1"),
            ev("bundle", loadTime=50.0, name="vendor", size=1001, sessionId="s1"),
        ],
        "warning",
        id="bundle-size-1MB+1B-warning",
    ),
]


def severity_of(system: AlertingSystem, rule_id: str) -> str | None:
    open_alerts = [a for a in system.alerts(resolved=False) if a.rule_id == rule_id]
    assert len(open_alerts) <= 1
    return open_alerts[0].severity if open_alerts else None


@pytest.mark.parametrize(("rule_id", "events", "expected"), CASES)
def test_rule_fires_just_past_its_threshold(
    store: EventStore, system: AlertingSystem, rule_id: str, events: list[Event], expected: str | None
) -> None:
    put(store, events)
    system.check(now=NOW)
    assert severity_of(system, rule_id) == expected


def test_every_threshold_rule_has_a_firing_case() -> None:
    fired = {p.values[0] for p in CASES if p.values[2] is not None}
    assert fired == {r.id for r in RULES.values() if r.kind == "threshold"}


def test_percentile_matches_numpy(store: EventStore, system: AlertingSystem) -> None:
    rng = np.random.default_rng(7)
    values = rng.gamma(2.0, 9.0, size=500).round(3)
    put(store, [ev("render", renderTime=float(v)) for v in values])
    system.check(now=NOW)
    (alert,) = [a for a in system.alerts() if a.rule_id == "render.message_time"]
    assert alert.value == pytest.approx(float(np.percentile(values, 95)), abs=1e-9)


DEGRADATION = [
    # metric, events factory, baseline value, value at exactly +20 %, value just past
    pytest.param("render.message_time", "render", "renderTime", 10.0, 12.0, 12.01, id="render-p95"),
    pytest.param(
        "persistence.p95_duration", "persistence", "duration", 100.0, 120.0, 120.1, id="persistence-p95"
    ),
    pytest.param(
        "persistence.restore_time", "restoration", "duration", 100.0, 120.0, 120.1, id="restore-p95"
    ),
    pytest.param("api.latency", "api", "duration", 200.0, 240.0, 240.1, id="api-p95"),
    pytest.param("tabsync.latency", "tabSync", "latency", 20.0, 24.0, 24.01, id="tabsync-p95"),
    pytest.param(
        "memory.average", "memory", "usedJSHeapSize", 10 * MIB, 12 * MIB, 12 * MIB + 1024, id="memory-avg"
    ),
    # FPS: lower is worse, so -20 % is the threshold
    pytest.param("scroll.fps", "scroll", "avgFps", 60.0, 48.0, 47.99, id="fps-lower-is-worse"),
]

_EXTRA = {
    "persistence": {"operation": "save", "success": True},
    "restoration": {"success": True},
    "api": {"success": True},
}


def _samples(kind: str, field: str, value: float) -> list[Event]:
    v = int(value) if field == "usedJSHeapSize" else value
    return [ev(kind, **{field: v}, **_EXTRA.get(kind, {}))] * 20


@pytest.mark.parametrize(("metric", "kind", "field", "base", "at_threshold", "past"), DEGRADATION)
@pytest.mark.parametrize("source", ["captured", "rolling"])
def test_degradation_fires_just_past_20_percent_of_the_baseline(
    store: EventStore,
    system: AlertingSystem,
    source: str,
    metric: str,
    kind: str,
    field: str,
    base: float,
    at_threshold: float,
    past: float,
) -> None:
    rule_id = f"{metric}.degradation"
    if source == "captured":
        put(store, _samples(kind, field, base), at=NOW - timedelta(hours=2))
        system.capture_baseline(now=NOW - timedelta(hours=2) + timedelta(minutes=1))
    else:  # the same hour yesterday
        put(store, _samples(kind, field, base), at=NOW - timedelta(days=1, minutes=30))
    put(store, _samples(kind, field, at_threshold), at=NOW - timedelta(minutes=4))
    system.check(now=NOW)
    assert severity_of(system, rule_id) is None
    put(store, _samples(kind, field, past), at=NOW + timedelta(minutes=1))
    system.check(now=NOW + timedelta(minutes=5, seconds=30))  # only the later events are in the window
    assert severity_of(system, rule_id) == "warning"
    (alert,) = [a for a in system.alerts() if a.rule_id == rule_id]
    assert alert.baseline is not None and alert.baseline["source"] == source
    in_mb = field == "usedJSHeapSize"
    assert alert.baseline["value"] == pytest.approx(base / MIB if in_mb else base)
    assert alert.value == pytest.approx(100 * abs(past - base) / base, rel=1e-6)
