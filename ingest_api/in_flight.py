"""The receipt times of ingest requests still being stored: up to when everything received is settled."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime


class InFlight:
    """Counts requests by their receipt time (µs) from receipt until stored or refused.

    `settled_before()` is a moment before which every event received is stored or was
    refused: the rollup watermark may move up to it (`analytics.rollups.maintain`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # entered on the event loop, read from the rollup thread
        self._received: Counter[int] = Counter()

    def enter(self, received_us: int) -> None:
        with self._lock:
            self._received[received_us] += 1

    def leave(self, received_us: int) -> None:
        with self._lock:
            self._received[received_us] -= 1
            if self._received[received_us] <= 0:
                del self._received[received_us]

    def settled_before(self) -> datetime:
        """The oldest receipt time in flight, or now (less a millisecond) when none is."""
        with self._lock:
            oldest = min(self._received, default=None)
        if oldest is None:
            oldest = time.time_ns() // 1000 - 1000
        return datetime.fromtimestamp(oldest / 1e6, tz=UTC)
