"""GET /metrics: per-key ingest counters and the server's own, in the Prometheus text format.

The expected counts are worked out by hand from what each test sends; the answer is read
back with prometheus_client's parser (the reference one) and linted with `promtool`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.ingest_api.test_access import ADMIN, ADMIN_TOKEN, WIDGET, bearer, new_token, render
from tests.support.server import LOCAL

# A customerId is whatever an admin typed: a quote and a backslash must survive the label.
HOSTILE = 'acme "eu" \\ west'
NOW = datetime.now(UTC)
TOO_OLD_MS = (NOW - timedelta(days=8)).timestamp() * 1000  # past the 7-day limit of keys


@pytest.fixture
def secured(settings: Settings) -> Iterator[TestClient]:
    """An app with WIDGET_MONITOR_ADMIN_TOKEN set: every route needs a credential."""
    enforcing = settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)})
    with TestClient(base_url=LOCAL, app=create_app(enforcing)) as client:
        yield client


def invalid(value: str) -> dict[str, Any]:
    return {"type": "render", "metric": {"renderTime": value}}


def scrape(client: TestClient, headers: dict[str, str] = ADMIN) -> dict[tuple[str, frozenset[Any]], float]:
    """Every sample of /metrics as {(name, labels): value}."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def make_key(client: TestClient, customer: str, **body: Any) -> tuple[str, str]:
    """(key string, key id) of a new key."""
    answer = client.post("/api/monitoring/keys", json={"customerId": customer, **body}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return answer.json()["key"], answer.json()["id"]


def per_key(samples: dict[tuple[str, frozenset[Any]], float], key_id: str) -> dict[str, float]:
    """A key's samples by family (and `reason` or `limit`), the common prefix dropped."""
    found = {}
    for (name, labels), value in samples.items():
        labelled = dict(labels)
        if labelled.get("key_id") != key_id:
            continue
        extra = labelled.get("reason") or labelled.get("limit")
        short = name.removeprefix("widget_monitor_ingest_key_")
        found[f"{short}{{{extra}}}" if extra else short] = value
    return found


@pytest.fixture
def sent(secured: TestClient) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """Four keys, each sent a mix whose outcome is worked out below; their ids by role."""
    client = secured
    mixed, mixed_id = make_key(client, HOSTILE)
    # 3 good + 2 invalid: 200; then 1 good, 1 of another customer, 1 too old: 200; then all invalid: 422
    bodies = [
        [render(1.0), render(2.0), render(3.0), invalid("slow"), {"type": "teleport", "metric": {}}],
        [render(4.0), render(5.0, "globex"), render(6.0, timestamp=TOO_OLD_MS)],
        [invalid("x"), invalid("y")],
    ]
    codes = [client.post(WIDGET, params={"key": mixed}, json=body).status_code for body in bodies]
    assert codes == [200, 200, 422]
    # One request per 100 s (a bucket holds one): the second, at once, is a 429.
    slow, slow_id = make_key(client, "acme", rateLimit={"requestsPerSecond": 0.01})
    codes = [client.post(WIDGET, params={"key": slow}, json=render(1.0)).status_code for _ in range(2)]
    assert codes == [200, 429]
    # One event per 100 s: a second request's event is over the limit.
    few, few_id = make_key(client, "acme", rateLimit={"eventsPerSecond": 0.01})
    codes = [client.post(WIDGET, headers={"X-Widget-Monitor-Key": few}, json=render(1.0)).status_code]
    codes.append(client.post(WIDGET, headers={"X-Widget-Monitor-Key": few}, json=render(2.0)).status_code)
    assert codes == [200, 429]
    # A key for one shop, copied onto another site: 403, then one good post from the shop.
    shop, shop_id = make_key(client, "acme", allowedOrigins=["https://shop.example"])

    def beacon_from(origin: str) -> int:
        headers = {"Content-Type": "text/plain", "Origin": origin}
        body = b'{"type":"render","metric":{"renderTime":1}}'
        return client.post(WIDGET, params={"key": shop}, content=body, headers=headers).status_code

    assert beacon_from("https://copycat.example") == 403
    assert beacon_from("https://shop.example") == 200
    yield client, {"mixed": mixed_id, "slow": slow_id, "few": few_id, "shop": shop_id}


def test_each_keys_counters_are_what_it_sent(sent: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = sent
    samples = scrape(client)
    zero_reasons = {"events_rejected_total{invalid}": 0, "events_rejected_total{too_old}": 0}
    zero_reasons |= {"events_rejected_total{wrong_customer}": 0}
    zero_limits = {"throttled_total{requests}": 0, "throttled_total{events}": 0}
    expected = {
        "mixed": {
            "requests_total": 3,
            "events_accepted_total": 3 + 1,
            **zero_reasons,
            "events_rejected_total{invalid}": 2 + 2,
            "events_rejected_total{too_old}": 1,
            "events_rejected_total{wrong_customer}": 1,
            **zero_limits,
            "origin_refused_total": 0,
        },
        "slow": {
            "requests_total": 2,
            "events_accepted_total": 1,
            **zero_reasons,
            **zero_limits,
            "throttled_total{requests}": 1,
            "origin_refused_total": 0,
        },
        "few": {
            "requests_total": 2,
            "events_accepted_total": 1,
            **zero_reasons,
            **zero_limits,
            "throttled_total{events}": 1,
            "origin_refused_total": 0,
        },
        "shop": {
            "requests_total": 1,  # the refused one never reached the limits
            "events_accepted_total": 1,
            **zero_reasons,
            **zero_limits,
            "origin_refused_total": 1,
        },
    }
    assert {role: per_key(samples, key_id) for role, key_id in ids.items()} == expected
    customers = {
        dict(labels)["key_id"]: dict(labels)["customer_id"]
        for (name, labels) in samples
        if name.startswith("widget_monitor_ingest_key_")
    }
    assert customers[ids["mixed"]] == HOSTILE  # escaped on the way out, read back as it was
    assert samples[("widget_monitor_ingest_events_committed_total", frozenset())] == 4 + 1 + 1 + 1
    assert samples[("widget_monitor_ingest_overloaded_requests_total", frozenset())] == 0


def test_keys_list_the_same_usage(sent: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = sent
    listed = {k["id"]: k["usage"] for k in client.get("/api/monitoring/keys", headers=ADMIN).json()["data"]}
    assert listed[ids["mixed"]] == {
        "requests": 3,
        "eventsAccepted": 4,
        "eventsRejected": 6,
        "throttled": 0,
        "rejectedBy": {"invalid": 4, "too_old": 1, "wrong_customer": 1},
        "throttledBy": {"requests": 0, "events": 0},
        "originRefused": 0,
    }
    assert listed[ids["few"]]["throttledBy"] == {"requests": 0, "events": 1}


def test_promtool_finds_nothing_to_lint(sent: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = sent
    text = client.get("/metrics", headers=ADMIN).text
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert (checked.stdout + checked.stderr).strip() == b""


def test_every_family_has_help_type_and_a_base_unit(secured: TestClient) -> None:
    text = secured.get("/metrics", headers=ADMIN).text
    families = list(text_string_to_metric_families(text))
    assert families and all(f.documentation and f.type in ("counter", "gauge", "histogram") for f in families)
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert all(n.startswith("widget_monitor_") for n in names)
    assert not [n for n in names if n.endswith(("_ms", "_milliseconds", "_kb", "_percent"))]
    # no key has sent anything yet: its families are declared, without series
    assert "widget_monitor_ingest_key_requests_total{" not in text


def test_an_unscoped_viewer_reads_it_a_scoped_one_and_a_key_do_not(secured: TestClient) -> None:
    key, _ = make_key(secured, "acme")
    assert secured.get("/metrics").status_code == 401
    assert secured.get("/metrics", params={"key": key}).status_code == 401  # an ingest key posts only
    assert secured.get("/metrics", headers={"X-Widget-Monitor-Key": key}).status_code == 401
    scoped = secured.get("/metrics", headers=bearer(new_token(secured, "viewer", "acme")))
    assert scoped.status_code == 403
    assert "every customer" in scoped.json()["message"]
    assert secured.get("/metrics", headers=bearer(new_token(secured, "viewer"))).status_code == 200


def test_open_mode_answers_loopback_and_refuses_a_proxied_request(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403


def test_server_wide_ingest_counters_commit_timings_and_widget_families(client: TestClient) -> None:
    """Open mode (no key): the server's own counters still count every sender."""
    scrape(client)  # the widgets' families count from the first scrape on
    batch = [render(5.0, "acme"), render(30.0, "acme"), invalid("fast")]
    assert client.post(WIDGET, json=batch).status_code == 200
    assert client.post(WIDGET, json=[invalid("slow")]).status_code == 422
    samples = scrape(client)
    assert samples[("widget_monitor_ingest_events_accepted_total", frozenset())] == 2
    by_reason = {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "widget_monitor_ingest_events_rejected_total"
    }
    assert by_reason == {"invalid": 2, "too_old": 0, "wrong_customer": 0}
    commits = samples[("widget_monitor_ingest_commits_total", frozenset())]
    assert commits >= 1
    assert samples[("widget_monitor_ingest_commit_duration_seconds_count", frozenset())] == commits
    # the renders, per customer and version, in seconds: 5 ms within the 16 ms budget, 30 ms not
    acme = frozenset({("customer_id", "acme"), ("widget_version", "")})
    assert samples[("widget_monitor_render_time_seconds_count", acme)] == 2
    assert samples[("widget_monitor_render_time_seconds_sum", acme)] == pytest.approx(0.035)
    assert samples[("widget_monitor_render_time_seconds_bucket", acme | {("le", "0.016")})] == 1
    events = frozenset({("type", "render"), ("customer_id", "acme"), ("widget_version", "")})
    assert samples[("widget_monitor_events_total", events)] == 2
    text = client.get("/metrics").text  # with histograms in it, promtool still finds nothing
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert checked.returncode == 0 and (checked.stdout + checked.stderr).strip() == b"", checked
