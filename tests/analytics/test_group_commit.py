"""GroupCommitWriter: requests that arrive together share one commit, and each is answered after it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from analytics.errors import StoreUnavailable
from analytics.group_commit import GroupCommitWriter
from analytics.intake import read_body
from analytics.store import EventStore, IngestBatch


def _batch(event_id: str) -> IngestBatch:
    body = json.dumps({"type": "render", "metric": {"renderTime": 3.0, "eventId": event_id}}).encode()
    received_us = time.time_ns() // 1000
    return IngestBatch.of_events(read_body(body, received_us=received_us).accepted, received_us)


async def _burst_then_trickle(store: EventStore, gather_ms: float) -> tuple[list[int], int]:
    """Three requests at once, then six more, one per event-loop turn (as from a busy server)."""
    writer = GroupCommitWriter(store, gather_ms=gather_ms)
    await writer.start()
    tasks = [asyncio.create_task(writer.write(_batch(f"a{n}"))) for n in range(3)]
    for n in range(6):
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(writer.write(_batch(f"b{n}"))))
    duplicates = await asyncio.gather(*tasks)
    await writer.stop()
    return list(duplicates), writer.commits


def test_requests_that_keep_arriving_while_the_writer_gathers_join_its_commit(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    duplicates, commits = asyncio.run(_burst_then_trickle(store, gather_ms=500))
    assert duplicates == [0] * 9
    assert commits == 1
    assert store.count() == 9


def test_without_gathering_the_trickle_gets_commits_of_its_own(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    duplicates, commits = asyncio.run(_burst_then_trickle(store, gather_ms=0))
    assert duplicates == [0] * 9
    assert commits >= 2
    assert store.count() == 9


async def _burst_then_silence(store: EventStore) -> tuple[float, int]:
    writer = GroupCommitWriter(store, gather_ms=5_000)
    await writer.start()
    started = time.perf_counter()
    await asyncio.gather(*(writer.write(_batch(f"c{n}")) for n in range(3)))
    waited = time.perf_counter() - started
    await writer.stop()
    return waited, writer.commits


def test_gathering_stops_as_soon_as_nobody_else_comes(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    waited, commits = asyncio.run(_burst_then_silence(store))
    assert commits == 1
    assert waited < 2.5  # far below the 5 s gathering limit


async def _burst_behind_a_busy_commit(store: EventStore, writer: GroupCommitWriter) -> list[int]:
    """While the writer commits "x", three requests queue behind it.

    The writer is held inside its first commit by the store's write lock (taken here),
    as it would be behind a slow commit under load.
    """
    await writer.start()
    store._write_lock.acquire()
    first = asyncio.create_task(writer.write(_batch("x")))
    await asyncio.sleep(0.05)  # the writer took "x" and waits for the lock
    burst = [asyncio.create_task(writer.write(_batch(f"a{n}"))) for n in range(3)]
    await asyncio.sleep(0.05)  # the three are queued
    store._write_lock.release()
    duplicates = await asyncio.gather(first, *burst)
    await writer.stop()
    return list(duplicates)


def test_a_group_stops_at_its_size_limit_and_the_rest_is_committed_next(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    writer = GroupCommitWriter(store, max_group_events=2, gather_ms=0)
    assert asyncio.run(_burst_behind_a_busy_commit(store, writer)) == [0] * 4
    assert writer.commits == 3  # "x", then a0+a1, then a2
    assert store.count() == 4


async def _write_after_stop(store: EventStore) -> None:
    writer = GroupCommitWriter(store)
    await writer.start()
    await writer.write(_batch("before"))
    await writer.stop()
    await writer.write(_batch("after"))


def test_a_write_after_stop_is_refused_not_left_waiting(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    with pytest.raises(StoreUnavailable, match="not running"):
        asyncio.run(asyncio.wait_for(_write_after_stop(store), timeout=10))
    assert store.count() == 1


async def _ticks_while_the_store_is_held(store: EventStore) -> tuple[int, list[int]]:
    """Event-loop ticks (10 ms apart) counted while another thread holds the store for 0.3 s."""
    writer = GroupCommitWriter(store, gather_ms=0)
    await writer.start()
    store._write_lock.acquire()  # as a checkpoint or a lake export would
    write = asyncio.create_task(writer.write(_batch("held")))
    ticks = 0
    started = time.monotonic()
    while time.monotonic() - started < 0.3:
        await asyncio.sleep(0.01)
        ticks += 1
    store._write_lock.release()
    duplicates = [await write]
    await writer.stop()
    return ticks, duplicates


def test_a_small_commit_behind_a_busy_store_does_not_stall_the_event_loop(data_dir: Path) -> None:
    """Small groups are committed on the event loop, but never by waiting there for the
    store: the loop keeps answering (here: ticking) and the commit follows on its thread."""
    store = EventStore.open(data_dir)
    ticks, duplicates = asyncio.run(_ticks_while_the_store_is_held(store))
    assert ticks >= 15  # ~30 if the loop ran freely; 0-1 had it blocked on the lock
    assert duplicates == [0] and store.count() == 1
