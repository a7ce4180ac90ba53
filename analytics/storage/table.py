"""The `events` table: its columns, and how each metric type's fields map onto them.

One wide table holds every type; a column a type does not use is NULL (DuckDB
stores such sparse columns almost for free). Column names are snake_case so that
analysts can query the DuckDB file or the Parquet lake with their own tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# column name -> DuckDB type, in table order.
COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "type": "VARCHAR NOT NULL",
    "ts": "TIMESTAMPTZ NOT NULL",
    "received_at": "TIMESTAMPTZ NOT NULL",
    "ts_clamped": "BOOLEAN NOT NULL",
    "session_id": "VARCHAR",
    "customer_id": "VARCHAR",
    "widget_version": "VARCHAR",
    "tab_id": "VARCHAR",
    "seq": "BIGINT",
    # shared by several types
    "success": "BOOLEAN",
    "duration": "DOUBLE",
    "operation": "VARCHAR",
    "cached": "BOOLEAN",
    "message_count": "BIGINT",
    # persistence
    "conversation_id": "VARCHAR",
    "error_type": "VARCHAR",
    "error_message": "VARCHAR",
    "data_loss": "BOOLEAN",
    "storage_type": "VARCHAR",
    "data_size": "BIGINT",
    # restoration
    "messages_restored": "BIGINT",
    # navigation
    "data_preserved": "BOOLEAN",
    "from_page": "VARCHAR",
    "to_page": "VARCHAR",
    # render
    "message_id": "VARCHAR",
    "render_time": "DOUBLE",
    "content_length": "BIGINT",
    "has_markdown": "BOOLEAN",
    "has_code_blocks": "BOOLEAN",
    # scroll
    "avg_fps": "DOUBLE",
    "min_fps": "DOUBLE",
    "jank_percentage": "DOUBLE",
    "frame_count": "BIGINT",
    "scroll_height": "BIGINT",
    # memory
    "used_js_heap_size": "BIGINT",
    "total_js_heap_size": "BIGINT",
    "js_heap_size_limit": "BIGINT",
    # tabSync
    "latency": "DOUBLE",
    "tab_count": "BIGINT",
    # api
    "endpoint": "VARCHAR",
    "method": "VARCHAR",
    "status": "INTEGER",
    # bundle
    "bundle_name": "VARCHAR",
    "bundle_size": "BIGINT",
    "load_time": "DOUBLE",
}


@dataclass(frozen=True, slots=True)
class MetricField:
    """Where a column's value sits in a decoded metric: `metric.name`, or `metric.within.name`.

    Calling it reads the value from one metric; the store reads whole columns at once
    through `name` and `within`.
    """

    name: str
    within: str | None = None

    def __call__(self, metric: Any) -> Any:
        if self.within is None:
            return getattr(metric, self.name)
        outer = getattr(metric, self.within)
        return None if outer is None else getattr(outer, self.name)


Extractor = MetricField


def _field(name: str) -> Extractor:
    return MetricField(name)


def _meta(name: str) -> Extractor:
    return MetricField(name, within="metadata")


_COMMON: dict[str, Extractor] = {
    "session_id": _field("sessionId"),
    "customer_id": _field("customerId"),
    "widget_version": _field("widgetVersion"),
    "tab_id": _field("tabId"),
    "seq": _field("seq"),
}

# metric type -> {column: how to read it from the decoded metric}
TYPE_COLUMNS: dict[str, dict[str, Extractor]] = {
    "persistence": {
        "operation": _field("operation"),
        "success": _field("success"),
        "duration": _field("duration"),
        "conversation_id": _field("conversationId"),
        "error_type": _field("errorType"),
        "error_message": _field("errorMessage"),
        "data_loss": _field("dataLoss"),
        "message_count": _meta("messageCount"),
        "storage_type": _meta("storageType"),
        "data_size": _meta("dataSize"),
    },
    "restoration": {
        "success": _field("success"),
        "duration": _field("duration"),
        "messages_restored": _field("messagesRestored"),
    },
    "navigation": {
        "success": _field("success"),
        "data_preserved": _field("dataPreserved"),
        "duration": _field("duration"),
        "from_page": _field("fromPage"),
        "to_page": _field("toPage"),
    },
    "render": {
        "message_id": _field("messageId"),
        "render_time": _field("renderTime"),
        "content_length": _field("contentLength"),
        "has_markdown": _field("hasMarkdown"),
        "has_code_blocks": _field("hasCodeBlocks"),
    },
    "scroll": {
        "avg_fps": _field("avgFps"),
        "min_fps": _field("minFps"),
        "jank_percentage": _field("jankPercentage"),
        "frame_count": _field("frameCount"),
        "scroll_height": _field("scrollHeight"),
        "message_count": _field("messageCount"),
    },
    "memory": {
        "used_js_heap_size": _field("usedJSHeapSize"),
        "total_js_heap_size": _field("totalJSHeapSize"),
        "js_heap_size_limit": _field("jsHeapSizeLimit"),
    },
    "tabSync": {
        "latency": _field("latency"),
        "success": _field("success"),
        "operation": _field("operation"),
        "tab_count": _field("tabCount"),
    },
    "api": {
        "endpoint": _field("endpoint"),
        "method": _field("method"),
        "duration": _field("duration"),
        "status": _field("status"),
        "success": _field("success"),
        "cached": _field("cached"),
    },
    "bundle": {
        "bundle_name": _field("name"),
        "bundle_size": _field("size"),
        "load_time": _field("loadTime"),
        "cached": _field("cached"),
    },
}

for _columns in TYPE_COLUMNS.values():
    _columns.update(_COMMON)
    assert set(_columns) <= set(COLUMNS), set(_columns) - set(COLUMNS)


def create_table_sql(table: str = "events") -> str:
    body = ",\n  ".join(f"{name} {sql_type}" for name, sql_type in COLUMNS.items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n)"
