"""/api/monitoring/keys, /tokens and /audit: credentials and the record of every change (admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from analytics.access.credential_store import MAX_ORIGINS, MAX_RATE
from analytics.access.key_usage import KeyUsage
from analytics.access.rate_limit import DEFAULT_EVENTS_PER_S, DEFAULT_REQUESTS_PER_S
from analytics.ingest.identifiers import MAX_IDENTIFIER_LENGTH
from ingest_api.deps import Admin, Identifier, RuntimeDep

router = APIRouter(prefix="/api/monitoring", tags=["access"])

_NOT_FOUND = {404: {"description": "No active credential with this id"}}


class RateLimit(BaseModel):
    """A key's limits: token buckets that refill at these rates and hold one second's worth."""

    requestsPerSecond: float = Field(DEFAULT_REQUESTS_PER_S, gt=0, le=MAX_RATE)
    eventsPerSecond: float = Field(DEFAULT_EVENTS_PER_S, gt=0, le=MAX_RATE)


class NewKey(BaseModel):
    """An ingest key for one customer, optionally limited to the origins its widget runs on."""

    customerId: Identifier = Field(max_length=MAX_IDENTIFIER_LENGTH)
    allowedOrigins: list[str] = Field([], max_length=MAX_ORIGINS, description="e.g. https://shop.example")
    rateLimit: RateLimit = Field(default_factory=RateLimit)


class KeyChange(BaseModel):
    """What may change on a key without rotating it."""

    rateLimit: RateLimit


class NewToken(BaseModel):
    """An API token: a name (recorded as the actor), a role, and optionally one customer."""

    name: Identifier = Field(max_length=MAX_IDENTIFIER_LENGTH)
    role: Literal["viewer", "editor", "admin"]
    customerId: Identifier | None = Field(None, max_length=MAX_IDENTIFIER_LENGTH)


def _listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": items, "count": len(items)}


@router.post("/keys", status_code=201)
async def create_key(runtime: RuntimeDep, principal: Admin, new: NewKey) -> dict[str, Any]:
    """Create an ingest key; `key` is shown in this answer only."""
    store = runtime.access.credentials
    key, secret = await asyncio.to_thread(
        store.create_key,
        new.customerId,
        new.allowedOrigins,
        by=principal.name,
        requests_per_s=new.rateLimit.requestsPerSecond,
        events_per_s=new.rateLimit.eventsPerSecond,
    )
    return {"key": secret} | key.to_wire()


@router.get("/keys")
async def list_keys(runtime: RuntimeDep, principal: Admin) -> dict[str, Any]:
    """Every ingest key, revoked ones too, without secrets; `usage` counts what each sent since start."""
    keys = await asyncio.to_thread(runtime.access.credentials.ingest_keys)
    usage = runtime.access.limits.usage
    return _listing([k.to_wire() | {"usage": usage.get(k.id, KeyUsage()).to_wire()} for k in keys])


@router.patch("/keys/{key_id}", responses=_NOT_FOUND)
async def change_key(runtime: RuntimeDep, principal: Admin, key_id: str, change: KeyChange) -> dict[str, Any]:
    """Change a key's rate limits; they apply at once."""
    key = await asyncio.to_thread(
        runtime.access.credentials.set_key_limits,
        key_id,
        requests_per_s=change.rateLimit.requestsPerSecond,
        events_per_s=change.rateLimit.eventsPerSecond,
        by=principal.name,
    )
    return key.to_wire()


@router.delete("/keys/{key_id}", responses=_NOT_FOUND)
async def revoke_key(runtime: RuntimeDep, principal: Admin, key_id: str) -> dict[str, Any]:
    """Revoke an ingest key: its next request gets 401."""
    key = await asyncio.to_thread(runtime.access.credentials.revoke_key, key_id, by=principal.name)
    return key.to_wire()


@router.post("/tokens", status_code=201)
async def create_token(runtime: RuntimeDep, principal: Admin, new: NewToken) -> dict[str, Any]:
    """Create an API token; `token` is shown in this answer only."""
    store = runtime.access.credentials
    token, secret = await asyncio.to_thread(
        store.create_token, new.name, new.role, new.customerId, by=principal.name
    )
    return {"token": secret} | token.to_wire()


@router.get("/tokens")
async def list_tokens(runtime: RuntimeDep, principal: Admin) -> dict[str, Any]:
    """Every API token, revoked ones too, without secrets."""
    tokens = await asyncio.to_thread(runtime.access.credentials.api_tokens)
    return _listing([t.to_wire() for t in tokens])


@router.delete("/tokens/{token_id}", responses=_NOT_FOUND)
async def revoke_token(runtime: RuntimeDep, principal: Admin, token_id: str) -> dict[str, Any]:
    """Revoke an API token: its next request gets 401."""
    token = await asyncio.to_thread(runtime.access.credentials.revoke_token, token_id, by=principal.name)
    return token.to_wire()


@router.get("/audit")
async def audit_log(
    runtime: RuntimeDep, principal: Admin, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
) -> dict[str, Any]:
    """Every change to keys, tokens and the alerting config: who, when, what; newest first."""
    entries = await asyncio.to_thread(runtime.access.credentials.audit, limit)
    return _listing(entries)
