"""The Parquet lake: closed days leave the DuckDB file as Parquet that other tools can read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from analytics.ingest.intake import read_body
from analytics.storage.lake import export_closed_days, list_partitions, partition_path
from analytics.storage.store import EventStore, IngestBatch

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NOW_US = int(NOW.timestamp() * 1_000_000)


def _post(store: EventStore, events: list[str], received_us: int = NOW_US) -> None:
    body = ("[" + ",".join(events) + "]").encode()
    store.append([IngestBatch.of_events(read_body(body, received_us=received_us).accepted, received_us)])


def _render(stamp: str, ms: float, customer: str = "acme") -> str:
    return (
        f'{{"type":"render","metric":{{"renderTime":{ms},"timestamp":"{stamp}","customerId":"{customer}"}}}}'
    )


def test_closed_days_are_written_as_parquet_and_today_is_not(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    lake = tmp_path / "data" / "lake" / "events"
    _post(
        store,
        [
            _render("2026-03-08T00:00:00Z", 4.0),
            _render("2026-03-08T23:59:59.999Z", 6.5, "globex"),
            _render("2026-03-09T10:00:00Z", 20.0),
            _render("2026-03-10T11:00:00Z", 3.0),  # today: still open, not exported
        ],
    )
    with store.cursor() as cur:
        written = export_closed_days(cur, lake, now=NOW)
    assert [(p.day, p.rows) for p in written] == [(date(2026, 3, 8), 2), (date(2026, 3, 9), 1)]
    assert not partition_path(lake, date(2026, 3, 10)).exists()

    # read back with another tool (polars), hive partitions and all
    frame = pl.read_parquet(lake / "*" / "*.parquet", hive_partitioning=True).sort("ts")
    assert frame["render_time"].to_list() == [4.0, 6.5, 20.0]
    assert frame["customer_id"].to_list() == ["acme", "globex", "acme"]
    assert [str(d) for d in frame["day"].to_list()] == ["2026-03-08", "2026-03-08", "2026-03-09"]
    assert frame["ts"].dt.replace_time_zone(None).to_list()[1] == datetime(2026, 3, 8, 23, 59, 59, 999000)
    store.close()


def test_a_late_event_rewrites_only_its_day_and_nothing_is_written_twice(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    lake = tmp_path / "lake"
    _post(store, [_render("2026-03-08T09:00:00Z", 4.0), _render("2026-03-09T09:00:00Z", 5.0)])
    with store.cursor() as cur:
        assert len(export_closed_days(cur, lake, now=NOW)) == 2
        assert export_closed_days(cur, lake, now=NOW) == []  # unchanged: nothing to do

    _post(store, [_render("2026-03-08T10:00:00Z", 9.0)], received_us=NOW_US + 1_000_000)
    with store.cursor() as cur:
        rewritten = export_closed_days(cur, lake, now=NOW)
        listed = list_partitions(cur, lake)
    assert [(p.day, p.rows) for p in rewritten] == [(date(2026, 3, 8), 2)]
    assert [(p.day, p.rows) for p in listed] == [(date(2026, 3, 8), 2), (date(2026, 3, 9), 1)]
    day8 = pl.read_parquet(partition_path(lake, date(2026, 3, 8)))
    assert sorted(day8["render_time"].to_list()) == [4.0, 9.0]
    # no temporary files are left behind next to the partitions
    assert sorted(p.name for p in lake.rglob("*") if p.is_file()) == ["events.parquet", "events.parquet"]
    store.close()


def test_progress_is_reported_per_day(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    _post(store, [_render(f"2026-03-0{d}T09:00:00Z", 1.0) for d in (5, 6, 7)])
    seen: list[tuple[int, int, date]] = []
    with store.cursor() as cur:
        export_closed_days(cur, tmp_path / "lake", now=NOW, progress=lambda *a: seen.append(a))
    assert seen == [(1, 3, date(2026, 3, 5)), (2, 3, date(2026, 3, 6)), (3, 3, date(2026, 3, 7))]
    store.close()
