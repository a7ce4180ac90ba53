"""Errors of the domain, each carrying what the HTTP layer needs to answer a client."""

from __future__ import annotations

from typing import Any


class MonitorError(Exception):
    """Root of every error widget-monitor raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the answer."""
        return {}


class BadRequest(MonitorError):
    """The request cannot be read at all: empty body, malformed JSON, bad query parameter."""

    status = 400
    code = "bad_request"


class InvalidQuery(MonitorError):
    """A query parameter names something unknown or asks for too much; the message lists what is valid."""

    status = 422
    code = "invalid_query"


class InvalidEvents(MonitorError):
    """Every event in the body failed validation; `rejected` says which field and why."""

    status = 422
    code = "invalid_events"


class PayloadTooLarge(MonitorError):
    """The body is over the byte limit or the batch holds too many events."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(MonitorError):
    """The body is neither application/json nor text/plain."""

    status = 415
    code = "unsupported_media_type"


class Unauthorized(MonitorError):
    """No credential, or one the server does not know (or has revoked)."""

    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="widget-monitor"'}


class Forbidden(MonitorError):
    """A valid credential that lacks the role, the customer or the origin for this request."""

    status = 403
    code = "forbidden"


class NotFound(MonitorError):
    """The thing asked for does not exist."""

    status = 404
    code = "not_found"


class InvalidConfig(MonitorError):
    """A configuration change was refused; the message says why."""

    status = 422
    code = "invalid_config"


class StoreUnavailable(MonitorError):
    """The store could not commit; nothing from this request was acknowledged."""

    status = 503
    code = "store_unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}  # a full disk or a failing store: not worth a retry sooner


class Overloaded(MonitorError):
    """More is waiting to be stored than the server takes on; nothing of this request was
    stored: send it again after `retry_after_s` seconds (the `Retry-After` header)."""

    status = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, retryAfterSeconds=retry_after_s)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RateLimited(MonitorError):
    """This key sent more requests or events per second than it may; nothing of this request
    was stored: send it again after `retry_after_s` seconds (the `Retry-After` header)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, retryAfterSeconds=retry_after_s)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Conflict(MonitorError):
    """The action does not apply to the thing in its current state (e.g. resolving a resolved alert)."""

    status = 409
    code = "conflict"


class StoreInUse(MonitorError):
    """Another process (a running server) holds the event store; stop it first."""

    status = 409
    code = "store_in_use"
