"""The client idempotency keys (`eventId`) seen recently, so that a retried event is stored once.

Browsers retry within seconds or minutes; keeping a day of keys in memory (reloaded
from the store at start-up) catches every realistic retry without a unique index,
which would cost DuckDB several times its insert speed.
"""

from __future__ import annotations

from collections.abc import Iterable


class RecentEventIds:
    """Event ids with the time (epoch µs) they were stored, oldest first.

    >>> ids = RecentEventIds(horizon_s=60)
    >>> ids.add("a", 0)
    >>> "a" in ids
    True
    >>> ids.add("b", 61_000_000)  # "a" is now older than the horizon
    >>> "a" in ids, len(ids)
    (False, 1)
    """

    def __init__(self, horizon_s: float = 86_400, max_ids: int = 5_000_000) -> None:
        self.horizon_s = horizon_s
        self.max_ids = max_ids
        self._stored_at: dict[str, int] = {}  # insertion-ordered: oldest first

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._stored_at

    def __len__(self) -> int:
        return len(self._stored_at)

    def isdisjoint(self, event_ids: Iterable[str]) -> bool:
        """True when none of `event_ids` was stored recently (one C-level set operation)."""
        return self._stored_at.keys().isdisjoint(event_ids)

    def add_many(self, event_ids: Iterable[str], stored_us: int) -> None:
        self._stored_at.update(dict.fromkeys(event_ids, stored_us))
        self._expire(stored_us - int(self.horizon_s * 1_000_000))

    def add(self, event_id: str, stored_us: int) -> None:
        self._stored_at[event_id] = stored_us
        self._expire(stored_us - int(self.horizon_s * 1_000_000))

    def _expire(self, oldest_kept_us: int) -> None:
        stored_at = self._stored_at
        while stored_at:
            first = next(iter(stored_at))
            if stored_at[first] >= oldest_kept_us and len(stored_at) <= self.max_ids:
                break
            del stored_at[first]
