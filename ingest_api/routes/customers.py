"""DELETE /api/monitoring/customers/{customerId}/data: erase one customer's data (admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path

from analytics.ingest.identifiers import MAX_IDENTIFIER_LENGTH
from ingest_api.deps import Admin, Identifier, RuntimeDep

router = APIRouter(prefix="/api/monitoring/customers", tags=["customers"])


@router.delete("/{customer_id}/data")
async def erase_customer_data(
    runtime: RuntimeDep,
    principal: Admin,
    customer_id: Annotated[Identifier, Path(max_length=MAX_IDENTIFIER_LENGTH)],
) -> dict[str, Any]:
    """Remove every event of the customer from the store, the Parquet lake and the rollups.

    The answer says how many rows went from each. Idempotent: a second call removes
    nothing. Recorded in the audit log. Events the customer's widgets post afterwards
    are stored as usual (revoke its ingest keys first to stop them).
    """
    report = await asyncio.to_thread(runtime.erase_customer, customer_id, by=principal.name)
    return report.to_wire()
