"""Two checks before any route: the Host is one this server answers to, and no cross-site form.

- **Host allowlist** (`WIDGET_MONITOR_ALLOWED_HOSTS`): a DNS-rebinding page makes the
  browser send its own host name to this server; refusing unknown Host values stops
  it. In open mode the default is the loopback names.
- **CSRF:** every state-changing request (POST, PUT, PATCH) except ingest must be
  `Content-Type: application/json`. A foreign page can send a form or a text/plain
  POST without a preflight, never a JSON one, so it can never resolve an alert or
  change the config, even in open mode. Ingest takes text/plain on purpose
  (sendBeacon) and is guarded by its keys instead. DELETE (revoking a key or token)
  is never a simple request: a browser preflights it, and CORS refuses foreign pages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from ingest_api.access import LOOPBACK_NAMES
from ingest_api.routes.ingest import PATH as INGEST_PATH

_CHANGES = frozenset({"POST", "PUT", "PATCH"})
_LOOPBACK = frozenset(LOOPBACK_NAMES)


class RequestGuard:
    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, code, message = problem
        body = json.dumps({"error": code, "message": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

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


def _host_name(host: bytes | None) -> str | None:
    """The Host header without its port, lower case (`[::1]:8000` -> `[::1]`)."""
    if host is None:
        return None
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text.split("]", 1)[0] + "]"
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text
