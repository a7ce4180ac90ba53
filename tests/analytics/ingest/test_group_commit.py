"""GroupCommitWriter: requests that arrive together share one commit, and each is answered after it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from analytics.errors import StoreUnavailable
from analytics.ingest.group_commit import GroupCommitWriter
from analytics.ingest.intake import read_body
from analytics.storage.store import EventStore, IngestBatch


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
    outcome: list[tuple[int, list[int]]] = []
    runner = threading.Thread(
        target=lambda: outcome.append(asyncio.run(_ticks_while_the_store_is_held(store)))
    )
    runner.start()
    runner.join(timeout=10)
    if runner.is_alive():  # the loop blocked on the lock it was to release itself
        store._write_lock.release()
        runner.join(timeout=10)
        pytest.fail("the event loop waited for the store's lock")
    [(ticks, duplicates)] = outcome
    assert ticks >= 15  # ~30 if the loop ran freely
    assert duplicates == [0] and store.count() == 1


def _commit_threads(store: EventStore, monkeypatch: pytest.MonkeyPatch, delay_s: float = 0.0) -> list[int]:
    """Record the thread of every commit of `store` (each made to last at least `delay_s`)."""
    threads: list[int] = []
    append = store._append

    def recorded(batches: list[IngestBatch]) -> list[int]:
        threads.append(threading.get_ident())
        time.sleep(delay_s)
        return append(batches)

    monkeypatch.setattr(store, "_append", recorded)
    return threads


async def _one_group_at_a_time(writer: GroupCommitWriter, groups: list[list[IngestBatch]]) -> int:
    """Each group written at once and committed before the next; returns the loop's thread."""
    await writer.start()
    for group in groups:
        await asyncio.gather(*(writer.write(batch) for batch in group))
    await writer.stop()
    return threading.get_ident()


def test_small_groups_are_committed_on_the_event_loop_and_big_ones_on_the_writer_thread(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore.open(data_dir)
    threads = _commit_threads(store, monkeypatch)
    writer = GroupCommitWriter(store, gather_ms=0, inline_max_events=3)
    small, big = [_batch("s1"), _batch("s2")], [_batch(f"b{n}") for n in range(3)]
    loop_thread = asyncio.run(_one_group_at_a_time(writer, [small, big]))
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread
    assert store.count() == 5


def test_small_commits_go_back_to_the_thread_while_the_disk_is_slow(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits that take 30 ms (a slow fsync) would stall the event loop as long: after a
    few, the moving average is over 10 ms and small groups are committed on the thread."""
    store = EventStore.open(data_dir)
    threads = _commit_threads(store, monkeypatch, delay_s=0.03)
    writer = GroupCommitWriter(store, gather_ms=0)
    loop_thread = asyncio.run(_one_group_at_a_time(writer, [[_batch(f"e{n}")] for n in range(6)]))
    on_loop = [thread == loop_thread for thread in threads]
    # 0.2 of each >= 30 ms commit goes into the average: >= 6 ms after the first, >= 10.8 ms
    # after the second (sooner on a busy machine, where a commit takes longer still)
    assert on_loop[0] and on_loop == sorted(on_loop, reverse=True) and on_loop.count(True) <= 2
    assert store.count() == 6
