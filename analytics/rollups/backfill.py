"""Rolling up, over the history already rolled up, a measure the store has not rolled up before.

`hourly.roll_up` rolls up every measure (and tally) of the registry, so the hours rolled up
before one was registered (by a newer release, or a plugin) have no rows of it.
`rollup_measures` names those every rolled hour holds. At start (`roll_up_new_measures`), each
registered one it does not name is rolled up from the raw events, in DuckDB and the lake, of
every hour that has none of its rows; its summed and daily rows are rewritten from them; and
it is named, in one transaction per measure: a process killed on the way does the rest at the
next start. (A store written before `rollup_measures` existed names the measures it has rows
of.) An hour that has rows of the measure (rolled up since) is left as it is, so nothing is
counted twice. Hours whose raw events retention has dropped keep no rows of it, as a raw read
of them finds nothing either: from then on its rollups reach as far back as the raw events did."""

from __future__ import annotations

import logging
import time

import duckdb

from analytics.figures import Measure, Tally, rolled_up
from analytics.figures.figure import LABEL_SEPARATOR
from analytics.rollups.hourly import inserts_of, sum_days, sum_levels
from analytics.storage.lake import events_source
from analytics.transaction import transaction
from analytics.window import HOUR_OF_TS

log = logging.getLogger(__name__)
SCHEMA_SQL = "CREATE TABLE IF NOT EXISTS rollup_measures (measure VARCHAR PRIMARY KEY)"
_NEW_HOURS = f"{HOUR_OF_TS} NOT IN (SELECT hour FROM rollup_stats WHERE measure = $measure)"


def roll_up_new_measures(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Roll up the registered measures and tallies `rollup_measures` does not name over the hours
    rolled up without them, and name them; returns the names of those it read raw events for
    (none when the store has no hour rolled up yet)."""
    _prepare(cur)
    named = {row[0] for row in cur.execute("SELECT measure FROM rollup_measures").fetchall()}
    new = [m for m in rolled_up() if m.name not in named]
    if not new:
        return []
    if cur.execute("SELECT count(*) FROM (SELECT 1 FROM rollup_stats LIMIT 1)").fetchone() == (0,):
        with transaction(cur):  # no hour is rolled up without them
            cur.execute("INSERT INTO rollup_measures SELECT unnest($new)", {"new": [m.name for m in new]})
        return []
    for measure in new:  # one transaction each: a failure keeps those done before it
        started = time.perf_counter()
        with transaction(cur):
            _fill(cur, measure)
            # only its rows are rewritten (a tally's label rows are `<tally>/<label>`)
            theirs = f"split_part(measure, '{LABEL_SEPARATOR}', 1) = $name"
            sum_levels(cur, theirs, {"name": measure.name})
            sum_days(cur, theirs, {"name": measure.name})
            cur.execute("INSERT INTO rollup_measures VALUES ($name)", {"name": measure.name})
        log.info(
            "rolled up %s, new to this store, over its history in %.1f s",
            measure.name,
            time.perf_counter() - started,
        )
    return [m.name for m in new]


def _prepare(cur: duckdb.DuckDBPyConnection) -> None:
    """Create `rollup_measures` where it is missing. A store written before it existed rolled up
    every measure of its release in every hour: those with rows are named at once."""
    found = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollup_measures'"
    ).fetchone()
    if found == (1,):
        return
    with transaction(cur):
        cur.execute(SCHEMA_SQL)
        cur.execute("INSERT INTO rollup_measures SELECT DISTINCT measure FROM rollup_stats")


def _fill(cur: duckdb.DuckDBPyConnection, measure: Measure | Tally) -> None:
    """The measure's (or tally's) hourly rows of every hour that has none, from that hour's raw events."""
    types = ", ".join(f"'{t}'" for t in measure.types)
    raw = f"FROM {events_source(cur, types=measure.types)} WHERE type IN ({types}) AND {_NEW_HOURS}"
    for sql in inserts_of(measure, raw):  # the buckets first: the stats rows mark an hour done
        cur.execute(sql, {"measure": measure.name})
