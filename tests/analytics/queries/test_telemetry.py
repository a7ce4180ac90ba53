"""Telemetry completeness from tabId + seq, against counts worked out by hand: from raw events,
and from the per-tab numbers of the rolled-up hours (with every raw event deleted after the
rollup, so the answer can only come from them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics.ingest.intake import read_body
from analytics.queries.summary import Window
from analytics.queries.telemetry import telemetry_section
from analytics.rollups import maintain
from analytics.storage.store import EventStore, IngestBatch
from analytics.window import iso

# a whole hour 30 h ago: it and the 26 h before it are within the hours the store keeps per tab
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
HOUR = Window(T0, T0 + timedelta(hours=1))


@dataclass(frozen=True)
class Store:
    events: EventStore
    rolled: bool  # read the per-tab numbers of the rolled-up hours, with no raw event left


@pytest.fixture(params=["raw", "rolled"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    opened = EventStore.open(tmp_path / "data")
    yield Store(opened, rolled=request.param == "rolled")
    opened.close()


def event(tab: str, seq: int | None, *, customer: str | None = "acme", minute: float = 1.0) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "renderTime": 3.0,
        "timestamp": (T0 + timedelta(minutes=minute)).isoformat(),
        "tabId": tab,
    }
    if seq is not None:
        metric["seq"] = seq
        metric["eventId"] = f"{tab}:{seq}"
    if customer is not None:
        metric["customerId"] = customer
    return {"type": "render", "metric": metric}


def post(store: Store, events: list[dict[str, Any]]) -> list[int]:
    """Store a batch the way the ingest endpoint does; the duplicates per batch."""
    received_us = int((T0 + timedelta(hours=2)).timestamp() * 1_000_000)
    intake = read_body(json.dumps(events).encode(), received_us=received_us)
    return store.events.append([IngestBatch.of_events(intake.accepted, received_us)])


def section(store: Store, window: Window = HOUR) -> dict[str, Any]:
    """The section, less the window it says it counted (checked: the one asked for). Rolled: the
    hours are rolled up and the raw events deleted (every window here is made of whole hours)."""
    with store.events.cursor() as cur:
        if store.rolled:
            now = datetime.now(UTC)
            maintain.advance(cur, safe_until=now, now=now)
            assert cur.execute("SELECT count(*) FROM rollup_pending").fetchone() == (0,)
            cur.execute("DELETE FROM events")
        got = telemetry_section(cur, window)
    assert (got.pop("from"), got.pop("to")) == (iso(window.start), iso(window.end))
    return got


def test_a_gap_in_one_tab_is_one_lost_event(store: Store) -> None:
    post(store, [event("tab-a", s) for s in (1, 2, 4, 5)])
    # expected 1..5 = 5, received 4, lost 1 (seq 3), 4/5 = 80 %
    assert section(store) == {
        "expected": 5,
        "received": 4,
        "lost": 1,
        "completeness": 80.0,
        "byCustomer": {"acme": {"expected": 5, "received": 4, "lost": 1, "completeness": 80.0}},
    }


def test_a_lost_first_batch_counts_because_tabs_start_at_1(store: Store) -> None:
    post(store, [event("tab-a", s) for s in (4, 5, 6)])
    figures = section(store)
    assert (figures["expected"], figures["received"], figures["lost"]) == (6, 3, 3)
    assert figures["completeness"] == 50.0


def test_a_retried_batch_is_counted_once(store: Store) -> None:
    batch = [event("tab-a", s) for s in (1, 2, 3)]
    assert post(store, batch) == [0]
    assert post(store, batch) == [3]  # the same eventIds again: stored once
    figures = section(store)
    assert (figures["expected"], figures["received"], figures["lost"]) == (3, 3, 0)
    assert figures["completeness"] == 100.0


def test_a_number_repeated_without_an_event_id_is_counted_once(store: Store) -> None:
    twice = [event("tab-a", 2), event("tab-a", 2)]
    for repeated in twice:  # a client without eventIds sends number 2 twice; 3 is lost
        del repeated["metric"]["eventId"]
    post(store, [event("tab-a", 1), *twice, event("tab-a", 4)])
    figures = section(store)
    assert (figures["expected"], figures["received"], figures["lost"]) == (4, 3, 1)


def test_many_tabs_and_customers(store: Store) -> None:
    post(
        store,
        [event("a", s) for s in (1, 2, 3)]  # acme: complete, 3 of 3
        + [event("b", s) for s in (2, 3)]  # acme: seq 1 lost, 2 of 3
        + [event("c", s, customer="globex") for s in (1, 3, 6)],  # globex: 3 of 6
    )
    figures = section(store)
    assert figures["byCustomer"] == {
        "acme": {"expected": 6, "received": 5, "lost": 1, "completeness": 83.33},
        "globex": {"expected": 6, "received": 3, "lost": 3, "completeness": 50.0},
    }
    # overall 8 of 12
    assert (figures["expected"], figures["received"], figures["lost"]) == (12, 8, 4)
    assert figures["completeness"] == 66.67

    only_globex = section(store, Window(HOUR.start, HOUR.end, "globex"))
    assert (only_globex["expected"], only_globex["received"]) == (6, 3)
    assert list(only_globex["byCustomer"]) == ["globex"]


def test_a_window_that_cuts_a_tab_does_not_count_its_first_half_as_lost(store: Store) -> None:
    # seq 1..3 before the window, 4 lost, 5..6 inside it
    post(store, [event("a", s, minute=-10 + s) for s in (1, 2, 3)])
    post(store, [event("a", s, minute=s) for s in (5, 6)])
    figures = section(store)
    # expected 4..6 = 3, received 2
    assert (figures["expected"], figures["received"], figures["lost"]) == (3, 2, 1)


def test_a_tab_silent_for_hours_before_the_window_is_looked_up_further_back(store: Store) -> None:
    # tab a: seq 1..3 three hours before the window, 4 lost, 5..6 inside it
    post(store, [event("a", s, minute=-180 + s) for s in (1, 2, 3)])
    post(store, [event("a", s, minute=s) for s in (5, 6)])
    # tab b: seq 1..2 ten minutes before, 3..4 inside: nothing lost
    post(store, [event("b", s, minute=-10 + s) for s in (1, 2)])
    post(store, [event("b", s, minute=s) for s in (3, 4)])
    figures = section(store)
    # expected: a 4..6 = 3, b 3..4 = 2; received 2 + 2
    assert (figures["expected"], figures["received"], figures["lost"]) == (5, 4, 1)


def test_earlier_numbers_are_found_just_before_the_window_or_earlier_in_its_hour(tmp_path: Path) -> None:
    """A window that starts mid-hour: each tab's last number before it comes from the minutes
    just before (`JUST_BEFORE`), else from the rest of the hour or the hour before."""
    opened = EventStore.open(tmp_path / "data")
    try:
        raw = Store(opened, rolled=False)
        # c: 1..3 early in the hour, 4 just before the window, 5..6 in it: nothing lost
        post(raw, [event("c", s, minute=4 + s) for s in (1, 2, 3)] + [event("c", 4, minute=27)])
        post(raw, [event("c", s, minute=26 + s) for s in (5, 6)])
        # d: 1..2 early in the hour only, 3 lost, 4..5 in the window
        post(raw, [event("d", s, minute=9 + s) for s in (1, 2)])
        post(raw, [event("d", s, minute=36 + s) for s in (4, 5)])
        # e: 1 in the hour before, 2 just before the window, 3 in it
        post(raw, [event("e", 1, minute=-30), event("e", 2, minute=28), event("e", 3, minute=50)])
        figures = section(raw, Window(T0 + timedelta(minutes=30), T0 + timedelta(minutes=90)))
    finally:
        opened.close()
    # expected: c 5..6 = 2, d 3..5 = 3, e 3 = 1; received 2 + 2 + 1
    assert (figures["expected"], figures["received"], figures["lost"]) == (6, 5, 1)


def test_events_without_a_sequence_are_not_counted(store: Store) -> None:
    post(store, [event("a", None), event("b", None, customer=None)])
    assert section(store) == {
        "expected": 0,
        "received": 0,
        "lost": 0,
        "completeness": None,
        "byCustomer": {},
    }


def test_events_without_a_customer_are_grouped_as_unknown(store: Store) -> None:
    post(store, [event("a", s, customer=None) for s in (1, 3)])
    assert section(store)["byCustomer"] == {
        "unknown": {"expected": 3, "received": 2, "lost": 1, "completeness": 66.67}
    }


def test_a_number_repeated_in_another_hour_never_makes_received_exceed_expected(store: Store) -> None:
    again = event("tab-a", 2, minute=70)  # the same number an hour later, under another eventId
    again["metric"]["eventId"] = "another-id"
    post(store, [event("tab-a", 1), event("tab-a", 2), again])
    # three eventIds for two numbers: 3 received, capped at the 2 expected (raw and rolled alike)
    figures = section(store, Window(T0, T0 + timedelta(hours=2)))
    assert (figures["expected"], figures["received"], figures["lost"]) == (2, 2, 0)


def test_an_empty_window_counts_nothing_whatever_its_filters(store: Store) -> None:
    post(store, [event("tab-a", s) for s in (1, 2, 4)])
    for empty in (Window(T0, T0), Window(T0, T0, "acme"), Window(T0, T0, "acme", "2.4.0")):
        assert section(store, empty) == {
            "expected": 0,
            "received": 0,
            "lost": 0,
            "completeness": None,
            "byCustomer": {},
        }
