"""GET /api/monitoring/events/export: the raw events of a time range as Parquet, CSV or JSONL."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import pyarrow.parquet as pq
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from analytics.errors import RateLimited
from analytics.ingest.wire_rows import FileFormat, copy_statement, event_lines, export_window, wire_timestamp
from analytics.storage.lake import events_source
from analytics.window import Window
from ingest_api.deps import CustomerFilter, QueryMoment, RuntimeDep, Viewer
from ingest_api.runtime import Runtime
from ingest_api.streaming import ClosingStreamingResponse

router = APIRouter(prefix="/api/monitoring/events", tags=["events"])

EXPORTS_SUBDIR = ".exports"  # files being written; each is unlinked once open, before it is sent
_STALE_S = 3600  # left behind by a crash between COPY and unlink: removed by a later export
_CHUNK = 1_048_576
_JSONL_ROWS = 5000  # rows per Parquet read while the lines are made
_RETRY_S = 10
_MEDIA: dict[str, str] = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
}

ExportStart = Annotated[
    QueryMoment | None, Query(alias="from", description="ISO 8601; default: the first event")
]
ExportEnd = Annotated[
    QueryMoment | None, Query(alias="to", description="ISO 8601, excluded; default: every event")
]


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {media.split(";")[0]: {} for media in _MEDIA.values()},
            "description": "the rows, oldest first; `X-Export-Events` says how many",
        },
        400: {"description": "`from` is not before `to`"},
        403: {"description": "a token scoped to one customer asked for another"},
        429: {"description": "as many exports run as may at once (`Retry-After`)"},
    },
)
async def export_events(
    runtime: RuntimeDep,
    principal: Viewer,
    customer_id: CustomerFilter,
    start: ExportStart = None,
    end: ExportEnd = None,
    file_format: Annotated[FileFormat, Query(alias="format")] = "parquet",
) -> StreamingResponse:
    """Export the events of [from, to) as Parquet or CSV (every column) or JSONL (the ingest schema).

    A viewer may: the rows are what every read of the viewer's is computed from, and
    `/samples` already hands out per-event values. A token scoped to one customer gets
    that customer's events only, as every read. Rows may hold personal data (free-text
    `errorMessage`, page paths), so each export is recorded in the audit log. One COPY
    reads one snapshot; `widget-monitor export` calls this, `import` reads JSONL and
    Parquet back (docs/export-import.md).
    """
    window = export_window(start, end, customer_id)
    slots = runtime.export_slots
    holder = slots.claim()
    if holder is None:
        raise RateLimited(
            f"{slots.size} exports are running, the most at once: retry when one has finished",
            retry_after_s=_RETRY_S,
        )
    try:  # the slot is given up by the stream (`held`) once it exists, and here if it never does
        opened, rows = await asyncio.to_thread(_write, runtime, window, file_format)
        detail = {
            "format": file_format,
            "events": rows,
            "from": wire_timestamp(window.start),
            "to": wire_timestamp(window.end),
        }
        try:
            await asyncio.to_thread(
                runtime.access.credentials.record, principal.name, "events.export", customer_id, detail
            )
        except BaseException:
            opened.close()
            raise
        headers = {
            "Content-Disposition": f'attachment; filename="widget-monitor-events.{file_format}"',
            "X-Export-Events": str(rows),
        }
        if file_format == "jsonl":
            body = _jsonl(opened)
        else:
            headers["Content-Length"] = str(os.fstat(opened.fileno()).st_size)
            body = _chunks(opened)
    except BaseException:
        slots.release(holder)
        raise
    return ClosingStreamingResponse(slots.held(holder, body), media_type=_MEDIA[file_format], headers=headers)


def _write(runtime: Runtime, window: Window, file_format: FileFormat) -> tuple[IO[bytes], int]:
    """The export written under `<data_dir>/.exports/`, opened and already unlinked; its row count."""
    folder = runtime.settings.data_dir / EXPORTS_SUBDIR
    folder.mkdir(mode=0o700, exist_ok=True)
    _remove_stale(folder)
    path = folder / f"{uuid.uuid4().hex}.{file_format}"
    try:
        with runtime.store.snapshot() as cur:
            sql, params = copy_statement(
                window, path, file_format, events_source(cur, window.start, window.end)
            )
            written = cur.execute(sql, params).fetchone()
        opened = path.open("rb")
    finally:
        path.unlink(missing_ok=True)  # the open file stays readable; nothing is left behind
    return opened, int(written[0]) if written else 0


def _remove_stale(folder: Path) -> None:
    cutoff = time.time() - _STALE_S
    for leftover in folder.iterdir():
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except FileNotFoundError:  # another export's, removed meanwhile
            pass


def _chunks(opened: IO[bytes]) -> Iterator[bytes]:
    with opened:
        while chunk := opened.read(_CHUNK):
            yield chunk


def _jsonl(opened: IO[bytes]) -> Iterator[bytes]:
    with opened:
        for batch in pq.ParquetFile(opened).iter_batches(batch_size=_JSONL_ROWS):
            yield event_lines(batch)
