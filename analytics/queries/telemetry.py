"""Telemetry completeness: how many of the events widgets tracked reached the store.

The browser SDK numbers the events of each tab (one page load) 1, 2, 3, ... (`seq`) under
a random `tabId`, so a gap in a tab's numbers is an event lost between the browser and the
store (a dropped beacon, a closed page, a full queue). Per tab and window:

- received: the events stored in the window with an `eventId` (a retried event is stored
  once thanks to it), and the distinct `seq` values of those without one
  (`tabs.numbers_sql`): within an hour, see below. A client that gives two events one number
  under two `eventId`s counts both, up to the cap below;
- expected: from the first number the window should hold to the highest one seen. That first
  number is 1 when the tab has no earlier stored event, since the SDK starts every tab at 1
  and losing a tab's first batch is a loss like any other; when the tab has events from
  before the window, it is the number after the last of them, so a window that cuts a tab's
  sequence in two does not count its earlier half as lost. Earlier events are looked for in
  the 25 hours before the window's first hour (`LOOK_BACK`): a page open longer than that and
  silent all that time counts its earlier numbers as lost (reading all history for it would
  read every day of the lake on every summary);
- lost = expected - received; completeness = received / expected in percent.

Whole hours come from the numbers each tab sent per hour (`analytics.rollups.tabs`) where
those hold them (the last 3 days, rolled up and not pending); the partial hours at the edges,
pending hours and older ones from raw events, counted per tab into the same shape. Over
several hours a tab's received numbers are summed hour by hour, so a number a client repeats
in two hours without an `eventId` counts twice; a tab's received is capped at its expected.

Events lost after a tab's last stored event cannot be seen this way (nothing later tells
that they existed); events without `tabId` or `seq` (other clients) are not counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.queries.rolled_series import dirty_hours_of, in_spans, raw_spans, whole_hours
from analytics.queries.source import EXACT_SPAN, Source
from analytics.queries.summary import pct
from analytics.rollups import tabs
from analytics.rollups.hourly import HOUR
from analytics.storage.lake import events_source
from analytics.window import CUSTOMER_SQL, Window, hour_of, iso

UNKNOWN_CUSTOMER = "unknown"
LOOK_BACK = timedelta(hours=25)  # how far before the window's first hour earlier events are looked for
# Earlier events are looked for first in the last minutes before the window, within its first
# hour: under steady traffic every tab still sending has one there, and the rest of the hour
# (raw events, not rolled up yet) is then read for none of them.
JUST_BEFORE = timedelta(minutes=5)

# Per tab: the customer of its highest number, its lowest and highest numbers, and how many
# it sent, from the window's `parts` (rows of the same shape per tab, customer and hour or
# span). A tab whose numbers start at 1 in the window needs no look back. For the others,
# the minutes just before the window answer nearly always (`JUST_BEFORE`: their numbers are
# later than any before them), then the rest of its first hour and the hour before; only
# tabs silent all that time are looked for further back.
_TELEMETRY_SQL = """
WITH tabs AS (
    SELECT tab_id, arg_max(customer_id, highest) AS customer_id,
           min(lowest) AS lowest, max(highest) AS highest, sum(received) AS received
    FROM ({in_window}) GROUP BY tab_id
),
cut AS (SELECT tab_id FROM tabs WHERE lowest > 1),
just AS (SELECT tab_id, max(highest) AS last_before FROM ({just}) GROUP BY tab_id),
unfound AS (SELECT tab_id FROM cut WHERE tab_id NOT IN (SELECT tab_id FROM just)),
near AS (SELECT tab_id, max(highest) AS last_before FROM ({near}) GROUP BY tab_id),
far AS (SELECT tab_id, max(highest) AS last_before FROM ({far}) GROUP BY tab_id),
earlier AS (SELECT * FROM just UNION ALL SELECT * FROM near UNION ALL SELECT * FROM far),
counted AS (
    SELECT customer_id, received,
           highest - least(lowest, coalesce(last_before + 1, 1)) + 1 AS expected
    FROM tabs LEFT JOIN earlier USING (tab_id)
)
SELECT coalesce(customer_id, $unknown) AS customer, sum(expected)::BIGINT AS expected,
       sum(least(received, expected))::BIGINT AS received
