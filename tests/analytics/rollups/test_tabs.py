"""The numbers each tab sent per hour (`rollup_tabs`), and telemetry read from them, against a
plain-Python count of the same events (the rules of `analytics.queries.telemetry`, written
again over a list)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics.ingest.intake import read_body
from analytics.queries.telemetry import telemetry_section
from analytics.rollups import maintain, tabs
from analytics.storage.erasure import erase_customer
from analytics.storage.store import EventStore, IngestBatch
from analytics.window import Window, hour_of

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
HOUR = timedelta(hours=1)
CUSTOMERS = ("acme", "globex", None)


@dataclass(frozen=True)
class Sent:
    tab: str
    seq: int
    ts: datetime
    customer: str | None
    version: str


def sessions(rng: random.Random, tabs_n: int = 60) -> list[Sent]:
    """Tabs opened over the last 30 h, each sending 1..n a few minutes apart (some lost), a few
    changing customer on the way; every (tab, seq) once, as the SDK sends them."""
    sent = []
    for t in range(tabs_n):
        ts = NOW - timedelta(minutes=rng.randrange(0, 30 * 60))
        customer = rng.choice(CUSTOMERS)
        version = rng.choice(("1.0", "2.0"))
        for seq in range(1, rng.randrange(2, 40)):
            ts += timedelta(minutes=rng.choice((1, 2, 5, 17, 45, 130)), seconds=rng.randrange(60))
            if rng.random() < 0.04:
                customer = rng.choice(CUSTOMERS)
            if rng.random() < 0.1 or ts >= NOW + HOUR:
                continue  # lost, or not yet
            sent.append(Sent(f"tab-{t}", seq, ts, customer, version))
    return sent


def post(store: EventStore, events: list[Sent], received: datetime) -> None:
    body = []
    for e in events:
        metric: dict[str, Any] = {
            "renderTime": 3.0,
            "timestamp": e.ts.isoformat(),
            "tabId": e.tab,
            "seq": e.seq,
            "eventId": f"{e.tab}:{e.seq}",
            "widgetVersion": e.version,
        }
        if e.customer is not None:
            metric["customerId"] = e.customer
        body.append({"type": "render", "metric": metric})
    received_us = int(received.timestamp() * 1_000_000)
    intake = read_body(json.dumps(body).encode(), received_us=received_us, max_events=10_000)
    assert len(intake.accepted) == len(events)
    store.append([IngestBatch.of_events(intake.accepted, received_us)])


def oracle(sent: list[Sent], window: Window) -> dict[str, tuple[int, int]]:
    """Per customer ("unknown" for none): (expected, received), by the module's rules."""
    inside: dict[str, list[Sent]] = defaultdict(list)
    for e in sent:
        if (
            window.start <= e.ts < window.end
            and (window.customer_id is None or e.customer == window.customer_id)
            and (window.widget_version is None or e.version == window.widget_version)
        ):
            inside[e.tab].append(e)
    first_hour = window.start.replace(minute=0, second=0, microsecond=0)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for tab, events in inside.items():
        seqs = {e.seq for e in events}
        lowest, highest = min(seqs), max(seqs)
        named = [e for e in events if e.customer is not None]
        customer = max(named, key=lambda e: e.seq).customer if named else None
        first = 1
        if lowest > 1:
            near = [e.seq for e in sent if e.tab == tab and first_hour - HOUR <= e.ts < window.start]
            far = [e.seq for e in sent if e.tab == tab and first_hour - 25 * HOUR <= e.ts < first_hour - HOUR]
            before = near or far
            first = max(before) + 1 if before else 1
        expected = highest - min(lowest, first) + 1
        counts = totals[customer or "unknown"]
        counts[0] += expected
        counts[1] += min(len(seqs), expected)
    return {customer: (e, r) for customer, (e, r) in totals.items()}


def counted(store: EventStore, window: Window) -> dict[str, tuple[int, int]]:
    with store.snapshot() as cur:
        got = telemetry_section(cur, window)
    return {c: (f["expected"], f["received"]) for c, f in got["byCustomer"].items()}


