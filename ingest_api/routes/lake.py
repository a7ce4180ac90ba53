"""The Parquet lake: list the exported days, or export the closed days now."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from ingest_api.deps import Admin, GlobalViewer, RuntimeDep

router = APIRouter(prefix="/api/monitoring/lake", tags=["lake"])


@router.get("")
async def lake_partitions(runtime: RuntimeDep, principal: GlobalViewer) -> dict[str, object]:
    """The days exported to the Parquet lake, oldest first."""
    partitions = await asyncio.to_thread(runtime.lake_partitions)
    return {
        "path": str(runtime.lake_dir),
        "data": [p.to_dict() for p in partitions],
        "count": len(partitions),
    }


@router.post("/export")
async def export_lake(runtime: RuntimeDep, principal: Admin) -> dict[str, object]:
    """Export every closed UTC day that changed since its last export (also runs hourly)."""
    written = await asyncio.to_thread(runtime.export_lake)
    return {"data": [p.to_dict() for p in written], "count": len(written)}
