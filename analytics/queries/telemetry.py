"""Telemetry completeness: how many of the events widgets tracked reached the store.

The browser SDK numbers the events of each tab (one page load) 1, 2, 3, ... (`seq`) under
a random `tabId`, so a gap in a tab's numbers is an event lost between the browser and the
store (a dropped beacon, a closed page, a full queue). Per tab and window:

- received: the distinct `seq` values stored in the window (a retried event is stored once
  thanks to its `eventId`; distinct also ignores a repeated number without one);
- expected: from the first number the window should hold to the highest one seen. That first
  number is 1 when the tab has no earlier stored event, since the SDK starts every tab at 1
  and losing a tab's first batch is a loss like any other; when the tab has events from
  before the window, it is the number after the last of them, so a window that cuts a tab's
  sequence in two does not count its earlier half as lost. Earlier events are looked for in
  the `LOOK_BACK` (25 hours) before the window: a page open longer than that and silent
  all that time counts its earlier numbers as lost (reading all history for it would read
  every day of the lake on every summary);
- lost = expected - received; completeness = received / expected in percent.

Events lost after a tab's last stored event cannot be seen this way (nothing later tells
that they existed); events without `tabId` or `seq` (other clients) are not counted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import duckdb

from analytics.queries.source import EXACT_SPAN, Source
from analytics.queries.summary import pct
from analytics.storage.lake import events_source
from analytics.window import Window, iso

UNKNOWN_CUSTOMER = "unknown"
LOOK_BACK = timedelta(hours=25)  # how far before the window a tab's earlier events are looked for

_TELEMETRY_SQL = """
WITH in_window AS (
    SELECT customer_id, tab_id, seq FROM {in_window}
    WHERE tab_id IS NOT NULL AND seq IS NOT NULL
      AND {where}
),
tabs AS (
    SELECT tab_id, arg_max(customer_id, seq) AS customer_id,
           min(seq) AS lowest, max(seq) AS highest, count(DISTINCT seq) AS received
    FROM in_window GROUP BY tab_id
),
-- A tab whose numbers start at 1 in the window needs no look back. For the others, the
-- hour before the window (a few row groups, found by their min/max ts) answers nearly
-- always; only tabs silent for that hour send the look back over the day before it.
cut AS (SELECT tab_id FROM tabs WHERE lowest > 1),
near AS (
    SELECT tab_id, max(seq) AS last_before FROM {near}
    WHERE seq IS NOT NULL AND ts >= $start - INTERVAL 1 HOUR AND ts < $start
      AND tab_id IN (SELECT tab_id FROM cut)
    GROUP BY tab_id
),
far AS (
    SELECT tab_id, max(seq) AS last_before FROM {far}
    WHERE seq IS NOT NULL AND ts >= $start - INTERVAL 25 HOUR AND ts < $start - INTERVAL 1 HOUR
      AND tab_id IN (SELECT tab_id FROM cut WHERE tab_id NOT IN (SELECT tab_id FROM near))
    GROUP BY tab_id
),
earlier AS (SELECT * FROM near UNION ALL SELECT * FROM far)
SELECT coalesce(tabs.customer_id, $unknown) AS customer,
       sum(highest - least(lowest, coalesce(last_before + 1, 1)) + 1)::BIGINT AS expected,
       sum(received)::BIGINT AS received
FROM tabs LEFT JOIN earlier USING (tab_id)
GROUP BY ALL ORDER BY customer
""".replace("{where}", Window.where)


def telemetry_window(window: Window, source: Source) -> Window:
    """The window telemetry counts: the summary's, or the last 24 h of a summary from the rollups
    (telemetry reads every raw event of its window, by tab: a month of them takes seconds).

    >>> import datetime as dt
    >>> t = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    >>> telemetry_window(Window(t - dt.timedelta(days=30), t), "rollup").start.isoformat()
    '2026-01-30T00:00:00+00:00'
    """
    if source == "raw" or window.span <= EXACT_SPAN:
        return window
    return Window(window.end - EXACT_SPAN, window.end, window.customer_id, window.widget_version)


def telemetry_section(cur: duckdb.DuckDBPyConnection, window: Window) -> dict[str, Any]:
    """The summary's `telemetry` section: expected, received and lost events, overall and per
    customer, over `window` (its `from` and `to`).

    Examples
    --------
    >>> import duckdb, datetime as dt
    >>> from analytics.storage.table import create_table_sql
    >>> con = duckdb.connect()
    >>> _ = con.execute(create_table_sql())
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
    hour_before = window.start - timedelta(hours=1)
    sql = _TELEMETRY_SQL.format(
        in_window=events_source(cur, window.start, window.end),
        near=events_source(cur, hour_before, window.start),
        far=events_source(cur, window.start - LOOK_BACK, hour_before),
    )
    rows = cur.execute(sql, {**window.params(), "unknown": UNKNOWN_CUSTOMER}).fetchall()
    by_customer = {customer: _figures(int(expected), int(received)) for customer, expected, received in rows}
    expected = sum(f["expected"] for f in by_customer.values())
    received = sum(f["received"] for f in by_customer.values())
    return {
        "from": iso(window.start),
        "to": iso(window.end),
        **_figures(expected, received),
        "byCustomer": by_customer,
    }


def _figures(expected: int, received: int) -> dict[str, Any]:
    return {
        "expected": expected,
        "received": received,
        "lost": expected - received,
        "completeness": pct(received, expected),
    }
