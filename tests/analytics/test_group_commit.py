"""GroupCommitWriter: requests that arrive together share one commit, and each is answered after it."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from analytics.group_commit import GroupCommitWriter
from analytics.intake import read_body
from analytics.store import EventStore, IngestBatch


def _batch(event_id: str) -> IngestBatch:
    body = json.dumps({"type": "render", "metric": {"renderTime": 3.0, "eventId": event_id}}).encode()
    received_us = time.time_ns() // 1000
    return IngestBatch(read_body(body, received_us=received_us).accepted, received_us)


async def _write_in_two_waves(store: EventStore, gather_ms: float) -> tuple[list[int], int]:
    writer = GroupCommitWriter(store, gather_ms=gather_ms)
    await writer.start()
    first = [asyncio.create_task(writer.write(_batch(f"a{n}"))) for n in range(3)]
    await asyncio.sleep(0.02)  # the second wave arrives 20 ms later
    second = [asyncio.create_task(writer.write(_batch(f"b{n}"))) for n in range(3)]
    duplicates = await asyncio.gather(*first, *second)
    await writer.stop()
    return list(duplicates), writer.commits


def test_requests_arriving_while_the_writer_gathers_join_its_commit(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    duplicates, commits = asyncio.run(_write_in_two_waves(store, gather_ms=500))
    assert duplicates == [0] * 6
    assert commits == 1
    assert store.count() == 6


def test_without_gathering_a_later_wave_gets_its_own_commit(data_dir: Path) -> None:
    store = EventStore.open(data_dir)
    duplicates, commits = asyncio.run(_write_in_two_waves(store, gather_ms=0))
    assert duplicates == [0] * 6
    assert commits == 2
    assert store.count() == 6
