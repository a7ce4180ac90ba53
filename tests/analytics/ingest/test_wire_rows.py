"""Stored rows as wire events and back: what `export` writes and `import` reads, for every type."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.errors import BadRequest
from analytics.ingest.intake import read_body
from analytics.ingest.wire_rows import (
    copy_statement,
    event_lines,
    event_of_row,
    export_window,
    row_of_event,
    wire_timestamp,
)
from analytics.storage.store import EventStore, IngestBatch
from analytics.storage.table import COLUMNS
from tests.support.events import COMMON, FULL_METRICS, event

RECEIVED_US = 1_780_315_200 * 1_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = EventStore.open(tmp_path / "data")
    yield opened
    opened.close()


def put(store: EventStore, events: list[dict[str, Any]]) -> None:
    intake = read_body(json.dumps(events).encode(), received_us=RECEIVED_US)
    assert not intake.rejected, intake.rejected
    store.append([IngestBatch.of_events(intake.accepted, RECEIVED_US)])


def stored_rows(store: EventStore) -> list[dict[str, Any]]:
    with store.cursor() as cur:
        return list(cur.sql("SELECT * FROM events ORDER BY ts, event_id").to_arrow_table().to_pylist())


def posted(kind: str, n: int, stamp: str) -> dict[str, Any]:
    return event(kind, **{**COMMON, "eventId": f"{kind}-{n}", "tabId": "tab-1", "seq": n, "timestamp": stamp})


def test_every_type_comes_back_from_its_row_as_it_was_posted(store: EventStore) -> None:
    # Every field of every type, plus every common one: the export gives back exactly what came in.
    sent = [posted(kind, n, f"2026-05-3{n % 2}T10:00:0{n}.250Z") for n, kind in enumerate(FULL_METRICS)]
    put(store, sent)
    exported = {e["metric"]["eventId"]: e for e in map(event_of_row, stored_rows(store))}
    assert exported == {e["metric"]["eventId"]: e for e in sent}


def test_null_columns_the_server_s_own_and_other_types_columns_are_left_out() -> None:
    row = {name: None for name in COLUMNS} | {
        "type": "render",
        "ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "received_at": datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
        "ts_clamped": True,
        "render_time": 7.0,
        "avg_fps": 60.0,  # a scroll column: not a render's field
        "customer_id": "acme",
    }
    assert event_of_row(row) == {
        "type": "render",
        "metric": {"timestamp": "2026-01-02T03:04:05.000Z", "renderTime": 7.0, "customerId": "acme"},
    }


def test_persistence_metadata_is_nested_again_and_left_out_when_empty() -> None:
    base = {"type": "persistence", "operation": "save", "success": True, "duration": 1.0, "data_loss": False}
    assert event_of_row(base | {"storage_type": "indexedDB", "message_count": 3})["metric"]["metadata"] == {
        "messageCount": 3,
        "storageType": "indexedDB",
    }
    assert "metadata" not in event_of_row(base)["metric"]


@pytest.mark.parametrize(
    ("moment", "wire"),
    [
        pytest.param(
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z", id="whole-second"
        ),
        pytest.param(datetime(2026, 1, 2, 3, 4, 5, 120_000, tzinfo=UTC), "2026-01-02T03:04:05.120Z", id="ms"),
        pytest.param(
            datetime(2026, 1, 2, 3, 4, 5, 120_001, tzinfo=UTC), "2026-01-02T03:04:05.120001Z", id="us"
        ),
        pytest.param(datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05.000Z", id="naive-is-utc"),
    ],
)
def test_timestamps_are_utc_and_keep_their_microseconds(moment: datetime, wire: str) -> None:
    assert wire_timestamp(moment) == wire


def test_a_row_of_an_unknown_type_keeps_its_type_for_the_intake_to_refuse() -> None:
    assert event_of_row({"type": "teleport", "event_id": "x", "render_time": 1.0}) == {
        "type": "teleport",
        "metric": {"eventId": "x"},
    }


@given(
    render_time=st.floats(0, 3_600_000, allow_nan=False),
    content_length=st.none() | st.integers(0, 2**31 - 1),
    has_markdown=st.none() | st.booleans(),
    event_id=st.none() | st.text(min_size=1, max_size=20),
    micros=st.integers(0, 10**6 - 1),
)
def test_row_of_event_inverts_event_of_row(
    render_time: float,
    content_length: int | None,
    has_markdown: bool | None,
    event_id: str | None,
    micros: int,
) -> None:
    row = {
        "type": "render",
        "event_id": event_id,
        "ts": datetime(2026, 1, 2, 3, 4, 5, micros, tzinfo=UTC),
        "render_time": render_time,
        "content_length": content_length,
        "has_markdown": has_markdown,
    }
    back = row_of_event(event_of_row(row))
    assert {name: back[name] for name in row} == row
    assert {name for name, value in back.items() if value is not None} == {
        name for name, value in row.items() if value is not None
    }


def test_copy_writes_the_half_open_range_of_one_customer(store: EventStore, tmp_path: Path) -> None:
    put(
        store,
        [
            posted("render", 1, "2026-05-01T00:00:00.000Z"),  # at `from`: in
            posted("render", 2, "2026-05-01T23:59:59.999Z"),
            posted("render", 3, "2026-05-02T00:00:00.000Z"),  # at `to`: out
            posted("render", 4, "2026-04-30T23:59:59.999Z"),  # before: out
            event("render", eventId="other-1", customerId="globex", timestamp="2026-05-01T12:00:00.000Z"),
        ],
    )
    window = export_window(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC), "acme")
    target = tmp_path / "out.parquet"
    with store.cursor() as cur:
        written = cur.execute(*copy_statement(window, target, "parquet")).fetchone()
    table = pq.read_table(target)
    assert written == (2,)
    assert table.column_names == list(COLUMNS)  # every column, as the lake
    assert table.column("event_id").to_pylist() == ["render-1", "render-2"]
    lines = event_lines(table.to_batches()[0]).decode().splitlines()
    assert [json.loads(line)["metric"]["timestamp"] for line in lines] == [
        "2026-05-01T00:00:00.000Z",
        "2026-05-01T23:59:59.999Z",
    ]


def test_copy_writes_csv_with_a_header(store: EventStore, tmp_path: Path) -> None:
    put(store, [posted("api", 1, "2026-05-01T00:00:00.000Z")])
    target = tmp_path / "out.csv"
    with store.cursor() as cur:
        cur.execute(*copy_statement(export_window(None, None), target, "csv"))
    header, row, *rest = target.read_text().splitlines()
    assert header.split(",") == list(COLUMNS) and not rest
    assert "/api/chat" in row.split(",")


def test_an_export_window_must_not_be_empty() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(BadRequest, match="`from` must be before `to`"):
        export_window(at, at)
    assert export_window(None, None).span.days > 365 * 99  # no bounds: every event


def test_csv_shows_text_a_spreadsheet_would_run_as_a_formula_as_text(
    store: EventStore, tmp_path: Path
) -> None:
    """Any sender's text reaches an analyst's spreadsheet: one starting like a formula gets a leading
    ' in CSV (OWASP), whose spreadsheets show it as the text it was; Parquet keeps it as sent."""
    messages = ['=HYPERLINK("http://evil.example","click")', "@SUM(1+1)", "+1", "-2", "plain = fine", "\tx"]
    put(
        store,
        [
            event(
                "persistence",
                **{**FULL_METRICS["persistence"], "errorMessage": text, "errorType": text.strip()},
                eventId=f"p-{n}",
                timestamp=f"2026-05-01T00:00:0{n}.000Z",
            )
            for n, text in enumerate(messages)
        ],
    )
    csv_path, parquet_path = tmp_path / "out.csv", tmp_path / "out.parquet"
    with store.cursor() as cur:
        cur.execute(*copy_statement(export_window(None, None), csv_path, "csv"))
        cur.execute(*copy_statement(export_window(None, None), parquet_path, "parquet"))
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))

    def shown(texts: list[str]) -> list[str]:
        return ["'" + m if m[0] in "=+-@\t" else m for m in texts]

    assert [row["error_message"] for row in rows] == shown(messages)
    assert [row["error_type"] for row in rows] == shown([m.strip() for m in messages])  # (no tab in a type)
    assert [row["event_id"] for row in rows] == [f"p-{n}" for n in range(len(messages))]  # the rest as it was
    assert pq.read_table(parquet_path).column("error_message").to_pylist() == messages
