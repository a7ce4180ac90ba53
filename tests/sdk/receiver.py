"""A loopback HTTP server standing in for the ingest API: it records each POST and answers it.

It serves the SDK itself (`/sdk/widget-monitor.js`, from the working tree) and host pages
(`pages`: path -> HTML), so a page loaded from it posts its events here, same origin.
Every POST of events is recorded with its path and query as sent, and answered `status`:
200 with the server's answer shape (everything stored), or the status with an error body.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SDK_SCRIPT = Path(__file__).resolve().parents[2] / "sdk" / "widget-monitor.js"


@dataclass(frozen=True)
class Post:
    """One POST as it arrived."""

    at: float  # time.monotonic()
    target: str  # path and query, exactly as the browser sent them
    content_type: str
    fetch_mode: str  # Sec-Fetch-Mode: "cors" for fetch, "no-cors" for sendBeacon
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclass
class EventReceiver:
    status: int = 200
    pages: dict[str, str] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/sdk/widget-monitor.js":
                    self._answer(200, SDK_SCRIPT.read_bytes(), "text/javascript; charset=utf-8")
                elif path in receiver.pages:
                    self._answer(200, receiver.pages[path].encode(), "text/html; charset=utf-8")
                else:
                    self._answer(404, b'{"error":"not_found"}', "application/json")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                post = Post(
                    time.monotonic(),
                    self.path,
                    self.headers.get("Content-Type", ""),
                    self.headers.get("Sec-Fetch-Mode", ""),
                    body,
                )
                with receiver._lock:
                    receiver.posts.append(post)
                self._answer(*receiver._answer_to(body))

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _answer_to(self, body: bytes) -> tuple[int, bytes, str]:
        if self.status != 200:
            error = {"error": "unauthorized" if self.status == 401 else "forbidden", "message": "bad key"}
            return self.status, json.dumps(error).encode(), "application/json"
        events = json.loads(body)
        answer = {"stored": len(events), "rejected": [], "clampedTimestamps": 0}
        return 200, json.dumps(answer).encode(), "application/json"

    def received(self) -> list[Post]:
        with self._lock:
            return list(self.posts)

    def __enter__(self) -> EventReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
