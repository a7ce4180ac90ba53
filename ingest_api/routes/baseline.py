"""/api/monitoring/baseline: capture a baseline, and compare the figures of now with it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from analytics.errors import Forbidden
from analytics.ingest.identifiers import MAX_IDENTIFIER_LENGTH
from ingest_api.deps import AlertsDep, CustomerFilter, Editor, Identifier, actor

router = APIRouter(prefix="/api/monitoring/baseline", tags=["alerts"])


class Capture(BaseModel):
    """What to snapshot: a scope and a window ending now."""

    customerId: Identifier | None = Field(None, max_length=MAX_IDENTIFIER_LENGTH)
    windowMs: int | None = Field(None, ge=1000, le=7 * 86_400_000, description="default: the check window")
    label: Identifier | None = Field(None, max_length=MAX_IDENTIFIER_LENGTH)
    by: Identifier | None = Field(None, min_length=1, max_length=MAX_IDENTIFIER_LENGTH)


@router.post("", status_code=201)
async def capture_baseline(
    system: AlertsDep, principal: Editor, capture: Capture | None = None
) -> dict[str, Any]:
    """The seed's captureBaseline(): snapshot the key figures now, for later comparison."""
    c = capture or Capture()
    customer_id = c.customerId
    if principal.customer_id is not None:
        if customer_id not in (None, principal.customer_id):
            raise Forbidden("this token may capture its own customer's baseline only")
        customer_id = principal.customer_id
    window = None if c.windowMs is None else timedelta(milliseconds=c.windowMs)
    who, _ = actor(principal, c.by)
    return await asyncio.to_thread(
        system.capture_baseline, customer_id=customer_id, by=who, label=c.label, window=window
    )


@router.get("")
async def baseline_report(system: AlertsDep, customer_id: CustomerFilter) -> dict[str, Any]:
    """The latest captured and the rolling baseline, the figures of now, and the degradation of each."""
    return await asyncio.to_thread(system.baseline_report, customer_id=customer_id)
