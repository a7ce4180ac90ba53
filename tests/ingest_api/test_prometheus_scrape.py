"""A real Prometheus (Debian's `prometheus`) scrapes a real server's /metrics with a viewer token,
and PromQL over what it stored agrees with the summary.

The summary's p95 is exact (checked against numpy here too); `histogram_quantile` over
classic buckets can only be as good as the bucket the p95 falls in, so that bucket's edges
are the bound. Counts and rates must agree exactly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from analytics.queries.distributions import histograms
from tests.ingest_api.test_access import ADMIN, ADMIN_TOKEN
from tests.support.daemon import loopback_daemon
from tests.support.server import ServerProcess

PROMETHEUS = Path("/usr/bin/prometheus")
RNG = np.random.default_rng(15)
N = 600


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server holding known events, and a Prometheus that scraped it after they landed."""
    root = tmp_path_factory.mktemp("scrape")
    env = {"WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN, "WIDGET_MONITOR_LAKE_EXPORT_INTERVAL_S": "0"}
    with ServerProcess(root / "data", env=env) as server:
        token = httpx.post(
            f"{server.url}/api/monitoring/tokens",
            json={"name": "prometheus", "role": "viewer"},
            headers=ADMIN,
        ).json()["token"]
        # the widgets' families count from the first scrape on: a deployment's Prometheus
        # scrapes long before an analyst looks; this one's first look is before the events
        first = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"})
        assert first.status_code == 200 and "widget_monitor_render_time_seconds_count{" not in first.text
        sent = post_events(server.url)
        (root / "token").write_text(token)
        host = server.url.removeprefix("http://")
        (root / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: widget-monitor\n"
            "    metrics_path: /metrics\n"
            f"    authorization: {{type: Bearer, credentials_file: {root / 'token'}}}\n"
            f"    static_configs: [{{targets: ['{host}']}}]\n"
        )
        flags = [f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'tsdb'}"]
        install = "make promtool-deps (apt-get install prometheus)"
        with loopback_daemon(PROMETHEUS, flags, root / "prometheus.log", install=install) as url:
            promql = PromQL(url)
            promql.wait_for('up{job="widget-monitor"} == 1')
            promql.wait_for(f'sum(widget_monitor_render_time_seconds_count{{customer_id="acme"}}) == {N}')
            yield {"server": server, "promql": promql, "sent": sent}


class PromQL:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["data"]["result"])

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def wait_for(self, expr: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.query(expr):
            assert time.monotonic() < deadline, f"Prometheus never saw {expr}"
            time.sleep(0.25)


def post_events(url: str) -> dict[str, dict[str, np.ndarray]]:
    """Renders, API calls and saves for acme (two versions) and globex, stamped now."""
    sent: dict[str, dict[str, np.ndarray]] = {}
    now_ms = time.time() * 1000
    for customer, sigma in (("acme", 0.9), ("globex", 0.4)):
        render = np.round(RNG.lognormal(2.2, sigma, N), 2)
        api = np.round(RNG.lognormal(5.5, 0.5, N), 1)
        saved = RNG.random(N) < 0.93
        body = []
        for i in range(N):
            tags = {"customerId": customer, "widgetVersion": f"1.{i % 2}", "timestamp": now_ms}
            body += [
                {"type": "render", "metric": {"renderTime": float(render[i]), **tags}},
                {
                    "type": "api",
                    "metric": {"endpoint": "/chat", "duration": float(api[i]), "success": True, **tags},
                },
                {
                    "type": "persistence",
                    "metric": {"operation": "save", "success": bool(saved[i]), "duration": 4.0, **tags},
                },
            ]
        for start in range(0, len(body), 1000):
            answer = httpx.post(
                f"{url}/api/monitoring/widget", json=body[start : start + 1000], headers=ADMIN
            )
            assert answer.status_code == 200 and not answer.json()["rejected"], answer.text
        sent[customer] = {"render": render, "api": api, "saved": saved}
    return sent


def summary_of(server: ServerProcess, customer: str, window_ms: int = 3_600_000) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.url}/api/monitoring/widget",
        params={"customerId": customer, "window": window_ms, "alerts": "false"},
        headers={**ADMIN, "Cache-Control": "no-cache"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def bucket_around(bounds: tuple[float, ...], value: float) -> tuple[float, float]:
    """The classic bucket (lower, upper] that holds `value`."""
    edges = (0.0, *bounds, float("inf"))
    i = int(np.searchsorted(np.array(edges), value, side="left"))
    return edges[i - 1], edges[i]


@pytest.mark.parametrize(
    ("family", "path", "key"),
    [
        ("render_time_seconds", ("performance", "renders", "p95Time"), "render"),
        ("api_duration_seconds", ("performance", "api", "p95Duration"), "api"),
    ],
)
@pytest.mark.parametrize("customer", ["acme", "globex"])
def test_histogram_quantile_lies_in_the_bucket_of_the_summarys_p95(
    scraped: dict[str, Any], family: str, path: tuple[str, ...], key: str, customer: str
) -> None:
    summary = summary_of(scraped["server"], customer)
    for step in path:
        summary = summary[step]
    p95_ms = float(summary)  # type: ignore[arg-type]
    assert p95_ms == pytest.approx(np.percentile(scraped["sent"][customer][key], 95), abs=0.006)
    promql = scraped["promql"].scalar(
        f'histogram_quantile(0.95, sum by (le) (widget_monitor_{family}_bucket{{customer_id="{customer}"}}))'
    )
    bounds = next(h.bounds for h in histograms() if h.name == family)
    lower, upper = bucket_around(bounds, p95_ms / 1000)
    assert lower <= promql <= upper, (promql, p95_ms, lower, upper)


def test_counts_and_the_success_rate_agree_with_the_summary(scraped: dict[str, Any]) -> None:
    promql = scraped["promql"]
    for customer, sent in scraped["sent"].items():
        by_version = {
            r["metric"]["widget_version"]: float(r["value"][1])
            for r in promql.query(f'widget_monitor_render_time_seconds_count{{customer_id="{customer}"}}')
        }
        assert by_version == {"1.0": N / 2, "1.1": N / 2}
        rate = promql.scalar(
            f'100 * sum(widget_monitor_persistence_success_total{{customer_id="{customer}"}})'
            f' / sum(widget_monitor_events_total{{type="persistence", customer_id="{customer}"}})'
        )
        expected = 100 * sent["saved"].sum() / N
        assert rate == pytest.approx(expected, rel=1e-12)
        summary = summary_of(scraped["server"], customer)
        assert summary["persistence"]["operations"]["successRate"] == pytest.approx(expected, abs=0.005)
        share_within_budget = promql.scalar(
            f'sum(widget_monitor_render_time_seconds_bucket{{customer_id="{customer}", le="0.016"}})'
            f' / sum(widget_monitor_render_time_seconds_count{{customer_id="{customer}"}})'
        )
        assert share_within_budget == pytest.approx((sent["render"] <= 16).mean(), rel=1e-12)


def test_health_scores_are_the_summarys(scraped: dict[str, Any]) -> None:
    promql = scraped["promql"]
    for customer in ("acme", "globex"):
        health = summary_of(scraped["server"], customer, window_ms=300_000)["health"]
        scored = {
            r["metric"]["category"]: float(r["value"][1])
            for r in promql.query(f'widget_monitor_customer_health_score{{customer_id="{customer}"}}')
        }
        expected = {"overall": health["overall"]} | {
            c: s for c, s in health["scores"].items() if s is not None
        }
        assert scored == pytest.approx(expected)
    overall = promql.scalar('widget_monitor_health_score{category="overall"}')
    assert 0 <= overall <= 100
