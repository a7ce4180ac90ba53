"""Who a request acts as: open mode, the environment's admin token, API tokens, ingest keys.

Open mode (every request acts as admin, no credential asked) applies only while no
credential exists at all (no `WIDGET_MONITOR_ADMIN_TOKEN`, no key or token ever made)
and the server binds a loopback address; even then a request that came through a
proxy (`Forwarded`, `X-Forwarded-For`) is refused, so a reverse proxy in front of an
open server never hands the internet admin rights.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from analytics.access.credential_store import CredentialStore, IngestKey
from analytics.access.key_usage import KeyUsage
from analytics.access.rate_limit import TokenBucket, retry_after_s
from analytics.access.roles import ENVIRONMENT_ADMIN, OPEN_MODE, Principal, Role
from analytics.access.secrets import digest_of
from analytics.errors import Forbidden, RateLimited, Unauthorized
from analytics.ingest.intake import Rejection
from ingest_api.settings import Settings

KEY_HEADER = b"x-widget-monitor-key"
# Headers a proxy adds (any `X-Forwarded-*` too): in open mode, a request carrying one is refused.
PROXY_HEADERS = frozenset(
    {
        b"forwarded",
        b"forwarded-for",
        b"x-forwarded",
        b"x-real-ip",
        b"x-client-ip",
        b"true-client-ip",
        b"cf-connecting-ip",
        b"x-original-forwarded-for",
        b"x-proxyuser-ip",
        b"via",
    }
)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether binding `host` serves this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Sender:
    """Who posts events: an ingest key (its customer), or an admin (any customer, backfill)."""

    key: IngestKey | None
    principal: Principal

    @property
    def customer_id(self) -> str | None:
        return self.key.customer_id if self.key is not None else None


class KeyLimiter:
    """The token buckets and usage counters of each ingest key, in memory (per server process)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[IngestKey, TokenBucket, TokenBucket]] = {}
        self.usage: dict[str, KeyUsage] = {}
        self._keys: dict[str, IngestKey] = {}  # the keys `usage` counts, for their labels in /metrics

    def admit_request(self, key: IngestKey) -> None:
        """Take a request token, or raise `RateLimited` (429)."""
        requests, _ = self._of(key)
        self._usage(key).requests += 1
        self._refuse_if_waiting(key, requests.take(1), "requests")

    def admit_events(self, key: IngestKey, count: int) -> None:
        """Take `count` event tokens, or raise `RateLimited` (429): nothing is stored then."""
        _, events = self._of(key)
        self._refuse_if_waiting(key, events.take(count), "events")

    def record(self, key: IngestKey, *, accepted: int, rejected: Sequence[Rejection] = ()) -> None:
        """Count a request's events: `accepted` stored (or duplicates), `rejected` by reason."""
        usage = self._usage(key)
        usage.events_accepted += accepted
        if rejected:
            usage.reject(rejected)

    def refuse_origin(self, key: IngestKey) -> None:
        """Count a request refused (403) for an `Origin` the key does not allow: a copied key shows here."""
        self._usage(key).origin_refused += 1

    def keys_used(self) -> list[tuple[IngestKey, KeyUsage]]:
        """Each key that sent something since the server started, with its counters."""
        return [(self._keys[key_id], usage) for key_id, usage in self.usage.items()]

    def _refuse_if_waiting(self, key: IngestKey, wait_s: float, what: str) -> None:
        if wait_s > 0:
            self._usage(key).throttled_by[what] += 1
            rate = key.requests_per_s if what == "requests" else key.events_per_s
            raise RateLimited(
                f"this key may send {rate:g} {what} per second: slow down",
                retry_after_s=retry_after_s(wait_s),
            )

    def _of(self, key: IngestKey) -> tuple[TokenBucket, TokenBucket]:
        held = self._buckets.get(key.id)
        if held is None or (
            held[0] is not key  # a reload made a new record: did the limits change?
            and (held[0].requests_per_s, held[0].events_per_s) != (key.requests_per_s, key.events_per_s)
        ):
            held = (key, TokenBucket(key.requests_per_s), TokenBucket(key.events_per_s))
            self._buckets[key.id] = held
        return held[1], held[2]

    def _usage(self, key: IngestKey) -> KeyUsage:
        usage = self.usage.get(key.id)
        if usage is None:
            usage = self.usage[key.id] = KeyUsage()
            self._keys[key.id] = key
        return usage


