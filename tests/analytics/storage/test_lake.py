"""The Parquet lake: closed days move out of DuckDB into Parquet that other tools read, and every
query still sees them, as if they had never moved."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analytics.ingest.intake import read_body
from analytics.queries.dimensions import list_dimensions
from analytics.queries.summary import summarize_window
from analytics.queries.timeseries import compute_timeseries, series_query
from analytics.rollups import maintain
from analytics.storage import lake
from analytics.storage.store import EventStore, IngestBatch
from analytics.window import Window

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NOW_US = int(NOW.timestamp() * 1_000_000)
REPO = Path(__file__).resolve().parents[3]


def _post(store: EventStore, events: list[str], received_us: int = NOW_US) -> int:
    body = ("[" + ",".join(events) + "]").encode()
    accepted = read_body(body, received_us=received_us).accepted
    return store.append([IngestBatch.of_events(accepted, received_us)])[0]


def _render(stamp: str, ms: float, customer: str = "acme", event_id: str | None = None) -> str:
    extra = f',"eventId":"{event_id}"' if event_id else ""
    return (
        f'{{"type":"render","metric":{{"renderTime":{ms},"timestamp":"{stamp}",'
        f'"customerId":"{customer}"{extra}}}}}'
    )


def _api(stamp: str, ms: float, ok: bool = True) -> str:
    return (
        f'{{"type":"api","metric":{{"endpoint":"/chat","method":"POST","duration":{ms},'
        f'"status":{200 if ok else 500},"success":{"true" if ok else "false"},"timestamp":"{stamp}",'
        '"customerId":"acme"}}'
    )


def _roll_up(store: EventStore, received_us: int = NOW_US) -> None:
    """The rollups count every event received so far (only counted events may move)."""
    moment = datetime.fromtimestamp(received_us / 1e6, UTC) + timedelta(seconds=1)
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=moment, now=max(moment, NOW), max_hours=10_000)


def _move(store: EventStore, **kwargs: object) -> list[lake.LakeFile]:
    with store.cursor() as cur:
        return lake.move_closed_days(cur, store.path.parent / lake.LAKE_SUBDIR, now=NOW, **kwargs)  # type: ignore[arg-type]


def _hot(store: EventStore) -> int:
    with store.cursor() as cur:
        return int(cur.execute("SELECT count(*) FROM events").fetchone()[0])


def _all_rows(store: EventStore) -> list[tuple[object, ...]]:
    """Every event, hot or moved, as (type, ts, value), sorted: what the server reads."""
    with store.snapshot() as cur:
        source = lake.events_source(cur)
        rows = cur.execute(
            f"SELECT type, ts, coalesce(render_time, duration) FROM {source} ORDER BY ALL"
        ).fetchall()
    return rows


def _glob(data: Path) -> pl.DataFrame:
    return pl.read_parquet(data / lake.LAKE_SUBDIR / "*" / "*.parquet", hive_partitioning=True)


SEED = [
    _render("2026-03-08T00:00:00Z", 4.0),
    _render("2026-03-08T23:59:59.999Z", 6.5, "globex"),
    _api("2026-03-08T12:00:00Z", 120.0),
    _render("2026-03-09T10:00:00Z", 20.0),
    _api("2026-03-09T10:30:00Z", 300.0, ok=False),
    _render("2026-03-10T11:00:00Z", 3.0),  # today: still open, stays in DuckDB
]


def _seed_moved(data: Path) -> EventStore:
    """A store holding SEED, its closed days moved to the lake."""
    store = EventStore.open(data)
    _post(store, SEED)
    _roll_up(store)
    _move(store)
    return store


def test_closed_days_move_to_the_lake_one_file_per_day_and_type_and_today_stays(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    _post(store, SEED)
    before = _all_rows(store)
    _roll_up(store)
    moved = _move(store)
    assert [(f.day, f.type, f.rows) for f in moved] == [
        (date(2026, 3, 8), "api", 1),
        (date(2026, 3, 8), "render", 2),
        (date(2026, 3, 9), "api", 1),
        (date(2026, 3, 9), "render", 1),
    ]
    assert _hot(store) == 1  # only today's event is left in DuckDB
    assert _all_rows(store) == before  # and the server still reads every one
    published = sorted(
        str(p.relative_to(data / lake.LAKE_SUBDIR)) for p in (data / lake.LAKE_SUBDIR).glob("*/*")
    )
    assert published == [
        "day=2026-03-08/api.1.parquet",
        "day=2026-03-08/render.1.parquet",
        "day=2026-03-09/api.1.parquet",
        "day=2026-03-09/render.1.parquet",
    ]
    # another tool (polars) reads the documented glob, hive partitions and all
    frame = _glob(data).sort("ts")
    assert frame["render_time"].drop_nulls().to_list() == [4.0, 6.5, 20.0]
    assert frame["duration"].drop_nulls().to_list() == [120.0, 300.0]
    assert [str(d) for d in frame["day"].to_list()] == ["2026-03-08"] * 3 + ["2026-03-09"] * 2
    assert frame["ts"].dt.replace_time_zone(None).to_list()[2] == datetime(2026, 3, 8, 23, 59, 59, 999000)
    assert _move(store) == []  # nothing left to move
    store.close()


def test_events_the_rollups_have_not_counted_stay_in_duckdb(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    _post(store, SEED[:2])
    assert _move(store) == []  # received after the rollups' watermark: not counted yet
    assert _hot(store) == 2
    _roll_up(store)
    assert [f.rows for f in _move(store)] == [2]
    store.close()


def test_queries_over_hot_data_and_the_lake_answer_as_before_the_move(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = EventStore.open(tmp_path / "data")
    events = []
    for i in range(600):  # three days and a half: three move, today's half stays
        stamp = NOW - timedelta(hours=84) + timedelta(minutes=8 * i)
        iso = stamp.isoformat().replace("+00:00", "Z")
        events.append(_render(iso, float(rng.gamma(2.0, 40.0)), "acme" if i % 3 else "globex"))
        if i % 4 == 0:
            events.append(_api(iso, float(rng.gamma(3.0, 50.0)), ok=i % 20 != 0))
    _post(store, events)
    _roll_up(store)
    window = Window(NOW - timedelta(days=4), NOW + timedelta(hours=1))
    series = [
        series_query(
            "render.renderTime", stat="p95", bucket="1h", start=window.start, end=window.end, exact=True
        ),
        series_query("api.errorRate", bucket="1d", start=window.start, end=window.end, exact=True),
        series_query("render.renderTime", stat="p95", bucket="1d", start=window.start, end=window.end),
    ]

    def answers() -> list[object]:
        with store.snapshot() as cur:
            summary = summarize_window(cur, window, now=NOW, complete=True)
            summary.pop("timestamp", None)
            return [summary, list_dimensions(cur), *[compute_timeseries(cur, q, None) for q in series]]

    before = answers()
    moved = _move(store)
    today = sum(1 for e in events if '"2026-03-10T' in e)
    assert sum(f.rows for f in moved) == len(events) - today and _hot(store) == today > 0
    assert answers() == before
    store.close()


@pytest.mark.parametrize(
    ("spans", "types", "named"),
    [
        pytest.param(None, None, ["03-08/api", "03-08/render", "03-09/api", "03-09/render"], id="everything"),
        pytest.param([("03-09", "03-10")], None, ["03-09/api", "03-09/render"], id="one-day"),
        pytest.param([("03-08T23", "03-09T01")], ["render"], ["03-08/render", "03-09/render"], id="midnight"),
        pytest.param([("03-08", "03-09")], ["api"], ["03-08/api"], id="end-is-exclusive"),
        pytest.param(
            [("03-09", "03-09T02"), ("03-08T12", "03-09T12")],
            None,
            ["03-08/api", "03-08/render", "03-09/api", "03-09/render"],
            id="overlapping-spans-once-each",
        ),
        pytest.param([("03-06", "03-08")], None, [], id="before-the-lake"),
        pytest.param([("03-10", "03-11")], ["render"], [], id="today-is-hot"),
    ],
)
def test_a_query_names_the_lake_files_of_its_days_and_types_only(
    tmp_path: Path, spans: list[tuple[str, str]] | None, types: list[str] | None, named: list[str]
) -> None:
    store = _seed_moved(tmp_path / "data")  # 03-08 and 03-09 moved, render and api each

    def at(moment: str) -> datetime:
        return datetime.fromisoformat(f"2026-{moment}" + (":00+00:00" if "T" in moment else "T00:00+00:00"))

    with store.snapshot() as cur:
        source = lake.events_source(
            cur, types=types, spans=None if spans is None else [(at(a), at(b)) for a, b in spans]
        )
    files = [f"{p.parent.name.removeprefix('day=2026-')}/{p.name.split('.')[0]}" for p in _files_in(source)]
    assert files == named
    store.close()


def _files_in(source: str) -> list[Path]:
    return [Path(quoted) for quoted in source.split("'")[1::2]]


def test_late_events_for_a_moved_day_are_merged_into_it_and_rolled_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = _seed_moved(data)
    late_us = NOW_US + 60_000_000
    _post(store, [_render("2026-03-08T10:00:00Z", 9.0), _render("2026-03-08T10:20:00Z", 11.0)], late_us)
    assert _move(store) == []  # not counted by the rollups yet: stays in DuckDB, read from there
    assert sorted(v for t, _, v in _all_rows(store) if t == "render") == [3.0, 4.0, 6.5, 9.0, 11.0, 20.0]
    _roll_up(store, late_us)
    merged = _move(store)
    assert [(f.day, f.type, f.rows, f.generation) for f in merged] == [(date(2026, 3, 8), "render", 4, 2)]
    day8 = pl.read_parquet(lake.published_path(data / lake.LAKE_SUBDIR, date(2026, 3, 8), "render", 2))
    assert day8["render_time"].to_list() == [4.0, 9.0, 11.0, 6.5]  # merged, sorted by time
    assert _glob(data).height == 7  # one file per day and type: nothing counted twice
    assert sorted(p.name for p in (data / lake.LAKE_SUBDIR / "day=2026-03-08").iterdir()) == [
        "api.1.parquet",
        "render.2.parquet",
    ]
    # the hour 10:00 was rolled up again from the lake and the late events together
    with store.snapshot() as cur:
        rolled = compute_timeseries(
            cur,
            series_query(
                "render.renderTime",
                stat="max",
                bucket="1d",
                start=datetime(2026, 3, 7, tzinfo=UTC),
                end=datetime(2026, 3, 9, tzinfo=UTC),
                now=NOW,
            ),
            None,
        )
    assert rolled["source"] == "rollup"
    assert [(p["value"], p["events"]) for p in rolled["points"]] == [(11.0, 4)]
    # the superseded generation stays readable a while, then goes
    generations = data / "lake" / lake.GENERATIONS / "day=2026-03-08"
    assert sorted(p.name for p in generations.iterdir()) == [
        "api.1.parquet",
        "render.1.parquet",
        "render.2.parquet",
    ]
    with store.cursor() as cur:
        lake.retire_expired(cur, data / lake.LAKE_SUBDIR, NOW + lake.RETIRED_KEEP * 2)
    assert sorted(p.name for p in generations.iterdir()) == ["api.1.parquet", "render.2.parquet"]
    store.close()


def test_an_hour_with_late_events_is_read_whole_from_the_lake_and_duckdb(tmp_path: Path) -> None:
    """A long series reads an hour not yet rolled up again from raw events: the moved day's
    file for that hour's rows, the late event from DuckDB, and the day's other hours from
    the rollups, each event once."""
    store = _seed_moved(tmp_path / "data")
    _post(store, [_render("2026-03-08T00:30:00Z", 5.0)], NOW_US + 60_000_000)  # beside 4.0 at 00:00
    query = series_query(
        "render.renderTime",
        stat="min",
        bucket="1d",
        start=datetime(2026, 3, 7, tzinfo=UTC),
        end=datetime(2026, 3, 9, tzinfo=UTC),
        now=NOW,
    )
    with store.snapshot() as cur:
        mixed = compute_timeseries(cur, query, None)
    assert mixed["source"] == "rollup"
    assert [(p["value"], p["events"]) for p in mixed["points"]] == [(4.0, 3)]  # 4.0 and 6.5 moved, 5.0 late
    store.close()


def test_dimensions_count_the_lake_once_and_follow_its_changes(tmp_path: Path) -> None:
    """The lake's part of the dimensions is kept per manifest: moving days changes nothing,
    a late event merged into a moved day (a new generation) is counted, once."""
    store = EventStore.open(tmp_path / "data")
    _post(store, SEED)
    expected = {
        "events": 6,
        "firstEvent": "2026-03-08T00:00:00.000Z",
        "lastEvent": "2026-03-10T11:00:00.000Z",
        "customers": [{"id": "acme", "events": 5}, {"id": "globex", "events": 1}],
        "widgetVersions": [],
    }
    with store.snapshot() as cur:
        assert list_dimensions(cur) == expected
    _roll_up(store)
    assert len(_move(store)) == 4
    for _ in range(2):  # read from the files, then remembered
        with store.snapshot() as cur:
            assert list_dimensions(cur) == expected
    with store.snapshot() as cur:
        assert list_dimensions(cur, "globex")["customers"] == [{"id": "globex", "events": 1}]
    late_us = NOW_US + 60_000_000
    _post(store, [_render("2026-03-08T10:00:00Z", 9.0, "initech")], late_us)
    with store.snapshot() as cur:  # in DuckDB for now
        assert list_dimensions(cur)["events"] == 7
    _roll_up(store, late_us)
    assert [(f.day, f.type, f.generation) for f in _move(store)] == [(date(2026, 3, 8), "render", 2)]
    with store.snapshot() as cur:
        after = list_dimensions(cur)
    assert after["events"] == 7 and _hot(store) == 1
    assert after["customers"] == [
        {"id": "acme", "events": 5},
        {"id": "globex", "events": 1},
        {"id": "initech", "events": 1},
    ]
    store.close()


def test_an_event_id_moved_to_the_lake_is_still_a_duplicate_and_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    now_us = int(datetime.now(UTC).timestamp() * 1e6)  # within the dedupe horizon of the real clock
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT10:00:00Z")
    assert _post(store, [_render(yesterday, 5.0, event_id="tab-1:1")], now_us) == 0
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=datetime.now(UTC) + timedelta(seconds=1), now=datetime.now(UTC))
        assert [f.rows for f in lake.move_closed_days(cur, data / lake.LAKE_SUBDIR)] == [1]
    assert _hot(store) == 0
    store.recent_ids = type(store.recent_ids)(
        horizon_s=store.recent_ids.horizon_s
    )  # forget what is in memory
    store._load_recent_ids()
    assert _post(store, [_render(yesterday, 5.0, event_id="tab-1:1")], now_us + 1000) == 1
    store.close()
    store = EventStore.open(data)  # a restart reloads the ids from the lake too
    assert _post(store, [_render(yesterday, 5.0, event_id="tab-1:1")], now_us + 2000) == 1
    assert len(_all_rows(store)) == 1
    store.close()


_CRASHING_MOVE = """
import os, signal, sys
from datetime import datetime
from analytics.storage import lake
from analytics.storage.store import EventStore
data, kill_at, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = []
def step(name):
    seen.append(name)
    if name == kill_at and seen.count(name) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
