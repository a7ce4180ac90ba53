"""GET /healthz: the server is up and its writer is ready to ingest."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from analytics.access.roles import Role
from analytics.errors import MonitorError, StoreUnavailable
from ingest_api.deps import RuntimeDep, Viewer, get_principal
from ingest_api.resident_memory import processes_memory

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(request: Request, runtime: RuntimeDep) -> dict[str, object]:
    """Public: 200 once the store is open and the writer runs, else 503; details for an unscoped viewer."""
    if not runtime.writer.running:
        raise StoreUnavailable("the writer is not running")
    try:
        principal = get_principal(request)
        signed_in = principal.may(Role.viewer) and principal.customer_id is None
    except MonitorError:
        signed_in = False
    if not signed_in:  # the public, and customer-scoped tokens: the details span every customer
        return {"status": "ok"}
    details: dict[str, object] = {
        "status": "ok",
        "commits": runtime.writer.commits,
        "eventsCommitted": runtime.writer.events_committed,
        "decoderProcesses": runtime.decoders.pids() if runtime.decoders is not None else [],
        "backlogBytes": runtime.backlog.bytes,
        "refusedOverloaded": runtime.backlog.refused,
    }
    decoder_pids = details["decoderProcesses"]
    details["memory"] = processes_memory(decoder_pids) | {  # type: ignore[arg-type]
        "duckdb": runtime.store.limits.to_wire() | runtime.store.duckdb_memory(),
        "dedupeIds": len(runtime.store.recent_ids),
        "dedupeBytes": runtime.store.recent_ids.nbytes,
    }
    details["retention"] = runtime.settings.retention.to_wire(datetime.now(UTC)) | (
        {"lastRun": runtime.retained.to_wire()} if runtime.retained is not None else {}
    )
    if runtime.rollups is not None:  # the last run of the hourly rollups (analytics/rollups)
        details["rollups"] = runtime.rollups.to_wire()
    if runtime.store.damage:  # found in the store's files and not yet recovered (docs/recovery.md)
        details["storeDamage"] = [report.to_wire() for report in runtime.store.damage]
    return details


@router.get("/api/monitoring/whoami")
async def whoami(principal: Viewer) -> dict[str, object]:
    """Who this credential is: its name, role and customer (null: every customer)."""
    return principal.to_wire() | {"openMode": not principal.credential}
