"""Checks before any route: the Host is one this server answers to, no cross-site form, a size cap.

- **Host allowlist** (`WIDGET_MONITOR_ALLOWED_HOSTS`): a DNS-rebinding page makes the
  browser send its own host name to this server; refusing unknown Host values stops
  it. In open mode the default is the loopback names.
- **CSRF:** every state-changing request (POST, PUT, PATCH) except ingest must be
  `Content-Type: application/json`. A foreign page can send a form or a text/plain
  POST without a preflight, never a JSON one, so it can never resolve an alert or
  change the config, even in open mode. Ingest takes text/plain on purpose
  (sendBeacon) and is guarded by its keys instead. DELETE (revoking a key or token)
  is never a simple request: a browser preflights it, and CORS refuses foreign pages.
- **Size cap:** a request body on any route but ingest (which has its own limit) is
  read here, up to `WIDGET_MONITOR_MAX_REQUEST_BYTES`, before the route sees it; a
  larger one gets a 413 (a config document is a few KB).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest_api.access import LOOPBACK_NAMES
from ingest_api.routes.ingest import PATH as INGEST_PATH

_CHANGES = frozenset({"POST", "PUT", "PATCH"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK = frozenset(LOOPBACK_NAMES)


class RequestGuard:
    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str], max_request_bytes: int) -> None:
        self.app = app
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None and scope["path"] != INGEST_PATH and scope["method"] in _WITH_BODY:
            body = await _read_capped(receive, self.max_request_bytes)
            if body is None:
                problem = 413, "payload_too_large", f"request body over {self.max_request_bytes} bytes"
            else:
                receive = _replay(body, receive)
        if problem is None:
            await self.app(scope, receive, send)
            return
        await _answer(send, *problem)

    def _problem(self, scope: Scope) -> tuple[int, str, str] | None:
        open_mode = scope["app"].state.runtime.access.open_mode  # the app sets scope["app"] first
        allowed = self.allowed_hosts or (_LOOPBACK if open_mode else None)
        host = content_type = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"content-type":
                content_type = value
        if allowed is not None and _host_name(host) not in allowed:
            return (
                421,
                "unknown_host",
                "this server does not answer to that Host (WIDGET_MONITOR_ALLOWED_HOSTS)",
            )
        if scope["method"] in _CHANGES and scope["path"] != INGEST_PATH:
            media = (content_type or b"").split(b";", 1)[0].strip().lower()
            if media != b"application/json":
                return (
                    415,
                    "unsupported_media_type",
                    "changes take Content-Type: application/json only (a cross-site form cannot send it)",
                )
        return None


async def _read_capped(receive: Receive, cap: int) -> bytes | None:
    """The whole body, or None once more than `cap` bytes arrived (the rest is read and dropped,
    up to 16 × `cap`, so the client can read the 413 rather than meet a reset)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        size += len(message.get("body", b""))
        if size <= cap:
            chunks.append(message.get("body", b""))
        if not message.get("more_body", False) or size > 16 * cap:
            return b"".join(chunks) if size <= cap else None


def _replay(body: bytes, then: Receive) -> Receive:
    """A receive channel that gives `body` whole, then what the client's channel says (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _host_name(host: bytes | None) -> str | None:
    """The Host header without its port, lower case (`[::1]:8000` -> `[::1]`)."""
    if host is None:
        return None
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text.split("]", 1)[0] + "]"
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text