store = EventStore.open(data)
with store.cursor() as cur:
    now = datetime.fromisoformat(sys.argv[4])
    lake.move_closed_days(cur, store.path.parent / lake.LAKE_SUBDIR, now=now, step=step)
"""


@pytest.mark.parametrize(
    ("kill_at", "nth"),
    [(lake.WRITTEN, 1), (lake.COMMITTED, 1), (lake.PUBLISHED, 1), (lake.WRITTEN, 3), (lake.COMMITTED, 2)],
)
def test_a_move_killed_between_any_two_steps_loses_nothing_and_doubles_nothing(
    tmp_path: Path, kill_at: str, nth: int
) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    _post(store, SEED)
    _roll_up(store)
    _move(store)  # a first generation of every day and type, so that the crash hits a merge too
    late_us = NOW_US + 60_000_000
    _post(
        store,
        [
            _render("2026-03-08T10:00:00Z", 9.0),
            _api("2026-03-08T11:00:00Z", 80.0),
            _render("2026-03-09T01:00:00Z", 2.0),
        ],
        late_us,
    )
    _roll_up(store, late_us)
    expected = _all_rows(store)
    store.close()
    killed = subprocess.run(
        [sys.executable, "-c", _CRASHING_MOVE, str(data), kill_at, str(nth), NOW.isoformat()],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    store = EventStore.open(data)  # start-up finishes or undoes what the killed move left
    assert _all_rows(store) == expected
    with store.cursor() as cur:
        in_lake = int(cur.execute("SELECT sum(rows) FROM lake_files").fetchone()[0])
    assert _glob(data).height == in_lake  # an outside reader counts what the manifest says
    assert in_lake + _hot(store) == len(expected)
    _move(store)  # and the next move finishes the job
    assert _hot(store) == 1 and _all_rows(store) == expected and _glob(data).height == len(expected) - 1
    leftovers = [p.name for p in (data / "lake").rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    store.close()


def test_an_outside_reader_sees_every_row_once_while_days_are_merged(tmp_path: Path) -> None:
    """polars globs the lake over and over while the server merges late events into its days."""
    data = tmp_path / "data"
    store = EventStore.open(data)
    _post(store, [_render(f"2026-03-0{d}T09:00:00Z", 1.0) for d in (5, 6, 7)])
    _roll_up(store)
    _move(store)
    totals = [3]  # the lake's row count after each move, as the manifest says
    seen: list[int] = []
    failed: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(_glob(data).height)
            except (pl.exceptions.ComputeError, FileNotFoundError, OSError) as exc:
                # the day was swapped between listing it and opening its files: read again
                failed.append(type(exc).__name__)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(1, 25):
            received = NOW_US + round_ * 1_000_000
            _post(store, [_render(f"2026-03-0{5 + round_ % 3}T10:{round_:02d}:00Z", 2.0)], received)
            _roll_up(store, received)
            _move(store)
            totals.append(3 + round_)
    finally:
        done.set()
        reader.join()
    assert len(seen) > 10 and len(failed) < len(seen)
    assert set(seen) <= set(totals)  # never a row twice, never one missing from a day it read
    assert seen == sorted(seen)
    store.close()


def test_a_day_and_type_emptied_by_erasure_comes_back_under_a_new_generation(tmp_path: Path) -> None:
    """Its old number is retired: were it reused, the retired file's expiry would delete live rows."""
    data = tmp_path / "data"
    store = EventStore.open(data)
    _post(store, [_render("2026-03-08T09:00:00Z", 4.0, "globex")])
    _roll_up(store)
    (moved,) = _move(store)
    with store.cursor() as cur:
        assert lake.rewrite(cur, data / lake.LAKE_SUBDIR, moved, "customer_id <> 'globex'", {}, now=NOW) == 1
    late_us = NOW_US + 60_000_000
    _post(store, [_render("2026-03-08T10:00:00Z", 7.0)], late_us)
    _roll_up(store, late_us)
    (back,) = _move(store)
    assert back.generation == 2
    with store.cursor() as cur:  # the retired generation 1 expires; generation 2 stays
        lake.retire_expired(cur, data / lake.LAKE_SUBDIR, NOW + lake.RETIRED_KEEP * 2)
    assert [v for _, _, v in _all_rows(store)] == [7.0]
    assert _glob(data)["render_time"].to_list() == [7.0]
    store.close()


