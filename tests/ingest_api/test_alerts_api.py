"""The alerting API over HTTP: in-process for the endpoints, a real server for the loop and restarts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from analytics.errors import InvalidConfig
from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.analytics.notify.receivers import webhook_receiver
from tests.support.server import LOCAL, ServerProcess

WIDGET = "/api/monitoring/widget"
ALERTS = "/api/monitoring/alerts"
FIELDS = {
    "id",
    "ruleId",
    "category",
    "severity",
    "title",
    "message",
    "metric",
    "value",
    "threshold",
    "customerId",
    "status",
    "resolved",
    "createdAt",
    "lastSeenAt",
    "resolvedAt",
    "resolvedBy",
}


def slow_renders(customer: str | None = None, n: int = 20) -> list[dict[str, Any]]:
    extra = {"customerId": customer} if customer else {}
    return [{"type": "render", "metric": {"renderTime": 30.0, **extra}}] * n


DATA_LOSS = {
    "type": "persistence",
    "metric": {
        "operation": "save",
        "success": False,
        "duration": 4.0,
        "dataLoss": True,
        "customerId": "acme",
    },
}


def fire(client: TestClient) -> dict[str, Any]:
    assert client.post(WIDGET, json=[*slow_renders(), DATA_LOSS]).status_code == 200
    answer = client.post(f"{ALERTS}/check", json={})
    assert answer.status_code == 200
    return dict(answer.json())


def by_rule(client: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    body = client.get(ALERTS, params=params).json()
    assert body["count"] == len(body["data"])
    return {a["ruleId"]: a for a in body["data"]}


def test_check_fires_and_the_list_filters(client: TestClient) -> None:
    report = fire(client)
    assert len(report["fired"]) == 2 and report["count"] == 2
    alerts = by_rule(client, resolved="false")
    assert set(alerts) == {"render.message_time", "persistence.data_loss"}
    loss = alerts["persistence.data_loss"]
    assert set(loss) >= FIELDS
    assert (loss["severity"], loss["category"], loss["status"], loss["resolved"]) == (
        "critical",
        "persistence",
        "firing",
        False,
    )
    assert (loss["value"], loss["threshold"], loss["customerId"], loss["resolvedAt"]) == (
        1.0,
        0.0,
        None,
        None,
    )
    created = datetime.fromisoformat(loss["createdAt"].replace("Z", "+00:00"))
    assert abs(created - datetime.now(UTC)) < timedelta(seconds=30)
    assert set(by_rule(client, severity="critical")) == {"persistence.data_loss"}
    assert set(by_rule(client, category="performance")) == {"render.message_time"}
    assert by_rule(client, resolved="true") == {}
    assert by_rule(client, customerId="acme") == {}  # global alerts: customerId is null
    assert client.get(ALERTS, params={"severity": "loud"}).status_code == 422


def test_resolve_acknowledge_snooze_and_history(client: TestClient) -> None:
    fire(client)
    alerts = by_rule(client)
    render_id = alerts["render.message_time"]["id"]
    loss_id = alerts["persistence.data_loss"]["id"]

    acked = client.post(f"{ALERTS}/{render_id}/acknowledge", json={"by": "bob"}).json()
    assert (acked["status"], acked["acknowledgedBy"], acked["resolved"]) == ("acknowledged", "bob", False)
    snoozed = client.post(f"{ALERTS}/{loss_id}/snooze", json={"by": "carol", "minutes": 10}).json()
    until = datetime.fromisoformat(snoozed["snoozedUntil"].replace("Z", "+00:00"))
    assert snoozed["status"] == "snoozed"
    assert abs(until - (datetime.now(UTC) + timedelta(minutes=10))) < timedelta(seconds=30)

    resolved = client.post(f"{ALERTS}/{render_id}/resolve", json={"by": "alice", "note": "fixed"}).json()
    assert (resolved["status"], resolved["resolved"], resolved["resolvedBy"]) == ("resolved", True, "alice")
    assert resolved["resolvedAt"] is not None

    history = client.get(f"{ALERTS}/{render_id}/history").json()
    assert [(h["action"], h["by"], h["toStatus"]) for h in history["data"]] == [
        ("fired", "auto", "firing"),
        ("acknowledged", "bob", "acknowledged"),
        ("resolved", "alice", "resolved"),
    ]
    assert history["data"][-1]["note"] == "fixed"
    again = client.post(f"{ALERTS}/{render_id}/resolve", json={"by": "alice"})
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert client.get(f"{ALERTS}/{render_id}").json()["resolvedBy"] == "alice"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("get", "/alert_missing", id="get"),
        pytest.param("get", "/alert_missing/history", id="history"),
        pytest.param("post", "/alert_missing/resolve", id="resolve"),
        pytest.param("post", "/alert_missing/acknowledge", id="acknowledge"),
    ],
)
def test_unknown_ids_are_404(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, f"{ALERTS}{path}", json={} if method == "post" else None)
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "message": "no alert with id 'alert_missing'"}


def test_snooze_needs_a_future_time(client: TestClient) -> None:
    fire(client)
    alert_id = next(iter(by_rule(client).values()))["id"]
    assert client.post(f"{ALERTS}/alert_missing/snooze", json={"minutes": 5}).status_code == 404
    assert client.post(f"{ALERTS}/{alert_id}/snooze", json={"by": "x"}).status_code == 422
    past = client.post(f"{ALERTS}/{alert_id}/snooze", json={"until": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and "not in the future" in past.json()["message"]


def test_config_get_put_and_refusals(client: TestClient) -> None:
    config = client.get(f"{ALERTS}/config").json()
    assert config["checkIntervalMs"] == 30_000 and config["minSamples"] == 10
    assert config["thresholds"]["persistence"]["successRate"] == {"error": 95, "critical": 90}

    refused = client.put(f"{ALERTS}/config", json={"thresholds": {"api": {"errorRate": {"warning": 100}}}})
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "invalid_config",
        "message": "thresholds.api.errorRate.warning: 100% can never fire: api.error_rate is at most 100%",
    }
    assert client.get(f"{ALERTS}/config").json() == config  # unchanged

    config["thresholds"]["performance"]["renderTime"] = 40
    config["minSamples"] = 5
    assert client.put(f"{ALERTS}/config", json=config, params={"by": "alice"}).status_code == 200
    assert client.get(f"{ALERTS}/config").json() == config
    client.post(WIDGET, json=slow_renders(n=5))  # 30 ms: fine under the new 40 ms threshold
    assert client.post(f"{ALERTS}/check", json={}).json()["count"] == 0


def test_baseline_capture_and_report(client: TestClient) -> None:
    client.post(WIDGET, json=[{"type": "render", "metric": {"renderTime": float(v)}} for v in range(1, 21)])
    captured = client.post("/api/monitoring/baseline", json={"label": "v2.3", "by": "alice"})
    assert captured.status_code == 201
    snap = captured.json()
    # p95 of 1..20 by linear interpolation: 19 + 0.05 * (20 - 19)
    assert snap["figures"]["render.message_time"] == {"value": pytest.approx(19.05), "samples": 20}
    assert (snap["label"], snap["capturedBy"], snap["customerId"]) == ("v2.3", "alice", None)
    report = client.get("/api/monitoring/baseline").json()
    assert report["captured"]["id"] == snap["id"]
    render = report["figures"]["render.message_time"]
    assert render["baseline"]["source"] == "captured" and render["degradationPercent"] == pytest.approx(0.0)
    assert client.post("/api/monitoring/baseline", json={"windowMs": 5}).status_code == 422


def test_summary_alerts_section_comes_from_the_store(client: TestClient) -> None:
    fire(client)
    summary = client.get(WIDGET, params={"window": 300_000}).json()
    section = summary["alerts"]
    assert sorted(a["ruleId"] for a in section["active"]) == ["persistence.data_loss", "render.message_time"]
    assert section["stats"] == {
        "total": 2,
        "unresolved": 2,
        "bySeverity": {"critical": 1, "warning": 1},
        "byCategory": {"performance": 1, "persistence": 1},
    }


def test_an_invalid_config_file_stops_the_server_from_starting(tmp_path: Path) -> None:
    bad = tmp_path / "alerts.json"
    bad.write_text(json.dumps({"thresholds": {"scroll": {"fps": 0}}}))
    app = create_app(Settings(data_dir=tmp_path / "data", alerts_config=bad))
    with pytest.raises(InvalidConfig, match="can never fire"), TestClient(app, base_url=LOCAL):
        pass


@pytest.fixture
def receiver() -> Iterator[Any]:
    with webhook_receiver(fail_first=1) as running:
        yield running


def wait_for(predicate: Any, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError("condition not met in time")


def test_a_real_server_checks_in_the_background_and_keeps_history(
    tmp_path: Path, data_dir: Path, receiver: Any
) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text(
        'checkIntervalMs = 1000\nperCustomer = true\nchannels = ["console", "webhook"]\n'
        f'[webhook]\nurl = "{receiver.url}"\nbackoffMs = 50\n'
    )
    env = {"WIDGET_MONITOR_ALERTS_CONFIG": str(config), "WIDGET_MONITOR_OUTBOUND_ALLOW": "127.0.0.1"}
    with ServerProcess(data_dir, env=env) as server:
        assert httpx.post(f"{server.url}{WIDGET}", json=[DATA_LOSS]).status_code == 200
        # nobody calls /check: the loop does, and the webhook hears about it (after one 503)
        wait_for(lambda: len(receiver.bodies()) >= 2)
        first = receiver.bodies()[-1]
        assert first["status"] == "firing"
        assert {a["labels"].get("customerId") for a in first["alerts"]} == {None, "acme"}
        alerts = httpx.get(f"{server.url}{ALERTS}", params={"customerId": "acme"}).json()["data"]
        (acme,) = alerts
        resolved = httpx.post(f"{server.url}{ALERTS}/{acme['id']}/resolve", json={"by": "alice"})
        assert resolved.status_code == 200
        wait_for(lambda: receiver.bodies()[-1]["status"] == "resolved")
    with ServerProcess(data_dir, env=env) as restarted:
        history = httpx.get(f"{restarted.url}{ALERTS}/{acme['id']}/history").json()["data"]
        assert [(h["action"], h["by"]) for h in history] == [("fired", "auto"), ("resolved", "alice")]
        assert httpx.get(f"{restarted.url}{ALERTS}/{acme['id']}").json()["resolvedBy"] == "alice"


def test_a_new_check_interval_applies_at_once_not_after_the_old_wait(client: TestClient) -> None:
    """Regression: the loop slept out the old interval (up to a day) before reading the new one."""
    service = client.app.state.runtime.alerts  # type: ignore[attr-defined]
    assert (
        client.put("/api/monitoring/alerts/config", json={"checkIntervalMs": 86_400_000}).status_code == 200
    )
    before = service.checks
    assert client.put("/api/monitoring/alerts/config", json={"checkIntervalMs": 1_000}).status_code == 200
    deadline = time.monotonic() + 10
    while service.checks < before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.checks >= before + 2  # two 1 s checks, not one a day later


def test_the_cache_hit_alert_uses_the_summarys_definition(client: TestClient) -> None:
    """Regression: calls that do not report `cached` were left out of the alert's rate (5/5 = 100 %)
    while the summary counted them as misses (5/20 = 25 %): the dashboard showed 25 % under the
    40 % line and no alert fired."""
    calls = [
        {"type": "api", "metric": {"duration": 100.0, "success": True, **({"cached": True} if i < 5 else {})}}
        for i in range(20)
    ]
    assert client.post("/api/monitoring/widget", json=calls).status_code == 200
    summary = client.get("/api/monitoring/widget").json()
    assert summary["performance"]["api"]["cacheHitRate"] == 25.0
    assert client.post("/api/monitoring/alerts/check", json={}).status_code == 200
    fired = [
        a for a in client.get("/api/monitoring/alerts").json()["data"] if a["ruleId"] == "api.cache_hit_rate"
    ]
    assert len(fired) == 1
    assert fired[0]["value"] == pytest.approx(25.0)
    assert fired[0]["threshold"] == 40.0


def test_snooze_checks_the_id_first_and_caps_until_like_minutes(client: TestClient) -> None:
    """Regression: an unknown id with a past `until` was a 400, and `until` year 9999 muted forever."""
    past = client.post(
        "/api/monitoring/alerts/nope/snooze", json={"by": "me", "until": "2020-01-01T00:00:00Z"}
    )
    assert past.status_code == 404
    saves = [
        {
            "type": "persistence",
            "metric": {"operation": "save", "success": True, "duration": 5.0, "dataLoss": True},
        }
    ]
    assert client.post("/api/monitoring/widget", json=saves).status_code == 200
    fired = client.post("/api/monitoring/alerts/check", json={}).json()["fired"]
    assert fired
    forever = client.post(
        f"/api/monitoring/alerts/{fired[0]}/snooze", json={"by": "me", "until": "9999-12-31T23:59:59Z"}
    )
    assert forever.status_code == 400
    assert "30 days" in forever.json()["message"]
    for edge in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):  # beyond the calendar in UTC
        beyond = client.post(f"/api/monitoring/alerts/{fired[0]}/snooze", json={"by": "me", "until": edge})
        assert beyond.status_code == 422 and "out of range" in beyond.json()["message"]
    month = (datetime.now(UTC) + timedelta(days=29)).isoformat()
    assert (
        client.post(
            f"/api/monitoring/alerts/{fired[0]}/snooze", json={"by": "me", "until": month}
        ).status_code
        == 200
    )


def test_a_webhook_to_an_internal_address_is_refused_by_default(client: TestClient) -> None:
    token_url = "http://169.254.169.254/latest/meta-data/iam?token=s3cr3t"
    answer = client.put(f"{ALERTS}/config", json={"channels": ["webhook"], "webhook": {"url": token_url}})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_config"
    assert body["message"].startswith("webhook.url: host '169.254.169.254' is a link-local address")
    assert "meta-data" not in body["message"] and "s3cr3t" not in body["message"]


def test_the_outbound_allow_list_admits_a_target_and_get_masks_it(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, decoder_processes=0, outbound_allow=["127.0.0.1"])
    hook = "http://127.0.0.1:9093/hooks/T0/s3cr3t?key=k3y"
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        answer = client.put(f"{ALERTS}/config", json={"channels": ["webhook"], "webhook": {"url": hook}})
        assert answer.status_code == 200
        assert answer.json()["webhook"]["url"] == "http://127.0.0.1:9093/…"
        shown = client.get(f"{ALERTS}/config").json()
        assert shown["webhook"]["url"] == "http://127.0.0.1:9093/…" and "s3cr3t" not in json.dumps(shown)
        assert client.put(f"{ALERTS}/config", json=shown).status_code == 200  # the mask keeps the URL
        assert client.app.state.runtime.alerts.system.config.webhook.url == hook  # type: ignore[attr-defined]


def test_regression_1000_customers_in_one_post_made_1001_alerts(client: TestClient) -> None:
    # Past maxCustomerScopes the busiest customers (and those with open alerts) keep their own
    # scope; the rest count in the global one, and the check and the alert list say how many.
    config = client.get(f"{ALERTS}/config").json()
    assert config["maxCustomerScopes"] == 200
    assert client.put(f"{ALERTS}/config", json={**config, "perCustomer": True}).status_code == 200
    events = [render for n in range(1000) for render in slow_renders(f"c{n:04d}", n=1)]
    assert client.post(WIDGET, json=events).status_code == 200
    assert client.post(WIDGET, json=slow_renders("busy", n=30)).status_code == 200  # sure to keep its scope
    report = client.post(f"{ALERTS}/check", json={}).json()
    assert report["customersBeyondCap"] == 1001 - 200
    assert len(report["scopes"]) == 1 + 200
    assert "busy" in report["scopes"]
    render_alerts = [a for a in report["data"] if a["ruleId"] == "render.message_time"]
    assert {a["customerId"] for a in render_alerts} == {None, "busy"}  # the others: too few samples alone
    assert client.get(ALERTS).json()["customersBeyondCap"] == 801
    small = client.put(f"{ALERTS}/config", json={**config, "perCustomer": True, "maxCustomerScopes": 5})
    assert small.status_code == 200
    again = client.post(f"{ALERTS}/check", json={}).json()
    assert again["customersBeyondCap"] == 1001 - 5  # kept: busy (it has an open alert) and 4 more
