"""The numbers each tab sent, per hour: what telemetry completeness reads for the whole hours it
covers, instead of every raw event of them (`analytics.queries.telemetry`).

Per (hour, tab, customer), `rollup_tabs` holds the lowest and the highest `seq` of the events
with a `tabId` and a `seq`, and how many numbers arrived (`numbers_sql`). Hours merge with
min, max and sum: over several hours a tab's received events are the sum of each hour's,
which is the distinct count over all of them unless a client repeats a number in two hours
without an `eventId` (the SDK never does; a retried SDK event is stored once).

Only the hours of the last `KEPT` are held (telemetry reads the last 24 h at most, and about
25 h before them): 3 days are ~1.4 MB for the bench's 1.1M events a day, where the 90 days of
raw retention would be 41 MB (5 % of the lake) and 39 s to fill. `rollup_tabs_state` says
from which hour on every rolled-up hour (not pending) has its rows: readers take the hours
before it, and the pending ones, from raw events. An hour's rows are rewritten with its other
rollups (`hourly.roll_up`, in the same transaction), so a late event is counted once, read
raw until its hour is rolled up again. A store without the state (new, or from a release
before it), or whose rollups a release before it has moved on since, fills the last `KEPT` from
raw events at start (`cover`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from analytics.storage.lake import events_source
from analytics.transaction import count_of, transaction
from analytics.window import HOUR_OF_TS, hour_of

KEPT = timedelta(days=3)
SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS rollup_tabs (hour TIMESTAMPTZ NOT NULL, tab_id VARCHAR NOT NULL, "
    "customer_id VARCHAR, lowest BIGINT NOT NULL, highest BIGINT NOT NULL, received BIGINT NOT NULL)"
)
# `watermark`: the rollups' watermark (`maintain.watermark`) when these rows last agreed with
# the other rollups; it moves with it (`follow`). A release before this table rolls hours up
# (and erases customers) without writing it, and moves the rollups' watermark only: the two
# then differ, and the next start fills the table again (`cover`).
_STATE_SQL = (
    "CREATE TABLE IF NOT EXISTS rollup_tabs_state "
    "(id INTEGER PRIMARY KEY, covered_from TIMESTAMPTZ NOT NULL, watermark TIMESTAMPTZ)"
)
_NOT_COVERED = datetime.max.replace(tzinfo=UTC)  # no state row: every hour is read raw


def create_table(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(SCHEMA_SQL)
    cur.execute(_STATE_SQL)
    # a state written before `watermark` existed: NULL, which agrees with no watermark
    cur.execute("ALTER TABLE rollup_tabs_state ADD COLUMN IF NOT EXISTS watermark TIMESTAMPTZ")


def covered_from(cur: duckdb.DuckDBPyConnection) -> datetime:
    """The first hour from which every hour rolled up (not pending) has its rows."""
    row = cur.execute("SELECT covered_from FROM rollup_tabs_state WHERE id = 1").fetchone()
    return _NOT_COVERED if row is None else row[0].astimezone(UTC)


def cover(cur: duckdb.DuckDBPyConnection, now: datetime, watermark: datetime) -> bool:
    """Fill the hours of the last `KEPT` from raw events and record them as covered, in one
    transaction, when the store has no state yet or one that the rollups' `watermark` has moved
    past without it; returns whether it filled them."""
    row = cur.execute("SELECT watermark FROM rollup_tabs_state WHERE id = 1").fetchone()
    if row is not None and row[0] is not None and row[0] == watermark:
        return False
    since = hour_of(now - KEPT)
    with transaction(cur):
        cur.execute("DELETE FROM rollup_tabs")
        _insert(cur, since, None)
        cur.execute("DELETE FROM rollup_tabs_state")
        cur.execute(
            "INSERT INTO rollup_tabs_state VALUES (1, $since, $watermark)",
            {"since": since, "watermark": watermark},
        )
    return True


def follow(cur: duckdb.DuckDBPyConnection, watermark: datetime) -> None:
    """Record that the rollups' watermark moved to `watermark` with these rows (in the caller's
    transaction, the one that moves it: `maintain.advance`)."""
    cur.execute("UPDATE rollup_tabs_state SET watermark = $watermark WHERE id = 1", {"watermark": watermark})


def roll_up(cur: duckdb.DuckDBPyConnection, first: datetime, stop: datetime) -> None:
    """Rewrite the rows of the hours [first, stop) that are covered, from their raw events
    (inside the caller's transaction: `hourly.roll_up`)."""
    start = max(first, covered_from(cur))
    if start >= stop:
        return
    cur.execute(
        "DELETE FROM rollup_tabs WHERE hour >= $start AND hour < $stop", {"start": start, "stop": stop}
    )
    _insert(cur, start, stop)


def prune(cur: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Drop the hours older than `KEPT` before `now`, and cover from the first one kept; returns
    the rows dropped."""
    since = hour_of(now - KEPT)
    if covered_from(cur) >= since:
        return 0
    with transaction(cur):
        dropped = count_of(cur, "DELETE FROM rollup_tabs WHERE hour < $since", {"since": since})
        cur.execute("UPDATE rollup_tabs_state SET covered_from = $since WHERE id = 1", {"since": since})
    return dropped


def numbers_sql(source: str, where: str, keys: str = "tab_id, customer_id") -> str:
    """Rows of `keys` (columns of `source`), `lowest`, `highest` and `received`: the numbers the
    events of `source` matching `where` brought, per tab, in two kinds of rows that readers
    merge (min, max, sum). The events with an `eventId`, one number each: a retried event is
    stored once within the dedupe horizon (the SDK's id is `tabId:seq`), so no count distinct
    is needed; and the distinct numbers of the events without one (a client that repeats a
    number). One `count(DISTINCT seq)` took 87-122 ms over 1M events in 1,000 tabs; one
    `count(event_id) + count(DISTINCT ...)` 19 ms; the two rows 11 ms. A client that gives
    two events one number under two `eventId`s has both counted."""
    return " UNION ALL ".join(
        f"SELECT {keys}, min(seq) AS lowest, max(seq) AS highest, {received} AS received FROM {source} "
        f"WHERE tab_id IS NOT NULL AND seq IS NOT NULL AND event_id IS {kind} AND {where} GROUP BY {keys}"
        for kind, received in (("NOT NULL", "count(*)"), ("NULL", "count(DISTINCT seq)"))
    )


def _insert(cur: duckdb.DuckDBPyConnection, start: datetime, stop: datetime | None) -> None:
    source = f"(SELECT {HOUR_OF_TS} AS hour, * FROM {events_source(cur, start, stop)})"
    where = "ts >= $start" + ("" if stop is None else " AND ts < $stop")
    cur.execute(  # one row per (hour, tab, customer), in key order
        "INSERT INTO rollup_tabs SELECT hour, tab_id, customer_id, min(lowest), max(highest), sum(received) "
        f"FROM ({numbers_sql(source, where, 'hour, tab_id, customer_id')}) GROUP BY ALL ORDER BY ALL",
        {"start": start} | ({} if stop is None else {"stop": stop}),
    )
