"""The notification channels a config may list, and the webhook and SMTP settings they need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.alerts.config_values import boolean, integer, mapping, no_unknown, string
from analytics.errors import InvalidConfig

CHANNELS = ("console", "webhook", "email")
MASK = "********"  # what GET shows instead of a password


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where and how to POST Alertmanager-style notifications."""

    url: str
    timeout_ms: int = 5_000
    max_attempts: int = 5
    backoff_ms: int = 500

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "timeoutMs": self.timeout_ms,
            "maxAttempts": self.max_attempts,
            "backoffMs": self.backoff_ms,
        }


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """An SMTP server and who gets the mail."""

    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_ms: int = 10_000

    def to_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """The wire form, the password masked unless `reveal_secrets`."""
        return {
            "host": self.host,
            "port": self.port,
            "from": self.sender,
            "to": list(self.recipients),
            "username": self.username,
            "password": self.password if reveal_secrets or not self.password else MASK,
            "starttls": self.starttls,
            "ssl": self.ssl,
            "timeoutMs": self.timeout_ms,
        }


def read_channels(doc: Mapping[str, Any], default: tuple[str, ...]) -> tuple[str, ...]:
    raw = doc.get("channels", list(default))
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidConfig("channels: must be a list such as ['console', 'webhook']")
    names = ["console" if x == "log" else x for x in raw]
    for name in names:
        if name not in CHANNELS:
            raise InvalidConfig(f"channels: unknown channel {name!r}; known: {', '.join(CHANNELS)}")
    return tuple(dict.fromkeys(names))


def read_webhook(raw: Any) -> WebhookSettings | None:
    if raw is None:
        return None
    doc = mapping(raw, "webhook")
    no_unknown(doc, {"url", "timeoutMs", "maxAttempts", "backoffMs"}, "webhook.")
    url = string(doc, "url", None, prefix="webhook.")
    if not url.startswith(("http://", "https://")):
        raise InvalidConfig(f"webhook.url: must start with http:// or https://, got {url!r}")
    return WebhookSettings(
        url=url,
        timeout_ms=integer(doc, "timeoutMs", 5_000, 100, 120_000, prefix="webhook."),
        max_attempts=integer(doc, "maxAttempts", 5, 1, 20, prefix="webhook."),
        backoff_ms=integer(doc, "backoffMs", 500, 0, 600_000, prefix="webhook."),
    )


def read_email(raw: Any, current: EmailSettings | None) -> EmailSettings | None:
    if raw is None:
        return None
    doc = mapping(raw, "email")
    keys = {"host", "port", "from", "to", "username", "password", "starttls", "ssl", "timeoutMs"}
    no_unknown(doc, keys, "email.")
    recipients = doc.get("to")
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not recipients or not all("@" in str(r) for r in recipients):
        raise InvalidConfig("email.to: must be a list of one or more e-mail addresses")
    sender = string(doc, "from", None, prefix="email.")
    if "@" not in sender:
        raise InvalidConfig(f"email.from: not an e-mail address: {sender!r}")
    password = doc.get("password")
    if password == MASK:
        password = current.password if current else None
    if password is not None and not isinstance(password, str):
        raise InvalidConfig("email.password: must be a string")
    username = doc.get("username")
    if username is not None and not isinstance(username, str):
        raise InvalidConfig("email.username: must be a string")
    return EmailSettings(
        host=string(doc, "host", None, prefix="email."),
        sender=sender,
        recipients=tuple(str(r) for r in recipients),
        port=integer(doc, "port", 25, 1, 65_535, prefix="email."),
        username=username,
        password=password,
        starttls=boolean(doc, "starttls", False, prefix="email."),
        ssl=boolean(doc, "ssl", False, prefix="email."),
        timeout_ms=integer(doc, "timeoutMs", 10_000, 100, 120_000, prefix="email."),
    )
