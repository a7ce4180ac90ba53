"""Admission of ingest requests: past the backlog limit a request is refused with 503 and
Retry-After, nothing of it stored, and the requests already admitted are stored."""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from analytics.errors import Overloaded
from ingest_api.backlog import IngestBacklog
from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.events import event
from tests.support.server import LOCAL, ServerProcess

URL = "/api/monitoring/widget"


def test_the_backlog_admits_up_to_its_limit_and_takes_more_once_released() -> None:
    backlog = IngestBacklog(max_bytes=100)
    backlog.admit(60)
    backlog.admit(40)
    with pytest.raises(Overloaded, match="100 bytes of events waiting"):
        backlog.admit(1)
    assert (backlog.bytes, backlog.refused) == (100, 1)
    backlog.release(40)
    backlog.admit(1)
    assert backlog.bytes == 61


def test_a_request_is_admitted_when_nothing_waits_however_big() -> None:
    backlog = IngestBacklog(max_bytes=100)
    backlog.admit(500)
    assert backlog.bytes == 500


def test_a_request_that_finds_the_backlog_full_is_held_then_admitted_if_room_was_made() -> None:
    async def scenario() -> float:
        backlog = IngestBacklog(max_bytes=100)
        backlog.admit(100)
        started = time.monotonic()
        held = asyncio.create_task(backlog.hold_until_fits(50, hold_s=0.3))
        await asyncio.sleep(0.1)
        assert not held.done()  # its body unread: the client can send nothing more meanwhile
        backlog.release(100)  # the commit that was waiting finished
        await held
        assert backlog.refused == 0
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.3


def test_a_request_held_while_the_backlog_stays_full_is_refused() -> None:
    backlog = IngestBacklog(max_bytes=100)
    backlog.admit(100)
    started = time.monotonic()
    with pytest.raises(Overloaded, match="100 bytes of events waiting"):
        asyncio.run(backlog.hold_until_fits(1, hold_s=0.2))
    # refused once held: a client that ignores Retry-After posts once per hold, not at once again
    assert time.monotonic() - started >= 0.2 and backlog.refused == 1


def test_past_the_backlog_a_request_gets_503_with_retry_after_and_nothing_is_stored(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, summary_cache_seconds=0, decoder_processes=0, max_backlog_bytes=1)
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client, ThreadPoolExecutor(1) as sender:
        store = client.app.state.runtime.store
        store._write_lock.acquire()  # the store is busy (a slow disk, a checkpoint): commits wait
        try:
            first = sender.submit(client.post, URL, json=event("render", eventId="admitted"))
            deadline = time.monotonic() + 10
            while client.get("/healthz").json()["backlogBytes"] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            refused = client.post(URL, json=event("render", eventId="refused"))
        finally:
            store._write_lock.release()
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["error"] == "overloaded" and refused.json()["retryAfterSeconds"] == 2
        assert first.result(timeout=10).json()["stored"] == 1
        health = client.get("/healthz").json()
        assert (health["backlogBytes"], health["refusedOverloaded"]) == (0, 1)
        with store.cursor() as cur:
            assert cur.execute("SELECT event_id FROM events").fetchall() == [("admitted",)]
        # with the backlog drained, the refused event is taken when sent again
        assert client.post(URL, json=event("render", eventId="refused")).json()["stored"] == 1


def test_clients_that_declare_big_bodies_and_send_nothing_hold_no_backlog(tmp_path: Path) -> None:
    """Regression: the backlog was once taken by Content-Length before the body was read, so
    a few idle connections declaring 1 MiB each could get every widget refused."""
    env = {"WIDGET_MONITOR_MAX_BACKLOG_BYTES": str(2 * 1_048_576)}
    with ServerProcess(tmp_path / "data", env=env) as server:
        idle = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(
                f"POST {URL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: 1048576\r\n\r\n".encode()
            )
            idle.append(sock)
        try:
            time.sleep(0.3)  # the server has the three requests' headers
            assert httpx.get(server.url + "/healthz").json()["backlogBytes"] == 0
            answer = httpx.post(server.url + URL, json=event("render", eventId="widget"))
            assert answer.status_code == 200 and answer.json()["stored"] == 1
        finally:
            for sock in idle:
                sock.close()
