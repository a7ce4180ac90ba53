"""GET /healthz: 200 once the writer runs, with its commit counters."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.support.events import event


def test_healthz_is_ok_and_counts_committed_events(client: TestClient) -> None:
    before = client.get("/healthz")
    assert before.status_code == 200
    memory = before.json().pop("memory")
    kept = before.json()["retention"]
    today = datetime.now(UTC).date()
    assert kept == {
        "rawDays": 90,
        "rollupDays": 730,
        "rawFrom": f"{today - timedelta(days=90)}T00:00:00+00:00",
        "rollupFrom": f"{today - timedelta(days=730)}T00:00:00+00:00",
    }
    assert memory["decoderResidentBytes"] == []  # the test client runs no decoder process
    assert memory["totalResidentBytes"] == memory["serverResidentBytes"] > 20_000_000
    held = {name: memory["duckdb"].pop(name) for name in ("usedBytes", "spilledBytes")}
    assert memory["duckdb"] == {"memoryLimit": "256MB", "threads": max(1, min(4, os.cpu_count() or 1))}
    assert 0 <= held["usedBytes"] <= 256 * 2**20 and held["spilledBytes"] == 0
    assert (memory["dedupeIds"], memory["dedupeBytes"]) == (0, 0)
    rollups = before.json()["rollups"]  # the run at start, before the server answered
    assert rollups | {"watermark": None} == {
        "watermark": None,
        "hoursRolledUp": 0,
        "hoursPending": 0,
        "failedRuns": 0,
    }
    assert before.json() | {"memory": memory} == {"memory": memory, "retention": kept, "rollups": rollups} | {
        "status": "ok",
        "commits": 0,
        "eventsCommitted": 0,
        "decoderProcesses": [],
        "backlogBytes": 0,
        "refusedOverloaded": 0,
    }
    client.post("/api/monitoring/widget", json=[event("render", eventId=f"h{i}") for i in range(3)])
    client.post("/api/monitoring/widget", json=event("render", eventId="h0"))  # a duplicate: not counted
    after = client.get("/healthz").json()
    assert after["commits"] == 2
    assert after["eventsCommitted"] == 3
    assert after["memory"]["dedupeIds"] == 3


def test_a_store_failure_under_a_read_is_a_503_without_internals(client: TestClient) -> None:
    # As when a full disk invalidates the DuckDB database: reads answer 503, never 500.
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.store.cursor() as cur:
        cur.execute("DROP TABLE events")  # every read of the events now fails inside DuckDB
    answer = client.get("/api/monitoring/widget/dimensions")
    assert answer.status_code == 503
    assert answer.json() == {"error": "store_unavailable", "message": "the store cannot answer right now"}
    assert answer.headers["retry-after"] == "5"
