"""Admission of ingest requests: a bound on what waits to be stored, and a 503 beyond it.

Every request holds its body (and the columns made of it) until its group is committed.
Past the machine's pace (a spike, a slow disk) requests would pile up without end,
each answered later than the last, until clients time out and send it all again. So the
bytes of the bodies admitted and not yet answered are counted; a request that would take
them over the limit is refused at once with 503 and `Retry-After` (nothing of it stored),
which the browser SDK honours before it sends that batch again.

A client that ignores Retry-After (a load generator, a retry loop) would otherwise send
its next batch the moment the 503 arrives: 512 such connections made ~700 refused
requests a second, whose bodies the event loop still has to read, and the reads that
share that loop waited behind them. So a request that finds the backlog full is held
for `HOLD_S` before its body is read (TCP holds the client back meanwhile: it can send
nothing more on that connection), then admitted if room was made, else refused.
"""

from __future__ import annotations

import asyncio

from analytics.errors import Overloaded

# Seconds a refused client is asked to wait; the SDK backs off at least this long.
RETRY_AFTER_S = 2
# Seconds a request that finds the backlog full waits, its body unread, before it is refused.
HOLD_S = 2.0


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

    def fits(self, size: int) -> bool:
        """Whether `size` more bytes would be admitted now."""
        return not self.bytes or self.bytes + size <= self.max_bytes

    async def hold_until_fits(self, size: int, hold_s: float = HOLD_S) -> None:
        """Before a body of `size` bytes is read: if it would not be admitted, wait `hold_s`
        once (the client sends nothing more meanwhile), then refuse it if it still would not."""
        if self.fits(size):
            return
        await asyncio.sleep(hold_s)
        if not self.fits(size):
            self.refuse()

    def admit(self, size: int) -> None:
        """Hold `size` bytes of the backlog (give them back with `release`); raise
        `Overloaded` if they do not fit."""
        if not self.fits(size):
            self.refuse()
        self.bytes += size

    def refuse(self) -> None:
        """Count a refusal and raise `Overloaded` (503, Retry-After)."""
        self.refused += 1
        raise Overloaded(
            f"the server has {self.bytes} bytes of events waiting to be stored "
            f"(limit {self.max_bytes}): nothing of this request was stored; "
            f"send it again in {RETRY_AFTER_S} s",
            retry_after_s=RETRY_AFTER_S,
        )

    def release(self, size: int) -> None:
        self.bytes -= size
