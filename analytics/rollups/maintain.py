"""Keeping the hourly rollups up to date: which hours changed, and rolling up those that closed.

A watermark on `received_at` (`rollup_state`) says up to when stored events have been looked
at. Each `advance`:

1. marks the hours of the events received after the watermark as pending
   (`rollup_pending`) and moves the watermark, in one transaction;
2. rolls up each pending hour that has closed (`hourly.roll_up` rewrites it whole from its
   raw events) and clears its mark, one transaction per hour, at most `max_hours` per run.

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

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from analytics.rollups.hourly import HOUR, create_tables, roll_up

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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

    def to_wire(self) -> dict[str, object]:
        return {
            "watermark": self.watermark.isoformat(),
            "hoursRolledUp": self.rolled,
            "hoursPending": self.pending,
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
    cur.begin()
    try:
        since = watermark(cur)
        until = max(since, safe_until)
        before = _count_pending(cur)
        cur.execute(
            "INSERT INTO rollup_pending SELECT DISTINCT time_bucket(INTERVAL 1 HOUR, ts) FROM events "
            "WHERE received_at > $since AND received_at <= $until ON CONFLICT DO NOTHING",
            {"since": since, "until": until},
        )
        marked = _count_pending(cur) - before
        cur.execute("UPDATE rollup_state SET watermark = $until WHERE id = 1", {"until": until})
        cur.commit()
    except BaseException:
        cur.rollback()
        raise
    rolled = 0
    for hour in pending_hours(cur):
        if hour + HOUR > now or rolled >= max_hours:
            continue  # still open (late events would change it anyway), or next run's
        cur.begin()
        try:
            roll_up(cur, hour, hour + HOUR)
            cur.execute("DELETE FROM rollup_pending WHERE hour = $hour", {"hour": hour})
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
        rolled += 1
    return RollupReport(until, marked, rolled, _count_pending(cur))


def _count_pending(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute("SELECT count(*) FROM rollup_pending").fetchone()
    return int(row[0]) if row else 0