WINDOWS = [
    Window(NOW - timedelta(hours=5, minutes=13), NOW - timedelta(hours=1, minutes=7)),  # partial edges
    Window(NOW - timedelta(hours=24), NOW + HOUR),  # a long summary's last 24 h
    Window(NOW - timedelta(minutes=5), NOW),  # the default 5 minutes
    Window(NOW - timedelta(hours=8), NOW, "acme"),
    Window(NOW - timedelta(hours=8, minutes=30), NOW, None, "2.0"),  # by version: raw only
    Window(NOW - timedelta(hours=29), NOW - timedelta(hours=27)),  # its look back reaches past the data
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = EventStore.open(tmp_path / "data")
    yield opened
    opened.close()


def roll_up(store: EventStore) -> None:
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=datetime.now(UTC), now=datetime.now(UTC))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_telemetry_from_the_rolled_hours_is_the_count_of_the_events(store: EventStore, seed: int) -> None:
    rng = random.Random(seed)
    sent = sessions(rng)
    late = rng.sample(sent, 25)  # reach the store after their hours are rolled up
    post(store, [e for e in sent if e not in late], NOW + HOUR)
    roll_up(store)
    with store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM rollup_tabs").fetchone()[0] > 100
    # late events (their hours dirty: read raw until rolled up again), then rolled up again
    post(store, late, datetime.now(UTC))
    for window in WINDOWS:
        assert counted(store, window) == oracle(sent, window), window
    roll_up(store)
    for window in WINDOWS:
        assert counted(store, window) == oracle(sent, window), window


def test_the_rows_are_each_hour_tab_and_customer(store: EventStore) -> None:
    sent = sessions(random.Random(7))
    post(store, sent, NOW + HOUR)
    roll_up(store)
    want: dict[tuple[datetime, str, str | None], list[int]] = defaultdict(list)
    for e in sent:
        want[(e.ts.replace(minute=0, second=0, microsecond=0), e.tab, e.customer)].append(e.seq)
    with store.cursor() as cur:
        rows = cur.execute("SELECT hour, tab_id, customer_id, lowest, highest, received FROM rollup_tabs")
        got = {(h.astimezone(UTC), t, c): (lo, hi, n) for h, t, c, lo, hi, n in rows.fetchall()}
    assert got == {key: (min(s), max(s), len(s)) for key, s in want.items()}


def test_only_the_last_days_are_kept_and_older_hours_are_read_raw(store: EventStore) -> None:
    old = [
        Sent("old", seq, NOW - timedelta(days=5) + seq * timedelta(minutes=20), "acme", "1.0")
        for seq in (3, 4, 6)
    ]
    new = [
        Sent("new", seq, NOW - timedelta(hours=3) + seq * timedelta(minutes=20), "acme", "1.0")
        for seq in (1, 2, 5)
    ]
    post(store, old + new, NOW + HOUR)
    roll_up(store)
    with store.cursor() as cur:
        assert {t for (t,) in cur.execute("SELECT DISTINCT tab_id FROM rollup_tabs").fetchall()} == {"new"}
        # from the hour of the store's start, KEPT ago (an hour may have turned since)
        assert tabs.covered_from(cur) in {hour_of(datetime.now(UTC) - tabs.KEPT) - h * HOUR for h in (0, 1)}
    five_days_ago = Window(NOW - timedelta(days=5), NOW - timedelta(days=4))
    assert counted(store, five_days_ago) == {"acme": (6, 3)} == oracle(old, five_days_ago)
    later = datetime.now(UTC) + tabs.KEPT  # every hour of "new" is older than KEPT then
    with store.cursor() as cur:
        dropped = tabs.prune(cur, later)
        assert dropped == 2  # "new"'s two hours
        assert tabs.covered_from(cur) == (later - tabs.KEPT).replace(minute=0, second=0, microsecond=0)
    last_hours = Window(NOW - timedelta(hours=3), NOW)
    assert counted(store, last_hours) == {"acme": (5, 3)} == oracle(new, last_hours)  # raw again


def without_them(cur: duckdb.DuckDBPyConnection) -> None:
    """A store from the release before them: no state, no rows."""
    cur.execute("DROP TABLE rollup_tabs_state")
    cur.execute("DELETE FROM rollup_tabs")


