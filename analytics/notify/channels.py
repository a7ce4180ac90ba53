"""The three channels. Each `send` delivers a batch of notifications or raises `DeliveryFailed`."""

from __future__ import annotations

import functools
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import Protocol

import httpx

from analytics.alerts.alert import Notification
from analytics.alerts.channel_settings import EmailSettings, WebhookSettings
from analytics.notify.payload import alertmanager_payload

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
    """One line about a notification, e.g. `FIRING critical: Conversation data lost (acme)`."""
    a = n.alert
    if n.kind == "resolved":
        return f"RESOLVED {a['severity']}: {a['title']} (by {a['resolvedBy']})"
    if n.kind == "severity_changed":
        return f"SEVERITY {n.previous_severity} -> {a['severity']}: {a['title']}"
    return f"FIRING {a['severity']}: {a['title']}"


class ConsoleChannel:
    """Logs each notification at the level of its severity (logger `widget_monitor.alerts`)."""

    name = "console"

    def send(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            level = logging.INFO if n.kind == "resolved" else _LOG_LEVEL[n.alert["severity"]]
            log.log(level, "%s. %s [%s]", headline(n), n.alert["message"], n.alert["id"])


class WebhookChannel:
    """POSTs an Alertmanager webhook body, retrying with exponential backoff.

    Attempt k (from 0) waits `backoff_ms * 2**(k-1)` before it; transport errors, 429 and
    5xx are retried, any other 4xx is a permanent refusal.
    """

    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        external_url: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.external_url = external_url
        self._sleep = sleep

    def send(self, notifications: Sequence[Notification]) -> None:
        s = self.settings
        body = alertmanager_payload(notifications, self.external_url)
        last = ""
        with httpx.Client(timeout=s.timeout_ms / 1000, verify=_tls_context()) as client:
            for attempt in range(s.max_attempts):
                if attempt:
                    self._sleep(s.backoff_ms / 1000 * 2 ** (attempt - 1))
                try:
                    answer = client.post(s.url, json=body)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    continue
                if answer.is_success:
                    return
                last = f"HTTP {answer.status_code}"
                if answer.status_code < 500 and answer.status_code != 429:
                    raise DeliveryFailed(f"webhook {s.url} refused the notification: {last}")
        raise DeliveryFailed(f"webhook {s.url} failed {s.max_attempts} attempts; last: {last}")


class EmailChannel:
    """Sends one e-mail per batch over SMTP (plain, STARTTLS or SMTPS)."""

    name = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    def message(self, notifications: Sequence[Notification]) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.sender
        mail["To"] = ", ".join(s.recipients)
        if len(notifications) == 1:
            mail["Subject"] = f"[widget-monitor] {headline(notifications[0])}"
        else:
            kinds = sorted({n.kind for n in notifications})
            mail["Subject"] = f"[widget-monitor] {len(notifications)} alert changes ({', '.join(kinds)})"
        parts = []
        for n in notifications:
            a = n.alert
            scope = a["customerId"] or "all customers"
            parts.append(
                f"{headline(n)}\n{a['message']}\n"
                f"rule: {a['ruleId']}   category: {a['category']}   scope: {scope}\n"
                f"value: {a['value']:g}   threshold: {a['threshold']:g}   since: {a['createdAt']}\n"
                f"alert: {a['id']}\n"
            )
        mail.set_content("\n".join(parts))
        return mail

    def send(self, notifications: Sequence[Notification]) -> None:
        s = self.settings
        timeout = s.timeout_ms / 1000
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
                server.send_message(self.message(notifications))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"e-mail via {s.host}:{s.port} failed: {exc}") from exc