def test_a_lost_database_file_leaves_the_lake_which_is_named_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = _seed_moved(data)
    moved = [row for row in _all_rows(store) if row[1].date() < NOW.date()]
    store.close()
    for name in ("widget-monitor.duckdb", "widget-monitor.duckdb.wal"):
        (data / name).unlink(missing_ok=True)
    store = EventStore.open(data)  # a new, empty database: the lake's days are read again
    assert _all_rows(store) == moved and _glob(data).height == len(moved)
    store.close()


def test_a_file_the_manifest_names_that_is_gone_fails_no_query(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    store = _seed_moved(data)
    store.close()
    lake.generation_path(data / lake.LAKE_SUBDIR, date(2026, 3, 9), "render", 1).unlink()
    store = EventStore.open(data)
    assert "2026-03-09/render (1 events)" in caplog.text  # said, and no longer read
    assert sorted(v for t, _, v in _all_rows(store) if t == "render") == [3.0, 4.0, 6.5]
    assert "render.1.parquet" not in {p.name for p in (data / lake.LAKE_SUBDIR / "day=2026-03-09").iterdir()}
    store.close()


@pytest.mark.parametrize(
    ("type_", "generation"), [("../../outside", 1), ("render/../..", 1), ("Render", 1), ("render", -1)]
)
def test_a_manifest_row_naming_no_event_type_never_becomes_a_path(
    tmp_path: Path, type_: str, generation: int
) -> None:
    """The manifest is data (a restored backup's, say): a row names a file of the lake or nothing."""
    day = date(2026, 12, 1)
    assert lake.published_path(tmp_path, day, "render", 2) == tmp_path / "day=2026-12-01" / "render.2.parquet"
    for path_of in (lake.published_path, lake.generation_path):
        with pytest.raises(ValueError, match="names no event type"):
            path_of(tmp_path, day, type_, generation)
