"""Ingest work yields the CPU to reads when both want it.

Under saturated ingest every core is busy parsing, decoding and committing batches, and
a summary or a dashboard query gets no bigger share than each of those: it took seconds.
The decoder processes and the writer's thread run at a lower priority (a Linux niceness
of `INGEST_NICENESS`): alone they get all the CPU there is, and a read that wants some
gets it first. Ingest keeps its admission control: what it cannot store meanwhile is
answered 503 with Retry-After, as under any overload.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

INGEST_NICENESS = 10


def lower_this_thread() -> None:
    """Give the calling thread the ingest niceness (Linux: each thread has its own)."""
    if sys.platform != "linux":  # elsewhere the id of a thread is not a valid `who`
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), INGEST_NICENESS)


def lower_this_process() -> None:
    """Give the calling process (a decoder, at its start) the ingest niceness."""
    with contextlib.suppress(OSError):
        os.nice(INGEST_NICENESS - os.nice(0))
