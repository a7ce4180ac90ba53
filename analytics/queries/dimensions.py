"""What the store holds: how many events, from when to when, which customers and versions.

Counted in one scan per part: the hot events in DuckDB, and the lake's files. The lake's part
is kept per manifest (its files never change under one set of entries: a day that changes
gets a new generation), so a call reads only the hot events, a day or two, unless a day
moved, merged or was dropped since the last one (a full read: ~1 s per 10M events).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from analytics.storage.lake import files_of, manifest_of
from analytics.window import iso

MAX_VALUES = 200
_KEPT = 16  # lake parts kept (one per customer scope asked for, under the current manifest)


@dataclass(frozen=True, slots=True)
class _Counts:
    events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    customers: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: _Counts) -> _Counts:
        firsts = [t for t in (self.first, other.first) if t is not None]
        lasts = [t for t in (self.last, other.last) if t is not None]
        return _Counts(
            self.events + other.events,
            min(firsts) if firsts else None,
            max(lasts) if lasts else None,
            self.customers + other.customers,
            self.versions + other.versions,
        )


_lake_parts: dict[tuple[Any, ...], _Counts] = {}
_lake_lock = threading.Lock()


def list_dimensions(cur: duckdb.DuckDBPyConnection, customer_id: str | None = None) -> dict[str, Any]:
    """The store's extent and the customers and widget versions seen, busiest first.

    With `customer_id`, that customer's events alone (and no other customer named).
    An empty store answers ``{"events": 0, "firstEvent": None, "lastEvent": None,
    "customers": [], "widgetVersions": []}``.
    """
    counts = _counted(cur, "events", customer_id) + _lake_counts(cur, customer_id)
    return {
        "events": counts.events,
        "firstEvent": None if counts.first is None else iso(counts.first),
        "lastEvent": None if counts.last is None else iso(counts.last),
        "customers": _busiest(counts.customers),
        "widgetVersions": _busiest(counts.versions),
    }


def _lake_counts(cur: duckdb.DuckDBPyConnection, customer_id: str | None) -> _Counts:
    lake_dir, entries = manifest_of(cur)
    files = files_of(lake_dir, entries)
    if files is None:
        return _Counts()
    key = (str(lake_dir), tuple(entries), customer_id)
    with _lake_lock:
        known = _lake_parts.get(key)
    if known is not None:
        return known
    counted = _counted(cur, files, customer_id)
    with _lake_lock:
        for stale in [k for k in _lake_parts if k[:2] != key[:2]]:  # of an earlier manifest
            del _lake_parts[stale]
        while len(_lake_parts) >= _KEPT:  # the oldest scope first
            del _lake_parts[next(iter(_lake_parts))]
        _lake_parts[key] = counted
    return counted


def _counted(cur: duckdb.DuckDBPyConnection, relation: str, customer_id: str | None) -> _Counts:
    """Events, first and last timestamp, and events per customer and per version, in one scan."""
    scope = "true" if customer_id is None else "customer_id = $customer"
    params = {} if customer_id is None else {"customer": customer_id}
    rows = cur.execute(
        "SELECT grouping(customer_id) AS no_customer, grouping(widget_version) AS no_version, "
        "customer_id, widget_version, count(*), min(ts), max(ts) "
        f"FROM {relation} WHERE {scope} "
        "GROUP BY GROUPING SETS ((), (customer_id), (widget_version))",
        params,
    ).fetchall()
    counts = _Counts()
    customers: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    for no_customer, no_version, customer, version, n, first, last in rows:
        if no_customer and no_version:  # the grand total
            counts = _Counts(int(n), first, last)
        elif not no_customer and customer is not None:
            customers[customer] += int(n)
        elif not no_version and version is not None:
            versions[version] += int(n)
    return _Counts(counts.events, counts.first, counts.last, customers, versions)


def _busiest(counted: Counter[str]) -> list[dict[str, Any]]:
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:MAX_VALUES]
    return [{"id": value, "events": n} for value, n in ranked]
