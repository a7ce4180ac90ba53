"""The read endpoints the dashboard uses: timeseries, samples, dimensions, and the summary's `end`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL

NOW = datetime.now(UTC).replace(microsecond=0)


def _ms(moment: datetime) -> float:
    return moment.timestamp() * 1000


def _post(client: TestClient, events: list[dict[str, object]]) -> None:
    answer = client.post("/api/monitoring/widget", json=events)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == len(events)


def test_timeseries_answers_p95_per_bucket_as_numpy_computes_it(client: TestClient) -> None:
    start = (NOW - timedelta(hours=3)).replace(minute=0, second=0)
    rng = np.random.default_rng(5)
    values = {h: rng.lognormal(2, 0.4, 40).round(2) for h in range(3)}
    _post(
        client,
        [
            {
                "type": "render",
                "metric": {"renderTime": float(v), "timestamp": _ms(start) + h * 3.6e6 + i * 1000},
            }
            for h, vs in values.items()
            for i, v in enumerate(vs)
        ],
    )
    answer = client.get(
        "/api/monitoring/widget/timeseries",
        params={"metric": "render.renderTime", "stat": "p95", "bucket": "1h", "from": start.isoformat()},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [p["value"] for p in body["points"]] == pytest.approx(
        [float(np.percentile(values[h], 95)) for h in range(3)]
    )
    assert [p["events"] for p in body["points"]] == [40, 40, 40]
    assert body["points"][0]["t"] == start.isoformat().replace("+00:00", ".000Z")
    assert body["unit"] == "ms" and body["threshold"]["value"] == 16


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        pytest.param({"metric": "render.fps"}, "unknown metric", id="metric"),
        pytest.param({"metric": "render.renderTime", "stat": "p42"}, "stat 'p42'", id="stat"),
        pytest.param({"metric": "render.renderTime", "bucket": "90s"}, "unknown bucket", id="bucket"),
        pytest.param(
            {"metric": "render.renderTime", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "must be before",
            id="from-after-to",
        ),
        pytest.param(
            {"metric": "render.renderTime", "bucket": "1m", "from": "2025-01-01T00:00:00Z"},
            "over the limit",
            id="too-many-buckets",
        ),
        pytest.param({"metric": "render.renderTime", "groupBy": "browser"}, "cannot group by", id="group"),
    ],
)
def test_timeseries_refuses_bad_parameters_with_422(
    client: TestClient, params: dict[str, str], needle: str
) -> None:
    answer = client.get("/api/monitoring/widget/timeseries", params=params)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_query"
    assert needle in answer.json()["message"]


def test_metric_catalogue_lists_units_stats_and_thresholds(client: TestClient) -> None:
    metrics = {
        m["name"]: m for m in client.get("/api/monitoring/widget/timeseries/metrics").json()["metrics"]
    }
    # the alerting config's value (its least severe level), which is the seed's by default
    assert metrics["persistence.successRate"]["threshold"] == {
        "value": 95,
        "direction": "below",
        "stat": "rate",
        "source": "alerting",
    }
    # no alert rule watches the persistence error rate: the seed's target
    assert metrics["persistence.errorRate"]["threshold"]["source"] == "seed"
    assert metrics["render.renderTime"]["stats"] == ["count", "avg", "min", "max", "p50", "p95", "p99"]
    assert metrics["api.errorRate"]["stats"] == ["rate", "count"]


def test_the_threshold_drawn_follows_the_alerting_config_and_falls_back_to_the_seed(
    client: TestClient,
) -> None:
    def drawn() -> object:
        params = {"metric": "render.renderTime", "stat": "p95"}
        return client.get("/api/monitoring/widget/timeseries", params=params).json()["threshold"]

    assert drawn() == {"value": 16, "direction": "above", "stat": "p95", "source": "alerting"}
    config = {"thresholds": {"performance": {"renderTime": 24}}}
    assert client.put("/api/monitoring/alerts/config", json=config).status_code == 200
    assert drawn() == {"value": 24, "direction": "above", "stat": "p95", "source": "alerting"}
    memory = client.get("/api/monitoring/widget/timeseries", params={"metric": "memory.usedJSHeapSize"})
    assert memory.json()["threshold"]["value"] == 75  # the memory.peak rule's error level, as the seed
    assert (
        client.put(
            "/api/monitoring/alerts/config", json={"disabledRules": ["render.message_time"]}
        ).status_code
        == 200
    )
    assert drawn() == {"value": 16, "direction": "above", "stat": "p95", "source": "seed"}


def test_samples_give_every_value_and_a_repeatable_sample_above_the_limit(client: TestClient) -> None:
    durations = [float(i) for i in range(300)]
    api = [
        {
            "type": "api",
            "metric": {"duration": d, "success": i % 4 != 0, "customerId": "acme", "timestamp": _ms(NOW)},
        }
        for i, d in enumerate(durations)
    ]
    _post(client, api)
    everything = client.get(
        "/api/monitoring/widget/samples", params={"metric": "api.duration", "limit": 1000}
    )
    assert sorted(everything.json()["values"]) == durations
    assert everything.json()["sampled"] is False
    params = {"metric": "api.duration", "limit": 50, "customerId": "acme"}
    first = client.get("/api/monitoring/widget/samples", params=params).json()
    again = client.get("/api/monitoring/widget/samples", params=params).json()
    assert first["total"] == 300 and first["sampled"] is True and len(first["values"]) == 50
    assert first["values"] == again["values"]
    assert set(first["values"]) <= set(durations)
    errors = client.get("/api/monitoring/widget/samples", params={"metric": "api.errorRate"}).json()
    assert np.mean(errors["values"]) == pytest.approx(25.0)  # 100/0 per call: the mean is the rate


def test_dimensions_list_customers_and_versions_busiest_first(client: TestClient) -> None:
    assert client.get("/api/monitoring/widget/dimensions").json() == {
        "events": 0,
        "firstEvent": None,
        "lastEvent": None,
        "customers": [],
        "widgetVersions": [],
    }
    events = [{"type": "render", "metric": {"renderTime": 1.0, "customerId": "b", "widgetVersion": "2"}}] * 3
    events += [{"type": "render", "metric": {"renderTime": 1.0, "customerId": "a", "widgetVersion": "1"}}]
    _post(client, events)
    body = client.get("/api/monitoring/widget/dimensions").json()
    assert body["events"] == 4
    assert body["customers"] == [{"id": "b", "events": 3}, {"id": "a", "events": 1}]
    assert [v["id"] for v in body["widgetVersions"]] == ["2", "1"]


def test_summary_end_selects_the_previous_window(client: TestClient) -> None:
    previous = [
        {"type": "render", "metric": {"renderTime": 30.0, "timestamp": _ms(NOW - timedelta(minutes=90))}}
    ]
    current = [
        {"type": "render", "metric": {"renderTime": 5.0, "timestamp": _ms(NOW - timedelta(minutes=10))}}
    ] * 2
    _post(client, previous + current)
    hour = 3_600_000
    now_window = client.get("/api/monitoring/widget", params={"window": hour}).json()
    before = client.get(
        "/api/monitoring/widget",
        params={"window": hour, "end": (NOW - timedelta(hours=1)).isoformat()},
    ).json()
    assert now_window["performance"]["renders"]["count"] == 2
    assert before["performance"]["renders"]["count"] == 1
    assert before["performance"]["renders"]["avgTime"] == 30.0


def test_over_24_hours_the_rollups_answer_and_say_so_and_exact_reads_raw(client: TestClient) -> None:
    """The server's rollup job (run here by hand) rolls the closed hours; /healthz reports it."""
    start = (NOW - timedelta(hours=30)).replace(minute=0, second=0)
    rng = np.random.default_rng(9)
    values = rng.lognormal(2, 0.5, 300).round(2)
    _post(
        client,
        [
            {"type": "render", "metric": {"renderTime": float(v), "timestamp": _ms(start) + i * 300_000}}
            for i, v in enumerate(values)  # one every 5 minutes: 25 hours
        ],
    )
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    report = runtime.roll_up()
    assert report.rolled == 25 and report.pending == 0  # every hour of them has closed
    assert client.get("/healthz").json()["rollups"]["hoursRolledUp"] == 25
    params = {"metric": "render.renderTime", "stat": "p95", "bucket": "1d", "from": start.isoformat()}
    rolled = client.get("/api/monitoring/widget/timeseries", params=params).json()
    exact = client.get("/api/monitoring/widget/timeseries", params={**params, "exact": "true"}).json()
    assert (rolled["source"], rolled["errorBound"]) == ("rollup", pytest.approx(0.0054, abs=1e-4))
    assert (exact["source"], exact["errorBound"]) == ("raw", None)
    assert [p["events"] for p in rolled["points"]] == [p["events"] for p in exact["points"]]
    assert sum(p["events"] for p in exact["points"]) == 300
    for approx, true in zip(rolled["points"], exact["points"], strict=True):
        assert approx["value"] == pytest.approx(true["value"], rel=rolled["errorBound"])


