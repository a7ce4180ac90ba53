"""The Parquet lake: every closed UTC day of events as a Parquet file, readable by anyone's tools.

The API process owns the DuckDB file, so no other process can open it, not even
read-only. The lake is how history leaves it: `<data_dir>/lake/events/day=YYYY-MM-DD/
events.parquet`, hive-partitioned, one file per day, written to a temporary name and
renamed into place so a reader never sees half a file. A day is re-exported when
events for it arrive late (its row count or newest receive time changed).

Read it with your own tools, e.g.::

    import duckdb
    duckdb.sql("SELECT type, count(*) FROM read_parquet('data/lake/events/*/*.parquet') GROUP BY 1")
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

LAKE_SUBDIR = Path("lake") / "events"

_MANIFEST_SQL = """
CREATE TABLE IF NOT EXISTS lake_partitions (
  day DATE PRIMARY KEY,
  rows BIGINT NOT NULL,
  newest_received_at TIMESTAMPTZ NOT NULL,
  exported_at TIMESTAMPTZ NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Partition:
    """One exported day of the lake."""

    day: date
    rows: int
    path: Path
    exported_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "rows": self.rows,
            "path": str(self.path),
            "exportedAt": self.exported_at.isoformat().replace("+00:00", "Z"),
        }


def partition_path(lake_dir: Path, day: date) -> Path:
    return lake_dir / f"day={day.isoformat()}" / "events.parquet"


def ensure_manifest(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(_MANIFEST_SQL)


def stale_days(
    cur: duckdb.DuckDBPyConnection, now: datetime, keep_from: date | None = None
) -> list[tuple[date, int, datetime]]:
    """Closed days (before today, UTC, from `keep_from` on) whose events changed since their last export.

    Days before `keep_from` are leaving under retention (analytics.storage.retention):
    what is left of them is not exported again.
    """
    ensure_manifest(cur)
    today = now.astimezone(UTC).date()
    return cur.execute(
        """
        WITH days AS (
          SELECT CAST(ts AS DATE) AS day, count(*) AS rows, max(received_at) AS newest
          FROM events WHERE ts < CAST($today AS DATE) AND ts >= CAST($first AS DATE) GROUP BY ALL
        )
        SELECT d.day, d.rows, d.newest FROM days d
        LEFT JOIN lake_partitions p USING (day)
        WHERE p.day IS NULL OR p.rows <> d.rows OR p.newest_received_at < d.newest
        ORDER BY d.day
        """,
        {"today": today, "first": keep_from or date(1970, 1, 1)},
    ).fetchall()


def export_closed_days(
    cur: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    *,
    now: datetime | None = None,
    keep_from: date | None = None,
    progress: Callable[[int, int, date], None] | None = None,
) -> list[Partition]:
    """Write every stale closed day (from `keep_from` on) to the lake; return the partitions written.

    `progress(done, total, day)` is called after each day.
    """
    now = now or datetime.now(UTC)
    todo = stale_days(cur, now, keep_from)
    written: list[Partition] = []
    for done, (day, rows, newest) in enumerate(todo, start=1):
        target = partition_path(lake_dir, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        cur.execute(
            # a range on ts, not CAST(ts AS DATE) = day: DuckDB skips the other days' row groups
            f"COPY (SELECT * FROM events WHERE ts >= $day AND ts < $day + INTERVAL 1 DAY ORDER BY ts) "
            f"TO '{quote(temporary)}' (FORMAT parquet, COMPRESSION zstd)",
            {"day": day},
        )
        os.replace(temporary, target)
        cur.execute(
            "INSERT OR REPLACE INTO lake_partitions VALUES ($day, $rows, $newest, $now)",
            {"day": day, "rows": rows, "newest": newest, "now": now},
        )
        written.append(Partition(day, rows, target, now))
        if progress is not None:
            progress(done, len(todo), day)
    return written


def list_partitions(cur: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[Partition]:
    """The days in the lake, oldest first."""
    ensure_manifest(cur)
    rows = cur.execute("SELECT day, rows, exported_at FROM lake_partitions ORDER BY day").fetchall()
    return [Partition(day, n, partition_path(lake_dir, day), at) for day, n, at in rows]


def quote(path: Path) -> str:
    """A path inside a single-quoted SQL string literal."""
    return str(path).replace("'", "''")
