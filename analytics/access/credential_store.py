"""Ingest keys, API tokens and the audit log, in a small SQLite file of their own.

Apart from the event store on purpose: damage to one can never open or lock the
other, and the CLI can manage keys while the server (which holds the DuckDB file)
runs. The server keeps the active credentials in memory and notices changes made by
another process (`PRAGMA data_version`) within `RELOAD_INTERVAL_S`; its own changes
take effect at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from analytics.access import secrets
from analytics.access.rate_limit import DEFAULT_EVENTS_PER_S, DEFAULT_REQUESTS_PER_S
from analytics.access.roles import ENVIRONMENT_ADMIN, Principal, Role
from analytics.errors import InvalidConfig, NotFound
from analytics.ingest.identifiers import identifier_problem

FILE_NAME = "access.sqlite3"
RELOAD_INTERVAL_S = 1.0
MAX_ORIGINS = 50
MAX_RATE = 1e9
MAX_VERIFIED = 100_000  # key strings remembered as verified (bounded: only valid ones enter)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingest_keys (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, customer_id TEXT NOT NULL,
    allowed_origins TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL, revoked_at TEXT,
    requests_per_s REAL NOT NULL DEFAULT 500, events_per_s REAL NOT NULL DEFAULT 50000
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    customer_id TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, detail TEXT NOT NULL
);
"""


_RESERVED_NAMES = {ENVIRONMENT_ADMIN.name.casefold()}  # who WIDGET_MONITOR_ADMIN_TOKEN acts as


