"""What one running server holds: its settings, the store, the writer and the summary cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics.group_commit import GroupCommitWriter
from analytics.store import EventStore
from ingest_api.settings import Settings
from ingest_api.summary_cache import SummaryCache


@dataclass
class Runtime:
    settings: Settings
    store: EventStore
    writer: GroupCommitWriter
    summary_cache: SummaryCache = field(default_factory=SummaryCache)

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        store = EventStore.open(
            settings.data_dir,
            dedupe_horizon_s=settings.dedupe_horizon_hours * 3600,
            memory_limit=settings.duckdb_memory_limit,
        )
        writer = GroupCommitWriter(store)
        await writer.start()
        return cls(settings, store, writer, SummaryCache(settings.summary_cache_seconds))

    def alerts_section(self, customer_id: str | None) -> dict[str, Any]:
        """The summary's `alerts` section: active alerts and their statistics."""
        return {
            "active": [],
            "stats": {"total": 0, "unresolved": 0, "bySeverity": {}, "byCategory": {}},
        }

    async def stop(self) -> None:
        await self.writer.stop()
        self.store.close()
