"""GET /api/monitoring/events/export: the three formats, the half-open range, customer scope, the audit."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from analytics.storage.table import COLUMNS
from ingest_api.export_slots import MAX_EXPORTS, STALE_S
from ingest_api.main import create_app
from ingest_api.routes.events_export import EXPORTS_SUBDIR
from ingest_api.settings import Settings
from tests.support.events import event
from tests.support.server import LOCAL

EXPORT = "/api/monitoring/events/export"
WIDGET = "/api/monitoring/widget"
ADMIN_TOKEN = "export-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

# A day 10 days ago (older than an ingest key may post: the admin backfills) and the next.
DAY = (datetime.now(UTC) - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(hours: float) -> str:
    """DAY + `hours`, as the export writes a timestamp."""
    return (DAY + timedelta(hours=hours)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Three customers' events over two days, oldest first.
EVENTS: list[dict[str, Any]] = [
    event("render", eventId="a-1", customerId="acme", timestamp=at(0)),
    event("api", eventId="g-1", customerId="globex", timestamp=at(6)),
    event("persistence", eventId="a-2", customerId="acme", timestamp=at(12.5)),
    event("scroll", eventId="a-3", customerId="acme", timestamp=at(24 - 1 / 3_600_000)),  # 1 ms before
    event("bundle", eventId="a-4", customerId="acme", timestamp=at(24)),
    event("memory", eventId="i-1", customerId="initech", timestamp=at(32)),
]


@pytest.fixture
def secured(settings: Settings) -> Iterator[TestClient]:
    """A server with an admin token, holding `EVENTS` (posted by the admin: a backfill)."""
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)}))
    with TestClient(base_url=LOCAL, app=app) as client:
        answer = client.post(WIDGET, json=EVENTS, headers=ADMIN)
        assert answer.status_code == 200 and answer.json()["stored"] == len(EVENTS), answer.text
        yield client


def token(client: TestClient, role: str, customer: str | None = None) -> dict[str, str]:
    body = {"name": f"{role}-{customer}", "role": role, "customerId": customer}
    answer = client.post("/api/monitoring/tokens", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def jsonl(client: TestClient, headers: dict[str, str] = ADMIN, **params: str) -> list[dict[str, Any]]:
    answer = client.get(EXPORT, params={"format": "jsonl", **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert int(answer.headers["x-export-events"]) == len(lines)
    return lines


def test_jsonl_is_the_ingest_schema_oldest_first(secured: TestClient) -> None:
    assert jsonl(secured) == EVENTS


def test_the_range_is_half_open(secured: TestClient) -> None:
    day = jsonl(secured, **{"from": at(0), "to": at(24)})
    assert [e["metric"]["eventId"] for e in day] == ["a-1", "g-1", "a-2", "a-3"]
    later = jsonl(secured, **{"from": EVENTS[3]["metric"]["timestamp"]})
    assert [e["metric"]["eventId"] for e in later] == ["a-3", "a-4", "i-1"]


def test_parquet_and_csv_hold_every_column_of_the_table(secured: TestClient) -> None:
    parquet = secured.get(EXPORT, params={"format": "parquet", "customerId": "acme"}, headers=ADMIN)
    assert parquet.status_code == 200
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert int(parquet.headers["content-length"]) == len(parquet.content)
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column_names == list(COLUMNS)
    assert table.column("event_id").to_pylist() == ["a-1", "a-2", "a-3", "a-4"]
    assert table.column("data_size").to_pylist()[1] == 8192  # persistence's metadata.dataSize

    answer = secured.get(EXPORT, params={"format": "csv"}, headers=ADMIN)
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == list(COLUMNS)
    assert [row["event_id"] for row in rows] == [e["metric"]["eventId"] for e in EVENTS]
    assert rows[2]["error_message"] == "The quota has been exceeded."
    assert answer.headers["x-export-events"] == "6"


def test_a_scoped_token_exports_its_own_customer_only(secured: TestClient) -> None:
    acme = token(secured, "viewer", "acme")
    assert [e["metric"]["customerId"] for e in jsonl(secured, acme)] == ["acme"] * 4
    assert [e["metric"]["eventId"] for e in jsonl(secured, acme, customerId="acme")] == [
        "a-1",
        "a-2",
        "a-3",
        "a-4",
    ]
    other = secured.get(EXPORT, params={"customerId": "globex"}, headers=acme)
    assert other.status_code == 403 and "own customer" in other.json()["message"]
    # an unscoped viewer chooses
    assert [
        e["metric"]["eventId"] for e in jsonl(secured, token(secured, "viewer"), customerId="globex")
    ] == ["g-1"]
    assert secured.get(EXPORT).status_code == 401


def test_every_export_is_audited_and_leaves_no_file_behind(secured: TestClient, data_dir: Path) -> None:
    for file_format in ("parquet", "csv", "jsonl"):
        assert secured.get(EXPORT, params={"format": file_format}, headers=ADMIN).status_code == 200
    assert list((data_dir / EXPORTS_SUBDIR).iterdir()) == []
    entries = secured.get("/api/monitoring/audit", headers=ADMIN).json()["data"]
    exports = [entry for entry in entries if entry["action"] == "events.export"]
    assert [entry["detail"]["format"] for entry in exports] == ["jsonl", "csv", "parquet"]  # newest first
    assert {entry["detail"]["events"] for entry in exports} == {6}


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        pytest.param(
            {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, 400, "before", id="reversed"
        ),
        pytest.param(
            {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, 400, "before", id="empty"
        ),
        pytest.param({"format": "xlsx"}, 422, "format", id="unknown-format"),
        pytest.param({"from": "1999-12-31T00:00:00Z"}, 422, "between 2000", id="implausible"),
    ],
)
def test_refusals_say_why(client: TestClient, params: dict[str, str], status: int, says: str) -> None:
    answer = client.get(EXPORT, params=params)
    assert answer.status_code == status
    assert says in answer.json()["message"]


def test_an_empty_store_exports_an_empty_file(client: TestClient) -> None:
    assert client.get(EXPORT, params={"format": "jsonl"}).text == ""
    table = pq.read_table(io.BytesIO(client.get(EXPORT).content))
    assert table.num_rows == 0 and table.column_names == list(COLUMNS)


def test_a_few_exports_run_at_once_and_a_stalled_one_counts_no_more(secured: TestClient) -> None:
    """Each export holds a copy of its rows on disk while its client reads: beyond `MAX_EXPORTS` at
    once the next is a 429 with Retry-After, until one finishes or its client stops reading."""
    slots = secured.app.state.runtime.export_slots  # type: ignore[attr-defined]
    reading = [slots.claim() for _ in range(MAX_EXPORTS)]  # clients still reading theirs
    refused = secured.get(EXPORT, params={"format": "jsonl"}, headers=ADMIN)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "10"
    assert f"{MAX_EXPORTS} exports are running" in refused.json()["message"]
    slots.release(reading[0])  # one finished
    assert secured.get(EXPORT, params={"format": "jsonl"}, headers=ADMIN).status_code == 200
    assert (
        secured.get(EXPORT, params={"format": "csv"}, headers=ADMIN).status_code == 200
    )  # its slot given back
    claimed = slots.claim()
    assert claimed is not None and slots.claim() is None
    later = time.monotonic() + STALE_S
    slots.clock = lambda: later
    assert secured.get(EXPORT, params={"format": "parquet"}, headers=ADMIN).status_code == 200  # they stalled
