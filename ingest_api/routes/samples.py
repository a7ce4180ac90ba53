"""GET /api/monitoring/widget/samples: per-event values of one metric, for comparing two groups."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from analytics.queries.samples import MAX_SAMPLES, SampleQuery, read_samples
from ingest_api.deps import CustomerFilter, RangeEnd, RangeStart, RuntimeDep, WidgetVersionFilter

router = APIRouter(tags=["samples"])


@router.get("/api/monitoring/widget/samples")
async def samples(
    runtime: RuntimeDep,
    customer_id: CustomerFilter,
    metric: str,
    start: RangeStart = None,
    end: RangeEnd = None,
    widget_version: WidgetVersionFilter = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SAMPLES)] = 5000,
) -> dict[str, Any]:
    """The metric's value per event (a seeded reservoir sample above `limit`)."""
    query = SampleQuery.between(metric, start, end, customer_id, widget_version or None, limit)

    def run() -> dict[str, Any]:
        with runtime.store.snapshot() as cur:
            return read_samples(cur, query)

    return await asyncio.to_thread(run)
