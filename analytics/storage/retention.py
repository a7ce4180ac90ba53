"""Retention: raw events and rollups older than their horizon are dropped, whole UTC days at a time.

- **Raw events** (`raw_days`, default 90): the days before `today - raw_days` leave DuckDB
  and the Parquet lake. An event leaves DuckDB only once its hour is in the rollups (it was
  received before the rollups' watermark and its hour is not pending), so nothing leaves
  the product unaccounted for: series over those days come from the rollups.
- **Rollups** (`rollup_days`, default 730): hours before `today - rollup_days` are deleted
  from all three levels.

Both run in one transaction each; killed in between, the next run finishes the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb

from analytics.rollups.hourly import TABLES as ROLLUP_TABLES
from analytics.storage import lake
from analytics.transaction import count_of, transaction
from analytics.window import HOUR_OF_TS


@dataclass(frozen=True, slots=True)
class Retention:
    """How many whole UTC days of raw events and of rollups are kept (0: forever)."""

    raw_days: int = 90
    rollup_days: int = 730

    def raw_from(self, now: datetime) -> datetime | None:
        """The oldest moment whose raw events are kept (None: all are)."""
        return _cutoff(now, self.raw_days)

    def rollup_from(self, now: datetime) -> datetime | None:
        return _cutoff(now, self.rollup_days)

    def to_wire(self, now: datetime) -> dict[str, object]:
        raw, rolled = self.raw_from(now), self.rollup_from(now)
        return {
            "rawDays": self.raw_days,
            "rollupDays": self.rollup_days,
            "rawFrom": raw.isoformat() if raw else None,
            "rollupFrom": rolled.isoformat() if rolled else None,
        }


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one `apply` removed."""

    raw_events: int
    lake_days: list[date]
    rollup_rows: int

    def to_wire(self) -> dict[str, object]:
        return {
            "rawEventsDropped": self.raw_events,
            "lakeDaysDropped": [day.isoformat() for day in self.lake_days],
            "rollupRowsDropped": self.rollup_rows,
        }


def apply(
    cur: duckdb.DuckDBPyConnection, lake_dir: Path, retention: Retention, *, now: datetime
) -> RetentionReport:
    """Drop what is older than the retention (see the module); return what went."""
    raw_events, rollup_rows = 0, 0
    lake_days: list[date] = []
    raw_from = retention.raw_from(now)
    if raw_from is not None:
        raw_events = _in_one_transaction(
            cur,
            [
                "DELETE FROM events WHERE ts < $raw_from "
                "AND received_at <= (SELECT watermark FROM rollup_state WHERE id = 1) "
                f"AND {HOUR_OF_TS} NOT IN (SELECT hour FROM rollup_pending)"
            ],
            {"raw_from": raw_from},
        )
        lake_days, lake_events = lake.drop_days_before(cur, lake_dir, raw_from.date())
        raw_events += lake_events
    rollup_from = retention.rollup_from(now)
    if rollup_from is not None:
        rollup_rows = _in_one_transaction(
            cur,
            [f"DELETE FROM {table} WHERE hour < $rollup_from" for table in ROLLUP_TABLES],
            {"rollup_from": rollup_from},
        )
    return RetentionReport(raw_events, lake_days, rollup_rows)


def _cutoff(now: datetime, days: int) -> datetime | None:
    if days <= 0:
        return None
    today = now.astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=days), time(), tzinfo=UTC)


def _in_one_transaction(
    cur: duckdb.DuckDBPyConnection, statements: list[str], params: dict[str, object]
) -> int:
    """Run the DELETEs in one transaction; return the rows they removed."""
    with transaction(cur):
        return sum(count_of(cur, sql, params) for sql in statements)