class AccessControl:
    """The credentials of one server, and the rules that turn a request into a principal."""

    def __init__(self, settings: Settings, credentials: CredentialStore) -> None:
        self.credentials = credentials
        self.limits = KeyLimiter()
        self.loopback = is_loopback(settings.host)
        self.insecure = settings.insecure
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        self._admin_digest = digest_of(token) if token else None

    @property
    def open_mode(self) -> bool:
        """No credential exists, and the server serves loopback only (or was told `--insecure`)."""
        return self._admin_digest is None and (self.loopback or self.insecure) and self.credentials.empty

    def announce(self) -> None:
        """Say at start which mode the server runs in."""
        if self.open_mode:
            log.warning(
                "OPEN MODE: no credential is configured, so every request acts as admin. This is for "
                "trying widget-monitor on one machine only; set WIDGET_MONITOR_ADMIN_TOKEN to deploy it."
            )
        else:
            log.info("access control on: API tokens and ingest keys are required")

    def principal(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
        """The principal of a request with these (ASGI, lower-cased) headers; 401/403 otherwise."""
        authorization = proxied = None
        for name, value in headers:
            if name == b"authorization":
                authorization = value
            elif name in PROXY_HEADERS or name.startswith(b"x-forwarded-"):
                proxied = name
        if self._open_to(proxied):
            return OPEN_MODE
        if authorization is None:
            raise Unauthorized("sign in: send Authorization: Bearer <token>")
        return self._bearer(authorization)

    def sender(self, headers: Iterable[tuple[bytes, bytes]], query_string: bytes) -> Sender | None:
        """Who posts an ingest request (None in open mode).

        The key comes from the `key` query parameter (the SDK: sendBeacon sets no
        headers) or the `X-Widget-Monitor-Key` header (server-side senders); an admin
        token may post too (backfill, imports).
        """
        key: bytes | str | None = None
        authorization = origin = proxied = None
        for name, value in headers:
            if name == KEY_HEADER:
                key = value
            elif name == b"origin":
                origin = value
            elif name == b"authorization":
                authorization = value
            elif name in PROXY_HEADERS or name.startswith(b"x-forwarded-"):
                proxied = name
        if key is None and b"key=" in query_string:
            key = _query_value(query_string, "key")
        if self._open_to(proxied):
            return None
        if key is not None:
            found = self.credentials.verify_key(key.decode("latin-1") if isinstance(key, bytes) else key)
            if found is None:
                raise Unauthorized("unknown or revoked ingest key")
            text_origin = None if origin is None else origin.decode("latin-1")
            if not found.allows_origin(text_origin):
                self.limits.refuse_origin(found)
                raise Forbidden(f"this key does not accept events from the origin {text_origin!r}")
            return Sender(found, Principal(f"key {found.id}", Role.viewer, found.customer_id))
        if authorization is None:
            raise Unauthorized("send an ingest key: ?key=wmk_... or the X-Widget-Monitor-Key header")
        principal = self._bearer(authorization)
        if not principal.may(Role.admin) or principal.customer_id is not None:
            raise Forbidden("only ingest keys and unscoped admin tokens may post events")
        return Sender(None, principal)

    def _open_to(self, proxied: bytes | None) -> bool:
        """Whether open mode serves this request; a request through a proxy it refuses (403)."""
        if not self.open_mode:
            return False
        if proxied is not None:
            raise Forbidden(
                "this server runs in open mode (no credential configured) and the request came "
                "through a proxy: set WIDGET_MONITOR_ADMIN_TOKEN, then use API tokens and ingest keys"
            )
        return True

    def _bearer(self, authorization: bytes) -> Principal:
        scheme, _, value = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("send Authorization: Bearer <token>")
        token = value.strip()
        if self._admin_digest is not None and hmac.compare_digest(digest_of(token), self._admin_digest):
            return ENVIRONMENT_ADMIN
        found = self.credentials.verify_token(token)
        if found is None:
            raise Unauthorized("unknown or revoked API token")
        return found.principal


def _query_value(query_string: bytes, name: str) -> str | None:
    """The first value of `name` in a query string, percent-decoded.

    >>> _query_value(b"x=1&key=wmk_0123456789ab_a%2Db&key=second", "key")
    'wmk_0123456789ab_a-b'
    """
    prefix = name.encode() + b"="
    for pair in query_string.split(b"&"):
        if pair.startswith(prefix):
            return unquote(pair[len(prefix) :].decode("latin-1"), errors="replace")
    return None
