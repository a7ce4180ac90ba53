"""GET /api/monitoring/widget/timeseries: one figure per time bucket, for the Trends page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from analytics.queries.metric_catalogue import catalogue
from analytics.queries.timeseries import BUCKETS, compute_timeseries, series_query, threshold_in_force
from ingest_api.deps import CustomerFilter, RangeEnd, RangeStart, RuntimeDep, Viewer, WidgetVersionFilter

router = APIRouter(tags=["timeseries"])


@router.get("/api/monitoring/widget/timeseries")
async def timeseries(
    runtime: RuntimeDep,
    customer_id: CustomerFilter,
    metric: Annotated[str, Query(description="e.g. render.renderTime; see /timeseries/metrics")],
    stat: Annotated[str | None, Query(description="count avg min max p50 p95 p99 | rate")] = None,
    bucket: Annotated[str, Query(description=" ".join(BUCKETS))] = "1h",
    start: RangeStart = None,
    end: RangeEnd = None,
    widget_version: WidgetVersionFilter = None,
    group_by: Annotated[str | None, Query(alias="groupBy", description="widgetVersion | customerId")] = None,
    exact: Annotated[
        bool,
        Query(
            description="raw events whatever the range (over 24 h the default is the hourly rollups), "
            "where raw events are kept"
        ),
    ] = False,
) -> dict[str, Any]:
    """A statistic of one metric per time bucket, optionally one series per group.

    Over 24 h with buckets of an hour or more the answer comes from the hourly rollups
    (`"source": "rollup"`, quantiles within `errorBound`); `exact=true` reads raw events.
    """
    query = series_query(
        metric,
        stat=stat,
        bucket=bucket,
        start=start,
        end=end,
        customer_id=customer_id,
        widget_version=widget_version or None,
        group_by=group_by or None,
        exact=exact,
        raw_from=runtime.settings.retention.raw_from(datetime.now(UTC)),
    )

    alerting = runtime.alerting_config

    def run() -> dict[str, Any]:
        with runtime.store.snapshot() as cur:
            return compute_timeseries(cur, query, alerting)

    return await asyncio.to_thread(run)


@router.get("/api/monitoring/widget/timeseries/metrics")
async def metric_catalogue(runtime: RuntimeDep, principal: Viewer) -> dict[str, Any]:
    """Every metric the time-series and samples endpoints know, with unit, stats and threshold."""
    alerting = runtime.alerting_config
    metrics = []
    for metric in catalogue().values():
        threshold = threshold_in_force(metric.threshold, alerting)
        metrics.append(metric.to_dict() | {"threshold": None if threshold is None else threshold.to_dict()})
    return {"metrics": metrics, "buckets": BUCKETS}
