"""/api/monitoring/baseline: capture a baseline, and compare the figures of now with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ingest_api.deps import AlertsDep

router = APIRouter(prefix="/api/monitoring/baseline", tags=["alerts"])


class Capture(BaseModel):
    """What to snapshot: a scope and a window ending now."""

    customerId: str | None = Field(None, max_length=256)
    windowMs: int | None = Field(None, ge=1000, le=7 * 86_400_000, description="default: the check window")
    label: str | None = Field(None, max_length=256)
    by: str = Field("api", min_length=1, max_length=256)


@router.post("", status_code=201)
async def capture_baseline(system: AlertsDep, capture: Capture | None = None) -> dict[str, Any]:
    """The seed's captureBaseline(): snapshot the key figures now, for later comparison."""
    c = capture or Capture()
    window = None if c.windowMs is None else timedelta(milliseconds=c.windowMs)
    return await asyncio.to_thread(
        system.capture_baseline, customer_id=c.customerId, by=c.by, label=c.label, window=window
    )


@router.get("")
async def baseline_report(
    system: AlertsDep,
    customer_id: Annotated[str | None, Query(alias="customerId", max_length=256)] = None,
) -> dict[str, Any]:
    """The latest captured and the rolling baseline, the figures of now, and the degradation of each."""
    return await asyncio.to_thread(system.baseline_report, customer_id=customer_id)
