"""GET /api/monitoring/figures: the figure registry, for clients that show figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from analytics.queries.figure_catalogue import describe_figures
from ingest_api.deps import RuntimeDep, Viewer

router = APIRouter(tags=["figures"])


@router.get("/api/monitoring/figures")
async def figure_registry(runtime: RuntimeDep, principal: Viewer) -> dict[str, Any]:
    """Every figure: its names, unit, direction, target, threshold in force; buckets, status bands."""
    return describe_figures(runtime.alerting_config)
