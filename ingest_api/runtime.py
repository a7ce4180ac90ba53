"""What one running server holds: its settings, the store, the writer and the summary cache."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics.access.credential_store import CredentialStore
from analytics.access.key_usage import KeyUsage
from analytics.alerts.config import AlertingConfig
from analytics.ingest.group_commit import GroupCommitWriter
from analytics.queries.distributions import Distributions
from analytics.queries.summary import health_by_customer
from analytics.rollups import maintain
from analytics.storage.file_modes import restrict_data_dir
from analytics.storage.lake import LAKE_SUBDIR, Partition, export_closed_days, list_partitions
from analytics.storage.store import EventStore
from analytics.window import Window
from ingest_api.access import AccessControl
from ingest_api.alerting import AlertService
from ingest_api.backlog import IngestBacklog
from ingest_api.decoders import DecoderPool
from ingest_api.in_flight import InFlight
from ingest_api.periodic import cancel_all, run_every
from ingest_api.settings import Settings
from ingest_api.summary_cache import SummaryCache

log = logging.getLogger(__name__)

HEALTH_WINDOW = timedelta(minutes=5)  # the summary's default window
HEALTH_REUSE_S = 10.0  # a scrape reuses health scored this recently, if nothing was stored since
DISTRIBUTIONS_FLUSH_S = 1.0


@dataclass
class Runtime:
    settings: Settings
    store: EventStore
    writer: GroupCommitWriter
    backlog: IngestBacklog
    access: AccessControl
    summary_cache: SummaryCache = field(default_factory=SummaryCache)
    alerts: AlertService | None = None
    decoders: DecoderPool | None = None
    distributions: Distributions = field(default_factory=Distributions)
    ingest_usage: KeyUsage = field(default_factory=KeyUsage)  # every sender's, keys or not
    in_flight: InFlight = field(default_factory=InFlight)
    rollups: maintain.RollupReport | None = None  # the last run's
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _lake_lock: threading.Lock = field(default_factory=threading.Lock)
    _health: tuple[float, int, dict[str, dict[str, Any]]] | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        restrict_data_dir(settings.data_dir)
        credentials = CredentialStore.open(settings.data_dir)
        store = EventStore.open(
            settings.data_dir,
            dedupe_horizon_s=settings.dedupe_horizon_hours * 3600,
            memory_limit=settings.duckdb_memory_limit,
        )
        for report in store.damage:  # found now, or earlier and not yet recovered
            log.error("%s", report.headline())
        try:
            alerts = AlertService.start(settings, store)  # refuses an invalid config file
        except BaseException:
            store.close()
            credentials.close()
            raise
        inline = settings.inline_commit_max_events
        writer = (
            GroupCommitWriter(store) if inline is None else GroupCommitWriter(store, inline_max_events=inline)
        )
        await writer.start()
        backlog = IngestBacklog(settings.max_backlog_bytes)
        access = AccessControl(settings, credentials)
        access.announce()
        runtime = cls(
            settings,
            store,
            writer,
            backlog,
            access,
            SummaryCache(settings.summary_cache_seconds),
            alerts,
            distributions=Distributions(settings.metrics_max_series),
        )
        store.stored_listeners.append(runtime.distributions.add)
        if settings.rollup_interval_s > 0:
            runtime.tasks.append(run_every(settings.rollup_interval_s, runtime.roll_up, "rollups"))
        runtime.tasks.append(run_every(DISTRIBUTIONS_FLUSH_S, runtime.distributions.flush, "distributions"))
        if settings.decoder_processes > 0:
            runtime.decoders = DecoderPool(settings.decoder_processes, min_bytes=settings.decoder_min_bytes)
            try:
                await runtime.decoders.start()
            except BaseException:
                await runtime.stop()
                raise
        if settings.lake_export_interval_s > 0:
            runtime.tasks.append(run_every(settings.lake_export_interval_s, runtime.export_lake, "lake"))
        return runtime

    @property
    def lake_dir(self) -> Path:
        return self.settings.data_dir / LAKE_SUBDIR

    def export_lake(self) -> list[Partition]:
        """Write closed days that changed since their last export to the Parquet lake."""
        if self.store.awaiting_recovery:
            # The empty database that replaced a damaged one would overwrite the lake's
            # days (the copy `widget-monitor recover` restores them from) with fewer rows.
            log.warning("lake export paused: the store awaits `widget-monitor recover` (docs/recovery.md)")
            return []
        with self._lake_lock, self.store.cursor() as cur:
            return export_closed_days(cur, self.lake_dir)

    def lake_partitions(self) -> list[Partition]:
        with self.store.cursor() as cur:
            return list_partitions(cur, self.lake_dir)

    def roll_up(self) -> maintain.RollupReport:
        """Mark the hours that changed since the last run and roll up those that closed (blocking)."""
        with self.store.cursor() as cur:
            self.rollups = maintain.advance(
                cur, safe_until=self.in_flight.settled_before(), now=datetime.now(UTC)
            )
        return self.rollups

    def recent_health(self) -> dict[str, dict[str, Any]]:
        """The `health` section of the last 5 minutes, globally (key "") and per customer.

        Scored again when events were stored since, or after `HEALTH_REUSE_S` seconds (the
        window moves): two Prometheus replicas scraping an idle server score it once. Blocking
        (run it in a thread).
        """
        cached, stored = self._health, self.writer.events_committed
        if cached is not None and cached[1] == stored and time.monotonic() - cached[0] < HEALTH_REUSE_S:
            return cached[2]
        skew = timedelta(milliseconds=self.settings.max_future_skew_ms + 1)
        window = Window.ending(HEALTH_WINDOW, future_skew=skew)
        with self.store.cursor() as cur:
            scored = health_by_customer(cur, window)
        self._health = (time.monotonic(), stored, scored)
        return scored

    @property
    def alerting_config(self) -> AlertingConfig | None:
        """The alerting config in force (None when this server runs no alerting)."""
        return self.alerts.system.config if self.alerts is not None else None

    def alerts_section(self, customer_id: str | None) -> dict[str, Any]:
        """The summary's `alerts` section: active alerts and their statistics."""
        if self.alerts is not None:
            return self.alerts.system.section(customer_id)
        return {
            "active": [],
            "stats": {"total": 0, "unresolved": 0, "bySeverity": {}, "byCategory": {}},
        }

    async def stop(self) -> None:
        if self.alerts is not None:
            await self.alerts.stop()
        await cancel_all(self.tasks)
        if self.decoders is not None:
            await self.decoders.stop()
        await self.writer.stop()
        self.store.close()
        self.distributions.close()
        self.access.credentials.close()
