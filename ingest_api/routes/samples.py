"""GET /api/monitoring/widget/samples: per-event values of one metric, for comparing two groups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
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
    exact: Annotated[
        bool, Query(description="draw from raw events whatever the range (where they are kept)")
    ] = False,
) -> dict[str, Any]:
    """The metric's value per event (a seeded sample above `limit`).

    Up to 24 h, and with `exact=true`, drawn from raw events; a longer range is drawn from the
    hourly rollups' counts (`source`, `errorBound`: each value within it of its event's own)."""
    query = SampleQuery.between(
        metric,
        start,
        end,
        customer_id,
        widget_version or None,
        limit,
        exact=exact,
        raw_from=runtime.settings.retention.raw_from(datetime.now(UTC)),
    )

    def run() -> dict[str, Any]:
        with runtime.store.snapshot() as cur:
            return read_samples(cur, query)

    return await asyncio.to_thread(run)
