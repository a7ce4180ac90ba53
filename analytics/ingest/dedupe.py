"""The client idempotency keys (`eventId`) seen recently, so that a retried event is stored once.

Browsers retry within seconds or minutes; keeping a day of keys in memory (reloaded
from the store at start-up) catches every realistic retry without a unique index,
which would cost DuckDB several times its insert speed.

Keys are kept per commit, oldest commit first, beside one set of all of them: adding
a commit's keys and forgetting the oldest commit's are each one set operation in C,
so the cost per key stays flat however many are held.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class RecentEventIds:
    """Event ids with the time (epoch µs) they were stored, forgotten oldest first.

    An id is forgotten once it is older than `horizon_s`, or earlier when more than
    `max_ids` are held (memory stays bounded under any load; the whole commit that
    stored the oldest ids is forgotten at once).

    >>> ids = RecentEventIds(horizon_s=60)
    >>> ids.add_many(["a"], 0)
    >>> "a" in ids
    True
    >>> ids.add_many(["b"], 61_000_000)  # "a" is now older than the horizon
    >>> "a" in ids, len(ids)
    (False, 1)
    """

    def __init__(self, horizon_s: float = 86_400, max_ids: int = 5_000_000) -> None:
        self.horizon_s = horizon_s
        self.max_ids = max_ids
        self._ids: set[str] = set()
        # (stored_us, ids) per commit, oldest first; a tuple costs 8 bytes per id, a set ~4x that
        self._commits: deque[tuple[int, tuple[str, ...]]] = deque()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def isdisjoint(self, event_ids: Iterable[str]) -> bool:
        """True when none of `event_ids` was stored recently (one C-level set operation)."""
        return self._ids.isdisjoint(event_ids)

    def add_many(self, event_ids: Iterable[str], stored_us: int) -> None:
        """Remember ids stored together at `stored_us` (none of them held already)."""
        added = tuple(event_ids)
        if added:
            self._ids.update(added)
            self._commits.append((stored_us, added))
        self._expire(stored_us - int(self.horizon_s * 1_000_000))

    def _expire(self, oldest_kept_us: int) -> None:
        commits = self._commits
        while commits and (commits[0][0] < oldest_kept_us or len(self._ids) > self.max_ids):
            _, forgotten = commits.popleft()
            self._ids.difference_update(forgotten)
