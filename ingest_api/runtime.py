"""What one running server holds: its settings, the store, the writer and the summary cache."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics.access.credential_store import CredentialStore
from analytics.access.key_usage import KeyUsage
from analytics.alerts.config import AlertingConfig
from analytics.errors import Conflict
from analytics.ingest.group_commit import GroupCommitWriter
from analytics.queries.distributions import Distributions
from analytics.queries.summary import health_by_customer
from analytics.rollups import maintain
from analytics.storage import backup, retention
from analytics.storage.erasure import ErasureReport, erase_customer
from analytics.storage.file_modes import restrict_data_dir
from analytics.storage.lake import LAKE_SUBDIR, LakeFile, list_files, move_closed_days
from analytics.storage.retention import RetentionReport
from analytics.storage.store import EventStore
from analytics.window import Window
from ingest_api.access import AccessControl
from ingest_api.alerting import AlertService
from ingest_api.backlog import IngestBacklog
from ingest_api.backup_slot import BackupSlot
from ingest_api.decoders import DecoderPool
from ingest_api.export_slots import ExportSlots
from ingest_api.in_flight import InFlight
from ingest_api.periodic import cancel_all, run_every
from ingest_api.settings import Settings
from ingest_api.summary_cache import SummaryCache

log = logging.getLogger(__name__)

HEALTH_WINDOW = timedelta(minutes=5)  # the summary's default window
HEALTH_REUSE_S = 10.0  # a scrape reuses health scored this recently, if nothing was stored since
DISTRIBUTIONS_FLUSH_S = 1.0
BACKUP_SWEEP_S = 30.0  # how often an abandoned backup snapshot is looked for
BACKUPS_SUBDIR = ".backups"  # snapshots being streamed (left over from a crash: removed at start)


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
    backup_slot: BackupSlot = field(default_factory=BackupSlot)
    export_slots: ExportSlots = field(default_factory=ExportSlots)
    rollups: maintain.RollupReport | None = None  # the last run's
    retained: RetentionReport | None = None  # the last retention run's
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # one at a time: rollups, retention, lake export, erasure (each rewrites what another reads)
    _maintenance_lock: threading.Lock = field(default_factory=threading.Lock)
    _health: tuple[float, int, dict[str, dict[str, Any]]] | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        restrict_data_dir(settings.data_dir)
        shutil.rmtree(settings.data_dir / BACKUPS_SUBDIR, ignore_errors=True)
        credentials = CredentialStore.open(settings.data_dir)
        store = EventStore.open(
            settings.data_dir,
            dedupe_horizon_s=settings.dedupe_horizon_hours * 3600,
            limits=settings.duckdb_limits,
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
            # The first run before the server answers: the hours that closed since the last run
            # (the server stopped before rolling them up) would otherwise be read from raw events
            # by every long query of the first interval (docs/timeseries.md).
            try:
                await asyncio.to_thread(runtime.roll_up)
            except Exception:
                log.exception(
                    "rolling up at start failed; the job tries again in %s s", settings.rollup_interval_s
                )
            runtime.tasks.append(run_every(settings.rollup_interval_s, runtime.roll_up, "rollups"))
        runtime.tasks.append(run_every(DISTRIBUTIONS_FLUSH_S, runtime.distributions.flush, "distributions"))
        runtime.tasks.append(run_every(BACKUP_SWEEP_S, runtime.backup_slot.sweep, "backup sweep"))
        if settings.decoder_processes > 0:
            runtime.decoders = DecoderPool(settings.decoder_processes, min_bytes=settings.decoder_min_bytes)
            try:
                await runtime.decoders.start()
            except BaseException:
                await runtime.stop()
                raise
        if settings.retention_interval_s > 0:
            runtime.tasks.append(
                run_every(settings.retention_interval_s, runtime.apply_retention, "retention")
            )
        if settings.lake_export_interval_s > 0:
            runtime.tasks.append(run_every(settings.lake_export_interval_s, runtime.export_lake, "lake"))
        return runtime

    @property
    def lake_dir(self) -> Path:
        return self.settings.data_dir / LAKE_SUBDIR

    def export_lake(self) -> list[LakeFile]:
        """Move the closed days' rolled-up events from DuckDB to the Parquet lake (blocking)."""
        if self.store.awaiting_recovery:
            # The manifest of the empty database that replaced a damaged one names no file:
            # `widget-monitor recover` takes the lake's files back first.
            log.warning("lake moves paused: the store awaits `widget-monitor recover` (docs/recovery.md)")
            return []
        self.roll_up()  # only what the rollups counted moves: count what arrived first
        with self._maintenance_lock, self.store.cursor() as cur:
            moved = move_closed_days(cur, self.lake_dir)
        if moved:
            self.store.checkpoint()  # the moved rows leave the database file's WAL
        return moved

    def apply_retention(self) -> RetentionReport:
        """Drop raw days (once rolled up) and rollup hours older than the retention (blocking)."""
        if self.store.awaiting_recovery:  # the lake is the copy `widget-monitor recover` restores from
            log.warning("retention paused: the store awaits `widget-monitor recover` (docs/recovery.md)")
            return RetentionReport(0, [], 0)
        with self._maintenance_lock, self.store.cursor() as cur:
            self.retained = retention.apply(
                cur, self.lake_dir, self.settings.retention, now=datetime.now(UTC)
            )
        if self.retained.raw_events or self.retained.lake_days or self.retained.rollup_rows:
            log.info(
                "retention dropped %d raw events, %d lake days, %d rollup rows",
                self.retained.raw_events,
                len(self.retained.lake_days),
                self.retained.rollup_rows,
            )
        return self.retained

    def lake_partitions(self) -> list[LakeFile]:
        with self.store.cursor() as cur:
            return list_files(cur, self.lake_dir)

    def roll_up(self) -> maintain.RollupReport:
        """Mark the hours that changed since the last run and roll up those that closed (blocking)."""
        with self._maintenance_lock, self.store.cursor() as cur:
            self.rollups = maintain.advance(
                cur, safe_until=self.in_flight.settled_before(), now=datetime.now(UTC)
            )
        return self.rollups

    def erase_customer(self, customer_id: str, *, by: str) -> ErasureReport:
        """Remove the customer's events from the store, the lake and the rollups, and its alerts
        and baselines (blocking); audited.

        Refused while the store awaits `widget-monitor recover`: the lake's manifest is empty
        then, so its files would keep the customer, and a recovery would bring it back.
        """
        if self.store.awaiting_recovery:
            raise Conflict(
                "the store awaits `widget-monitor recover` (docs/recovery.md): erase after recovering"
            )
        try:
            with self._maintenance_lock, self.store.cursor() as cur:
                report = erase_customer(cur, self.lake_dir, customer_id)
            if self.alerts is not None:
                alerts, baselines = self.alerts.system.erase_customer(customer_id)
                report = replace(report, alerts=alerts, alert_baselines=baselines)
        finally:  # even when the lake's part failed, DuckDB's is done
            self.summary_cache.clear()  # cached answers may hold what was just erased
            self._health = None
        self.store.checkpoint()  # the deleted rows leave the WAL too
        self.access.credentials.record(by, "customer.erase", customer_id, report.to_wire())
        log.info("erased a customer's data: %d raw events, %d lake rows", report.raw_events, report.lake_rows)
        return report

    def take_backup(self, *, by: str) -> tuple[Path, backup.Manifest]:
        """A consistent snapshot of the data under `<data_dir>/.backups/` (blocking); audited.

        The caller streams it and removes it (`backup.tar_stream(..., remove_after=True)`).
        """
        into = self.settings.data_dir / BACKUPS_SUBDIR / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        with self._maintenance_lock, self.store.cursor() as cur:  # no lake rewrite meanwhile
            manifest = backup.take_snapshot(
                cur, self.settings.data_dir, into, self.access.credentials.backup_to
            )
        self.access.credentials.record(
            by, "backup.take", None, {"events": manifest.events, "bytes": manifest.total_bytes}
        )
        return into, manifest

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
        with self.store.snapshot() as cur:
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
