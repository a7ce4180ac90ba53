"""The secret strings of ingest keys and API tokens: made, read back and compared.

A credential is `<prefix>_<id>_<secret>`: `wmk_` for an ingest key, `wmt_` for an API
token, a 12-hex-digit id that finds the record, and 32 random bytes (URL-safe base64).
Only the SHA-256 of the secret is stored; a presented secret is hashed and compared
with `hmac.compare_digest`, in constant time. A slow password hash buys nothing for
256 random bits, and would cost every ingest request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "wmk"
TOKEN_PREFIX = "wmt"
_ID_HEX = 12


@dataclass(frozen=True, slots=True)
class Secret:
    """A newly made credential: the string shown once, and what is stored of it."""

    id: str
    value: str
    digest: str


def new_secret(prefix: str) -> Secret:
    """A fresh credential with `prefix` (`wmk` or `wmt`).

    >>> s = new_secret("wmk")
    >>> ident, secret = parse(s.value, "wmk")
    >>> ident == s.id and matches(secret, s.digest)
    True
    """
    ident = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(32)
    return Secret(ident, f"{prefix}_{ident}_{secret}", digest_of(secret))


def parse(value: str, prefix: str) -> tuple[str, str] | None:
    """(id, secret) of a presented credential, or None when it is not one of `prefix`'s shape.

    >>> parse("wmt_0123456789ab_abc_def", "wmt")
    ('0123456789ab', 'abc_def')
    >>> parse("wmk_0123456789ab_abc", "wmt") is None
    True
    """
    head, sep, rest = value.partition("_")
    if head != prefix or not sep:
        return None
    ident, sep, secret = rest.partition("_")
    if len(ident) != _ID_HEX or not sep or not secret or len(secret) > 256:
        return None
    return ident, secret


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def matches(secret: str, digest: str) -> bool:
    """Whether `secret` hashes to `digest`, compared in constant time."""
    return hmac.compare_digest(digest_of(secret), digest)
