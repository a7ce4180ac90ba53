"""GET /api/monitoring/backup: a consistent snapshot of the server's data, as a tar stream (admin)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from analytics.storage.backup import tar_stream
from ingest_api.deps import Admin, RuntimeDep

router = APIRouter(prefix="/api/monitoring", tags=["backup"])


@router.get(
    "/backup",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-tar": {}}, "description": "the backup directory as a tar"}},
)
async def take_backup(runtime: RuntimeDep, principal: Admin) -> StreamingResponse:
    """Snapshot the events, rollups, alert state, credentials and the lake while the server runs.

    One DuckDB transaction: what the backup holds is what was committed when it started.
    `widget-monitor backup DEST` calls this and checks every file's checksum; `widget-monitor
    restore` puts it back into a stopped data dir (docs/backup.md). Recorded in the audit log.
    """
    folder, manifest = await asyncio.to_thread(runtime.take_backup, by=principal.name)
    name = folder.name
    return StreamingResponse(
        tar_stream(folder, remove_after=True),
        media_type="application/x-tar",
        headers={
            "Content-Disposition": f'attachment; filename="widget-monitor-backup-{name}.tar"',
            "X-Backup-Bytes": str(manifest.total_bytes),
            "X-Backup-Events": str(manifest.events),
        },
    )
