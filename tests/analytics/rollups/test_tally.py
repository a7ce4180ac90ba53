"""A tally (events counted by a label) from the rollups: the same counts as the raw events, per
customer too; an hour keeps its most frequent labels and counts the rest as one; a label that
is NULL is counted, not a failed rollup."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from analytics.figures import Tally
from analytics.figures.registry import registered
from analytics.queries.rolled_window import raw_tally, rolled_tally
from analytics.rollups import maintain
from analytics.rollups.hourly import MAX_LABELS, OTHER_LABEL
from analytics.storage.store import EventStore
from analytics.window import Window
from tests.analytics.alerts.conftest import ev, put

DAY0 = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
# (a label that is no part of the rollups' key: the message a slow render was of)
BY_MESSAGE = Tally(
    "render.slowByMessage", "Slow renders by message", ("render",), "render_time > 20", "message_id"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with registered(BY_MESSAGE):
        opened = EventStore.open(tmp_path / "data")
        yield opened
        opened.close()


def roll_up_all(store: EventStore, now: datetime) -> None:
    with store.cursor() as cur:
        assert maintain.advance(cur, safe_until=now, now=now, max_hours=1000).pending == 0


def test_a_tally_from_the_rollups_counts_as_the_raw_events_do(store: EventStore) -> None:
    rng = np.random.default_rng(5)
    sent: list[tuple[str, str | None, float]] = []
    for hour in range(30):
        events = []
        for customer in ("acme", "globex"):
            messages = rng.choice(["m1", "m2", ""], 60)
            for time, message in zip(rng.lognormal(2.3, 0.8, 60), messages, strict=True):
                metric = {"renderTime": float(time), "customerId": customer, "widgetVersion": "2.0"}
                if message:  # some renders name no message: their label is ''
                    metric["messageId"] = str(message)
                events.append(ev("render", **metric))
                sent.append((customer, str(message) or None, float(time)))
        put(store, events, DAY0 + hour * HOUR + timedelta(minutes=20))
    roll_up_all(store, DAY0 + 28 * HOUR)  # the last two hours stay pending: read raw
    window = Window(DAY0 + timedelta(minutes=10), DAY0 + 30 * HOUR)  # a partial hour at the start
    for customer in (None, "acme"):
        scoped = Window(window.start, window.end, customer)
        expected = Counter(v or "" for c, v, t in sent if t > 20 and customer in (None, c))
        with store.snapshot() as cur:
            got, raw = rolled_tally(cur, BY_MESSAGE, scoped), raw_tally(cur, BY_MESSAGE, scoped)
        assert got == raw == dict(sorted(expected.items(), key=lambda item: (-item[1], item[0])))
        assert list(got) == sorted(got, key=lambda label: (-got[label], label))  # most first


def test_an_hour_keeps_its_most_frequent_labels_and_counts_the_rest_as_one(store: EventStore) -> None:
    # MAX_LABELS + 10 messages in one hour, message i slow i + 1 times
    events = [
        ev("render", renderTime=50.0, customerId="acme", widgetVersion="2.0", messageId=f"v{i:03d}")
        for i in range(MAX_LABELS + 10)
        for _ in range(i + 1)
    ]
    put(store, events, DAY0 + timedelta(minutes=5))
    roll_up_all(store, DAY0 + HOUR)
    with store.snapshot() as cur:
        got = rolled_tally(cur, BY_MESSAGE, Window(DAY0, DAY0 + HOUR))
    kept = {f"v{i:03d}": i + 1 for i in range(10, MAX_LABELS + 10)}  # the most frequent
    assert got == {**kept, OTHER_LABEL: sum(range(1, 11))}
    assert sum(got.values()) == len(events)
