"""The notification channels a config may list, and the webhook, Alertmanager and SMTP settings they need.

Their secrets (the SMTP password, the full webhook and Alertmanager URLs) are write-only: the wire form
masks them, and a masked value sent back keeps the stored secret only where it is still
meant to go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from analytics.alerts.config_values import boolean, integer, mapping, no_unknown, string
from analytics.errors import InvalidConfig
from analytics.ingest.identifiers import identifier_problem
from analytics.outbound import OutboundPolicy, is_masked_url, masked_url

CHANNELS = ("console", "webhook", "email", "alertmanager")
MASK = "********"  # what GET shows instead of a password


@dataclass(frozen=True, slots=True)
class _HttpTarget:
    """An HTTP receiver posted to with retries; its `url` is a secret, masked in the wire form."""

    url: str = field(repr=False)
    timeout_ms: int = 5_000
    max_attempts: int = 5
    backoff_ms: int = 500

    def to_dict(self) -> dict[str, Any]:
        """The wire form, the URL masked."""
        return {
            "url": masked_url(self.url),
            "timeoutMs": self.timeout_ms,
            "maxAttempts": self.max_attempts,
            "backoffMs": self.backoff_ms,
        }


@dataclass(frozen=True, slots=True)
class WebhookSettings(_HttpTarget):
    """Where and how to POST Alertmanager-style notifications.

    The full `url` is a secret (its path or query often holds the receiver's token): the
    wire form shows it masked as scheme, host and port followed by `/…`, e.g.
    `https://hooks.example.com/…` (see `analytics.outbound.masked_url`).
    """


@dataclass(frozen=True, slots=True)
class AlertmanagerSettings(_HttpTarget):
    """A Prometheus Alertmanager to push alerts to (`POST {url}/api/v2/alerts`).

    `url` is its base URL (`http://alertmanager:9093`, or with the route prefix it is
    served under). It is a secret as the webhook URL is (it may carry credentials, e.g.
    `https://user:pw@am.example.com`): the wire form shows it masked the same way.
    """

    max_attempts: int = 3

    @property
    def alerts_url(self) -> str:
        """Where alerts are posted: Alertmanager's API v2."""
        return f"{self.url.rstrip('/')}/api/v2/alerts"


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """An SMTP server and who gets the mail."""

    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout_ms: int = 10_000

    def password_binding(self) -> tuple[Any, ...]:
        """Where and how the password goes: a change to any of these drops a kept password."""
        return (self.host, self.port, self.username, self.starttls, self.ssl)

    def to_dict(self) -> dict[str, Any]:
        """The wire form, the password masked (`MASK`, or null when there is none)."""
        return {
            "host": self.host,
            "port": self.port,
            "from": self.sender,
            "to": list(self.recipients),
            "username": self.username,
            "password": MASK if self.password else None,
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


def read_webhook(raw: Any, current: WebhookSettings | None = None) -> WebhookSettings | None:
    """The webhook settings of a config document.

    The masked URL GET shows keeps `current`'s URL when scheme, host and port are the same;
    any other change needs the full new URL, which replaces the stored one with its secrets.
    """
    if raw is None:
        return None
    url, doc = _http_target(raw, current.url if current else None, "webhook")
    return WebhookSettings(
        url=url,
        timeout_ms=integer(doc, "timeoutMs", 5_000, 100, 120_000, prefix="webhook."),
        max_attempts=integer(doc, "maxAttempts", 5, 1, 20, prefix="webhook."),
        backoff_ms=integer(doc, "backoffMs", 500, 0, 600_000, prefix="webhook."),
    )


def read_alertmanager(raw: Any, current: AlertmanagerSettings | None = None) -> AlertmanagerSettings | None:
    """The Alertmanager settings of a config document; its URL is kept or replaced as the webhook's."""
    if raw is None:
        return None
    url, doc = _http_target(raw, current.url if current else None, "alertmanager")
    return AlertmanagerSettings(
        url=url,
        timeout_ms=integer(doc, "timeoutMs", 5_000, 100, 120_000, prefix="alertmanager."),
        max_attempts=integer(doc, "maxAttempts", 3, 1, 20, prefix="alertmanager."),
        backoff_ms=integer(doc, "backoffMs", 500, 0, 600_000, prefix="alertmanager."),
    )


def _http_target(raw: Any, current_url: str | None, section: str) -> tuple[str, Mapping[str, Any]]:
    """The URL of a `webhook`-like section (the masked form keeping `current_url`), and the section."""
    doc = mapping(raw, section)
    no_unknown(doc, {"url", "timeoutMs", "maxAttempts", "backoffMs"}, f"{section}.")
    url = string(doc, "url", None, prefix=f"{section}.")
    if is_masked_url(url):
        if current_url is None or masked_url(current_url) != url:
            raise InvalidConfig(
                f"{section}.url: {url} is the masked form GET shows; it keeps the stored URL only for "
                "the same scheme, host and port: give the full new URL"
            )
        url = current_url
    problem = identifier_problem(url, max_length=2048)
    if problem is not None:
        raise InvalidConfig(f"{section}.url: {problem}")
    if not url.startswith(("http://", "https://")):
        raise InvalidConfig(f"{section}.url: must start with http:// or https://, got {masked_url(url)}")
    return url, doc


def read_email(raw: Any, current: EmailSettings | None = None) -> EmailSettings | None:
    """The SMTP settings of a config document.

    The mask GET shows for the password keeps `current`'s password only while host, port,
    username, `starttls` and `ssl` stay the same; a change to any of them without a new
    password drops it, so the stored password is never sent to a server it was not meant for.
    """
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
    for recipient in recipients:
        _one_line(str(recipient), "email.to")
    sender = _one_line(string(doc, "from", None, prefix="email."), "email.from")
    if "@" not in sender:
        raise InvalidConfig(f"email.from: not an e-mail address: {sender!r}")
    username = doc.get("username")
    if username is not None and not isinstance(username, str):
        raise InvalidConfig("email.username: must be a string")
    settings = EmailSettings(
        host=_one_line(string(doc, "host", None, prefix="email."), "email.host"),
        sender=sender,
        recipients=tuple(str(r) for r in recipients),
        port=integer(doc, "port", 25, 1, 65_535, prefix="email."),
        username=None if username is None else _one_line(username, "email.username"),
        starttls=boolean(doc, "starttls", False, prefix="email."),
        ssl=boolean(doc, "ssl", False, prefix="email."),
        timeout_ms=integer(doc, "timeoutMs", 10_000, 100, 120_000, prefix="email."),
    )
    password = doc.get("password")
    if password == MASK:
        same_server = current is not None and current.password_binding() == settings.password_binding()
        password = current.password if same_server and current is not None else None
    if password is not None and not isinstance(password, str):
        raise InvalidConfig("email.password: must be a string")
    return replace(settings, password=password or None)


def check_targets(
    policy: OutboundPolicy,
    *,
    webhook: WebhookSettings | None = None,
    email: EmailSettings | None = None,
    alertmanager: AlertmanagerSettings | None = None,
) -> None:
    """Refuse a webhook or Alertmanager URL, or an SMTP host, the outbound policy does not allow
    (named by host only)."""
    for section, target in (("webhook", webhook), ("alertmanager", alertmanager)):
        if target is not None:
            try:
                policy.check_url(target.url)
            except InvalidConfig as exc:
                raise InvalidConfig(f"{section}.url: {exc.message}") from None
    if email is not None:
        try:
            policy.check_host(email.host, email.port)
        except InvalidConfig as exc:
            raise InvalidConfig(f"email.host: {exc.message}") from None


def _one_line(value: str, path: str) -> str:
    problem = identifier_problem(value)
    if problem is not None:
        raise InvalidConfig(f"{path}: {problem}")
    return value
