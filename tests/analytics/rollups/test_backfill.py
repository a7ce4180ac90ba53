"""A measure (or tally) registered after hours were rolled up (a newer release's, a plugin's) is rolled up
over those hours at the next start, in every table and level, exactly as rolling them up anew
would write it; the hours that already hold it are not counted twice; a failure on the way
leaves no measure half done, and the next start does the rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from analytics.figures import Measure, Tally
from analytics.figures.registry import registered
from analytics.queries.rolled_window import rolled_tally, rolled_window
from analytics.rollups import backfill, maintain
from analytics.rollups.hourly import TABLES, roll_up
from analytics.rollups.sketch import ALPHA
from analytics.storage import lake
from analytics.storage.store import EventStore
from analytics.window import Window
from tests.analytics.alerts.conftest import ev, put

DAY0 = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
LONG = Measure("render.longRate", "Long renders", "rate", ("render",), "render_time > 20", "%", "rate")
LENGTH = Measure("render.length", "Content length", "value", ("render",), "content_length", "chars", "p95")
SLOW_BY_VERSION = Tally(
    "render.slowByVersion", "Slow renders by version", ("render",), "render_time > 20", "widget_version"
)


VERSIONS: list[str] = []  # each render's widget version, in the order sent


def renders(rng: np.random.Generator, n: int, customer: str) -> tuple[list, np.ndarray, np.ndarray]:
    times = rng.lognormal(2.3, 0.7, n)
    lengths = rng.integers(0, 4000, n)  # zeros among them: the sketch's zero counter
    versions = rng.choice(["2.0", "2.1"], n)
    VERSIONS.extend(str(v) for v in versions)
    events = [
        ev("render", renderTime=float(t), contentLength=int(c), customerId=customer, widgetVersion=v)
        for t, c, v in zip(times, lengths, versions, strict=True)
    ]
    return events, times, lengths


def roll_up_all(store: EventStore, now: datetime) -> None:
    with store.cursor() as cur:
        assert maintain.advance(cur, safe_until=now, now=now, max_hours=1000).pending == 0


def rows_of(store: EventStore, names: list[str]) -> dict[str, list[tuple]]:
    """Every rollup table's rows of the measures (and of a tally's labels), in order."""
    with store.cursor() as cur:
        theirs = "list_contains($names, split_part(measure, '/', 1))"
        return {
            table: cur.execute(
                f"SELECT * FROM {table} WHERE {theirs} ORDER BY ALL", {"names": names}
            ).fetchall()
            for table in TABLES
        }


@pytest.fixture
def history(tmp_path: Path) -> Iterator[tuple[Path, np.ndarray, np.ndarray]]:
    """Two days of renders, rolled up without the two measures; the first day moved to the lake."""
    rng = np.random.default_rng(11)
    VERSIONS.clear()
    data = tmp_path / "data"
    store = EventStore.open(data)
    times, lengths = [], []
    try:
        for hour in range(0, 48, 5):
            for customer in ("acme", "globex"):
                events, t, c = renders(rng, 150, customer)
                put(store, events, DAY0 + hour * HOUR + timedelta(minutes=7))
                times.append(t)
                lengths.append(c)
        roll_up_all(store, DAY0 + 2 * 24 * HOUR)
        with store.cursor() as cur:
            moved = lake.move_closed_days(cur, data / lake.LAKE_SUBDIR, now=DAY0 + 47 * HOUR)
        assert [p.day for p in moved] == [DAY0.date()]
    finally:
        store.close()
    yield data, np.concatenate(times), np.concatenate(lengths)


def test_a_new_measure_is_rolled_up_over_the_history_at_the_next_start(
    history: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    data, times, lengths = history
    versions = np.array(VERSIONS)
    with registered(LONG, LENGTH, SLOW_BY_VERSION):
        store = EventStore.open(data)  # the next start: all three are new to the store
        try:
            window = Window(DAY0, DAY0 + 48 * HOUR)
            with store.snapshot() as cur:
                got = rolled_window(cur, [LONG, LENGTH], window)  # the daily rows of the two days
                by_version = rolled_tally(cur, SLOW_BY_VERSION, window)
                named = {row[0] for row in cur.execute("SELECT measure FROM rollup_measures").fetchall()}
            assert {LONG.name, LENGTH.name, SLOW_BY_VERSION.name} <= named
            slow = versions[times > 20]
            assert by_version == {v: int((slow == v).sum()) for v in ("2.0", "2.1")}
            assert (got[LONG.name].events, got[LONG.name].n) == (times.size, int((times > 20).sum()))
            assert got[LENGTH.name].stat("count") == lengths.size
            assert got[LENGTH.name].stat("avg") == pytest.approx(lengths.mean(), rel=1e-12)
            assert got[LENGTH.name].stat("min") == lengths.min()
            assert got[LENGTH.name].stat("max") == lengths.max()
            p95 = got[LENGTH.name].stat("p95")
            assert p95 == pytest.approx(np.quantile(lengths, 0.95), rel=ALPHA)
            names = [LONG.name, LENGTH.name, SLOW_BY_VERSION.name]
            filled = rows_of(store, names)
            # rolling the same hours up anew (as a store with all three from the start would)
            # writes the very same rows, in every table and level
            with store.cursor() as cur:
                roll_up(cur, DAY0, DAY0 + 48 * HOUR)
            assert rows_of(store, names) == filled
            assert all(filled[t] for t in TABLES if "buckets" in t or "stats" in t)
        finally:
            store.close()


def test_hours_that_hold_the_measure_already_are_not_counted_twice(
    history: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    data, times, _ = history
    rng = np.random.default_rng(12)
    later, t, _ = renders(rng, 200, "acme")
    store = EventStore.open(data)  # LONG is not registered yet: not named
    try:
        with registered(LONG):  # registered while the store runs: the next hour is rolled up with it
            put(store, later, DAY0 + 50 * HOUR + timedelta(minutes=3))
            roll_up_all(store, DAY0 + 51 * HOUR)
    finally:
        store.close()
    with registered(LONG):
        store = EventStore.open(data)  # the next start fills the two days, not that hour again
        try:
            with store.snapshot() as cur:
                got = rolled_window(cur, [LONG], Window(DAY0, DAY0 + 51 * HOUR))[LONG.name]
                hours = cur.execute(
                    "SELECT count(DISTINCT hour) FROM rollup_stats WHERE measure = $m", {"m": LONG.name}
                ).fetchone()
            assert (got.events, got.n) == (times.size + t.size, int((times > 20).sum() + (t > 20).sum()))
            assert hours == (11,)  # the ten hours of the two days, filled, and the later one
        finally:
            store.close()


def test_a_store_from_before_the_measures_were_named_fills_only_what_it_lacks(
    history: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    data, _, _ = history
    with registered(LONG, LENGTH):
        store = EventStore.open(data)
        try:
            whole = rows_of(store, [LONG.name, LENGTH.name, "render.renderTime"])
            with store.cursor() as cur:  # as a release before `rollup_measures` and LENGTH left it
                cur.execute("DROP TABLE rollup_measures")
                for table in TABLES:
                    cur.execute(f"DELETE FROM {table} WHERE measure = $m", {"m": LENGTH.name})
                # what the next start does: the measures with rows are named at once; LENGTH is
                # read (as are those of types with no events: they find none)
                filled = backfill.roll_up_new_measures(cur)
            assert LENGTH.name in filled
            assert not {LONG.name, "render.renderTime", "render.slowRenderRate"} & set(filled)
            assert rows_of(store, [LONG.name, LENGTH.name, "render.renderTime"]) == whole
        finally:
            store.close()


def test_a_failure_on_the_way_keeps_what_was_done_and_the_next_start_does_the_rest(
    history: tuple[Path, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, times, lengths = history
    fill = backfill._fill
    calls = []

    def fails_on_the_second(cur: duckdb.DuckDBPyConnection, measure: Measure) -> None:
        calls.append(measure.name)
        fill(cur, measure)  # its rows are written, then the disk goes
        if len(calls) == 2:
            raise duckdb.IOException("disk gone")

    with registered(LONG, LENGTH):
        monkeypatch.setattr(backfill, "_fill", fails_on_the_second)
        store = EventStore.open(data)  # opens anyway: its other rollups are whole
        try:
            assert calls == [LONG.name, LENGTH.name]
            assert rows_of(store, [LENGTH.name]) == {t: [] for t in TABLES}  # LENGTH's undone whole
            with store.cursor() as cur:
                named = {row[0] for row in cur.execute("SELECT measure FROM rollup_measures").fetchall()}
            assert LONG.name in named and LENGTH.name not in named
            kept = rows_of(store, [LONG.name])
        finally:
            store.close()
        monkeypatch.setattr(backfill, "_fill", fill)
        store = EventStore.open(data)  # the next start does LENGTH, and LONG not again
        try:
            with store.snapshot() as cur:
                got = rolled_window(cur, [LONG, LENGTH], Window(DAY0, DAY0 + 48 * HOUR))
            assert (got[LONG.name].events, got[LONG.name].n) == (times.size, int((times > 20).sum()))
            assert got[LENGTH.name].stat("count") == lengths.size
            assert rows_of(store, [LONG.name]) == kept
        finally:
            store.close()
