"""Admission of ingest requests: a bound on what waits to be stored, and a 503 beyond it.

Every request holds its body (and the columns made of it) until its group is committed.
Past the machine's pace (a spike, a slow disk) requests would pile up without end,
each answered later than the last, until clients time out and send it all again. So the
bytes of the bodies admitted and not yet answered are counted; a request that would take
them over the limit is refused at once with 503 and `Retry-After` (nothing of it stored),
which the browser SDK honours before it sends that batch again.
"""

from __future__ import annotations

from analytics.errors import Overloaded

# Seconds a refused client is asked to wait; the SDK backs off at least this long.
RETRY_AFTER_S = 2


class IngestBacklog:
    """Bytes of request bodies admitted and not yet answered, up to `max_bytes`.

    A request is always admitted when nothing else is waiting (so a body bigger than the
    limit, which `max_body_bytes` bounds anyway, is not refused for ever). Used from the
    event loop only, so it needs no lock.

    >>> backlog = IngestBacklog(max_bytes=100)
    >>> backlog.admit(80)
    >>> backlog.admit(30)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    analytics.errors.Overloaded: the server has 80 bytes of events waiting to be stored
    >>> backlog.release(80)
    >>> backlog.admit(30)
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.refused = 0

    def admit(self, size: int) -> None:
        """Hold `size` bytes of the backlog (give them back with `release`); raise
        `Overloaded` if they do not fit."""
        if self.bytes and self.bytes + size > self.max_bytes:
            self.refused += 1
            raise Overloaded(
                f"the server has {self.bytes} bytes of events waiting to be stored "
                f"(limit {self.max_bytes}): nothing of this request was stored; "
                f"send it again in {RETRY_AFTER_S} s",
                retry_after_s=RETRY_AFTER_S,
            )
        self.bytes += size

    def release(self, size: int) -> None:
        self.bytes -= size