def erasing_globex(cur: duckdb.DuckDBPyConnection) -> None:
    """That release run on a store of this one: it erases a customer and rolls its hours up
    again (not these rows), and moves the rollups' watermark."""
    cur.execute("DELETE FROM events WHERE customer_id = 'globex'")
    cur.execute("UPDATE rollup_state SET watermark = watermark + INTERVAL 1 MINUTE")


@pytest.mark.parametrize(("release_before", "erased"), [(without_them, None), (erasing_globex, "globex")])
def test_rows_a_release_before_them_left_behind_are_filled_again_at_start(
    tmp_path: Path, release_before: Callable[[duckdb.DuckDBPyConnection], None], erased: str | None
) -> None:
    sent = sessions(random.Random(11))
    store = EventStore.open(tmp_path / "data")
    post(store, sent, NOW + HOUR)
    roll_up(store)
    with store.cursor() as cur:
        want = [
            row
            for row in cur.execute("SELECT * FROM rollup_tabs ORDER BY ALL").fetchall()
            if erased is None or row[2] != erased
        ]
        release_before(cur)
    store.close()
    store = EventStore.open(tmp_path / "data")
    try:
        with store.cursor() as cur:
            assert cur.execute("SELECT * FROM rollup_tabs ORDER BY ALL").fetchall() == want
        kept = [e for e in sent if erased is None or e.customer != erased]
        assert erased is None or len(kept) < len(sent)
        for window in WINDOWS:
            assert counted(store, window) == oracle(kept, window), window
    finally:
        store.close()


def test_this_release_moving_the_watermark_keeps_them_agreed(store: EventStore) -> None:
    with store.cursor() as cur:
        before = maintain.watermark(cur)
    post(store, sessions(random.Random(13))[:50], before + timedelta(seconds=30))
    with store.cursor() as cur:
        maintain.advance(cur, safe_until=before + timedelta(minutes=1), now=datetime.now(UTC))
        assert maintain.watermark(cur) > before
        assert not tabs.cover(cur, datetime.now(UTC), maintain.watermark(cur))  # nothing to fill


def test_erasing_a_customer_removes_its_tabs(store: EventStore) -> None:
    sent = sessions(random.Random(5))
    post(store, sent, NOW + HOUR)
    roll_up(store)
    with store.cursor() as cur:
        erase_customer(cur, store.lake_dir, "globex")
        assert cur.execute("SELECT count(*) FROM rollup_tabs WHERE customer_id = 'globex'").fetchone() == (0,)
    kept = [e for e in sent if e.customer != "globex"]
    for window in WINDOWS:
        assert counted(store, window) == oracle(kept, window), window


def test_a_window_across_the_first_covered_hour_reads_each_side_from_its_source(store: EventStore) -> None:
    with store.cursor() as cur:
        covered = tabs.covered_from(cur)
    rng = random.Random(4)
    sent = [  # tabs sending every 10 minutes from 4 h before the first covered hour to 4 h after
        Sent(
            f"edge-{t}",
            seq,
            covered - 4 * HOUR + seq * timedelta(minutes=10) + t * timedelta(seconds=7),
            "acme",
            "1.0",
        )
        for t in range(5)
        for seq in range(1, 48)
        if rng.random() > 0.15
    ]
    post(store, sent, NOW + HOUR)
    roll_up(store)
    with store.cursor() as cur:  # two covered hours now only in rollup_tabs; before them, only raw
        assert tabs.covered_from(cur) == covered
        deleted = cur.execute(
            "DELETE FROM events WHERE ts >= $covered AND ts < $covered + INTERVAL 2 HOUR",
            {"covered": covered},
        ).fetchone()
        assert deleted is not None and deleted[0] > 0
    for window in (
        Window(covered - 2 * HOUR - timedelta(minutes=25), covered + 2 * HOUR + timedelta(minutes=5)),
        Window(covered - 3 * HOUR, covered + 3 * HOUR),
    ):
        assert counted(store, window) == oracle(sent, window), window
