"""GET /healthz: 200 once the writer runs, with its commit counters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.events import event


def test_healthz_is_ok_and_counts_committed_events(client: TestClient) -> None:
    before = client.get("/healthz")
    assert before.status_code == 200
    assert before.json() == {
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
