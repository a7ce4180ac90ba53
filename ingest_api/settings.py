"""Every setting of the server, from the environment (WIDGET_MONITOR_*) or the CLI."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from analytics.storage.retention import Retention
from analytics.storage.store import DEFAULT_MEMORY_LIMIT, DuckDBLimits

# A list from the environment as `a,b,c` (a JSON array is read too).
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGET_MONITOR_")

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(1_048_576, gt=0)
    # Request bodies of every other route (alert config, actions, keys): a few KB each.
    max_request_bytes: int = Field(262_144, gt=0)
    max_batch_events: int = Field(1000, gt=0)
    max_future_skew_ms: int = Field(60_000, ge=0)
    # Events an ingest key posts may be this old at most (admin tokens backfill older ones).
    max_event_age_days: float = Field(7.0, gt=0)
    # Bodies admitted and not yet answered; beyond, 503 + Retry-After (nothing stored).
    max_backlog_bytes: int = Field(128 * 1_048_576, gt=0)
    summary_cache_seconds: float = Field(30.0, ge=0)
    dedupe_horizon_hours: float = Field(24.0, gt=0)
    # Batches of at least this size are read by decoder processes (0 processes: in place).
    decoder_processes: int = Field(1, ge=0, le=64)
    decoder_min_bytes: int = Field(32_768, ge=0)
    # Groups of fewer events are committed on the event loop (0: always on the writer's
    # thread; unset: analytics.ingest.group_commit.INLINE_MAX_EVENTS).
    inline_commit_max_events: int | None = Field(None, ge=0)
    # DuckDB's buffer pool and threads (analytics.storage.store.DuckDBLimits); unset threads:
    # the cores, at most 4.
    duckdb_memory_limit: str = Field(DEFAULT_MEMORY_LIMIT, pattern=r"^\d+(\.\d+)?\s*([KMGT]i?B|B)$")
    duckdb_threads: int | None = Field(None, ge=1, le=64)
    # Origins whose pages may call the read and admin routes (ingest, /sdk and /demo allow any).
    cors_origins: CommaList = []
    # An admin credential from the environment; with it (or any stored key or token) every
    # route needs a credential. Without any, the server runs in open mode on loopback only.
    admin_token: SecretStr | None = None
    # Host header values served (DNS rebinding); empty: any, except in open mode (loopback names).
    allowed_hosts: CommaList = []
    # Outbound targets allowed although internal: host names, IP addresses, CIDR ranges.
    outbound_allow: CommaList = []
    # Bind a non-loopback address without an admin token (`--insecure`).
    insecure: bool = False
    # /metrics: (customerId, widgetVersion) pairs with histograms of their own; later ones
    # are added into customer_id="(other)" (docs/metrics.md).
    metrics_max_series: int = Field(200, ge=0)
    # How often closed hours are rolled up (analytics/rollups); 0 turns it off.
    rollup_interval_s: float = Field(60.0, ge=0)
    # Whole UTC days kept (0: forever): raw events (DuckDB and the lake; only once rolled
    # up) and hourly rollups. Applied every retention_interval_s (0: never).
    raw_retention_days: int = Field(90, ge=0)
    rollup_retention_days: int = Field(730, ge=0)
    retention_interval_s: float = Field(3600.0, ge=0)
    lake_export_interval_s: float = Field(3600.0, ge=0, description="0 turns the hourly export off")
    alerts_config: Path | None = None  # JSON or TOML; replaces the alerting config stored in the database

    @property
    def duckdb_limits(self) -> DuckDBLimits:
        if self.duckdb_threads is None:
            return DuckDBLimits(self.duckdb_memory_limit)
        return DuckDBLimits(self.duckdb_memory_limit, self.duckdb_threads)

    @model_validator(mode="after")
    def _rollups_outlive_raw_events(self) -> Settings:
        raw, rolled = self.raw_retention_days, self.rollup_retention_days
        if rolled and (raw == 0 or rolled < raw):
            raise ValueError(
                f"rollup_retention_days ({rolled}) must be 0 (forever) or at least raw_retention_days "
                f"({raw or 'forever'}): series older than the rollups' cut come from the rollups only"
            )
        return self

    @property
    def retention(self) -> Retention:
        return Retention(self.raw_retention_days, self.rollup_retention_days)

    @field_validator("cors_origins", "allowed_hosts", "outbound_allow", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
