"""The histograms and counters `/metrics` serves, fed by a real store's commits, against numpy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from analytics.figures import Figure, Measure, registered
from analytics.queries.distributions import OTHER, Distributions, counts, family_stem, histograms
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import ev, put

RNG = np.random.default_rng(20261202)
PAIRS = [("acme", "1.2"), ("acme", "1.3"), ("globex", None)]


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[tuple[EventStore, Distributions]]:
    store = EventStore.open(tmp_path / "data")
    distributions = Distributions(max_series=10, counting=True)
    store.stored_listeners.append(distributions.add)
    yield store, distributions
    store.close()
    distributions.close()


def spec(name: str):  # type: ignore[no-untyped-def]
    return next(h for h in histograms() if h.name == name)


def series_of(d: Distributions, name: str) -> dict[tuple[str, str], tuple[list[int], int, float]]:
    return {pair: (s.cumulative, s.count, s.sum) for pair, s in d.histogram_samples()[name]}


def test_bucket_counts_sums_and_matches_are_numpys(fed: tuple[EventStore, Distributions]) -> None:
    store, d = fed
    sent: dict[tuple[str, str | None], dict[str, np.ndarray]] = {}
    for customer, version in PAIRS:
        render = np.round(RNG.lognormal(2.3, 0.8, 400), 3)  # ms, around 10 ms
        heap = RNG.integers(5 * 2**20, 300 * 2**20, 50)
        saved = RNG.random(120) < 0.9
        tags = {"customerId": customer} | ({"widgetVersion": version} if version else {})
        events = [ev("render", renderTime=float(v), **tags) for v in render]
        events += [ev("memory", usedJSHeapSize=int(b), totalJSHeapSize=int(b), **tags) for b in heap]
        events += [ev("persistence", operation="save", success=bool(s), duration=3.0, **tags) for s in saved]
        for start in range(0, len(events), 97):  # several commits, so several flushes add up
            put(store, events[start : start + 97])
            if start % 2:
                d.flush()
        sent[customer, version] = {"render": render, "heap": heap, "saved": saved}
    d.flush()

    render = spec("render_time_seconds")
    assert 0.016 in render.bounds  # the render budget is a bucket edge: the share within it is exact
    heap = spec("memory_used_js_heap_size_bytes")
    got_render = series_of(d, "render_time_seconds")
    got_heap = series_of(d, "memory_used_js_heap_size_bytes")
    count_samples = d.count_samples()
    successes = dict(count_samples["persistence_success_total"])
    events = dict(count_samples["events_total"])
    for (customer, version), values in sent.items():
        pair = (customer, version or "")
        seconds = values["render"] / 1000
        cumulative, n, total = got_render[pair]
        assert cumulative == [int((seconds <= b).sum()) for b in render.bounds]
        assert n == len(seconds)
        assert total == pytest.approx(seconds.sum(), rel=1e-12)
        cumulative, n, total = got_heap[pair]
        assert cumulative == [int((values["heap"] <= b).sum()) for b in heap.bounds]
        assert total == pytest.approx(float(values["heap"].sum()), rel=1e-12)
        assert successes[pair] == int(values["saved"].sum())
        assert events[("persistence", *pair)] == len(values["saved"])
        assert events[("render", *pair)] == 400
        # a counter has a series (at 0 if so) wherever its types have events, and only there
        assert dict(count_samples["api_error_total"]).get(pair) is None
    assert d.folded_events == 0


def test_a_retried_event_id_is_counted_once(fed: tuple[EventStore, Distributions]) -> None:
    store, d = fed
    first = ev("render", renderTime=20.0, customerId="acme", eventId="e-1")
    put(store, [first])
    put(store, [first, ev("render", renderTime=4.0, customerId="acme", eventId="e-2")])
    d.flush()
    cumulative, n, total = series_of(d, "render_time_seconds")[("acme", "")]
    assert (n, total) == (2, pytest.approx(0.024))
    assert cumulative[spec("render_time_seconds").bounds.index(0.016)] == 1  # 4 ms within, 20 ms not


def test_a_customer_whose_saves_all_fail_has_a_success_counter_at_zero(
    fed: tuple[EventStore, Distributions],
) -> None:
    store, d = fed
    put(store, [ev("persistence", operation="save", success=False, duration=2.0, customerId="acme")] * 3)
    d.flush()
    assert dict(d.count_samples()["persistence_success_total"]) == {("acme", ""): 0}
    assert dict(d.count_samples()["persistence_error_total"]) == {("acme", ""): 3}


def test_pairs_past_the_cap_are_added_into_other(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    d = Distributions(max_series=2, counting=True)
    store.stored_listeners.append(d.add)
    try:
        for customer, ms in (("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("a", 5.0)):
            put(store, [ev("render", renderTime=ms, customerId=customer)])
            d.flush()
        got = series_of(d, "render_time_seconds")
        assert {pair: (n, round(total, 9)) for pair, (_, n, total) in got.items()} == {
            ("a", ""): (2, 0.006),
            ("b", ""): (1, 0.002),
            (OTHER, OTHER): (2, 0.007),
        }
        assert d.folded_events == 2 and d.series() == 2
    finally:
        store.close()
        d.close()


def test_a_registered_measure_has_its_histogram_and_a_rate_its_counter(
    fed: tuple[EventStore, Distributions],
) -> None:
    store, d = fed
    length = Measure(
        "render.contentLength", "Message length", "value", ("render",), "content_length / 1024", "KB", "p95"
    )
    long = Measure(
        "render.longRate", "Long messages", "rate", ("render",), "content_length > 2048", "%", "rate"
    )
    p95 = Figure("render.length_p95", "Length p95", "KB", ("render",), series=(length.name, "p95"), target=3)
    with registered(length, long, p95):
        assert family_stem(length) == "render_content_length"
        hist = spec("render_content_length_bytes")
        assert 3 * 1024 in hist.bounds  # the figure's target is a bucket edge
        assert "render_long_total" in {c.name for c in counts()}
        put(
            store,
            [ev("render", renderTime=1.0, contentLength=n, customerId="acme") for n in (100, 3000, 5000)],
        )
        d.flush()
        cumulative, n, total = series_of(d, "render_content_length_bytes")[("acme", "")]
        assert (n, total) == (3, 100 + 3000 + 5000)  # KB figures back in bytes
        assert cumulative[hist.bounds.index(3 * 1024)] == 2  # 100 and 3000 bytes within 3 KiB
        assert dict(d.count_samples()["render_long_total"]) == {("acme", ""): 2}
    assert "render_content_length_bytes" not in {h.name for h in histograms()}


def test_nothing_is_counted_before_counting_starts(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    d = Distributions()
    store.stored_listeners.append(d.add)
    try:
        put(store, [ev("render", renderTime=3.0, customerId="acme")])
        d.flush()
        assert series_of(d, "render_time_seconds") == {}
        d.start_counting()
        put(store, [ev("render", renderTime=7.0, customerId="acme")])
        d.flush()
        _, n, total = series_of(d, "render_time_seconds")[("acme", "")]
        assert (n, total) == (1, pytest.approx(0.007))
    finally:
        store.close()
        d.close()