@dataclass(frozen=True, slots=True)
class IngestKey:
    """A public key that may only submit events, for its own customer, from its origins."""

    id: str
    customer_id: str
    allowed_origins: tuple[str, ...]
    created_at: str
    created_by: str
    revoked_at: str | None = None
    requests_per_s: float = DEFAULT_REQUESTS_PER_S
    events_per_s: float = DEFAULT_EVENTS_PER_S

    def allows_origin(self, origin: str | None) -> bool:
        """A request without `Origin` is not a browser's; with one, it must be listed (if any are)."""
        return origin is None or not self.allowed_origins or origin.lower() in self.allowed_origins

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customerId": self.customer_id,
            "allowedOrigins": list(self.allowed_origins),
            "rateLimit": {"requestsPerSecond": self.requests_per_s, "eventsPerSecond": self.events_per_s},
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "revokedAt": self.revoked_at,
        }


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token with a role, optionally scoped to one customer."""

    id: str
    name: str
    role: Role
    customer_id: str | None
    created_at: str
    created_by: str
    revoked_at: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.customer_id)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.name,
            "customerId": self.customer_id,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "revokedAt": self.revoked_at,
        }


@dataclass(slots=True)
class _Active:
    keys: dict[str, tuple[str, IngestKey]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, ApiToken]] = field(default_factory=dict)
    ever: int = 0  # keys and tokens ever made, revoked ones too
    verified: dict[str, IngestKey] = field(default_factory=dict)  # key string -> key, this version


class CredentialStore:
    """The access file of one data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._active = _Active()
        self._version = -1
        self._checked = 0.0
        self._reload()

    @classmethod
    def open(cls, data_dir: Path) -> CredentialStore:
        return cls(data_dir / FILE_NAME)

    def close(self) -> None:
        self._db.close()

    def backup_to(self, path: Path) -> None:
        """A consistent copy of the file at `path` (SQLite's online backup), taken while in use."""
        with self._lock:
            copy = sqlite3.connect(path)
            try:
                self._db.backup(copy)
            finally:
                copy.close()

    # -- reading (the request path: memory only, a version check once a second) ----------
    @property
    def empty(self) -> bool:
        """Whether no key or token was ever made here (then open mode may apply)."""
        self._maybe_reload()
        return self._active.ever == 0

    def verify_key(self, presented: str) -> IngestKey | None:
        """The active key `presented` names, or None.

        A key once verified (by its hash, in constant time) is remembered by its string
        until the credentials change: every widget request carries it, and the hash is
        most of the check's cost.
        """
        self._maybe_reload()
        active = self._active
        known = active.verified.get(presented)
        if known is not None:
            return known
        parsed = secrets.parse(presented, secrets.KEY_PREFIX)
        if parsed is None:
            return None
        found = active.keys.get(parsed[0])
        if found is None or not secrets.matches(parsed[1], found[0]):
            return None
        if len(active.verified) < MAX_VERIFIED:
            active.verified[presented] = found[1]
        return found[1]

    def verify_token(self, presented: str) -> ApiToken | None:
        """The active token `presented` names, or None."""
        parsed = secrets.parse(presented, secrets.TOKEN_PREFIX)
        if parsed is None:
            return None
        self._maybe_reload()
        found = self._active.tokens.get(parsed[0])
        if found is None or not secrets.matches(parsed[1], found[0]):
            return None
        return found[1]

    def ingest_keys(self) -> list[IngestKey]:
        rows = self._query("SELECT * FROM ingest_keys ORDER BY created_at, id")
        return [_key(row) for row in rows]

    def api_tokens(self) -> list[ApiToken]:
        rows = self._query("SELECT * FROM api_tokens ORDER BY created_at, id")
        return [_token(row) for row in rows]

    def audit(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Changes to keys, tokens and the alerting config, newest first."""
        rows = self._query("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
        return [
            {
                "at": row["at"],
                "actor": row["actor"],
                "action": row["action"],
                "target": row["target"],
                "detail": json.loads(row["detail"]),
            }
            for row in rows
        ]

    # -- changes --------------------------------------------------------------------------
    def create_key(
        self,
        customer_id: str,
        allowed_origins: Sequence[str] = (),
        *,
        by: str,
        requests_per_s: float = DEFAULT_REQUESTS_PER_S,
        events_per_s: float = DEFAULT_EVENTS_PER_S,
    ) -> tuple[IngestKey, str]:
        """A new key for `customer_id`, and its secret string (shown this once)."""
        _check_identifier("customerId", customer_id)
        origins = tuple(_origin(o) for o in allowed_origins)
        if len(origins) > MAX_ORIGINS:
            raise InvalidConfig(
                f"allowedOrigins lists {len(origins)} origins, over the limit of {MAX_ORIGINS}"
            )
        _check_rates(requests_per_s, events_per_s)
        made = secrets.new_secret(secrets.KEY_PREFIX)
        key = IngestKey(made.id, customer_id, origins, _now(), by, None, requests_per_s, events_per_s)
        with self._write() as db:
            db.execute(
                "INSERT INTO ingest_keys VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (
                    *(key.id, made.digest, customer_id, json.dumps(origins), key.created_at, by),
                    *(requests_per_s, events_per_s),
                ),
            )
            _audit(db, by, "key.create", key.id, key.to_wire())
        return key, made.value

    def set_key_limits(
        self, key_id: str, *, requests_per_s: float, events_per_s: float, by: str
    ) -> IngestKey:
        """Change an active key's rate limits; a running server applies them within a second."""
        _check_rates(requests_per_s, events_per_s)
        with self._write() as db:
            row = db.execute(
                "UPDATE ingest_keys SET requests_per_s = ?, events_per_s = ? "
                "WHERE id = ? AND revoked_at IS NULL RETURNING *",
                (requests_per_s, events_per_s, key_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no active ingest key {key_id!r}")
            key = _key(row)
            limits = {"requestsPerSecond": requests_per_s, "eventsPerSecond": events_per_s}
            _audit(db, by, "key.limits", key_id, limits)
        return key

    def revoke_key(self, key_id: str, *, by: str) -> IngestKey:
        with self._write() as db:
            row = db.execute(
                "UPDATE ingest_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING *",
                (_now(), key_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no active ingest key {key_id!r}")
            key = _key(row)
            _audit(db, by, "key.revoke", key_id, {"customerId": key.customer_id})
        return key

    def create_token(
        self, name: str, role: str, customer_id: str | None = None, *, by: str
    ) -> tuple[ApiToken, str]:
        """A new API token, and its secret string (shown this once)."""
        _check_identifier("name", name)
        if name.casefold() in _RESERVED_NAMES:  # the audit log would not tell the two apart
            raise InvalidConfig(f"the name {name!r} is the environment's admin token's: choose another")
        if customer_id is not None:
            _check_identifier("customerId", customer_id)
        try:
            parsed = Role.named(role)
        except ValueError as exc:
            raise InvalidConfig(str(exc)) from None
        made = secrets.new_secret(secrets.TOKEN_PREFIX)
        token = ApiToken(made.id, name, parsed, customer_id, _now(), by)
        with self._write() as db:
            db.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (token.id, made.digest, name, parsed.name, customer_id, token.created_at, by),
            )
            _audit(db, by, "token.create", token.id, {"name": name, "role": role, "customerId": customer_id})
        return token, made.value

    def revoke_token(self, token_id: str, *, by: str) -> ApiToken:
        with self._write() as db:
            row = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING *",
                (_now(), token_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no active API token {token_id!r}")
            token = _token(row)
            _audit(db, by, "token.revoke", token_id, {"name": token.name, "role": token.role.name})
        return token

    def record(self, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
        """Write one audit entry (e.g. a change of the alerting config)."""
        with self._write() as db:
            _audit(db, actor, action, target, detail)

    # -- internals ------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._reload_locked()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < RELOAD_INTERVAL_S:
            return
        with self._lock:
            self._checked = now
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._reload_locked()

    def _reload(self) -> None:
        with self._lock:
            self._reload_locked()

    def _reload_locked(self) -> None:
        active = _Active()
        for row in self._db.execute("SELECT * FROM ingest_keys"):
            active.ever += 1
            if row["revoked_at"] is None:
                active.keys[row["id"]] = (row["digest"], _key(row))
        for row in self._db.execute("SELECT * FROM api_tokens"):
            active.ever += 1
            if row["revoked_at"] is None:
                active.tokens[row["id"]] = (row["digest"], _token(row))
        self._active = active
        self._version = self._db.execute("PRAGMA data_version").fetchone()[0]
        self._checked = time.monotonic()


def _key(row: sqlite3.Row) -> IngestKey:
    return IngestKey(
        row["id"],
        row["customer_id"],
        tuple(json.loads(row["allowed_origins"])),
        row["created_at"],
        row["created_by"],
        row["revoked_at"],
        row["requests_per_s"],
        row["events_per_s"],
    )


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        row["id"],
        row["name"],
        Role.named(row["role"]),
        row["customer_id"],
        row["created_at"],
        row["created_by"],
        row["revoked_at"],
    )


def _audit(
    db: sqlite3.Connection, actor: str, action: str, target: str | None, detail: dict[str, Any]
) -> None:
    db.execute(
        "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (_now(), actor, action, target, json.dumps(detail)),
    )


def _check_rates(requests_per_s: float, events_per_s: float) -> None:
    for name, value in (("requestsPerSecond", requests_per_s), ("eventsPerSecond", events_per_s)):
        if not 0 < value <= MAX_RATE:
            raise InvalidConfig(f"rateLimit.{name} must be over 0 and at most {MAX_RATE:g}")


def _check_identifier(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidConfig(f"{name} must be a string")
    problem = identifier_problem(value)
    if problem is not None:
        raise InvalidConfig(f"{name} {problem}")


def _origin(value: Any) -> str:
    """An origin as browsers send it: scheme://host[:port], lower case, nothing more."""
    if not isinstance(value, str) or identifier_problem(value) is not None:
        raise InvalidConfig(f"allowedOrigins: {value!r} is not an origin such as https://shop.example")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 -- raises ValueError for a port out of range or not a number
    except ValueError:
        raise InvalidConfig(
            f"allowedOrigins: {value!r} is not an origin such as https://shop.example"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidConfig(f"allowedOrigins: {value!r} is not an origin such as https://shop.example")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidConfig(f"allowedOrigins: {value!r} is not an origin such as https://shop.example")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
