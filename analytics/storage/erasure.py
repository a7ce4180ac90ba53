"""Erasing one customer's data (its events may hold personal data, in `errorMessage` say).

`erase_customer` removes the customer's rows from (and the alerting system its alerts and
baselines, `AlertingSystem.erase_customer`):

- raw events in DuckDB;
- the Parquet lake: each day and type's file that holds some is rewritten without them (a
  new generation, named in the manifest and renamed over the published name, so an outside
  reader sees the old file or the new one, never half);
- the rollups: its full rows, and the summed levels (over customers, over everything) of
  every hour it had rows in, summed again from what is left; its tabs' numbers
  (`rollup_tabs`).

DuckDB's part is one transaction. A lake file is rewritten after it: killed in between,
running it again finishes (it is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from analytics.rollups.hourly import DAILY, FULL_TABLES, sum_days, sum_levels
from analytics.storage import lake
from analytics.transaction import count_of, transaction


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What `erase_customer` removed."""

    customer_id: str
    raw_events: int
    rollup_rows: int
    lake_rows: int
    lake_days: list[date]
    alerts: int = 0  # its alerts, with their history (the alerting system's part)
    alert_baselines: int = 0

    def to_wire(self) -> dict[str, object]:
        return {
            "customerId": self.customer_id,
            "rawEvents": self.raw_events,
            "rollupRows": self.rollup_rows,
            "lakeRows": self.lake_rows,
            "lakeDays": [day.isoformat() for day in self.lake_days],
            "alerts": self.alerts,
            "alertBaselines": self.alert_baselines,
        }


def erase_customer(cur: duckdb.DuckDBPyConnection, lake_dir: Path, customer_id: str) -> ErasureReport:
    params = {"customer": customer_id}
    with transaction(cur):
        raw_events = count_of(cur, "DELETE FROM events WHERE customer_id = $customer", params)
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE erased_hours AS "
            "SELECT DISTINCT hour FROM rollup_stats WHERE customer_id = $customer",
            params,
        )
        rollup_rows = 0
        for table in FULL_TABLES:  # its hourly rows; the daily ones are summed again below
            rollup_rows += count_of(cur, f"DELETE FROM {table} WHERE customer_id = $customer", params)
        for table in FULL_TABLES:
            rollup_rows += count_of(
                cur, f"SELECT count(*) FROM {table}{DAILY} WHERE customer_id = $customer", params
            )
        rollup_rows += count_of(cur, "DELETE FROM rollup_tabs WHERE customer_id = $customer", params)
        sum_levels(cur, "hour IN (SELECT hour FROM erased_hours)", {})
        on_their_days = "IN (SELECT DISTINCT time_bucket(INTERVAL 1 DAY, hour) FROM erased_hours)"
        sum_days(cur, f"hour {on_their_days}", {}, f"time_bucket(INTERVAL 1 DAY, hour) {on_their_days}")
        cur.execute("DROP TABLE erased_hours")
    lake_rows, lake_days = _erase_from_lake(cur, lake_dir, customer_id)
    return ErasureReport(customer_id, raw_events, rollup_rows, lake_rows, lake_days)


def _erase_from_lake(
    cur: duckdb.DuckDBPyConnection, lake_dir: Path, customer_id: str
) -> tuple[int, list[date]]:
    removed, days = 0, set()
    for file in lake.list_files(cur, lake_dir):
        gone = lake.rewrite(
            cur, lake_dir, file, "customer_id IS DISTINCT FROM $customer", {"customer": customer_id}
        )
        if gone:
            removed += gone
            days.add(file.day)
    return removed, sorted(days)
