"""Time series from the rollups where some hours are rolled, some pending, some late, the edges
partial: every event counted once, totals exact, quantiles within α, against numpy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analytics.figures import measure_named
from analytics.queries.rolled_series import dirty_hours_of
from analytics.queries.timeseries import compute_timeseries, series_query
from analytics.rollups import maintain
from analytics.rollups.hourly import read_rollup
from analytics.rollups.sketch import ALPHA
from analytics.storage.store import EventStore
from analytics.window import Window
from tests.analytics.alerts.conftest import ev, put

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
START, END = T0 + timedelta(minutes=15), T0 + timedelta(hours=30, minutes=20)  # partial edge hours


def test_mixed_sources_count_each_event_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(14)
    store = EventStore.open(tmp_path / "data")
    sent: list[tuple[float, str, float, bool]] = []  # (offset s, customer, render ms, api ok)

    def send(offsets: np.ndarray, received: datetime | None = None) -> None:
        for offset in offsets:
            customer = str(rng.choice(["acme", "globex"]))
            render, ok = float(rng.lognormal(2.2, 0.6)), bool(rng.random() > 0.1)
            at = T0 + timedelta(seconds=float(offset))
            put(
                store,
                [
                    ev("render", renderTime=render, customerId=customer),
                    ev("api", duration=5.0, success=ok, customerId=customer),
                ],
                at,
            )
            if received is not None:  # stored late: received long after its timestamp
                with store.cursor() as cur:
                    cur.execute("UPDATE events SET received_at = $r WHERE ts = $t", {"r": received, "t": at})
            sent.append((float(offset), customer, render, ok))

    send(rng.uniform(0, 31 * 3600, 700).round(3))
    with store.cursor() as cur:  # hours up to T0+20h are rolled up; later ones stay pending
        maintain.advance(cur, safe_until=T0 + timedelta(hours=32), now=T0 + timedelta(hours=20))
        assert len(maintain.pending_hours(cur)) == 11
    send(rng.uniform(3600, 5 * 3600, 40).round(3), received=T0 + timedelta(hours=33))  # late, not yet marked

    offsets = np.array([s[0] for s in sent])
    customers = np.array([s[1] for s in sent])
    render = np.array([s[2] for s in sent])
    ok = np.array([s[3] for s in sent])
    inside = (offsets >= (START - T0).total_seconds()) & (offsets < (END - T0).total_seconds())
    for bucket, width in (("1h", 3600), ("6h", 6 * 3600)):
        starts = np.floor(offsets / width) * width
        for stat in ("p95", "count", "avg"):
            got = run(store, "render.renderTime", stat, bucket)
            assert got["source"] == "rollup"
            expected = {}
            for c in ("acme", "globex"):
                for b in np.unique(starts[inside & (customers == c)]):
                    values = render[inside & (customers == c) & (starts == b)]
                    exact = {"p95": np.percentile(values, 95), "count": len(values), "avg": values.mean()}[
                        stat
                    ]
                    expected[c, stamp(b)] = (float(exact), len(values))
            points = {(p["group"], p["t"]): (p["value"], p["events"]) for p in got["points"]}
            assert points.keys() == expected.keys(), (bucket, stat)
            rel = ALPHA if stat == "p95" else 1e-9
            for key, (value, events) in expected.items():
                assert points[key][1] == events, (bucket, stat, key)
                assert points[key][0] == pytest.approx(value, rel=rel), (bucket, stat, key)
        rates = run(store, "api.errorRate", "rate", bucket)
        for p in rates["points"]:
            chosen = inside & (customers == p["group"]) & (starts == offset_of(p["t"]))
            assert p["value"] == pytest.approx(100 * (~ok[chosen]).mean(), rel=1e-9)
    store.close()


def run(store: EventStore, metric: str, stat: str, bucket: str) -> dict[str, Any]:
    query = series_query(metric, stat=stat, bucket=bucket, start=START, end=END, group_by="customerId")
    with store.cursor() as cur:
        return compute_timeseries(cur, query)


def stamp(offset: float) -> str:
    return (T0 + timedelta(seconds=float(offset))).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def offset_of(t: str) -> float:
    return (datetime.fromisoformat(t.replace("Z", "+00:00")) - T0).total_seconds()


def test_the_sql_quantile_is_the_sketchs(tmp_path: Path) -> None:
    """rolled_series reads quantiles in SQL for speed; they are `Sketch.quantile`'s, zeros included."""
    rng = np.random.default_rng(21)
    store = EventStore.open(tmp_path / "data")
    values = np.r_[rng.lognormal(1.5, 1.0, 400).round(2), np.zeros(30)]
    offsets = rng.uniform(0, 48 * 3600, values.size)
    for value, offset in zip(values, offsets, strict=True):
        put(
            store,
            [ev("render", renderTime=float(value), customerId="acme")],
            T0 + timedelta(seconds=float(offset)),
        )
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=T0 + timedelta(hours=49), now=T0 + timedelta(hours=49))
    for stat, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        query = series_query(
            "render.renderTime", stat=stat, bucket="1d", start=T0, end=T0 + timedelta(days=2)
        )
        with store.cursor() as cur:
            points = compute_timeseries(cur, query)["points"]
            for p in points:
                day = datetime.fromisoformat(p["t"].replace("Z", "+00:00"))
                sketch = read_rollup(cur, measure_named("render.renderTime"), day, day + timedelta(days=1))
                assert p["value"] == pytest.approx(sketch.stat(stat), rel=1e-12), (stat, day)
                assert sketch.sketch is not None and sketch.sketch.quantile(q) == sketch.stat(stat)
        assert len(points) == 2
    store.close()


