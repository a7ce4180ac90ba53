"""The alerting system of a running server: its channels and the check loop in the background."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from analytics.alerts.config import load_config_file
from analytics.alerts.system import AlertingSystem
from analytics.notify.dispatch import Dispatcher, channels_for
from analytics.outbound import OutboundPolicy
from analytics.storage.store import EventStore
from analytics.timings import Timings
from ingest_api.settings import Settings

log = logging.getLogger(__name__)


class AlertService:
    """Owns the `AlertingSystem`, the notification `Dispatcher` and the periodic check."""

    def __init__(self, system: AlertingSystem, dispatcher: Dispatcher) -> None:
        self.system = system
        self.dispatcher = dispatcher
        self._stopping = asyncio.Event()
        self._reconfigured = asyncio.Event()  # a new checkIntervalMs applies now, not after the old wait
        self._task: asyncio.Task[None] | None = None
        self.checks = 0
        self.failed_checks = 0
        self.check_seconds = Timings()
        self.open_alerts = 0  # after the last check

    @classmethod
    def start(cls, settings: Settings, store: EventStore) -> AlertService:
        """Load the config (a file given in the settings replaces the stored one) and start checking.

        `settings.outbound_allow` lists the internal hosts the webhook, Alertmanager and SMTP
        channels may reach; without it they may reach public hosts only.
        """
        policy = OutboundPolicy(settings.outbound_allow)  # refuses a malformed entry: no start
        config = load_config_file(settings.alerts_config, policy=policy) if settings.alerts_config else None
        dispatcher = Dispatcher()
        system = AlertingSystem(
            store,
            config=config,
            notify=dispatcher.submit,
            future_skew=timedelta(milliseconds=settings.max_future_skew_ms),
            policy=policy,
        )
        dispatcher.configure(channels_for(system.config, policy))
        system.on_config(lambda new: dispatcher.configure(channels_for(new, policy)))
        system.on_check(dispatcher.after_check)  # Alertmanager forgets alerts not pushed again
        service = cls(system, dispatcher)
        loop = asyncio.get_running_loop()
        # config changes arrive on worker threads: wake the loop through the event loop
        system.on_config(lambda new: loop.call_soon_threadsafe(service._reconfigured.set))
        service._task = asyncio.create_task(service._run(), name="alert-checks")
        return service

    async def _run(self) -> None:
        while not self._stopping.is_set():
            interval = self.system.config.check_interval_ms / 1000
            self._reconfigured.clear()
            stop = asyncio.ensure_future(self._stopping.wait())
            reconfigure = asyncio.ensure_future(self._reconfigured.wait())
            await asyncio.wait({stop, reconfigure}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (stop, reconfigure):
                waiter.cancel()
            if self._stopping.is_set():
                break
            if self._reconfigured.is_set():
                continue  # start a new wait with the new interval
            started = time.perf_counter()
            try:
                report = await asyncio.to_thread(self.system.check)
                self.checks += 1
                self.open_alerts = len(report.open_alerts)
                self.check_seconds.observe(time.perf_counter() - started)
            except Exception:  # one failed check must not end the loop
                self.failed_checks += 1
                log.exception("alert check failed")

    async def stop(self) -> None:
        """Let a running check finish, stop the loop, then deliver what is still queued."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self.dispatcher.stop)
