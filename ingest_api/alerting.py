"""The alerting system of a running server: its channels and the check loop in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from analytics.alerts.config import load_config_file
from analytics.alerts.system import AlertingSystem
from analytics.notify.dispatch import Dispatcher, channels_for
from analytics.store import EventStore
from ingest_api.settings import Settings

log = logging.getLogger(__name__)


class AlertService:
    """Owns the `AlertingSystem`, the notification `Dispatcher` and the periodic check."""

    def __init__(self, system: AlertingSystem, dispatcher: Dispatcher) -> None:
        self.system = system
        self.dispatcher = dispatcher
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.checks = 0
        self.failed_checks = 0

    @classmethod
    def start(cls, settings: Settings, store: EventStore) -> AlertService:
        """Load the config (a file given in the settings replaces the stored one) and start checking."""
        config = load_config_file(settings.alerts_config) if settings.alerts_config else None
        dispatcher = Dispatcher()
        system = AlertingSystem(
            store,
            config=config,
            notify=dispatcher.submit,
            future_skew=timedelta(milliseconds=settings.max_future_skew_ms),
        )
        dispatcher.configure(channels_for(system.config))
        system.on_config(lambda new: dispatcher.configure(channels_for(new)))
        service = cls(system, dispatcher)
        service._task = asyncio.create_task(service._run(), name="alert-checks")
        return service

    async def _run(self) -> None:
        while not self._stopping.is_set():
            interval = self.system.config.check_interval_ms / 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            if self._stopping.is_set():
                break
            try:
                await asyncio.to_thread(self.system.check)
                self.checks += 1
            except Exception:  # one failed check must not end the loop
                self.failed_checks += 1
                log.exception("alert check failed")

    async def stop(self) -> None:
        """Let a running check finish, stop the loop, then deliver what is still queued."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self.dispatcher.stop)
