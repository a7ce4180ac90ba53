"""The SDK script and the demo page as served, and the telemetry section of the summary."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]


def test_the_sdk_script_is_served_as_javascript_with_cache_headers(client: TestClient) -> None:
    answer = client.get("/sdk/widget-monitor.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.content == (REPO / "sdk" / "widget-monitor.js").read_bytes()
    assert "max-age=300" in answer.headers["cache-control"]
    assert answer.headers["timing-allow-origin"] == "*"
    etag = answer.headers["etag"]

    again = client.get("/sdk/widget-monitor.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    stale = client.get("/sdk/widget-monitor.js", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == answer.content


def test_the_demo_page_carries_its_settings_on_the_script_tag(client: TestClient) -> None:
    page = client.get("/demo", params={"customerId": "acme-1", "enabled": "false", "flushIntervalMs": 750})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert 'src="/sdk/widget-monitor.js"' in html
    assert 'data-customer-id="acme-1"' in html
    assert 'data-enabled="false"' in html
    assert 'data-flush-interval-ms="750"' in html
    assert 'data-page="home"' in html
    assert "{{" not in html

    other = client.get("/demo/pricing")
    assert other.status_code == 200 and 'data-page="pricing"' in other.text
    assert 'data-customer-id="demo"' in other.text


def test_the_demo_refuses_what_it_does_not_have(client: TestClient) -> None:
    assert client.get("/demo/nowhere").status_code == 404
    assert client.get("/demo/assets/secrets.txt").status_code == 404
    # the customer id lands in HTML: only plain identifiers
    assert client.get("/demo", params={"customerId": '"><script>alert(1)</script>'}).status_code == 422
    assert client.get("/demo/assets/demo.js").headers["content-type"] == "text/javascript; charset=utf-8"
    assert client.get("/demo/assets/demo.css").headers["content-type"] == "text/css; charset=utf-8"


def _render(tab: str, seq: int, customer: str) -> dict[str, object]:
    return {
        "type": "render",
        "metric": {
            "renderTime": 2.5,
            "timestamp": time.time() * 1000,
            "customerId": customer,
            "tabId": tab,
            "seq": seq,
            "eventId": f"{tab}:{seq}",
        },
    }


def test_the_summary_reports_telemetry_completeness(client: TestClient) -> None:
    events = [_render("t1", s, "acme") for s in (1, 2, 3, 5)] + [_render("t2", s, "globex") for s in (1, 2)]
    assert client.post("/api/monitoring/widget", json=events).json()["stored"] == 6

    telemetry = client.get("/api/monitoring/widget").json()["telemetry"]
    del telemetry["from"], telemetry["to"]  # the summary's window (tests/ingest_api/test_summary_api.py)
    # acme: 1..5 expected, 4 received; globex: 2 of 2
    assert telemetry == {
        "expected": 7,
        "received": 6,
        "lost": 1,
        "completeness": 85.71,
        "byCustomer": {
            "acme": {"expected": 5, "received": 4, "lost": 1, "completeness": 80.0},
            "globex": {"expected": 2, "received": 2, "lost": 0, "completeness": 100.0},
        },
    }

    exported = client.get("/api/monitoring/widget", params={"format": "export"}).json()["metrics"]
    values = {(m["name"], m["labels"].get("customerId")): m["value"] for m in exported}
    assert values[("telemetry.completeness", None)] == 85.71
    assert values[("telemetry.lost", None)] == 1
    assert values[("telemetry.expected", None)] == 7
    assert values[("telemetry.received", None)] == 6
    assert values[("telemetry.completeness", "acme")] == 80.0
    assert values[("telemetry.completeness", "globex")] == 100.0

    prometheus = client.get("/api/monitoring/widget", params={"format": "prometheus", "customerId": "acme"})
    lines = prometheus.text.splitlines()
    assert 'widget_telemetry_completeness_percent{customerId="acme"} 80.0' in lines
    assert sum(line.startswith("widget_telemetry_completeness_percent") for line in lines) == 1


def test_pages_on_other_origins_can_read_retry_after(client: TestClient) -> None:
    """The SDK backs off as told only if the browser lets it see Retry-After across origins."""
    answer = client.post(
        "/api/monitoring/widget",
        content=b'[{"type": "render", "metric": {"renderTime": 1}}]',
        headers={"Origin": "https://customer.example", "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
