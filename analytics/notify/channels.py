"""Console, webhook and e-mail channels. Each `send` delivers a batch of notifications or raises
`DeliveryFailed`; the Alertmanager channel (`alertmanager.py`) posts through `post_json` too."""

from __future__ import annotations

import functools
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from analytics.alerts.alert import Notification
from analytics.alerts.channel_settings import MASK, EmailSettings, WebhookSettings
from analytics.errors import InvalidConfig
from analytics.ingest.identifiers import one_line
from analytics.notify.payload import alertmanager_payload
from analytics.notify.redaction import redact_httpx_log
from analytics.outbound import OutboundPolicy, masked_url

log = logging.getLogger("widget_monitor.alerts")

_LOG_LEVEL = {
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle takes a good part of a second: do it once per process."""
    return ssl.create_default_context()


class DeliveryFailed(Exception):
    """A channel gave up on a batch after its retries."""


class Channel(Protocol):
    name: str

    def send(self, notifications: Sequence[Notification]) -> None: ...


def headline(n: Notification) -> str:
    """One line about a notification, e.g. `FIRING critical: Conversation data lost (acme)`.

    Control characters in what a user chose (a customer id in the title, the actor who
    resolved) are escaped, so the line is safe for a log or a mail subject.
    """
    a = n.alert
    if n.kind == "resolved":
        text = f"RESOLVED {a['severity']}: {a['title']} (by {a['resolvedBy']})"
    elif n.kind == "severity_changed":
        text = f"SEVERITY {n.previous_severity} -> {a['severity']}: {a['title']}"
    else:
        text = f"FIRING {a['severity']}: {a['title']}"
    return one_line(text)


def detail(n: Notification) -> str:
    """The alert's message; for a resolved one, said to be the last firing's (its value is not now's)."""
    message = str(n.alert["message"])
    return f"last firing: {message}" if n.kind == "resolved" else message


def _refusal(check: Callable[[], None]) -> str | None:
    """Why the outbound policy refuses a target now (DNS may have changed since the config was set)."""
    try:
        check()
    except InvalidConfig as exc:
        return exc.message
    return None


class ConsoleChannel:
    """Logs each notification at the level of its severity (logger `widget_monitor.alerts`)."""

    name = "console"

    def send(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            level = logging.INFO if n.kind == "resolved" else _LOG_LEVEL[n.alert["severity"]]
            log.log(level, "%s. %s [%s]", headline(n), one_line(detail(n)), one_line(n.alert["id"]))


class WebhookChannel:
    """POSTs an Alertmanager webhook body, retrying with exponential backoff (see `post_json`)."""

    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        external_url: str = "",
        sleep: Callable[[float], None] = time.sleep,
        *,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.external_url = external_url
        self.policy = policy or OutboundPolicy()
        self._sleep = sleep
        redact_httpx_log()

    def send(self, notifications: Sequence[Notification]) -> None:
        s = self.settings
        body = alertmanager_payload(notifications, self.external_url)
        post_json(
            "webhook",
            s.url,
            body,
            timeout_ms=s.timeout_ms,
            max_attempts=s.max_attempts,
            backoff_ms=s.backoff_ms,
            policy=self.policy,
            sleep=self._sleep,
        )


def post_json(
    what: str,
    url: str,
    body: Any,
    *,
    timeout_ms: int,
    max_attempts: int,
    backoff_ms: int,
    policy: OutboundPolicy,
    sleep: Callable[[float], None] = time.sleep,
    shown: str | None = None,
) -> None:
    """POST `body` as JSON to `url`, retrying with exponential backoff, or raise `DeliveryFailed`.

    Attempt k (from 0) waits `backoff_ms * 2**(k-1)` before it; transport errors, 429 and
    5xx are retried, any other 4xx and every redirect (never followed) is a permanent
    refusal. Before each attempt the URL's host is checked against `policy` again; a
    refused target is never contacted. Errors name the URL as `shown` (default: scheme and
    host only, `masked_url`), and `what` the receiver (`webhook`, `Alertmanager`).
    """
    shown = shown or masked_url(url)
    last = ""
    client = httpx.Client(timeout=timeout_ms / 1000, verify=_tls_context(), follow_redirects=False)
    with client:
        for attempt in range(max_attempts):
            if attempt:
                sleep(backoff_ms / 1000 * 2 ** (attempt - 1))
            refused = _refusal(lambda: policy.check_url(url))
            if refused is not None:
                raise DeliveryFailed(f"{what} {shown} not sent: {refused}")
            try:
                answer = client.post(url, json=body)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {_scrub(str(exc), url, shown)}"
                continue
            if answer.is_success:
                return
            last = f"HTTP {answer.status_code}"
            if answer.is_redirect:
                raise DeliveryFailed(f"{what} {shown} answered with a redirect, not followed: {last}")
            if answer.status_code < 500 and answer.status_code != 429:
                raise DeliveryFailed(f"{what} {shown} refused the notification: {last}")
    raise DeliveryFailed(f"{what} {shown} failed {max_attempts} attempts; last: {last}")


class EmailChannel:
    """Sends one e-mail per batch over SMTP (plain, STARTTLS or SMTPS)."""

    name = "email"

    def __init__(self, settings: EmailSettings, *, policy: OutboundPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or OutboundPolicy()

    def message(self, notifications: Sequence[Notification]) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        # Headers hold only the config's addresses and one-line text (`headline` escapes
        # control characters): a CR/LF from a customer id can neither add a header nor
        # make the message unsendable. Free text (the alert's message) goes to the body.
        mail["From"] = s.sender
        mail["To"] = ", ".join(s.recipients)
        if len(notifications) == 1:
            subject = f"[widget-monitor] {headline(notifications[0])}"
        else:
            kinds = sorted({n.kind for n in notifications})
            subject = f"[widget-monitor] {len(notifications)} alert changes ({', '.join(kinds)})"
        mail["Subject"] = one_line(subject)
        parts = []
        for n in notifications:
            a = n.alert
            scope = one_line(a["customerId"]) if a["customerId"] else "all customers"
            parts.append(
                f"{headline(n)}\n{detail(n)}\n"
                f"rule: {a['ruleId']}   category: {a['category']}   scope: {scope}\n"
                f"value: {a['value']:g}   threshold: {a['threshold']:g}   since: {a['createdAt']}\n"
                f"alert: {a['id']}\n"
            )
        mail.set_content("\n".join(parts))
        return mail

    def send(self, notifications: Sequence[Notification]) -> None:
        s = self.settings
        timeout = s.timeout_ms / 1000
        refused = _refusal(lambda: self.policy.check_host(s.host, s.port))
        if refused is not None:
            raise DeliveryFailed(f"e-mail via {s.host}:{s.port} not sent: {refused}")
        mail = self.message(notifications)
        try:
            if s.ssl:
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=timeout, context=_tls_context()
                )
            else:
                server = smtplib.SMTP(s.host, s.port, timeout=timeout)
            with server:
                if s.starttls:
                    server.starttls(context=_tls_context())
                if s.username:
                    server.login(s.username, s.password or "")
                # the envelope comes from the config, never from the message's headers
                server.send_message(mail, from_addr=s.sender, to_addrs=list(s.recipients))
        except (OSError, smtplib.SMTPException) as exc:
            reason = _scrub(str(exc), s.password, MASK)
            raise DeliveryFailed(f"e-mail via {s.host}:{s.port} failed: {reason}") from None


def _scrub(text: str, secret: str | None, shown: str) -> str:
    """`text` on one line, without `secret` (a URL or a password an error message might echo)."""
    if secret:
        text = text.replace(secret, shown)
    return one_line(text)
