"""CORS by route: any page may reach ingest, /sdk and /demo; the rest only the listed origins.

Widgets post from thousands of customer sites, so ingest answers any `Origin` (an
ingest key may narrow that to its own origins, `ingest_api.access`). The read and
admin routes are for the dashboard and the operators' tools: only the origins in
`WIDGET_MONITOR_CORS_ORIGINS` (none by default), and never with credentials for `*`.

Starlette's CORSMiddleware wraps every response, adding `Vary: Origin` even to requests
without an `Origin` header: ~9 µs per request, 7 % of a single-event POST. A POST
without one (a server-side sender, a load test) goes straight to the app. GETs keep
`Vary: Origin` always, as a shared cache may store them.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest_api.access import KEY_HEADER
from ingest_api.routes.ingest import PATH as INGEST_PATH

_EXPOSE = ["Retry-After"]  # the browser SDK backs off as the server asks


def is_browser_route(scope: Scope) -> bool:
    """Whether pages on any site may make this request: ingest POSTs, the SDK script, the demo.

    The summary's GET shares ingest's path and is a read like any other.
    """
    path = scope["path"]
    if path == INGEST_PATH:
        method = scope["method"]
        if method == "OPTIONS":  # a preflight: for which method?
            method = next(
                (v.decode() for k, v in scope["headers"] if k == b"access-control-request-method"), ""
            )
        return method == "POST"
    return path.startswith(("/sdk/", "/demo/")) or path == "/demo"


class RouteCORSMiddleware:
    def __init__(self, app: ASGIApp, *, read_origins: Sequence[str]) -> None:
        self.app = app
        self.browser = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Content-Type", KEY_HEADER.decode()],
            expose_headers=_EXPOSE,
            max_age=86_400,
        )
        origins = [o for o in read_origins if o != "*"]
        self.private = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Content-Type", "Authorization"],
            expose_headers=_EXPOSE,
            allow_credentials=False,  # tokens travel in Authorization, never in cookies
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_browser_route(scope):
            if scope["method"] == "POST" and not _from_a_browser(scope):
                await self.app(scope, receive, send)
                return
            await self.browser(scope, receive, send)
            return
        await self.private(scope, receive, send)


def _from_a_browser(scope: Scope) -> bool:
    """Whether the request carries an `Origin` header (ASGI servers lowercase header names)."""
    return any(name == b"origin" for name, _ in scope["headers"])
