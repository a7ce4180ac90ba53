"""GET /api/monitoring/widget/dimensions: the store's extent, customers and widget versions."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from analytics.queries.dimensions import list_dimensions
from ingest_api.deps import CustomerFilter, RuntimeDep

router = APIRouter(tags=["dimensions"])


@router.get("/api/monitoring/widget/dimensions")
async def dimensions(runtime: RuntimeDep, customer_id: CustomerFilter) -> dict[str, Any]:
    """How many events the store holds, their time span, and the customers and versions seen."""

    def run() -> dict[str, Any]:
        with runtime.store.snapshot() as cur:
            return list_dimensions(cur, customer_id)

    return await asyncio.to_thread(run)
