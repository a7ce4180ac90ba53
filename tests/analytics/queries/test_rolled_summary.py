"""The summary of a long window from the rollups against the exact one from raw events, on three
days of the demo dataset: one day moved to the lake, late events into it not yet rolled up, the
newest hours pending, partial hours at both edges. Every count, rate, average, min and max
is the exact one and rests on the same samples; every percentile is within α of the exact
`quantile_cont`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analytics.demo_data import STABLE_VERSION, generate_demo
from analytics.figures.figure import MIB
from analytics.figures.persistence import ERRORS_BY_TYPE
from analytics.ingest.intake import read_body
from analytics.queries.figure_sql import GLOBAL, measure_figures
from analytics.queries.rolled_window import raw_tally, rolled_tally
from analytics.queries.summary import rolled_readings, summarize_window, summary_figures
from analytics.rollups import maintain
from analytics.rollups.sketch import ALPHA
from analytics.storage import lake
from analytics.storage.store import EventStore, IngestBatch
from analytics.window import Window

END = datetime(2026, 3, 5, 9, tzinfo=UTC)
WINDOW_START = END - timedelta(days=3) + timedelta(minutes=17)
WINDOW_END = END - timedelta(minutes=5)
VERSION = STABLE_VERSION  # most of the demo's sessions


def _post(store: EventStore, events: list[dict[str, object]], received: datetime) -> None:
    received_us = int(received.timestamp() * 1_000_000)
    intake = read_body(json.dumps(events).encode(), received_us=received_us, max_events=len(events))
    assert not intake.rejected, intake.rejected[:3]
    store.append([IngestBatch.of_events(intake.accepted, received_us)])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    data = tmp_path_factory.mktemp("rolled-summary") / "data"
    store = EventStore.open(data)
    _post(store, generate_demo(end=END, days=3.0, seed=21), END)
    with store.cursor() as cur:  # rolled up until 6 hours before the end; those hours stay pending
        assert (
            maintain.advance(cur, safe_until=END, now=END - timedelta(hours=6), max_hours=1000).pending == 6
        )
        # the days before END's day move to the lake (all rolled up)
        moved = lake.move_closed_days(cur, data / lake.LAKE_SUBDIR, now=END)
    assert {p.day for p in moved} == {(END - timedelta(days=d)).date() for d in (1, 2, 3)}
    # late events into a moved day, received after the watermark: their hour is read raw
    late = generate_demo(end=END - timedelta(days=1, hours=20), days=0.02, seed=22)
    _post(store, late, END + timedelta(minutes=1))
    yield store
    store.close()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(WINDOW_START, WINDOW_END, id="partial-hours-late-and-pending"),
        # whole hours, all rolled up, none with late events: nothing is read raw
        pytest.param(END - timedelta(hours=36), END - timedelta(hours=8), id="whole-hours"),
    ],
)
@pytest.mark.parametrize(
    ("customer", "version"), [(None, None), ("acme", None), (None, VERSION), ("acme", VERSION)]
)
def test_every_figure_from_the_rollups_is_the_exact_one_within_alpha(
    store: EventStore, customer: str | None, version: str | None, start: datetime, end: datetime
) -> None:
    window = Window(start, end, customer, version)
    chosen = summary_figures()
    with store.snapshot() as cur:
        exact = measure_figures(cur, chosen, window.where, window.params())[GLOBAL]
        rolled = rolled_readings(cur, chosen, window)
        errors = (rolled_tally(cur, ERRORS_BY_TYPE, window), raw_tally(cur, ERRORS_BY_TYPE, window))
    assert errors[0] == errors[1] and sum(errors[0].values()) > 0  # errorsByType, exactly
    from_rollups = [f for f in chosen if f.rollup_reading is not None]
    # all but the latest memory sample (read raw from the newest hour that holds one)
    assert [f.name for f in chosen if f not in from_rollups] == ["memory.usage"]
    checked = 0
    for figure in chosen:
        want, got = exact[figure.name], rolled[figure.name]
        assert got.samples == want.samples, figure.name
        if want.value is None:
            assert got.value is None, figure.name
            continue
        assert got.value is not None, figure.name
        if figure.quantile is not None:
            assert abs(got.value - want.value) <= ALPHA * abs(want.value) + 1e-9, figure.name
        else:
            assert got.value == pytest.approx(want.value, rel=1e-9, abs=1e-9), figure.name
        checked += 1
    assert checked >= 40  # the demo has data for nearly every figure


def test_a_summary_from_the_rollups_says_so_and_its_bound(store: EventStore) -> None:
    window = Window(WINDOW_START, WINDOW_END)
    with store.snapshot() as cur:
        rolled = summarize_window(cur, window, source="rollup")
        exact = summarize_window(cur, window)
    assert (rolled["source"], rolled["errorBound"]) == ("rollup", ALPHA)
    assert (exact["source"], exact["errorBound"]) == ("raw", None)
    assert rolled["persistence"]["operations"] == exact["persistence"]["operations"]
    assert rolled["persistence"]["reliability"] == exact["persistence"]["reliability"]
    assert rolled["performance"]["api"]["totalCalls"] == exact["performance"]["api"]["totalCalls"]


def test_the_latest_memory_sample_is_the_newest_even_hours_after_the_last_one(tmp_path: Path) -> None:
    # acme's samples at -30 h, -20 h and -9 h 10 min (the newest, 41 MiB: the answer); renders
    # every hour; globex's sample at -2 h is newer but of another customer; hours from -6 h on
    # are pending (raw). From the rollups, raw memory events are read from -10 h (the newest
    # hour acme's rollups hold a sample in) on, not over the 2 days.
    store = EventStore.open(tmp_path / "data")
    try:

        def at(hours: float) -> float:
            return (END - timedelta(hours=hours)).timestamp() * 1000

        def memory(hours: float, mb: int, customer: str) -> dict[str, object]:
            metric = {"usedJSHeapSize": mb * MIB, "totalJSHeapSize": 64 * MIB, "jsHeapSizeLimit": 4096 * MIB}
            return {"type": "memory", "metric": {**metric, "timestamp": at(hours), "customerId": customer}}

        renders = [
            {"type": "render", "metric": {"renderTime": 5.0, "timestamp": at(h + 0.5), "customerId": "acme"}}
            for h in range(48)
        ]
        samples = [memory(30, 20, "acme"), memory(20, 30, "acme"), memory(9 + 1 / 6, 41, "acme")]
        _post(store, [*renders, *samples, memory(2, 90, "globex")], END)
        with store.cursor() as cur:
            maintain.advance(cur, safe_until=END, now=END - timedelta(hours=6), max_hours=1000)
        window = Window(END - timedelta(hours=47, minutes=30), END, "acme")
        figure = next(f for f in summary_figures() if f.name == "memory.usage")
        with store.snapshot() as cur:
            exact = measure_figures(cur, [figure], window.where, window.params())[GLOBAL][figure.name]
            rolled = rolled_readings(cur, [figure], window)[figure.name]
            everyone = rolled_readings(cur, [figure], Window(window.start, window.end))[figure.name]
        assert (exact.value, exact.samples) == (41.0, 3)
        assert (rolled.value, rolled.samples) == (41.0, 3)
        assert (everyone.value, everyone.samples) == (90.0, 4)  # globex's, every customer's count
    finally:
        store.close()
