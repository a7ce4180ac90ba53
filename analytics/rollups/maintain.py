"""Keeping the hourly rollups up to date: which hours changed, and rolling up those that closed.

A watermark on `received_at` (`rollup_state`) says up to when stored events have been looked
at. Each `advance`:

1. marks the hours of the events received after the watermark as pending
   (`rollup_pending`) and moves the watermark, in one transaction;
2. rolls up the pending hours that have closed (`hourly.roll_up` rewrites them whole from
   their raw events) and clears their marks, one transaction per run of up to 24 consecutive
   hours, at most `max_hours` hours per call;
3. drops the per-tab numbers older than `tabs.KEPT`.

Nothing is lost when the process dies between any two steps: a mark is cleared only in the
transaction that wrote its rollup, and the watermark moves only with the marks it implies.
A late event marks its (closed) hour pending again, so the hour is rewritten with it; only
the changed hours are read, never everything. The open hour stays pending until it closes:
readers take pending hours from raw events (`analytics.queries.rolled_series`).

`safe_until` is the caller's promise that every event received before it is stored or
refused: the server passes the oldest receipt time of the requests still being stored.
A store written before rollups existed starts with the watermark at the epoch, so its whole
history is marked and rolled up, `max_hours` per run, in the background.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from analytics.rollups import tabs
from analytics.rollups.hourly import HOUR, create_tables, roll_up
from analytics.transaction import transaction
from analytics.window import HOUR_OF_TS

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RUN_HOURS = 24  # consecutive hours rolled up in one transaction
STATE_SQL = (
    "CREATE TABLE IF NOT EXISTS rollup_state (id INTEGER PRIMARY KEY, watermark TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rollup_pending (hour TIMESTAMPTZ PRIMARY KEY)",
)


@dataclass(frozen=True, slots=True)
class RollupReport:
    """What one `advance` did, and what is left."""

    watermark: datetime
    marked: int  # hours newly marked pending
    rolled: int  # hours rolled up
    pending: int  # hours still pending (the open one, and any beyond max_hours)
    failed: int = 0  # runs of hours whose rollup failed this time (logged; still pending)

    def to_wire(self) -> dict[str, object]:
        return {
            "watermark": self.watermark.isoformat(),
            "hoursRolledUp": self.rolled,
            "hoursPending": self.pending,
            "failedRuns": self.failed,
        }


def prepare(cur: duckdb.DuckDBPyConnection) -> None:
    """Create the rollup tables and the state (watermark at the epoch) where they are missing."""
    create_tables(cur)
    for sql in STATE_SQL:
        cur.execute(sql)
    cur.execute("INSERT INTO rollup_state VALUES (1, $epoch) ON CONFLICT DO NOTHING", {"epoch": EPOCH})


def watermark(cur: duckdb.DuckDBPyConnection) -> datetime:
    row = cur.execute("SELECT watermark FROM rollup_state WHERE id = 1").fetchone()
    assert row is not None, "prepare() first"
    moment: datetime = row[0]
    return moment.astimezone(UTC)


def pending_hours(cur: duckdb.DuckDBPyConnection) -> list[datetime]:
    rows = cur.execute("SELECT hour FROM rollup_pending ORDER BY hour").fetchall()
    return [row[0].astimezone(UTC) for row in rows]


def advance(
    cur: duckdb.DuckDBPyConnection, *, safe_until: datetime, now: datetime, max_hours: int = 48
) -> RollupReport:
    """Mark what arrived before `safe_until`, then roll up closed pending hours (see the module)."""
    with transaction(cur):
        since = watermark(cur)
        until = max(since, safe_until)
        before = _count_pending(cur)
        cur.execute(
            f"INSERT INTO rollup_pending SELECT DISTINCT {HOUR_OF_TS} FROM events "
            "WHERE received_at > $since AND received_at <= $until ON CONFLICT DO NOTHING",
            {"since": since, "until": until},
        )
        marked = _count_pending(cur) - before
        cur.execute("UPDATE rollup_state SET watermark = $until WHERE id = 1", {"until": until})
        tabs.follow(cur, until)
    closed = [hour for hour in pending_hours(cur) if hour + HOUR <= now][:max_hours]
    rolled = failed = 0
    for first, stop in _runs(closed):  # consecutive hours in one pass: history rolls up in days
        try:
            with transaction(cur):
                roll_up(cur, first, stop)
                cur.execute(
                    "DELETE FROM rollup_pending WHERE hour >= $first AND hour < $stop",
                    {"first": first, "stop": stop},
                )
        except Exception:
            # rolled back: its hours stay pending (readers take them from raw events); the next go on
            log.exception(
                "rolling up %s to %s failed; its hours stay pending", first.isoformat(), stop.isoformat()
            )
            failed += 1
            continue
        rolled += (stop - first) // HOUR
    tabs.prune(cur, now)
    return RollupReport(until, marked, rolled, _count_pending(cur), failed)


def _runs(hours: list[datetime], longest: int = RUN_HOURS) -> list[tuple[datetime, datetime]]:
    """Sorted hours as [first, stop) ranges of consecutive hours, each at most `longest` long.

    >>> h = [datetime(2026, 1, 1, n, tzinfo=UTC) for n in (0, 1, 2, 5)]
    >>> [(a.hour, b.hour) for a, b in _runs(h, longest=2)]
    [(0, 2), (2, 3), (5, 6)]
    """
    runs: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if runs and runs[-1][1] == hour and hour - runs[-1][0] < longest * HOUR:
            runs[-1] = (runs[-1][0], hour + HOUR)
        else:
            runs.append((hour, hour + HOUR))
    return runs


def _count_pending(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute("SELECT count(*) FROM rollup_pending").fetchone()
    return int(row[0]) if row else 0
