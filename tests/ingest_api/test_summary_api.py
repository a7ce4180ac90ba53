"""GET /api/monitoring/widget: the seed's shape, its parameters, export formats and the cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from analytics.rollups.sketch import ALPHA
from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.events import FULL_METRICS, event
from tests.support.server import LOCAL

URL = "/api/monitoring/widget"
FRESH = {"Cache-Control": "no-cache"}

# The seed's example response (chat-widget-monitoring.md, "Response Format"), transcribed.
SEED_EXAMPLE: dict[str, Any] = {
    "timestamp": "2025-11-03T10:00:00.000Z",
    "timeWindow": 300000,
    "health": {
        "overall": 95,
        "scores": {"persistence": 99, "performance": 92, "memory": 88, "api": 97},
        "status": "healthy",
    },
    "persistence": {
        "operations": {"total": 1250, "successful": 1248, "failed": 2, "successRate": 99.84},
        "performance": {"avgDuration": 45.2, "p50Duration": 38.0, "p95Duration": 125.0, "p99Duration": 180.0},
        "reliability": {"dataLossIncidents": 0, "errorsByType": {}},
        "restoration": {"total": 45, "successRate": 100.0, "avgDuration": 152.3, "avgMessagesRestored": 8.5},
        "navigation": {
            "total": 23,
            "successCount": 23,
            "dataPreservedCount": 23,
            "dataLossCount": 0,
            "avgDuration": 78.4,
        },
    },
    "performance": {
        "renders": {"count": 452, "avgTime": 8.3, "p95Time": 14.2, "slowRenders": 12, "slowRenderRate": 2.65},
        "scroll": {"avgFps": 58.2, "minFps": 52.1, "jankPercentage": 3.2},
        "memory": {
            "current": {"bytes": 28639232, "mb": 27.31},
            "peak": {"bytes": 42598400, "mb": 40.63},
            "average": {"bytes": 33456128, "mb": 31.91},
        },
        "tabSync": {
            "operations": 156,
            "avgLatency": 32.5,
            "p95Latency": 48.2,
            "failures": 1,
            "failureRate": 0.64,
        },
        "api": {
            "totalCalls": 89,
            "avgDuration": 285.4,
            "p95Duration": 445.2,
            "errorRate": 0.0,
            "cacheHitRate": 67.4,
        },
        "bundles": {
            "totalLoaded": 3,
            "totalSize": {"bytes": 458752, "kb": 448.0, "mb": 0.44},
            "avgLoadTime": 425.3,
            "cacheHitRate": 66.7,
        },
    },
    "alerts": {
        "active": [],
        "stats": {
            "total": 12,
            "unresolved": 0,
            "bySeverity": {"warning": 8, "error": 3, "critical": 1},
            "byCategory": {"performance": 5, "memory": 4, "api": 3},
        },
    },
}
# Maps keyed by data (error types, severities, categories): their keys are not part of the shape.
OPEN_MAPS = {"persistence.reliability.errorsByType", "alerts.stats.bySeverity", "alerts.stats.byCategory"}

# Every metric name in the seed's "Metrics Tracked" tables.
SEED_METRIC_NAMES = {
    "persistence.success_rate",
    "persistence.restore_time",
    "persistence.data_loss",
    "persistence.operations",
    "persistence.error_rate",
    "render.message_time",
    "scroll.fps",
    "scroll.jank_percentage",
    "tabsync.latency",
    "memory.usage",
    "memory.peak",
    "memory.average",
    "api.latency",
    "api.error_rate",
    "api.cache_hit_rate",
    "bundle.load_time",
    "bundle.size",
    "bundle.cache_hit_rate",
}


def assert_same_shape(actual: Any, seed: Any, path: str = "") -> None:
    """Same keys at every level as the seed; leaves are numbers, strings or null."""
    if isinstance(seed, dict):
        assert isinstance(actual, dict), path
        if path.lstrip(".") in OPEN_MAPS:
            return
        assert set(actual) == set(seed), (path, sorted(set(actual) ^ set(seed)))
        for key, value in seed.items():
            assert_same_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(seed, list):
        assert isinstance(actual, list), path
    elif isinstance(seed, str):
        assert isinstance(actual, str), path
    else:
        assert actual is None or (isinstance(actual, int | float) and not isinstance(actual, bool)), path


def get(client: TestClient, **params: Any) -> dict[str, Any]:
    answer = client.get(URL, params=params, headers=FRESH)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def post(client: TestClient, *events: dict[str, Any]) -> None:
    answer = client.post(URL, json=list(events))
    assert answer.status_code == 200 and not answer.json()["rejected"], answer.text


# --- shape and parameters ------------------------------------------------------------------


def test_the_response_has_exactly_the_seeds_shape(client: TestClient) -> None:
    post(client, *[event(kind) for kind in FULL_METRICS])
    body = get(client)
    # beyond the seed: which data answered (issue 14: raw events, exact, up to 24 h)
    assert (body.pop("source"), body.pop("errorBound")) == ("raw", None)
    # and telemetry completeness (issue 5) over the summary's window; these events carry no seq
    telemetry = body.pop("telemetry")
    assert datetime.fromisoformat(telemetry.pop("to")) - datetime.fromisoformat(telemetry.pop("from")) == (
        timedelta(minutes=5) + timedelta(milliseconds=60_001)  # ending now: ahead by the future skew
    )
    assert telemetry == {
        "expected": 0,
        "received": 0,
        "lost": 0,
        "completeness": None,
        "byCustomer": {},
    }
    assert_same_shape(body, SEED_EXAMPLE)
    assert body["timeWindow"] == 300_000
    stamp = datetime.fromisoformat(body["timestamp"])
    assert body["timestamp"].endswith("Z") and abs(stamp - datetime.now(UTC)) < timedelta(seconds=30)
    assert body["persistence"]["reliability"]["errorsByType"] == {"QuotaExceededError": 1}
    assert body["health"]["status"] in ("healthy", "degraded", "unhealthy")


def test_an_empty_store_has_the_same_shape_with_nulls(client: TestClient) -> None:
    body = get(client)
    assert body.pop("telemetry")["completeness"] is None
    assert (body.pop("source"), body.pop("errorBound")) == ("raw", None)
    assert_same_shape(body, SEED_EXAMPLE)
    assert body["health"] == {
        "overall": None,
        "scores": {"persistence": None, "performance": None, "memory": None, "api": None},
        "status": "no_data",
    }
    assert body["performance"]["renders"] == {
        "count": 0,
        "avgTime": None,
        "p95Time": None,
        "slowRenders": 0,
        "slowRenderRate": None,
    }
    assert body["alerts"] == {
        "active": [],
        "stats": {"total": 0, "unresolved": 0, "bySeverity": {}, "byCategory": {}},
    }


def test_the_window_parameter_picks_the_events_by_their_timestamp(client: TestClient) -> None:
    now = datetime.now(UTC)
    post(
        client,
        event("render", renderTime=2.0, timestamp=_iso(now - timedelta(minutes=2))),
        event("render", renderTime=4.0, timestamp=_iso(now - timedelta(minutes=20))),
        event("render", renderTime=9.0, timestamp=_iso(now - timedelta(hours=3))),
    )
    default = get(client)
    half_hour = get(client, window=1_800_000)
    day = get(client, window=86_400_000)
    assert (default["timeWindow"], half_hour["timeWindow"], day["timeWindow"]) == (
        300_000,
        1_800_000,
        86_400_000,
    )
    assert [b["performance"]["renders"]["count"] for b in (default, half_hour, day)] == [1, 2, 3]
    assert [b["performance"]["renders"]["avgTime"] for b in (default, half_hour, day)] == [2.0, 3.0, 5.0]


def test_an_event_stamped_a_little_ahead_counts_now(client: TestClient) -> None:
    # client clocks run fast; within the 60 s allowed at ingest the event is in the current window
    ahead = _iso(datetime.now(UTC) + timedelta(seconds=30))
    post(client, event("render", timestamp=ahead))
    assert get(client, window=1000)["performance"]["renders"]["count"] == 1


def test_the_customer_filter(client: TestClient) -> None:
    post(
        client,
        event("api", customerId="acme", duration=100.0, success=True),
        event("api", customerId="acme", duration=300.0, success=False),
        event("api", customerId="globex", duration=50.0, success=True),
        event("api", duration=70.0, success=True),
    )
    acme = get(client, customerId="acme")["performance"]["api"]
    assert (acme["totalCalls"], acme["avgDuration"], acme["errorRate"]) == (2, 200.0, 50.0)
    globex = get(client, customerId="globex")["performance"]["api"]
    assert (globex["totalCalls"], globex["avgDuration"], globex["errorRate"]) == (1, 50.0, 0.0)
    everyone = get(client)["performance"]["api"]
    assert (everyone["totalCalls"], everyone["avgDuration"], everyone["errorRate"]) == (4, 130.0, 25.0)
    nobody = get(client, customerId="initech")
    assert nobody["performance"]["api"]["totalCalls"] == 0
    assert nobody["health"]["status"] == "no_data"


def test_alerts_false_leaves_the_alerts_section_out(client: TestClient) -> None:
    assert "alerts" in get(client)
    assert "alerts" in get(client, alerts="true")
    without = get(client, alerts="false")
    assert "alerts" not in without
    assert set(without) == set(SEED_EXAMPLE) - {"alerts"} | {"telemetry", "source", "errorBound"}


def test_telemetry_false_leaves_the_telemetry_section_out_and_every_figure_as_it_was(
    client: TestClient,
) -> None:
    # one tab's events 1, 2 and 4: 4 expected, 3 received, 1 lost (the count this skips)
    post(
        client,
        *(event("render", customerId="acme", tabId="tab-a", seq=n, renderTime=n * 10.0) for n in (1, 2, 4)),
    )
    full = get(client)
    assert {k: full["telemetry"][k] for k in ("expected", "received", "lost")} == {
        "expected": 4,
        "received": 3,
        "lost": 1,
    }
    without = get(client, telemetry="false")
    assert "telemetry" not in without
    for body in (full, without):
        body.pop("timestamp")
    full.pop("telemetry")
    assert without == full
    assert full["performance"]["renders"]["count"] == 3
    exported = client.get(URL, params={"format": "export", "telemetry": "false"}, headers=FRESH).json()
    assert not [m for m in exported["metrics"] if m["name"].startswith("telemetry.")]
    names = {m["name"] for m in client.get(URL, params={"format": "export"}, headers=FRESH).json()["metrics"]}
    assert {"telemetry.expected", "telemetry.lost", "telemetry.completeness"} <= names


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"window": 0}, id="window-0"),
        pytest.param({"window": -300000}, id="window-negative"),
        pytest.param({"window": "abc"}, id="window-abc"),
        pytest.param({"window": "5m"}, id="window-unit"),
        pytest.param({"window": 91 * 86_400_000}, id="window-over-90-days"),
        pytest.param({"format": "xml"}, id="format-xml"),
        pytest.param({"alerts": "maybe"}, id="alerts-maybe"),
        pytest.param({"telemetry": "maybe"}, id="telemetry-maybe"),
        pytest.param({"customerId": "x" * 257}, id="customer-too-long"),
    ],
)
def test_bad_parameters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    answer = client.get(URL, params=params)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_parameters"
    (name,) = params
    assert name in body["message"]  # names the parameter and why
    assert body["detail"]


def test_an_empty_customer_id_means_every_customer(client: TestClient) -> None:
    events = [
        {"type": "render", "metric": {"renderTime": 4.0, "customerId": "acme"}},
        {"type": "render", "metric": {"renderTime": 8.0, "customerId": "globex"}},
    ]
    assert client.post("/api/monitoring/widget", json=events).status_code == 200
    renders = client.get(URL, params={"customerId": ""}).json()["performance"]["renders"]
    assert renders["count"] == 2
    assert renders["avgTime"] == 6.0


# --- export formats ------------------------------------------------------------------------

# Hand-made data with hand-computed figures.
HAND_DATA = [
    *[
        event(
            "persistence",
            success=ok,
            duration=d,
            dataLoss=False,
            errorType=None if ok else "QuotaExceededError",
        )
        for ok, d in [(True, 10.0), (True, 20.0), (True, 30.0), (False, 40.0)]
    ],
    event("restoration", success=True, duration=150.0, messagesRestored=5),
    event("render", renderTime=8.0),
    event("render", renderTime=20.0),
    event("scroll", avgFps=60.0, minFps=50.0, jankPercentage=4.0),
    event("memory", usedJSHeapSize=31_457_280),
    event("tabSync", latency=10.0, success=True),
    event("api", duration=100.0, success=True, cached=True),
    event("api", duration=300.0, success=False, cached=None),
    event("bundle", size=1000, loadTime=500.0, cached=True),
]
# (name, labels) -> (value, unit)
HAND_EXPORT = {
    ("persistence.operations", ()): (4, "count"),
    ("persistence.success_rate", ()): (75.0, "percent"),
    ("persistence.error_rate", ()): (25.0, "percent"),
    ("persistence.data_loss", ()): (0, "count"),
    ("persistence.duration", (("stat", "avg"),)): (25.0, "ms"),
    ("persistence.duration", (("stat", "p50"),)): (25.0, "ms"),
    ("persistence.duration", (("stat", "p95"),)): (38.5, "ms"),  # 30 + 0.85 * 10
    ("persistence.duration", (("stat", "p99"),)): (39.7, "ms"),  # 30 + 0.97 * 10
    ("persistence.restore_time", (("stat", "avg"),)): (150.0, "ms"),
    ("persistence.errors", (("errorType", "QuotaExceededError"),)): (1, "count"),
    ("render.message_time", (("stat", "avg"),)): (14.0, "ms"),
    ("render.message_time", (("stat", "p95"),)): (19.4, "ms"),  # 8 + 0.95 * 12
    ("render.slow_render_rate", ()): (50.0, "percent"),
    ("scroll.fps", (("stat", "avg"),)): (60.0, "fps"),
    ("scroll.fps", (("stat", "min"),)): (50.0, "fps"),
    ("scroll.jank_percentage", ()): (4.0, "percent"),
    ("tabsync.latency", (("stat", "avg"),)): (10.0, "ms"),
    ("memory.usage", ()): (31_457_280, "bytes"),
    ("memory.peak", ()): (31_457_280, "bytes"),
    ("memory.average", ()): (31_457_280, "bytes"),
    ("api.latency", (("stat", "avg"),)): (200.0, "ms"),
    ("api.latency", (("stat", "p95"),)): (290.0, "ms"),  # 100 + 0.95 * 200
    ("api.error_rate", ()): (50.0, "percent"),
    ("api.cache_hit_rate", ()): (50.0, "percent"),
    ("bundle.load_time", (("stat", "avg"),)): (500.0, "ms"),
    ("bundle.size", ()): (1000, "bytes"),
    ("bundle.cache_hit_rate", ()): (100.0, "percent"),
}


def _by_key(metrics: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> dict[tuple[Any, ...], Any]:
    keyed = {}
    for m in metrics:
        labels = tuple(sorted((k, v) for k, v in m["labels"].items() if k not in drop))
        keyed[(m["name"], labels)] = (m["value"], m["unit"])
    return keyed


def test_format_export_is_a_flat_list_under_the_seeds_metric_names(client: TestClient) -> None:
    post(client, *HAND_DATA)
    body = get(client, format="export")
    assert set(body) == {"timestamp", "timeWindow", "metrics"}
    assert body["timeWindow"] == 300_000
    for metric in body["metrics"]:
        assert set(metric) == {"name", "value", "unit", "labels"}
        assert isinstance(metric["labels"], dict)
    names = {m["name"] for m in body["metrics"]}
    assert names >= SEED_METRIC_NAMES, SEED_METRIC_NAMES - names
    exported = _by_key(body["metrics"])
    for key, expected in HAND_EXPORT.items():
        assert exported[key] == expected, key
    scores = {m["labels"]["category"]: m["value"] for m in body["metrics"] if m["name"] == "health.score"}
    assert set(scores) == {"persistence", "performance", "memory", "api"}


def test_format_export_labels_every_metric_with_the_customer(client: TestClient) -> None:
    post(client, *[{**e, "metric": {**e["metric"], "customerId": "acme"}} for e in HAND_DATA])
    post(client, event("api", customerId="globex", duration=900.0, success=False))
    metrics = get(client, format="export", customerId="acme")["metrics"]
    assert all(m["labels"]["customerId"] == "acme" for m in metrics)
    exported = _by_key(metrics, drop=("customerId",))
    for key, expected in HAND_EXPORT.items():
        assert exported[key] == expected, key


def test_format_prometheus_parses_with_the_reference_parser(client: TestClient) -> None:
    post(client, *HAND_DATA)
    answer = client.get(URL, params={"format": "prometheus"}, headers=FRESH)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert all(f.type == "gauge" for f in families.values())
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert samples[("widget_persistence_success_rate_percent", ())] == 75.0
    assert samples[("widget_persistence_duration_milliseconds", (("stat", "p95"),))] == 38.5
    assert samples[("widget_memory_usage_bytes", ())] == 31_457_280
    assert samples[("widget_persistence_errors", (("errorType", "QuotaExceededError"),))] == 1
    assert samples[("widget_bundle_size_bytes", ())] == 1000
    # every seed metric with data is exposed
    exposed = {name for name, _ in samples}
    for seed_name in SEED_METRIC_NAMES:
        assert any(name.startswith("widget_" + seed_name.replace(".", "_")) for name in exposed), seed_name


def test_format_prometheus_leaves_out_figures_without_data(client: TestClient) -> None:
    post(client, event("render", renderTime=5.0))
    answer = client.get(URL, params={"format": "prometheus", "customerId": 'a"b'}, headers=FRESH)
    families = list(text_string_to_metric_families(answer.text))
    names = {s.name for f in families for s in f.samples}
    assert "widget_api_latency_milliseconds" not in names  # no api call, no sample (never NaN)
    assert all(s.labels["customerId"] == 'a"b' for f in families for s in f.samples)


# --- the response cache --------------------------------------------------------------------


@pytest.fixture
def cached_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        base_url=LOCAL, app=create_app(settings.model_copy(update={"summary_cache_seconds": 30.0}))
    ) as client:
        yield client


def test_a_second_call_within_the_ttl_is_served_from_cache(cached_client: TestClient) -> None:
    post(cached_client, event("render"))
    first = cached_client.get(URL)
    assert first.headers["x-cache"] == "MISS"
    assert first.headers["cache-control"] == "max-age=30"
    post(cached_client, event("render"))
    second = cached_client.get(URL)
    assert second.headers["x-cache"] == "HIT"
    assert second.json() == first.json()  # stale on purpose: the figures of the first call
    assert second.json()["performance"]["renders"]["count"] == 1
    assert 0 <= int(second.headers["age"]) <= 30


def test_cache_control_no_cache_bypasses_the_cache_and_refreshes_it(cached_client: TestClient) -> None:
    post(cached_client, event("render"))
    assert cached_client.get(URL).json()["performance"]["renders"]["count"] == 1
    post(cached_client, event("render"))
    fresh = cached_client.get(URL, headers=FRESH)
    assert fresh.headers["x-cache"] == "MISS"
    assert fresh.json()["performance"]["renders"]["count"] == 2
    again = cached_client.get(URL)
    assert again.headers["x-cache"] == "HIT"
    assert again.json()["performance"]["renders"]["count"] == 2


def test_each_combination_of_parameters_is_cached_apart(cached_client: TestClient) -> None:
    post(cached_client, event("render", customerId="acme"))
    assert cached_client.get(URL).headers["x-cache"] == "MISS"
    for params in (
        {"window": 60_000},
        {"customerId": "acme"},
        {"format": "export"},
        {"alerts": "false"},
        {"telemetry": "false"},
    ):
        assert cached_client.get(URL, params=params).headers["x-cache"] == "MISS", params
        assert cached_client.get(URL, params=params).headers["x-cache"] == "HIT", params
    globex = cached_client.get(URL, params={"customerId": "globex"}).json()
    assert globex["performance"]["renders"]["count"] == 0


def test_with_the_cache_off_every_call_is_fresh(client: TestClient) -> None:
    post(client, event("render"))
    assert client.get(URL).json()["performance"]["renders"]["count"] == 1
    post(client, event("render"))
    answer = client.get(URL)
    assert answer.headers["x-cache"] == "MISS"
    assert answer.json()["performance"]["renders"]["count"] == 2


def test_a_window_over_24_hours_comes_from_the_rollups_unless_exact(client: TestClient) -> None:
    now = datetime.now(UTC)
    times = [1.5, 3.0, 4.5, 6.0, 30.0, 2.0]  # ms; the last one 40 h ago
    post(
        client,
        *[
            event("render", renderTime=t, timestamp=_iso(now - timedelta(hours=h)))
            for t, h in zip(times, (1, 5, 9, 20, 30, 40), strict=True)
        ],
    )
    day, three_days = 86_400_000, 3 * 86_400_000
    rolled = get(client, window=three_days)
    exact = get(client, window=three_days, exact="true")
    recent = get(client, window=day)
    assert (rolled["source"], rolled["errorBound"]) == ("rollup", ALPHA)
    assert (exact["source"], exact["errorBound"]) == ("raw", None)
    assert (recent["source"], recent["errorBound"]) == ("raw", None)
    # (nothing is rolled up yet: every hour is read from raw events, into the same sketch)
    assert rolled["performance"]["renders"]["count"] == exact["performance"]["renders"]["count"] == 6
    assert recent["performance"]["renders"]["count"] == 4
    assert exact["performance"]["renders"]["avgTime"] == round(sum(times) / 6, 2)
    p95 = exact["performance"]["renders"]["p95Time"]
    assert p95 == round(float(np.percentile(times, 95)), 2)
    assert abs(rolled["performance"]["renders"]["p95Time"] - p95) <= ALPHA * p95 + 0.01
    # the telemetry of a summary from the rollups counts its last 24 h, from the start of their hour
    start = datetime.fromisoformat(rolled["telemetry"]["from"])
    end = datetime.fromisoformat(rolled["telemetry"]["to"])
    assert start == (end - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
