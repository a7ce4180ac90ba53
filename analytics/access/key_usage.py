"""What each ingest key's senders did since the server started: for spotting a leaked or noisy key.

Counted in memory by the server process (`ingest_api.access.KeyLimiter`), shown in
`GET /api/monitoring/keys` as `usage` and in `GET /metrics`. Rejected events are counted
by reason, a small closed set:

- `wrong_customer`: the event names a customer other than the key's (a key used on
  someone else's site, or a forged customerId);
- `too_old`: stamped before the oldest time a key may post (replayed or queued too long);
- `invalid`: anything else the intake refused by index (schema, JSON, control characters).

Answers refused whole are counted apart: 429 by the limit that was spent (`requests`,
`events`), and 403 for an `Origin` the key does not allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from analytics.ingest.intake import Rejection

REJECTION_REASONS = ("invalid", "too_old", "wrong_customer")
RATE_LIMITS = ("requests", "events")


def rejection_reason(rejection: Rejection) -> str:
    """The reason (one of `REJECTION_REASONS`) an event was refused for.

    Read from where the intake points and what it says there: the intake keeps no code of
    its own (tests/analytics/access/test_key_usage.py pins these against its real output).

    >>> wrong = "customerId 'b' is not this key's customer 'a'"
    >>> rejection_reason(Rejection(2, "$[2].metric.customerId", wrong))
    'wrong_customer'
    >>> rejection_reason(Rejection(0, "$.metric.renderTime", "Expected `float`, got `str`"))
    'invalid'
    """
    path, message = rejection.path, rejection.message
    if path.endswith(".metric.customerId") and message.startswith("customerId "):
        return "wrong_customer"
    if path.endswith(".metric.timestamp") and message.startswith("timestamp is "):
        return "too_old"
    return "invalid"


def _zeros(names: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


@dataclass(slots=True)
class KeyUsage:
    """One key's counters: requests, events accepted and rejected (by reason), 429s and 403s."""

    requests: int = 0  # past the origin check: answered 429 included
    events_accepted: int = 0  # valid and within the limits (duplicates included)
    rejected_by: dict[str, int] = field(default_factory=lambda: _zeros(REJECTION_REASONS))
    throttled_by: dict[str, int] = field(default_factory=lambda: _zeros(RATE_LIMITS))
    origin_refused: int = 0

    @property
    def events_rejected(self) -> int:
        return sum(self.rejected_by.values())

    @property
    def throttled(self) -> int:
        return sum(self.throttled_by.values())

    def reject(self, rejections: Iterable[Rejection]) -> None:
        """Count refused events by reason."""
        for rejection in rejections:
            self.rejected_by[rejection_reason(rejection)] += 1

    def to_wire(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "eventsAccepted": self.events_accepted,
            "eventsRejected": self.events_rejected,
            "throttled": self.throttled,
            "rejectedBy": dict(self.rejected_by),
            "throttledBy": dict(self.throttled_by),
            "originRefused": self.origin_refused,
        }
