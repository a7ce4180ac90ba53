"""One complete, valid example of each of the nine metric types, as a widget sends it."""

from __future__ import annotations

import copy
from typing import Any

# Every field of each type, in the seed's camelCase, with plausible values.
FULL_METRICS: dict[str, dict[str, Any]] = {
    "persistence": {
        "operation": "save",
        "success": False,
        "duration": 42.5,
        "conversationId": "conv_456",
        "errorType": "QuotaExceededError",
        "errorMessage": "The quota has been exceeded.",
        "dataLoss": True,
        "metadata": {"messageCount": 10, "storageType": "localStorage", "dataSize": 8192},
    },
    "restoration": {"success": True, "duration": 152.3, "messagesRestored": 8},
    "navigation": {
        "success": True,
        "dataPreserved": False,
        "duration": 78.4,
        "fromPage": "/pricing",
        "toPage": "/checkout",
    },
    "render": {
        "messageId": "msg_789",
        "renderTime": 12.3,
        "contentLength": 256,
        "hasMarkdown": True,
        "hasCodeBlocks": False,
    },
    "scroll": {
        "avgFps": 58.2,
        "minFps": 52.1,
        "jankPercentage": 3.2,
        "frameCount": 240,
        "scrollHeight": 4800,
        "messageCount": 35,
    },
    "memory": {"usedJSHeapSize": 28_639_232, "totalJSHeapSize": 33_554_432, "jsHeapSizeLimit": 4_294_705_152},
    "tabSync": {"latency": 32.5, "success": True, "operation": "broadcast", "tabCount": 3},
    "api": {
        "endpoint": "/api/chat",
        "method": "POST",
        "duration": 285.4,
        "status": 200,
        "success": True,
        "cached": False,
    },
    "bundle": {"name": "widget.js", "size": 458_752, "loadTime": 425.3, "cached": True},
}

# The fields each type cannot do without (the list).
REQUIRED: dict[str, tuple[str, ...]] = {
    "persistence": ("operation", "success", "duration"),
    "restoration": ("success", "duration"),
    "navigation": ("success", "dataPreserved", "duration"),
    "render": ("renderTime",),
    "scroll": ("avgFps",),
    "memory": ("usedJSHeapSize",),
    "tabSync": ("latency",),
    "api": ("duration", "success"),
    "bundle": ("loadTime",),
}

COMMON = {
    "sessionId": "session_123",
    "customerId": "acme",
    "widgetVersion": "2.4.1",
    "eventId": "ev-1",
}


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """The full example of `kind`, with `fields` replacing or adding to its metric."""
    metric = copy.deepcopy(FULL_METRICS[kind])
    metric.update(fields)
    return {"type": kind, "metric": metric}


def without(kind: str, field: str) -> dict[str, Any]:
    """The full example of `kind` with `field` left out."""
    body = event(kind)
    del body["metric"][field]
    return body
