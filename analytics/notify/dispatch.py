"""Delivery in the background: one worker thread and queue per channel.

`submit` only enqueues, so ingest and the check loop never wait for a receiver; a
channel that retries (the webhook) delays only its own later deliveries. Outcomes are
counted per channel (one per notification, or per alert pushed again) and failures logged.

`after_check` hands the open alerts of each check to the channels that must hear them
again while they last (Alertmanager, see `alertmanager.py`); a re-send still queued when
the next one arrives is dropped, so a dead receiver cannot make them pile up.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from analytics.alerts.alert import Notification
from analytics.alerts.config import AlertingConfig
from analytics.ingest.identifiers import one_line
from analytics.notify.alertmanager import AlertmanagerChannel
from analytics.notify.channels import Channel, ConsoleChannel, DeliveryFailed, EmailChannel, WebhookChannel
from analytics.outbound import OutboundPolicy

if TYPE_CHECKING:
    from analytics.alerts.system import CheckReport

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ChannelStats:
    delivered: int = 0
    failed: int = 0
    last_error: str | None = None


@runtime_checkable
class Resending(Protocol):
    """A channel that must be told about every open alert again after each check."""

    def resend(self, alerts: Sequence[dict[str, Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class _Resend:
    alerts: list[dict[str, Any]]
    generation: int


def channels_for(config: AlertingConfig, policy: OutboundPolicy | None = None) -> list[Channel]:
    """The channels a config asks for; `policy` guards each send (default: no internal host)."""
    policy = policy or OutboundPolicy()
    out: list[Channel] = []
    for name in config.channels:
        if name == "console":
            out.append(ConsoleChannel())
        elif name == "webhook" and config.webhook is not None:
            out.append(WebhookChannel(config.webhook, config.external_url, policy=policy))
        elif name == "email" and config.email is not None:
            out.append(EmailChannel(config.email, policy=policy))
        elif name == "alertmanager" and config.alertmanager is not None:
            out.append(AlertmanagerChannel(config.alertmanager, config.external_url, policy=policy))
    return out


class _Worker:
    def __init__(self, channel: Channel, stats: ChannelStats) -> None:
        self.channel = channel
        self.stats = stats
        self.queue: queue.Queue[Sequence[Notification] | _Resend | None] = queue.Queue()
        self.resends = 0  # the generation of the newest re-send queued
        self.thread = threading.Thread(target=self._run, name=f"notify-{channel.name}", daemon=True)
        self.thread.start()

    def resend(self, alerts: list[dict[str, Any]]) -> None:
        self.resends += 1
        self.queue.put(_Resend(alerts, self.resends))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            channel = self.channel
            if not isinstance(item, _Resend):
                self._deliver(len(item), functools.partial(channel.send, item))
            elif item.generation == self.resends and isinstance(channel, Resending):
                self._deliver(len(item.alerts), functools.partial(channel.resend, item.alerts))

    def _deliver(self, count: int, send: Callable[[], None]) -> None:
        try:
            send()
            self.stats.delivered += count
        except DeliveryFailed as exc:
            self.stats.failed += count
            self.stats.last_error = one_line(str(exc))
            log.error("notification of %d alert change(s) lost: %s", count, self.stats.last_error)
        except Exception as exc:  # a bug in a channel must not kill its worker
            self.stats.failed += count
            self.stats.last_error = one_line(repr(exc))
            # the message may quote user strings: one escaped line; the traceback at debug
            log.error("channel %s crashed: %s", self.channel.name, self.stats.last_error)
            log.debug("channel %s crash", self.channel.name, exc_info=True)


class Dispatcher:
    """Fans notifications out to the configured channels, each in its own thread."""

    def __init__(self, channels: Sequence[Channel] = ()) -> None:
        self._lock = threading.Lock()
        self._workers: dict[str, _Worker] = {}
        self.stats: dict[str, ChannelStats] = {}
        self.configure(channels)

    def configure(self, channels: Sequence[Channel]) -> None:
        """Deliver to `channels` from now on; a removed channel finishes its queue first."""
        with self._lock:
            wanted = {c.name: c for c in channels}
            for name in list(self._workers):
                if name not in wanted:
                    self._workers.pop(name).queue.put(None)
            for name, channel in wanted.items():
                worker = self._workers.get(name)
                if worker is None:
                    stats = self.stats.setdefault(name, ChannelStats())
                    self._workers[name] = _Worker(channel, stats)
                else:
                    worker.channel = channel

    def submit(self, notifications: Sequence[Notification]) -> None:
        """Queue a batch for every channel; returns at once."""
        if not notifications:
            return
        batch = list(notifications)
        with self._lock:
            for worker in self._workers.values():
                worker.queue.put(batch)

    def after_check(self, report: CheckReport) -> None:
        """Queue the open alerts of a check for the channels that re-send them; returns at once.

        Alerts the check already notified about are left out: that notification pushes them.
        """
        told = {n.alert["id"] for n in report.outcome.notifications}
        alerts = [a.to_wire() for a in report.open_alerts if a.id not in told]
        if not alerts:
            return
        with self._lock:
            for worker in self._workers.values():
                if isinstance(worker.channel, Resending):
                    worker.resend(alerts)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (for up to `timeout_s`), then stop the workers."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.queue.put(None)
        deadline = time.monotonic() + timeout_s
        for worker in workers:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
            if worker.thread.is_alive():
                log.warning("channel %s still delivering at shutdown; giving up on it", worker.channel.name)
