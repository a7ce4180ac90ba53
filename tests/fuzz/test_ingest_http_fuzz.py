"""POST /api/monitoring/widget over fuzzed bodies, in process, then read back.

Never a 5xx; an answered body says by index what it took; and what it took, the
read routes show: the store's event count (dimensions), each type's samples, and the
summary's counts grow by exactly what was stored. Both ways of reading a body are
driven: in the request's process, and in a decoder process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analytics.ingest.events import EVENT_TYPES
from ingest_api.main import create_app
from ingest_api.routes.ingest import PATH
from ingest_api.settings import Settings
from tests.fuzz.event_strategies import Body, bodies, events_in, moments
from tests.support.server import LOCAL

pytestmark = pytest.mark.slow  # `make test-slow` (CI runs it after `make test`)

MAX_EVENTS = 6
# Within the summary's longest window (90 days), so that every stored event is in it.
RECENT = moments(datetime.now(UTC) - timedelta(days=30), datetime.now(UTC) + timedelta(days=30))
# The per-event figure of each type, one a stored event always has (a required field).
SAMPLED = {
    "persistence": "persistence.duration",
    "restoration": "restoration.duration",
    "navigation": "navigation.duration",
    "render": "render.renderTime",
    "scroll": "scroll.avgFps",
    "memory": "memory.usedJSHeapSize",
    "tabSync": "tabSync.latency",
    "api": "api.duration",
    "bundle": "bundle.loadTime",
}
# Where the summary counts each type's events (scroll and memory have no count there).
SUMMARY_COUNTS = {
    "persistence": ("persistence", "operations", "total"),
    "restoration": ("persistence", "restoration", "total"),
    "navigation": ("persistence", "navigation", "total"),
    "render": ("performance", "renders", "count"),
    "tabSync": ("performance", "tabSync", "operations"),
    "api": ("performance", "api", "totalCalls"),
    "bundle": ("performance", "bundles", "totalLoaded"),
}
# None: no Content-Type at all; text/plain is what navigator.sendBeacon sends for a string.
MEDIA = [None, "application/json", "application/json;charset=utf-8", "text/plain", "text/plain;charset=UTF-8"]


READERS = [pytest.param(0, id="in-place"), pytest.param(1, id="decoder-process")]


@pytest.fixture(scope="module", params=READERS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app per way of reading bodies, for every example (their store only grows)."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        summary_cache_seconds=0,
        max_batch_events=MAX_EVENTS,
        decoder_processes=request.param,
        decoder_min_bytes=0,  # with a process, every body goes there
    )
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        yield client


def stored_counts(api: TestClient) -> Counter[str]:
    """Events in the store: all of them (`*`), per type by samples, per type by the summary."""
    counts: Counter[str] = Counter()
    dimensions = api.get("/api/monitoring/widget/dimensions")
    assert dimensions.status_code == 200, dimensions.text
    counts["*"] = dimensions.json()["events"]
    until = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for kind, metric in SAMPLED.items():
        samples = api.get(
            "/api/monitoring/widget/samples",
            params={"metric": metric, "from": "2000-01-01T00:00:00Z", "to": until, "limit": 1},
        )
        assert samples.status_code == 200, samples.text
        counts[f"samples {kind}"] = samples.json()["total"]
    summary = api.get("/api/monitoring/widget", params={"window": 90 * 86_400_000, "alerts": "false"})
    assert summary.status_code == 200, summary.text
    for kind, (section, part, count) in SUMMARY_COUNTS.items():
        counts[f"summary {kind}"] = summary.json()[section][part][count]
    return counts


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(MAX_EVENTS, timestamps=RECENT), media=st.sampled_from(MEDIA))
def test_a_post_is_never_a_server_error_and_what_it_stores_is_read_back(
    api: TestClient, body: Body, media: str | None
) -> None:
    before = stored_counts(api)
    answer = api.post(PATH, content=body.raw, headers={} if media is None else {"Content-Type": media})

    assert answer.status_code < 500, f"{answer.status_code} {answer.text}"
    event(f"HTTP {answer.status_code}")
    if answer.status_code != 200:
        assert answer.status_code in (400, 413, 422), answer.text
        assert stored_counts(api) == before
        return
    taken = answer.json()
    sent = events_in(body)
    assert sent is not None, "stored a body that is not JSON"
    rejected = {r["index"] for r in taken["rejected"]}
    assert rejected <= set(range(len(sent))) and len(rejected) == len(taken["rejected"])
    assert taken["accepted"] == len(sent) - len(rejected)
    assert taken["stored"] + taken["duplicates"] == taken["accepted"]

    after = stored_counts(api)
    assert after["*"] - before["*"] == taken["stored"]
    if taken["duplicates"] == 0:  # then each type grew by its accepted events
        kinds = Counter(sent[i]["type"] for i in range(len(sent)) if i not in rejected)
        assert set(kinds) <= set(EVENT_TYPES)
        grew = {key: after[key] - before[key] for key in after if key != "*"}
        expected = {f"samples {kind}": kinds[kind] for kind in SAMPLED}
        expected |= {f"summary {kind}": kinds[kind] for kind in SUMMARY_COUNTS}
        assert grew == expected
