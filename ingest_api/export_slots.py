"""At most a few exports at once: each holds a copy of its rows on disk while its client reads it.

A viewer may export (docs/export-import.md), and every export is a full copy of its window's
rows under `<data_dir>/.exports/` (unlinked once open, its space held until the client has read
it) and a scan of the store: without a bound, a few concurrent exports took the memory of other
reads (422s) and their disk room. An export whose client has not read for `STALE_S` counts no
more (its file is still freed when its connection closes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

MAX_EXPORTS = 2
STALE_S = 300.0


class ExportSlots:
    """Who holds one of the `size` export slots, and when each one's stream last moved."""

    def __init__(self, size: int = MAX_EXPORTS, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._moved: dict[int, float] = {}
        self._last = 0

    def claim(self) -> int | None:
        """A slot (its holder's number), or None while `size` exports are moving."""
        with self._lock:
            now = self.clock()
            for holder, moved in list(self._moved.items()):
                if now - moved >= STALE_S:
                    del self._moved[holder]
            if len(self._moved) >= self.size:
                return None
            self._last += 1
            self._moved[self._last] = now
            return self._last

    def release(self, holder: int) -> None:
        with self._lock:
            self._moved.pop(holder, None)

    def held(self, holder: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """`chunks`, keeping the slot alive while they move and giving it up however they end.

        >>> slots = ExportSlots(size=1)
        >>> first = slots.claim()
        >>> slots.claim() is None  # the one slot is taken
        True
        >>> b"".join(slots.held(first, iter([b"a", b"b"])))
        b'ab'
        >>> slots.claim() is not None  # given up once the stream ended
        True
        """
        try:
            for chunk in chunks:
                with self._lock:
                    if holder in self._moved:
                        self._moved[holder] = self.clock()
                yield chunk
        finally:
            self.release(holder)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
