"""EventStore.append: one commit per group, eventId dedupe on its fast and its slow path."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

import analytics.storage.store as store_module
from analytics.ingest.dedupe import RecentEventIds
from analytics.ingest.intake import read_body
from analytics.storage.store import EventStore, IngestBatch

RECEIVED_US = time.time_ns() // 1000  # now: ids are reloaded for the last day only


def _batch(*event_ids: str | None, render_time: float = 5.0, customer: str | None = None) -> IngestBatch:
    events = [
        {
            "type": "render",
            "metric": {
                "renderTime": render_time,
                **({"eventId": i} if i else {}),
                **({"customerId": customer} if customer else {}),
            },
        }
        for i in event_ids
    ]
    return IngestBatch.of_events(
        read_body(json.dumps(events).encode(), received_us=RECEIVED_US).accepted, RECEIVED_US
    )


def _stored(store: EventStore) -> list[tuple[str | None, float]]:
    with store.cursor() as cur:
        rows = cur.execute(
            "SELECT event_id, render_time FROM events ORDER BY event_id, render_time"
        ).fetchall()
    return [(event_id, render_time) for event_id, render_time in rows]


def test_distinct_ids_are_all_stored(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    assert store.append([_batch("a", "b"), _batch("c")]) == [0, 0]
    assert _stored(store) == [("a", 5.0), ("b", 5.0), ("c", 5.0)]


def test_an_id_repeated_within_one_commit_is_stored_once(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    duplicates = store.append([_batch("a", "b", "a"), _batch("b", "c", render_time=9.0)])
    assert duplicates == [1, 1]
    assert _stored(store) == [("a", 5.0), ("b", 5.0), ("c", 9.0)]


def test_a_retry_after_the_commit_is_a_duplicate(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    store.append([_batch("a", "b")])
    assert store.append([_batch("b", "c", render_time=9.0)]) == [1]
    assert _stored(store) == [("a", 5.0), ("b", 5.0), ("c", 9.0)]
    store.close()
    reopened = EventStore.open(data_dir)  # the ids are reloaded from the file
    assert reopened.append([_batch("a", "d")]) == [1]
    assert _stored(reopened) == [("a", 5.0), ("b", 5.0), ("c", 9.0), ("d", 5.0)]


def test_ids_reloaded_as_hashes_are_confirmed_in_the_file_so_a_collision_loses_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore.open(data_dir)
    store.append([_batch("a", "b")])
    store.close()
    # every id hashes alike: each new id is a candidate, and only the file can tell
    monkeypatch.setattr(store_module, "RecentEventIds", partial(RecentEventIds, hash_key=lambda key: 7))
    reopened = EventStore.open(data_dir)
    assert len(reopened.recent_ids) == 2 and reopened.recent_ids.nbytes > 0  # reloaded as hashes
    assert reopened.append([_batch("c", "b", "d", render_time=9.0)]) == [1]
    assert _stored(reopened) == [("a", 5.0), ("b", 5.0), ("c", 9.0), ("d", 9.0)]


@pytest.mark.parametrize("rows", [1, 500], ids=["events", "prebuilt-columns"])  # PREBUILD_MIN_EVENTS
def test_an_id_is_a_duplicate_within_its_customer_only(data_dir: Path, rows: int) -> None:
    """One customer's eventIds neither suppress another's events nor tell whether it holds them
    (ingest keys are public); also once the ids are reloaded, hashed, from the file."""
    store = EventStore.open(data_dir)
    first = [f"id-{n}" for n in range(rows)]
    assert store.append([_batch(*first, customer="acme")]) == [0]
    assert store.append([_batch(*first, customer="globex", render_time=9.0)]) == [0]
    assert store.append([_batch(*first[:1], render_time=7.0)]) == [0]  # no customer: a scope of its own
    assert store.append([_batch(*first, customer="acme", render_time=8.0)]) == [rows]
    store.close()
    reopened = EventStore.open(data_dir)
    assert reopened.append([_batch(*first, customer="globex", render_time=6.0)]) == [rows]
    assert reopened.append([_batch(*first[:1])]) == [1]
    assert reopened.append([_batch("id-new", customer="acme"), _batch("id-new", customer="globex")]) == [0, 0]
    with reopened.cursor() as cur:
        counts = cur.execute(
            "SELECT customer_id, render_time, count(*) FROM events GROUP BY ALL ORDER BY ALL NULLS FIRST"
        ).fetchall()
    assert counts == [(None, 7.0, 1), ("acme", 5.0, rows + 1), ("globex", 5.0, 1), ("globex", 9.0, rows)]


def test_events_without_an_id_are_never_deduplicated(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    assert store.append([_batch(None, None), _batch(None, "a")]) == [0, 0]
    assert store.append([_batch(None, "a")]) == [1]
    assert _stored(store) == [("a", 5.0)] + [(None, 5.0)] * 4


def _mixed(*event_ids: str) -> IngestBatch:
    """Render and memory events alternately: the columns are built type by type, so the
    table's rows are not in the order the events were sent."""
    events = [
        {"type": "render", "metric": {"renderTime": float(n), "eventId": i}}
        if n % 2 == 0
        else {"type": "memory", "metric": {"usedJSHeapSize": n, "eventId": i}}
        for n, i in enumerate(event_ids)
    ]
    accepted = read_body(json.dumps(events).encode(), received_us=RECEIVED_US).accepted
    return IngestBatch.of_events(accepted, RECEIVED_US)


