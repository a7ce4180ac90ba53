"""Background jobs of the server: a blocking function run in a thread every N seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def run_every(interval_s: float, job: Callable[[], Any], name: str) -> asyncio.Task[None]:
    """Start `job` in a worker thread every `interval_s` seconds until the task is cancelled.

    A failing run is logged and the schedule goes on: one bad run must not stop the job.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(job)
            except Exception:
                log.exception("background job %s failed", name)

    return asyncio.create_task(loop(), name=name)


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