FROM counted GROUP BY ALL ORDER BY customer
"""
_CUT = "tab_id IN (SELECT tab_id FROM cut)"
_UNFOUND = "tab_id IN (SELECT tab_id FROM unfound)"  # an empty set: DuckDB skips the scan
_FILTERED = f" AND {CUSTOMER_SQL}"
_ROLLED_PARTS = (
    "SELECT tab_id, customer_id, lowest, highest, received FROM rollup_tabs "
    "WHERE hour >= ${p}first AND hour < ${p}last AND NOT list_contains(${p}dirty::TIMESTAMPTZ[], hour){also}"
)


def telemetry_window(window: Window, source: Source) -> Window:
    """The window telemetry counts: the summary's, or for a summary from the rollups its last 24 h
    from the start of the hour they begin in (telemetry reads its window's hours past the last 3
    days from raw events, by tab: a month of them takes seconds). Whole hours are read from the
    numbers each tab sent per hour; a partial first hour, a day old and so in the lake, would be
    read raw, with the minutes before it: ~90 of the ~105 ms a 30-day summary's telemetry took.

    >>> import datetime as dt
    >>> t = dt.datetime(2026, 1, 31, 10, 48, tzinfo=dt.UTC)
    >>> telemetry_window(Window(t - dt.timedelta(days=30), t), "rollup").start.isoformat()
    '2026-01-30T10:00:00+00:00'
    >>> telemetry_window(Window(t - dt.timedelta(hours=6), t), "rollup").start.isoformat()
    '2026-01-31T04:48:00+00:00'
    """
    if source == "raw" or window.span <= EXACT_SPAN:
        return window
    start = max(window.start, hour_of(window.end - EXACT_SPAN))
    return Window(start, window.end, window.customer_id, window.widget_version)


def telemetry_section(cur: duckdb.DuckDBPyConnection, window: Window) -> dict[str, Any]:
    """The summary's `telemetry` section: expected, received and lost events, overall and per
    customer, over `window` (its `from` and `to`).

    Examples
    --------
    >>> import duckdb, datetime as dt
    >>> from analytics.storage.table import create_table_sql
    >>> from analytics.rollups import maintain
    >>> con = duckdb.connect()
    >>> _ = con.execute(create_table_sql())
    >>> maintain.prepare(con)  # the rollups' tables (none rolled up: every event is read raw)
    >>> from analytics.storage.lake import ensure_manifest
    >>> ensure_manifest(con)  # the lake's (empty) manifest: every event is in `events`
    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> for seq in (1, 2, 4):  # seq 3 never arrived
    ...     _ = con.execute(
    ...         "INSERT INTO events (type, ts, received_at, ts_clamped, customer_id, tab_id, seq) "
    ...         "VALUES ('render', $t, $t, false, 'acme', 'tab-a', $seq)", {"t": t, "seq": seq})
    >>> s = telemetry_section(con, Window(t, t + dt.timedelta(hours=1)))
    >>> (s["expected"], s["received"], s["lost"], s["completeness"])
    (4, 3, 1, 75.0)
    """
    first_hour = hour_of(window.start)
    covered = tabs.covered_from(cur)
    # the dirty hours of the window and its look-back, looked up once (a scan of the events
    # received since the rollups' watermark)
    since = max(first_hour - LOOK_BACK, covered)
    dirty = dirty_hours_of(cur, Window(since, window.end)) if since < window.end else []
    params: dict[str, Any] = {"unknown": UNKNOWN_CUSTOMER, "customer": window.customer_id}
    in_window = _FILTERED
    if window.widget_version is not None:  # the per-tab numbers are not kept per version
        in_window += " AND widget_version = $version"
        params["version"] = window.widget_version
    just_from = max(first_hour, window.start - JUST_BEFORE)
    parts = {
        "in_window": _parts(
            cur, window, "w", covered, dirty, in_window, rolled=window.widget_version is None
        ),
        "just": _parts(cur, Window(just_from, window.start), "j", covered, dirty, f" AND {_CUT}"),
        "near": _parts(cur, Window(first_hour - HOUR, just_from), "n", covered, dirty, f" AND {_UNFOUND}"),
        "far": _parts(
            cur,
            Window(first_hour - LOOK_BACK, first_hour - HOUR),
            "f",
            covered,
            dirty,
            f" AND {_UNFOUND} AND tab_id NOT IN (SELECT tab_id FROM near)",
        ),
    }
    for _, part_params in parts.values():
        params |= part_params
    sql = _TELEMETRY_SQL.format(**{name: part_sql for name, (part_sql, _) in parts.items()})
    rows = cur.execute(sql, params).fetchall()
    by_customer = {customer: _figures(int(expected), int(received)) for customer, expected, received in rows}
    expected = sum(f["expected"] for f in by_customer.values())
    received = sum(f["received"] for f in by_customer.values())
    return {
        "from": iso(window.start),
        "to": iso(window.end),
        **_figures(expected, received),
        "byCustomer": by_customer,
    }


def _parts(
    cur: duckdb.DuckDBPyConnection,
    window: Window,
    name: str,
    covered: datetime,
    all_dirty: list[datetime],
    also: str,
    *,
    rolled: bool = True,
) -> tuple[str, dict[str, Any]]:
    """Rows per tab and customer (and hour, or span) over the window's times, and their
    parameters (named after `name`): the whole hours from `covered` on that are not among
    `all_dirty` from `rollup_tabs` (none unless `rolled`), the rest from raw events; `also`
    narrows both."""
    whole, last = whole_hours(window.start, window.end)
    first = min(max(whole, covered), last) if rolled else last
    dirty = [hour for hour in all_dirty if first <= hour < last]
    uncovered = [whole + n * HOUR for n in range(max(0, (first - whole) // HOUR))]
    spans = raw_spans(window, uncovered + dirty) if first < last else [(window.start, window.end)]
    sql: list[str] = []
    params: dict[str, Any] = {}
    if (last - first) // HOUR > len(dirty):
        sql.append(_ROLLED_PARTS.format(p=name, also=also))
        params |= {f"{name}first": first, f"{name}last": last, f"{name}dirty": dirty}
    spans = [(a, b) for a, b in spans if a < b]
    if spans:
        in_raw, span_params = in_spans(spans, f"{name}span")
        sql.append(tabs.numbers_sql(events_source(cur, spans=spans), f"{in_raw}{also}"))
        params |= span_params
    if not sql:  # an empty window: no rows, with `also` (and its parameters) still bound
        sql.append(tabs.numbers_sql("events", f"false{also}"))
    return " UNION ALL ".join(sql), params


def _figures(expected: int, received: int) -> dict[str, Any]:
    return {
        "expected": expected,
        "received": received,
        "lost": expected - received,
        "completeness": pct(received, expected),
    }
