"""/api/monitoring/alerts: list, check, resolve, acknowledge, snooze, history and config."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field, model_validator

from analytics.access.roles import Principal
from analytics.alerts.alert import Alert, Status
from analytics.alerts.rules import Category, Severity
from analytics.alerts.system import MAX_SNOOZE, AlertingSystem
from analytics.errors import NotFound
from analytics.ingest.identifiers import MAX_IDENTIFIER_LENGTH, MAX_TEXT_LENGTH
from analytics.window import as_utc
from ingest_api.deps import (
    Admin,
    AlertsDep,
    CustomerFilter,
    Editor,
    GlobalEditor,
    Identifier,
    RuntimeDep,
    Viewer,
    actor,
)

router = APIRouter(prefix="/api/monitoring/alerts", tags=["alerts"])

_NOT_FOUND = {404: {"description": "No alert with this id"}}
_CONFLICT = {409: {"description": "The alert is already resolved"}}


class Action(BaseModel):
    """Who acts on an alert, and why."""

    by: Identifier | None = Field(
        None,
        min_length=1,
        max_length=MAX_IDENTIFIER_LENGTH,
        description="who (open mode); with a credential the actor is the token's name and this a note",
    )
    note: str | None = Field(None, max_length=MAX_TEXT_LENGTH)


class Snooze(Action):
    """Mute an alert until a time, or for a number of minutes."""

    until: datetime | None = Field(None, description="ISO 8601 time; give this or minutes")
    minutes: float | None = Field(None, gt=0, le=MAX_SNOOZE.total_seconds() / 60)

    @model_validator(mode="after")
    def one_of_until_or_minutes(self) -> Snooze:
        if (self.until is None) == (self.minutes is None):
            raise ValueError("give either `until` (an ISO 8601 time) or `minutes`")
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("`until` needs a time zone, e.g. 2026-01-01T12:00:00Z")
        try:
            self.until = None if self.until is None else as_utc(self.until)
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
            raise ValueError("`until` is out of range in UTC") from None
        return self


def _listing(alerts: list[Any]) -> dict[str, Any]:
    data = [a.to_wire() for a in alerts]
    return {"data": data, "count": len(data)}


async def _visible(system: AlertingSystem, alert_id: str, principal: Principal) -> Alert:
    """The alert, if the caller may see it: a customer-scoped token sees its customer's only."""
    alert = await asyncio.to_thread(system.alert, alert_id)
    if principal.customer_id is not None and alert.customer_id != principal.customer_id:
        raise NotFound(f"no alert with id {alert_id!r}")  # as for an id that does not exist
    return alert


def _combined(note: str | None, extra: str | None) -> str | None:
    return "; ".join(part for part in (extra, note) if part) or None


@router.get("")
async def list_alerts(
    system: AlertsDep,
    principal: Viewer,
    customer_id: CustomerFilter,
    resolved: bool | None = None,
    severity: Severity | None = None,
    category: Category | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Alerts, newest first, filtered by resolved, severity, category, customer and status."""
    found = await asyncio.to_thread(
        system.alerts,
        resolved=resolved,
        severity=severity,
        category=category,
        customer_id=customer_id,
        status=status,
        limit=limit,
    )
    listing = _listing(found)
    if principal.customer_id is None:  # how many customers the last check left to the global scope
        listing["customersBeyondCap"] = system.customers_beyond_cap
    return listing


@router.post("/check")
async def check_now(system: AlertsDep, runtime: RuntimeDep, principal: GlobalEditor) -> dict[str, Any]:
    """Evaluate every rule now; answers what fired, changed and resolved, and the open alerts."""
    report = await asyncio.to_thread(system.check)
    runtime.summary_cache.clear()
    return report.to_wire()


@router.get("/config")
async def get_config(system: AlertsDep, principal: Admin) -> dict[str, Any]:
    """The alerting config in force (secrets masked)."""
    return system.config.to_dict()


@router.put("/config", responses={422: {"description": "Refused: the message says why"}})
async def put_config(
    system: AlertsDep,
    runtime: RuntimeDep,
    principal: Admin,
    document: Annotated[dict[str, Any], Body()],
    by: Annotated[Identifier | None, Query(min_length=1, max_length=MAX_IDENTIFIER_LENGTH)] = None,
) -> dict[str, Any]:
    """Replace the alerting config (missing keys take the defaults); it is stored and survives restarts."""
    who, note = actor(principal, by)
    config = await asyncio.to_thread(system.set_config, document, by=who)
    wire = config.to_dict()
    detail = {"note": note} if note else {}
    await asyncio.to_thread(runtime.access.credentials.record, who, "alerts.config", None, detail | wire)
    return wire


@router.get("/{alert_id}", responses=_NOT_FOUND)
async def get_alert(system: AlertsDep, principal: Viewer, alert_id: str) -> dict[str, Any]:
    """One alert."""
    return (await _visible(system, alert_id, principal)).to_wire()


@router.get("/{alert_id}/history", responses=_NOT_FOUND)
async def alert_history(system: AlertsDep, principal: Viewer, alert_id: str) -> dict[str, Any]:
    """Every transition of an alert (who, when, from and to which status), oldest first."""
    await _visible(system, alert_id, principal)
    steps = await asyncio.to_thread(system.history, alert_id)
    data = [t.to_wire() for t in steps]
    return {"data": data, "count": len(data)}


@router.post("/{alert_id}/resolve", responses={**_NOT_FOUND, **_CONFLICT})
async def resolve_alert(
    system: AlertsDep, runtime: RuntimeDep, principal: Editor, alert_id: str, action: Action | None = None
) -> dict[str, Any]:
    """Resolve an open alert; `resolvedBy` is the token's name (in open mode the body's `by`)."""
    action = action or Action()
    await _visible(system, alert_id, principal)
    who, note = actor(principal, action.by)
    alert = await asyncio.to_thread(system.resolve, alert_id, by=who, note=_combined(action.note, note))
    runtime.summary_cache.clear()
    return alert.to_wire()


@router.post("/{alert_id}/acknowledge", responses={**_NOT_FOUND, **_CONFLICT})
async def acknowledge_alert(
    system: AlertsDep, runtime: RuntimeDep, principal: Editor, alert_id: str, action: Action | None = None
) -> dict[str, Any]:
    """Acknowledge an open alert: it stays open and its notifications are muted."""
    action = action or Action()
    await _visible(system, alert_id, principal)
    who, _ = actor(principal, action.by)
    alert = await asyncio.to_thread(system.acknowledge, alert_id, by=who)
    runtime.summary_cache.clear()
    return alert.to_wire()


@router.post("/{alert_id}/snooze", responses={**_NOT_FOUND, **_CONFLICT})
async def snooze_alert(
    system: AlertsDep, runtime: RuntimeDep, principal: Editor, alert_id: str, snooze: Snooze
) -> dict[str, Any]:
    """Mute an open alert until `until` (or for `minutes`); then it fires again if still true."""
    await _visible(system, alert_id, principal)
    now = datetime.now(UTC)
    until = snooze.until or now + timedelta(minutes=snooze.minutes or 0)
    who, _ = actor(principal, snooze.by)
    alert = await asyncio.to_thread(system.snooze, alert_id, by=who, until=until, now=now)
    runtime.summary_cache.clear()
    return alert.to_wire()
