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
        """`chunks`, keeping the slot alive while they move and giving it up when they end or are
        closed, also before the first one (a client gone before the answer started).

        >>> slots = ExportSlots(size=1)
        >>> first = slots.claim()
        >>> slots.claim() is None  # the one slot is taken
        True
        >>> b"".join(slots.held(first, iter([b"a", b"b"])))
        b'ab'
        >>> second = slots.claim()  # given up once the stream ended
        >>> slots.held(second, iter([b"never read"])).close()
        >>> slots.claim() is not None  # and once closed unread
        True
        """
        return _Held(self, holder, chunks)

    def _moved_now(self, holder: int) -> None:
        with self._lock:
            if holder in self._moved:
                self._moved[holder] = self.clock()


class _Held:
    """The chunks of one export, holding its slot (an iterator with `close`, as Starlette streams)."""

    def __init__(self, slots: ExportSlots, holder: int, chunks: Iterator[bytes]) -> None:
        self._slots, self._holder, self._chunks = slots, holder, chunks

    def __iter__(self) -> _Held:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except BaseException:  # the end (StopIteration) or a failure: the slot is free either way
            self.close()
            raise
        self._slots._moved_now(self._holder)
        return chunk

    def close(self) -> None:
        self._slots.release(self._holder)
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
