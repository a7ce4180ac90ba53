"""The OpenAPI document: FastAPI's own, with the ingest body it cannot see.

POST /api/monitoring/widget is a plain Starlette route that reads its body itself
(`analytics.ingest.intake`), so the APIRoute kept for the docs declares no body. The body's
schema comes from the msgspec Structs of `analytics.ingest.events`, turned into JSON Schema
by msgspec itself: the decoder and the docs read the same definition of every field.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import FastAPI
from msgspec import Meta

from analytics.ingest.events import WidgetEvent
from analytics.queries.summary_schema import export_schema, summary_schema
from ingest_api.access import KEY_HEADER
from ingest_api.routes.ingest import _ACCEPTED_MEDIA, PATH  # the route's own list of media types

REF_TEMPLATE = "#/components/schemas/{name}"


def ingest_openapi(app: FastAPI, *, max_events: int) -> dict[str, Any]:
    """FastAPI's schema of `app`, with the ingest operation's body and key parameters.

    Cached as FastAPI caches its own (`app.openapi_schema`, regenerated when routes
    change): the ingest operation is documented once in the cached document.
    """
    schema = FastAPI.openapi(app)
    operation = schema["paths"][PATH]["post"]
    if "requestBody" not in operation:
        _document_ingest(schema, operation, max_events)
        _document_summary(schema, schema["paths"][PATH]["get"])
    return schema


def _document_summary(schema: dict[str, Any], operation: dict[str, Any]) -> None:
    """The summary's answers: its JSON (from the figure registry), the export, Prometheus text."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["WidgetSummary"] = {"title": "WidgetSummary", **summary_schema()}
    components["WidgetSummaryExport"] = {"title": "WidgetSummaryExport", **export_schema()}
    refs = [{"$ref": REF_TEMPLATE.format(name=n)} for n in ("WidgetSummary", "WidgetSummaryExport")]
    operation.setdefault("responses", {}).setdefault("200", {})["content"] = {
        "application/json": {"schema": {"oneOf": refs}},
        "text/plain": {"schema": {"type": "string", "description": "format=prometheus"}},
    }


def ingest_body_schema(max_events: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The JSON Schema of an ingest body, and the definitions it refers to (`components.schemas`).

    A body is one event or an array of 1 to `max_events` events; an event is one of
    the nine types, told apart by its `type` (a discriminated union).

    >>> body, definitions = ingest_body_schema(1000)
    >>> body["anyOf"][1]["maxItems"], "RenderMetric" in definitions
    (1000, True)
    """
    batch = Annotated[
        list[WidgetEvent],
        Meta(min_length=1, max_length=max_events, description=f"A batch of 1 to {max_events} events"),
    ]
    (event, batch_schema), definitions = msgspec.json.schema_components(
        (WidgetEvent, batch), ref_template=REF_TEMPLATE
    )
    event_ref = {"$ref": REF_TEMPLATE.format(name="WidgetEvent")}
    # Named once: the batch's items are the same union as a single event.
    definitions["WidgetEvent"] = {
        "title": "WidgetEvent",
        "description": "One measurement; `type` says which `metric` object follows.",
        **event,
    }
    return {"anyOf": [event_ref, {**batch_schema, "items": event_ref}]}, definitions


def _document_ingest(schema: dict[str, Any], operation: dict[str, Any], max_events: int) -> None:
    body, definitions = ingest_body_schema(max_events)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    clashes = sorted(
        name for name in definitions if components.get(name, definitions[name]) != definitions[name]
    )
    if clashes:
        raise ValueError(f"OpenAPI component names taken by another schema: {', '.join(clashes)}")
    description = (
        f"One event, or a JSON array of 1 to {max_events} events; `text/plain` carries the same JSON "
        "text (what navigator.sendBeacon sends for a string)."
    )
    components.update(definitions)
    operation["parameters"] = [*operation.get("parameters", []), *_key_parameters()]
    operation["requestBody"] = {
        "required": True,
        "description": description,
        "content": {media: {"schema": body} for media in _ACCEPTED_MEDIA},
    }


def _key_parameters() -> list[dict[str, Any]]:
    said = (
        "The ingest key (`wmk_...`) naming the sender's customer; {where}. Not needed in open mode "
        "(no credential configured, loopback only), nor with an admin token (`Authorization: Bearer`)."
    )
    return [
        {
            "name": "key",
            "in": "query",
            "required": False,
            "description": said.format(where="the SDK sends it here, since sendBeacon sets no headers"),
            "schema": {"type": "string"},
        },
        {
            "name": KEY_HEADER.decode().title(),
            "in": "header",
            "required": False,
            "description": said.format(where="server-side senders may send it as this header instead"),
            "schema": {"type": "string"},
        },
    ]
