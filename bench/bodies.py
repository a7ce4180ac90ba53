"""Request bodies for the ingest benchmark, shaped as a chat widget sends them.

Every event carries an eventId `"@ID@-<k>"`; the wrk script replaces `@ID@` with a
prefix unique to each request, so the server stores every event (a replayed eventId
would be deduplicated and cost the server almost nothing).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

ID_MARKER = "@ID@"

Metric = dict[str, Any]


def _common(rng: random.Random, now_ms: int, k: int) -> Metric:
    customer = rng.randrange(40)
    return {
        "timestamp": now_ms - rng.randrange(5_000),
        "sessionId": f"sess-{customer:03d}-{rng.randrange(10_000):05d}",
        "customerId": f"customer-{customer:03d}",
        "widgetVersion": rng.choice(["2.14.0", "2.14.1", "2.15.0-beta.2"]),
        "eventId": f"{ID_MARKER}-{k}",
    }


def _persistence(rng: random.Random) -> Metric:
    ok = rng.random() > 0.03
    metric: Metric = {
        "operation": rng.choice(["save", "save", "save", "restore", "sync", "delete", "clear"]),
        "success": ok,
        "duration": round(rng.lognormvariate(2.5, 0.6), 2),
        "conversationId": f"conv-{rng.randrange(100_000):06d}",
        "dataLoss": False,
        "metadata": {
            "messageCount": rng.randrange(1, 200),
            "storageType": rng.choice(["localStorage", "indexedDB"]),
            "dataSize": rng.randrange(200, 500_000),
        },
    }
    if not ok:
        metric |= {"errorType": "QuotaExceededError", "errorMessage": "The quota has been exceeded."}
    return metric


def _restoration(rng: random.Random) -> Metric:
    return {
        "success": rng.random() > 0.02,
        "duration": round(rng.lognormvariate(4.0, 0.5), 2),
        "messagesRestored": rng.randrange(0, 200),
    }


def _navigation(rng: random.Random) -> Metric:
    pages = ["/", "/pricing", "/docs/getting-started", "/account/settings", "/blog/2026/release"]
    return {
        "success": True,
        "dataPreserved": rng.random() > 0.01,
        "duration": round(rng.lognormvariate(3.0, 0.5), 2),
        "fromPage": rng.choice(pages),
        "toPage": rng.choice(pages),
    }


def _render(rng: random.Random) -> Metric:
    return {
        "messageId": f"msg-{rng.randrange(10**9):09d}",
        "renderTime": round(rng.lognormvariate(1.8, 0.6), 2),
        "contentLength": rng.randrange(1, 4_000),
        "hasMarkdown": rng.random() < 0.6,
        "hasCodeBlocks": rng.random() < 0.15,
    }


def _scroll(rng: random.Random) -> Metric:
    return {
        "avgFps": round(rng.uniform(45, 60), 1),
        "minFps": round(rng.uniform(20, 45), 1),
        "jankPercentage": round(rng.uniform(0, 8), 2),
        "frameCount": rng.randrange(30, 600),
        "scrollHeight": rng.randrange(800, 40_000),
        "messageCount": rng.randrange(1, 200),
    }


def _memory(rng: random.Random) -> Metric:
    used = rng.randrange(20, 120) * 1_048_576
    return {"usedJSHeapSize": used, "totalJSHeapSize": used + 16_777_216, "jsHeapSizeLimit": 4_294_705_152}


def _tab_sync(rng: random.Random) -> Metric:
    return {
        "latency": round(rng.lognormvariate(3.0, 0.5), 2),
        "success": rng.random() > 0.01,
        "operation": rng.choice(["broadcast", "receive"]),
        "tabCount": rng.randrange(1, 6),
    }


def _api(rng: random.Random) -> Metric:
    ok = rng.random() > 0.02
    return {
        "endpoint": rng.choice(["/api/chat/send", "/api/chat/history", "/api/session"]),
        "method": rng.choice(["POST", "GET"]),
        "duration": round(rng.lognormvariate(5.0, 0.7), 2),
        "status": 200 if ok else 503,
        "success": ok,
        "cached": rng.random() < 0.3,
    }


def _bundle(rng: random.Random) -> Metric:
    return {
        "name": rng.choice(["widget-core.js", "widget-markdown.js", "widget-styles.css"]),
        "size": rng.randrange(20_000, 250_000),
        "loadTime": round(rng.lognormvariate(4.5, 0.6), 2),
        "cached": rng.random() < 0.5,
    }


# The share of each type in a widget's traffic (renders and scroll samples dominate).
MIX: dict[str, tuple[Callable[[random.Random], Metric], int]] = {
    "render": (_render, 35),
    "scroll": (_scroll, 15),
    "persistence": (_persistence, 15),
    "api": (_api, 10),
    "memory": (_memory, 8),
    "tabSync": (_tab_sync, 5),
    "navigation": (_navigation, 5),
    "restoration": (_restoration, 4),
    "bundle": (_bundle, 3),
}


def event(kind: str, rng: random.Random, now_ms: int, k: int) -> dict[str, Any]:
    make, _ = MIX[kind]
    return {"type": kind, "metric": _common(rng, now_ms, k) | make(rng)}


def single_bodies(now_ms: int, count: int = 20, seed: int = 1) -> list[str]:
    """One render or persistence event per body, alternately."""
    rng = random.Random(seed)
    kinds = ["render", "persistence"]
    return [json.dumps(event(kinds[n % 2], rng, now_ms, 0)) for n in range(count)]


def batch_bodies(now_ms: int, size: int, count: int = 4, seed: int = 2) -> list[str]:
    """Arrays of `size` events of all nine types in the mix above, shuffled."""
    rng = random.Random(seed)
    kinds, weights = list(MIX), [w for _, w in MIX.values()]
    bodies = []
    for _ in range(count):
        chosen = list(kinds) + rng.choices(kinds, weights, k=size - len(kinds))
        rng.shuffle(chosen)
        bodies.append(json.dumps([event(kind, rng, now_ms, k) for k, kind in enumerate(chosen)]))
    return bodies