def test_a_starting_server_rolls_up_the_hours_that_closed_before_it_answers(settings: Settings) -> None:
    """Hours stored but never rolled up (the server stopped first) are rolled up at the next start,
    not a rollup interval later: long reads would take them from raw events until then."""
    start = (NOW - timedelta(hours=30)).replace(minute=0, second=0)  # over 24 h: from the rollups
    values = [float(v) for v in range(1, 61)]
    events = [
        {"type": "render", "metric": {"renderTime": v, "timestamp": _ms(start) + i * 240_000}}
        for i, v in enumerate(values)  # one every 4 minutes: 4 closed hours
    ]
    with TestClient(
        base_url=LOCAL, app=create_app(settings.model_copy(update={"rollup_interval_s": 0}))
    ) as c:
        _post(c, events)
        assert "rollups" not in c.get("/healthz").json()  # no rollup job, no run
    hourly = settings.model_copy(update={"rollup_interval_s": 3600.0})
    with TestClient(base_url=LOCAL, app=create_app(hourly)) as client:
        assert client.get("/healthz").json()["rollups"] | {"watermark": None} == {
            "watermark": None,
            "hoursRolledUp": 4,
            "hoursPending": 0,
            "failedRuns": 0,
        }
        params = {"metric": "render.renderTime", "stat": "max", "bucket": "1h", "from": start.isoformat()}
        rolled = client.get("/api/monitoring/widget/timeseries", params=params).json()
        assert rolled["source"] == "rollup"
        assert [p["value"] for p in rolled["points"]] == [15.0, 30.0, 45.0, 60.0]


