"""A loopback HTTP proxy in front of a real server that refuses the first event POSTs.

Pages are loaded through the proxy (same origin), so the SDK's POSTs reach it; the first
`failures` of them get `status` (with `Retry-After` when given) or, with status "drop", a
closed connection; every later request is forwarded to the real server unchanged. `pages`
are answered by the proxy itself: a site of another origin on loopback.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

EVENTS_PATH = "/api/monitoring/widget"


@dataclass
class Arrival:
    """One POST of events as the proxy saw it."""

    at: float  # time.monotonic()
    body: bytes
    answered: int | str


@dataclass
class FlakyProxy:
    upstream: str
    status: int | str = 503
    retry_after: str | None = "2"
    failures: int = 1
    pages: dict[str, str] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                page = proxy.pages.get(self.path)
                if page is None:
                    proxy._forward(self, "GET", b"")
                    return
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith(EVENTS_PATH) and proxy._refuse(self, body):
                    return
                proxy._forward(self, "POST", body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _refuse(self, handler: BaseHTTPRequestHandler, body: bytes) -> bool:
        with self._lock:
            refuse = sum(1 for a in self.arrivals if a.answered != 200) < self.failures
            self.arrivals.append(Arrival(time.monotonic(), body, self.status if refuse else 200))
        if not refuse:
            return False
        if self.status == "drop":
            handler.close_connection = True
            handler.connection.shutdown(2)  # no answer at all: a network error in the page
            return True
        assert isinstance(self.status, int)
        handler.send_response(self.status)
        if self.retry_after is not None:
            handler.send_header("Retry-After", self.retry_after)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"{}")
        return True

    def _forward(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("content-type", "accept")}
        answer = httpx.request(
            method, self.upstream + handler.path, content=body, headers=headers, timeout=10
        )
        handler.send_response(answer.status_code)
        for name in ("content-type", "cache-control", "etag"):
            if name in answer.headers:
                handler.send_header(name, answer.headers[name])
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)