def _stored_mixed(store: EventStore) -> dict[str, tuple[float | None, int | None]]:
    with store.cursor() as cur:
        rows = cur.execute("SELECT event_id, render_time, used_js_heap_size FROM events").fetchall()
    return {event_id: (render_time, heap) for event_id, render_time, heap in rows}


def _expected_mixed(event_ids: list[str]) -> dict[str, tuple[float | None, int | None]]:
    return {i: ((float(n), None) if n % 2 == 0 else (None, n)) for n, i in enumerate(event_ids)}


def test_big_batches_bring_their_own_columns_and_are_stored_the_same(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    big_ids = [f"big-{n:03d}" for n in range(150)]
    big, small = _mixed(*big_ids), _mixed("s-1", "s-2")
    assert big.table is not None and big.table.num_rows == 150
    assert small.table is None
    assert store.append([small, big]) == [0, 0]
    assert _stored_mixed(store) == _expected_mixed(big_ids) | _expected_mixed(["s-1", "s-2"])


def test_a_retried_big_batch_stores_exactly_its_new_events_with_their_own_values(data_dir: Path) -> None:
    """Regression: the dedupe of prebuilt columns must drop the rows of the repeated ids,
    though the table's rows are grouped by type rather than in the order sent."""
    store = EventStore.open(data_dir)
    first_ids = [f"e-{n:03d}" for n in range(0, 300, 2)]  # every other id of the retry
    retry_ids = [f"e-{n:03d}" for n in range(300)]
    store.append([_mixed(*first_ids)])
    assert store.append([_mixed(*retry_ids)]) == [150]
    expected = _expected_mixed(first_ids) | {
        i: v for i, v in _expected_mixed(retry_ids).items() if i not in set(first_ids)
    }
    assert _stored_mixed(store) == expected
    assert store.count() == 300


def test_a_commit_of_nothing_but_duplicates_writes_nothing_and_the_next_commit_works(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    store.append([_batch("a", "b")])
    assert store.append([_batch("a"), _batch("b", "a")]) == [1, 2]
    assert store.append([_batch("c")]) == [0]
    assert _stored(store) == [("a", 5.0), ("b", 5.0), ("c", 5.0)]


def test_a_commit_of_one_type_leaves_every_other_column_null(data_dir: Path) -> None:
    """A commit of render events only hands DuckDB its non-empty columns; the others must
    still be there, as NULL, and the required ones filled."""
    store = EventStore.open(data_dir)
    store.append([_batch("a", render_time=7.5)])
    with store.cursor() as cur:
        result = cur.execute("SELECT * FROM events")
        row = dict(zip([d[0] for d in result.description], result.fetchone() or (), strict=True))
    filled = {name for name, value in row.items() if value is not None}
    assert filled == {"event_id", "type", "ts", "received_at", "ts_clamped", "render_time"}
    assert (row["event_id"], row["type"], row["render_time"], row["ts_clamped"]) == (
        "a",
        "render",
        7.5,
        False,
    )
    assert (row["received_at"] - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) == RECEIVED_US


def test_append_now_declines_while_another_thread_holds_the_store(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    store._write_lock.acquire()
    try:
        assert store.append_now([_batch("a")]) is None
    finally:
        store._write_lock.release()
    assert store.append_now([_batch("a")]) == [0]
    assert _stored(store) == [("a", 5.0)]


def test_append_now_declines_a_commit_that_may_checkpoint(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that brings the WAL to the checkpoint threshold compresses it into the file
    (hundreds of ms at 64 MB): not for the event loop. Here the threshold sits just above
    the margin, so any WAL at all is too close."""
    store = EventStore.open(data_dir)
    monkeypatch.setattr(store_module, "CHECKPOINT_BYTES", store_module._CHECKPOINT_MARGIN + 1)
    store.checkpoint()  # the CREATE TABLE's WAL folded into the file: an empty WAL
    assert store.append_now([_batch("a")]) == [0]
    assert store.append_now([_batch("b")]) is None  # the first commit wrote one
    assert store.append([_batch("b")]) == [0]
    store.checkpoint()  # the WAL is folded into the file and emptied
    assert store.append_now([_batch("c")]) == [0]
    assert _stored(store) == [("a", 5.0), ("b", 5.0), ("c", 5.0)]


def test_a_closed_store_keeps_its_last_commits_in_the_wal_not_in_a_small_row_group(data_dir: Path) -> None:
    """Checkpointing them at close would write a small last row group, which the first
    checkpoint after the next open merges with the ones before it (rewriting those too)."""
    store = EventStore.open(data_dir)
    store.append([_batch(*(f"early-{n}" for n in range(k, k + 1000))) for k in (0, 1000)])
    store.checkpoint()
    store.append([_batch(*(f"late-{n}" for n in range(300)))])
    store.close()
    assert (data_dir / "widget-monitor.duckdb.wal").stat().st_size > 0
    reopened = EventStore.open(data_dir)
    try:
        with reopened.cursor() as cur:
            groups = cur.execute(
                "SELECT row_group_id, sum(count), bool_and(persistent) FROM pragma_storage_info('events') "
                "WHERE column_name = 'event_id' AND segment_type = 'VARCHAR' GROUP BY 1 ORDER BY 1"
            ).fetchall()
        # the checkpointed rows in the file; the last commit replayed from the WAL, in memory
        assert [(count, persistent) for _, count, persistent in groups] == [(2000, True), (300, False)]
        assert len(_stored(reopened)) == 2300
        assert reopened.append([_batch("late-0", "new")]) == [1]  # its ids reloaded too
    finally:
        reopened.close()
