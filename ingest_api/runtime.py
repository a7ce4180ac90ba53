"""What one running server holds: its settings, the store, the writer and the summary cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics.group_commit import GroupCommitWriter
from analytics.store import EventStore
from ingest_api.alerting import AlertService
from ingest_api.settings import Settings
from ingest_api.summary_cache import SummaryCache


@dataclass
class Runtime:
    settings: Settings
    store: EventStore
    writer: GroupCommitWriter
    summary_cache: SummaryCache = field(default_factory=SummaryCache)
    alerts: AlertService | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        store = EventStore.open(
            settings.data_dir,
            dedupe_horizon_s=settings.dedupe_horizon_hours * 3600,
            memory_limit=settings.duckdb_memory_limit,
        )
        try:
            alerts = AlertService.start(settings, store)  # refuses an invalid config file
        except BaseException:
            store.close()
            raise
        writer = GroupCommitWriter(store)
        await writer.start()
        return cls(settings, store, writer, SummaryCache(settings.summary_cache_seconds), alerts)

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
        await self.writer.stop()
        self.store.close()
