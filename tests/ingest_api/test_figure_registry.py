"""A figure declared in one place is everywhere: summary, export, catalogue, alert rules, health."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from analytics.figures import Export, Measure, RuleSpec, figures, on, registered

WIDGET = "/api/monitoring/widget"
FIGURES = "/api/monitoring/figures"
CATALOGUE = "/api/monitoring/widget/timeseries/metrics"
ALERTS = "/api/monitoring/alerts"

LENGTH = Measure(
    "render.contentLength", "Message length", "value", ("render",), "content_length", "chars", "p95"
)
LENGTH_P95 = on(
    LENGTH,
    "p95",
    name="render.content_length",
    label="Message length p95",
    summary=("performance", "renders", "p95ContentLength"),
    export=Export("render.content_length", {"stat": "p95"}),
    target=50,
    threshold=100,
    health="performance",
    rule=RuleSpec(
        "performance",
        "Messages long",
        ("performance", "contentLength"),
        {"warning": 100},
        (0.0, 1e9),
        "Shorten the replies",
    ),
)
LENGTHS = [20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240]


def post_renders(client: TestClient) -> None:
    # every render is fast (p95 5 ms: at or below the 10 ms target, health 100); their
    # lengths are what the new figure reads
    body = [{"type": "render", "metric": {"renderTime": 5.0, "contentLength": n}} for n in LENGTHS]
    assert client.post(WIDGET, json=body).status_code == 200


def test_a_figure_declared_once_is_in_the_summary_export_catalogue_alerts_and_health(
    client: TestClient,
) -> None:
    p95 = float(np.percentile(LENGTHS, 95))  # numpy's default: linear between closest ranks
    assert p95 == pytest.approx(229.0)
    with registered(LENGTH, LENGTH_P95):
        post_renders(client)
        summary = client.get(WIDGET, params={"alerts": "false"}).json()
        assert summary["performance"]["renders"]["p95ContentLength"] == round(p95, 2)
        # health: 100 at the 50 target, 70 at the 100 threshold, on the same line beyond:
        # 100 - 30 * (229 - 50) / 50 = -7.4, clamped to 0; the render p95 scores 100
        assert summary["health"]["scores"]["performance"] == 50.0

        exported = client.get(WIDGET, params={"format": "export", "alerts": "false"}).json()["metrics"]
        mine = [m for m in exported if m["name"] == "render.content_length"]
        assert mine == [
            {"name": "render.content_length", "value": 229.0, "unit": "chars", "labels": {"stat": "p95"}}
        ]
        prometheus = client.get(WIDGET, params={"format": "prometheus", "alerts": "false"}).text
        assert 'widget_render_content_length{stat="p95"} 229.0' in prometheus

        catalogue = {m["name"]: m for m in client.get(CATALOGUE).json()["metrics"]}
        assert catalogue["render.contentLength"]["unit"] == "chars"
        assert catalogue["render.contentLength"]["threshold"] == {
            "value": 100,
            "direction": "above",
            "stat": "p95",
            "source": "alerting",
        }
        registry = {f["name"]: f for f in client.get(FIGURES).json()["figures"]}
        assert registry["render.content_length"]["summaryPath"] == [
            "performance",
            "renders",
            "p95ContentLength",
        ]
        assert registry["render.content_length"]["threshold"]["value"] == 100

        # the rule is configurable under its key, and fires above it
        config = client.get(f"{ALERTS}/config").json()
        assert config["thresholds"]["performance"]["contentLength"] == 100.0
        assert client.post(f"{ALERTS}/check", json={}).status_code == 200
        fired = [a for a in client.get(ALERTS).json()["data"] if a["ruleId"] == "render.content_length"]
        assert [(a["severity"], a["value"], a["threshold"]) for a in fired] == [("warning", 229.0, 100.0)]
    # gone with its declaration
    assert "render.content_length" not in {f.name for f in figures()}
    summary = client.get(WIDGET, params={"alerts": "false"}).json()
    assert "p95ContentLength" not in summary["performance"]["renders"]


def test_the_registry_says_up_to_which_span_the_summary_reads_raw_events(client: TestClient) -> None:
    exact_s = client.get(FIGURES).json()["exactSpanSeconds"]
    assert exact_s == 24 * 3600
    sources = [
        client.get(WIDGET, params={"window": ms, "alerts": "false", "telemetry": "false"}).json()["source"]
        for ms in (exact_s * 1000, exact_s * 1000 + 1000)
    ]
    assert sources == ["raw", "rollup"]
