"""Decoder processes: big batches are validated and turned into columns outside the server's GIL.

The event loop, the group-commit thread and DuckDB's own bookkeeping all need the
server's GIL; a 1000-event batch would hold it for milliseconds while msgspec works
through its events. Bodies of at least `min_bytes` go to a small pool of processes
(`analytics.ingest.body_columns.decode_body`); what comes back is columns in Arrow's
memory layout, which the writer wraps and appends without a copy. Smaller bodies are
cheaper to read in place than to ship.
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
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.synchronize import Lock

from analytics.ingest.body_columns import DecodedBody, decode_body, warm_up
from ingest_api.lean_process import make_lean

log = logging.getLogger(__name__)


class DecoderPool:
    """`processes` decoder processes, started (and warmed up) with the server."""

    def __init__(self, processes: int, *, min_bytes: int) -> None:
        self.processes = processes
        self.min_bytes = min_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._pids: _ReportedPids | None = None  # the pids of `_pool`'s processes

    async def start(self) -> None:
        """Start the processes; without them (they could not start) bodies are read in place."""
        self._pool, self._pids = self._new_pool()
        # Each process imports msgspec and the schema once, now rather than
        # during the first batches.
        loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(loop.run_in_executor(self._pool, warm_up) for _ in range(self.processes)))
        except BrokenProcessPool:
            log.warning("decoder processes could not start: bodies are read in the server process")
            await self.stop()
            return
        # Every process has started; one that ran no warm-up may not have reported yet.
        pids = self._pids
        if pids is not None:
            await asyncio.to_thread(pids.read, wait_for=self.processes, timeout_s=10.0)

    def pids(self) -> list[int]:
        """The decoder processes running now."""
        pids = self._pids
        return pids.read() if pids is not None else []

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
        kept_from_us: int | None = None,
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
            kept_from_us=kept_from_us,
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
        pids, self._pids = self._pids, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)
        if pids is not None:
            pids.close()

    def _new_pool(self) -> tuple[ProcessPoolExecutor, _ReportedPids]:
        # spawn: never fork this process, whose threads (DuckDB's, the writer's) might
        # hold locks at that moment; and each decoder is a child of this process, so it
        # can tell when this process is gone.
        context = multiprocessing.get_context("spawn")
        pids = _ReportedPids(context)
        pool = ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_start_decoder,
            initargs=(os.getpid(), pids.writer, pids.writer_lock),
        )
        _widen_pipes(pool)
        return pool, pids

    def _replace_pool(self) -> None:
        broken, broken_pids = self._pool, self._pids
        self._pool, self._pids = self._new_pool()
        self._pool.submit(warm_up)  # start the process now, not on the next big body
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        if broken_pids is not None:
            broken_pids.close()


class _ReportedPids:
    """The pids of one pool's decoder processes: each sends its own as it starts.

    ProcessPoolExecutor has no public list of its processes. Its initializer runs once in
    every process it starts (the ones it starts later, on demand, too), so the pool's
    initializer (`_start_decoder`) sends `os.getpid()` down this pipe.
    """

    def __init__(self, context: SpawnContext) -> None:
        self._reader, self.writer = context.Pipe(duplex=False)
        self.writer_lock = context.Lock()  # the processes share the writing end
        self._read_lock = threading.Lock()
        self._pids: set[int] = set()

    def read(self, *, wait_for: int = 0, timeout_s: float = 0.0) -> list[int]:
        """The pids reported so far; waits up to `timeout_s` while there are fewer than `wait_for`."""
        deadline = time.monotonic() + timeout_s
        with self._read_lock:
            while not self._reader.closed:
                wait_s = deadline - time.monotonic() if len(self._pids) < wait_for else 0.0
                try:
                    if not self._reader.poll(max(wait_s, 0.0)):
                        break
                    self._pids.add(self._reader.recv())
                except (EOFError, OSError):
                    break
            return sorted(self._pids)

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
            self.writer.close()


# Bodies (up to 1 MiB) and their columns (~300 bytes per event) cross the pipes whole.
PIPE_BYTES = 1 << 20


def _widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Let a whole body or result sit in the pipes to and from the decoders.

    A Linux pipe holds 64 KiB by default: a 300 KiB batch then crosses in five blocking
    writes, each waiting for the other side to be scheduled, and the decoder sat idle
    between them. With 1 MiB pipes (the unprivileged maximum, /proc/sys/fs/pipe-max-size)
    the next body is there when the decoder is ready for it: 5-12 % more batched events
    per second measured.

    The one place that reads ProcessPoolExecutor internals: it has no public way to reach
    the pipes of its queues (`_call_queue`, `_result_queue` and their `_writer`). Where a
    Python release renames them, or the kernel refuses, the pipes keep their size and
    this is logged: slower big batches, never a failure.
    """
    for queue_name in ("_call_queue", "_result_queue"):
        writer = getattr(getattr(pool, queue_name, None), "_writer", None)
        try:
            fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        except (AttributeError, OSError) as exc:
            log.info("decoder pipe %s keeps its size: %s", queue_name, exc)


def _start_decoder(parent_pid: int, pids: Connection, pids_lock: Lock) -> None:
    """The initializer of each decoder process: report its pid (`_ReportedPids`), exit with the server."""
    make_lean(arrow=False)  # a decoder never loads pyarrow or numpy (~40 MB)
    _exit_with_parent(parent_pid)
    with pids_lock:
        pids.send(os.getpid())


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
