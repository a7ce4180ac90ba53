"""GET /healthz: the server is up and its writer is ready to ingest."""

from __future__ import annotations

from fastapi import APIRouter

from analytics.errors import StoreUnavailable
from ingest_api.deps import RuntimeDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(runtime: RuntimeDep) -> dict[str, object]:
    """Answer 200 once the store is open and the writer runs, 503 otherwise."""
    if not runtime.writer.running:
        raise StoreUnavailable("the writer is not running")
    return {
        "status": "ok",
        "commits": runtime.writer.commits,
        "eventsCommitted": runtime.writer.events_committed,
        "decoderProcesses": runtime.decoders.pids() if runtime.decoders is not None else [],
        "backlogBytes": runtime.backlog.bytes,
        "refusedOverloaded": runtime.backlog.refused,
    }
