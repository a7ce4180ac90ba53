"""Retention in a real store and lake: old raw days go once rolled up, old rollup hours go, and
series over the dropped days still answer from the rollups, equal to what raw events said."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from analytics.figures import measure_named
from analytics.queries.timeseries import compute_timeseries, series_query
from analytics.rollups import maintain
from analytics.rollups.hourly import TABLES, read_rollup
from analytics.storage import lake, retention
from analytics.storage.retention import Retention
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import ev, put

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DAY = timedelta(days=1)
RENDER = measure_named("render.renderTime")
FIVE_DAYS = Retention(raw_days=5, rollup_days=365)
RAW_FROM = datetime(2026, 11, 15, tzinfo=UTC)  # 5 whole days before 2026-11-20


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    opened = EventStore.open(tmp_path / "data")
    yield opened  # type: ignore[misc]
    opened.close()


def lake_dir(store: EventStore) -> Path:
    return store.path.parent / lake.LAKE_SUBDIR


def fill(store: EventStore, days: int = 8) -> dict[date, int]:
    """`days` days of renders before NOW, 3 + (day % 5) events each at 10:30; the count per day."""
    per_day: dict[date, int] = {}
    for back in range(1, days + 1):
        at = (NOW - back * DAY).replace(hour=10, minute=30)
        values = np.arange(3 + back % 5, dtype=float) + back
        put(store, [ev("render", renderTime=float(v), customerId="acme") for v in values], at)
        per_day[at.date()] = values.size
    return per_day


def roll_everything(store: EventStore, now: datetime = NOW) -> None:
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=now, now=now, max_hours=10_000)


def daily_counts(store: EventStore, *, exact: bool, raw_from: datetime | None) -> tuple[str, dict[str, int]]:
    query = series_query(
        "render.renderTime",
        stat="count",
        bucket="1d",
        start=NOW.replace(hour=0) - 8 * DAY,
        end=NOW.replace(hour=0),
        exact=exact,
        raw_from=raw_from,
    )
    with store.cursor() as cur:
        answer = compute_timeseries(cur, query)
    return answer["source"], {p["t"][:10]: p["value"] for p in answer["points"]}


def raw_days_in(store: EventStore) -> list[date]:
    """The days of raw events kept, in DuckDB or moved to the lake."""
    with store.snapshot() as cur:
        source = lake.events_source(cur)
        return [
            row[0]
            for row in cur.execute(f"SELECT DISTINCT CAST(ts AS DATE) FROM {source} ORDER BY 1").fetchall()
        ]


def test_old_raw_days_leave_duckdb_and_the_lake_and_series_answer_from_the_rollups(store: EventStore) -> None:
    per_day = fill(store)
    roll_everything(store)
    with store.cursor() as cur:
        moved = lake.move_closed_days(cur, lake_dir(store), now=NOW)
    assert sum(f.rows for f in moved) == sum(per_day.values())  # every closed day moved
    before_source, before = daily_counts(store, exact=True, raw_from=None)
    assert before_source == "raw" and before == {d.isoformat(): n for d, n in per_day.items()}

    with store.cursor() as cur:
        report = retention.apply(cur, lake_dir(store), FIVE_DAYS, now=NOW)

    dropped = sorted(d for d in per_day if d < RAW_FROM.date())
    assert report.raw_events == sum(per_day[d] for d in dropped)
    assert report.lake_days == dropped and len(dropped) == 3
    assert raw_days_in(store) == sorted(d for d in per_day if d >= RAW_FROM.date())
    with store.cursor() as cur:
        in_lake = [p.day for p in lake.list_files(cur, lake_dir(store))]
        assert cur.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert in_lake == raw_days_in(store)
    assert sorted(p.name for p in lake_dir(store).iterdir()) == [f"day={d.isoformat()}" for d in in_lake]
    # the dropped days answer from the rollups, even asked for exactly: the same counts
    source, after = daily_counts(store, exact=True, raw_from=FIVE_DAYS.raw_from(NOW))
    assert (source, after) == ("rollup", before)
    # and nothing of a dropped day is left to come back
    with store.cursor() as cur:
        assert lake.move_closed_days(cur, lake_dir(store), now=NOW) == []
    assert not list((lake_dir(store).parent / lake.SNAPSHOTS).glob(f"day={dropped[0].isoformat()}"))


def test_an_old_event_not_yet_rolled_up_stays_until_it_is(store: EventStore) -> None:
    fill(store, days=7)
    roll_everything(store)
    late_at = RAW_FROM - timedelta(days=2, hours=-3)
    put(store, [ev("render", renderTime=500.0, customerId="acme")], late_at)
    with store.cursor() as cur:  # received after the rollups' watermark (NOW)
        cur.execute(
            "UPDATE events SET received_at = $at WHERE render_time = 500", {"at": NOW + timedelta(seconds=30)}
        )
        first = retention.apply(cur, lake_dir(store), FIVE_DAYS, now=NOW)
        assert cur.execute("SELECT count(*) FROM events WHERE render_time = 500").fetchone() == (1,)
    assert first.raw_events == sum(3 + back % 5 for back in range(6, 8))  # the rolled days only
    roll_everything(store, NOW + timedelta(minutes=1))  # marks its hour, rolls it up again
    with store.cursor() as cur:
        assert retention.apply(cur, lake_dir(store), FIVE_DAYS, now=NOW).raw_events == 1
        hour = late_at.replace(minute=0)
        kept = read_rollup(cur, RENDER, hour, hour + timedelta(hours=1))
    assert kept.stat("max") == 500.0 and kept.stat("count") == 1


def test_old_rollup_hours_go_from_every_level(store: EventStore) -> None:
    fill(store, days=8)
    roll_everything(store)
    short = Retention(raw_days=0, rollup_days=4)  # raw kept forever; rollups 4 days
    rollup_from = datetime(2026, 11, 16, tzinfo=UTC)
    with store.cursor() as cur:
        before = {
            t: cur.execute(f"SELECT count(*) FROM {t} WHERE hour >= $f", {"f": rollup_from}).fetchone()
            for t in TABLES
        }
        report = retention.apply(cur, lake_dir(store), short, now=NOW)
        after = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone() for t in TABLES}
        oldest = {t: cur.execute(f"SELECT min(hour) FROM {t}").fetchone()[0] for t in TABLES}
        assert cur.execute("SELECT count(*) FROM events").fetchone() == (sum(3 + b % 5 for b in range(1, 9)),)
    assert after == before and report.raw_events == 0 and report.lake_days == []
    assert all(moment >= rollup_from for moment in oldest.values())
    assert report.rollup_rows > 0


def test_zero_days_keeps_everything(store: EventStore) -> None:
    fill(store, days=3)
    roll_everything(store)
    with store.cursor() as cur:
        report = retention.apply(cur, lake_dir(store), Retention(0, 0), now=NOW + 5000 * DAY)
    assert (report.raw_events, report.lake_days, report.rollup_rows) == (0, [], 0)
    assert Retention(0, 0).to_wire(NOW) == {
        "rawDays": 0,
        "rollupDays": 0,
        "rawFrom": None,
        "rollupFrom": None,
    }
