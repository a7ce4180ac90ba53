"""Every figure of the summary against values computed here with numpy and statistics."""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest.intake import read_body
from analytics.queries.summary import Window, summarize_window
from analytics.storage.store import EventStore, IngestBatch

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
END = START + timedelta(minutes=10)
START_US = int(START.timestamp()) * 1_000_000
END_US = int(END.timestamp()) * 1_000_000
RECEIVED_US = END_US + 3_600_000_000  # every event is in the past when it arrives
MIB = 1_048_576
CUSTOMERS = ("acme", "globex", None)


@dataclass(frozen=True)
class Sample:
    """One generated event: its type, time (epoch µs), customer and metric fields."""

    kind: str
    ts_us: int
    customer: str | None
    metric: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        stamp = _dt(self.ts_us).isoformat().replace("+00:00", "Z")
        metric = {**self.metric, "timestamp": stamp}
        if self.customer is not None:
            metric["customerId"] = self.customer
        return {"type": self.kind, "metric": metric}


def _metric(kind: str, rng: random.Random) -> dict[str, Any]:
    maybe = rng.random
    if kind == "persistence":
        ok = maybe() < 0.85
        m: dict[str, Any] = {
            "operation": rng.choice(["save", "restore", "sync", "delete", "clear"]),
            "success": ok,
            "duration": round(rng.uniform(0.5, 400), 3),
        }
        if not ok and maybe() < 0.8:
            m["errorType"] = rng.choice(["QuotaExceededError", "SecurityError", "TimeoutError"])
        if maybe() < 0.06:
            m["dataLoss"] = True
        return m
    if kind == "restoration":
        m = {"success": maybe() < 0.9, "duration": round(rng.uniform(20, 400), 3)}
        if maybe() < 0.85:
            m["messagesRestored"] = rng.randrange(0, 60)
        return m
    if kind == "navigation":
        return {
            "success": maybe() < 0.95,
            "dataPreserved": maybe() < 0.9,
            "duration": round(rng.uniform(5, 300), 3),
        }
    if kind == "render":
        # some exactly 16 ms: that is not slow (slow is > 16)
        return {"renderTime": 16.0 if maybe() < 0.1 else round(rng.uniform(0.2, 40), 3)}
    if kind == "scroll":
        avg = round(rng.uniform(30, 62), 2)
        m = {"avgFps": avg, "minFps": round(avg - rng.uniform(0, 25), 2)}
        if maybe() < 0.8:
            m["jankPercentage"] = round(rng.uniform(0, 30), 2)
        return m
    if kind == "memory":
        return {"usedJSHeapSize": rng.randrange(10 * MIB, 90 * MIB)}
    if kind == "tabSync":
        m = {"latency": round(rng.uniform(1, 120), 3)}
        if maybe() < 0.9:
            m["success"] = maybe() < 0.9
        return m
    if kind == "api":
        m = {"duration": round(rng.uniform(40, 900), 3), "success": maybe() < 0.93}
        if maybe() < 0.9:
            m["cached"] = maybe() < 0.6
        return m
    assert kind == "bundle"
    m = {"loadTime": round(rng.uniform(50, 1500), 3), "cached": maybe() < 0.7}
    if maybe() < 0.9:
        m["size"] = rng.randrange(10_000, 400_000)
    return m


KINDS = ("persistence", "restoration", "navigation", "render", "scroll", "memory", "tabSync", "api", "bundle")


