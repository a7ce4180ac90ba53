"""Real receivers on loopback: an HTTP webhook endpoint and an SMTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from analytics.outbound import OutboundPolicy
from tests.support.http_server import serving
from tests.support.server import free_port

# The receivers listen on loopback, which the default policy refuses: the tests allow it.
LOOPBACK = OutboundPolicy(["127.0.0.1"])


@dataclass
class WebhookReceiver:
    """Answers `fail_first` requests with `fail_status`, then 200; records every request."""

    fail_first: int = 0
    fail_status: int = 503
    location: str | None = None  # a Location header for the failing answers (a redirect)
    delay_s: float = 0.0
    requests: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    got: threading.Event = field(default_factory=threading.Event)

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]


@contextmanager
def webhook_receiver(**kwargs: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(**kwargs)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            receiver.requests.append((time.monotonic(), body))
            time.sleep(receiver.delay_s)
            failing = len(receiver.requests) <= receiver.fail_first
            self.send_response(receiver.fail_status if failing else 200)
            if failing and receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if not failing:
                receiver.got.set()

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as server:
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        yield receiver


class MailBox:
    """An aiosmtpd handler that keeps every envelope it receives (and every login tried)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.got = threading.Event()

    def refuse_login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """An aiosmtpd authenticator that records the credentials and refuses them."""
        self.logins.append((data.login, data.password))
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.got.set()
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(*, refuse_logins: bool = False) -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    auth: dict[str, Any] = (
        {"authenticator": box.refuse_login, "auth_require_tls": False} if refuse_logins else {}
    )
    controller = Controller(box, hostname="127.0.0.1", port=port, **auth)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
