"""Per-key rate limits: token buckets for requests and events per second (Sentry Relay's model).

A bucket holds up to one second of its rate and refills continuously. A request takes
one token from the key's request bucket before its body is read, and as many tokens as
it holds events from the event bucket once it is decoded; when either is short, the
answer is 429 with `Retry-After` and nothing is stored.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

DEFAULT_REQUESTS_PER_S = 500.0
DEFAULT_EVENTS_PER_S = 50_000.0


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, holding at most `burst` (default: one second's worth)."""

    rate: float
    burst: float = 0.0
    tokens: float = field(default=-1.0)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.burst = self.burst or max(self.rate, 1.0)
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, n: float, now: float | None = None) -> float:
        """Take `n` tokens: 0.0 when there were enough, else the seconds until there will be.

        >>> b = TokenBucket(rate=10, tokens=10, updated=0.0)
        >>> b.take(10, now=0.0), b.take(5, now=0.0), b.take(5, now=0.5)
        (0.0, 0.5, 0.0)
        """
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if n > self.burst:  # more than a full bucket: allowed once it is full, and it empties it
            n = self.burst
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        return (n - self.tokens) / self.rate


def retry_after_s(wait_s: float) -> int:
    """Whole seconds for a `Retry-After` header (at least 1).

    >>> retry_after_s(0.01), retry_after_s(1.2)
    (1, 2)
    """
    return max(1, math.ceil(wait_s))
