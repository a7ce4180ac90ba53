"""Rows of the `events` table as wire events and back: what `export` writes and `import` reads.

Both directions come from one declaration, `table.TYPE_COLUMNS` (column -> camelCase field,
`metadata.` for persistence's), plus `event_id` = `eventId` and `ts` = `timestamp`.
`received_at` and `ts_clamped` are the server's own (when it took the event, whether it
moved a future timestamp back): they have no field on the wire and are left out of it.

Parquet and CSV exports keep every column of the table, as the lake does; JSONL holds one
wire event per line, so that `import` (or `POST /api/monitoring/widget`) reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import pyarrow as pa

from analytics.errors import BadRequest
from analytics.storage.lake import quote
from analytics.storage.table import COLUMNS, TYPE_COLUMNS, MetricField
from analytics.window import Window, as_utc

FileFormat = Literal["parquet", "csv", "jsonl"]
FILE_FORMATS: tuple[FileFormat, ...] = ("parquet", "csv", "jsonl")
# Columns the server fills itself: in Parquet and CSV exports, never on the wire.
SERVER_COLUMNS = ("received_at", "ts_clamped")

# An export without `from` or `to` reaches this far (no event is earlier: the intake refuses those).
FIRST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
LAST_MOMENT = datetime(2100, 1, 1, tzinfo=UTC)

_encode = msgspec.json.Encoder().encode


def export_window(start: datetime | None, end: datetime | None, customer_id: str | None = None) -> Window:
    """[start, end) of one customer or all; every event when `start` or `end` is None.

    Raises `BadRequest` when `start` is not before `end`.

    >>> export_window(None, datetime(2026, 1, 1, tzinfo=UTC)).start.year
    2000
    """
    window = Window.between(start or FIRST_MOMENT, end or LAST_MOMENT, customer_id=customer_id)
    if window.start >= window.end:
        raise BadRequest("`from` must be before `to`")
    return window


def event_of_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The wire event `{"type", "metric"}` of a stored row; NULL columns are left out.

    `ts` becomes an ISO 8601 `timestamp` in UTC; columns the row's type does not use
    (and the server's own) are ignored. A row of an unknown type keeps its `type`,
    for the intake to refuse.

    >>> at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    >>> event_of_row({"type": "render", "ts": at, "event_id": "e", "render_time": 4.5, "tab_id": None})
    {'type': 'render', 'metric': {'eventId': 'e', 'timestamp': '2026-01-02T03:04:05.678Z', 'renderTime': 4.5}}
    >>> event_of_row({"type": "persistence", "operation": "save", "data_size": 10})["metric"]
    {'operation': 'save', 'metadata': {'dataSize': 10}}
    """
    kind = row.get("type")
    metric: dict[str, Any] = {}
    if row.get("event_id") is not None:
        metric["eventId"] = row["event_id"]
    stamp = row.get("ts")
    if stamp is not None:
        metric["timestamp"] = wire_timestamp(stamp) if isinstance(stamp, datetime) else stamp
    columns = TYPE_COLUMNS.get(kind, {}) if isinstance(kind, str) else {}
    for column, place in columns.items():
        value = row.get(column)
        if value is None:
            continue
        assert isinstance(place, MetricField)
        within = metric if place.within is None else metric.setdefault(place.within, {})
        within[place.name] = value
    return {"type": kind, "metric": metric}


def row_of_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a (valid) wire event fills, by name; the inverse of `event_of_row`.

    A `timestamp` in epoch milliseconds or ISO 8601 becomes a UTC datetime; without one
    `ts` is None (the server stamps the time it receives the event).

    >>> row = row_of_event({"type": "render", "metric": {"renderTime": 4.5, "timestamp": 1767323045678}})
    >>> row["ts"].isoformat(), row["render_time"], row["event_id"]
    ('2026-01-02T03:04:05.678000+00:00', 4.5, None)
    """
    kind = event["type"]
    metric = event["metric"]
    row: dict[str, Any] = {
        "type": kind,
        "event_id": metric.get("eventId"),
        "ts": _moment(metric.get("timestamp")),
    }
    for column, place in TYPE_COLUMNS[kind].items():
        assert isinstance(place, MetricField)
        within = metric if place.within is None else metric.get(place.within) or {}
        row[column] = within.get(place.name)
    return row


def wire_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with a Z: milliseconds, or microseconds when the time has them (nothing is lost).

    >>> wire_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    '2026-01-02T03:04:05.678901Z'
    """
    utc = as_utc(moment)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")


def event_lines(batch: pa.RecordBatch) -> bytes:
    """The rows of a record batch of the table as JSONL: one wire event per line."""
    return b"".join(_encode(event_of_row(row)) + b"\n" for row in batch.to_pylist())


def copy_statement(
    window: Window, path: Path, file_format: FileFormat, events: str = "events"
) -> tuple[str, dict[str, Any]]:
    """The one COPY that writes every column of the window's rows, oldest first, to `path`.

    One statement reads one snapshot: rows committed meanwhile are in or out as a whole.
    JSONL is written as Parquet here; `event_lines` makes its lines from those rows. `events`
    is the relation to read (`analytics.storage.lake.events_source`: the lake's rows too).

    >>> sql, params = copy_statement(Window.between(None, datetime(2026, 1, 2)), Path("/t/x"), "csv")
    >>> sql.endswith("TO '/t/x' (FORMAT csv, HEADER true)"), sorted(params)
    (True, ['customer', 'end', 'start', 'version'])
    """
    options = "FORMAT csv, HEADER true" if file_format == "csv" else "FORMAT parquet, COMPRESSION zstd"
    columns = f"* REPLACE ({_CSV_TEXT})" if file_format == "csv" else "*"
    sql = (
        f"COPY (SELECT {columns} FROM {events} WHERE {window.where} ORDER BY ts, event_id) "
        f"TO '{quote(path)}' ({options})"
    )
    return sql, window.params()


# CSV is read by spreadsheets, which run a cell starting with = + - @ (or a tab or CR) as a
# formula: such text gets a leading ' (OWASP's advice), which shows it as the text it was.
# Parquet and JSONL keep every value as sent.
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_TEXT = ", ".join(
    f"CASE WHEN left({name}, 1) IN ({', '.join(f'chr({ord(c)})' for c in CSV_FORMULA_START)}) "
    f"THEN chr(39) || {name} ELSE {name} END AS {name}"
    for name, declared in COLUMNS.items()
    if declared.startswith("VARCHAR")
)


def _moment(stamp: Any) -> datetime | None:
    if stamp is None:
        return None
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return as_utc(datetime.fromisoformat(stamp))