def test_daily_buckets_read_clean_days_whole_and_the_rest_by_hour_or_raw(tmp_path: Path) -> None:
    """Days without a dirty hour come from the daily rows; a day with a late event, the partial
    edge days and the open day from hourly rows and raw events: the same answer as numpy."""
    rng = np.random.default_rng(5)
    store = EventStore.open(tmp_path / "data")
    sent: list[tuple[float, str, float]] = []
    for offset in rng.uniform(0, 5 * 86_400, 900).round(3):
        customer, render = str(rng.choice(["acme", "globex"])), float(rng.lognormal(2.0, 0.7))
        put(
            store,
            [ev("render", renderTime=render, customerId=customer)],
            T0 + timedelta(seconds=float(offset)),
        )
        sent.append((float(offset), customer, render))
    with store.cursor() as cur:  # rolled up to day 4, 06:00; the rest pending
        maintain.advance(cur, safe_until=T0 + timedelta(days=5), now=T0 + timedelta(days=4, hours=6))
    late_at = T0 + timedelta(days=1, hours=9, minutes=30)  # day 1: received after the watermark
    put(store, [ev("render", renderTime=999.0, customerId="acme")], late_at)
    with store.cursor() as cur:
        cur.execute(
            "UPDATE events SET received_at = $r WHERE render_time = 999", {"r": T0 + timedelta(days=6)}
        )
    sent.append(((late_at - T0).total_seconds(), "acme", 999.0))
    start, end = T0 + timedelta(hours=7), T0 + timedelta(days=4, hours=18)
    offsets, customers, render = (np.array([s[i] for s in sent]) for i in range(3))
    inside = (offsets >= (start - T0).total_seconds()) & (offsets < (end - T0).total_seconds())
    day_of = np.floor(offsets / 86_400) * 86_400

    def answer(group_by: str | None, stat: str) -> dict[tuple[Any, str], tuple[float, int]]:
        query = series_query(
            "render.renderTime", stat=stat, bucket="1d", start=start, end=end, group_by=group_by
        )
        with store.cursor() as cur:
            got = compute_timeseries(cur, query)
        assert got["source"] == "rollup"
        return {(p["group"], p["t"]): (p["value"], p["events"]) for p in got["points"]}

    def expected(group_by: str | None, stat: str) -> dict[tuple[Any, str], tuple[float, int]]:
        out = {}
        for c in ("acme", "globex") if group_by else (None,):
            chosen = inside & ((customers == c) if c else True)
            for d in np.unique(day_of[chosen]):
                values = render[chosen & (day_of == d)]
                exact = {"p95": np.percentile(values, 95), "count": len(values), "avg": values.mean()}[stat]
                out[c, stamp(d)] = (float(exact), len(values))
        return out

    for group_by in ("customerId", None):
        for stat in ("p95", "count", "avg"):
            got, want = answer(group_by, stat), expected(group_by, stat)
            assert got.keys() == want.keys() and len(want) == 5 * (2 if group_by else 1)
            for key, (value, events) in want.items():
                assert got[key][1] == events, (group_by, stat, key)
                assert got[key][0] == pytest.approx(value, rel=ALPHA if stat == "p95" else 1e-9), key
    # days 2 and 3 are read from the daily rows: without their hourly rows the answer stands
    before = answer(None, "p95")
    with store.cursor() as cur:
        for table in ("rollup_stats_by_version", "rollup_buckets_by_version"):
            cur.execute(
                f"DELETE FROM {table} WHERE hour >= $a AND hour < $b",
                {"a": T0 + timedelta(days=2), "b": T0 + timedelta(days=4)},
            )
    assert answer(None, "p95") == before
    store.close()


def test_dirty_hours_are_the_pending_ones_and_those_with_unmarked_events(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    for hour in range(8):  # one event an hour, all rolled up
        put(store, [ev("render", renderTime=5.0)], T0 + timedelta(hours=hour, minutes=30))
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=T0 + timedelta(hours=9), now=T0 + timedelta(hours=9))
    window = Window(T0, T0 + timedelta(hours=8))

    def late(*at: timedelta) -> None:  # received after the watermark: not marked yet
        for offset in at:
            put(store, [ev("render", renderTime=7.0)], T0 + offset)
        with store.cursor() as cur:
            cur.execute(
                "UPDATE events SET received_at = $r WHERE render_time = 7.0", {"r": T0 + timedelta(hours=10)}
            )

    with store.snapshot() as cur:
        assert dirty_hours_of(cur, window) == []
    late(timedelta(hours=2, minutes=5), timedelta(hours=2, minutes=50))  # both in one hour
    with store.snapshot() as cur:
        assert dirty_hours_of(cur, window) == [T0 + timedelta(hours=2)]
    late(timedelta(hours=5, minutes=1))  # 2:00 and 5:00, not the clean hours between
    with store.snapshot() as cur:
        assert dirty_hours_of(cur, window) == [T0 + timedelta(hours=2), T0 + timedelta(hours=5)]
    with store.cursor() as cur:  # marked pending: the watermark moves past them, not yet rolled up
        maintain.advance(cur, safe_until=T0 + timedelta(hours=11), now=T0 + timedelta(hours=1))
    with store.snapshot() as cur:
        assert maintain.pending_hours(cur) == [T0 + timedelta(hours=2), T0 + timedelta(hours=5)]
        assert dirty_hours_of(cur, window) == [T0 + timedelta(hours=2), T0 + timedelta(hours=5)]
        assert dirty_hours_of(cur, Window(T0 + timedelta(minutes=10), T0 + timedelta(hours=3))) == [
            T0 + timedelta(hours=2)
        ]  # only whole hours of the window
    store.close()
