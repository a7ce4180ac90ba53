"""A short-lived cache of rendered summaries (the seed's 30 s API response cache)."""

from __future__ import annotations

import time
from collections.abc import Hashable


class SummaryCache:
    """Rendered response bodies by request key, each kept for `ttl_s` seconds."""

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, bytes, str]] = {}

    def get(self, key: Hashable) -> tuple[bytes, str, float] | None:
        """The cached (body, media type, age in seconds), or None when absent or stale."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, body, media_type = entry
        age = time.monotonic() - stored_at
        if age >= self.ttl_s:
            del self._entries[key]
            return None
        return body, media_type, age

    def put(self, key: Hashable, body: bytes, media_type: str) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), body, media_type)

    def clear(self) -> None:
        self._entries.clear()
