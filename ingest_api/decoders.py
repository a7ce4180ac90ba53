"""Decoder processes: big batches are validated and turned into columns outside the server's GIL.

The event loop, the group-commit thread and DuckDB's own bookkeeping all need the
server's GIL; a 1000-event batch would hold it for milliseconds while msgspec and
Arrow work through its events. Bodies of at least `min_bytes` go to a small pool of
processes (`analytics.body_columns.decode_body`); what comes back is Arrow IPC that
the writer appends as is. Smaller bodies are cheaper to read in place than to ship.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from analytics.body_columns import DecodedBody, decode_body, warm_up

log = logging.getLogger(__name__)


class DecoderPool:
    """`processes` decoder processes, started (and warmed up) with the server."""

    def __init__(self, processes: int, *, min_bytes: int) -> None:
        self.processes = processes
        self.min_bytes = min_bytes
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Start the processes; without them (they could not start) bodies are read in place."""
        self._pool = self._new_pool()
        # Each process imports msgspec, Arrow and the schema once, now rather than
        # during the first batches.
        loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(loop.run_in_executor(self._pool, warm_up) for _ in range(self.processes)))
        except BrokenProcessPool:
            log.warning("decoder processes could not start: bodies are read in the server process")
            await self.stop()

    def pids(self) -> list[int]:
        """The decoder processes running now."""
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    def takes(self, body: bytes) -> bool:
        return self._pool is not None and len(body) >= self.min_bytes

    async def decode(
        self,
        body: bytes,
        *,
        received_us: int,
        max_events: int,
        max_future_skew_us: int,
        customer_id: str | None = None,
        max_age_us: int | None = None,
    ) -> DecodedBody:
        """`decode_body` in a decoder process (in this one if the pool broke: a process died)."""
        job = partial(
            decode_body,
            body,
            received_us=received_us,
            max_events=max_events,
            max_future_skew_us=max_future_skew_us,
            customer_id=customer_id,
            max_age_us=max_age_us,
        )
        pool = self._pool
        if pool is not None:
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, job)
            except BrokenProcessPool:
                if self._pool is pool:  # the first of the requests that were on it replaces it
                    log.warning("a decoder process died; starting a new pool")
                    self._replace_pool()
        return job()

    async def stop(self) -> None:
        """Stop taking bodies; the ones being decoded are finished first."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: never fork this process, whose threads (DuckDB's, the writer's) might
        # hold locks at that moment; and each decoder is a child of this process, so it
        # can tell when this process is gone.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            self.processes, mp_context=context, initializer=_exit_with_parent, initargs=(os.getpid(),)
        )
        _widen_pipes(pool)
        return pool

    def _replace_pool(self) -> None:
        broken, self._pool = self._pool, self._new_pool()
        self._pool.submit(warm_up)  # start the process now, not on the next big body
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)


# Bodies (up to 1 MiB) and their columns (~300 bytes per event) cross the pipes whole.
PIPE_BYTES = 1 << 20


def _widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Let a whole body or result sit in the pipes to and from the decoders.

    A Linux pipe holds 64 KiB by default: a 300 KiB batch then crosses in five blocking
    writes, each waiting for the other side to be scheduled, and the decoder sat idle
    between them. With 1 MiB pipes (the unprivileged maximum, /proc/sys/fs/pipe-max-size)
    the next body is there when the decoder is ready for it: 5-12 % more batched events
    per second measured. The queues are ProcessPoolExecutor internals; without them, or
    where the kernel refuses, the pipes keep their size.
    """
    for queue_name in ("_call_queue", "_result_queue"):
        writer = getattr(getattr(pool, queue_name, None), "_writer", None)
        try:
            fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        except (AttributeError, OSError) as exc:
            log.info("decoder pipe %s keeps its size: %s", queue_name, exc)


def _exit_with_parent(parent_pid: int) -> None:
    """In a decoder process: exit once the server is gone, even if it was killed (kill -9).

    A Ctrl-C in the terminal reaches the decoder too; the server's shutdown stops it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
