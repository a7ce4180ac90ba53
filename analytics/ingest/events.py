"""The wire schema of the nine metric types a widget posts, in the seed's camelCase.

Each type is a msgspec Struct, so decoding and validating a body is one pass in C:
strict types (a string or a boolean where a number belongs is rejected, never
coerced), bounds on every number, and unknown fields ignored so that newer widgets
do not break an older server.
"""

from __future__ import annotations

from datetime import datetime
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Meta, Struct

from analytics.ingest.identifiers import INVISIBLE_MARKS, MAX_IDENTIFIER_LENGTH, MAX_TEXT_LENGTH

MAX_DURATION_MS = 3_600_000
MAX_BYTES = 2**40
MAX_COUNT = 2**31 - 1

DurationMs = Annotated[float, Meta(ge=0, le=MAX_DURATION_MS, description="milliseconds")]
Fps = Annotated[float, Meta(ge=0, le=1000, description="frames per second")]
Percentage = Annotated[float, Meta(ge=0, le=100)]
ByteSize = Annotated[int, Meta(ge=0, le=MAX_BYTES, description="bytes")]
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
HttpStatus = Annotated[int, Meta(ge=0, le=999)]
# One line of visible text: no control characters nor invisible marks (analytics.ingest.identifiers),
# checked by the intake (`IDENTIFIER_PATHS`) only for bodies that can hold one: a msgspec pattern would cost
# every batch ~1.4 µs per event. Free text (`Text`) may hold several lines.
Ident = Annotated[
    str,
    Meta(
        max_length=MAX_IDENTIFIER_LENGTH,
        # documented for schema readers (ECMA-262 dialect, as JSON Schema's), not run by msgspec
        extra_json_schema={"pattern": f"^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029{INVISIBLE_MARKS}]*$"},
    ),
]
Text = Annotated[str, Meta(max_length=MAX_TEXT_LENGTH)]
# ISO 8601 / RFC 3339 string, or epoch milliseconds (Date.now()).
Timestamp = datetime | Annotated[float, Meta(ge=0, le=1e14)]


# gc=False on every Struct here (subclasses inherit it): an event holds only scalars and
# nested event Structs, so it can never be part of a reference cycle, and a batch of a
# thousand events in flight then costs the cyclic garbage collector nothing.
class MetricBase(Struct, kw_only=True, gc=False):
    """Fields every metric may carry."""

    timestamp: Timestamp | None = None
    sessionId: Ident | None = None
    customerId: Ident | None = None
    widgetVersion: Ident | None = None
    eventId: Ident | None = None
    tabId: Ident | None = None
    seq: Count | None = None


class PersistenceMetadata(Struct, kw_only=True, gc=False):
    messageCount: Count | None = None
    storageType: Ident | None = None
    dataSize: ByteSize | None = None


class PersistenceMetric(MetricBase, kw_only=True):
    operation: Literal["save", "restore", "sync", "delete", "clear"]
    success: bool
    duration: DurationMs
    conversationId: Ident | None = None
    errorType: Ident | None = None
    errorMessage: Text | None = None
    dataLoss: bool = False
    metadata: PersistenceMetadata | None = None


class RestorationMetric(MetricBase, kw_only=True):
    success: bool
    duration: DurationMs
    messagesRestored: Count | None = None


class NavigationMetric(MetricBase, kw_only=True):
    success: bool
    dataPreserved: bool
    duration: DurationMs
    fromPage: Text | None = None
    toPage: Text | None = None


class RenderMetric(MetricBase, kw_only=True):
    renderTime: DurationMs
    messageId: Ident | None = None
    contentLength: Count | None = None
    hasMarkdown: bool | None = None
    hasCodeBlocks: bool | None = None


class ScrollMetric(MetricBase, kw_only=True):
    avgFps: Fps
    minFps: Fps | None = None
    jankPercentage: Percentage | None = None
    frameCount: Count | None = None
    scrollHeight: Count | None = None
    messageCount: Count | None = None


class MemoryMetric(MetricBase, kw_only=True):
    usedJSHeapSize: ByteSize
    totalJSHeapSize: ByteSize | None = None
    jsHeapSizeLimit: ByteSize | None = None


class TabSyncMetric(MetricBase, kw_only=True):
    latency: DurationMs
    success: bool | None = None
    operation: Ident | None = None
    tabCount: Count | None = None


class ApiMetric(MetricBase, kw_only=True):
    duration: DurationMs
    success: bool
    endpoint: Text | None = None
    method: Ident | None = None
    status: HttpStatus | None = None
    cached: bool | None = None


class BundleMetric(MetricBase, kw_only=True):
    loadTime: DurationMs
    name: Text | None = None
    size: ByteSize | None = None
    cached: bool | None = None


# The envelope {"type": ..., "metric": {...}}: one tagged Struct per type, so a whole
# body (one event or an array of them) decodes in a single msgspec call.
class PersistenceEvent(Struct, tag_field="type", tag="persistence", gc=False):
    metric: PersistenceMetric


class RestorationEvent(Struct, tag_field="type", tag="restoration", gc=False):
    metric: RestorationMetric


class NavigationEvent(Struct, tag_field="type", tag="navigation", gc=False):
    metric: NavigationMetric


class RenderEvent(Struct, tag_field="type", tag="render", gc=False):
    metric: RenderMetric


class ScrollEvent(Struct, tag_field="type", tag="scroll", gc=False):
    metric: ScrollMetric


class MemoryEvent(Struct, tag_field="type", tag="memory", gc=False):
    metric: MemoryMetric


class TabSyncEvent(Struct, tag_field="type", tag="tabSync", gc=False):
    metric: TabSyncMetric


class ApiEvent(Struct, tag_field="type", tag="api", gc=False):
    metric: ApiMetric


class BundleEvent(Struct, tag_field="type", tag="bundle", gc=False):
    metric: BundleMetric


WidgetEvent = (
    PersistenceEvent
    | RestorationEvent
    | NavigationEvent
    | RenderEvent
    | ScrollEvent
    | MemoryEvent
    | TabSyncEvent
    | ApiEvent
    | BundleEvent
)

EVENT_TYPES: tuple[str, ...] = (
    "persistence",
    "restoration",
    "navigation",
    "render",
    "scroll",
    "memory",
    "tabSync",
    "api",
    "bundle",
)


def _identifier_paths(cls: type) -> tuple[tuple[str, ...], ...]:
    """The paths of the `Ident` fields of a metric Struct, nested Structs included."""
    paths: list[tuple[str, ...]] = []
    for name, hint in get_type_hints(cls, include_extras=True).items():
        options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
        if Ident in options:
            paths.append((name,))
        for option in options:
            if isinstance(option, type) and issubclass(option, Struct):
                paths += [(name, *inner) for inner in _identifier_paths(option)]
    return tuple(paths)


# For each metric Struct, where its identifiers are: ("customerId",), ("metadata", "storageType"), ...
IDENTIFIER_PATHS: dict[type, tuple[tuple[str, ...], ...]] = {
    metric: _identifier_paths(metric)
    for metric in (get_type_hints(event)["metric"] for event in get_args(WidgetEvent))
}

body_decoder: msgspec.json.Decoder[list[WidgetEvent] | WidgetEvent] = msgspec.json.Decoder(
    list[WidgetEvent] | WidgetEvent
)
event_decoder: msgspec.json.Decoder[WidgetEvent] = msgspec.json.Decoder(WidgetEvent)
raw_list_decoder: msgspec.json.Decoder[list[msgspec.Raw]] = msgspec.json.Decoder(list[msgspec.Raw])
