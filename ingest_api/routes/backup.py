"""POST /api/monitoring/backup: a consistent snapshot of the server's data, as a tar stream (admin)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from analytics.storage.backup import tar_stream
from ingest_api.backup_slot import BackupSlot
from ingest_api.deps import Admin, RuntimeDep
from ingest_api.streaming import ClosingStreamingResponse

router = APIRouter(prefix="/api/monitoring", tags=["backup"])


@router.post(
    "/backup",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-tar": {}}, "description": "the backup directory as a tar"},
        409: {"description": "a backup is being taken already"},
        507: {"description": "not enough room on the data dir's disk for the snapshot"},
    },
)
async def take_backup(runtime: RuntimeDep, principal: Admin) -> StreamingResponse:
    """Snapshot the events, rollups, alert state, credentials and the lake while the server runs.

    One DuckDB transaction: what the backup holds is what was committed when it started.
    A POST (a change: `Content-Type: application/json`), one at a time. `widget-monitor
    backup DEST` calls this and checks every file's checksum; `widget-monitor restore` puts it
    back into a stopped data dir (docs/backup.md). Recorded in the audit log.
    """
    folder, manifest = await asyncio.to_thread(runtime.take_backup, by=principal.name)
    return ClosingStreamingResponse(
        _streamed(folder, runtime.backup_slot),
        media_type="application/x-tar",
        headers={
            "Content-Disposition": f'attachment; filename="widget-monitor-backup-{folder.name}.tar"',
            "X-Backup-Bytes": str(manifest.total_bytes),
            "X-Backup-Events": str(manifest.events),
        },
    )


async def _streamed(folder: Path, slot: BackupSlot) -> AsyncIterator[bytes]:
    """The tar, read in a thread; the snapshot removed when done or when the client goes."""
    chunks = tar_stream(folder)
    try:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            slot.moved()
            yield chunk
    finally:  # also on cancellation: the client disconnected (after the last byte, often)
        with contextlib.suppress(ValueError):  # `next` still running in its thread: it ends alone
            chunks.close()
        # not awaited: a cancelled generator's finally may not get to run an await to its end
        # (the snapshot is hard links and small files: removing it takes milliseconds)
        slot.release(folder)