def generate(seed: int, per_kind: int = 60) -> list[Sample]:
    """Events of every type for every customer, most inside the window, some outside."""
    rng = random.Random(seed)
    used: set[int] = set()

    def unique_ts(low: int, high: int) -> int:
        while (ts := rng.randrange(low, high)) in used:
            pass
        used.add(ts)
        return ts

    samples: list[Sample] = []
    for kind in KINDS:
        for customer in CUSTOMERS:
            for _ in range(per_kind):
                samples.append(Sample(kind, unique_ts(START_US, END_US), customer, _metric(kind, rng)))
            for _ in range(per_kind // 4):  # before and after the window
                ts = unique_ts(START_US - 3_600_000_000, START_US) if rng.random() < 0.5 else None
                ts = ts or unique_ts(END_US, END_US + 1_800_000_000)
                samples.append(Sample(kind, ts, customer, _metric(kind, rng)))
    rng.shuffle(samples)  # stored out of time order: "current" memory must go by timestamp
    return samples


def store_samples(store: EventStore, samples: list[Sample]) -> None:
    """Through the real intake, 1000 events per body, as a widget would send them."""
    for start in range(0, len(samples), 1000):
        body = json.dumps([s.wire() for s in samples[start : start + 1000]]).encode()
        intake = read_body(body, received_us=RECEIVED_US)
        assert not intake.rejected and intake.clamped == 0
        store.append([IngestBatch.of_events(intake.accepted, RECEIVED_US)])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = EventStore.open(tmp_path / "data")
    yield opened
    opened.close()


def summarize(
    store: EventStore, customer: str | None = None, start: int = START_US, end: int = END_US
) -> dict[str, Any]:
    with store.cursor() as cur:
        return summarize_window(cur, Window(_dt(start), _dt(end), customer))


def _dt(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


# --- the expected figures, computed from the generated lists --------------------------------


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _pctl(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None  # numpy's default: linear


def _rate(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def _mb(value: float | None) -> float | None:
    return None if value is None else value / MIB


def expected_summary(samples: list[Sample], customer: str | None) -> dict[str, Any]:
    chosen = [
        s for s in samples if START_US <= s.ts_us < END_US and (customer is None or s.customer == customer)
    ]

    def of(kind: str) -> list[dict[str, Any]]:
        return [s.metric for s in chosen if s.kind == kind]

    def present(rows: list[dict[str, Any]], field: str) -> list[Any]:
        return [r[field] for r in rows if r.get(field) is not None]

    pers, rest, nav = of("persistence"), of("restoration"), of("navigation")
    rend, scroll, mem, tabs, api, bund = (
        of("render"),
        of("scroll"),
        of("memory"),
        of("tabSync"),
        of("api"),
        of("bundle"),
    )
    p_dur = present(pers, "duration")
    p_ok = sum(r["success"] for r in pers)
    render_times = present(rend, "renderTime")
    slow = sum(t > 16 for t in render_times)
    heap = present(mem, "usedJSHeapSize")
    memory_by_time = sorted((s.ts_us, s.metric["usedJSHeapSize"]) for s in chosen if s.kind == "memory")
    current = memory_by_time[-1][1] if memory_by_time else None
    average = _mean(heap)
    sizes = present(bund, "size")
    total_size = sum(sizes) if sizes else None
    tab_failures = sum(r.get("success") is False for r in tabs)
    return {
        "persistence": {
            "operations": {
                "total": len(pers),
                "successful": p_ok,
                "failed": len(pers) - p_ok,
                "successRate": _rate(p_ok, len(pers)),
            },
            "performance": {
                "avgDuration": _mean(p_dur),
                "p50Duration": _pctl(p_dur, 50),
                "p95Duration": _pctl(p_dur, 95),
                "p99Duration": _pctl(p_dur, 99),
            },
            "reliability": {
                "dataLossIncidents": sum(r.get("dataLoss", False) for r in pers)
                + sum(not r["dataPreserved"] for r in nav),
                "errorsByType": dict(
                    Counter(r.get("errorType") or "unknown" for r in pers if not r["success"])
                ),
            },
            "restoration": {
                "total": len(rest),
                "successRate": _rate(sum(r["success"] for r in rest), len(rest)),
                "avgDuration": _mean(present(rest, "duration")),
                "avgMessagesRestored": _mean(present([r for r in rest if r["success"]], "messagesRestored")),
            },
            "navigation": {
                "total": len(nav),
                "successCount": sum(r["success"] for r in nav),
                "dataPreservedCount": sum(r["dataPreserved"] for r in nav),
                "dataLossCount": sum(not r["dataPreserved"] for r in nav),
                "avgDuration": _mean(present(nav, "duration")),
            },
        },
        "performance": {
            "renders": {
                "count": len(rend),
                "avgTime": _mean(render_times),
                "p95Time": _pctl(render_times, 95),
                "slowRenders": slow,
                "slowRenderRate": _rate(slow, len(rend)),
            },
            "scroll": {
                "avgFps": _mean(present(scroll, "avgFps")),
                "minFps": min(present(scroll, "minFps"), default=None),
                "jankPercentage": _mean(present(scroll, "jankPercentage")),
            },
            "memory": {
                "current": {"bytes": current, "mb": _mb(current)},
                "peak": {"bytes": max(heap, default=None), "mb": _mb(max(heap, default=None))},
                "average": {"bytes": None if average is None else round(average), "mb": _mb(average)},
            },
            "tabSync": {
                "operations": len(tabs),
                "avgLatency": _mean(present(tabs, "latency")),
                "p95Latency": _pctl(present(tabs, "latency"), 95),
                "failures": tab_failures,
                "failureRate": _rate(tab_failures, len(tabs)),
            },
            "api": {
                "totalCalls": len(api),
                "avgDuration": _mean(present(api, "duration")),
                "p95Duration": _pctl(present(api, "duration"), 95),
                "errorRate": _rate(sum(not r["success"] for r in api), len(api)),
                "cacheHitRate": _rate(sum(r.get("cached") is True for r in api), len(api)),
            },
            "bundles": {
                "totalLoaded": len(bund),
                "totalSize": {
                    "bytes": total_size,
                    "kb": None if total_size is None else total_size / 1024,
                    "mb": _mb(total_size),
                },
                "avgLoadTime": _mean(present(bund, "loadTime")),
                "cacheHitRate": _rate(sum(r["cached"] for r in bund), len(bund)),
            },
        },
    }


def assert_figures(actual: Any, exact: Any, path: str = "") -> None:
    """`actual` holds `exact` rounded to 2 decimals, figure by figure, with the same keys.

    A float figure must equal round(exact, 2); when `exact` lies within 1e-6 of a
    rounding edge (x.xx5) either neighbour is accepted, since the last bits of a
    mean depend on the order of summation.
    """
    if isinstance(exact, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(exact), (path, set(actual) ^ set(exact))
        for key in exact:
            assert_figures(actual[key], exact[key], f"{path}.{key}")
        return
    if exact is None:
        assert actual is None, path
        return
    if isinstance(exact, int) and not isinstance(exact, bool):
        assert actual == exact and isinstance(actual, int), (path, actual, exact)
        return
    hundredths = exact * 100
    fraction = hundredths - math.floor(hundredths)
    if abs(fraction - 0.5) < 1e-6:
        assert actual in (math.floor(hundredths) / 100, math.ceil(hundredths) / 100), (path, actual, exact)
    else:
        assert actual == round(exact, 2), (path, actual, exact)


def assert_two_decimals(node: Any, path: str = "") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            assert_two_decimals(value, f"{path}.{key}")
    elif isinstance(node, float):
        assert math.isfinite(node) and round(node, 2) == node, (path, node)


# --- tests ---------------------------------------------------------------------------------


@pytest.fixture
def samples(store: EventStore) -> list[Sample]:
    generated = generate(seed=20260310)
    store_samples(store, generated)
    return generated


@pytest.mark.parametrize("customer", [None, "acme", "globex"], ids=["all", "acme", "globex"])
def test_every_figure_matches_numpy_and_statistics(
    store: EventStore, samples: list[Sample], customer: str | None
) -> None:
    summary = summarize(store, customer)
    expected = expected_summary(samples, customer)
    assert_figures({"persistence": summary["persistence"], "performance": summary["performance"]}, expected)
    assert_two_decimals(summary)
    assert summary["timeWindow"] == 600_000
    assert summary["timestamp"] == "2026-03-10T09:10:00.000Z"


def test_the_generated_data_exercises_every_figure(samples: list[Sample]) -> None:
    """Guards the test above: no figure is compared as an empty or trivial case."""
    expected = expected_summary(samples, "acme")
    assert expected["persistence"]["operations"]["failed"] > 0
    assert len(expected["persistence"]["reliability"]["errorsByType"]) == 4  # three + unknown
    assert expected["persistence"]["reliability"]["dataLossIncidents"] > 0
    assert 0 < expected["performance"]["renders"]["slowRenders"] < expected["performance"]["renders"]["count"]
    assert expected["performance"]["tabSync"]["failures"] > 0
    outside = [s for s in samples if not START_US <= s.ts_us < END_US]
    assert {s.kind for s in outside} == set(KINDS)
    assert {s.customer for s in outside} == set(CUSTOMERS)


def test_the_customer_filter_splits_the_counts(store: EventStore, samples: list[Sample]) -> None:
    totals = {c: summarize(store, c)["performance"]["renders"]["count"] for c in ("acme", "globex")}
    everyone = summarize(store)["performance"]["renders"]["count"]
    in_window = [s for s in samples if s.kind == "render" and START_US <= s.ts_us < END_US]
    assert totals == {
        "acme": sum(s.customer == "acme" for s in in_window),
        "globex": sum(s.customer == "globex" for s in in_window),
    }
    assert everyone == len(in_window) > totals["acme"] + totals["globex"]  # plus events with no customer
    assert summarize(store, "initech")["performance"]["renders"]["count"] == 0


EMPTY_FIGURES: dict[str, Any] = {
    "persistence": {
        "operations": {"total": 0, "successful": 0, "failed": 0, "successRate": None},
        "performance": {"avgDuration": None, "p50Duration": None, "p95Duration": None, "p99Duration": None},
        "reliability": {"dataLossIncidents": 0, "errorsByType": {}},
        "restoration": {"total": 0, "successRate": None, "avgDuration": None, "avgMessagesRestored": None},
        "navigation": {
            "total": 0,
            "successCount": 0,
            "dataPreservedCount": 0,
            "dataLossCount": 0,
            "avgDuration": None,
        },
    },
    "performance": {
        "renders": {"count": 0, "avgTime": None, "p95Time": None, "slowRenders": 0, "slowRenderRate": None},
        "scroll": {"avgFps": None, "minFps": None, "jankPercentage": None},
        "memory": {
            "current": {"bytes": None, "mb": None},
            "peak": {"bytes": None, "mb": None},
            "average": {"bytes": None, "mb": None},
        },
        "tabSync": {
            "operations": 0,
            "avgLatency": None,
            "p95Latency": None,
            "failures": 0,
            "failureRate": None,
        },
        "api": {
            "totalCalls": 0,
            "avgDuration": None,
            "p95Duration": None,
            "errorRate": None,
            "cacheHitRate": None,
        },
        "bundles": {
            "totalLoaded": 0,
            "totalSize": {"bytes": None, "kb": None, "mb": None},
            "avgLoadTime": None,
            "cacheHitRate": None,
        },
    },
}
NO_HEALTH = {
    "overall": None,
    "scores": {"persistence": None, "performance": None, "memory": None, "api": None},
    "status": "no_data",
}


def test_an_empty_store_has_null_figures_zero_counts_and_no_data(store: EventStore) -> None:
    summary = summarize(store)
    assert {k: summary[k] for k in EMPTY_FIGURES} == EMPTY_FIGURES
    assert summary["health"] == NO_HEALTH


def test_a_window_with_events_only_outside_it_is_empty(store: EventStore, samples: list[Sample]) -> None:
    summary = summarize(store, start=END_US + 1_800_000_000, end=END_US + 2 * 1_800_000_000)
    assert {k: summary[k] for k in EMPTY_FIGURES} == EMPTY_FIGURES
    assert summary["health"] == NO_HEALTH
    assert summarize(store, "initech")["health"] == NO_HEALTH


# --- hand-worked cases ---------------------------------------------------------------------


def _put(store: EventStore, *samples: Sample) -> None:
    store_samples(store, list(samples))


def test_the_window_is_half_open_to_the_microsecond(store: EventStore) -> None:
    _put(
        store,
        Sample("render", START_US - 1, "acme", {"renderTime": 1.0}),  # just before: out
        Sample("render", START_US, "acme", {"renderTime": 2.0}),  # at start: in
        Sample("render", END_US - 1, "acme", {"renderTime": 4.0}),  # just before end: in
        Sample("render", END_US, "acme", {"renderTime": 8.0}),  # at end: out
    )
    renders = summarize(store)["performance"]["renders"]
    assert (renders["count"], renders["avgTime"]) == (2, 3.0)
    one_us_later = summarize(store, start=START_US + 1, end=END_US + 1)["performance"]["renders"]
    assert (one_us_later["count"], one_us_later["avgTime"]) == (2, 6.0)


def test_percentiles_interpolate_between_closest_ranks(store: EventStore) -> None:
    # durations 10, 20, 30, 40: p50 = 25, p95 = 30 + 0.85 * 10 = 38.5, p99 = 30 + 0.97 * 10 = 39.7
    _put(
        store,
        *[
            Sample("persistence", START_US + i, None, {"operation": "save", "success": True, "duration": d})
            for i, d in enumerate([40.0, 10.0, 30.0, 20.0])
        ],
    )
    perf = summarize(store)["persistence"]["performance"]
    assert perf == {"avgDuration": 25.0, "p50Duration": 25.0, "p95Duration": 38.5, "p99Duration": 39.7}


def test_a_single_sample_is_every_percentile(store: EventStore) -> None:
    _put(store, Sample("api", START_US, None, {"duration": 123.456, "success": True}))
    api = summarize(store)["performance"]["api"]
    assert (api["avgDuration"], api["p95Duration"]) == (123.46, 123.46)
    assert (api["errorRate"], api["cacheHitRate"]) == (0.0, 0.0)  # data, but no errors or hits: 0, not null


def test_memory_current_is_the_latest_sample_by_timestamp_not_by_arrival(store: EventStore) -> None:
    _put(store, Sample("memory", START_US + 5_000_000, None, {"usedJSHeapSize": 30 * MIB}))
    _put(store, Sample("memory", START_US + 1_000_000, None, {"usedJSHeapSize": 70 * MIB}))  # sent later
    memory = summarize(store)["performance"]["memory"]
    assert memory["current"] == {"bytes": 30 * MIB, "mb": 30.0}
    assert memory["peak"] == {"bytes": 70 * MIB, "mb": 70.0}
    assert memory["average"] == {"bytes": 50 * MIB, "mb": 50.0}


def test_a_scroll_sample_without_min_fps_counts_its_average_towards_the_minimum(store: EventStore) -> None:
    _put(
        store,
        Sample("scroll", START_US, None, {"avgFps": 58.0, "minFps": 50.0, "jankPercentage": 2.0}),
        Sample("scroll", START_US + 1, None, {"avgFps": 44.0}),
    )
    scroll = summarize(store)["performance"]["scroll"]
    assert scroll == {"avgFps": 51.0, "minFps": 44.0, "jankPercentage": 2.0}


def test_data_loss_counts_persistence_losses_and_lost_navigations(store: EventStore) -> None:
    _put(
        store,
        Sample(
            "persistence",
            START_US,
            None,
            {"operation": "save", "success": True, "duration": 1, "dataLoss": True},
        ),
        Sample("persistence", START_US + 1, None, {"operation": "save", "success": False, "duration": 1}),
        Sample("navigation", START_US + 2, None, {"success": True, "dataPreserved": False, "duration": 5}),
        Sample("navigation", START_US + 3, None, {"success": False, "dataPreserved": True, "duration": 7}),
    )
    summary = summarize(store)
    assert summary["persistence"]["reliability"] == {"dataLossIncidents": 2, "errorsByType": {"unknown": 1}}
    assert summary["persistence"]["navigation"] == {
        "total": 2,
        "successCount": 1,
        "dataPreservedCount": 1,
        "dataLossCount": 1,
        "avgDuration": 6.0,
    }


def test_rates_round_to_two_decimals(store: EventStore) -> None:
    # 1 failure in 3 tab syncs: 33.333… % -> 33.33; 2 of 3 api calls cached -> 66.67
    _put(
        store,
        *[Sample("tabSync", START_US + i, None, {"latency": 10, "success": i != 0}) for i in range(3)],
        *[
            Sample("api", START_US + i, None, {"duration": 10, "success": True, "cached": i != 0})
            for i in range(3)
        ],
    )
    perf = summarize(store)["performance"]
    assert (perf["tabSync"]["failures"], perf["tabSync"]["failureRate"]) == (1, 33.33)
    assert perf["api"]["cacheHitRate"] == 66.67


def test_bundle_sizes_sum_in_bytes_kb_and_mb(store: EventStore) -> None:
    # the seed's own example: 458752 bytes = 448 KB = 0.44 MB
    _put(
        store,
        Sample("bundle", START_US, None, {"loadTime": 400, "size": 262_144, "cached": True}),
        Sample("bundle", START_US + 1, None, {"loadTime": 450.6, "size": 196_608, "cached": False}),
        Sample("bundle", START_US + 2, None, {"loadTime": 425.3, "cached": True}),  # size unknown
    )
    bundles = summarize(store)["performance"]["bundles"]
    assert bundles == {
        "totalLoaded": 3,
        "totalSize": {"bytes": 458_752, "kb": 448.0, "mb": 0.44},
        "avgLoadTime": 425.3,
        "cacheHitRate": 66.67,
    }


# --- properties ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    """One store for many hypothesis examples; each example writes under a customer of its own."""
    opened = EventStore.open(tmp_path_factory.mktemp("property") / "data")
    yield opened
    opened.close()


_examples = iter(range(10**9))
_durations = st.floats(min_value=0, max_value=3_600_000, allow_nan=False).map(lambda x: round(x, 3))


@settings(max_examples=30, deadline=None)
@given(times=st.lists(_durations, min_size=1, max_size=60), heap=st.lists(st.integers(0, 2**40), min_size=1))
def test_render_and_memory_figures_match_numpy_for_any_samples(
    shared_store: EventStore, times: list[float], heap: list[int]
) -> None:
    customer = f"c{next(_examples)}"
    _put(
        shared_store,
        *[Sample("render", START_US + i, customer, {"renderTime": t}) for i, t in enumerate(times)],
        *[Sample("memory", START_US + i, customer, {"usedJSHeapSize": b}) for i, b in enumerate(heap)],
    )
    performance = summarize(shared_store, customer)["performance"]
    slow = sum(t > 16 for t in times)
    assert_figures(
        performance["renders"],
        {
            "count": len(times),
            "avgTime": statistics.mean(times),
            "p95Time": float(np.percentile(times, 95)),
            "slowRenders": slow,
            "slowRenderRate": 100 * slow / len(times),
        },
    )
    assert_figures(
        performance["memory"],
        {
            "current": {"bytes": heap[-1], "mb": heap[-1] / MIB},
            "peak": {"bytes": max(heap), "mb": max(heap) / MIB},
            "average": {"bytes": round(statistics.mean(heap)), "mb": statistics.mean(heap) / MIB},
        },
    )
