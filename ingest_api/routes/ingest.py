"""POST /api/monitoring/widget: widgets send one event or a batch of events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.requests import ClientDisconnect

from analytics.access.credential_store import IngestKey
from analytics.errors import BadRequest, InvalidEvents, Overloaded, PayloadTooLarge, UnsupportedMediaType
from analytics.ingest.intake import Rejection, read_body
from analytics.storage.store import IngestBatch
from ingest_api.runtime import Runtime

router = APIRouter(tags=["ingest"])

PATH = "/api/monitoring/widget"
# A refused body is read (and dropped) up to this size, so that its sender can read the 413.
DRAIN_MAX_BYTES = 64 * 1_048_576
_ACCEPTED_MEDIA = ("application/json", "text/plain")  # text/plain: navigator.sendBeacon
_encode = msgspec.json.Encoder().encode


@router.post(
    PATH,
    response_class=Response,
    responses={
        200: {"description": "Committed: `stored`, `duplicates`, `rejected` (by index)"},
        400: {"description": "Empty or unreadable body"},
        401: {
            "description": "No ingest key (`?key=` or `X-Widget-Monitor-Key`), or an unknown or revoked one"
        },
        403: {"description": "The key does not accept this Origin"},
        413: {"description": "Body over 1 MiB or batch over 1000 events"},
        415: {"description": "Neither application/json nor text/plain, or a compressed body"},
        429: {
            "description": "The key's requests or events per second are spent: nothing stored; retry after"
        },
        422: {"description": "No event in the body is valid; `rejected` says why"},
        503: {"description": "Overloaded or the store failed: nothing stored; retry (after `Retry-After`)"},
    },
)
async def ingest(request: Request) -> Response:
    """Record one widget event, or a JSON array of up to 1000 events (`?key=` names the sender)."""
    runtime: Runtime = request.app.state.runtime
    sender = runtime.access.sender(request.scope["headers"], request.scope["query_string"])
    key = sender.key if sender is not None else None
    if key is not None:
        runtime.access.limits.admit_request(key)
    limit = runtime.settings.max_body_bytes
    _check_media_type(request.headers.get("content-type"))
    _check_encoding(request.headers.get("content-encoding"))
    declared = await _refuse_declared_over(request, limit)
    if declared is not None:  # a full backlog holds the request a moment, its body unread
        try:
            await runtime.backlog.hold_until_fits(declared)
        except Overloaded:
            await _drain(request)  # so that the client can read the 503
            raise
    # Admitted once read, by what arrived: a client that declares a size and sends
    # nothing (or sends slowly) holds no share of the backlog.
    body = await _read_body(request, limit)
    runtime.backlog.admit(len(body))
    try:
        return await _store(runtime, body, key)
    finally:
        runtime.backlog.release(len(body))


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000)


async def _store(runtime: Runtime, body: bytes, key: IngestKey | None) -> Response:
    received_us = runtime.in_flight.enter()  # until stored or refused: the rollup watermark waits
    try:
        return await _store_received(runtime, body, key, received_us)
    finally:
        runtime.in_flight.leave(received_us)


async def _store_received(runtime: Runtime, body: bytes, key: IngestKey | None, received_us: int) -> Response:
    settings = runtime.settings
    limits: dict[str, Any] = {
        "max_events": settings.max_batch_events,
        "max_future_skew_us": settings.max_future_skew_ms * 1000,
        # An ingest key posts for its own customer, recent events only.
        "customer_id": key.customer_id if key is not None else None,
        "max_age_us": round(settings.max_event_age_days * 86_400e6) if key is not None else None,
        # Nobody posts before raw retention's cut: the event would be dropped before it is rolled
        # up, and rolling its hour up again would count it alone.
        "kept_from_us": _micros(settings.retention.raw_from(datetime.now(UTC))),
    }
    decoders = runtime.decoders
    try:
        if decoders is not None and decoders.takes(body):
            decoded = await decoders.decode(body, received_us=received_us, **limits)
            batch = IngestBatch.of_table(decoded.table(), decoded.event_ids, received_us, decoded.sent_index)
            rejected, clamped = decoded.rejected, decoded.clamped
        else:
            intake = read_body(body, received_us=received_us, **limits)
            batch = IngestBatch.of_events(intake.accepted, received_us)
            rejected, clamped = intake.rejected, intake.clamped
    except InvalidEvents as refused:
        every = [Rejection(r["index"], r["path"], r["message"]) for r in refused.details["rejected"]]
        runtime.ingest_usage.reject(every)
        if key is not None:
            runtime.access.limits.record(key, accepted=0, rejected=every)
        raise
    runtime.ingest_usage.reject(rejected)
    if key is not None:
        runtime.access.limits.admit_events(key, len(batch))  # 429 before anything is stored
        runtime.access.limits.record(key, accepted=len(batch), rejected=rejected)
    runtime.ingest_usage.events_accepted += len(batch)
    duplicates = await runtime.writer.write(batch)
    answer = {
        "accepted": len(batch),
        "stored": len(batch) - duplicates,
        "duplicates": duplicates,
        "rejected": [r.to_dict() for r in rejected],
        "clampedTimestamps": clamped,
    }
    return Response(_encode(answer), media_type="application/json")


def add_plain_route(app: FastAPI) -> None:
    """Serve `ingest` through a plain Starlette route, matched before `router`'s APIRoute.

    The endpoint takes only the Request, so FastAPI's per-request machinery around an
    APIRoute (dependency solving, exit stacks, scope bookkeeping) does nothing for it,
    yet measured ~50 µs per request: a third of a single-event POST. The APIRoute stays
    for the OpenAPI docs (and serves the path if this route is not installed).
    """
    app.add_route(PATH, ingest, methods=["POST"], include_in_schema=False)


def _check_media_type(content_type: str | None) -> None:
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media not in _ACCEPTED_MEDIA:
        raise UnsupportedMediaType(
            f"Content-Type {media!r} is not accepted: send application/json, "
            "or text/plain (navigator.sendBeacon)"
        )


def _check_encoding(encoding: str | None) -> None:
    """A compressed body would be read as broken JSON: say what it is instead."""
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding.strip()!r} is not accepted: send the JSON uncompressed"
        )


async def _refuse_declared_over(request: Request, limit: int) -> int | None:
    """413 for a body whose Content-Length is over `limit`, once the client could read it;
    else the declared length (None: not declared)."""
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    try:
        size = int(declared)
    except ValueError as exc:
        raise BadRequest("Content-Length is not a number") from exc
    if size > limit:
        await _drain(request)
        raise PayloadTooLarge(f"body of {size} bytes is over the limit of {limit}: split the batch")
    return size


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as more than `limit` bytes arrived, whatever was declared.

    Read from the ASGI channel itself, which says whether more is to come: a refused
    body is drained only if it is (waiting for more after the last chunk would wait
    for the client, which waits for the answer).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":  # the client left: nothing to answer
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            if more:
                await _drain(request)
            raise PayloadTooLarge(f"body is over the limit of {limit} bytes: split the batch")
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


async def _drain(request: Request) -> None:
    """Read and drop the rest of a refused body, up to `DRAIN_MAX_BYTES`.

    Closing a connection with unread bytes in its receive buffer makes the kernel send a
    reset, which discards the 413 before the client reads it: a browser sees a network
    error and retries the same batch forever. Reading the rest first (nginx's "lingering
    close") lets the client read the 413 and split the batch, as the SDK does.
    """
    drained = 0
    while drained <= DRAIN_MAX_BYTES:
        message = await request.receive()  # the raw ASGI channel: `stream()` is already taken
        if message["type"] != "http.request":  # http.disconnect
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
