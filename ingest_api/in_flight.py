"""The receipt times of ingest requests still being stored: up to when everything received is settled."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from analytics.rollups.maintain import EPOCH


class InFlight:
    """Counts requests by their receipt time (µs) from receipt until stored or refused.

    `settled_before()` is a moment up to which (inclusive) every event received is stored or
    was refused: the rollup watermark may move up to it (`analytics.rollups.maintain`). The
    receipt time is taken under the same lock that `settled_before` reads, so no request can
    be stamped before a moment already reported settled (a wall clock stepping back could;
    NTP slews rather than steps).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # entered on the event loop, read from the rollup thread
        self._received: Counter[int] = Counter()

    def enter(self) -> int:
        """Stamp a request's receipt (µs since the epoch) and hold it until `leave`."""
        with self._lock:
            received_us = time.time_ns() // 1000
            self._received[received_us] += 1
        return received_us

    def leave(self, received_us: int) -> None:
        with self._lock:
            self._received[received_us] -= 1
            if self._received[received_us] <= 0:
                del self._received[received_us]

    def settled_before(self) -> datetime:
        """Just before the oldest receipt in flight, or now when none is (both less 1 µs)."""
        with self._lock:
            oldest = min(self._received, default=None)
            if oldest is None:
                oldest = time.time_ns() // 1000
        return EPOCH + timedelta(microseconds=oldest - 1)
