"""What one running server holds: its settings, the store, the writer and the summary cache."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.access.credential_store import CredentialStore
from analytics.alerts.config import AlertingConfig
from analytics.ingest.group_commit import GroupCommitWriter
from analytics.storage.file_modes import restrict_data_dir
from analytics.storage.lake import LAKE_SUBDIR, Partition, export_closed_days, list_partitions
from analytics.storage.store import EventStore
from ingest_api.access import AccessControl
from ingest_api.alerting import AlertService
from ingest_api.backlog import IngestBacklog
from ingest_api.decoders import DecoderPool
from ingest_api.periodic import cancel_all, run_every
from ingest_api.settings import Settings
from ingest_api.summary_cache import SummaryCache

log = logging.getLogger(__name__)


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
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _lake_lock: threading.Lock = field(default_factory=threading.Lock)

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
            settings, store, writer, backlog, access, SummaryCache(settings.summary_cache_seconds), alerts
        )
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
        self.access.credentials.close()
