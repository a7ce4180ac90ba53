"""The time-series query against values computed independently with numpy, bucket by bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from analytics.errors import InvalidQuery
from analytics.ingest.intake import read_body
from analytics.queries.timeseries import MAX_GROUPS, compute_timeseries, series_query
from analytics.rollups import maintain
from analytics.rollups.sketch import ALPHA
from analytics.storage.store import EventStore, IngestBatch

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
HOUR = 3600.0
MIB = 1_048_576


RECEIVED = datetime(2026, 6, 1, tzinfo=UTC)


def _ingest(store: EventStore, events: list[dict[str, Any]]) -> None:
    received_us = int(RECEIVED.timestamp() * 1e6)
    for first in range(0, len(events), 1000):
        body = msgspec.json.encode(events[first : first + 1000])
        intake = read_body(body, received_us=received_us)
        assert not intake.rejected
        store.append([IngestBatch.of_events(intake.accepted, received_us)])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EventStore, dict[str, np.ndarray]]]:
    """Two days of random events; the arrays they were made from are the expected side."""
    rng = np.random.default_rng(2026)
    n = 6000
    offsets = rng.uniform(0, 48 * HOUR, n).round(3)  # seconds after T0, whole milliseconds
    versions = rng.choice(["1.0", "2.0", "3.0"], n)
    customers = rng.choice(["acme", "globex"], n)
    render = rng.lognormal(2.0, 0.5, n).round(3)
    api_ok = rng.random(n) > 0.05
    heap = rng.integers(10 * MIB, 90 * MIB, n)
    loss = rng.random(n) < 0.02
    kept = rng.random(n) > 0.03

    def ts(i: int) -> float:
        return float(round((T0.timestamp() + offsets[i]) * 1000))

    events: list[dict[str, Any]] = []
    for i in range(n):
        common = {"timestamp": ts(i), "widgetVersion": str(versions[i]), "customerId": str(customers[i])}
        events.append({"type": "render", "metric": {**common, "renderTime": float(render[i])}})
        events.append({"type": "api", "metric": {**common, "duration": 100.0, "success": bool(api_ok[i])}})
        events.append({"type": "memory", "metric": {**common, "usedJSHeapSize": int(heap[i])}})
        if i % 2 == 0:
            metric = {
                **common,
                "operation": "save",
                "success": True,
                "duration": 5.0,
                "dataLoss": bool(loss[i]),
            }
            events.append({"type": "persistence", "metric": metric})
        else:
            nav = {**common, "success": True, "dataPreserved": bool(kept[i]), "duration": 9.0}
            events.append({"type": "navigation", "metric": nav})
    store = EventStore.open(tmp_path_factory.mktemp("ts"))
    _ingest(store, events)
    truth = {
        "offsets": offsets,
        "versions": versions,
        "customers": customers,
        "render": render,
        "api_ok": api_ok,
        "heap": heap,
        "loss": loss,
        "kept": kept,
        "parity": np.arange(n) % 2,
    }
    with store.cursor() as cur:  # every hour rolled up: a 48 h range reads the rollups
        report = maintain.advance(
            cur, safe_until=RECEIVED + timedelta(seconds=1), now=T0 + timedelta(hours=49)
        )
        assert (report.rolled, report.pending) == (48, 0)
    yield store, truth
    store.close()


def _run(store: EventStore, metric: str, **kw: Any) -> dict[str, Any]:
    """Over the 48 h of the world: from the rollups, or raw events with `exact=True`."""
    query = series_query(metric, start=T0, end=T0 + timedelta(hours=48), **kw)
    with store.cursor() as cur:
        return compute_timeseries(cur, query)


def _bucket_starts(offsets: np.ndarray, width: float) -> np.ndarray:
    return np.floor(offsets / width) * width


def _t(offset: float) -> str:
    return (T0 + timedelta(seconds=float(offset))).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize(("exact", "source", "rel"), [(True, "raw", 1e-9), (False, "rollup", ALPHA)])
def test_p95_render_time_per_hour_by_widget_version_matches_numpy(
    world: Any, exact: bool, source: str, rel: float
) -> None:
    store, truth = world
    answer = _run(store, "render.renderTime", stat="p95", bucket="1h", group_by="widgetVersion", exact=exact)
    assert (answer["source"], answer["errorBound"]) == (source, None if exact else ALPHA)
    got = {(p["group"], p["t"]): (p["value"], p["events"]) for p in answer["points"]}
    buckets = _bucket_starts(truth["offsets"], HOUR)
    expected = {}
    for version in ("1.0", "2.0", "3.0"):
        for b in np.unique(buckets):
            values = truth["render"][(truth["versions"] == version) & (buckets == b)]
            if len(values):
                expected[(version, _t(b))] = (float(np.percentile(values, 95)), len(values))
    assert got.keys() == expected.keys()
    for key, (value, events) in expected.items():
        assert got[key][0] == pytest.approx(value, rel=rel)
        assert got[key][1] == events
    assert answer["groups"] == ["1.0", "2.0", "3.0"]
    assert answer["threshold"] == {"value": 16, "direction": "above", "stat": "p95", "source": "seed"}


@pytest.mark.parametrize(
    ("stat", "reduce"),
    [
        pytest.param("avg", np.mean, id="avg"),
        pytest.param("min", np.min, id="min"),
        pytest.param("max", np.max, id="max"),
        pytest.param("p50", np.median, id="p50"),
        pytest.param("p99", lambda v: np.percentile(v, 99), id="p99"),
        pytest.param("count", len, id="count"),
    ],
)
@pytest.mark.parametrize("exact", [True, False], ids=["raw", "rollup"])
def test_each_statistic_per_six_hours_matches_numpy(world: Any, stat: str, reduce: Any, exact: bool) -> None:
    """From raw events exactly; from the rollups, totals exactly and quantiles within α."""
    store, truth = world
    answer = _run(store, "render.renderTime", stat=stat, bucket="6h", exact=exact)
    buckets = _bucket_starts(truth["offsets"], 6 * HOUR)
    expected = {_t(b): float(reduce(truth["render"][buckets == b])) for b in np.unique(buckets)}
    got = {p["t"]: p["value"] for p in answer["points"]}
    quantile = stat in ("p50", "p99")
    assert got == pytest.approx(expected, rel=ALPHA if quantile and not exact else 1e-9)
    assert answer["errorBound"] == (None if exact else (ALPHA if quantile else 0.0))
    assert answer["unit"] == ("events" if stat == "count" else "ms")


def test_api_error_rate_per_15_minutes_for_one_customer(world: Any) -> None:
    store, truth = world
    answer = _run(store, "api.errorRate", bucket="15m", customer_id="globex")
    mine = truth["customers"] == "globex"
    buckets = _bucket_starts(truth["offsets"][mine], 900)
    failed = ~truth["api_ok"][mine]
    expected = {_t(b): 100.0 * failed[buckets == b].mean() for b in np.unique(buckets)}
    got = {p["t"]: p["value"] for p in answer["points"]}
    assert got == pytest.approx(expected, rel=1e-9)
    assert answer["threshold"] == {"value": 1, "direction": "above", "stat": "rate", "source": "seed"}


def test_data_loss_counts_lost_saves_and_lost_navigations_per_day(world: Any) -> None:
    store, truth = world
    answer = _run(store, "persistence.dataLoss", bucket="1d")
    day = (truth["offsets"] // 86_400).astype(int)
    lost = np.where(truth["parity"] == 0, truth["loss"], ~truth["kept"])
    expected = {_t(d * 86_400): int(lost[day == d].sum()) for d in (0, 1)}
    assert {p["t"]: p["value"] for p in answer["points"]} == expected
    assert sum(expected.values()) > 0


def test_memory_is_charted_in_mebibytes(world: Any) -> None:
    store, truth = world
    answer = _run(store, "memory.usedJSHeapSize", stat="max", bucket="1d")
    day = (truth["offsets"] // 86_400).astype(int)
    expected = {_t(d * 86_400): truth["heap"][day == d].max() / MIB for d in (0, 1)}
    assert {p["t"]: p["value"] for p in answer["points"]} == pytest.approx(expected)
    assert answer["unit"] == "MB"


def test_week_buckets_start_on_monday_midnight_utc(world: Any) -> None:
    store, truth = world
    answer = _run(store, "render.renderTime", stat="count", bucket="1w")
    assert [p["t"] for p in answer["points"]] == ["2026-03-02T00:00:00.000Z"]  # T0 is a Monday
    assert answer["points"][0]["value"] == len(truth["render"])


def test_a_window_without_events_gives_no_points_not_zeros(world: Any) -> None:
    store, _ = world
    query = series_query("render.renderTime", start=T0 - timedelta(days=3), end=T0, bucket="1h")
    with store.cursor() as cur:
        assert compute_timeseries(cur, query)["points"] == []


def test_only_the_largest_groups_are_kept(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    events = [
        {"type": "render", "metric": {"renderTime": 1.0, "widgetVersion": f"v{g}", "timestamp": 1.77e12}}
        for g in range(MAX_GROUPS + 3)
        for _ in range(g + 1)  # v0 has 1 event ... the last version the most
    ]
    _ingest(store, events)
    start = datetime.fromtimestamp(1.77e9 - 60, UTC)
    query = series_query(
        "render.renderTime",
        bucket="1h",
        start=start,
        end=start + timedelta(hours=2),
        group_by="widgetVersion",
    )
    with store.cursor() as cur:
        answer = compute_timeseries(cur, query)
    store.close()
    assert answer["omittedGroups"] == 3
    assert set(answer["groups"]) == {f"v{g}" for g in range(3, MAX_GROUPS + 3)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"metric": "render.nope"}, "unknown metric 'render.nope'; expected one of", id="metric"),
        pytest.param({"metric": "api.errorRate", "stat": "p95"}, "expected one of rate, count", id="stat"),
        pytest.param({"metric": "api.duration", "bucket": "2h"}, "unknown bucket '2h'", id="bucket"),
        pytest.param({"metric": "api.duration", "group_by": "os"}, "cannot group by 'os'", id="group"),
        pytest.param(
            {"metric": "api.duration", "start": T0, "end": T0 - timedelta(hours=1)},
            "must be before",
            id="from-after-to",
        ),
        pytest.param(
            {"metric": "api.duration", "bucket": "1m", "start": T0, "end": T0 + timedelta(days=30)},
            "over the limit of 2000; use bucket=1h",
            id="too-many-buckets",
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_message_naming_the_valid_ones(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidQuery, match=message):
        series_query(**kwargs)
