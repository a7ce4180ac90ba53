"""The demo dataset: deterministic, valid on the wire, and its two incidents are there to find."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest

from analytics.demo_data import (
    CUSTOMERS,
    OUTAGE_CUSTOMER,
    OUTAGE_END_H,
    OUTAGE_START_H,
    REGRESSED_VERSION,
    generate_demo,
)
from analytics.ingest.events import EVENT_TYPES
from analytics.ingest.intake import read_body

END = datetime(2026, 5, 20, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> list[dict[str, object]]:
    return generate_demo(end=END, days=2, seed=7)


def test_same_arguments_give_the_same_events_and_another_seed_differs(demo: list[dict[str, object]]) -> None:
    assert generate_demo(end=END, days=2, seed=7) == demo
    assert generate_demo(end=END, days=2, seed=8) != demo


def test_every_event_passes_the_ingest_schema(demo: list[dict[str, object]]) -> None:
    received_us = int(END.timestamp() * 1e6)
    for first in range(0, len(demo), 1000):
        intake = read_body(msgspec.json.encode(demo[first : first + 1000]), received_us=received_us)
        assert intake.rejected == []
        assert intake.clamped == 0
    ids = [e["metric"]["eventId"] for e in demo]  # type: ignore[index]
    assert len(set(ids)) == len(ids)


def test_all_nine_types_several_customers_and_versions_within_the_range(
    demo: list[dict[str, object]],
) -> None:
    assert set(Counter(e["type"] for e in demo)) == set(EVENT_TYPES)
    assert {e["metric"]["customerId"] for e in demo} == set(CUSTOMERS)  # type: ignore[index]
    assert len({e["metric"]["widgetVersion"] for e in demo}) == 3  # type: ignore[index]
    stamps = np.array([e["metric"]["timestamp"] for e in demo])  # type: ignore[index]
    assert stamps.min() >= (END.timestamp() - 2 * 86_400) * 1000
    assert stamps.max() < END.timestamp() * 1000
    assert (np.diff(stamps) >= 0).all()


def test_traffic_is_diurnal(demo: list[dict[str, object]]) -> None:
    hours = Counter(
        datetime.fromtimestamp(e["metric"]["timestamp"] / 1000, UTC).hour  # type: ignore[index]
        for e in demo
    )
    assert hours[14] > 2.5 * hours[3]  # afternoon peak vs the night


def test_the_regressed_version_breaks_the_render_p95_threshold_and_the_others_do_not(
    demo: list[dict[str, object]],
) -> None:
    renders: dict[str, list[float]] = {}
    for e in demo:
        if e["type"] == "render":
            m = e["metric"]
            renders.setdefault(m["widgetVersion"], []).append(m["renderTime"])  # type: ignore[index]
    p95 = {version: float(np.percentile(values, 95)) for version, values in renders.items()}
    assert p95[REGRESSED_VERSION] > 16
    assert all(value < 16 for version, value in p95.items() if version != REGRESSED_VERSION)


def test_the_storage_outage_fails_saves_and_loses_data_only_for_one_customer_during_it(
    demo: list[dict[str, object]],
) -> None:
    end_ms = END.timestamp() * 1000
    inside: list[dict[str, object]] = []
    outside: list[dict[str, object]] = []
    for e in demo:
        if e["type"] != "persistence":
            continue
        m = e["metric"]
        hours_before = (end_ms - m["timestamp"]) / 3.6e6  # type: ignore[index, operator]
        during = OUTAGE_END_H <= hours_before < OUTAGE_START_H and m["customerId"] == OUTAGE_CUSTOMER  # type: ignore[index]
        (inside if during else outside).append(m)  # type: ignore[arg-type]
    success_inside = np.mean([m["success"] for m in inside])  # type: ignore[index]
    success_outside = np.mean([m["success"] for m in outside])  # type: ignore[index]
    assert success_inside < 0.9 < 0.99 < success_outside
    assert sum(m.get("dataLoss", False) for m in inside) > 0  # type: ignore[attr-defined]
    assert sum(m.get("dataLoss", False) for m in outside) == 0  # type: ignore[attr-defined]


def test_each_tab_numbers_its_events_and_a_few_never_arrive(demo: list[dict[str, object]]) -> None:
    by_tab: dict[str, list[int]] = {}
    for e in demo:
        m = e["metric"]
        by_tab.setdefault(m["tabId"], []).append(m["seq"])  # type: ignore[index]
    expected = sum(max(seqs) for seqs in by_tab.values())
    received = sum(len(seqs) for seqs in by_tab.values())
    assert all(len(set(seqs)) == len(seqs) for seqs in by_tab.values())
    assert 0.99 < received / expected < 1.0  # about 0.3 % lost in transit
