"""Telemetry completeness from tabId + seq, against counts worked out by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics.ingest.intake import read_body
from analytics.queries.summary import Window
from analytics.queries.telemetry import telemetry_section
from analytics.storage.store import EventStore, IngestBatch
from analytics.window import iso

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOUR = Window(T0, T0 + timedelta(hours=1))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = EventStore.open(tmp_path / "data")
    yield opened
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


def post(store: EventStore, events: list[dict[str, Any]]) -> list[int]:
    """Store a batch the way the ingest endpoint does; the duplicates per batch."""
    received_us = int((T0 + timedelta(hours=2)).timestamp() * 1_000_000)
    intake = read_body(json.dumps(events).encode(), received_us=received_us)
    return store.append([IngestBatch.of_events(intake.accepted, received_us)])


def section(store: EventStore, window: Window = HOUR) -> dict[str, Any]:
    """The section, less the window it says it counted (checked: the one asked for)."""
    with store.cursor() as cur:
        got = telemetry_section(cur, window)
    assert (got.pop("from"), got.pop("to")) == (iso(window.start), iso(window.end))
    return got


def test_a_gap_in_one_tab_is_one_lost_event(store: EventStore) -> None:
    post(store, [event("tab-a", s) for s in (1, 2, 4, 5)])
    # expected 1..5 = 5, received 4, lost 1 (seq 3), 4/5 = 80 %
    assert section(store) == {
        "expected": 5,
        "received": 4,
        "lost": 1,
        "completeness": 80.0,
        "byCustomer": {"acme": {"expected": 5, "received": 4, "lost": 1, "completeness": 80.0}},
    }


def test_a_lost_first_batch_counts_because_tabs_start_at_1(store: EventStore) -> None:
    post(store, [event("tab-a", s) for s in (4, 5, 6)])
    figures = section(store)
    assert (figures["expected"], figures["received"], figures["lost"]) == (6, 3, 3)
    assert figures["completeness"] == 50.0


def test_a_retried_batch_is_counted_once(store: EventStore) -> None:
    batch = [event("tab-a", s) for s in (1, 2, 3)]
    assert post(store, batch) == [0]
    assert post(store, batch) == [3]  # the same eventIds again: stored once
    figures = section(store)
    assert (figures["expected"], figures["received"], figures["lost"]) == (3, 3, 0)
    assert figures["completeness"] == 100.0


def test_a_repeated_seq_without_the_same_event_id_is_counted_once(store: EventStore) -> None:
    again = event("tab-a", 2)
    again["metric"]["eventId"] = "another-id"
    post(store, [event("tab-a", 1), event("tab-a", 2), again, event("tab-a", 3)])
    figures = section(store)
    assert (figures["expected"], figures["received"], figures["lost"]) == (3, 3, 0)


def test_many_tabs_and_customers(store: EventStore) -> None:
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


def test_a_window_that_cuts_a_tab_does_not_count_its_first_half_as_lost(store: EventStore) -> None:
    # seq 1..3 before the window, 4 lost, 5..6 inside it
    post(store, [event("a", s, minute=-10 + s) for s in (1, 2, 3)])
    post(store, [event("a", s, minute=s) for s in (5, 6)])
    figures = section(store)
    # expected 4..6 = 3, received 2
    assert (figures["expected"], figures["received"], figures["lost"]) == (3, 2, 1)


def test_a_tab_silent_for_hours_before_the_window_is_looked_up_further_back(store: EventStore) -> None:
    # tab a: seq 1..3 three hours before the window, 4 lost, 5..6 inside it
    post(store, [event("a", s, minute=-180 + s) for s in (1, 2, 3)])
    post(store, [event("a", s, minute=s) for s in (5, 6)])
    # tab b: seq 1..2 ten minutes before, 3..4 inside: nothing lost
    post(store, [event("b", s, minute=-10 + s) for s in (1, 2)])
    post(store, [event("b", s, minute=s) for s in (3, 4)])
    figures = section(store)
    # expected: a 4..6 = 3, b 3..4 = 2; received 2 + 2
    assert (figures["expected"], figures["received"], figures["lost"]) == (5, 4, 1)


def test_events_without_a_sequence_are_not_counted(store: EventStore) -> None:
    post(store, [event("a", None), event("b", None, customer=None)])
    assert section(store) == {
        "expected": 0,
        "received": 0,
        "lost": 0,
        "completeness": None,
        "byCustomer": {},
    }


def test_events_without_a_customer_are_grouped_as_unknown(store: EventStore) -> None:
    post(store, [event("a", s, customer=None) for s in (1, 3)])
    assert section(store)["byCustomer"] == {
        "unknown": {"expected": 3, "received": 2, "lost": 1, "completeness": 66.67}
    }
