"""Keeping rollups current in a real store: closed hours rolled, late events merged, restarts safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from analytics.figures import measure_named
from analytics.rollups import maintain
from analytics.rollups.hourly import read_rollup
from analytics.rollups.sketch import ALPHA
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import ev, put

H0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)
RENDER = measure_named("render.renderTime")


def renders(values: np.ndarray, customer: str = "acme") -> list[tuple[str, dict[str, object]]]:
    return [ev("render", renderTime=float(v), customerId=customer, widgetVersion="2.0") for v in values]


def rolled(store: EventStore, start: datetime, end: datetime) -> tuple[float | None, float | None]:
    with store.cursor() as cur:
        r = read_rollup(cur, RENDER, start, end)
    return r.stat("count"), r.stat("p95")


def advance(
    store: EventStore, now: datetime, safe_until: datetime | None = None, **kw: int
) -> maintain.RollupReport:
    with store.cursor() as cur:
        return maintain.advance(cur, safe_until=safe_until or now, now=now, **kw)


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    opened = EventStore.open(tmp_path / "data")
    with opened.cursor() as cur:
        maintain.prepare(cur)
    yield opened  # type: ignore[misc]
    opened.close()


def test_closed_hours_are_rolled_up_and_the_open_one_waits(store: EventStore) -> None:
    rng = np.random.default_rng(3)
    first, second, open_ = (rng.lognormal(2.3, 0.7, n) for n in (500, 300, 40))
    put(store, renders(first), H0 + timedelta(minutes=10))
    put(store, renders(second), H0 + HOUR + timedelta(minutes=59))
    put(store, renders(open_), H0 + 2 * HOUR + timedelta(minutes=5))
    report = advance(store, now=H0 + 2 * HOUR + timedelta(minutes=6))
    assert (report.marked, report.rolled, report.pending) == (3, 2, 1)
    count, p95 = rolled(store, H0, H0 + 3 * HOUR)
    both = np.r_[first, second]
    assert count == both.size  # the open hour is not rolled up yet
    assert p95 == pytest.approx(np.quantile(both, 0.95), rel=ALPHA)
    assert advance(store, now=H0 + 3 * HOUR).rolled == 1  # it closes: rolled at the next run
    assert rolled(store, H0, H0 + 3 * HOUR)[0] == both.size + open_.size


def test_a_late_event_rewrites_its_hour_once(store: EventStore) -> None:
    put(store, renders(np.array([5.0, 6.0, 7.0])), H0 + timedelta(minutes=1))
    advance(store, now=H0 + 2 * HOUR)
    assert rolled(store, H0, H0 + HOUR)[0] == 3
    # received a day later, stamped in the first hour
    put(store, renders(np.array([90.0])), H0 + timedelta(minutes=30))  # `put` stamps ts = received_at
    with store.cursor() as cur:
        cur.execute("UPDATE events SET received_at = received_at + INTERVAL 1 DAY WHERE render_time = 90")
    report = advance(store, now=H0 + timedelta(days=1, hours=1))
    assert (report.marked, report.rolled) == (1, 1)
    assert rolled(store, H0, H0 + HOUR)[0] == 4
    assert advance(store, now=H0 + timedelta(days=1, hours=2)).rolled == 0  # nothing new: nothing read


def test_the_watermark_stops_at_safe_until_and_the_rest_is_marked_next_run(store: EventStore) -> None:
    put(store, renders(np.array([1.0])), H0 + timedelta(minutes=1))
    report = advance(store, now=H0 + 2 * HOUR, safe_until=H0 + timedelta(minutes=20))
    assert report.watermark == H0 + timedelta(minutes=20)
    # stored after that run, received before now but after the watermark (a slow request)
    put(store, renders(np.array([2.0])), H0 + timedelta(minutes=50))
    report = advance(store, now=H0 + 2 * HOUR)
    assert (report.marked, report.rolled) == (1, 1)
    assert rolled(store, H0, H0 + HOUR)[0] == 2  # each event once


def test_marks_survive_a_restart_and_history_is_rolled_up_on_upgrade(tmp_path: Path) -> None:
    """A data dir written before rollups: its tables are created at start and its history rolled
    up, `max_hours` at a time; a stop between marking and rolling loses nothing."""
    data = tmp_path / "data"
    old = EventStore.open(data)
    for h in range(3):
        put(old, renders(np.full(10 + h, 4.0 + h)), H0 + h * HOUR + timedelta(minutes=3))
    old.close()

    store = EventStore.open(data)
    with store.cursor() as cur:
        maintain.prepare(cur)
        assert maintain.watermark(cur) == maintain.EPOCH
    report = advance(store, now=H0 + 5 * HOUR, max_hours=2)
    assert (report.marked, report.rolled, report.pending) == (3, 2, 1)
    store.close()

    store = EventStore.open(data)  # restarted: the third hour is still marked
    with store.cursor() as cur:
        maintain.prepare(cur)  # idempotent: the watermark stays
        assert maintain.watermark(cur) == report.watermark
        assert maintain.pending_hours(cur) == [H0 + 2 * HOUR]
    assert advance(store, now=H0 + 5 * HOUR).rolled == 1
    assert rolled(store, H0, H0 + 3 * HOUR)[0] == 10 + 11 + 12
    store.close()
