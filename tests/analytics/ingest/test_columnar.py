"""The store's column builder: every wire field lands in its own column, and nothing else is set;
the columns' Arrow buffers, packed without pyarrow, hold what pyarrow itself would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest.columnar import ARROW_SCHEMA, to_arrow
from analytics.ingest.event_columns import PACKING, EventColumns, event_columns, pack
from analytics.ingest.intake import AcceptedEvent, read_body
from analytics.storage.table import COLUMNS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RECEIVED_US = 1_764_000_000_000_000  # 2025-11-24T16:00:00Z
TS_MS = 1_764_000_000_000 - 5_000  # five seconds before it, as epoch ms

COMMON = {"sessionId": "s-1", "customerId": "acme", "widgetVersion": "2.14.0", "tabId": "t-9", "seq": 7}
COMMON_COLUMNS = {
    "session_id": "s-1",
    "customer_id": "acme",
    "widget_version": "2.14.0",
    "tab_id": "t-9",
    "seq": 7,
}

# wire metric -> the columns it must fill (by hand, from the seed's field list)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "persistence": (
        {
            "operation": "save",
            "success": False,
            "duration": 42.5,
            "conversationId": "c-1",
            "errorType": "QuotaExceededError",
            "errorMessage": "quota",
            "dataLoss": True,
            "metadata": {"messageCount": 10, "storageType": "localStorage", "dataSize": 8192},
        },
        {
            "operation": "save",
            "success": False,
            "duration": 42.5,
            "conversation_id": "c-1",
            "error_type": "QuotaExceededError",
            "error_message": "quota",
            "data_loss": True,
            "message_count": 10,
            "storage_type": "localStorage",
            "data_size": 8192,
        },
    ),
    "restoration": (
        {"success": True, "duration": 152.3, "messagesRestored": 8},
        {"success": True, "duration": 152.3, "messages_restored": 8},
    ),
    "navigation": (
        {"success": True, "dataPreserved": False, "duration": 78.4, "fromPage": "/a", "toPage": "/b"},
        {"success": True, "data_preserved": False, "duration": 78.4, "from_page": "/a", "to_page": "/b"},
    ),
    "render": (
        {
            "messageId": "m-1",
            "renderTime": 12.3,
            "contentLength": 256,
            "hasMarkdown": True,
            "hasCodeBlocks": False,
        },
        {
            "message_id": "m-1",
            "render_time": 12.3,
            "content_length": 256,
            "has_markdown": True,
            "has_code_blocks": False,
        },
    ),
    "scroll": (
        {
            "avgFps": 58.2,
            "minFps": 52.1,
            "jankPercentage": 3.2,
            "frameCount": 240,
            "scrollHeight": 4800,
            "messageCount": 30,
        },
        {
            "avg_fps": 58.2,
            "min_fps": 52.1,
            "jank_percentage": 3.2,
            "frame_count": 240,
            "scroll_height": 4800,
            "message_count": 30,
        },
    ),
    "memory": (
        {"usedJSHeapSize": 45_000_000, "totalJSHeapSize": 60_000_000, "jsHeapSizeLimit": 4_000_000_000},
        {
            "used_js_heap_size": 45_000_000,
            "total_js_heap_size": 60_000_000,
            "js_heap_size_limit": 4_000_000_000,
        },
    ),
    "tabSync": (
        {"latency": 23.4, "success": True, "operation": "broadcast", "tabCount": 3},
        {"latency": 23.4, "success": True, "operation": "broadcast", "tab_count": 3},
    ),
    "api": (
        {
            "endpoint": "/api/chat",
            "method": "POST",
            "duration": 234.5,
            "status": 503,
            "success": False,
            "cached": True,
        },
        {
            "endpoint": "/api/chat",
            "method": "POST",
            "duration": 234.5,
            "status": 503,
            "success": False,
            "cached": True,
        },
    ),
    "bundle": (
        {"name": "core.js", "size": 45_678, "loadTime": 123.4, "cached": False},
        {"bundle_name": "core.js", "bundle_size": 45_678, "load_time": 123.4, "cached": False},
    ),
}


def _accepted(body: object) -> list[AcceptedEvent]:
    return read_body(json.dumps(body).encode(), received_us=RECEIVED_US).accepted


def _epoch_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _rows(by_type: dict[str, list[tuple[AcceptedEvent, int]]]) -> list[dict[str, Any]]:
    columns = event_columns(by_type)
    table = to_arrow(columns)
    table.validate(full=True)  # offsets, UTF-8 and bitmaps checked value by value
    assert table.column_names == list(COLUMNS)
    for name in COLUMNS:  # the buffers read back the same without Arrow
        expected = table.column(name).to_pylist()
        if name in ("ts", "received_at"):
            expected = [None if v is None else _epoch_us(v) for v in expected]
        assert columns.values(name) == expected, name
    return [
        {name: (_epoch_us(v) if name in ("ts", "received_at") else v) for name, v in row.items()}
        for row in table.to_pylist()
    ]


@pytest.mark.parametrize("kind", list(CASES))
def test_each_field_lands_in_its_column_and_every_other_column_is_null(kind: str) -> None:
    wire, filled = CASES[kind]
    metric = {**wire, **COMMON, "timestamp": TS_MS, "eventId": f"{kind}-1"}
    [event] = _accepted({"type": kind, "metric": metric})
    [row] = _rows({kind: [(event, RECEIVED_US)]})
    expected = {name: None for name in COLUMNS} | {
        "event_id": f"{kind}-1",
        "type": kind,
        "ts": TS_MS * 1000,
        "received_at": RECEIVED_US,
        "ts_clamped": False,
        **COMMON_COLUMNS,
        **filled,
    }
    assert row == expected


def test_persistence_without_metadata_leaves_its_columns_null() -> None:
    [event] = _accepted(
        {"type": "persistence", "metric": {"operation": "sync", "success": True, "duration": 3}}
    )
    [row] = _rows({"persistence": [(event, RECEIVED_US)]})
    assert (row["message_count"], row["storage_type"], row["data_size"]) == (None, None, None)
    assert (row["operation"], row["data_loss"], row["ts"]) == ("sync", False, RECEIVED_US)


def test_a_mixed_commit_keeps_each_event_with_its_own_values() -> None:
    # nine types interleaved over three requests received at different times
    bodies = [
        [{"type": kind, "metric": {**CASES[kind][0], "eventId": f"{kind}-{n}"}} for kind in CASES]
        for n in range(3)
    ]
    by_type: dict[str, list[tuple[AcceptedEvent, int]]] = {}
    for n, body in enumerate(bodies):
        for event in _accepted(body):
            by_type.setdefault(event.type, []).append((event, RECEIVED_US + n))
    rows = _rows(by_type)
    assert len(rows) == 27
    for row in rows:
        kind, n = row["type"], int(row["event_id"].rsplit("-", 1)[1])
        assert row["received_at"] == RECEIVED_US + n
        for column, value in CASES[kind][1].items():
            assert row[column] == value, (kind, column)
        others = set(COLUMNS) - set(CASES[kind][1]) - {"event_id", "type", "ts", "received_at", "ts_clamped"}
        assert all(row[column] is None for column in others), kind


_VALUES = {  # values of each packing, None among them
    "text": st.text(max_size=12),  # any code point but a lone surrogate, as msgspec reads them
    "bits": st.booleans(),
    "d": st.floats(allow_nan=False),
    "q": st.integers(-(2**63), 2**63 - 1),
    "i": st.integers(-(2**31), 2**31 - 1),
}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), name=st.sampled_from([f.name for f in ARROW_SCHEMA]))
def test_a_packed_column_is_what_pyarrow_builds_from_the_same_values(data: st.DataObject, name: str) -> None:
    strategy = _VALUES[PACKING[name]]
    if PACKING[name] == "text":
        strategy = strategy.filter(lambda text: not any("\ud800" <= c <= "\udfff" for c in text))
    values = data.draw(st.lists(st.none() | strategy, min_size=1, max_size=70))
    field = ARROW_SCHEMA.field(name)
    column = pack(values, PACKING[name])
    got = to_arrow(EventColumns(len(values), {name: column})).column(name)
    expected = pa.array(values, field.type if field.type != pa.timestamp("us", tz="UTC") else pa.int64())
    if field.type == pa.timestamp("us", tz="UTC"):
        expected = expected.cast(field.type)
    got.validate(full=True)
    assert got.equals(pa.chunked_array([expected]))
    assert got.null_count == sum(v is None for v in values)
