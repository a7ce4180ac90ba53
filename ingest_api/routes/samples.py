"""GET /api/monitoring/widget/samples: per-event values of one metric, for comparing two groups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from analytics.queries.samples import MAX_SAMPLES, SampleQuery, read_samples
from analytics.queries.timeseries import as_utc
from ingest_api.deps import CustomerFilter, QueryMoment, RuntimeDep, WidgetVersionFilter

router = APIRouter(tags=["samples"])


@router.get("/api/monitoring/widget/samples")
async def samples(
    runtime: RuntimeDep,
    customer_id: CustomerFilter,
    metric: str,
    start: Annotated[
        QueryMoment | None, Query(alias="from", description="ISO 8601; default to - 24 h")
    ] = None,
    end: Annotated[QueryMoment | None, Query(alias="to", description="ISO 8601; default now")] = None,
    widget_version: WidgetVersionFilter = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SAMPLES)] = 5000,
) -> dict[str, Any]:
    """The metric's value per event (a seeded reservoir sample above `limit`)."""
    end_utc = as_utc(end) if end else datetime.now(UTC)
    start_utc = as_utc(start) if start else end_utc - timedelta(hours=24)
    query = SampleQuery(metric, start_utc, end_utc, customer_id, widget_version or None, limit)

    def run() -> dict[str, Any]:
        with runtime.store.cursor() as cur:
            return read_samples(cur, query)

    return await asyncio.to_thread(run)