def test_samples_over_24_hours_are_drawn_from_the_rollups_within_their_bound(client: TestClient) -> None:
    """A long range reads the rollups' counts, not every raw event of it: each value drawn is
    within the sketch's bound of an event's own, rates exact; `exact=true` reads raw events."""
    start = (NOW - timedelta(hours=60)).replace(minute=0, second=0)
    rng = np.random.default_rng(11)
    durations = rng.lognormal(5, 0.8, 1200).round(3)
    durations[:40] = 0.0  # zeros are counted apart from the buckets
    events = [
        {
            "type": "api",
            "metric": {"duration": float(d), "success": i % 5 != 0, "timestamp": _ms(start) + i * 150_000},
        }
        for i, d in enumerate(durations)  # one every 2.5 minutes: 50 hours, most of them closed
    ]
    _post(client, events[:600])
    _post(client, events[600:])
    client.app.state.runtime.roll_up()  # type: ignore[attr-defined]
    url = "/api/monitoring/widget/samples"
    span = {"from": (start - timedelta(hours=1)).isoformat(), "limit": 5000}
    rolled = client.get(url, params={"metric": "api.duration", **span}).json()
    exact = client.get(url, params={"metric": "api.duration", "exact": "true", **span}).json()
    assert (rolled["source"], rolled["errorBound"]) == ("rollup", pytest.approx(0.0054, abs=1e-4))
    assert (exact["source"], exact["errorBound"]) == ("raw", None)
    assert rolled["total"] == exact["total"] == 1200 and not rolled["sampled"]
    drawn, own = np.sort(rolled["values"]), np.sort(exact["values"])
    assert np.array_equal(own, np.sort(durations))
    # every event drawn once, each value within the bound of its own (zeros exact)
    assert np.all(np.abs(drawn - own) <= rolled["errorBound"] * own + 1e-9)
    assert drawn.min() >= own.min() and drawn.max() <= own.max()
    errors = client.get(url, params={"metric": "api.errorRate", **span}).json()
    assert errors["source"] == "rollup" and errors["errorBound"] is None
    assert sorted(errors["values"]) == sorted(100.0 if i % 5 == 0 else 0.0 for i in range(1200))
    # above the limit: a draw without replacement, the same on every call
    params = {"metric": "api.duration", **span, "limit": 300}
    first, again = (client.get(url, params=params).json() for _ in range(2))
    assert first["sampled"] and first["total"] == 1200 and len(first["values"]) == 300
    assert first["values"] == again["values"]
    # the draw is a uniform one: its median near the population's (a 300-value sample's
    # median lies within ±10 percentile points of the population's with near certainty)
    q40, q60 = np.percentile(durations, [40, 60])
    assert q40 <= np.median(first["values"]) <= q60
