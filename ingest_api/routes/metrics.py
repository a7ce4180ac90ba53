"""GET /metrics: the server's counters in the Prometheus text format, for a scraper (unscoped viewer)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from analytics.queries.metrics_exposition import CONTENT_TYPE
from ingest_api.deps import GlobalViewer, RuntimeDep
from ingest_api.server_metrics import exposition, prepare

router = APIRouter(tags=["system"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text format 0.0.4 (docs/metrics.md lists the families)",
        },
        403: {"description": "The token is scoped to one customer: the counters span every customer"},
    },
)
async def metrics(runtime: RuntimeDep, principal: GlobalViewer) -> Response:
    """The server's counters, per-key ingest counters, and the widgets' histograms, counters and
    health per customer and version, in the Prometheus text format (unscoped viewer)."""
    health = await asyncio.to_thread(prepare, runtime)
    # Not in a thread: the counters change on the event loop, so this reads them at one moment.
    return Response(exposition(runtime, health), media_type=CONTENT_TYPE)
